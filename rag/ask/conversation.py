"""Follow-up questions: fold what the conversation is about into the retrieval query.

"What did he warn about?" after "Who is Boris Pistorius?" is retrieved as
"Boris Pistorius — What did he warn about?". Only questions that lean on the conversation
(pronouns, "and…", "what about…", or too few content words) are rewritten; a follow-up that
names its own subject and refers back to nothing ("And what did Witkoff say?", "What about
Merz?") changes the subject, so it is asked as it stands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.text import STOPWORDS, content_terms, words
from rag.ask.types import Turn

_REFERRING = re.compile(
    r"\b(he|she|they|him|her|his|hers|them|their|theirs|it|its|this|these|those|there|the same"
    r"|(?:of|about|for|from|on|in|at|with|after|before) that)\b",
    re.I,
)
_ELLIPTIC = re.compile(r"^\s*(and|also|what about|how about|but|so)\b", re.I)


def needs_context(question: str) -> bool:
    """Whether the question cannot stand on its own: it refers back (a pronoun, "of that"), or
    is elliptic or too short without naming a subject of its own."""
    if _REFERRING.search(question):
        return True
    if own_names(question):
        return False
    return bool(_ELLIPTIC.match(question) or len(content_terms(question)) < 2)


def own_names(question: str) -> list[str]:
    """The capitalised words of a question after its first word (names it brings itself)."""
    tokens = words(question)
    return [w for w in tokens[1:] if w[0].isupper() and w.lower() not in STOPWORDS]


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
