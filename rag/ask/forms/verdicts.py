"""Yes or no about two things: "Are Christopher Nolan and Sathish Kalathil both film
directors?", "Were Scott Derrickson and Ed Wood of the same nationality?".

No sentence says "yes": one says what Christopher Nolan is, another what Sathish Kalathil is,
and the answer follows from the two. Each option gets its own retrieval and its own question
for the reader ("What is Christopher Nolan?", "What nationality is Ed Wood?", "What province
is Nantong situated in?"); its evidence is the best sentence naming it that clears the gate.
Then the verdict, only where the two sentences settle it:

- **both**: "yes" when each sentence holds every word of the property asked ("film
  directors": "film", "director"); "no" when the property names a nationality and one sentence
  gives that option another nationality and not the one asked ("Are King Vidor and Géza von
  Cziffra both American directors?": "…was a Hungarian-Austrian film director…"). A property a
  sentence simply does not mention settles nothing: "not said" is not "no".
- **same**: the two nationalities (any shared one: "yes"; none shared: "no"); for the same month
  or year, the months or years the two short answers name (none named for one: unsettled), else the two short
  answers the reader found ("Jiangxi", "Jiangsu"): "yes" when one's words hold the other's
  ("New York" and "New York City"), "no" when they share no word.

The reading leads with the second option's sentence and carries the verdict (no short answer:
a verdict is no span of any file), resting on the first option's sentence, so the answer cites
both, in the question's order. "Were the Berlin and Geneva talks held in the same month?"
shares its noun: the options are Berlin and Geneva, each asked "What month were the Berlin
talks held in?". Anything less leaves the ordinary evidence as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.ask.forms.base import ParsedForm, Reading, Tools, answer_terms, answers_agree, bridge_text, read_option
from rag.ask.forms.lexicon import NATION_WORDS, QUOTES, is_name, leading_name, nations, words_of
from rag.ask.rerank import gate_score
from rag.text import content_terms, stem, words
from rag.ask.types import Evidence

_AUX = r"(?:are|were|is|was|do|did|does|have|had)"
# "Are both magazines, the Woman's Viewpoint and Pick Me Up, British publications?"
_BOTH_CLASS = re.compile(rf"^{_AUX}\s+both\s+[\w\s'-]+?,\s*(?P<a>.+?)\s+and\s+(?P<b>.+?),\s*(?P<asked>.+)$", re.IGNORECASE)
# "Are Medici and Senet both board games?"
_BOTH_AFTER = re.compile(rf"^{_AUX}\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s+both\s+(?P<asked>.+)$", re.IGNORECASE)
# "Are both Cypress and Ajuga genera?"
_BOTH_BEFORE = re.compile(rf"^{_AUX}\s+both\s+(?P<a>.+?)\s+and\s+(?P<rest>.+)$", re.IGNORECASE)
# "Were Scott Derrickson and Ed Wood of the same nationality?", "…members of the same band?"
_SAME = re.compile(rf"^{_AUX}\s+(?:both\s+)?(?P<a>.+?)\s+and\s+(?P<rest>.+?)\s*\bthe same\s+(?P<asked>[\w\s-]+?)$", re.IGNORECASE)


@dataclass(frozen=True)
class YesNo:
    """A yes-or-no question about two ``options``: whether both have the property ``asked``
    (``test`` "both": "film directors") or whether they have the same ``asked`` (``test``
    "same": "nationality", "province"); ``verb``: the words before "the same" ("situated in")."""

    options: tuple[str, str]
    test: str
    asked: str
    verb: str = ""
    noun: str = ""  # a noun the options share ("the Berlin and Geneva talks": "talks")
    aux: str = ""  # the question's auxiliary verb ("were")

    @property
    def by_nation(self) -> bool:
        """Whether nationality decides: "of the same nationality", "both American directors"."""
        if self.test == "same":
            return self.asked.lower() in words_of("nationality_nouns")
        return bool(nations(self.asked))

    def question_for(self, option: str) -> str:
        """The reader's question about one option."""
        if self.test == "both":
            return f"What is {option}?"
        if self.by_nation:
            return f"What nationality is {option}?"
        if self.noun:
            return " ".join(f"What {self.asked} {self.aux} the {option} {self.noun} {self.verb}".split()) + "?"
        return " ".join(f"What {self.asked} is {option} {_singular(self.verb)}".split()) + "?"


def _singular(verb: str) -> str:
    """ "members of" -> "a member of", "airports in" -> "an airport in"; other words as they are."""
    first, _, rest = verb.partition(" ")
    if len(first) < 4 or not first.endswith("s") or first.endswith("ss") or not rest:
        return verb
    one = first[:-3] + "y" if first.endswith("ies") else first[:-1]
    return f"{'an' if one[0].lower() in 'aeiou' else 'a'} {one} {rest}"


def parse_yes_no(question: str) -> YesNo | None:
    """The yes-or-no question about two things ``question`` asks, or None."""
    text = " ".join(question.strip().rstrip("?").split())
    found = _SAME.match(text)
    if found:
        second, verb = leading_name(found.group("rest"))
        verb = re.sub(r"^both\s+", "", verb, flags=re.IGNORECASE)
        noun, verb = _shared_noun(verb)
        aux = text.split()[0].lower()
        return _made(found.group("a"), second, "same", found.group("asked"), verb, noun, aux)
    found = _BOTH_CLASS.match(text) or _BOTH_AFTER.match(text)
    if found:
        return _made(found.group("a"), found.group("b"), "both", found.group("asked"))
    found = _BOTH_BEFORE.match(text)
    if found:
        second, asked = leading_name(found.group("rest"))
        tokens = second.split()
        while not asked and len(tokens) > 1 and nations(tokens[-1]):  # "…and Neil Jordan American"
            asked = tokens.pop()
        return _made(found.group("a"), " ".join(tokens), "both", asked)
    return None


def _shared_noun(verb: str) -> tuple[str, str]:
    """(the plural noun both options share, the verb after it) where ``verb`` begins with one
    and a word that is no preposition follows ("talks held in" -> "talks", "held in"); else
    ("", ``verb``): "members of" is what each option is."""
    tokens = verb.split()
    if len(tokens) >= 2 and tokens[0].islower() and tokens[0].endswith("s") and tokens[1].lower() not in words_of("prepositions"):
        return tokens[0], " ".join(tokens[1:])
    return "", verb


def _made(first: str, second: str, test: str, asked: str, verb: str = "", noun: str = "", aux: str = "") -> YesNo | None:
    options = tuple(re.sub(r"^(the|a|an)\s+", "", o.strip(" ," + QUOTES), flags=re.IGNORECASE) for o in (first, second))
    asked = asked.strip(" ,")
    if not all(options) or options[0].lower() == options[1].lower() or not content_terms(asked):
        return None
    if not all(is_name(o) for o in options):
        return None
    return YesNo(options, test, asked, verb.strip(), noun, aux if noun else "")  # type: ignore[arg-type]


class VerdictForm(ParsedForm):
    """The form of "are A and B both X?" and "were A and B of the same Y?"."""

    name = "verdict"
    setting = "verdicts"

    def parse(self, question: str) -> YesNo | None:
        return parse_yes_no(question)

    def read(self, plan: YesNo, analysis, tools: Tools) -> Reading | None:
        """The second option's sentence leads with the verdict, resting on the first's; None
        when the sentences do not settle it. Each option's sentence must clear the gate for its
        own question."""
        found = []
        for option in plan.options:
            judged = read_option(option, plan.question_for(option), tools)
            if not judged or gate_score(judged[0]) < tools.gate:
                return None
            found.append(judged[0])
        a, b = found
        verdict = _verdict(plan, a, b)
        if verdict is None:
            return None
        lead = replace(b, answer_span=None, confidence=min(gate_score(a), gate_score(b)))
        return Reading(self.name, lead, (a,), verdict)


def _verdict(asked: YesNo, a: Evidence, b: Evidence) -> str | None:
    """"yes", "no", or None when the two sentences do not settle ``asked``."""
    if asked.by_nation:
        wanted = nations(asked.asked) if asked.test == "both" else None
        found = [nations(e.hit.sentence.text) for e in (a, b)]
        if not all(found):
            return None
        if wanted is None:  # the same nationality?
            return "yes" if found[0] & found[1] else "no"
        if any(not (f & wanted) for f in found):
            return "no"
        rest = content_terms(NATION_WORDS.sub(" ", asked.asked))
        return "yes" if all(_holds(e, rest) for e in (a, b)) else None
    if asked.test == "both":
        wanted_words = content_terms(asked.asked)
        return "yes" if all(_holds(e, wanted_words) for e in (a, b)) else None
    if asked.asked.lower() in ("month", "year"):  # a time: each short answer must name one
        times = [_times(bridge_text(e), asked.asked.lower()) for e in (a, b)]
        if not all(times):
            return None
        return "yes" if times[0] & times[1] else "no"
    kind = content_terms(asked.asked)
    if answers_agree(a, b, kind):
        return "yes"
    values = [answer_terms(e, kind) for e in (a, b)]
    return "no" if all(values) and not values[0] & values[1] else None


def _times(text: str, unit: str) -> set[str]:
    """The months (``unit`` "month") or years ("year") ``text`` names: "23 November 2025"."""
    if unit == "year":
        return set(re.findall(r"\b(?:1[0-9]{3}|20[0-9]{2})\b", text))
    return {w.lower() for w in words(text)} & words_of("months")


def _holds(evidence: Evidence, stems: list[str]) -> bool:
    """Whether the sentence of ``evidence`` holds every one of ``stems``."""
    own = {stem(w) for w in words(evidence.hit.sentence.text)}
    return all(s in own for s in stems)
