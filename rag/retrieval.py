"""Hybrid retrieval: dense (sentence and chunk vectors in Chroma) + BM25, fused by rank.

BM25 (the ``bm25s`` library) indexes each sentence with its context window (document title, the previous sentence and
the sentence itself, the sentence counted twice), so "He warned that…" is found by a question
naming the person the previous sentence introduced.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.text import content_terms
from rag.types import Hit, Sentence

if TYPE_CHECKING:
    from rag.embedding import Embedder
    from rag.store import Store

BM25_K1 = 1.2
BM25_B = 0.75
CHUNK_WEIGHT = 0.5


@dataclass(frozen=True)
class DocInfo:
    """What retrieval and answering need of a document."""

    title: str
    path: str


class LexicalIndex:
    """BM25 (``bm25s``, Lucene's formula) over sentence windows, built from the stored sentences."""

    def __init__(self, sentences: Sequence[Sentence], docs: dict[str, DocInfo]):
        self.sentences = list(sentences)
        self.docs = docs
        self.by_id = {s.sentence_id: i for i, s in enumerate(self.sentences)}
        title_terms = {doc_id: content_terms(info.title) for doc_id, info in docs.items()}
        windows: list[list[str]] = []
        document_frequency: Counter = Counter()
        previous: Sentence | None = None
        for sentence in self.sentences:
            own = content_terms(sentence.text)
            window = own + own  # the sentence itself counts twice
            if previous is not None and previous.doc_id == sentence.doc_id:
                window += content_terms(previous.text)
            window += title_terms.get(sentence.doc_id, [])
            windows.append(window)
            document_frequency.update(set(window))
            previous = sentence
        total = len(self.sentences)
        self.idf = {
            term: math.log(1 + (total - df + 0.5) / (df + 0.5)) for term, df in document_frequency.items()
        }
        self.max_idf = math.log(1 + (total + 0.5) / 0.5) if total else 1.0
        self._bm25 = None
        if total:
            import bm25s

            self._bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
            self._bm25.index(windows, show_progress=False)

    def term_idf(self, term: str) -> float:
        """IDF of a term; unseen terms get the maximum (they are the most specific)."""
        return self.idf.get(term, self.max_idf)

    def previous(self, sentence: Sentence) -> Sentence | None:
        """The sentence before ``sentence`` in its document, if any."""
        i = self.by_id.get(sentence.sentence_id)
        if i is None or i == 0:
            return None
        before = self.sentences[i - 1]
        return before if before.doc_id == sentence.doc_id else None

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (sentence position, BM25 score) among sentences sharing a term with the query."""
        import numpy as np

        if self._bm25 is None:
            return []
        terms = sorted({t for t in content_terms(query) if t in self.idf})
        if not terms:
            return []
        scores = self._bm25.get_scores(terms)
        matching = np.flatnonzero(scores > 0)
        if len(matching) > k:
            matching = matching[np.argpartition(-scores[matching], k - 1)[:k]]
        ranked = sorted(matching.tolist(), key=lambda i: (-float(scores[i]), i))
        return [(i, float(scores[i])) for i in ranked[:k]]


class Retriever:
    """Fuses dense sentence ranks, dense chunk ranks and BM25 ranks with reciprocal rank fusion."""

    def __init__(self, store: Store, embedder: Embedder, index: LexicalIndex, settings):
        self.store = store
        self.embedder = embedder
        self.index = index
        self.settings = settings

    def retrieve(self, query: str) -> list[Hit]:
        """The ``settings.retrieve_limit`` best sentences for ``query`` with their fused scores
        and similarities."""
        import numpy as np

        if not self.index.sentences:
            return []
        vector = self.embedder.embed_query(query)
        k = self.settings.rrf_k
        fused: dict[str, float] = defaultdict(float)
        dense_rank: dict[str, int] = {}
        similarity: dict[str, float] = {}
        for rank, hit in enumerate(self.store.query_sentences(vector, self.settings.dense_candidates), 1):
            fused[hit.node_id] += 1.0 / (k + rank)
            dense_rank[hit.node_id] = rank
            similarity[hit.node_id] = hit.similarity
        for rank, hit in enumerate(self.store.query_chunks(vector, self.settings.chunk_candidates), 1):
            for sentence_id in str(hit.metadata.get("sentence_ids", "")).split(","):
                if sentence_id in self.index.by_id:
                    fused[sentence_id] += CHUNK_WEIGHT / (k + rank)
        lexical_rank: dict[str, int] = {}
        for rank, (position, _) in enumerate(self.index.search(query, self.settings.lexical_candidates), 1):
            sentence_id = self.index.sentences[position].sentence_id
            fused[sentence_id] += 1.0 / (k + rank)
            lexical_rank[sentence_id] = rank
        best = sorted((sid for sid in fused if sid in self.index.by_id), key=lambda s: (-fused[s], s))[: self.settings.retrieve_limit]
        missing = [sid for sid in best if sid not in similarity]
        for sid, stored in self.store.sentence_embeddings(missing).items():
            similarity[sid] = float(np.dot(np.asarray(stored, dtype="float32"), vector))
        hits = []
        for sid in best:
            sentence = self.index.sentences[self.index.by_id[sid]]
            doc = self.index.docs.get(sentence.doc_id, DocInfo("", ""))
            before = self.index.previous(sentence)
            hits.append(
                Hit(
                    sentence=sentence,
                    score=fused[sid],
                    dense_similarity=similarity.get(sid, 0.0),
                    dense_rank=dense_rank.get(sid),
                    lexical_rank=lexical_rank.get(sid),
                    title=doc.title,
                    path=doc.path,
                    context=before.text if before else "",
                )
            )
        return hits
