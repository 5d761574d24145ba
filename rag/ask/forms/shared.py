"""What two things share: "Both Never Cry Wolf and Big Hero 6 were released by what label?",
"What do E. B. White and Dan Masterson have in common?".

One sentence says who released Never Cry Wolf, another who released Big Hero 6, and the answer
is what the two say alike. Each option gets its own retrieval and its own question for the
reader, the question with the pair replaced by the option ("Never Cry Wolf films were released
by what label?"); its evidence is among its best three sentences naming it that clear the
gate. When two short answers, one for each option, agree (one's words hold the other's: "Walt
Disney Pictures" and "Walt Disney Pictures Inc."), the second option's sentence leads with its
own short answer (exact offsets), resting on the first's. "What do A and B have in common?"
asks for nothing in particular; between two people ("E. B. White and Dan Masterson": names
of two words or more) it is read as nationality, the one thing two sentences about people say
alike often enough to check: the shared nationality word, as the second sentence writes it,
is the short answer. Between other things ("What do Russia and Ukraine have in common?") it is
no form: the ordinary answer stands. The question about each option keeps its verb in the
singular ("Both A and B are located in which city?" asks "A is located in which city?").
Anything less (no sentence for one option, answers that differ) leaves the ordinary evidence
as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.ask.forms.base import ParsedForm, Reading, Tools, answers_agree, read_option
from rag.ask.forms.lexicon import base_verb, is_name, leading_name, nation_spans, unquoted
from rag.ask.rerank import gate_score
from rag.ask.types import Evidence

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
        made = _made(found.group("a"), found.group("b"))
        # Nationality is what two people share; a country's, a treaty's is no question to read so.
        return made if made is not None and all(len(o.split()) >= 2 for o in made.options) else None
    found = _BOTH_WHAT.match(text)
    if found:
        second, rest = leading_name(found.group("rest"))
        if not second or not rest:
            return None
        verb, _, after = rest.partition(" ")
        return _made(found.group("a"), second, "{} " + f"{_singular(verb)} {after}".strip() + "?")
    return None


_SINGULAR = {"are": "is", "were": "was", "have": "has", "do": "does"}
_MODALS = frozenset("can could will would should must may might shall".split())


def _singular(verb: str) -> str:
    """The verb after one option instead of two: "are" -> "is", "perform" -> "performs"; a past
    tense, a modal or a plural noun ("films were released") as it is."""
    lowered = verb.lower()
    if lowered in _SINGULAR:
        return _SINGULAR[lowered]
    if not verb.isalpha() or not verb.islower() or lowered in _MODALS or lowered.endswith(("s", "ed")) or base_verb(verb):
        return verb
    return verb + ("es" if lowered.endswith(("sh", "ch", "x", "o")) else "s")


def _made(first: str, second: str, asked: str = "") -> Shared | None:
    options = tuple(re.sub(r"^(the|a|an)\s+", "", unquoted(o.strip(" ,")), flags=re.IGNORECASE) for o in (first, second))
    if not all(is_name(o) for o in options) or options[0].lower() == options[1].lower():
        return None
    return Shared(options, asked)  # type: ignore[arg-type]


class SharedForm(ParsedForm):
    """The form of "both A and B … what?" and "what do A and B have in common?"."""

    name = "shared"
    setting = "in_common"

    def parse(self, question: str) -> Shared | None:
        return parse_shared(question)

    def read(self, plan: Shared, analysis, tools: Tools) -> Reading | None:
        """The second option's sentence leads with the shared answer as its short answer,
        resting on the first's; None when no two answers agree. Each option's best
        ``CANDIDATES`` sentences over the gate are read; the agreeing pair whose weaker sentence
        is surest wins."""
        found = []
        for option in plan.options:
            judged = [e for e in read_option(option, plan.question_for(option), tools)[:CANDIDATES] if gate_score(e) >= tools.gate]
            if not judged:
                return None
            found.append(judged)
        pairs = [(min(gate_score(a), gate_score(b)), a, b) for a in found[0] for b in found[1]]
        for confidence, a, b in sorted(pairs, key=lambda p: -p[0]):
            span = _agreed(plan, a, b)
            if span is not None:
                return Reading(self.name, replace(b, answer_span=span, confidence=confidence), (a,))
        return None


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
