"""The words the question forms know, one place each: the word lists (``words.json``, package
data), the quotation marks, what counts as a name, and nationality words with their nations
("American", "Hungarian-Austrian": two; "English": British; a word before "-language" is none)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

QUOTES = "\"'“”‘’«»"  # every quotation mark a question or a sentence may use
MAX_NAME_WORDS = 8


@lru_cache(maxsize=1)
def lists() -> dict:
    """Every word list of ``words.json``, by name."""
    return json.loads((Path(__file__).with_name("words.json")).read_text(encoding="utf-8"))


def words_of(name: str) -> frozenset[str]:
    """One word list of ``words.json`` as a set."""
    return frozenset(lists()[name])


def alternation(name: str) -> str:
    """A word list as a regular-expression alternation, longest first."""
    return "|".join(sorted((re.escape(w) for w in lists()[name]), key=len, reverse=True))


def unquoted(text: str) -> str:
    """``text`` without surrounding space and quotation marks."""
    return text.strip().strip(QUOTES + " ").strip()


def is_name(text: str) -> bool:
    """A name: its first word capitalised (or a number), no more than ``MAX_NAME_WORDS`` words."""
    tokens = unquoted(text).split()
    return 0 < len(tokens) <= MAX_NAME_WORDS and (tokens[0][0].isupper() or tokens[0][0].isdigit())


def leading_name(text: str) -> tuple[str, str]:
    """The name ``text`` begins with (capitalised words, quoted or not, and the small words a
    name may hold in lower case between them: "Géza von Cziffra"), and the rest: "Jung Eun-ji
    members of" -> ("Jung Eun-ji", "members of")."""
    tokens = text.split()
    links = words_of("name_links")
    end = 0
    for k, token in enumerate(tokens):
        bare = token.strip(QUOTES) or token
        if bare[0].isupper() or bare[0].isdigit():
            end = k + 1
        elif token.lower() not in links:
            break
    return " ".join(tokens[:end]), " ".join(tokens[end:])


NATIONS: dict[str, str] = lists()["nations"]
NATION_WORDS = re.compile(rf"\b({alternation('nations')})\b(?![-\s]language)", re.IGNORECASE)


def nations(text: str) -> set[str]:
    """The nations the nationality words of ``text`` name ("Hungarian-Austrian": two)."""
    return {nation for nation, _ in nation_spans(text)}


def nation_spans(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Each nationality word of ``text``: the nation it names and where it stands."""
    return [(NATIONS[m.group(1).lower()], m.span(1)) for m in NATION_WORDS.finditer(text)]


def base_verb(past: str) -> str | None:
    """The base form of a past-tense verb the list knows ("came" -> "come"), else None."""
    return lists()["past_to_base"].get(past.lower())
