"""Chroma through llama-index's ChromaVectorStore: explicit ids, idempotent, crash-safe writes.

Three collections per settings fingerprint (``rag-<fp>-chunks``, ``-sentences``,
``-documents``). A document's record is written *last* and deleted *first*, so a document
has a record only when all its sentences and chunks are stored; entries without a record are
orphans of an interrupted ingest and are removed on the next one. Embeddings are always
passed explicitly: Chroma would otherwise try to download its own model.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.errors import StoreError, StoreMismatchError
from rag.store_client import open_client, server_errors
from rag.store_lock import FolderLock
from rag.types import Document, DocumentRecord, Sentence, SourceInfo

if TYPE_CHECKING:
    import numpy as np

    from rag.chunking import EmbeddingInput

_PAGE = 5000
# Chroma's default ef_search (100) missed the true nearest sentence for real questions here;
# a wider search costs a few milliseconds on stores of this size.
HNSW = {"space": "cosine", "ef_search": 512, "ef_construction": 200, "max_neighbors": 32}
_KINDS = ("chunks", "sentences", "documents")


@dataclass(frozen=True)
class DenseHit:
    """One nearest neighbour from Chroma: id, cosine similarity and its metadata."""

    node_id: str
    doc_id: str
    similarity: float
    metadata: dict


def _record(doc_id: str, meta: dict) -> DocumentRecord:
    return DocumentRecord(
        doc_id=doc_id,
        path=meta["path"],
        copies=tuple(p for p in str(meta.get("copies", "")).split("\n") if p),
        title=meta["title"],
        content_hash=meta["content_hash"],
        source=meta.get("source", ""),
        licence=meta.get("licence", ""),
        kind=meta.get("kind", "txt"),
        body_start=int(meta.get("body_start", 0)),
        sentences=int(meta.get("sentences", 0)),
        chunks=int(meta.get("chunks", 0)),
    )


def _metadata(record: DocumentRecord, fingerprint: str) -> dict:
    return {
        "path": record.path,
        "copies": "\n".join(record.copies),
        "title": record.title,
        "source": record.source,
        "licence": record.licence,
        "content_hash": record.content_hash,
        "body_start": record.body_start,
        "kind": record.kind,
        "sentences": record.sentences,
        "chunks": record.chunks,
        "fingerprint": fingerprint,
    }


def _writes(method: Callable) -> Callable:
    """Run a write method holding the store alone (see FolderLock)."""

    @functools.wraps(method)
    def alone(self: Store, *args, **kwargs):
        with self.writing():
            return method(self, *args, **kwargs)

    return alone


class Store:
    """The index of one settings fingerprint.

    Every public method raises StoreError, not a transport exception, when a Chroma server
    fails to answer within ``settings.store_timeout``.
    """

    def __init__(self, settings: Settings, create: bool = True, client=None):
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.settings = settings
        self.fingerprint = settings.fingerprint()
        self.client = client or open_client(settings, create=create)
        folder = Path(settings.store_dir)
        self._folder_lock = None
        if not settings.store_url and folder.is_dir():
            self._folder_lock = FolderLock.shared(folder)
            self._release = weakref.finalize(self, self._folder_lock.release)
        self._check_fingerprint()
        self._collections = {kind: self._collection(kind, create) for kind in _KINDS}
        self.chunk_vectors = ChromaVectorStore(chroma_collection=self._collections["chunks"])
        self.sentence_vectors = ChromaVectorStore(chroma_collection=self._collections["sentences"])

    def close(self) -> None:
        """Let other processes write to an embedded store again (also done when garbage-collected)."""
        if self._folder_lock is not None:
            self._release()

    def writing(self) -> contextlib.AbstractContextManager:
        """Hold an embedded store alone while writing (a server serialises writes itself)."""
        return self._folder_lock.writing() if self._folder_lock else contextlib.nullcontext()

    def _name(self, kind: str) -> str:
        return f"rag-{self.fingerprint}-{kind}"

    def _check_fingerprint(self) -> None:
        names = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
        ours = {self._name(kind) for kind in _KINDS}
        others = sorted({n.split("-")[1] for n in names if n.startswith("rag-") and n not in ours})
        if others and not (ours & names):
            where = self.settings.store_url or self.settings.store_dir
            raise StoreMismatchError(
                f"the store at {where} was built with other settings (fingerprint {others[0]}, "
                f"these settings give {self.fingerprint}: another embedding model or splitter); "
                "rebuild it into a new store: rag ingest PATH --store NEW_DIR, or delete the old one"
            )

    def _collection(self, kind: str, create: bool):
        name = self._name(kind)
        try:
            if create:
                return self.client.get_or_create_collection(
                    name,
                    configuration={"hnsw": HNSW},
                    metadata={"rag:fingerprint": self.fingerprint},
                    embedding_function=None,
                )
            return self.client.get_collection(name, embedding_function=None)
        except Exception as exc:
            if not create:
                raise StoreError(
                    f"the store has no index for these settings yet; build it: rag ingest PATH"
                ) from None
            raise StoreError(f"cannot open collection {name}: {exc}") from None

    # ---- documents -------------------------------------------------------------------------

    @server_errors
    def document_records(self) -> dict[str, DocumentRecord]:
        """doc_id -> record of every completely stored document."""
        records: dict[str, DocumentRecord] = {}
        for ids, metadatas, _ in self._scan("documents", include=["metadatas"]):
            records.update((doc_id, _record(doc_id, meta)) for doc_id, meta in zip(ids, metadatas))
        return records

    @server_errors
    def document(self, doc_id: str) -> Document | None:
        """The stored document (text as ingested) or None."""
        got = self._collections["documents"].get(ids=[doc_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        record = _record(doc_id, got["metadatas"][0])
        return Document(
            doc_id=doc_id,
            path=record.path,
            title=record.title,
            text=got["documents"][0],
            content_hash=record.content_hash,
            body_start=record.body_start,
            source=record.source,
            licence=record.licence,
            kind=record.kind,
            copies=record.copies,
        )

    @server_errors
    def sources(self) -> list[SourceInfo]:
        """Every stored document, sorted by path."""
        return sorted(
            (r.info(missing=not any(os.path.exists(p) for p in r.paths)) for r in self.document_records().values()),
            key=lambda s: s.path,
        )

    @server_errors
    @_writes
    def put_document(
        self,
        document: Document,
        sentences: Sequence[Sentence],
        inputs: Sequence[EmbeddingInput],
        vectors: Sequence[tuple[np.ndarray, np.ndarray]],
    ) -> None:
        """Store a new ``document`` with its sentences and chunks, its record last (ids come
        from content, so a document that is stored already is never put again)."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        source = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=document.doc_id)}
        by_id = {s.sentence_id: s for s in sentences}
        chunk_nodes, sentence_nodes = [], []
        for item, (chunk_vector, sentence_matrix) in zip(inputs, vectors):
            chunk = item.chunk
            chunk_nodes.append(
                TextNode(
                    id_=chunk.chunk_id,
                    text=chunk.text,
                    embedding=chunk_vector.tolist(),
                    metadata={
                        "kind": "chunk",
                        "start": chunk.start,
                        "end": chunk.end,
                        "tokens": chunk.token_count,
                        "sentence_ids": ",".join(chunk.sentence_ids),
                    },
                    relationships=source,
                )
            )
            for sentence_id, vector in zip(chunk.sentence_ids, sentence_matrix):
                sentence = by_id[sentence_id]
                sentence_nodes.append(
                    TextNode(
                        id_=sentence_id,
                        text=sentence.text,
                        embedding=vector.tolist(),
                        metadata={
                            "kind": "sentence",
                            "index": sentence.index,
                            "start": sentence.start,
                            "end": sentence.end,
                            "chunk_id": chunk.chunk_id,
                        },
                        relationships=source,
                    )
                )
        if sentence_nodes:
            self.sentence_vectors.add(sentence_nodes)
        if chunk_nodes:
            self.chunk_vectors.add(chunk_nodes)
        unit = [1.0] + [0.0] * (len(vectors[0][0]) - 1) if vectors else [1.0]
        self._collections["documents"].upsert(
            ids=[document.doc_id],
            embeddings=[unit],
            documents=[document.text],
            metadatas=[_metadata(DocumentRecord.of(document, len(sentence_nodes), len(chunk_nodes)), self.fingerprint)],
        )

    @server_errors
    @_writes
    def relocate(self, record: DocumentRecord) -> None:
        """Rewrite a document's record (its paths, its title) without touching its vectors."""
        self._collections["documents"].update(ids=[record.doc_id], metadatas=[_metadata(record, self.fingerprint)])

    @server_errors
    @_writes
    def delete_document(self, doc_id: str) -> None:
        """Remove a document: its record first, then its sentences and chunks."""
        self._collections["documents"].delete(ids=[doc_id])
        self.sentence_vectors.delete(doc_id)
        self.chunk_vectors.delete(doc_id)

    @server_errors
    @_writes
    def delete_orphans(self) -> int:
        """Delete sentences and chunks of documents without a record (an interrupted ingest)."""
        complete = set(self.document_records())
        removed = 0
        for kind in ("sentences", "chunks"):
            orphans = [
                node_id
                for ids, metadatas, _ in self._scan(kind, include=["metadatas"])
                for node_id, meta in zip(ids, metadatas)
                if meta.get("document_id") not in complete
            ]
            for i in range(0, len(orphans), _PAGE):
                self._collections[kind].delete(ids=orphans[i : i + _PAGE])
            removed += len(orphans)
        return removed

    @server_errors
    def counts(self) -> dict[str, int]:
        """Entries per collection."""
        return {kind: self._collections[kind].count() for kind in _KINDS}

    # ---- reading for retrieval ------------------------------------------------------------

    @server_errors
    def all_sentences(self) -> list[Sentence]:
        """Every stored sentence, ordered by document and position."""
        sentences = [
            Sentence(
                sentence_id=node_id,
                doc_id=meta["document_id"],
                index=int(meta["index"]),
                start=int(meta["start"]),
                end=int(meta["end"]),
                text=text,
            )
            for ids, metadatas, texts in self._scan("sentences", include=["metadatas", "documents"])
            for node_id, meta, text in zip(ids, metadatas, texts)
        ]
        sentences.sort(key=lambda s: (s.doc_id, s.index))
        return sentences

    @server_errors
    def query_sentences(self, vector: Sequence[float], k: int) -> list[DenseHit]:
        """Nearest sentences by cosine similarity (through llama-index's ChromaVectorStore)."""
        return self._query(self.sentence_vectors, vector, k)

    @server_errors
    def query_chunks(self, vector: Sequence[float], k: int) -> list[DenseHit]:
        """Nearest chunks by cosine similarity."""
        return self._query(self.chunk_vectors, vector, k)

    @server_errors
    def sentence_embeddings(self, sentence_ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored vectors of the given sentences."""
        if not sentence_ids:
            return {}
        got = self._collections["sentences"].get(ids=list(sentence_ids), include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"]))

    def _query(self, vector_store, vector: Sequence[float], k: int) -> list[DenseHit]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        result = vector_store.query(VectorStoreQuery(query_embedding=list(map(float, vector)), similarity_top_k=k))
        hits = []
        for node, similarity in zip(result.nodes, result.similarities):
            # ChromaVectorStore reports exp(-distance); with cosine space distance = 1 - cos.
            cosine = 1.0 + math.log(similarity) if similarity > 0 else -1.0
            hits.append(DenseHit(node.node_id, node.ref_doc_id or "", cosine, dict(node.metadata)))
        return hits

    def _scan(self, kind: str, include: list[str]):
        collection = self._collections[kind]
        offset = 0
        while True:
            got = collection.get(include=include, limit=_PAGE, offset=offset)
            if not got["ids"]:
                return
            yield got["ids"], got.get("metadatas") or [{}] * len(got["ids"]), got.get("documents") or [""] * len(got["ids"])
            offset += len(got["ids"])
