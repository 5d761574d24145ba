"""Citing: a draft becomes an answer with numbered ``[n]`` citations; and the abstention answer.

Labels are numbered in order of first use; each points at one source sentence by document and
exact character offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.ask.types import PARTIAL_PREFIX, Answer, AnswerSentence, Citation, Draft, Evidence, Hit, ShortAnswer

ABSTAIN_TEXT = "The documents do not say."
SCOPED_ABSTAIN_TEXT = "The chosen documents do not say."
CLOSEST_EVIDENCE = 10

if TYPE_CHECKING:
    from rag.ask.forms.base import Reading


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
                        page=hit.page,
                        section=hit.section,
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


def render(sentences: Sequence[AnswerSentence], partial: bool = False) -> str:
    """The answer text: each sentence followed by its ``[n]`` markers (after the partial-answer
    preface when the evidence only comes close)."""
    parts = [PARTIAL_PREFIX] if partial else []
    for sentence in sentences:
        markers = "".join(f"[{n}]" for n in sentence.citations)
        parts.append(f"{sentence.text} {markers}".strip())
    return " ".join(parts)


def abstention(
    question: str,
    query: str,
    closest: Sequence[Hit],
    confidence: float,
    note: str = "",
    answerer: str = "extractive",
    scoped: bool = False,
) -> Answer:
    """The plain "do not say" answer ("the chosen documents" when the question was ``scoped``);
    the closest passages stay available as evidence."""
    said = SCOPED_ABSTAIN_TEXT if scoped else ABSTAIN_TEXT
    text = said if not note else f"{said} ({note})"
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


def short_answer(answer: Answer, best: Evidence) -> ShortAnswer | None:
    """The short answer inside the best evidence, when that sentence is cited and verified."""
    if best.answer_span is None or answer.abstained:
        return None
    sentence = best.hit.sentence
    citation = next((c for c in answer.citations if c.sentence_id == sentence.sentence_id and c.verified), None)
    start, end = best.answer_span
    if citation is None or not sentence.start <= start < end <= sentence.end:
        return None
    text = sentence.text[start - sentence.start : end - sentence.start]
    return ShortAnswer(text=text, label=citation.label, path=citation.path, start=start, end=end)


def short_answers(answer: Answer, items: Sequence[Evidence]) -> tuple[ShortAnswer, ...]:
    """The short answer inside each of ``items`` (a list answer's sentences, in document order)
    whose sentence is cited and verified."""
    found = (short_answer(answer, item) for item in items)
    return tuple(s for s in found if s is not None)


def with_strength(
    answer: Answer,
    evidence: Sequence[Evidence],
    strong: float,
    margin: float = 0.0,
    together: frozenset[str] = frozenset(),
    unmarked: set[str] | frozenset[str] = frozenset(),
) -> Answer:
    """Each sentence's score (the reader's relevance of its best cited sentence) and strength:
    ``strong`` when that relevance is at least ``strong`` and leads every other sentence the
    reader judged by at least ``margin`` (a rival nearly as relevant means the reader cannot
    tell which one answers: on held-out SQuAD dev such strong leads were right 77 % of the
    time, against 98 % for the others), else ``partial``; a partial best sentence makes the
    answer partial, and its text says so. Evidence the reader did not judge earns no mark, nor
    do the sentences a form's reading rests on (``unmarked``: the bridge of a two-hop answer, a
    comparison's other option): they lead to the answer without answering themselves. The
    sentences of one list answer (``together``: their ids) are not each other's rivals."""
    relevance = {
        e.hit.sentence.sentence_id: e.relevance
        for e in evidence
        if e.relevance is not None and e.hit.sentence.sentence_id not in unmarked
    }

    def strength(sentence_id: str) -> str:
        score = relevance[sentence_id]
        others = together - {sentence_id} if sentence_id in together else set()
        rival = max((r for other, r in relevance.items() if other != sentence_id and other not in others), default=0.0)
        return "strong" if score >= strong and score - rival >= margin else "partial"

    by_label = {c.label: c.sentence_id for c in answer.citations if c.sentence_id in relevance}
    sentences = []
    for sentence in answer.sentences:
        known = [by_label[n] for n in sentence.citations if n in by_label]
        best_cited = max(known, key=lambda i: relevance[i]) if known else None
        if best_cited is None:
            sentences.append(replace(sentence, score=None, strength=""))
        else:
            sentences.append(replace(sentence, score=relevance[best_cited], strength=strength(best_cited)))
    lead = evidence[0].hit.sentence.sentence_id if evidence else None
    partial = lead in relevance and strength(lead) == "partial"
    return replace(answer, sentences=tuple(sentences), partial=partial, answer=render(sentences, partial))


def with_verdict(answer: Answer, reading: Reading | None) -> Answer:
    """The answer with the verdict of a form's ``reading`` (``rag.ask.forms.verdicts``), when
    every sentence it rests on is cited and verified and the answer says nothing but those
    quotes (words an LLM wrote could say otherwise); else ``answer`` as it is. The text leads
    with it: "Yes: …", or for a partial answer "The closest the documents come (probably no): …"."""
    if reading is None or reading.verdict is None or not reading.rests_on or answer.abstained:
        return answer
    if not answer.sentences or not all(s.verbatim for s in answer.sentences):
        return answer
    verified = {c.sentence_id for c in answer.citations if c.verified}
    if not reading.ids() <= verified:
        return answer
    return _led_by_verdict(answer, reading.verdict)


def _led_by_verdict(answer: Answer, said: str) -> Answer:
    """``answer`` carrying the verdict ``said``, its text led by it ("Yes: …", or for a partial
    answer "The closest the documents come (probably no): …"); a verdict is no span of a file."""
    body = render(answer.sentences)
    text = f"{PARTIAL_PREFIX[:-1]} (probably {said}): {body}" if answer.partial else f"{said.capitalize()}: {body}"
    return replace(answer, verdict=said, short_answer=None, short_answers=(), answer=text)


def with_one_thing_verdict(answer: Answer, best: Evidence, question: str) -> Answer:
    """The answer with a yes or a no to a question about one thing (``rag.models.yesno``) drawn from
    ``best``'s sentence, when that sentence is cited and verified, the answer says nothing but
    quotes and the model is sure; else ``answer`` as it is (a two-thing verdict stays)."""
    from rag.models.yesno import verdict

    if answer.verdict or answer.abstained or not answer.sentences or not all(s.verbatim for s in answer.sentences):
        return answer
    verified = {c.sentence_id for c in answer.citations if c.verified}
    if best.hit.sentence.sentence_id not in verified:
        return answer
    said = verdict(question, best.hit.sentence.text)
    return answer if said is None else _led_by_verdict(answer, said)
