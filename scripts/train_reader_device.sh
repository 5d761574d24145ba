#!/bin/bash
# Reader training runs on a lent GPU machine (the `device` tool), several variants at once.
# The machine has torch, transformers and tokenizers but not the base model package, the
# training data or PyStemmer, and takes at most 64 MiB of working tree, so build .gpu/ here first:
#   bash scripts/prepare_device_bundle.sh          (43 MB: the frozen part of the base model, the data, the wheel)
# then run, with carry [".gpu"]:
#   pip install --no-index --target /tmp/site .gpu/whl/*.whl && PYTHONPATH=/tmp/site \
#     bash scripts/train_reader_device.sh $OUT cuda 330 1000
# Arguments: OUTDIR DEVICE MAX_SECONDS FINAL_VALIDATE_QUESTIONS [LIMIT [VARIANTS]]. VARIANTS is
# a file of lines "NAME train_reader.py-options" (default: the variants A, B, C below). `bash
# scripts/train_reader_device.sh /tmp/out cpu 20 5 20` rehearses it here on a few examples.
set -u
OUTDIR=$1; DEVICE=$2; MAXSEC=$3; FINALQ=$4; LIMIT=${5:-0}; VARIANTS=${6:-}
PY=${PY:-python3}
W=/tmp/gpuwork; rm -rf $W; mkdir -p $W/data $W/base
tar -xJf .gpu/data.tar.xz -C $W/data || exit 3
cp .gpu/base/*.json .gpu/base/vocab.txt $W/base/
xz -dc .gpu/base/low16.safetensors.xz > $W/low16.safetensors
$PY - <<PYEOF || exit 4
from safetensors.torch import load_file, save_file
t = load_file("$W/low16.safetensors")
save_file({k: v.float().contiguous() for k, v in t.items()}, "$W/base/model.safetensors")
import torch; print("cuda", torch.cuda.is_available(), torch.__version__, flush=True)
PYEOF
common="--init-from rag/models/reader/weights/reader.json --base $W/base --data $W/data --qasper $W/data/qasper
  --device $DEVICE --epochs 1 --groups-per-batch 20 --checkpoint-every 100000 --validate-every 100000
  --final-validate-questions $FINALQ --max-seconds $MAXSEC --limit $LIMIT --threads 1"
export PYTHONUNBUFFERED=1
# One process per variant (each its own CPU core: the steps are bound by Python, not the GPU).
if [ -z "$VARIANTS" ]; then
  VARIANTS=$W/variants
  printf '%s\n' "A --qasper-repeat 2 --lr 2e-5 --trainable-layers 4" \
    "B --qasper-repeat 5 --lr 2e-5 --trainable-layers 4" "C --qasper-repeat 3 --lr 3e-5 --trainable-layers 2" > $VARIANTS
fi
names=""
while read -r name options; do
  [ -n "$name" ] || continue
  names="$names $name"
  $PY scripts/train_reader.py $common $options --out $W/$name --export $W/$name/export < /dev/null > $W/$name.log 2>&1 &
done < $VARIANTS
# S: the shipped reader validated by the same code (one step at learning rate 0 changes nothing).
$PY scripts/train_reader.py $common --out $W/S --export $W/S/export --max-seconds 0.001 > $W/S.log 2>&1 &
wait
mkdir -p $OUTDIR  # at most 8 files come back: the weights and manifests of three variants, and S's
cp $W/S/export/reader.json $OUTDIR/S.json 2>/dev/null
for v in $names; do
  cp $W/$v/export/reader-minilm-l6-squad.safetensors $OUTDIR/$v.safetensors 2>/dev/null
  cp $W/$v/export/reader.json $OUTDIR/$v.json 2>/dev/null
done
for v in $names S; do
  echo "=== $v"; tr '\r' '\n' < $W/$v.log | grep -v "^train" | tail -30
done
