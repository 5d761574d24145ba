"""Hybrid retrieval: dense (sentence and chunk vectors in Chroma) + BM25, fused by rank.

BM25 (the ``bm25s`` library) indexes each sentence with its context window (document title, the previous sentence and
the sentence itself, the sentence counted twice), so "He warned that…" is found by a question
naming the person the previous sentence introduced.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from rag.ingest.sections import heading_between, page_of, section_label
from rag.ask.types import Hit
from rag.types import Sentence

if TYPE_CHECKING:
    from rag.models.embedding import Embedder
    from rag.store.lexical import LexicalIndex
    from rag.ask.types import Scope
    from rag.store.chroma import Store

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
            before = known.get(previous[sid] or "")
            hits.append(
                self._hit(
                    sentence,
                    before,
                    score=fused[sid],
                    dense_similarity=similarity.get(sid, 0.0),
                    dense_rank=dense_rank.get(sid),
                    lexical_rank=lexical_rank.get(sid),
                )
            )
        return hits

    def neighbours(self, hit: Hit, before: int, after: int) -> list[Hit]:
        """The sentences up to ``before`` ahead of ``hit`` and ``after`` behind it in its
        document, in document order, without ``hit`` itself (not retrieved: no scores)."""
        row = self.index.row_of(hit.sentence.sentence_id)
        if row is None:
            return []
        docs = self.index.docs
        rows = [r for r in range(max(0, row - before - 1), min(len(self.index), row + after + 1)) if docs[r] == docs[row]]
        ids = [self.index.sentence_id(r) for r in rows]
        known = self.store.sentences_by_id(ids)
        hits = []
        for previous, sid in zip([None, *ids], ids):
            sentence = known.get(sid)
            if sentence is None or sid == hit.sentence.sentence_id or (previous is None and rows[0] < row - before):
                continue
            hits.append(self._hit(sentence, known.get(previous or ""), score=0.0))
        return hits

    def _hit(self, sentence: Sentence, before: Sentence | None, **scores) -> Hit:
        record = self.index.records.get(sentence.doc_id)
        return Hit(
            sentence=sentence,
            title=record.title if record else "",
            path=record.path if record else "",
            context=_context(record, before, sentence),
            section=section_label(record.headings, sentence.start) if record else "",
            page=page_of(record.pages, sentence.start) if record else None,
            **scores,
        )


def _context(record, before, sentence) -> str:
    """What a sentence is read after: the previous sentence, or the heading between the two
    (the first sentence of a section follows its heading, not the end of the last section)."""
    heading = heading_between(record.headings, before.end if before else 0, sentence.start) if record else None
    if heading is not None:
        return heading.text
    return before.text if before else ""
