"""The harness behind ``rag eval``: ask every question of the datasets and score the answers.

A shell over ``rag.api.Rag``: it asks, reads the cited files back and hands plain values
to the pure functions of ``evals.metrics``. Our sets (``evals/data``) are scored on gold
sentences (located verbatim in their files), key facts, citations and abstention; the
verifier pairs on the answerer's support checker (``rag.ask.support``: deterministic checks, plus
the LLM judge with ``--answerer llm``); HotpotQA by ``evals.hotpotqa``. The same
store gives the same numbers on every run, latency aside. ``evals.report`` prints the results and
writes the Markdown report.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from evals.metrics import DEFAULT_GRID, calibrate_threshold, threshold_row
from evals.records import Dataset, DatasetResult, PairItem, PairRecord, QAItem
from evals.schema import MultiturnRow, PairRow, QARow, Row, numbered_lines, parse_row, read_rows
from evals.scoring import SourceFiles, pair_summary, qa_summary, score_answer
from rag.errors import InputError
from rag.ask.types import Answer

DATA = Path(__file__).resolve().parent / "data"
REPO = DATA.parent.parent
HOTPOTQA = REPO.parent / "shared" / "benchmarks" / "hotpotqa" / "dev397.jsonl"
QASPER = REPO.parent / "shared" / "benchmarks" / "qasper" / "questions.jsonl"
NAMED = {
    "seed": DATA / "seed.jsonl",
    "corpus": DATA / "corpus.jsonl",
    "unanswerable": DATA / "unanswerable.jsonl",
    "multiturn": DATA / "multiturn.jsonl",
    "verifier": DATA / "verifier_pairs.jsonl",
    "hotpotqa": HOTPOTQA,
    "qasper": QASPER,
}
OURS = ("seed", "corpus", "unanswerable", "multiturn", "verifier")


# ---- datasets ------------------------------------------------------------------------------


def resolve_datasets(names: Sequence[str]) -> list[Dataset]:
    """Names (seed, corpus, unanswerable, multiturn, verifier, hotpotqa, qasper) or .jsonl paths."""
    datasets = []
    for given in names or OURS:
        path = NAMED.get(given.lower(), Path(given))
        if not path.is_file():
            if given.lower() in NAMED:
                raise InputError(f"dataset {given} not found at {path}; pass its .jsonl path instead")
            raise InputError(f"unknown dataset {given!r}; use {', '.join(NAMED)} or a .jsonl file path")
        kind = detect_kind(path)
        name = given.lower() if given.lower() in NAMED else (kind if kind in ("hotpotqa", "qasper") else path.stem)
        datasets.append(Dataset(name, kind, path))
    return datasets


def detect_kind(path: Path) -> str:
    """The dataset kind from the keys of its first record."""
    number, first = next(iter(numbered_lines(path)), (1, ""))
    try:
        keys = set(json.loads(first)) if first else set()
    except (ValueError, TypeError):
        raise InputError(f"{path} is not JSON Lines; fix line {number}") from None
    known = (("contexts", "hotpotqa"), ("evidence_spans", "qasper"), ("turns", "multiturn"), ("claim", "verifier"), ("question", "qa"))
    for key, kind in known:
        if key in keys:
            return kind
    raise InputError(f"{path}: cannot tell what kind of dataset this is (no question, turns, claim or contexts)")


ROW_MODELS = {"qa": QARow, "multiturn": MultiturnRow, "verifier": PairRow}


def load_rows(path: Path, kind: str) -> list[Row]:
    """The rows of one of our kinds of set (qa, multiturn, verifier), checked by ``evals.schema``;
    a bad row is an error naming ``path:line``."""
    return read_rows(path, ROW_MODELS[kind])


def qa_items(rows: Iterable[QARow | MultiturnRow | dict], per_doc: bool = False) -> list[QAItem]:
    """Questions of a single-turn or multi-turn set; only the last turn carries gold. A row's
    ``within`` (a document name or a list of them) scopes its questions; with ``per_doc`` so does
    its ``doc``. A row given as a dict is validated as its JSON line would be."""
    items = []
    for row in rows:
        if isinstance(row, dict):
            row = parse_row(MultiturnRow if "turns" in row else QARow, row)
        turns = row.turns if isinstance(row, MultiturnRow) else (row,)
        last = turns[-1]
        within = row.scope() if isinstance(row, QARow) else (row.within,) if isinstance(row.within, str) else row.within
        within = within or last.scope() or ((last.doc,) if per_doc and last.doc else ())
        items.append(
            QAItem(
                id=row.id,
                question=last.question,
                answerable=row.answerable if isinstance(row, QARow) else True,
                doc=last.doc,
                gold=last.gold,
                facts=last.facts,
                history=tuple(t.question for t in turns[:-1]),
                short=last.short,
                within=within,
            )
        )
    return items


def pair_items(rows: Iterable[PairRow]) -> list[PairItem]:
    """The labelled pairs of a verifier set."""
    return [PairItem(r.id, r.claim, r.evidence, r.supported, r.kind) for r in rows]


def progress_bar(iterable, desc: str, total: int, unit: str = "q"):
    """A tqdm bar on stderr (silent when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, disable=None, leave=False)


def ask_item(rag, item: QAItem) -> tuple[Answer, float]:
    """Ask the item's earlier turns (as history) untimed, then time its question; all of them
    within the item's documents when it names some."""
    try:
        scope = rag.scope(item.within) if item.within else None
    except InputError as exc:
        raise InputError(f"{item.id}: {exc}") from None
    history: list[tuple[str, str]] = []
    for question in item.history:
        history.append((question, rag.ask(question, history, documents=scope).answer))
    started = time.perf_counter()
    answer = rag.ask(item.question, history, documents=scope)
    return answer, time.perf_counter() - started


def run_datasets(
    datasets: Sequence[Dataset], rag, limit: int | None, per_doc: bool = False, pooled: bool = False
) -> tuple[list[DatasetResult], float]:
    """Run every dataset; returns the results and the untimed warm-up seconds. ``per_doc`` asks
    each question of our sets within its ``doc``; ``pooled`` asks QASPER's of the whole store."""
    results, warmup, files = [], 0.0, None
    for dataset in datasets:
        if dataset.kind == "qasper":
            from evals import qasper

            store = Path(f"{rag.settings.store_dir}-qasper")
            records, facts = qasper.run(rag, dataset.path.parent, limit, store, progress_bar, pooled)
            warmup += facts["warmup_seconds"]
            results.append(DatasetResult(dataset.name, "qasper", tuple(records), qasper.summary(records), facts))
            continue
        if dataset.kind == "hotpotqa":
            from evals import hotpotqa

            store = Path(f"{rag.settings.store_dir}-hotpotqa")
            records, facts = hotpotqa.run(rag, dataset.path, limit, store, progress_bar)
            warmup += facts["warmup_seconds"]
            results.append(DatasetResult(dataset.name, "hotpotqa", tuple(records), hotpotqa.summary(records), facts))
            continue
        rows = load_rows(dataset.path, dataset.kind)[:limit]
        items = pair_items(rows) if dataset.kind == "verifier" else qa_items(rows, per_doc)
        if dataset.kind == "verifier":
            records = [_judge_pair(p, rag.checker()) for p in progress_bar(items, dataset.name, len(items))]
            metrics, facts = pair_summary(records)
            results.append(DatasetResult(dataset.name, "verifier", tuple(records), metrics, facts))
            continue
        if files is None:
            files = SourceFiles(s.path for s in rag.sources())
            if items:
                started = time.perf_counter()
                rag.ask(items[0].question, documents=list(items[0].within) or None)  # loads the model and the index
                warmup += time.perf_counter() - started
        records = [score_answer(i, *ask_item(rag, i), files) for i in progress_bar(items, dataset.name, len(items))]
        results.append(DatasetResult(dataset.name, dataset.kind, tuple(records), qa_summary(records)))
    question_sets = [r for r in results if r.kind in ("qa", "multiturn")]
    if len(question_sets) > 1:
        pooled = [record for r in question_sets for record in r.records]
        results.append(DatasetResult("ours", "pooled", (), qa_summary(pooled)))
    return results, warmup


def _judge_pair(pair: PairItem, checker) -> PairRecord:
    verdict = checker.check(pair.claim, pair.evidence)
    return PairRecord(pair.id, pair.kind, pair.supported, verdict.supported, verdict.reason)


def calibration(results: Sequence[DatasetResult], current: float) -> dict | None:
    """The threshold maximising balanced accuracy over the single-turn question sets, if they
    hold both answerable and unanswerable questions."""
    records = [record for r in results if r.kind == "qa" for record in r.records]
    answerable = [r.confidence for r in records if r.answerable]
    unanswerable = [r.confidence for r in records if not r.answerable]
    if not answerable or not unanswerable:
        return None
    best, table = calibrate_threshold(answerable, unanswerable, grid=sorted({*DEFAULT_GRID, current}))
    return {
        "threshold": best,
        "balanced_accuracy": threshold_row(best, answerable, unanswerable).balanced_accuracy,
        "current": current,
        "current_balanced_accuracy": threshold_row(current, answerable, unanswerable).balanced_accuracy,
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "sets": [r.name for r in results if r.kind == "qa"],
        "table": [asdict(row) for row in table],
    }


# ---- output --------------------------------------------------------------------------------


def main(args, rag) -> int:
    """``rag eval``: run the datasets, print a table (or JSON with --json), write --report."""
    from evals.report import METHOD_NOTES, format_table, to_json, write_report  # evals.report imports this module

    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be at least 1, not {args.limit}")
    datasets = resolve_datasets(args.datasets)
    started = time.perf_counter()
    results, warmup = run_datasets(datasets, rag, args.limit, getattr(args, "per_doc", False), getattr(args, "pooled", False))
    threshold = rag.settings.gate_threshold()
    calibrated = calibration(results, threshold)
    run = {
        "store": str(rag.settings.store_url or rag.settings.store_dir),
        "answerer": rag.settings.answerer,
        "threshold": threshold,
        "limit": args.limit,
        "datasets": [d.name for d in datasets],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "warmup_seconds": round(warmup, 2),
        "notes": list(METHOD_NOTES),
    }
    if args.report:
        chart = write_report(Path(args.report), results, calibrated, run)
        print(f"rag eval: wrote {args.report} and {chart}", file=sys.stderr)
    if args.json:
        print(json.dumps(to_json(results, calibrated, run), ensure_ascii=False))
    else:
        print(format_table(results, calibrated, run))
    return 0
