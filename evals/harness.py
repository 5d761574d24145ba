"""The harness behind ``rag eval``: ask every question of the datasets and score the answers.

A shell over ``rag.pipeline.Rag``: it asks, reads the cited files back and hands plain values
to the pure functions of ``evals.metrics``. Our sets (``evals/data``) are scored on gold
sentences (located verbatim in their files), key facts, citations and abstention; the
verifier pairs on the answerer's support checker (``rag.support``: deterministic checks, plus
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

from evals.metrics import (
    CONFIDENCE_DECIMALS,
    DEFAULT_GRID,
    Metric,
    Span,
    abstention_scores,
    alce_citation_quality,
    binary_scores,
    calibrate_threshold,
    citation_precision,
    citation_recall,
    exact_match,
    fact_coverage,
    first_relevant_rank,
    hit_at_k,
    locate,
    missing_facts,
    overlaps,
    percentile,
    quote_is_exact,
    reciprocal_rank,
    strip_citation_markers,
    summarise,
    summarise_mean,
    threshold_row,
    token_f1,
)
from evals.records import RANK_CUTOFFS, Cited, Dataset, DatasetResult, PairItem, PairRecord, QAItem, QARecord
from rag.errors import InputError
from rag.types import Answer
from rag.support import check_support

DATA = Path(__file__).resolve().parent / "data"
REPO = DATA.parent.parent
DOCUMENT_FOLDERS = (REPO / "corpus", REPO.parent / "shared" / "corpus")
HOTPOTQA = REPO.parent / "shared" / "benchmarks" / "hotpotqa" / "dev397.jsonl"
NAMED = {
    "seed": DATA / "seed.jsonl",
    "corpus": DATA / "corpus.jsonl",
    "unanswerable": DATA / "unanswerable.jsonl",
    "multiturn": DATA / "multiturn.jsonl",
    "verifier": DATA / "verifier_pairs.jsonl",
    "hotpotqa": HOTPOTQA,
}
OURS = ("seed", "corpus", "unanswerable", "multiturn", "verifier")


# ---- datasets ------------------------------------------------------------------------------


def resolve_datasets(names: Sequence[str]) -> list[Dataset]:
    """Names (seed, corpus, unanswerable, multiturn, verifier, hotpotqa) or .jsonl paths."""
    datasets = []
    for given in names or OURS:
        path = NAMED.get(given.lower(), Path(given))
        if not path.is_file():
            if given.lower() in NAMED:
                raise InputError(f"dataset {given} not found at {path}; pass its .jsonl path instead")
            raise InputError(f"unknown dataset {given!r}; use {', '.join(NAMED)} or a .jsonl file path")
        kind = detect_kind(path)
        name = given.lower() if given.lower() in NAMED else ("hotpotqa" if kind == "hotpotqa" else path.stem)
        datasets.append(Dataset(name, kind, path))
    return datasets


def detect_kind(path: Path) -> str:
    """The dataset kind from the keys of its first record."""
    first = next((line for line in _lines(path) if line.strip()), "")
    try:
        keys = set(json.loads(first)) if first else set()
    except ValueError:
        raise InputError(f"{path} is not JSON Lines; fix line 1") from None
    for key, kind in (("contexts", "hotpotqa"), ("turns", "multiturn"), ("claim", "verifier"), ("question", "qa")):
        if key in keys:
            return kind
    raise InputError(f"{path}: cannot tell what kind of dataset this is (no question, turns, claim or contexts)")


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def load_rows(path: Path) -> list[dict]:
    """The objects of a JSON Lines file; a broken line is an error naming it."""
    rows = []
    for number, line in enumerate(_lines(path), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                raise InputError(f"{path}:{number} is not valid JSON ({exc}); fix the line") from None
    return rows


def qa_items(rows: Iterable[dict]) -> list[QAItem]:
    """Questions of a single-turn or multi-turn set; only the last turn carries gold."""
    items = []
    for row in rows:
        turns = row.get("turns") or [row]
        last = turns[-1]
        items.append(
            QAItem(
                id=row["id"],
                question=last["question"],
                answerable=row.get("answerable", True),
                doc=last.get("doc", ""),
                gold=tuple(last.get("gold", ())),
                facts=tuple(last.get("facts", ())),
                history=tuple(t["question"] for t in turns[:-1]),
                short=tuple(last.get("short", ())),
            )
        )
    return items


def pair_items(rows: Iterable[dict]) -> list[PairItem]:
    """The labelled pairs of a verifier set."""
    return [PairItem(r["id"], r["claim"], tuple(r["evidence"]), bool(r["supported"]), r.get("kind", "")) for r in rows]


class SourceFiles:
    """Finds a dataset's documents (indexed copies first, then the known corpus folders) and
    reads each file once."""

    def __init__(self, indexed: Iterable[str], folders: Sequence[Path] = DOCUMENT_FOLDERS):
        self.by_name: dict[str, Path] = {}
        for path in sorted(indexed):
            self.by_name.setdefault(Path(path).name, Path(path))
        self.folders = folders
        self.texts: dict[str, str | None] = {}

    def find(self, name: str) -> Path | None:
        """The file named ``name``: the indexed one if any, else the first in the known folders."""
        if name in self.by_name:
            return self.by_name[name]
        return next(((f / name).resolve() for f in self.folders if (f / name).is_file()), None)

    def text(self, path: str) -> str | None:
        """The file's text as ``Path.read_text("utf-8")`` gives it; None if it cannot be read."""
        if path not in self.texts:
            try:
                self.texts[path] = Path(path).read_text("utf-8")
            except (OSError, UnicodeDecodeError):
                self.texts[path] = None
        return self.texts[path]

    def gold_spans(self, item: QAItem) -> tuple[Span, ...]:
        """The spans of the item's gold sentences; an error if a document or sentence is missing."""
        if not item.gold:
            return ()
        path = self.find(item.doc)
        if path is None:
            raise InputError(f"{item.id}: document {item.doc} is neither indexed nor in {DOCUMENT_FOLDERS[-1]}")
        text = self.text(str(path)) or ""
        spans = [locate(text, gold, str(path)) for gold in item.gold]
        if None in spans:
            raise InputError(f"{item.id}: a gold sentence is not verbatim in {path}; fix the dataset")
        return tuple(spans)


# ---- scoring -------------------------------------------------------------------------------


def supports(claim: str, evidence: Sequence[str]) -> bool:
    """The offline judge of ALCE citation quality: ``rag.support.check_support``."""
    return check_support(claim, evidence).supported


def score_answer(item: QAItem, answer: Answer, seconds: float, files: SourceFiles) -> QARecord:
    """Score one answer against its item's gold sentences and facts."""
    gold = files.gold_spans(item)
    spans = [Span(c.path, c.start, c.end) for c in answer.citations]
    cited = tuple(
        Cited(
            c.label, c.sentence_id, c.path, c.title, c.start, c.end, c.quote,
            exact=quote_is_exact(files.text(c.path) or "", c.start, c.end, c.quote),
            gold=any(overlaps(span, g) for g in gold),
        )
        for c, span in zip(answer.citations, spans)
    )
    evidence = [Span(h.path, h.sentence.start, h.sentence.end) for h in answer.evidence]
    ranked = [Span(e.hit.path, e.hit.sentence.start, e.hit.sentence.end) for e in answer.ranked]
    best_cited = bool(ranked) and not answer.abstained and any(overlaps(ranked[0], span) for span in spans)
    quotes = {c.label: c.quote for c in answer.citations}
    statements = [(s.text, [quotes[n] for n in s.citations if n in quotes]) for s in answer.sentences]
    alce = alce_citation_quality(statements if not answer.abstained else [], supports)
    text = "" if answer.abstained else strip_citation_markers(answer.answer)
    answerable = item.answerable and bool(gold)
    short = answer.short_answer.text if answer.short_answer and not answer.abstained else ""
    spans_by_label = {c.label: span for c, span in zip(answer.citations, spans)}
    strong = [s for s in answer.sentences if s.strength == "strong" and not answer.abstained]
    strong_wrong = sum(
        1
        for s in strong
        if not answerable or not any(overlaps(spans_by_label[n], g) for n in s.citations if n in spans_by_label for g in gold)
    )
    return QARecord(
        id=item.id,
        question=item.question,
        answerable=item.answerable,
        abstained=answer.abstained,
        confidence=round(answer.confidence, CONFIDENCE_DECIMALS),
        answer=answer.answer,
        seconds=seconds,
        citations=cited,
        doc=item.doc,
        gold=item.gold,
        gold_rank=first_relevant_rank(evidence, gold, overlaps) if answerable else None,
        reranked_gold_rank=first_relevant_rank(ranked, gold, overlaps) if answerable else None,
        gold_cited_first=float(best_cited and any(overlaps(ranked[0], g) for g in gold)) if answerable else None,
        short_answer=short,
        short_em=max(exact_match(short, g) for g in item.short) if item.short and answerable else None,
        short_f1=max(token_f1(short, g) for g in item.short) if item.short and answerable else None,
        strong_marks=len(strong),
        strong_wrong=strong_wrong,
        gold_recall=citation_recall(spans, gold, overlaps) if answerable else None,
        gold_precision=citation_precision(spans, gold, overlaps) if answerable else None,
        fact_coverage=fact_coverage(text, item.facts) if item.answerable else None,
        missing_facts=missing_facts(text, item.facts),
        alce_recall=alce.recall,
        alce_precision=alce.precision,
    )


def qa_summary(records: Sequence[QARecord]) -> tuple[Metric, ...]:
    """Retrieval, citation, answer, abstention and latency metrics of question records."""
    gold = [r for r in records if r.gold_recall is not None]
    seconds = [r.seconds for r in records]
    pairs = [(r.abstained, r.answerable) for r in records]
    mixed = pairs if any(not answerable for _, answerable in pairs) else []  # precision needs positives

    def abstention(attribute: str):
        return lambda sample: getattr(abstention_scores([a for a, _ in sample], [b for _, b in sample]), attribute)

    return (
        summarise_mean("gold_recall", [r.gold_recall for r in gold]),
        summarise_mean("gold_precision", [r.gold_precision for r in gold]),
        summarise_mean("fact_coverage", [r.fact_coverage for r in records]),
        summarise_mean("quote_exactness", [c.exact for r in records for c in r.citations]),
        summarise_mean("alce_recall", [r.alce_recall for r in records]),
        summarise_mean("alce_precision", [r.alce_precision for r in records]),
        *(summarise_mean(f"hit@{k}", [hit_at_k(r.gold_rank, k) for r in gold]) for k in RANK_CUTOFFS),
        summarise_mean("mrr@10", [reciprocal_rank(r.gold_rank, 10) for r in gold]),
        summarise_mean("gold_cited_first", [r.gold_cited_first for r in gold]),
        summarise_mean("short_answer_em", [r.short_em for r in gold]),
        summarise_mean("short_answer_f1", [r.short_f1 for r in gold]),
        summarise_mean("strong_mark_wrong", [r.strong_wrong > 0 for r in records if r.strong_marks]),
        *(summarise_mean(f"reranked_hit@{k}", [hit_at_k(r.reranked_gold_rank, k) for r in gold]) for k in (1, 3, 5)),
        summarise("abstention_precision", mixed, abstention("precision")),
        summarise("abstention_recall", pairs, abstention("recall")),
        summarise("false_refusal_rate", pairs, abstention("false_refusal_rate")),
        Metric("latency_p50", percentile(seconds, 50), len(seconds)),
        Metric("latency_p95", percentile(seconds, 95), len(seconds)),
    )


def pair_summary(records: Sequence[PairRecord]) -> tuple[tuple[Metric, ...], dict]:
    """Verifier precision/recall/F1 ("supported" positive) and accuracy, and accuracy per kind."""

    def scores(attribute: str):
        return lambda sample: getattr(binary_scores([p for p, _ in sample], [a for _, a in sample]), attribute)

    pairs = [(r.predicted, r.supported) for r in records]
    metrics = tuple(summarise(key, pairs, scores(key)) for key in ("precision", "recall", "f1", "accuracy"))
    by_kind = {}
    for kind in sorted({r.kind for r in records}):
        of_kind = [r for r in records if r.kind == kind]
        correct = sum(r.predicted == r.supported for r in of_kind)
        by_kind[kind] = {"accuracy": correct / len(of_kind), "n": len(of_kind)}
    return metrics, {"by_kind": by_kind}


# ---- running -------------------------------------------------------------------------------


def progress_bar(iterable, desc: str, total: int, unit: str = "q"):
    """A tqdm bar on stderr (silent when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, disable=None, leave=False)


def ask_item(rag, item: QAItem) -> tuple[Answer, float]:
    """Ask the item's earlier turns (as history) untimed, then time its question."""
    history: list[tuple[str, str]] = []
    for question in item.history:
        history.append((question, rag.ask(question, history).answer))
    started = time.perf_counter()
    answer = rag.ask(item.question, history)
    return answer, time.perf_counter() - started


def run_datasets(datasets: Sequence[Dataset], rag, limit: int | None) -> tuple[list[DatasetResult], float]:
    """Run every dataset; returns the results and the untimed warm-up seconds."""
    results, warmup, files = [], 0.0, None
    for dataset in datasets:
        if dataset.kind == "hotpotqa":
            from evals import hotpotqa

            store = Path(f"{rag.settings.store_dir}-hotpotqa")
            records, facts = hotpotqa.run(rag, dataset.path, limit, store, progress_bar)
            warmup += facts["warmup_seconds"]
            results.append(DatasetResult(dataset.name, "hotpotqa", tuple(records), hotpotqa.summary(records), facts))
            continue
        rows = load_rows(dataset.path)[:limit]
        try:
            items = pair_items(rows) if dataset.kind == "verifier" else qa_items(rows)
        except (KeyError, TypeError) as exc:
            raise InputError(f"{dataset.path}: a record lacks {exc}; see evals/data/README.md for the format") from None
        if dataset.kind == "verifier":
            records = [_judge_pair(p, rag.checker()) for p in progress_bar(items, dataset.name, len(items))]
            metrics, facts = pair_summary(records)
            results.append(DatasetResult(dataset.name, "verifier", tuple(records), metrics, facts))
            continue
        if files is None:
            files = SourceFiles(s.path for s in rag.sources())
            if items:
                started = time.perf_counter()
                rag.ask(items[0].question)  # loads the model and the index; not timed as a question
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
    results, warmup = run_datasets(datasets, rag, args.limit)
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
