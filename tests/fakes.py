"""Deterministic stand-ins for the embedding model, for tests where the model is not the point."""

from __future__ import annotations

import zlib
import re

import numpy as np

from rag.text import content_terms

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
