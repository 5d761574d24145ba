"""Hybrid retrieval: dense (sentence and chunk vectors in Chroma) + BM25, fused by rank.

BM25 (the ``bm25s`` library) indexes each sentence with its context window (document title, the previous sentence and
the sentence itself, the sentence counted twice), so "He warned that…" is found by a question
naming the person the previous sentence introduced.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from rag.sections import page_of, section_label
from rag.types import Hit, Sentence

if TYPE_CHECKING:
    from rag.embedding import Embedder
    from rag.lexical import LexicalIndex
    from rag.scope import Scope
    from rag.store import Store

CHUNK_WEIGHT = 0.5


class Retriever:
    """Fuses dense sentence ranks, dense chunk ranks and BM25 ranks with reciprocal rank fusion;
    with a ``scope``, every one of them looks only at the documents it holds."""

    def __init__(self, store: Store, embedder: Embedder, index: LexicalIndex, settings, scope: Scope | None = None):
        self.store = store
        self.embedder = embedder
        self.index = index
        self.settings = settings
        self.within = scope.doc_ids if scope is not None else None

    def retrieve(self, query: str) -> list[Hit]:
        """The ``settings.retrieve_limit`` best sentences for ``query`` with their fused scores
        and similarities."""
        import numpy as np

        if not len(self.index):
            return []
        vector = self.embedder.embed_query(query)
        k = self.settings.rrf_k
        fused: dict[str, float] = defaultdict(float)
        dense_rank: dict[str, int] = {}
        similarity: dict[str, float] = {}
        known: dict[str, Sentence] = {}
        for rank, hit in enumerate(self.store.query_sentences(vector, self.settings.dense_candidates, self.within), 1):
            fused[hit.node_id] += 1.0 / (k + rank)
            dense_rank[hit.node_id] = rank
            similarity[hit.node_id] = hit.similarity
            known[hit.node_id] = hit.sentence
        for rank, hit in enumerate(self.store.query_chunks(vector, self.settings.chunk_candidates, self.within), 1):
            for sentence_id in str(hit.metadata.get("sentence_ids", "")).split(","):
                if sentence_id:
                    fused[sentence_id] += CHUNK_WEIGHT / (k + rank)
        lexical_rank: dict[str, int] = {}
        for rank, (row, _) in enumerate(self.index.search(query, self.settings.lexical_candidates, self.within), 1):
            sentence_id = self.index.sentence_id(row)
            fused[sentence_id] += 1.0 / (k + rank)
            lexical_rank[sentence_id] = rank
        rows = {sid: self.index.row_of(sid) for sid in fused}
        best = sorted((sid for sid, row in rows.items() if row is not None), key=lambda s: (-fused[s], s))
        best = best[: self.settings.retrieve_limit]
        previous = {sid: self.index.previous_id(rows[sid]) for sid in best}
        wanted = [sid for sid in {*best, *(p for p in previous.values() if p)} if sid not in known]
        known.update(self.store.sentences_by_id(wanted))
        missing = [sid for sid in best if sid not in similarity]
        for sid, stored in self.store.sentence_embeddings(missing).items():
            similarity[sid] = float(np.dot(np.asarray(stored, dtype="float32"), vector))
        hits = []
        for sid in best:
            sentence = known.get(sid)
            if sentence is None:
                continue
            record = self.index.records.get(sentence.doc_id)
            before = known.get(previous[sid] or "")
            hits.append(
                Hit(
                    sentence=sentence,
                    score=fused[sid],
                    dense_similarity=similarity.get(sid, 0.0),
                    dense_rank=dense_rank.get(sid),
                    lexical_rank=lexical_rank.get(sid),
                    title=record.title if record else "",
                    path=record.path if record else "",
                    context=before.text if before else "",
                    section=section_label(record.headings, sentence.start) if record else "",
                    page=page_of(record.pages, sentence.start) if record else None,
                )
            )
        return hits
