"""Scoring one answer of our sets and summarising a set: pure functions over the answer, the
item's gold and the source files (read once), handing plain values to ``evals.metrics``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from evals.metrics import (
    CONFIDENCE_DECIMALS,
    Metric,
    Span,
    abstention_scores,
    alce_citation_quality,
    binary_scores,
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
    token_f1,
)
from evals.records import RANK_CUTOFFS, Cited, PairRecord, QAItem, QARecord
from rag.errors import InputError
from rag.ask.support import check_support
from rag.ask.types import Answer

REPO = Path(__file__).resolve().parents[1]
DOCUMENT_FOLDERS = (REPO / "corpus", REPO.parent / "shared" / "corpus")

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


def lead_relevance(answer: Answer) -> tuple[float | None, float | None]:
    """The reader's relevance of the best evidence and of its strongest rival (the most relevant
    other sentence the reader judged, the sentences a form's reading rests on left out, as the
    strong mark compares them); None where the reader did not judge."""
    ranked = answer.ranked
    if not ranked or ranked[0].relevance is None:
        return None, None
    rests_on = set(answer.rests_on)
    rivals = [e.relevance for e in ranked[1:] if e.relevance is not None and e.hit.sentence.sentence_id not in rests_on]
    return ranked[0].relevance, max(rivals, default=0.0)


def supports(claim: str, evidence: Sequence[str]) -> bool:
    """The offline judge of ALCE citation quality: ``rag.ask.support.check_support``."""
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
    short = "" if answer.abstained else answer.verdict or (answer.short_answer.text if answer.short_answer else "")
    spans_by_label = {c.label: span for c, span in zip(answer.citations, spans)}
    lead, rival = lead_relevance(answer)
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
        lead_relevance=lead,
        rival_relevance=rival,
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
