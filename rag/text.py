"""Text normalisation and word-level helpers, shared by every stage (ingest, retrieval,
reranking, support checks, the shells and the evaluation)."""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    """
    a an the and or but if then than so as of at by for from in into on onto to with without
    about above after again against all am any are aren't be because been before being below
    between both can could did do does doing down during each few further had has have having
    he her here hers herself him himself his how i its itself just me more most my myself
    nor now off once only other our ours ourselves out over own same she should some such
    that their theirs them themselves there these they this those through too under until
    up very was we were what when where which while who whom whose why will would you your
    yours yourself yourselves it is also s t
    tell say says said give given according whether
    """.split()
)
NEGATIONS = frozenset("not no never none nor neither nothing nobody cannot without n't".split())
_WORD = re.compile(r"(?:[A-Z]\.){2,}|[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
# Names that refer to the same entity; any one in the evidence vouches for the others.
ALIAS_GROUPS = (
    ("United States", "U.S.", "US", "USA", "America", "American", "Americans", "Washington"),
    ("Russia", "Russian", "Russians", "Russian Federation", "Moscow", "Kremlin"),
    ("Ukraine", "Ukrainian", "Ukrainians", "Kyiv"),
    ("United Kingdom", "U.K.", "UK", "Britain", "British"),
    ("European Union", "E.U.", "EU"),
    ("United Nations", "U.N.", "UN"),
    ("Germany", "German", "Berlin"),
    ("France", "French", "Paris"),
)
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "first": "1st",
    "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
}


def normalize_space(text: str) -> str:
    """Collapse every run of whitespace (newlines, nbsp) to one space; no space at the ends."""
    return " ".join(text.split())


def normalize_newlines(text: str) -> str:
    """``\\r\\n`` and ``\\r`` as ``\\n``: the translation ``Path.read_text`` applies, so offsets
    into the result index what ``read_text("utf-8")`` returns."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: the Snowball project's C stemmers (much lighter to import than nltk)

    return Stemmer.Stemmer("porter")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Porter stem of a lower-case word; numbers and number words map to digits; "U.S." -> "us"."""
    word = word.lower().replace("’", "'").replace(".", "")
    if word.endswith("'s"):
        word = word[:-2]
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if word.isdigit():
        return word.lstrip("0") or "0"
    return _stemmer().stemWord(word)


def words(text: str) -> list[str]:
    """Word tokens in their original case."""
    return _WORD.findall(text)


# Every question re-scores the same retrieved sentences: the two analyses below are cached
# per text (immutable results; callers get fresh copies they may change).
_TEXT_CACHE = 16384


def content_terms(text: str) -> list[str]:
    """Stems of the words that carry content (no stopwords), in order, with repeats."""
    return list(_content_terms(text))


@lru_cache(maxsize=_TEXT_CACHE)
def _content_terms(text: str) -> tuple[str, ...]:
    return tuple(t for t in map(_term, words(text)) if t is not None)


@lru_cache(maxsize=200_000)
def _term(word: str) -> str | None:
    """The stem of a word as it appears, None for a stopword."""
    return None if word.lower().replace("’", "'") in STOPWORDS else stem(word)


def names(text: str) -> set[str]:
    """Lower-cased capitalised words that are not sentence-initial stopwords: rough named entities."""
    return set(_names(text))


@lru_cache(maxsize=_TEXT_CACHE)
def _names(text: str) -> frozenset[str]:
    found = set()
    for match in _WORD.finditer(text):
        word = match.group()
        if word[0].isupper() and word.lower() not in STOPWORDS and len(word) > 1:
            found.add(stem(word))
    return frozenset(found)


def known_names(text: str) -> set[str]:
    """Every stem a name in a claim may match to count as said by ``text``: its content words,
    its names and the aliases of the entities it mentions."""
    return set(content_terms(text)) | names(text) | alias_names(text)


def numbers(text: str) -> set[str]:
    """Numbers written with digits or as number words, normalised."""
    found = set()
    for word in words(text):
        lowered = word.lower()
        if lowered.isdigit() or lowered in _NUMBER_WORDS:
            found.add(stem(lowered))
    return found


_NUMBER_QUESTION = re.compile(
    r"^\s*when\b|\b(what|which) (year|date|decade|century)\b|\bhow (many|much|long|old)\b", re.IGNORECASE
)


def asks_for_number(question: str) -> bool:
    """Whether ``question`` asks for a date, a year, a count, an amount, a duration or an age:
    an answer with no number in it cannot be the answer."""
    return bool(_NUMBER_QUESTION.search(question))


_TIME_WORDS = frozenset(
    [
        *("january", "february", "march", "april", "may", "june", "july", "august"),
        *("september", "october", "november", "december"),
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        *("today", "tomorrow", "yesterday"),
        *("thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"),
        *("sixty", "seventy", "eighty", "ninety", "thousand", "million", "billion", "trillion", "dozen"),
        *("sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth", "twentieth", "thirtieth"),
        *("fortieth", "fiftieth", "hundredth"),
    ]
)
def holds_number(text: str) -> bool:
    """Whether ``text`` holds a number, a number word, a month or a day: what an answer to a
    question that :func:`asks_for_number` must hold ("Monday" answers "When do the talks resume?")."""
    return bool(numbers(text)) or any(w.lower() in _TIME_WORDS for w in words(text))


def negated(text: str) -> bool:
    """Whether the text contains a negation word."""
    lowered = text.lower().replace("’", "'")
    return "n't" in lowered or any(w.lower() in NEGATIONS for w in words(text))


def alias_names(text: str) -> set[str]:
    """Stems of every alias of the entities the text mentions under any of their names."""
    lowered = f" {' '.join(w.lower() for w in words(text))} "
    found: set[str] = set()
    for group in ALIAS_GROUPS:
        if any(f" {' '.join(w.lower() for w in words(alias))} " in lowered for alias in group):
            found |= {stem(w) for alias in group for w in words(alias)}
    return found


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` holds ``name`` as whole words, in any case: "Bomb" is not in "Time Bombs"."""
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE) is not None
