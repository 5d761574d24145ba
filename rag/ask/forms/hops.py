"""Two-hop reading: when no retrieved sentence answers on its own, follow a bridge.

"Where is the publisher of Grace Krilanovich's first novel based?" is answered by two
sentences: one names the publisher ("... was published by Two Dollar Radio"), the other says
where Two Dollar Radio is based, and that one shares almost no words with the question. When
the best evidence of the first retrieval is under the gate, the short answers the reader found
in the best ``bridges`` sentences are followed: each starts a second retrieval (the bridge's
short answer, then the query), and the reader judges every new sentence with the bridge
sentence as its context (where it normally sees the previous sentence). The best chain whose
answer sentence clears ``threshold`` (stricter than the gate: the bridge as context makes the
reader more easily convinced) is the reading: it leads, resting on its bridge, and the answer
cites both sentences. Otherwise the first retrieval's evidence stands (and the gate abstains).

A second hop also runs when the best evidence clears the gate but its short answer is not of
the kind asked for (:func:`answers_in_kind`): no number where a date, count or amount is asked,
or a title in quotation marks where a person is ("Who directed the film…"). So "When was the
company founded for which Kathi-Anne Reinstein resigned to be a lobbyist?" over "She resigned
to become a lobbyist for Boston Beer Company." (relevance 0.95) reads on. Then that sentence
is the one bridge, followed with its own question (:func:`hop_question`: what the bridge
sentence leaves unsaid, about what it names), and only a chain whose answer is of the kind
asked for can lead.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rag.ask.forms.base import Describe, Reading, Tools, bridge_text
from rag.ask.forms.lexicon import QUOTES, alternation, words_of
from rag.ask.rerank import gate_score
from rag.text import asks_for_number, holds_number, stem, words
from rag.ask.types import Evidence

WHO_QUESTION = re.compile(r"^\s*who\b|\bby whom\b", re.IGNORECASE)
# "In what city…", "based in what state": a question asking for a place of a given kind.
PLACE_QUESTION = re.compile(rf"\b(?:what|which)\s+(?:[A-Za-z]+\s+)?({alternation('place_nouns')})\b", re.IGNORECASE)


def answers_in_kind(question: str, evidence: Evidence, describe: Describe | None = None) -> bool:
    """Whether the short answer of ``evidence`` is of the kind ``question`` asks for, as far as
    words can tell: where a date, count or amount is asked for, it holds a number, a number
    word, a month or a day ("Monday" answers "When do the talks resume?"); where a person is
    asked for ("Who directed…"), it is not a title in quotation marks (the film, the song:
    'made his big screen debut in "Love Forecast"'). Other answers pass."""
    answer = bridge_text(evidence)
    if asks_for_number(question):
        return holds_number(answer)
    place = PLACE_QUESTION.search(question)
    if place and describe is not None and answer:
        # The title of a document that does not call itself a city where a city is asked for
        # ("Australian National University", "Philadelphia Eagles"): what leads to the answer.
        opening = describe(answer)
        if opening is not None:
            return stem(place.group(1)) in {stem(w) for w in words(opening)}
    if WHO_QUESTION.search(question) and evidence.answer_span is not None:
        return not _quoted(evidence)
    return True


def _quoted(evidence: Evidence) -> bool:
    """Whether the short answer stands inside quotation marks in its sentence."""
    sentence = evidence.hit.sentence
    start, end = (offset - sentence.start for offset in evidence.answer_span)
    text = sentence.text
    before = text[:start].rstrip()[-1:]
    after = text[end:].lstrip(".,")[:1]
    return bool(before) and before in QUOTES and bool(after) and after in QUOTES


def names_something(text: str) -> bool:
    """Whether ``text`` names something a second hop can follow: a word that is capitalised or
    not a number or date word ("Boston Beer Company", "Super Bowl 50"), not "2005", "in 1979"
    or "September 2010"."""
    filler = words_of("hop_filler")
    return any(
        not holds_number(w) and not re.fullmatch(r"\d+(s|th|st|nd|rd)", w) and (w[:1].isupper() or w.lower() not in filler)
        for w in words(text)
    )


def hop_question(question: str, bridge: Evidence) -> str:
    """The question for a second hop: the words of ``question`` that the bridge sentence (with
    its title) does not already say, then the bridge's short answer. "When was the company
    founded for which Kathi-Anne Reinstein resigned to be a lobbyist?" over the bridge "She
    resigned to become a lobbyist for Boston Beer Company." asks "When was the founded which be
    Boston Beer Company": what is left to find, about what the bridge names."""
    said = {stem(w) for w in words(f"{bridge.hit.title} {bridge.hit.sentence.text}")}
    left = [w for w in words(question) if stem(w) not in said]
    return " ".join([*left, bridge_text(bridge)])


class BridgeForm:
    """A second hop, for any question, when the best evidence is under the gate or its short
    answer is not of the kind asked for (the plan: whether it is out of kind, decided when read)."""

    name = "bridge"

    def parse(self, question: str) -> None:
        return None  # no form of its own: every question is a bridge candidate

    def plan(self, analysis, settings) -> bool | None:
        return True if settings.bridges else None

    def read(self, plan, analysis, tools: Tools) -> Reading | None:
        evidence = tools.evidence
        if not evidence:
            return None
        under_gate = gate_score(evidence[0]) < tools.gate
        out_of_kind = not under_gate and not answers_in_kind(analysis.question, evidence[0], tools.describe)
        if not (under_gate or out_of_kind):
            return None
        return follow_bridges(analysis.question, tools, in_kind=out_of_kind)


def follow_bridges(question: str, tools: Tools, in_kind: bool = False) -> Reading | None:
    """The best two-hop chain over ``tools.evidence`` whose answer clears the bridge threshold
    (leading, resting on its bridge), or None when no chain does. The retrieval of each hop
    adds the bridge's short answer to ``tools.query``; the reader reads ``question`` as asked,
    the bridge sentence as context. With ``in_kind`` (the first hop's answer is not of the kind
    asked for), only the best evidence is followed, with its own question
    (:func:`hop_question`, judged in each sentence's own context), and a chain counts only if
    its answer is of the kind asked for."""
    query = tools.query or question
    best: tuple[float, Evidence, Evidence] | None = None
    followed_already = set()
    # The first hop's best answer is out of kind: the sentence it came from is the bridge.
    for bridge in tools.evidence[: 1 if in_kind else tools.bridges]:
        followed = bridge_text(bridge)
        # A short answer the query already names leads nowhere new; one already followed, nowhere
        # else; a date or a number is no thing with facts of its own to follow.
        lowered = followed.lower()
        if not followed or lowered in query.lower() or lowered in followed_already or not names_something(followed):
            continue
        followed_already.add(lowered)
        bridge_id = bridge.hit.sentence.sentence_id
        second = hop_question(query, bridge) if in_kind else f"{followed} {query}"
        hits = [h for h in tools.retrieve(second) if h.sentence.sentence_id != bridge_id]
        if not hits:
            continue
        originals = {h.sentence.sentence_id: h for h in hits}
        if in_kind:  # the reader reads the hop question, each sentence in its own context
            judged = [e for e in tools.judge(second, second, tools.narrow(second, second, hits)) if answers_in_kind(question, e, tools.describe)]
        else:  # the reader reads the question as asked, the bridge sentence as context
            with_context = [replace(h, context=bridge.hit.sentence.text) for h in hits]
            judged = tools.judge(question, second, tools.narrow(question, second, with_context))
        if not judged:
            continue
        top = judged[0]
        confidence = gate_score(top)
        if confidence >= tools.bridge_threshold and (best is None or confidence > best[0]):
            best = (confidence, replace(top, hit=originals[top.hit.sentence.sentence_id]), bridge)
    if best is None:
        return None
    _, answer, bridge = best
    return Reading("bridge", answer, (bridge,))
