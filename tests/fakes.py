"""Deterministic stand-ins for the embedding model, for tests where the model is not the point,
and for the retrieved hits and the reader's evidence that the stages after retrieval read."""

from __future__ import annotations

import re
import zlib

import numpy as np

from rag.text import content_terms
from rag.ask.types import Evidence, Hit
from rag.models.reader import SPANS_FOR, Judgement
from rag.types import Sentence

_TOKEN = re.compile(r"\w+|[^\w\s]")


class HashingEmbedder:
    """Bag of stemmed words hashed into 384 dimensions; tokens are words and punctuation."""

    name = "hashing-fake"
    dimension = 384
    window = 256

    def count_tokens(self, text: str) -> int:
        return len(_TOKEN.findall(text))

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype="float32")
        for term in content_terms(text):
            vector[zlib.crc32(term.encode()) % self.dimension] += 1.0
        norm = np.linalg.norm(vector)
        if norm == 0:
            vector[0] = 1.0
            return vector
        return vector / norm

    def embed_chunks(self, inputs):
        out = []
        for item in inputs:
            sentence_vectors = np.stack([self._vector(item.text[a:b]) for a, b in item.sentence_spans])
            out.append((self._vector(item.text), sentence_vectors))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


# Small sample documents shared by the pipeline, server-mode and bad-input tests.
TREATY = (
    "Title: Small treaty\nSource: test\nLicence: CC0\n-----\n"
    "The Parties agree that an armed attack against one of them shall be considered an attack against them all.\n"
    "The treaty was signed in Washington on 4 April 1949.\n\n"
    "Article 9 establishes a council on which each of them shall be represented.\n"
)
TALKS = (
    "Title: Talks\n-----\n"
    "German Defence Minister Boris Pistorius urged caution about the guarantees.\n"
    "He warned that guarantees without strong participation would lack credibility.\n"
)


def hit(text: str, doc: str, title: str = "", *, start: int = 10, context: str = "") -> Hit:
    """A retrieved sentence of document ``doc`` at characters ``start`` to ``start + len(text)``."""
    sentence = Sentence(f"{doc}-{start}", doc, 0, start, start + len(text), text)
    return Hit(sentence, 1.0, title=title, path=f"/docs/{doc}.txt", context=context)


def judged(h: Hit, relevance: float, short: str = "") -> Evidence:
    """``h`` as the reader judged it: ``relevance`` (also its score and confidence) and the short
    answer ``short``, found in the sentence (none when empty)."""
    span = None
    if short:
        at = h.sentence.text.index(short)
        span = (h.sentence.start + at, h.sentence.start + at + len(short))
    return Evidence(h, relevance, span, relevance)


def read(question: str, retrieve, judge, gate: float = 0.5, evidence=(), **tools):
    """The reading the first form that applies to ``question`` gives with these stand-ins
    (``judge(asked, query, hits)``), or None; every form on, the bridge form only with
    ``bridges`` in ``tools``."""
    from types import SimpleNamespace

    from rag.ask.analysis import analyse
    from rag.ask.forms import FORMS
    from rag.ask.forms.base import Tools

    settings = SimpleNamespace(comparisons=True, verdicts=True, in_common=True, bridges=tools.get("bridges", 0))
    analysis = analyse(question)
    kit = Tools(retrieve=retrieve, judge=judge, gate=gate, evidence=tuple(evidence), query=question, narrow=lambda a, q, h: list(h), **tools)
    for form in FORMS:
        plan = form.plan(analysis, settings)
        reading = form.read(plan, analysis, kit) if plan is not None else None
        if reading is not None:
            return reading
    return None


def follow(question: str, evidence, retrieve, judge, threshold: float, bridges: int, in_kind: bool = False, **tools):
    """``rag.ask.forms.hops.follow_bridges`` over these stand-ins (the reader sees every hit)."""
    from rag.ask.forms.base import Tools
    from rag.ask.forms.hops import follow_bridges

    kit = Tools(
        retrieve=retrieve, judge=judge, gate=0.5, evidence=tuple(evidence), query=question, narrow=lambda a, q, h: list(h),
        bridge_threshold=threshold, bridges=bridges, **tools,
    )
    return follow_bridges(question, kit, in_kind=in_kind)


class ScriptedReader:
    """A reader whose relevance for each sentence is given; every sentence's short answer is its
    first word (where decoded: for the ``spans_for`` most relevant of each call, as the real one)."""

    def __init__(self, relevance: dict[str, float]):
        self.relevance = relevance
        self.judged: list[int] = []  # pairs per call

    def judge(self, question, candidates, spans_for=SPANS_FOR):
        self.judged.append(len(candidates))
        best = sorted(range(len(candidates)), key=lambda i: -self.relevance[candidates[i].text])[:spans_for]
        return [
            Judgement(self.relevance[c.text], 0.0, (0, c.text.index(" ")) if i in best else None)
            for i, c in enumerate(candidates)
        ]


class ScriptedFeatures:
    """Feature scores given per sentence, best first."""

    def __init__(self, scores: dict[str, float]):
        self.scores = scores

    def rerank(self, question, query, hits, idf):
        return sorted((Evidence(h, self.scores[h.sentence.text]) for h in hits), key=lambda e: -e.score)


def scripted_case(relevance: list[float], features: list[float]):
    """Hits with the given relevance and feature scores, the reader and scorer that give them."""
    hits = [hit(f"sentence{i} says something", f"d{i}") for i in range(len(relevance))]
    texts = [h.sentence.text for h in hits]
    return hits, ScriptedReader(dict(zip(texts, relevance))), ScriptedFeatures(dict(zip(texts, features)))
