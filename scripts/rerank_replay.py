"""Every retrieved sentence's feature score and reader relevance, kept once, then the combined
reranker's order and gate replayed offline for any setting (the rule: docs/experiments.md, 2026-12-06).

    .venv/bin/python scripts/rerank_replay.py dump ours --store STORE --out ours.jsonl [--manifest M]
    .venv/bin/python scripts/rerank_replay.py dump qasper FOLDER --store STORE --out qasper.jsonl [--manifest M]
    .venv/bin/python scripts/rerank_replay.py replay ours=ours.jsonl qasper-val=val.jsonl [qasper-test=test.jsonl] \
        [--setting 16,0.4,0.8,0.505 ...] [--choose]

``dump`` asks every question through the product with the reader judging all ``--k`` (40)
retrieved sentences and writes, per question, whether it is answerable, whether and at what
confidence the product abstained, its gate, and each judged sentence as [feature score, relevance, gold].
``replay`` orders them as ``rag.ask.rerank.CombinedReranker`` would for a setting (k, weight,
gate weight, threshold) and prints, per kind, the answerable questions whose lead is gold and
answered, false refusals, unanswerable declined and balanced accuracy. It does not replay what
the question forms and the second hop change: check a choice through the product.
``--choose`` applies the rule: on ``qasper-val`` the most leads gold and answered, among the
settings that keep ``ours`` within 0.01 of the current setting's gold-first and at a balanced
accuracy of at least 0.90, and ``qasper-val``'s balanced accuracy no lower than now
(``--scoped``: the setting for questions within chosen documents only, ``ours`` left out).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))



def _defaults() -> tuple[int, float, float, float]:
    from rag.config import Settings

    fields = Settings.model_fields
    return tuple(fields[name].default for name in ("rerank_k", "combine_weight", "gate_weight", "reader_threshold"))


CURRENT = _defaults()  # the product's rerank_k, combine_weight, gate_weight, reader_threshold
GRID_K = (8, 12, 16, 24, 32, 40)
GRID_WEIGHT = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
GRID_GATE_WEIGHT = (0.6, 0.7, 0.8, 0.9, 1.0)
GRID_THRESHOLD = tuple(round(0.30 + 0.01 * i, 2) for i in range(41))


@dataclass(frozen=True)
class Asked:
    """One question as dumped: each judged sentence as (feature score, relevance, gold)."""

    id: str
    answerable: bool
    held_back: bool  # abstained although past the dump's gate (verification, say): stays abstained
    candidates: tuple[tuple[float, float, bool], ...]


def replay_lead(candidates: Sequence[tuple[float, float, bool]], k: int, weight: float, gate_weight: float):
    """The lead the combined reranker gives, as (confidence, gold, index), or None without
    candidates: the best ``k`` by features are judged, ordered by ``weight * relevance +
    (1 - weight) * features``; the gate reads ``gate_weight * relevance + (1 - gate_weight) *
    features`` of the lead. Ties go to the better by features."""
    if not candidates:
        return None
    judged = sorted(range(len(candidates)), key=lambda i: -candidates[i][0])[: max(1, k)]
    best = max(judged, key=lambda i: weight * candidates[i][1] + (1 - weight) * candidates[i][0])
    features, relevance, gold = candidates[best]
    return gate_weight * relevance + (1 - gate_weight) * features, gold, best


def figures(questions: Sequence[Asked], setting: tuple[int, float, float, float]) -> dict:
    """Leads gold and answered (of the answerable), false refusals, unanswerable declined and
    balanced accuracy at ``setting`` = (k, weight, gate weight, threshold)."""
    k, weight, gate_weight, threshold = setting
    gold_first = refused = declined = answerable = unanswerable = 0
    for q in questions:
        lead = replay_lead(q.candidates, k, weight, gate_weight)
        answered = lead is not None and lead[0] >= threshold and not q.held_back
        if q.answerable:
            answerable += 1
            refused += not answered
            gold_first += answered and bool(lead[1])
        else:
            unanswerable += 1
            declined += not answered
    false_refusals = refused / answerable if answerable else None
    declined_share = declined / unanswerable if unanswerable else None
    balanced = (1 - false_refusals + declined_share) / 2 if answerable and unanswerable else None
    return {
        "gold_first": gold_first / answerable if answerable else None,
        "false_refusals": false_refusals,
        "declined": declined_share,
        "balanced_accuracy": balanced,
        "questions": len(questions),
        "unanswerable": unanswerable,
    }


def choose(kinds: dict[str, Sequence[Asked]], scoped: bool = False) -> tuple[tuple, dict] | None:
    """The rule (module docstring); None if no setting meets it."""
    now = {name: figures(qs, CURRENT) for name, qs in kinds.items()}
    best = None
    for setting in itertools.product(GRID_K, GRID_WEIGHT, GRID_GATE_WEIGHT, GRID_THRESHOLD):
        val = figures(kinds["qasper-val"], setting)
        if val["balanced_accuracy"] < now["qasper-val"]["balanced_accuracy"]:
            continue
        if not scoped:
            ours = figures(kinds["ours"], setting)
            if ours["gold_first"] < now["ours"]["gold_first"] - 0.01 or ours["balanced_accuracy"] < 0.90:
                continue
        key = (val["gold_first"], -val["false_refusals"])
        if best is None or key > best[0]:
            best = (key, setting)
    if best is None:
        return None
    return best[1], {name: figures(qs, best[1]) for name, qs in kinds.items()}


def read_dump(path: Path) -> list[Asked]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [
        Asked(
            r["id"],
            r["answerable"],
            r["abstained"] and r["confidence"] >= r["gate"],
            tuple((c[0], c[1], bool(c[2])) for c in r["cands"]),
        )
        for r in rows
    ]


def dump(args) -> int:
    """Ask every question with the reader judging all ``args.k`` retrieved sentences."""
    from rag.api import Rag
    from rag.config import Settings

    update = {"store_dir": args.store, "rerank_k": args.k, "reader_first": args.k}
    if args.manifest:
        update["reader_manifest"] = args.manifest.resolve()
    rag = Rag(Settings().model_copy(update=update))
    weight, gate = rag.settings.combine_weight, rag.settings.gate_threshold()
    if weight >= 1:
        raise SystemExit("rerank_replay dump: combine_weight 1 leaves no feature score to recover; dump with a lower one")

    def judged(answer, gold) -> list[list]:
        return [
            [round((e.score - weight * e.relevance) / (1 - weight), 5), round(e.relevance, 5), int(gold(e))]
            for e in answer.ranked
            if e.relevance is not None
        ]

    with args.out.open("w", encoding="utf-8") as out:

        def write(item_id, answerable, answer, gold) -> None:
            row = {"id": item_id, "answerable": answerable, "abstained": answer.abstained, "confidence": answer.confidence, "gate": gate}
            out.write(json.dumps({**row, "cands": judged(answer, gold)}) + "\n")

        if args.kind == "qasper":
            from evals import qasper
            from evals.qasper_metrics import on_evidence

            items = qasper.load(args.folder)
            store = qasper.open_store(rag, args.store)
            store.ingest([args.folder / "docs" / name for name in sorted({i.doc for i in items})], prune=True)
            texts: dict[str, str] = {}
            for item in items:
                if item.doc not in texts:
                    texts[item.doc] = (args.folder / "docs" / item.doc).read_text("utf-8")
                sentences = qasper.sentence_ranges(texts[item.doc], item.sentences, item.paragraphs)
                answer = store.ask(item.question, documents=store.scope([item.doc]))

                def gold(e, item=item, sentences=sentences) -> bool:
                    span = (e.hit.sentence.start, e.hit.sentence.end)
                    return Path(e.hit.path).name == item.doc and on_evidence(span, item.paragraphs, sentences)

                write(item.id, item.answerable, answer, gold)
        else:
            from evals.harness import ask_item, load_rows, qa_items, resolve_datasets
            from evals.metrics import Span, overlaps
            from evals.scoring import SourceFiles

            files = SourceFiles(s.path for s in rag.sources())
            for dataset in resolve_datasets([]):
                if dataset.kind not in ("qa", "multiturn"):
                    continue
                for item in qa_items(load_rows(dataset.path, dataset.kind)):
                    spans = files.gold_spans(item)
                    answer, _ = ask_item(rag, item)

                    def gold(e, spans=spans) -> bool:
                        return any(overlaps(Span(e.hit.path, e.hit.sentence.start, e.hit.sentence.end), g) for g in spans)

                    write(item.id, item.answerable and bool(spans), answer, gold)
    return 0


def _row(name: str, f: dict) -> str:
    cells = (f["gold_first"], f["false_refusals"], f["declined"], f["balanced_accuracy"])
    return f"| {name} | {f['questions']} ({f['unanswerable']}) | " + " | ".join("—" if c is None else f"{c:.3f}" for c in cells) + " |"


def replay(args) -> int:
    kinds = {}
    for given in args.records:
        name, _, path = given.partition("=")
        kinds[name] = read_dump(Path(path))
    settings = [CURRENT] + [tuple(t(x) for t, x in zip((int, float, float, float), s.split(","))) for s in args.setting]
    header = "| kind | questions (unanswerable) | lead gold and answered | false refusals | declined | balanced accuracy |\n|---|---|---|---|---|---|"
    for setting in settings:
        print(f"\nk, weight, gate weight, threshold = {setting}\n{header}")
        print("\n".join(_row(name, figures(qs, setting)) for name, qs in kinds.items()))
    if args.choose:
        chosen = choose(kinds, args.scoped)
        if chosen is None:
            print("\nno setting meets the rule")
        else:
            print(f"\nchosen{' (within chosen documents)' if args.scoped else ''}: {chosen[0]}\n{header}")
            print("\n".join(_row(name, f) for name, f in chosen[1].items()))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="ask every question, the reader judging every retrieved sentence")
    d.add_argument("kind", choices=["ours", "qasper"])
    d.add_argument("folder", nargs="?", type=Path, help="the QASPER folder (kind qasper)")
    d.add_argument("--store", type=Path, required=True)
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--manifest", type=Path, help="reader weights' manifest (default: the packaged reader)")
    d.add_argument("--k", type=int, default=40)
    r = sub.add_parser("replay", help="replay the order and the gate for settings")
    r.add_argument("records", nargs="+", help="NAME=dump.jsonl (the rule needs ours and qasper-val)")
    r.add_argument("--setting", action="append", default=[], help="k,weight,gate_weight,threshold")
    r.add_argument("--choose", action="store_true")
    r.add_argument("--scoped", action="store_true", help="choose for questions within chosen documents (ours left out)")
    args = parser.parse_args(argv)
    if args.command == "dump" and args.kind == "qasper" and args.folder is None:
        parser.error("dump qasper needs the QASPER folder")
    return dump(args) if args.command == "dump" else replay(args)


if __name__ == "__main__":
    raise SystemExit(main())
