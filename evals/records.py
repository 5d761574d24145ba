"""What one evaluation run produces: datasets, items, per-question records and results, shared
by the harness, the report and the HotpotQA runner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evals.metrics import Metric
from rag.text import normalize_space

RANK_CUTOFFS = (1, 3, 5, 10, 40)


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
    short: tuple[str, ...] = ()  # gold short answers (exact spans of a gold sentence)
    within: tuple[str, ...] = ()  # the documents it is asked within (names as ``rag ask --doc`` takes them)


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
    gold_rank: int | None  # of the first gold sentence among the retrieved ones
    reranked_gold_rank: int | None  # ... among the reranked live evidence
    gold_cited_first: float | None  # the best evidence is gold and cited
    short_answer: str  # the answer's short answer ("" when none)
    short_em: float | None  # against the gold short answers (None: the item has none)
    short_f1: float | None
    strong_marks: int  # answer sentences marked strong ...
    strong_wrong: int  # ... of which none of its citations is a gold sentence (or the question is unanswerable)
    gold_recall: float | None
    gold_precision: float | None
    fact_coverage: float | None
    missing_facts: tuple[str, ...]
    alce_recall: float | None
    alce_precision: float | None
    lead_relevance: float | None = None  # the reader's relevance of the best evidence (None: not judged)
    rival_relevance: float | None = None  # ... of the most relevant other sentence it judged


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


def markdown_cell(text: str, limit: int = 220) -> str:
    """Text fit for one Markdown table cell: one line, pipes escaped, at most ``limit`` characters."""
    flat = normalize_space(str(text)).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def missed_table(caption: str, missed: Sequence, total: int, shown: int, columns: Sequence[str], row) -> list[str]:
    """Markdown lines: "``caption``: N of ``total``", then a table (``columns``, one ``row(r)`` line
    each) of the first ``shown`` of ``missed``."""
    lines = ["", f"{caption}: {len(missed)} of {total}" + (f" (first {shown} shown)" if len(missed) > shown else "") + ".", ""]
    if missed:
        lines += ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|", *(row(r) for r in missed[:shown])]
    return lines


def store_facts(report, store_dir, warmup: float) -> dict:
    """What a benchmark run says about the store it built: documents, sentences, what this run
    ingested and how long that and the warm-up took (``report``: the ingest's IngestReport)."""
    return {
        "store": str(store_dir),
        "documents": report.documents,
        "sentences": report.sentences,
        "ingested_now": len(report.added) + len(report.updated),
        "ingest_seconds": round(report.seconds, 1),
        "warmup_seconds": round(warmup, 2),
    }
