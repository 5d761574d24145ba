"""HotpotQA dev (distractor paragraphs) as an external benchmark for ``rag eval hotpotqa``.

Every paragraph of every question is pooled into one corpus, a document per title, written
to a cache folder outside the repository and ingested into a store of its own. Then each
question is asked and scored by HotpotQA exact match and token F1, paragraph-level citation
precision/recall against ``supporting_titles`` and recall@5 of the supporting paragraphs.
"""

from __future__ import annotations

import operator
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evals.metrics import (
    CONFIDENCE_DECIMALS,
    Metric,
    abstention_scores,
    answer_contained,
    citation_precision,
    citation_recall,
    exact_match,
    percentile,
    quote_is_exact,
    strip_citation_markers,
    summarise,
    summarise_mean,
    token_f1,
)
from evals.records import markdown_cell as cell
from evals.records import missed_table, store_facts
from evals.schema import HotpotRow, read_rows
from rag.ask.types import Answer
from rag.types import content_id

LICENCE_LINE = "HotpotQA dev (CC BY-SA 4.0)"
RECALL_K = 5


@dataclass(frozen=True)
class HotpotItem:
    """One HotpotQA question with its gold answer and paragraphs (title, sentences)."""

    id: str
    question: str
    answer: str
    supporting_titles: tuple[str, ...]
    paragraphs: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class HotpotRecord:
    """How one HotpotQA question was answered and scored."""

    id: str
    question: str
    gold_answer: str
    answer: str
    abstained: bool
    confidence: float
    seconds: float
    supporting_titles: tuple[str, ...]
    cited_titles: tuple[str, ...]
    retrieved_titles: tuple[str, ...]
    quotes_exact: tuple[bool, ...]
    exact_match: float
    f1: float
    contained: float
    title_precision: float | None
    title_recall: float | None
    recall_at_5: float | None


def load(path: Path) -> list[HotpotItem]:
    """Every question of a HotpotQA JSON Lines file (the format of the shared dev397.jsonl)."""
    return [
        HotpotItem(
            id=row.id,
            question=row.question,
            answer=row.answers[0],
            supporting_titles=row.supporting_titles,
            paragraphs=tuple((c.title, c.sentences) for c in row.contexts),
        )
        for row in read_rows(path, HotpotRow, unreadable="pass the HotpotQA .jsonl path")
    ]


def document_text(title: str, sentences: Sequence[str]) -> str:
    """A paragraph as a document: a header naming title and licence, then its sentences."""
    body = " ".join(s.strip() for s in sentences if s.strip())
    return f"Title: {title}\nSource: {LICENCE_LINE}\n-----\n{body}\n"


def document_name(title: str) -> str:
    """The file name of a title's document (a hash, so any title is a safe name)."""
    return f"{content_id('hotpotqa', title)}.txt"


def pooled_paragraphs(items: Iterable[HotpotItem]) -> dict[str, tuple[str, ...]]:
    """Each unique title's paragraph (the first one seen), in first-seen order."""
    pooled: dict[str, tuple[str, ...]] = {}
    for item in items:
        for title, sentences in item.paragraphs:
            pooled.setdefault(title, sentences)
    return pooled


def cache_folder() -> Path:
    """Where the pooled documents are written: ``${RAG_CACHE:-~/.cache/rag}/hotpotqa/docs``."""
    root = Path(os.environ.get("RAG_CACHE") or Path.home() / ".cache" / "rag")
    return root / "hotpotqa" / "docs"


def write_corpus(items: Sequence[HotpotItem], folder: Path) -> dict[str, str]:
    """Write one document per title (only files whose content changed); file name -> title.

    Files of titles no longer in the pool are removed so a pruning ingest drops them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    titles = {}
    for title, sentences in pooled_paragraphs(items).items():
        name, text = document_name(title), document_text(title, sentences)
        titles[name] = title
        path = folder / name
        if not path.is_file() or path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")
    for stale in folder.glob("*.txt"):
        if stale.name not in titles:
            stale.unlink()
    return titles


def open_store(rag, store_dir: Path):
    """A ``Rag`` over its own store folder, sharing the settings and embedder of ``rag``."""
    from rag.api import Rag

    settings = rag.settings.model_copy(update={"store_dir": store_dir, "store_url": None})
    return Rag(settings, embedder=rag.embedder, create_store=True)


def score(item: HotpotItem, answer: Answer, seconds: float, titles: dict[str, str]) -> HotpotRecord:
    """Score one answer against its item; ``titles`` maps document file names to titles."""

    def title_of(path: str) -> str:
        return titles.get(Path(path).name, "")

    # The verdict (yes / no) or the short answer when the answer has one, else its sentences.
    if answer.abstained:
        prediction = ""
    elif answer.verdict:
        prediction = answer.verdict
    elif answer.short_answer is not None:
        prediction = answer.short_answer.text
    else:
        prediction = strip_citation_markers(answer.answer)
    cited = tuple(title_of(c.path) for c in answer.citations)
    retrieved = tuple(title_of(h.path) for h in answer.evidence[:RECALL_K])
    return HotpotRecord(
        id=item.id,
        question=item.question,
        gold_answer=item.answer,
        answer=answer.answer,
        abstained=answer.abstained,
        confidence=round(answer.confidence, CONFIDENCE_DECIMALS),
        seconds=seconds,
        supporting_titles=item.supporting_titles,
        cited_titles=cited,
        retrieved_titles=retrieved,
        quotes_exact=tuple(_quote_exact(c) for c in answer.citations),
        exact_match=exact_match(prediction, item.answer),
        f1=token_f1(prediction, item.answer),
        contained=answer_contained(prediction, item.answer),
        title_precision=citation_precision(cited, item.supporting_titles, operator.eq),
        title_recall=citation_recall(cited, item.supporting_titles, operator.eq),
        recall_at_5=citation_recall(retrieved, item.supporting_titles, operator.eq),
    )


def _quote_exact(citation) -> bool:
    try:
        text = Path(citation.path).read_text("utf-8")
    except OSError:
        return False
    return quote_is_exact(text, citation.start, citation.end, citation.quote)


def summary(records: Sequence[HotpotRecord]) -> tuple[Metric, ...]:
    """Every HotpotQA metric with its 95 % interval (latency without one)."""
    answered = [r for r in records if not r.abstained]
    seconds = [r.seconds for r in records]
    return (
        summarise_mean("answer_f1", [r.f1 for r in records]),
        summarise_mean("exact_match", [r.exact_match for r in records]),
        summarise_mean("answer_contained", [r.contained for r in records]),
        summarise_mean("paragraph_citation_precision", [r.title_precision for r in answered]),
        summarise_mean("paragraph_citation_recall", [r.title_recall for r in records]),
        summarise_mean("recall_at_5", [r.recall_at_5 for r in records]),
        summarise_mean("quote_exactness", [e for r in records for e in r.quotes_exact]),
        summarise(
            "false_refusal_rate",
            [r.abstained for r in records],
            lambda sample: abstention_scores(sample, [True] * len(sample)).false_refusal_rate,
        ),
        Metric("latency_p50", percentile(seconds, 50), len(seconds)),
        Metric("latency_p95", percentile(seconds, 95), len(seconds)),
    )


def run(rag, path: Path, limit: int | None, store_dir: Path, progress) -> tuple[list[HotpotRecord], dict]:
    """Pool, ingest (idempotent) and ask the first ``limit`` questions (all when None).

    ``progress(iterable, desc, total, unit=...)`` wraps an iterable in a progress bar. Returns the
    records and facts about the run (store, documents, ingest and warm-up seconds).
    """
    items = load(path)
    folder = cache_folder()
    titles = write_corpus(items, folder)
    hotpot = open_store(rag, store_dir)
    bar = progress(None, "hotpotqa ingest", len(titles), unit="file")

    def on_file(done: int, total: int, _path: str) -> None:
        bar.update(done - bar.n)

    report = hotpot.ingest([folder], prune=True, progress=on_file)
    bar.close()
    chosen = items[:limit] if limit else items
    started = time.perf_counter()
    if chosen:
        hotpot.ask(chosen[0].question)  # loads the index; not timed as a question
    warmup = time.perf_counter() - started
    records = []
    for item in progress(chosen, "hotpotqa", len(chosen)):
        started = time.perf_counter()
        answer = hotpot.ask(item.question)
        records.append(score(item, answer, time.perf_counter() - started, titles))
    facts = {"source": str(path), "documents_folder": str(folder), **store_facts(report, store_dir, warmup)}
    return records, facts


def report_section(records: Sequence[HotpotRecord], facts: dict, shown: int = 30) -> list[str]:
    """Markdown lines for the report: the pooled corpus, then questions citing no supporting paragraph."""

    missed = [r for r in records if not r.title_recall]
    lines = [
        "",
        "## HotpotQA",
        "",
        f"{facts['documents']} pooled paragraphs ({facts['sentences']} sentences) from `{facts['source']}` in store "
        f"`{facts['store']}`; ingest took {facts['ingest_seconds']} s this run. The extractive answerer answers with "
        "whole source sentences, so exact match is near 0 and token F1 low by design; 'gold answer contained' shows "
        "how often the answer text holds the gold answer.",
    ]
    return lines + missed_table(
        "Questions citing no supporting paragraph",
        missed,
        len(records),
        shown,
        ("id", "question", "gold answer", "answer", "cited titles", "supporting titles"),
        lambda r: f"| {r.id} | {cell(r.question)} | {cell(r.gold_answer)} | {cell(r.answer, 300)} "
        f"| {cell('; '.join(r.cited_titles)) or '—'} | {cell('; '.join(r.supporting_titles))} |",
    )
