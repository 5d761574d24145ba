"""Which came first: a question that names two things and asks which is earlier or later.

"Who was born first, Erika Jayne or Marco Da Silva?" is answered by no single sentence: one
gives Erika Jayne's birth date, another Marco Da Silva's, and the answer is whichever is
earlier. For such a question each option gets its own retrieval and its own question for the
reader ("When was Erika Jayne born?"); the best sentence that names the option and whose short
answer holds a year is that option's evidence. When both options have one, with different
years, the earlier (or later) option wins: its sentence leads the evidence with the option's
name as the short answer (exact offsets, where the sentence names it verbatim), and the other
option's sentence rides along as the sentence the answer also rests on (``bridge``), so the
answer cites both. Anything less (no year for one of them, the same year, a name the sentence
does not spell out) leaves the ordinary evidence as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rag.rerank import gate_score
from rag.types import Evidence, Hit

Retrieve = Callable[[str], Sequence[Hit]]
Rerank = Callable[[str, Sequence[Hit]], list[Evidence]]  # (reader's question, hits) -> evidence

_EARLIER = r"first|earlier|earliest|older|oldest|before"
_LATER = r"more recently|most recently|later|latest|younger|youngest|newer|newest|last"
_DIRECTION = re.compile(rf"\b({_EARLIER}|{_LATER})\b", re.IGNORECASE)
_BIRTH = re.compile(r"\b(born|older|oldest|younger|youngest)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_QUOTES = "\"'“”‘’ "


@dataclass(frozen=True)
class Comparison:
    """Two options, whether the question wants the ``earlier`` one, and what is asked of each."""

    options: tuple[str, str]
    earlier: bool
    asked: str  # the event, as the question words it ("was released"; "born" for ages)

    def question_for(self, option: str) -> str:
        """The reader's question about one option: "When was Erika Jayne born?"."""
        if self.asked == "born":
            return f"When was {option} born?"
        if self.asked == "was founded or released":
            return f"When was {option} founded or released?"
        return f"When {self.asked} {option}?"


def parse_comparison(question: str) -> Comparison | None:
    """The comparison ``question`` asks, or None when it is not "which is earlier/later, A or B"."""
    text = question.strip().rstrip("?").strip()
    direction = _DIRECTION.search(text)
    if direction is None or " or " not in text[direction.start() :]:
        return None
    or_at = text.find(" or ", direction.start())
    # The options follow the last comma, colon or "--" before " or "; else the direction word.
    marks = [text.rfind(mark, 0, or_at) + len(mark) for mark in (",", ":", "--") if text.rfind(mark, 0, or_at) >= 0]
    cut = max(marks, default=-1)
    if cut <= direction.start():
        cut = direction.end()  # "Who was born first Am Rong or Ava DuVernay"
    head, tail = text[:cut], text[cut:]
    if _DIRECTION.search(head) is None:
        return None
    first, _, second = tail.partition(" or ")
    options = tuple(re.sub(r"^(the|a|an) ", "", _option(o), flags=re.IGNORECASE) for o in (first, second))
    if not all(options) or options[0].lower() == options[1].lower():
        return None
    earlier = re.fullmatch(_EARLIER, _DIRECTION.search(head).group(1), re.IGNORECASE) is not None
    words = _DIRECTION.sub(" ", head).rstrip(",:- ").split()
    middle = words[1:]
    if re.search(r"\bborn\b", head, re.IGNORECASE) or (_BIRTH.search(head) and words[0].lower() == "who"):
        asked = "born"
    elif _BIRTH.search(head):  # "Which magazine is older": when each began
        asked = "was founded or released"
    else:
        asked = " ".join(middle)
    return Comparison(options, earlier, asked)  # type: ignore[arg-type]


def _option(text: str) -> str:
    return text.strip().strip(_QUOTES).strip().rstrip(".,")


def compare(question: str, retrieve: Retrieve, rerank: Rerank, threshold: float) -> list[Evidence]:
    """The evidence for a comparison ``question``: the winning option's sentence first (short
    answer: the option's name; ``bridge``: the other option's sentence), then the other's; empty
    when ``question`` is no comparison or the sentences do not settle it. Each option's
    sentence must clear ``threshold`` for its own question."""
    comparison = parse_comparison(question)
    if comparison is None:
        return []
    dated = []
    for option in comparison.options:
        found = _dated(option, comparison, retrieve, rerank, threshold)
        if found is None:
            return []
        dated.append(found)
    (year_a, a), (year_b, b) = dated
    if year_a == year_b:
        return []
    a_wins = (year_a < year_b) == comparison.earlier
    (winner, option), loser = ((a, comparison.options[0]), b) if a_wins else ((b, comparison.options[1]), a)
    sentence = winner.hit.sentence
    at = sentence.text.lower().find(option.lower())
    if at < 0:
        return []
    span = (sentence.start + at, sentence.start + at + len(option))
    confidence = min(gate_score(winner), gate_score(loser))
    lead = replace(winner, answer_span=span, bridge=loser.hit, confidence=confidence)
    return [lead, loser]


def _dated(option: str, comparison: Comparison, retrieve: Retrieve, rerank: Rerank, threshold: float):
    """(year, evidence) of the best sentence naming ``option`` whose short answer holds a year."""
    from rag.hops import bridge_text

    asked = comparison.question_for(option)
    lowered = option.lower()
    hits = [h for h in retrieve(asked) if lowered in f"{h.title} {h.sentence.text}".lower()]
    for evidence in rerank(asked, hits) if hits else []:
        if gate_score(evidence) < threshold:
            break
        year = _YEAR.search(bridge_text(evidence))
        if year:
            return int(year.group(1)), evidence
    return None
