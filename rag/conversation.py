"""Follow-up questions: fold what the conversation is about into the retrieval query.

"What did he warn about?" after "Who is Boris Pistorius?" is retrieved as
"Boris Pistorius — What did he warn about?". Only questions that lean on the conversation
(pronouns, "and…", "what about…", or too few content words) are rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.text import content_terms, words
from rag.types import Turn

_REFERRING = re.compile(
    r"\b(he|she|they|him|her|his|hers|them|their|theirs|it|its|this|these|those|there|the same)\b",
    re.I,
)
_ELLIPTIC = re.compile(r"^\s*(and|also|what about|how about|but|so)\b", re.I)


def needs_context(question: str) -> bool:
    """Whether the question cannot stand on its own."""
    return bool(_REFERRING.search(question) or _ELLIPTIC.match(question) or len(content_terms(question)) < 2)


def topic_of(turn: Turn) -> str:
    """The capitalised names of an earlier question, else its content words."""
    tokens = words(turn.question)
    capitalised = [w for i, w in enumerate(tokens) if w[0].isupper() and (i > 0 or len(tokens) == 1)]
    if capitalised:
        return " ".join(capitalised)
    return " ".join(w for w in tokens if content_terms(w))


def retrieval_query(question: str, history: Sequence[Turn]) -> str:
    """The question itself, or prefixed with the topic of the latest self-contained question."""
    if not history or not needs_context(question):
        return question
    standalone = [t for t in history if not needs_context(t.question)] or list(history)
    topic = topic_of(standalone[-1])
    return f"{topic} — {question}" if topic else question
