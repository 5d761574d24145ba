"""Reranking: retrieved sentences -> evidence ordered by how well each answers the question.

A ``Reranker`` has one method, ``rerank``. ``FeatureReranker`` weighs dense similarity and
word coverage by hand-tuned weights; ``ReaderReranker`` asks the reader we trained
(``rag.models.reader``) whether each sentence answers the question and where its short answer is;
``CombinedReranker`` blends the two.
The abstention gate compares the best evidence's ``gate_score`` with the threshold of the
reranker that produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from rag.text import content_terms, names
from rag.ask.types import Evidence, Hit

MIN_ANSWER_WORDS = 4
# Evidence score weights, chosen on evals/ (gold sentence ranked first on 65 % of answerable
# questions instead of 61 % with 0.4/0.3/0.15/0.15; see docs/experiments.md, "Abstention threshold").
W_SIMILARITY, W_COVERAGE, W_FOCUS, W_NAMES = 0.43, 0.36, 0.105, 0.105

Idf = Callable[[str], float]


class Reranker(Protocol):
    """Scores retrieved sentences for a question; returns them best first."""

    name: str

    def rerank(self, question: str, query: str, hits: Sequence[Hit], idf: Idf) -> list[Evidence]:
        """``question`` as asked, ``query`` as retrieved (a follow-up carries its topic), ``idf``
        the lexical index's term weights."""


def gate_score(evidence: Evidence) -> float:
    """What the abstention gate compares with its threshold, and the answer's confidence: the
    evidence's ``confidence`` where its reranker set one, else its score."""
    return evidence.confidence if evidence.confidence is not None else evidence.score


def answer_like(hits: Sequence[Hit]) -> list[Hit]:
    """The hits that can answer: headings and list stubs ("Article 5") are context, not answers."""
    return [h for h in hits if len(h.sentence.text.split()) >= MIN_ANSWER_WORDS]


class FeatureReranker:
    """Dense similarity, IDF-weighted term coverage and name coverage, weighted by hand.

    ``coverage`` counts the retrieval query's terms in the sentence with its context;
    ``focus`` counts the terms of the question itself (without a follow-up's borrowed topic)
    in the sentence alone, so the sentence that answers what was asked wins.
    """

    name = "features"

    def rerank(self, question: str, query: str, hits: Sequence[Hit], idf: Idf) -> list[Evidence]:
        query_terms = set(content_terms(query))
        asked_terms = set(content_terms(question or query)) or query_terms
        query_names = names(query)
        total = _idf_sum(query_terms, idf) or 1.0
        asked_total = _idf_sum(asked_terms, idf) or 1.0
        scored = []
        for hit in hits:
            own = set(content_terms(hit.sentence.text))
            window = own | set(content_terms(f"{hit.title} {hit.section} {hit.context}"))
            coverage = _idf_sum(query_terms & window, idf) / total
            focus = _idf_sum(asked_terms & own, idf) / asked_total
            window_names = names(f"{hit.title} {hit.context} {hit.sentence.text}") | window
            name_coverage = len(query_names & window_names) / len(query_names) if query_names else 1.0
            score = (
                W_SIMILARITY * hit.dense_similarity
                + W_COVERAGE * coverage
                + W_FOCUS * focus
                + W_NAMES * name_coverage
            )
            scored.append(Evidence(hit, score))
        return sorted(scored, key=lambda e: (-e.score, e.hit.sentence.sentence_id))


def best_by_features(question: str, query: str, hits: Sequence[Hit], idf: Idf, k: int) -> list[Hit]:
    """The ``k`` hits the feature scorer ranks best (in that order): what a second hop hands
    the reader, so that five bridges cost the reader 5 × ``k`` pairs, not 5 × ``rerank_k``."""
    return [e.hit for e in FeatureReranker().rerank(question, query, hits, idf)[:k]]


def _idf_sum(terms: set[str], idf: Idf) -> float:
    """Sum in sorted order, so the float result never depends on the process's hash seed."""
    return sum(idf(t) for t in sorted(terms))


class ReaderReranker:
    """The trained reader's relevance (a probability) for ``k`` retrieved sentences, and the
    short answer inside each of the best ones (document offsets). With ``preselect`` the ``k``
    are the best by the feature score (a cheap first pass over every retrieved sentence),
    else the first ``k`` in fused retrieval order."""

    name = "reader"

    def __init__(self, reader, k: int = 20, preselect: FeatureReranker | None = None):
        self.reader = reader
        self.k = k
        self.preselect = preselect

    def rerank(self, question: str, query: str, hits: Sequence[Hit], idf: Idf) -> list[Evidence]:
        if self.preselect is not None:
            hits = [e.hit for e in self.preselect.rerank(question, query, hits, idf)]
        return self.judge(question, hits[: self.k])

    def judge(self, question: str, hits: Sequence[Hit]) -> list[Evidence]:
        """The reader's evidence for exactly these hits, best first."""
        return sorted(self.judge_in_order(question, hits), key=lambda e: (-e.score, e.hit.sentence.sentence_id))

    def judge_in_order(self, question: str, hits: Sequence[Hit], spans_for: int | None = None) -> list[Evidence]:
        """The reader's evidence for exactly these hits, in their order. The reader reads the
        question as asked, not the retrieval query a follow-up was condensed into: each
        candidate's own context (title, previous sentence) says who "he" is, and the borrowed
        topic made it refuse a third of the follow-ups in rag eval (0.316 -> 0.053)."""
        from rag.models.reader import Candidate

        candidates = [Candidate(h.sentence.text, h.title, h.context, h.section) for h in hits]
        evidence = []
        spans = {} if spans_for is None else {"spans_for": spans_for}
        for hit, judgement in zip(hits, self.reader.judge(question, candidates, **spans)):
            span = None
            if judgement.span is not None and judgement.span[1] > judgement.span[0]:
                span = (hit.sentence.start + judgement.span[0], hit.sentence.start + judgement.span[1])
            evidence.append(Evidence(hit, judgement.relevance, span, judgement.relevance))
        return evidence


class CombinedReranker:
    """The hand-tuned feature score over every retrieved sentence, then the reader over the
    ``k`` best of them, blended: ``weight * relevance + (1 - weight) * features`` orders the
    evidence, ``gate_weight * relevance + (1 - gate_weight) * features`` is its confidence
    (the gate leans more on the reader than the order does: in rag eval that separated
    answerable from unanswerable questions best); the reader's short answer is kept.

    The reader judges the best by features ``first`` at a time, and stops where no later one
    could lead: a sentence's blended score is at most ``weight + (1 - weight) * features``
    (relevance is at most 1), so once the best blended score reaches that bound for the next
    sentence by features, no later one can overtake it. The lead and its confidence are then
    what judging all ``k`` gives. Short answers are kept for the ``SPANS_FOR`` most relevant of
    the sentences judged, so the lead has the short answer judging all gives it, or one where
    that gave none (more relevant sentences went unjudged). The sentences left unjudged follow, scored
    by their share of features alone (their least possible blend), with no relevance, so none
    of them is cited beside the lead (a further sentence needs a blend of at least
    ``reader_extra_threshold``).
    """

    name = "combined"

    def __init__(
        self,
        reader,
        features: FeatureReranker,
        k: int = 20,
        weight: float = 0.4,
        gate_weight: float = 0.8,
        first: int | None = None,
    ):
        self.reader = ReaderReranker(reader, k)
        self.features = features
        self.k = k
        self.weight = weight
        self.gate_weight = gate_weight
        self.first = k if first is None else max(1, first)

    def rerank(self, question: str, query: str, hits: Sequence[Hit], idf: Idf) -> list[Evidence]:
        by_features = self.features.rerank(question, query, hits, idf)[: self.k]
        blended: list[Evidence] = []
        judged = 0
        while judged < len(by_features):
            batch = by_features[judged : judged + self.first]
            for e, found in zip(batch, self.reader.judge_in_order(question, [e.hit for e in batch])):
                score = self.weight * found.score + (1 - self.weight) * e.score
                confidence = self.gate_weight * found.score + (1 - self.gate_weight) * e.score
                blended.append(Evidence(e.hit, score, found.answer_span, found.score, confidence=confidence))
            judged += len(batch)
            if judged < len(by_features):
                bound = self.weight + (1 - self.weight) * by_features[judged].score
                if max(e.score for e in blended) >= bound:
                    break
        if judged > self.first:  # short answers for the best SPANS_FOR of all judged, as one batch gives them
            from rag.models.reader import SPANS_FOR

            spanned = {e.hit.sentence.sentence_id for e in sorted(blended, key=lambda e: -e.relevance)[:SPANS_FOR]}
            blended = [e if e.hit.sentence.sentence_id in spanned else replace(e, answer_span=None) for e in blended]
        for e in by_features[judged:]:
            blended.append(Evidence(e.hit, (1 - self.weight) * e.score, confidence=(1 - self.gate_weight) * e.score))
        return sorted(blended, key=lambda e: (-e.score, e.hit.sentence.sentence_id))


def judge_each(reranker, question: str, hits: Sequence[Hit]) -> list[Evidence]:
    """Each of ``hits`` judged by the reranker's reader, in their order, every one with its short
    answer; [] for a reranker without a reader (the feature scorer's scores say too little)."""
    reader = reranker if isinstance(reranker, ReaderReranker) else getattr(reranker, "reader", None)
    if not isinstance(reader, ReaderReranker) or not hits:
        return []
    return reader.judge_in_order(question, hits, spans_for=len(hits))
