"""QASPER (``../shared/benchmarks/qasper``) as an external benchmark for ``rag eval qasper``.

The 60 papers are ingested as they are into a store of their own; each question is asked
within its own paper (``documents=[doc]``; ``pooled`` asks the whole store instead, the figure
before questions could be scoped) and scored with QASPER's own scores (``evals.qasper_metrics``):
answer token F1 against the best annotator, evidence hit and citation precision against the gold
sentences and evidence paragraphs by character offsets, abstention on the unanswerable
questions, false refusals, yes/no accuracy and latency.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evals.metrics import CONFIDENCE_DECIMALS, Metric, percentile, strip_citation_markers, summarise_mean
from evals.qasper_metrics import (
    UNANSWERABLE,
    best_answer_f1,
    evidence_hit,
    evidence_precision,
    on_evidence,
    prediction_text,
    yes_no_correct,
)
from evals.records import markdown_cell as cell
from evals.records import missed_table
from evals.records import store_facts
from evals.schema import QasperRow, read_rows
from evals.scoring import lead_relevance
from rag.ask.types import Answer

ANCHORS = (
    ("LED-base (whole paper given)", 33.6, 29.9),
    ("human", 60.9, 71.6),
)  # answer F1, evidence F1 on the whole test split (Dasigi et al. 2021, Table 2)


@dataclass(frozen=True)
class QasperItem:
    """One QASPER question: its paper, the annotators' answers and the gold evidence."""

    id: str
    question: str
    doc: str
    answerable: bool
    answers: tuple[str, ...]
    answer_types: tuple[str, ...]
    paragraphs: tuple[tuple[int, int], ...]  # gold evidence paragraphs, [start, end) in the paper
    sentences: tuple[str, ...]  # gold sentences (verbatim in the paper)

    @property
    def boolean(self) -> bool:
        """Whether an annotator answered it with yes or no."""
        return "boolean" in self.answer_types

    @property
    def golds(self) -> tuple[str, ...]:
        """The reference answers ("Unanswerable" for a question the paper does not answer)."""
        return self.answers if self.answerable and self.answers else (UNANSWERABLE,)


@dataclass(frozen=True)
class QasperRecord:
    """How one QASPER question was answered and scored."""

    id: str
    question: str
    doc: str
    answerable: bool
    boolean: bool
    abstained: bool
    answer: str
    prediction: str
    gold_answers: tuple[str, ...]
    f1: float
    f1_sentences: float  # the F1 of the answer's whole text instead (no short answer, no verdict)
    evidence_hit: float | None
    citation_precision: float | None
    yes_no: float | None
    gold_rank: int | None  # first reranked evidence on the gold evidence (1-based)
    cited: tuple[tuple[int, int], ...]
    seconds: float
    confidence: float = 0.0  # what the gate compared with its threshold
    lead_relevance: float | None = None  # the reader's relevance of the best evidence (None: not judged)
    rival_relevance: float | None = None  # ... of the most relevant other sentence it judged


def load(folder: Path) -> list[QasperItem]:
    """Every question of ``folder/questions.jsonl``."""
    rows = read_rows(folder / "questions.jsonl", QasperRow, unreadable="pass the QASPER folder's questions.jsonl")
    return [
        QasperItem(
            id=row.id,
            question=row.question,
            doc=row.doc,
            answerable=row.answerable,
            answers=row.answers,
            answer_types=row.answer_types,
            paragraphs=row.evidence_spans,
            sentences=row.gold_sentences,
        )
        for row in rows
    ]


def sentence_ranges(text: str, sentences: Sequence[str], paragraphs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Where the gold sentences lie in the paper: the occurrence inside an evidence paragraph
    when there is one, else the first (spaces at the ends are not part of a sentence)."""
    ranges = []
    for sentence in sentences:
        wanted = sentence.strip()
        if not wanted:
            continue
        found, start = None, text.find(wanted)
        while start >= 0:
            found = found if found is not None else start
            if any(s <= start and start + len(wanted) <= e for s, e in paragraphs):
                found = start
                break
            start = text.find(wanted, start + 1)
        if found is not None:
            ranges.append((found, found + len(wanted)))
    return ranges


def score(item: QasperItem, answer: Answer, seconds: float, text: str) -> QasperRecord:
    """Score one answer against its item; ``text`` is the paper as ingested."""
    sentences = sentence_ranges(text, item.sentences, item.paragraphs)
    cited = tuple((c.start, c.end) for c in answer.citations if Path(c.path).name == item.doc)
    shorts = [s.text for s in answer.short_answers] if not answer.abstained else []
    body = strip_citation_markers(answer.answer)
    prediction = prediction_text(answer.abstained, item.boolean, answer.verdict, shorts, body)
    whole = prediction_text(answer.abstained, False, "", (), body)
    ranked = [(e.hit.sentence.start, e.hit.sentence.end) for e in answer.ranked if Path(e.hit.path).name == item.doc]
    rank = next((i for i, span in enumerate(ranked, 1) if on_evidence(span, item.paragraphs, sentences)), None)
    answered = item.answerable and not answer.abstained
    lead, rival = lead_relevance(answer)
    return QasperRecord(
        id=item.id,
        question=item.question,
        doc=item.doc,
        answerable=item.answerable,
        boolean=item.boolean,
        abstained=answer.abstained,
        answer=answer.answer,
        prediction=prediction,
        gold_answers=item.golds,
        f1=best_answer_f1(prediction, item.golds),
        f1_sentences=best_answer_f1(whole, item.golds),
        evidence_hit=evidence_hit(cited, item.paragraphs, sentences) if item.answerable else None,
        citation_precision=evidence_precision(cited, item.paragraphs, sentences) if answered else None,
        yes_no=yes_no_correct(answer.abstained, answer.verdict, item.answers) if item.boolean and item.answerable else None,
        gold_rank=rank if item.answerable else None,
        cited=cited,
        seconds=seconds,
        confidence=round(answer.confidence, CONFIDENCE_DECIMALS),
        lead_relevance=lead,
        rival_relevance=rival,
    )


def summary(records: Sequence[QasperRecord]) -> tuple[Metric, ...]:
    """Every QASPER metric with its 95 % interval (latency without one)."""
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    seconds = [r.seconds for r in records]
    return (
        summarise_mean("answer_f1", [r.f1 for r in records]),
        summarise_mean("answer_f1_answerable", [r.f1 for r in answerable]),
        summarise_mean("answer_f1_sentences", [r.f1_sentences for r in records]),
        summarise_mean("evidence_hit", [r.evidence_hit for r in answerable]),
        summarise_mean("evidence_citation_precision", [r.citation_precision for r in answerable]),
        summarise_mean("evidence_ranked_first", [float(r.gold_rank == 1) for r in answerable]),
        summarise_mean("evidence_in_ranked_top5", [float(r.gold_rank is not None and r.gold_rank <= 5) for r in answerable]),
        summarise_mean("false_refusal_rate", [float(r.abstained) for r in answerable]),
        summarise_mean("unanswerable_declined", [float(r.abstained) for r in unanswerable]),
        summarise_mean("yes_no_accuracy", [r.yes_no for r in answerable]),
        Metric("latency_p50", percentile(seconds, 50), len(seconds)),
        Metric("latency_p95", percentile(seconds, 95), len(seconds)),
    )


def open_store(rag, store_dir: Path):
    """A ``Rag`` over its own store folder, sharing the settings and embedder of ``rag``."""
    from rag.api import Rag

    settings = rag.settings.model_copy(update={"store_dir": store_dir, "store_url": None})
    return Rag(settings, embedder=rag.embedder, create_store=True)


def run(rag, folder: Path, limit: int | None, store_dir: Path, progress, pooled: bool = False) -> tuple[list[QasperRecord], dict]:
    """Ingest the papers (idempotent) and ask the first ``limit`` questions (all when None),
    each within its own paper unless ``pooled``. ``progress(iterable, desc, total, unit=...)``
    wraps an iterable in a progress bar. Returns the records and facts about the run."""
    items = load(folder)
    qasper = open_store(rag, store_dir)
    papers = sorted({item.doc for item in items})
    bar = progress(None, "qasper ingest", len(papers), unit="file")

    def on_file(done: int, total: int, _path: str) -> None:
        bar.update(done - bar.n)

    report = qasper.ingest([folder / "docs" / name for name in papers], prune=True, progress=on_file)
    bar.close()
    chosen = items[:limit] if limit else items
    scopes = {} if pooled else {name: qasper.scope([name]) for name in {item.doc for item in chosen}}
    started = time.perf_counter()
    if chosen:
        qasper.ask(chosen[0].question, documents=scopes.get(chosen[0].doc))  # loads the index; not timed
    warmup = time.perf_counter() - started
    texts: dict[str, str] = {}
    records = []
    for item in progress(chosen, "qasper", len(chosen)):
        if item.doc not in texts:
            texts[item.doc] = (folder / "docs" / item.doc).read_text("utf-8")
        started = time.perf_counter()
        answer = qasper.ask(item.question, documents=scopes.get(item.doc))
        records.append(score(item, answer, time.perf_counter() - started, texts[item.doc]))
    facts = {
        "source": str(folder),
        "asked": "pooled (no scope)" if pooled else "each question within its own paper",
        **store_facts(report, store_dir, warmup),
    }
    return records, facts


def report_section(records: Sequence[QasperRecord], facts: dict, shown: int = 30) -> list[str]:
    """Markdown lines for the report: the published anchors, then answerable questions whose
    citations miss the gold evidence."""
    metrics = {m.key: m for m in summary(records)}
    f1, hit = metrics["answer_f1"].value, metrics["evidence_hit"].value
    lines = [
        "",
        "## QASPER",
        "",
        f"{facts['documents']} papers ({facts['sentences']} sentences) from `{facts['source']}` in store "
        f"`{facts['store']}`, {facts['asked']}; ingest took {facts['ingest_seconds']} s this run. "
        "Answer F1 is QASPER's token F1 against the best annotator (an abstention is \"Unanswerable\"); "
        "evidence hit is the share of answerable questions citing a gold sentence or inside a gold paragraph. "
        "The published anchors are on the whole test split with the whole paper given to the model, and their "
        "evidence score is paragraph-level F1, not our hit rate.",
        "",
        "| system | answer F1 | evidence |",
        "|---|---|---|",
        f"| rag (this run) | {100 * f1:.1f} | hit {100 * hit:.1f} |" if f1 is not None and hit is not None else "| rag | — | — |",
        *(f"| {name} | {answer_f1} | F1 {evidence_f1} |" for name, answer_f1, evidence_f1 in ANCHORS),
    ]
    missed = [r for r in records if r.answerable and not r.evidence_hit]
    return lines + missed_table(
        "Answerable questions citing no gold evidence",
        missed,
        sum(r.answerable for r in records),
        shown,
        ("id", "paper", "question", "answer", "gold answers"),
        lambda r: f"| {r.id} | {r.doc} | {cell(r.question)} | {cell(r.answer, 300)} | {cell(' / '.join(r.gold_answers), 200)} |",
    )
