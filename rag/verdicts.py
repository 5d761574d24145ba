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
- **same**: the two nationalities (any shared one: "yes"; none shared: "no"), else the two short
  answers the reader found ("Jiangxi", "Jiangsu"): "yes" when one's words hold the other's
  ("New York" and "New York City"), "no" when they share no word.

The verdict rides on the first option's sentence (``Evidence.verdict``; no short answer: a
verdict is no span of any file), with the other option's sentence as the one it also rests on
(``bridge``), so the answer cites both, in the question's order. Anything less leaves the
ordinary evidence as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rag.hops import bridge_text
from rag.rerank import gate_score
from rag.text import content_terms, mentions, stem, words
from rag.types import Evidence, Hit

Retrieve = Callable[[str], Sequence[Hit]]
Rerank = Callable[[str, Sequence[Hit]], list[Evidence]]  # (reader's question, hits) -> evidence

# Nationality words, each with the nation it names (a nation's several words share one key).
_NATIONS: dict[str, str] = {
    **{w: w for w in """
        afghan albanian algerian andorran angolan argentine argentinian armenian australian austrian
        azerbaijani bahamian bahraini bangladeshi barbadian belarusian belgian belizean beninese
        bhutanese bolivian bosnian botswanan brazilian bruneian bulgarian burmese burundian
        cambodian cameroonian canadian chadian chilean chinese colombian congolese croatian cuban
        cypriot czech danish djiboutian dominican dutch ecuadorian egyptian emirati eritrean estonian
        ethiopian fijian filipino finnish french gabonese gambian georgian german ghanaian greek
        grenadian guatemalan guinean guyanese haitian honduran hungarian icelandic indian
        indonesian iranian iraqi irish israeli italian ivorian jamaican japanese jordanian kazakh
        kenyan korean kosovar kuwaiti kyrgyz laotian latvian lebanese liberian libyan lithuanian
        luxembourgish macedonian malagasy malawian malaysian maldivian malian maltese mauritanian
        mauritian mexican moldovan monegasque mongolian montenegrin moroccan mozambican namibian
        nepalese nicaraguan nigerian nigerien norwegian omani pakistani palestinian panamanian
        paraguayan peruvian polish portuguese qatari romanian russian rwandan salvadoran samoan
        saudi senegalese serbian singaporean slovak slovenian somali spanish sudanese
        surinamese swazi swedish swiss syrian taiwanese tajik tanzanian thai togolese tongan
        trinidadian tunisian turkish turkmen ugandan ukrainian uruguayan uzbek venezuelan
        vietnamese yemeni zambian zimbabwean
        soviet yugoslav prussian bavarian
    """.split()},
    "american": "american",
    "british": "british",
    "english": "british",
    "scottish": "british",
    "welsh": "british",
    "new zealand": "new zealand",
    "south african": "south african",
    "puerto rican": "puerto rican",
    "costa rican": "costa rican",
    "sri lankan": "sri lankan",
}
_NATION_WORDS = re.compile(
    r"\b(" + "|".join(sorted((re.escape(w) for w in _NATIONS), key=len, reverse=True)) + r")\b(?![-\s]language)",
    re.IGNORECASE,
)
_NATIONALITY = frozenset(["nationality", "nationalities", "citizenship", "country of origin", "origin", "nation"])

_AUX = r"(?:are|were|is|was|do|did|does|have|had)"
# "Are both magazines, the Woman's Viewpoint and Pick Me Up, British publications?"
_BOTH_CLASS = re.compile(rf"^{_AUX}\s+both\s+[\w\s'-]+?,\s*(?P<a>.+?)\s+and\s+(?P<b>.+?),\s*(?P<asked>.+)$", re.IGNORECASE)
# "Are Medici and Senet both board games?"
_BOTH_AFTER = re.compile(rf"^{_AUX}\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s+both\s+(?P<asked>.+)$", re.IGNORECASE)
# "Are both Cypress and Ajuga genera?"
_BOTH_BEFORE = re.compile(rf"^{_AUX}\s+both\s+(?P<a>.+?)\s+and\s+(?P<rest>.+)$", re.IGNORECASE)
# "Were Scott Derrickson and Ed Wood of the same nationality?", "…members of the same band?"
_SAME = re.compile(rf"^{_AUX}\s+(?:both\s+)?(?P<a>.+?)\s+and\s+(?P<rest>.+?)\s*\bthe same\s+(?P<asked>[\w\s-]+?)$", re.IGNORECASE)
# Words a name may hold in lower case ("Géza von Cziffra", "Escape from the Dark").
_NAME_LINKS = frozenset("of the von van de da del der di du la le y and & 's from in on for at".split())


@dataclass(frozen=True)
class YesNo:
    """A yes-or-no question about two ``options``: whether both have the property ``asked``
    (``test`` "both": "film directors") or whether they have the same ``asked`` (``test``
    "same": "nationality", "province"); ``verb``: the words before "the same" ("situated in")."""

    options: tuple[str, str]
    test: str
    asked: str
    verb: str = ""

    @property
    def by_nation(self) -> bool:
        """Whether nationality decides: "of the same nationality", "both American directors"."""
        if self.test == "same":
            return self.asked.lower() in _NATIONALITY
        return bool(nations(self.asked))

    def question_for(self, option: str) -> str:
        """The reader's question about one option."""
        if self.test == "both":
            return f"What is {option}?"
        if self.by_nation:
            return f"What nationality is {option}?"
        return " ".join(f"What {self.asked} is {option} {_singular(self.verb)}".split()) + "?"


def _singular(verb: str) -> str:
    """ "members of" -> "a member of", "airports in" -> "an airport in"; other words as they are."""
    first, _, rest = verb.partition(" ")
    if len(first) < 4 or not first.endswith("s") or first.endswith("ss") or not rest:
        return verb
    one = first[:-3] + "y" if first.endswith("ies") else first[:-1]
    return f"{'an' if one[0].lower() in 'aeiou' else 'a'} {one} {rest}"


def nations(text: str) -> set[str]:
    """The nations the nationality words of ``text`` name ("Hungarian-Austrian": two)."""
    return {nation for nation, _ in nation_spans(text)}


def nation_spans(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Each nationality word of ``text``: the nation it names and where it stands."""
    return [(_NATIONS[m.group(1).lower()], m.span(1)) for m in _NATION_WORDS.finditer(text)]


def parse_yes_no(question: str) -> YesNo | None:
    """The yes-or-no question about two things ``question`` asks, or None."""
    text = " ".join(question.strip().rstrip("?").split())
    found = _SAME.match(text)
    if found:
        second, verb = _leading_name(found.group("rest"))
        verb = re.sub(r"^both\s+", "", verb, flags=re.IGNORECASE)
        return _made(found.group("a"), second, "same", found.group("asked"), verb)
    found = _BOTH_CLASS.match(text) or _BOTH_AFTER.match(text)
    if found:
        return _made(found.group("a"), found.group("b"), "both", found.group("asked"))
    found = _BOTH_BEFORE.match(text)
    if found:
        second, asked = _leading_name(found.group("rest"))
        tokens = second.split()
        while not asked and len(tokens) > 1 and nations(tokens[-1]):  # "…and Neil Jordan American"
            asked = tokens.pop()
        return _made(found.group("a"), " ".join(tokens), "both", asked)
    return None


def _made(first: str, second: str, test: str, asked: str, verb: str = "") -> YesNo | None:
    options = tuple(re.sub(r"^(the|a|an)\s+", "", o.strip(" ,\"'“”‘’"), flags=re.IGNORECASE) for o in (first, second))
    asked = asked.strip(" ,")
    if not all(options) or options[0].lower() == options[1].lower() or not content_terms(asked):
        return None
    if not all(_is_name(o) for o in options):
        return None
    return YesNo(options, test, asked, verb.strip())  # type: ignore[arg-type]


def _is_name(text: str) -> bool:
    """A name: its first word capitalised (or a number), no more than eight words."""
    tokens = text.strip("\"'“”‘’").split()
    return 0 < len(tokens) <= 8 and (tokens[0][0].isupper() or tokens[0][0].isdigit())


def _leading_name(text: str) -> tuple[str, str]:
    """The name ``text`` begins with (capitalised words, and the small words between them), and
    the rest: "Jung Eun-ji members of" -> ("Jung Eun-ji", "members of")."""
    tokens = text.split()
    end = 0
    for k, token in enumerate(tokens):
        bare = token.strip("\"'“”‘’") or token
        if bare[0].isupper() or bare[0].isdigit():
            end = k + 1
        elif token.lower() not in _NAME_LINKS:
            break
    return " ".join(tokens[:end]), " ".join(tokens[end:])


def decide(question: str, retrieve: Retrieve, rerank: Rerank, threshold: float) -> list[Evidence]:
    """The evidence for a yes-or-no ``question`` about two things: the first option's sentence
    carrying the verdict, with the second's as its ``bridge``, then the second's; empty when
    ``question`` is no such question or the sentences do not settle it. Each option's sentence
    must clear ``threshold`` for its own question."""
    asked = parse_yes_no(question)
    if asked is None:
        return []
    found = []
    for option in asked.options:
        judged = _best(option, asked, retrieve, rerank, threshold)
        if judged is None:
            return []
        found.append(judged)
    a, b = found
    verdict = _verdict(asked, a, b)
    if verdict is None:
        return []
    lead = replace(b, answer_span=None, bridge=a.hit, verdict=verdict, confidence=min(gate_score(a), gate_score(b)))
    return [lead, a]


def _best(option: str, asked: YesNo, retrieve: Retrieve, rerank: Rerank, threshold: float) -> Evidence | None:
    """The reader's best sentence naming ``option`` for its own question, over ``threshold``."""
    question = asked.question_for(option)
    hits = [h for h in retrieve(question) if mentions(f"{h.title} {h.sentence.text}", option)]
    judged = rerank(question, hits) if hits else []
    return judged[0] if judged and gate_score(judged[0]) >= threshold else None


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
        rest = content_terms(_NATION_WORDS.sub(" ", asked.asked))
        return "yes" if all(_holds(e, rest) for e in (a, b)) else None
    if asked.test == "both":
        wanted_words = content_terms(asked.asked)
        return "yes" if all(_holds(e, wanted_words) for e in (a, b)) else None
    values = [set(content_terms(bridge_text(e))) for e in (a, b)]
    if not all(values):
        return None
    if values[0] <= values[1] or values[1] <= values[0]:
        return "yes"
    return "no" if not values[0] & values[1] else None


def _holds(evidence: Evidence, stems: list[str]) -> bool:
    """Whether the sentence of ``evidence`` holds every one of ``stems``."""
    own = {stem(w) for w in words(evidence.hit.sentence.text)}
    return all(s in own for s in stems)
