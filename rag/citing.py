"""Citing: a draft becomes an answer with numbered ``[n]`` citations; and the abstention answer.

Labels are numbered in order of first use; each points at one source sentence by document and
exact character offsets.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.types import Answer, AnswerSentence, Citation, Draft, Hit

ABSTAIN_TEXT = "The documents do not say."
CLOSEST_EVIDENCE = 10


def cite(question: str, query: str, draft: Draft, hits: Sequence[Hit], confidence: float, answerer: str) -> Answer:
    """Number the cited hits in order of first use and attach ``[n]`` markers to each sentence."""
    labels: dict[str, int] = {}
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    for drafted in draft.sentences:
        numbers = []
        for hit in drafted.cited:
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
        sentences.append(AnswerSentence(text=drafted.text, citations=tuple(numbers)))
    return Answer(
        question=question,
        answer=render(sentences),
        abstained=False,
        sentences=tuple(sentences),
        citations=tuple(citations),
        evidence=tuple(hits),
        retrieval_query=query,
        confidence=confidence,
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
    question: str, query: str, closest: Sequence[Hit], confidence: float, note: str = "", answerer: str = "extractive"
) -> Answer:
    """The plain "do not say" answer; the closest passages stay available as evidence."""
    text = ABSTAIN_TEXT if not note else f"{ABSTAIN_TEXT} ({note})"
    return Answer(
        question=question,
        answer=text,
        abstained=True,
        sentences=(AnswerSentence(text=text, citations=(), supported=False, reason="abstained"),),
        citations=(),
        evidence=tuple(closest[:CLOSEST_EVIDENCE]),
        retrieval_query=query,
        confidence=confidence,
        answerer=answerer,
    )
