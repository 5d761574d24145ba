"""Fit the one-thing yes/no model (rag/models/yesno.py) on QASPER train; report QASPER validation.

    .venv/bin/python scripts/train_yesno.py [--qasper ../shared/train-data/qasper] [--write]

Examples: the yes/no questions whose annotators agree (on the answer and that there is one),
each against the sentence a reader would cite: the evidence sentence sharing most words with
the question (``qasper_data.positives``), or where no evidence is given, the paper's sentence
sharing most words with the question. A logistic regression (L2, plain gradient descent) over
``rag.models.yesno.features``; the margin of "not sure" is chosen on train. Validation is never
tuned on; ../shared/benchmarks is never read. --write stores the weights in rag/models/yesno.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))


def examples(rows, papers):
    """(question, sentence, previous, is_yes) for the agreed yes/no questions of ``rows``."""
    from qasper_data import overlap_ranking, positives
    from rag.models.yesno import asks_yes_no

    out = []
    for row in rows:
        answers = {a["yes_no"] for a in row["answers"]}
        paper = papers.get(row["paper_id"])
        if len(answers) != 1 or None in answers or paper is None or not paper.sentences:
            continue
        if not asks_yes_no(row["question"]):
            continue
        found = positives(paper, row)
        ranked = overlap_ranking(paper, row["question"])
        k = next((j for j in ranked if j in found), ranked[0])
        out.append((row["question"], paper.sentences[k], paper.sentences[k - 1] if k else "", answers.pop()))
    return out


def fit(x, y, l2: float = 0.01, steps: int = 4000, lr: float = 0.5):
    import numpy as np

    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        w -= lr * (x.T @ (p - y) / len(y) + l2 * np.r_[0, w[1:]])
    return w


def scores(w, x, y, margin: float) -> dict:
    import numpy as np

    p = 1 / (1 + np.exp(-x @ w))
    decided = np.abs(p - 0.5) >= margin
    right = ((p >= 0.5) == (y == 1)) & decided
    return {
        "questions": int(len(y)),
        "decided": int(decided.sum()),
        "accuracy_decided": round(float(right.sum() / max(1, decided.sum())), 4),
        "accuracy_all": round(float(((p >= 0.5) == (y == 1)).mean()), 4),
        "majority_yes_share": round(float(y.mean()), 4),
    }


def main(argv=None) -> int:
    import numpy as np

    from qasper_data import load_qasper
    from rag.models.yesno import FEATURES, WEIGHTS, features

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qasper", type=Path, default=REPO.parent / "shared" / "train-data" / "qasper")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--margin", type=float, default=0.05, help="|p - 0.5| below which the verdict is left unsaid")
    args = parser.parse_args(argv)
    sets = {}
    for split in ("train", "validation"):
        made = examples(*load_qasper(args.qasper, split))
        sets[split] = (
            np.array([features(q, s, p) for q, s, p, _ in made]),
            np.array([float(a) for *_, a in made]),
        )
    w = fit(*sets["train"])
    report = {
        "features": dict(zip(FEATURES, [round(float(v), 4) for v in w])),
        "margin": args.margin,
        "train": scores(w, *sets["train"], args.margin),
        "validation": scores(w, *sets["validation"], args.margin),
    }
    print(json.dumps(report, indent=2))
    if args.write:
        model = {"features": list(FEATURES), "weights": [round(float(v), 6) for v in w], "margin": args.margin,
                 "trained_on": "QASPER train yes/no questions (annotators agree)", "command": "python scripts/train_yesno.py --write"}
        WEIGHTS.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
