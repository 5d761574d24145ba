"""What two things share: "Both Never Cry Wolf and Big Hero 6 were released by what label?",
"What do E. B. White and Dan Masterson have in common?".

One sentence says who released Never Cry Wolf, another who released Big Hero 6, and the answer
is what the two say alike. Each option gets its own retrieval and its own question for the
reader, the question with the pair replaced by the option ("Never Cry Wolf films were released
by what label?"); its evidence is among its best three sentences naming it that clear the
gate. When two short answers, one for each option, agree (one's words hold the other's: "Walt
Disney Pictures" and "Walt Disney Pictures Inc."), the second option's sentence leads with its
own short answer (exact offsets), and the first's rides along as the sentence the answer also rests on (``bridge``). "What do A
and B have in common?" asks for nothing in particular; it is read as nationality, the one
thing two sentences about people or works say alike often enough to check: the shared
nationality word, as the second sentence writes it, is the short answer. Anything less (no
sentence for one option, answers that differ) leaves the ordinary evidence as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.ask.forms.compare import Rerank, Retrieve, answers_agree, read_option
from rag.ask.forms.nationality import nation_spans
from rag.ask.rerank import gate_score
from rag.text import leading_name
from rag.types import Evidence

# "What do E. B. White and Dan Masterson have in common?"
_IN_COMMON = re.compile(r"^what\s+(?:do|did|does)\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s+(?:have|share)\s+in\s+common$", re.IGNORECASE)
# "Both Never Cry Wolf and Big Hero 6 films were released by what label?"
_BOTH_WHAT = re.compile(r"^both\s+(?P<a>.+?)\s+and\s+(?P<rest>.+?\b(?:what|which|who|whom|when|where)\b.*)$", re.IGNORECASE)
CANDIDATES = 3  # sentences per option whose answers may agree


@dataclass(frozen=True)
class Shared:
    """Two ``options`` and what is asked of each (``asked``: the question with ``{}`` where the
    option goes; empty: "what do they have in common", read as nationality)."""

    options: tuple[str, str]
    asked: str = ""

    def question_for(self, option: str) -> str:
        """The reader's question about one option."""
        return self.asked.format(option) if self.asked else f"What nationality is {option}?"


def parse_shared(question: str) -> Shared | None:
    """The question about what two things share that ``question`` asks, or None."""
    text = " ".join(question.strip().rstrip("?").split())
    found = _IN_COMMON.match(text)
    if found:
        return _made(found.group("a"), found.group("b"))
    found = _BOTH_WHAT.match(text)
    if found:
        second, rest = leading_name(found.group("rest"))
        if not second or not rest:
            return None
        return _made(found.group("a"), second, "{} " + rest + "?")
    return None


def _made(first: str, second: str, asked: str = "") -> Shared | None:
    options = tuple(o.strip(" ,\"'“”‘’") for o in (first, second))
    if not all(o[:1].isupper() or o[:1].isdigit() for o in options) or options[0].lower() == options[1].lower():
        return None
    if any(len(o.split()) > 8 for o in options):
        return None
    return Shared(options, asked)  # type: ignore[arg-type]


def shared(question: str, retrieve: Retrieve, rerank: Rerank, threshold: float) -> list[Evidence]:
    """The evidence for a question about what two things share: the second option's sentence
    with the shared answer as its short answer and the first's as its ``bridge``, then the
    first's; empty when ``question`` is no such question or no two answers agree. Each option's
    best ``CANDIDATES`` sentences over ``threshold`` are read; the agreeing pair whose weaker
    sentence is surest wins."""
    asked = parse_shared(question)
    if asked is None:
        return []
    found = []
    for option in asked.options:
        judged = [e for e in read_option(option, asked.question_for(option), retrieve, rerank)[:CANDIDATES] if gate_score(e) >= threshold]
        if not judged:
            return []
        found.append(judged)
    pairs = [(min(gate_score(a), gate_score(b)), a, b) for a in found[0] for b in found[1]]
    for confidence, a, b in sorted(pairs, key=lambda p: -p[0]):
        span = _agreed(asked, a, b)
        if span is not None:
            return [replace(b, answer_span=span, bridge=a.hit, confidence=confidence), a]
    return []


def _agreed(asked: Shared, a: Evidence, b: Evidence) -> tuple[int, int] | None:
    """Document offsets in ``b``'s sentence of what the two sentences say alike, or None."""
    if not asked.asked:  # in common: a nationality both sentences give
        theirs = {nation for nation, _ in nation_spans(a.hit.sentence.text)}
        sentence = b.hit.sentence
        for nation, (start, end) in nation_spans(sentence.text):
            if nation in theirs:
                return sentence.start + start, sentence.start + end
        return None
    return b.answer_span if answers_agree(a, b) else None
