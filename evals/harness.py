"""The harness behind ``rag eval``: ask every question of the datasets, score, print, report.

A shell over ``rag.pipeline.Rag``: it asks, reads the cited files back and hands plain values
to the pure functions of ``evals.metrics``. Our sets (``evals/data``) are scored on gold
sentences (located verbatim in their files), key facts, citations and abstention; the
verifier pairs on ``rag.verify.check_support``; HotpotQA by ``evals.hotpotqa``. The same
store gives the same numbers on every run, latency aside.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
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
)
from rag.errors import InputError
from rag.types import Answer
from rag.verify import check_support

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
RANK_CUTOFFS = (1, 3, 5, 10, 40)
LABELS = {
    "gold_recall": "gold-sentence citation recall",
    "gold_precision": "gold-sentence citation precision",
    "fact_coverage": "key-fact coverage",
    "quote_exactness": "quote exactness",
    "alce_recall": "ALCE citation recall",
    "alce_precision": "ALCE citation precision",
    **{f"hit@{k}": f"gold sentence in top {k}" for k in RANK_CUTOFFS},
    "mrr@10": "MRR@10 of gold sentences",
    "abstention_precision": "abstention precision",
    "abstention_recall": "abstention recall",
    "false_refusal_rate": "false-refusal rate",
    "precision": "precision (supported)",
    "recall": "recall (supported)",
    "f1": "F1 (supported)",
    "answer_f1": "answer token F1",
    "accuracy": "accuracy",
    "exact_match": "exact match",
    "answer_contained": "gold answer contained",
    "paragraph_citation_precision": "paragraph citation precision",
    "paragraph_citation_recall": "paragraph citation recall",
    "recall_at_5": "supporting paragraphs in top 5",
    "latency_p50": "latency p50",
    "latency_p95": "latency p95",
}
CHART_METRICS = {
    "qa": ("gold_recall", "gold_precision", "fact_coverage", "hit@5", "quote_exactness"),
    "pooled": ("abstention_precision", "abstention_recall", "false_refusal_rate"),
    "verifier": ("precision", "recall", "f1"),
    "hotpotqa": (
        "answer_f1", "exact_match", "paragraph_citation_precision", "paragraph_citation_recall", "recall_at_5"
    ),
}
METHOD_NOTES = (
    "Gold sentences are located verbatim in their files; a citation or retrieved sentence hits a gold "
    "sentence when it is in the same file and its character span overlaps the gold span.",
    "ALCE citation recall/precision follow ALCE's definitions, but the judge is `rag.verify.check_support` "
    "(deterministic word, number, name and negation checks), not an NLI model: none is available offline. "
    "The pipeline drops sentences that fail the same check, so ALCE recall is close to 1 by construction.",
    "Retrieval ranks are positions in `Answer.evidence`, the fused retrieval order before the answerer re-scores "
    "it. An abstention keeps only its top 3 hits, so a gold sentence ranked lower under an abstention counts as "
    "a miss in hit@5 and beyond and in MRR@10 (HotpotQA recall@5 likewise).",
    "Intervals are 95 % percentile bootstrap intervals (1000 resamples, fixed seed) over questions "
    "(over citations for quote exactness).",
    "The threshold is calibrated on the same questions it is scored on, so its balanced accuracy is optimistic.",
)


@dataclass(frozen=True)
class Dataset:
    """A dataset to run: its name, kind (qa, multiturn, verifier, hotpotqa) and file."""

    name: str
    kind: str
    path: Path


@dataclass(frozen=True)
class QAItem:
    """A question with its gold; ``history`` holds the earlier questions of a conversation."""

    id: str
    question: str
    answerable: bool
    doc: str = ""
    gold: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    history: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairItem:
    """A labelled (claim, evidence) pair for the support verifier."""

    id: str
    claim: str
    evidence: tuple[str, ...]
    supported: bool
    kind: str


@dataclass(frozen=True)
class Cited:
    """One citation of an answer: where it points, whether its quote is exact, whether it hits gold."""

    label: int
    sentence_id: str
    path: str
    title: str
    start: int
    end: int
    quote: str
    exact: bool
    gold: bool


@dataclass(frozen=True)
class QARecord:
    """How one question was answered and scored (metrics are None where undefined)."""

    id: str
    question: str
    answerable: bool
    abstained: bool
    confidence: float
    answer: str
    seconds: float
    citations: tuple[Cited, ...]
    doc: str
    gold: tuple[str, ...]
    gold_rank: int | None
    gold_recall: float | None
    gold_precision: float | None
    fact_coverage: float | None
    missing_facts: tuple[str, ...]
    alce_recall: float | None
    alce_precision: float | None


@dataclass(frozen=True)
class PairRecord:
    """The verifier's verdict on one labelled pair."""

    id: str
    kind: str
    supported: bool
    predicted: bool
    reason: str


@dataclass(frozen=True)
class DatasetResult:
    """The records and metrics of one dataset; ``facts`` holds what else the run learned."""

    name: str
    kind: str
    records: tuple = ()
    metrics: tuple[Metric, ...] = ()
    facts: dict = field(default_factory=dict)


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
    """The offline judge of ALCE citation quality: ``rag.verify.check_support``."""
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
    quotes = {c.label: c.quote for c in answer.citations}
    statements = [(s.text, [quotes[n] for n in s.citations if n in quotes]) for s in answer.sentences]
    alce = alce_citation_quality(statements if not answer.abstained else [], supports)
    text = "" if answer.abstained else strip_citation_markers(answer.answer)
    answerable = item.answerable and bool(gold)
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
            records = [_judge_pair(p) for p in progress_bar(items, dataset.name, len(items))]
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


def _judge_pair(pair: PairItem) -> PairRecord:
    verdict = check_support(pair.claim, pair.evidence)
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


def metric_json(metric: Metric) -> dict:
    """A metric as JSON: value, number of items, 95 % interval (null where undefined)."""
    return {"value": metric.value, "n": metric.n, "ci": list(metric.ci) if metric.ci else None}


def to_json(results: Sequence[DatasetResult], calibrated: dict | None, run: dict) -> dict:
    """Every metric, interval and per-question record as one JSON-ready object."""
    return {
        "run": run,
        "datasets": {
            r.name: {
                "kind": r.kind,
                "metrics": {m.key: metric_json(m) for m in r.metrics},
                **r.facts,
                "records": [asdict(record) for record in r.records],
            }
            for r in results
        },
        "calibration": calibrated,
    }


def format_value(metric: Metric) -> str:
    """A metric as text: rates with three decimals and their interval, latency in milliseconds."""
    if metric.value is None:
        return "—"
    if metric.key.startswith("latency"):
        return f"{metric.value * 1000:.0f} ms"
    interval = f"  [{metric.ci[0]:.3f}, {metric.ci[1]:.3f}]" if metric.ci else ""
    return f"{metric.value:.3f}{interval}"


def format_table(results: Sequence[DatasetResult], calibrated: dict | None, run: dict) -> str:
    """The terminal summary: one aligned block per dataset, then the calibrated threshold."""
    width = max(len(label) for label in LABELS.values()) + 2
    lines = [f"rag eval — store {run['store']}, threshold {run['threshold']}, answerer {run['answerer']}"]
    for result in results:
        shown = [m for m in result.metrics if m.value is not None]
        size = f", {len(result.records)} items" if result.records else ""
        lines += ["", f"{result.name} ({result.kind}{size})"]
        lines += [f"  {LABELS.get(m.key, m.key):<{width}}{format_value(m):<28}n={m.n}" for m in shown]
        if "by_kind" in result.facts:
            kinds = ", ".join(f"{k} {v['accuracy']:.2f} ({v['n']})" for k, v in result.facts["by_kind"].items())
            lines.append(f"  {'accuracy by kind':<{width}}{kinds}")
        if result.kind == "hotpotqa":
            facts = result.facts
            lines.append(
                f"  {'pooled corpus':<{width}}{facts['documents']} documents in {facts['store']}, "
                f"ingest {facts['ingest_seconds']} s, warm-up {facts['warmup_seconds']} s"
            )
    if calibrated:
        lines += [
            "",
            f"calibrated abstain threshold {calibrated['threshold']:.3f} (balanced accuracy "
            f"{calibrated['balanced_accuracy']:.3f}; current {calibrated['current']} gives "
            f"{calibrated['current_balanced_accuracy']:.3f})",
            f"  {'threshold':>10}{'answered':>10}{'abstained':>11}{'balanced':>10}",
        ]
        lines += [
            f"  {r['threshold']:>10.3f}{r['answered']:>10.3f}{r['abstained']:>11.3f}{r['balanced_accuracy']:>10.3f}"
            for r in calibrated["table"]
        ]
    lines += ["", f"wall time {run['wall_seconds']:.1f} s (warm-up {run['warmup_seconds']:.1f} s)"]
    return "\n".join(lines)


def failures(record: QARecord) -> list[str]:
    """Why a question counts as failed: wrong abstention, missed gold, missing facts."""
    if record.answerable and record.abstained:
        return ["refused an answerable question"]
    if not record.answerable:
        return [] if record.abstained else ["answered an unanswerable question"]
    problems = []
    if record.gold_recall is not None and record.gold_recall < 1:
        hit = round(record.gold_recall * len(record.gold))
        problems.append(f"cited {hit} of {len(record.gold)} gold sentences")
    if record.missing_facts:
        problems.append("missing facts: " + "; ".join(record.missing_facts))
    return problems


def markdown_cell(text: str, limit: int = 220) -> str:
    """Text fit for one Markdown table cell: one line, pipes escaped, at most ``limit`` characters."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _cited_cell(citations: Sequence[Cited]) -> str:
    parts = [
        f"[{c.label}] {Path(c.path).name} {c.start}:{c.end}{' (gold)' if c.gold else ''}: "
        f"“{markdown_cell(c.quote, 160)}”"
        for c in citations
    ]
    return "<br>".join(parts) or "—"


def write_chart(path: Path, results: Sequence[DatasetResult]) -> None:
    """A horizontal bar chart of the headline rates with their 95 % intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [
        (f"{r.name}: {LABELS[m.key]}", m, f"C{i % 10}")
        for i, r in enumerate(results)
        for m in r.metrics
        if m.key in CHART_METRICS.get(r.kind if r.kind != "multiturn" else "qa", ()) and m.value is not None
    ]
    figure, axes = plt.subplots(figsize=(8, 0.32 * len(bars) + 1.2))
    positions = range(len(bars))
    values = [m.value for _, m, _ in bars]
    errors = [
        [m.value - m.ci[0] if m.ci else 0 for _, m, _ in bars],
        [m.ci[1] - m.value if m.ci else 0 for _, m, _ in bars],
    ]
    axes.barh(positions, values, xerr=errors, color=[c for _, _, c in bars], ecolor="#333333", capsize=2)
    axes.set_yticks(list(positions), [label for label, _, _ in bars], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("rate (bars: 95 % bootstrap interval)")
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def format_report(results: Sequence[DatasetResult], calibrated: dict | None, run: dict, chart: str) -> str:
    """The Markdown report: metric table, chart, method notes, calibration, failed questions."""
    from evals import hotpotqa

    keys = list(dict.fromkeys(m.key for r in results for m in r.metrics))
    by_name = {r.name: {m.key: m for m in r.metrics} for r in results}
    lines = [
        "# rag eval report",
        "",
        f"Store `{run['store']}`, answerer `{run['answerer']}`, abstain threshold {run['threshold']}. "
        f"Wall time {run['wall_seconds']:.1f} s (warm-up {run['warmup_seconds']:.1f} s).",
        "",
        "## Metrics",
        "",
        "| metric | " + " | ".join(r.name for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for key in keys:
        cells = []
        for r in results:
            metric = by_name[r.name].get(key)
            cells.append(f"{format_value(metric)} (n={metric.n})" if metric and metric.value is not None else "—")
        lines.append(f"| {LABELS.get(key, key)} | " + " | ".join(cells) + " |")
    lines += ["", f"![headline metrics]({chart})", "", "How these are measured:", ""]
    lines += [f"- {note}" for note in METHOD_NOTES]
    if calibrated:
        lines += [
            "",
            "## Abstention threshold",
            "",
            f"Calibrated on {', '.join(calibrated['sets'])} ({calibrated['answerable']} answerable, "
            f"{calibrated['unanswerable']} unanswerable questions) from `Answer.confidence`: "
            f"**{calibrated['threshold']:.3f}** (balanced accuracy {calibrated['balanced_accuracy']:.3f}); "
            f"the current {calibrated['current']} gives {calibrated['current_balanced_accuracy']:.3f}.",
            "",
            "| threshold | answerable answered | unanswerable abstained | balanced accuracy |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['threshold']:.3f} | {r['answered']:.3f} | {r['abstained']:.3f} | {r['balanced_accuracy']:.3f} |"
            for r in calibrated["table"]
        ]
    for result in results:
        if "by_kind" in result.facts:
            lines += ["", f"## Verifier accuracy by kind ({result.name})", ""]
            lines += ["| kind | accuracy | n |", "|---|---|---|"]
            lines += [f"| {k} | {v['accuracy']:.3f} | {v['n']} |" for k, v in result.facts["by_kind"].items()]
        if result.kind == "hotpotqa":
            lines += hotpotqa.report_section(result.records, result.facts)
    question_sets = [r for r in results if r.kind in ("qa", "multiturn")]
    failed = [(r.name, rec, failures(rec)) for r in question_sets for rec in r.records]
    failed = [(name, rec, problems) for name, rec, problems in failed if problems]
    if question_sets:
        lines += ["", f"## Failed questions ({len(failed)})", ""]
    if failed:
        lines += ["| set | id | problem | question | answer | cited | gold |", "|---|---|---|---|---|---|---|"]
        lines += [
            f"| {name} | {rec.id} | {markdown_cell('; '.join(problems))} | {markdown_cell(rec.question)} "
            f"| {markdown_cell(rec.answer, 300)} | {_cited_cell(rec.citations)} "
            f"| {markdown_cell(' / '.join(rec.gold), 200) or '—'} |"
            for name, rec, problems in failed
        ]
    return "\n".join(lines) + "\n"


def write_report(path: Path, results: Sequence[DatasetResult], calibrated: dict | None, run: dict) -> Path:
    """Write the Markdown report and its chart (same name, .png) next to it; returns the chart path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    chart = path.with_suffix(".png")
    write_chart(chart, results)
    path.write_text(format_report(results, calibrated, run, chart.name), "utf-8")
    return chart


def main(args, rag) -> int:
    """``rag eval``: run the datasets, print a table (or JSON with --json), write --report."""
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be at least 1, not {args.limit}")
    datasets = resolve_datasets(args.datasets)
    started = time.perf_counter()
    results, warmup = run_datasets(datasets, rag, args.limit)
    threshold = rag.settings.abstain_threshold
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
