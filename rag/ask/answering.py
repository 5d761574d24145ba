"""Composers: from evidence that passed the abstention gate to a draft whose every sentence
names the hits it rests on. A composer only composes: numbering is ``rag.ask.citing``'s job,
checking is ``rag.ask.verify``'s, and whether to answer at all is the pipeline's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from rag.text import content_terms, normalize_space
from rag.ask.types import Draft, DraftSentence, Evidence

OnToken = Callable[[str], None]
NEARLY_AS_GOOD = 0.05


class Answerer(Protocol):
    """A way of writing the answer from ranked evidence."""

    name: str

    def compose(self, question: str, evidence: Sequence[Evidence], on_token: OnToken | None = None) -> Draft:
        """The draft answer; ``on_token`` receives text as it is generated (if anything is)."""


class ExtractiveAnswerer:
    """Answers with the best source sentences themselves, each citing itself.

    The best sentence always; further ones (up to ``max_sentences``) only when they score at
    least ``floor`` and within ``margin`` of the best, and add a question term that neither
    the answer nor the best sentence's context covers.
    """

    name = "extractive"

    def __init__(self, floor: float, margin: float = NEARLY_AS_GOOD, max_sentences: int = 3):
        self.floor = floor
        self.margin = margin
        self.max_sentences = max_sentences

    def compose(self, question: str, evidence: Sequence[Evidence], on_token: OnToken | None = None) -> Draft:
        best = evidence[0]
        chosen = [best]
        # What the best sentence's context already says (e.g. who "He" is) needs no second citation.
        covered = set(content_terms(f"{best.hit.title} {best.hit.context} {best.hit.sentence.text}"))
        query_terms = set(content_terms(question))
        for candidate in evidence[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if candidate.score < max(self.floor, best.score - self.margin):
                break
            own = set(content_terms(candidate.hit.sentence.text))
            if (own & query_terms) - covered:
                chosen.append(candidate)
                covered |= own
        chosen.sort(key=lambda e: (e.hit.path, e.hit.sentence.start))
        return Draft(tuple(DraftSentence(normalize_space(e.hit.sentence.text), (e.hit,)) for e in chosen))
