"""Which came first, or which has more: a question that names two things and asks which is
earlier or later, or which has more or fewer of something.

"Who was born first, Erika Jayne or Marco Da Silva?" is answered by no single sentence: one
gives Erika Jayne's birth date, another Marco Da Silva's, and the answer is whichever is
earlier. For such a question each option gets its own retrieval and its own question for the
reader ("When was Erika Jayne born?"); the best sentence that names the option and whose short
answer holds a year is that option's evidence. When both options have one, with different
years, the earlier (or later) option wins: its sentence leads with the option's name as the
short answer (exact offsets, where the sentence names it verbatim), and the other option's
sentence is the one the reading also rests on, so the answer cites both. "Which genus has more
species, Xanthoceras or Ehretia?" is read the same way, with "How many species does Ehretia
have?" and a count (digits, a number word, "single") in place of the year. Only a question
that opens with which, who, what or whose is a comparison ("How long did the talks last, five
hours or six?" is not: "last" is its verb). Anything less (no value for one of them, the same
value, a name the sentence does not spell out) leaves the ordinary evidence as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.ask.forms.base import ParsedForm, Reading, Tools, bridge_text, read_option
from rag.ask.forms.lexicon import alternation, base_verb, unquoted, words_of
from rag.ask.rerank import gate_score
from rag.text import stem, words

_EARLIER = alternation("earlier")
_LATER = alternation("later")
_DIRECTION = re.compile(rf"\b({_EARLIER}|{_LATER})\b", re.IGNORECASE)
_COUNT = re.compile(r"\b(more|most|fewer|fewest)\s+([A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)?)\s*$", re.IGNORECASE)
_BIRTH = re.compile(r"\b(born|older|oldest|younger|youngest)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_AMOUNT = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\b")
CHOICE_MARGIN = 0.2  # how far the chosen option's confidence must lead the other's (set before any measurement)


@dataclass(frozen=True)
class Comparison:
    """Two options; ``measure``, what decides between them (``"year"``: when something
    happened to each; ``"count"``: how many of something each has; ``"choice"``: which one the
    reader finds the question answered for, "Which singer is American, Nick Hexum?"); whether the question wants
    the ``smaller`` value (the earlier year, the fewer things); and what is asked of each."""

    options: tuple[str, str]
    measure: str
    smaller: bool
    asked: str  # "born", "was founded or released", the event as worded ("film was released"), or what is counted

    def question_for(self, option: str) -> str:
        """The reader's question about one option: "When was Erika Jayne born?", "How many
        species does Ehretia have?", "When was Make Mine Music released?"."""
        if self.measure == "choice":
            return f"{self.asked}, {option}?"
        if self.measure == "count":
            return f"How many {self.asked} does {option} have?"
        if self.asked == "born":
            return f"When was {option} born?"
        if self.asked == "was founded or released":
            return f"When was {option} founded or released?"
        return _when(self.asked, option)

    def value(self, short_answer: str) -> int | None:
        """The year or the count in a short answer (None when it holds none)."""
        if self.measure == "year":
            year = _YEAR.search(short_answer)
            return int(year.group(1)) if year else None
        amount = _AMOUNT.search(short_answer)
        if amount:
            return int(amount.group(0).replace(",", ""))
        for word in words(short_answer):
            if word.lower() == "single":
                return 1
            if stem(word).isdigit():  # a number word: "two" stems to "2"
                return int(stem(word))
        return None


def _when(event: str, option: str) -> str:
    """A grammatical when-question about ``option`` from the event as the question words it
    after its wh-word ("film was released" -> "When was X released?", "movie did Disney produce"
    -> "When did Disney produce X?", "battle occurred" -> "When did X occur?")."""
    tokens = event.split()
    aux = next((i for i, t in enumerate(tokens) if t.lower() in _AUXILIARIES), None)
    if aux is not None:
        verb, rest = tokens[aux].lower(), tokens[aux + 1 :]
        if not rest:
            return f"When was {option} founded or released?"
        if verb in ("did", "do", "does") and len(rest) >= 2:  # the option is the object: "did Disney produce"
            return f"When {verb} {' '.join(rest)} {option}?"
        return f"When {verb} {option} {' '.join(rest)}?"
    at = next((i for i, t in enumerate(tokens) if base_verb(t)), None)
    if at is None:
        return f"When was {option} founded or released?"
    return " ".join(["When did", option, base_verb(tokens[at]), *tokens[at + 1 :]]) + "?"


_AUXILIARIES = frozenset(["was", "were", "is", "are", "did", "does", "do", "has", "had", "have"])


def parse_comparison(question: str) -> Comparison | None:
    """The comparison ``question`` asks, or None when it is not "which (who, what, whose) is
    earlier / later, or has more / fewer of something, A or B"."""
    text = question.strip().rstrip("?").strip()
    if " or " not in text:
        return None
    or_at = text.rfind(" or ")
    # The options follow the last comma, colon or "--" before " or "; else the direction word.
    marks = [text.rfind(mark, 0, or_at) + len(mark) for mark in (",", ":", "--") if text.rfind(mark, 0, or_at) >= 0]
    cut = max(marks, default=-1)
    direction = _DIRECTION.search(text, 0, or_at)
    after = [m for m in marks if direction is not None and m > direction.end()]
    if len(after) > 1:  # the first mark after the direction word: "first, Still Kicking: Six Artistic Women or …"
        cut = min(after)
    if cut < 0 or (direction is not None and cut <= direction.start()):
        if direction is None:
            return None
        cut = direction.end()  # "Who was born first Am Rong or Ava DuVernay"
    head, tail = text[:cut].rstrip(",:- "), text[cut:]
    if not head.split()[:1] or head.split()[0].lower() not in words_of("wh_words"):
        return None  # "How long did the talks last, five hours or six?"
    first, _, second = tail.partition(" or ")
    options = tuple(re.sub(r"^(the|a|an) ", "", _option(o), flags=re.IGNORECASE) for o in (first, second))
    if not all(options) or options[0].lower() == options[1].lower():
        return None
    counted = _COUNT.search(head)
    if counted and counted.group(2).split()[0].lower() not in words_of("not_counted"):
        smaller = counted.group(1).lower() in ("fewer", "fewest")
        return Comparison(options, "count", smaller, counted.group(2))  # type: ignore[arg-type]
    direction = _DIRECTION.search(head)
    if direction is None:
        return Comparison(options, "choice", False, head)  # type: ignore[arg-type]
    smaller = re.fullmatch(_EARLIER, direction.group(1), re.IGNORECASE) is not None
    said = _DIRECTION.sub(" ", head).split() or [""]
    if re.search(r"\bborn\b", head, re.IGNORECASE) or (_BIRTH.search(head) and said[0].lower() == "who"):
        asked = "born"
    elif _BIRTH.search(head):  # "Which magazine is older": when each began
        asked = "was founded or released"
    else:
        asked = " ".join(said[1:])
    return Comparison(options, "year", smaller, asked)  # type: ignore[arg-type]


def _option(text: str) -> str:
    return unquoted(text).rstrip(".,")


class ComparisonForm(ParsedForm):
    """The form of "which came first / has more, A or B?" and "which is X, A or B?"."""

    name = "comparison"
    setting = "comparisons"

    def parse(self, question: str) -> Comparison | None:
        return parse_comparison(question)

    def read(self, plan: Comparison, analysis, tools: Tools) -> Reading | None:
        """The winning option's sentence leads (short answer: the option's name), resting on
        the other's; None when the sentences do not settle it. Each option's sentence must
        clear the gate for its own question."""
        if plan.measure == "choice":
            chosen = _chosen(plan, tools)
            if chosen is None:
                return None
            a_wins, a, b = chosen
        else:
            measured = []
            for option in plan.options:
                found = _measured(option, plan, tools)
                if found is None:
                    return None
                measured.append(found)
            (value_a, a), (value_b, b) = measured
            if value_a == value_b:
                return None
            a_wins = (value_a < value_b) == plan.smaller
        (winner, option), loser = ((a, plan.options[0]), b) if a_wins else ((b, plan.options[1]), a)
        span = _name_span(winner.hit.sentence, option)
        if span is None:
            return None
        confidence = gate_score(winner) if plan.measure == "choice" else min(gate_score(winner), gate_score(loser))
        return Reading(self.name, replace(winner, answer_span=span, confidence=confidence), (loser,))


def _name_span(sentence, option: str) -> tuple[int, int] | None:
    """Document offsets of ``option`` in ``sentence``: the whole name, else its last word if
    capitalised and written so ("Nick Hexum" in 'Nicholas Lofton "Nick" Hexum is…'), else None."""
    at = sentence.text.lower().find(option.lower())
    if at >= 0:
        return sentence.start + at, sentence.start + at + len(option)
    last = option.split()[-1]
    # Only a capitalised last word, matched as written: "Hexum", not "treaty" in "The treaty was signed".
    found = re.search(rf"\b{re.escape(last)}\b", sentence.text) if len(last) >= 3 and last[0].isupper() else None
    return (sentence.start + found.start(), sentence.start + found.end()) if found else None


def _chosen(comparison: Comparison, tools: Tools):
    """(whether the first option wins, its evidence, the second's) for a choice: the winner's
    best sentence clears the gate and beats the other option's by ``CHOICE_MARGIN``."""
    best = []
    for option in comparison.options:
        judged = read_option(option, comparison.question_for(option), tools)
        if not judged:
            return None
        best.append(judged[0])
    a, b = best
    if abs(gate_score(a) - gate_score(b)) < CHOICE_MARGIN or max(gate_score(a), gate_score(b)) < tools.gate:
        return None
    return gate_score(a) > gate_score(b), a, b


def _measured(option: str, comparison: Comparison, tools: Tools):
    """(value, evidence) of the best sentence naming ``option`` whose short answer holds the
    year or count compared, over the gate; None when there is none."""
    for evidence in read_option(option, comparison.question_for(option), tools):
        if gate_score(evidence) < tools.gate:
            break
        value = comparison.value(bridge_text(evidence))
        if value is not None:
            return value, evidence
    return None
