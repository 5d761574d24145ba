"""Held-out figures of a trained reader, measured as train_reader.py measures at its end.

    .venv/bin/python scripts/validate_reader.py rag/models/reader/weights/reader.json [--questions 200]
        [--qasper ../shared/train-data/qasper] [--threads 1]

SQuAD v1.1 dev sentence selection and span EM/F1, SQuAD v2.0 held-out abstention, and (with
--qasper) QASPER validation answer-sentence selection among the paper's top-k sentences and
abstention balanced accuracy. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--questions", type=int, default=200, help="per set (0: all)")
    parser.add_argument("--qasper", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    args = parser.parse_args(argv)
    import torch

    from rag.models.embedding import load_tokenizer, packaged_model_path
    from rag.offline import configure_offline
    from rag.models.precision import resolve
    from rag.models.reader import read_manifest
    from rag.models.reader.network import base_network, load_weights
    from reader_data import load_data, validate
    from train_reader import net_scorer

    configure_offline()
    torch.set_num_threads(args.threads)
    precision = resolve(args.precision)
    base = packaged_model_path()
    tokenizer = load_tokenizer(base)
    manifest = read_manifest(args.manifest)
    net = load_weights(base_network(base), args.manifest.parent / manifest["file"], manifest["sha256"]).eval()
    data_args = argparse.Namespace(seed=13, limit=0, questions=1, out=Path("/tmp"), init_from=None)
    _, dev, held_unanswerable, held_answerable, _ = load_data(data_args)
    limit = args.questions or None
    score = net_scorer(net, tokenizer, precision)
    figures = validate(score, dev[:limit], held_unanswerable[:limit], held_answerable[:limit])
    if args.qasper:
        from qasper_data import load_qasper, validate_qasper

        figures.update(validate_qasper(score, *load_qasper(args.qasper, "validation"), questions=args.questions))
    print(json.dumps({"manifest": str(args.manifest), "sha256": manifest["sha256"], **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
