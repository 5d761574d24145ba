"""Answerers: from retrieved sentences to an answer whose every sentence cites its sources.

An answerer implements one method, ``compose``, returning a ``Draft`` (answer sentences, each
with the hits it rests on, or an abstention). ``Answerer.answer`` turns a draft into an
``Answer`` with numbered citations; verification happens afterwards in ``rag.verify``.
Abstention is decided here from evidence scores, never left to a model's goodwill.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.chunking import normalize_space
from rag.text import content_terms, names
from rag.types import Answer, AnswerSentence, Citation, Hit

ABSTAIN_TEXT = "The documents do not say."
MIN_ANSWER_WORDS = 4
CLOSEST_EVIDENCE = 10
# Evidence score weights, chosen on evals/ (gold sentence ranked first on 65 % of answerable
# questions instead of 61 % with 0.4/0.3/0.15/0.15; see README "Abstention threshold").
W_SIMILARITY, W_COVERAGE, W_FOCUS, W_NAMES = 0.43, 0.36, 0.105, 0.105

Idf = Callable[[str], float]
OnToken = Callable[[str], None]


@dataclass(frozen=True)
class Evidence:
    """A hit and how well it answers the question (0..1-ish, higher is better)."""

    hit: Hit
    confidence: float
    coverage: float
    focus: float
    name_coverage: float


@dataclass(frozen=True)
class Draft:
    """An answer before labels: each sentence with the hits it cites; empty when abstaining."""

    sentences: tuple[tuple[str, tuple[Hit, ...]], ...]
    abstained: bool
    confidence: float
    note: str = ""


def score_evidence(query: str, hits: Sequence[Hit], idf: Idf, question: str | None = None) -> list[Evidence]:
    """Score each hit by dense similarity, IDF-weighted term coverage and name coverage.

    ``coverage`` counts the retrieval query's terms in the sentence with its context;
    ``focus`` counts the terms of the question itself (without a follow-up's borrowed topic)
    in the sentence alone, so the sentence that answers what was asked wins.
    """
    query_terms = set(content_terms(query))
    asked_terms = set(content_terms(question or query)) or query_terms
    query_names = names(query)
    total = _idf_sum(query_terms, idf) or 1.0
    asked_total = _idf_sum(asked_terms, idf) or 1.0
    scored = []
    for hit in hits:
        own = set(content_terms(hit.sentence.text))
        window = own | set(content_terms(f"{hit.title} {hit.context}"))
        coverage = _idf_sum(query_terms & window, idf) / total
        focus = _idf_sum(asked_terms & own, idf) / asked_total
        window_names = names(f"{hit.title} {hit.context} {hit.sentence.text}") | window
        name_coverage = len(query_names & window_names) / len(query_names) if query_names else 1.0
        confidence = (
            W_SIMILARITY * hit.dense_similarity
            + W_COVERAGE * coverage
            + W_FOCUS * focus
            + W_NAMES * name_coverage
        )
        scored.append(Evidence(hit, confidence, coverage, focus, name_coverage))
    return sorted(scored, key=lambda e: (-e.confidence, e.hit.sentence.sentence_id))


def _idf_sum(terms: set[str], idf: Idf) -> float:
    """Sum in sorted order, so the float result never depends on the process's hash seed."""
    return sum(idf(t) for t in sorted(terms))


class Answerer(ABC):
    """A way of answering from evidence; subclasses implement ``compose`` only."""

    name = "answerer"

    def __init__(self, threshold: float, max_sentences: int = 3, checker=None):
        from rag.verify import SupportChecker

        self.threshold = threshold
        self.max_sentences = max_sentences
        self.checker = checker or SupportChecker()  # how rag.verify judges this answerer's sentences

    @abstractmethod
    def compose(self, question: str, evidence: Sequence[Evidence], on_token: OnToken | None = None) -> Draft:
        """Write the answer from evidence that already passed the abstention gate.

        ``on_token`` receives text as it is generated (answerers that generate stream to it).
        """

    def answer(
        self, question: str, query: str, hits: Sequence[Hit], idf: Idf, on_token: OnToken | None = None
    ) -> Answer:
        """Score evidence, abstain when it is too weak, else compose and number the citations."""
        evidence = [e for e in score_evidence(query, hits, idf, question) if _is_answer_like(e.hit)]
        best = evidence[0].confidence if evidence else 0.0
        if best < self.threshold:
            return abstention(question, query, hits, best, answerer=self.name)
        draft = self.compose(question, evidence, on_token)
        if draft.abstained or not draft.sentences:
            return abstention(question, query, hits, best, draft.note, self.name)
        return label(question, query, draft, hits, self.name)


class ExtractiveAnswerer(Answerer):
    """Answers with the best source sentences themselves, each citing itself.

    The best sentence always; further ones only when nearly as good and they add a query
    term that neither the answer nor the best sentence's context covers.
    """

    name = "extractive"

    def compose(self, question: str, evidence: Sequence[Evidence], on_token: OnToken | None = None) -> Draft:
        best = evidence[0]
        chosen = [best]
        # What the best sentence's context already says (e.g. who "He" is) needs no second citation.
        covered = set(content_terms(f"{best.hit.title} {best.hit.context} {best.hit.sentence.text}"))
        query_terms = set(content_terms(question))
        for candidate in evidence[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if candidate.confidence < max(self.threshold, best.confidence - 0.05):
                break
            own = set(content_terms(candidate.hit.sentence.text))
            if (own & query_terms) - covered:
                chosen.append(candidate)
                covered |= own
        chosen.sort(key=lambda e: (e.hit.path, e.hit.sentence.start))
        sentences = tuple((normalize_space(e.hit.sentence.text), (e.hit,)) for e in chosen)
        return Draft(sentences=sentences, abstained=False, confidence=best.confidence)


def _is_answer_like(hit: Hit) -> bool:
    """Headings and list stubs ("Article 5") are context, not answers."""
    return len(hit.sentence.text.split()) >= MIN_ANSWER_WORDS


def label(question: str, query: str, draft: Draft, hits: Sequence[Hit], answerer: str) -> Answer:
    """Number the cited hits in order of first use and attach ``[n]`` markers to each sentence."""
    labels: dict[str, int] = {}
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    for text, cited in draft.sentences:
        numbers = []
        for hit in cited:
            sid = hit.sentence.sentence_id
            if sid not in labels:
                labels[sid] = len(labels) + 1
                citations.append(
                    Citation(
                        label=labels[sid],
                        sentence_id=sid,
                        doc_id=hit.sentence.doc_id,
                        path=hit.path,
                        title=hit.title,
                        start=hit.sentence.start,
                        end=hit.sentence.end,
                        quote=hit.sentence.text,
                    )
                )
            numbers.append(labels[sid])
        sentences.append(AnswerSentence(text=text, citations=tuple(numbers)))
    return Answer(
        question=question,
        answer=render(sentences),
        abstained=False,
        sentences=tuple(sentences),
        citations=tuple(citations),
        evidence=tuple(hits),
        retrieval_query=query,
        confidence=draft.confidence,
        answerer=answerer,
    )


def render(sentences: Sequence[AnswerSentence]) -> str:
    """The answer text: each sentence followed by its ``[n]`` markers."""
    parts = []
    for sentence in sentences:
        markers = "".join(f"[{n}]" for n in sentence.citations)
        parts.append(f"{sentence.text} {markers}".strip())
    return " ".join(parts)


def abstention(
    question: str, query: str, hits: Sequence[Hit], confidence: float, note: str = "", answerer: str = "extractive"
) -> Answer:
    """The plain "do not say" answer; the nearest passages stay available as closest evidence."""
    text = ABSTAIN_TEXT if not note else f"{ABSTAIN_TEXT} ({note})"
    return Answer(
        question=question,
        answer=text,
        abstained=True,
        sentences=(AnswerSentence(text=text, citations=(), supported=False, reason="abstained"),),
        citations=(),
        evidence=tuple([h for h in hits if _is_answer_like(h)][:CLOSEST_EVIDENCE]),
        retrieval_query=query,
        confidence=confidence,
        answerer=answerer,
    )
