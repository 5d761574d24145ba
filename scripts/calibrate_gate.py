"""Choose the gate and the strong mark on three kinds of questions (the rule: docs/experiments.md, 2026-12-04).

    .venv/bin/python scripts/calibrate_gate.py squad --out /tmp/qval-out/squad.jsonl [--questions 600] [--manifest M]
    .venv/bin/python scripts/calibrate_gate.py choose --ours ours.json --qasper qasper-val.json --squad squad.jsonl

``squad`` judges SQuAD v2.0 dev questions of the articles the reader never trained on with the
reader alone (each question's paragraph plus the article's sentences sharing most words with it,
as ``scripts/strong_margin.py`` pools them) and writes one record per question. ``choose`` reads
the per-question records of ``rag eval --json`` (our sets) and ``rag eval <qasper folder> --json``
(QASPER validation) and those SQuAD records, splits each kind in halves by a hash of the ids,
chooses ``reader_threshold``, ``reader_strong_threshold`` and ``reader_strong_margin`` on the
calibration halves and prints the held-out figures of the current and the chosen values.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

GATE_GRID = tuple(round(0.3 + 0.005 * i, 3) for i in range(121))
STRONG_GRID = tuple(round(0.8 + 0.01 * i, 2) for i in range(20))
MARGIN_GRID = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
RIGHT_RATE = 0.95
FEW_MARKS = 10
SQUAD_ANSWERED = 0.5  # the reader-alone stand-in for the gate
GATE_KINDS = ("ours", "qasper-val")


@dataclass(frozen=True)
class Question:
    """One question as the calibration sees it."""

    kind: str
    id: str
    answerable: bool
    confidence: float  # what the gate compares with its threshold
    held_back: bool  # abstained for another reason than the gate (stays abstained)
    lead: float | None  # the reader's relevance of the best evidence
    rival: float | None  # ... of the most relevant other sentence it judged
    lead_right: bool  # answerable and the best evidence is gold

    @property
    def calibration(self) -> bool:
        """Whether it lies in its kind's calibration half (else the held-out half)."""
        return int(hashlib.sha1(f"{self.kind}:{self.id}".encode()).hexdigest(), 16) % 2 == 0


def answered(q: Question, gate: float) -> bool:
    if q.kind == "squad-v2":
        return q.lead is not None and q.lead >= SQUAD_ANSWERED
    return q.confidence >= gate and not q.held_back


def strong(q: Question, gate: float, s: float, m: float) -> bool:
    """Whether the answer's lead is marked strong (``rag.ask.citing.with_strength``)."""
    return answered(q, gate) and q.lead is not None and q.lead >= s and q.lead - (q.rival or 0.0) >= m


def balanced_accuracy(questions: Sequence[Question], gate: float) -> float | None:
    yes = [answered(q, gate) for q in questions if q.answerable]
    no = [not answered(q, gate) for q in questions if not q.answerable]
    if not yes or not no:
        return None
    return (sum(yes) / len(yes) + sum(no) / len(no)) / 2


def false_refusals(questions: Sequence[Question], gate: float) -> float | None:
    yes = [q for q in questions if q.answerable]
    return sum(not answered(q, gate) for q in yes) / len(yes) if yes else None


def strong_marks(questions: Sequence[Question], gate: float, s: float, m: float) -> tuple[int, int]:
    """(strong marks, of which right)."""
    marked = [q for q in questions if strong(q, gate, s, m)]
    return len(marked), sum(q.lead_right for q in marked)


def by_kind(questions: Sequence[Question]) -> dict[str, list[Question]]:
    kinds: dict[str, list[Question]] = {}
    for q in questions:
        kinds.setdefault(q.kind, []).append(q)
    return kinds


def choose_gate(questions: Sequence[Question], current: float) -> float:
    """The threshold maximising the mean balanced accuracy over the gate's kinds (ties: nearest
    the current value)."""
    kinds = {k: v for k, v in by_kind(questions).items() if k in GATE_KINDS}

    def mean(gate: float) -> float:
        found = [b for b in (balanced_accuracy(v, gate) for v in kinds.values()) if b is not None]
        return sum(found) / len(found) if found else 0.0

    return max(sorted({*GATE_GRID, current}), key=lambda t: (round(mean(t), 9), -abs(t - current)))


def feasible(marks: int, right: int) -> bool:
    if marks < FEW_MARKS:
        return right == marks
    return right / marks >= RIGHT_RATE


def choose_strong(questions: Sequence[Question], gate: float) -> tuple[float, float, bool]:
    """(s, m, whether feasible) by the rule: right >= RIGHT_RATE on each kind, then most right
    answers marked strong, then the lower s and m."""
    kinds = by_kind(questions)
    best, fallback = None, None
    for s in STRONG_GRID:
        for m in MARGIN_GRID:
            stats = {k: strong_marks(v, gate, s, m) for k, v in kinds.items()}
            coverage = sum(right / max(1, sum(q.answerable for q in kinds[k])) for k, (_, right) in stats.items()) / len(kinds)
            worst = min((right / marks if marks else 1.0) for marks, right in stats.values())
            if all(feasible(*st) for st in stats.values()):
                if best is None or coverage > best[0] + 1e-12:
                    best = (coverage, s, m)
            if fallback is None or worst > fallback[0] + 1e-12:
                fallback = (worst, s, m)
    if best is not None:
        return best[1], best[2], True
    return fallback[1], fallback[2], False


# ---- reading the records -------------------------------------------------------------------


def eval_questions(report: dict, kind: str) -> list[Question]:
    """The question records of a ``rag eval --json`` report (QA, multi-turn and QASPER sets)."""
    threshold = float(report["run"]["threshold"])
    found = []
    for name, dataset in report["datasets"].items():
        if dataset["kind"] not in ("qa", "multiturn", "qasper"):
            continue
        for r in dataset["records"]:
            rank = r["gold_rank"] if dataset["kind"] == "qasper" else r["reranked_gold_rank"]
            found.append(
                Question(
                    kind=kind,
                    id=f"{name}:{r['id']}",
                    answerable=bool(r["answerable"]),
                    confidence=float(r.get("confidence", 0.0)),
                    held_back=bool(r["abstained"]) and float(r.get("confidence", 0.0)) >= threshold,
                    lead=r.get("lead_relevance"),
                    rival=r.get("rival_relevance"),
                    lead_right=bool(r["answerable"]) and rank == 1,
                )
            )
    if found and all(q.lead is None for q in found):
        raise SystemExit(f"calibrate_gate: error: the {kind} records carry no lead_relevance; rerun rag eval with this branch")
    return found


def squad_questions(path: Path) -> list[Question]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [
        Question("squad-v2", r["id"], r["answerable"], r["lead"], False, r["lead"], r["rival"], r["lead_right"])
        for r in rows
    ]


# ---- SQuAD v2 dev, the reader alone ----------------------------------------------------------


def judge_squad(questions: int, rivals: int, seed: int, threads: int, manifest: Path | None):
    """Per held-out SQuAD v2 dev question (a seeded sample): its record for ``squad_questions``."""
    import random

    from reader_data import DATA, articles_of, paragraphs_of, read_jsonl, v2_article_split
    from strong_margin import pooled_candidates

    from rag.models.reader import Reader

    v2 = read_jsonl(DATA / "squad_v2.0_dev.jsonl")
    _, held = v2_article_split(v2)
    rows = [r for r in v2 if r["title"] in held]
    paragraphs = paragraphs_of(rows)
    by_article = articles_of(rows, paragraphs)
    random.Random(seed).shuffle(rows)
    reader = Reader(manifest, threads=threads) if manifest else Reader(threads=threads)
    for row in rows[:questions]:
        answers = [] if row["is_impossible"] else row["answers"]
        candidates, right = pooled_candidates(row, answers, paragraphs, by_article, rivals)
        relevance = [j.relevance for j in reader.judge(row["question"], candidates, spans_for=1)]
        order = sorted(range(len(relevance)), key=lambda i: -relevance[i])
        yield {
            "id": row["id"],
            "answerable": not row["is_impossible"],
            "lead": round(relevance[order[0]], 6),
            "rival": round(relevance[order[1]], 6) if len(order) > 1 else 0.0,
            "lead_right": bool(right[order[0]]),
        }


# ---- report ----------------------------------------------------------------------------------


def figures(questions: Sequence[Question], gate: float, s: float, m: float) -> dict:
    """Per kind: strong marks and right rate, balanced accuracy, false refusals, lead gold and answered."""
    out = {}
    for kind, qs in sorted(by_kind(questions).items()):
        marks, right = strong_marks(qs, gate, s, m)
        answerable = [q for q in qs if q.answerable]
        on_answerable = strong_marks(answerable, gate, s, m)[0]
        out[kind] = {
            "questions": len(qs),
            "unanswerable": sum(not q.answerable for q in qs),
            "strong_marks": marks,
            "strong_right": round(right / marks, 3) if marks else None,
            "strong_on_unanswerable": marks - on_answerable,
            "strong_right_answerable": round(right / on_answerable, 3) if on_answerable else None,
            "right_marked_strong": round(right / len(answerable), 3) if answerable else None,
            "balanced_accuracy": _round(balanced_accuracy(qs, gate)),
            "false_refusals": _round(false_refusals(qs, gate)),
            "lead_gold_answered": _round(
                sum(q.lead_right and answered(q, gate) for q in answerable) / len(answerable) if answerable else None
            ),
        }
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def markdown(rows: dict[str, dict], title: str) -> list[str]:
    lines = [f"**{title}**", "", "| kind | questions (unanswerable) | strong marks | strong right | of them on unanswerable | right on answerable | right answers marked strong | balanced accuracy | false refusals | lead gold and answered |", "|---" * 10 + "|"]
    for kind, f in rows.items():
        lines.append(
            f"| {kind} | {f['questions']} ({f['unanswerable']}) | {f['strong_marks']} | {f['strong_right']} | "
            f"{f['strong_on_unanswerable']} | {f['strong_right_answerable']} | "
            f"{f['right_marked_strong']} | {f['balanced_accuracy']} | {f['false_refusals']} | {f['lead_gold_answered']} |"
        )
    return lines + [""]


def choose(questions: Sequence[Question], current: tuple[float, float, float]) -> dict:
    calibration = [q for q in questions if q.calibration]
    held = [q for q in questions if not q.calibration]
    gate = choose_gate(calibration, current[0])
    s, m, ok = choose_strong(calibration, gate)
    return {
        "current": dict(zip(("reader_threshold", "reader_strong_threshold", "reader_strong_margin"), current)),
        "chosen": {"reader_threshold": gate, "reader_strong_threshold": s, "reader_strong_margin": m, "feasible": ok},
        "calibration": {"current": figures(calibration, *current), "chosen": figures(calibration, gate, s, m)},
        "held_out": {"current": figures(held, *current), "chosen": figures(held, gate, s, m)},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    squad = sub.add_parser("squad", help="judge held-out SQuAD v2 dev questions with the reader alone")
    squad.add_argument("--out", type=Path, required=True)
    squad.add_argument("--questions", type=int, default=600)
    squad.add_argument("--rivals", type=int, default=8)
    squad.add_argument("--seed", type=int, default=7)
    squad.add_argument("--threads", type=int, default=1)
    squad.add_argument("--manifest", type=Path, help="reader weights' manifest (default: the packaged reader)")
    pick = sub.add_parser("choose", help="choose the gate and strong mark and print the held-out figures")
    pick.add_argument("--ours", type=Path, required=True, help="rag eval --json over our sets")
    pick.add_argument("--qasper", type=Path, nargs="+", required=True, help="rag eval <QASPER validation> --json (one or more runs, over different papers)")
    pick.add_argument("--squad", type=Path, required=True, help="the records of the squad command")
    pick.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "squad":
        from tqdm import tqdm

        with args.out.open("w", encoding="utf-8") as handle:
            for record in tqdm(judge_squad(args.questions, args.rivals, args.seed, args.threads, args.manifest), total=args.questions):
                handle.write(json.dumps(record) + "\n")
                handle.flush()
        return 0
    from rag.config import Settings

    for path in (args.ours, *args.qasper, args.squad):
        if not path.is_file():
            print(f"calibrate_gate: error: {path} does not exist", file=sys.stderr)
            return 2
    questions = [
        *eval_questions(json.loads(args.ours.read_text("utf-8")), "ours"),
        *(q for path in args.qasper for q in eval_questions(json.loads(path.read_text("utf-8")), "qasper-val")),
        *squad_questions(args.squad),
    ]
    defaults = Settings()
    result = choose(questions, (defaults.reader_threshold, defaults.reader_strong_threshold, defaults.reader_strong_margin))
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    chosen = result["chosen"]
    print(f"current: {result['current']}")
    print(f"chosen:  {chosen}" + ("" if chosen["feasible"] else "  (no setting met the rule: the best worst-kind right rate)"))
    print()
    for split in ("calibration", "held_out"):
        for which in ("current", "chosen"):
            print("\n".join(markdown(result[split][which], f"{split.replace('_', '-')} half, {which} values")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
