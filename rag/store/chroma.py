"""Chroma: explicit ids, batched crash-safe writes, nearest-neighbour queries.

Three collections per settings fingerprint (``rag-<fp>-chunks``, ``-sentences``,
``-documents``). Documents are written in batches: one write per collection per batch, the
records *last*; a document is deleted record *first*. So a document has a record only when
all its sentences and chunks are stored; entries without a record are orphans of an
interrupted ingest. An ingest marks the store as being written (its generation token reads
``writing-…``) and, when it finishes, gives it a new generation token; the next ingest that
finds a ``writing-`` mark knows one was interrupted and removes the orphans, and the local
lexical index (``rag.store.lexical``) knows whether it matches the store.

Reads and writes go straight to chromadb with compact metadata (llama-index's
``ChromaVectorStore`` stored a JSON copy of every node in its metadata); Chroma's full-text
index and the unfiltered metadata indexes are off. Embeddings are always passed explicitly.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.errors import StoreError, StoreMismatchError
from rag.store.client import ClientUse, open_client, server_errors, uses_client
from rag.store.lock import FolderLock
from rag.store.schema import (
    TEXT_KEY,
    chunk_metadata,
    collection_schema,
    record_from_metadata,
    record_metadata,
    sentence_from_metadata,
    sentence_metadata,
)
from rag.store.texts import PARTS_KEY, TEXTS, doc_id_of, part_count, read_text, write_texts
from rag.types import Document, DocumentRecord, Sentence

if TYPE_CHECKING:
    import numpy as np

    from rag.ingest.chunking import EmbeddingInput

_PAGE = 5000
_KINDS = ("chunks", "sentences", "documents")
WRITING = "writing-"
GENERATION_KEY = "rag:generation"


@dataclass(frozen=True)
class DenseHit:
    """One nearest neighbour from Chroma: id, cosine similarity and its metadata; a sentence hit
    carries the stored sentence."""

    node_id: str
    doc_id: str
    similarity: float
    metadata: dict
    sentence: Sentence | None = None


@dataclass(frozen=True)
class StoredDocument:
    """A document ready to be written: its text and record, its sentences and chunks with vectors."""

    document: Document
    sentences: tuple[Sentence, ...]
    inputs: tuple[EmbeddingInput, ...]
    vectors: tuple[tuple[np.ndarray, np.ndarray], ...]
    chunks: int | None = None  # how many chunks it has, when ``inputs`` holds only some (or none)

    @property
    def record(self) -> DocumentRecord:
        """The record written for it (each sentence lies in exactly one chunk)."""
        return DocumentRecord.of(self.document, len(self.sentences), len(self.inputs) if self.chunks is None else self.chunks)


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
        self.settings = settings
        self.fingerprint = settings.fingerprint()
        self.client = client or open_client(settings, create=create)
        self._opened_client = client is None
        self._client_use = ClientUse()
        folder = Path(settings.store_dir)
        self._folder_lock = None
        if not settings.store_url and folder.is_dir():
            self._folder_lock = FolderLock.shared(folder)
            self._release = weakref.finalize(self, self._folder_lock.release)
        self._check_fingerprint()
        # Stores written before texts were kept in parts have no texts collection (and read none).
        self._open_collections(create, texts=create or self._has(TEXTS))
        self._batch = max(1, min(_PAGE, int(self.client.get_max_batch_size())))

    def close(self) -> None:
        """Let other processes write to an embedded store again (also done when garbage-collected)."""
        if self._folder_lock is not None:
            self._release()

    def unload_vectors(self) -> None:
        """Give back the memory of an embedded store's vector indexes. Chroma keeps each
        collection's index in memory once used (some 2.6 KiB a vector) and a long document
        leaves hundreds of MiB of it that the rest of its ingest does not need: the client is
        closed and opened again, and the next search loads the indexes from disk. A server's
        client, or one given to the store, is kept."""
        if self.settings.store_url or not self._opened_client:
            return
        from rag.memory import give_back_freed_memory

        with self._client_use.alone():  # a search in another thread finishes first
            self.client.close()
            self.client = open_client(self.settings, create=False)
            self._open_collections(False, texts=self._texts is not None)
        give_back_freed_memory()

    def _open_collections(self, create: bool, texts: bool) -> None:
        """Open (or create) the store's collections on ``self.client``; the texts one if ``texts``."""
        self._collections = {kind: self._collection(kind, create) for kind in _KINDS}
        self._texts = self._collection(TEXTS, create) if texts else None

    def writing(self) -> contextlib.AbstractContextManager:
        """Hold an embedded store alone while writing (a server serialises writes itself)."""
        return self._folder_lock.writing() if self._folder_lock else contextlib.nullcontext()

    def local_folder(self) -> Path:
        """Where this machine keeps the store's local lexical index: inside an embedded store
        folder, or in the user's cache for a server."""
        import hashlib

        if self.settings.store_url:
            key = hashlib.sha256(self.settings.store_url.encode()).hexdigest()[:16]
            return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rag" / "lexical" / key / self.fingerprint
        return Path(self.settings.store_dir) / "lexical" / self.fingerprint

    def _name(self, kind: str) -> str:
        return f"rag-{self.fingerprint}-{kind}"

    def _check_fingerprint(self) -> None:
        names = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
        ours = {self._name(kind) for kind in _KINDS}
        others = sorted({n.split("-")[1] for n in names if n.startswith("rag-") and n not in ours})
        if others and not (ours & names):
            where = self.settings.store_url or self.settings.store_dir
            raise StoreMismatchError(
                f"the store at {where} was built with other settings or by an older rag (fingerprint "
                f"{others[0]}, these settings give {self.fingerprint}: another embedding model, splitter or "
                "store layout); rebuild it into a new store: rag ingest PATH --store NEW_DIR, or delete the old one"
            )

    def _has(self, kind: str) -> bool:
        return self._name(kind) in {c if isinstance(c, str) else c.name for c in self.client.list_collections()}

    def _collection(self, kind: str, create: bool):
        name = self._name(kind)
        try:
            if create:
                return self.client.get_or_create_collection(
                    name, schema=collection_schema(kind), metadata={"rag:fingerprint": self.fingerprint}, embedding_function=None
                )
            return self.client.get_collection(name, embedding_function=None)
        except Exception as exc:
            if not create:
                raise StoreError("the store has no index for these settings yet; build it: rag ingest PATH") from None
            raise StoreError(f"cannot open collection {name}: {exc}") from None

    # ---- the generation token --------------------------------------------------------------

    @server_errors
    @uses_client
    def generation(self) -> str:
        """The token of the store's last completed write (``writing-…`` while one runs or after
        one was interrupted; empty for a store no ingest has finished)."""
        collection = self.client.get_collection(self._name("documents"), embedding_function=None)
        return str((collection.metadata or {}).get(GENERATION_KEY, ""))

    @server_errors
    @uses_client
    @_writes
    def begin_writing(self) -> str:
        """Mark the store as being written; returns the mark."""
        mark = WRITING + uuid.uuid4().hex
        self._set_generation(mark)
        return mark

    @server_errors
    @uses_client
    @_writes
    def finish_writing(self) -> str:
        """Give the store a new generation token (its writes are complete); returns it."""
        token = uuid.uuid4().hex
        self._set_generation(token)
        return token

    def _set_generation(self, token: str) -> None:
        self._collections["documents"].modify(metadata={"rag:fingerprint": self.fingerprint, GENERATION_KEY: token})

    # ---- documents -------------------------------------------------------------------------

    @server_errors
    @uses_client
    def document_records(self) -> dict[str, DocumentRecord]:
        """doc_id -> record of every completely stored document (a scan of the store)."""
        records: dict[str, DocumentRecord] = {}
        for ids, metadatas in self._scan("documents"):
            records.update((doc_id, record_from_metadata(doc_id, meta)) for doc_id, meta in zip(ids, metadatas))
        return records

    @server_errors
    @uses_client
    def document(self, doc_id: str) -> Document | None:
        """The stored document (text as ingested) or None."""
        got = self._collections["documents"].get(ids=[doc_id], include=["metadatas"])
        if not got["ids"]:
            return None
        meta = got["metadatas"][0]
        text = meta.get(TEXT_KEY)  # the whole text, in records written by earlier versions
        if text is None and self._texts is not None:
            text = read_text(self._texts, doc_id, int(meta.get(PARTS_KEY, 0)))
        return None if text is None else record_from_metadata(doc_id, meta).document(text)

    def put_documents(self, batch: Sequence[StoredDocument]) -> list[DocumentRecord]:
        """Store new documents with their sentences and chunks: one write per collection for
        the whole batch, the records last. Returns the records written."""
        self.put_parts(batch)
        return self.put_records(batch)

    @server_errors
    @uses_client
    @_writes
    def put_parts(self, batch: Sequence[StoredDocument]) -> None:
        """Store the sentences and chunks of ``batch`` (all of a document's, or a slice of them)
        without their records: until ``put_records`` writes those, they are orphans."""
        sentence_ids, sentence_vectors, sentence_meta = [], [], []
        chunk_ids, chunk_vectors, chunk_meta = [], [], []
        for stored in batch:
            document = stored.document
            by_id = {s.sentence_id: s for s in stored.sentences}
            for item, (chunk_vector, sentence_matrix) in zip(stored.inputs, stored.vectors):
                chunk = item.chunk
                chunk_ids.append(chunk.chunk_id)
                chunk_vectors.append(chunk_vector)
                chunk_meta.append(chunk_metadata(document.doc_id, chunk))
                for sentence_id, vector in zip(chunk.sentence_ids, sentence_matrix):
                    sentence_ids.append(sentence_id)
                    sentence_vectors.append(vector)
                    sentence_meta.append(sentence_metadata(by_id[sentence_id], chunk.chunk_id))
        self._upsert("sentences", sentence_ids, sentence_vectors, sentence_meta)
        self._upsert("chunks", chunk_ids, chunk_vectors, chunk_meta)

    @server_errors
    @uses_client
    @_writes
    def put_records(self, batch: Sequence[StoredDocument]) -> list[DocumentRecord]:
        """Write the records of documents whose sentences and chunks are stored; returns them."""
        import numpy as np

        records = [stored.record for stored in batch]
        write_texts(self._texts, [(s.document.doc_id, s.document.text) for s in batch])
        self._upsert(
            "documents",
            [r.doc_id for r in records],
            [np.ones(1, dtype="float32")] * len(records),
            [{**record_metadata(r, self.fingerprint), PARTS_KEY: part_count(s.document.text)} for r, s in zip(records, batch)],
        )
        return records

    def _upsert(self, kind: str, ids: list, vectors: list, metadatas: list) -> None:
        import numpy as np

        collection = self._collections[kind]
        for i in range(0, len(ids), self._batch):
            part = slice(i, i + self._batch)
            collection.upsert(
                ids=ids[part],
                embeddings=np.asarray(vectors[part], dtype="float32"),
                metadatas=metadatas[part],
            )

    @server_errors
    @uses_client
    @_writes
    def relocate(self, record: DocumentRecord) -> None:
        """Rewrite a document's record (its paths, its title) without touching its vectors."""
        self._collections["documents"].update(ids=[record.doc_id], metadatas=[record_metadata(record, self.fingerprint)])

    @server_errors
    @uses_client
    @_writes
    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Remove documents: their records first, then their sentences and chunks."""
        doc_ids = list(doc_ids)
        for i in range(0, len(doc_ids), self._batch):
            part = doc_ids[i : i + self._batch]
            self._collections["documents"].delete(ids=part)
            where = {"document_id": part[0]} if len(part) == 1 else {"document_id": {"$in": part}}
            self._collections["sentences"].delete(where=where)
            self._collections["chunks"].delete(where=where)
            if self._texts is not None:
                self._texts.delete(where=where)

    @server_errors
    @uses_client
    @_writes
    def delete_orphans(self) -> int:
        """Delete sentences and chunks of documents without a record (an interrupted ingest);
        scans the whole store, so an ingest calls it only after an interrupted one."""
        complete = set(self.document_records())
        removed = 0
        for kind in ("sentences", "chunks"):
            orphans = [
                node_id
                for ids, metadatas in self._scan(kind)
                for node_id, meta in zip(ids, metadatas)
                if meta.get("document_id") not in complete
            ]
            for i in range(0, len(orphans), self._batch):
                self._collections[kind].delete(ids=orphans[i : i + self._batch])
            removed += len(orphans)
        if self._texts is not None:
            parts = [i for ids, _ in self._scan(TEXTS, include=()) for i in ids if doc_id_of(i) not in complete]
            for i in range(0, len(parts), self._batch):
                self._texts.delete(ids=parts[i : i + self._batch])
        return removed

    @server_errors
    @uses_client
    def counts(self) -> dict[str, int]:
        """Entries per collection."""
        return {kind: self._collections[kind].count() for kind in _KINDS}

    # ---- reading for retrieval ------------------------------------------------------------

    @server_errors
    @uses_client
    def all_sentences(self) -> Iterator[Sentence]:
        """Every stored sentence (a scan of the store, in no particular order)."""
        for ids, metadatas in self._scan("sentences"):
            for node_id, meta in zip(ids, metadatas):
                yield sentence_from_metadata(node_id, meta)

    @server_errors
    @uses_client
    def sentences_of(self, doc_id: str) -> list[Sentence]:
        """A document's stored sentences in order."""
        got = self._collections["sentences"].get(where={"document_id": doc_id}, include=["metadatas"])
        sentences = [sentence_from_metadata(i, m) for i, m in zip(got["ids"], got["metadatas"])]
        return sorted(sentences, key=lambda s: s.index)

    @server_errors
    @uses_client
    def sentences_by_id(self, sentence_ids: Sequence[str]) -> dict[str, Sentence]:
        """The stored sentences with the given ids."""
        if not sentence_ids:
            return {}
        got = self._collections["sentences"].get(ids=list(sentence_ids), include=["metadatas"])
        return {i: sentence_from_metadata(i, m) for i, m in zip(got["ids"], got["metadatas"])}

    @server_errors
    @uses_client
    def query_sentences(self, vector: Sequence[float], k: int, within: Collection[str] | None = None) -> list[DenseHit]:
        """Nearest sentences by cosine similarity, each with its stored sentence (only of the
        documents ``within``, when given)."""
        hits = self._query("sentences", vector, k, within)
        return [replace(hit, sentence=sentence_from_metadata(hit.node_id, hit.metadata)) for hit in hits]

    @server_errors
    @uses_client
    def query_chunks(self, vector: Sequence[float], k: int, within: Collection[str] | None = None) -> list[DenseHit]:
        """Nearest chunks by cosine similarity (only of the documents ``within``, when given)."""
        return self._query("chunks", vector, k, within)

    @server_errors
    @uses_client
    def sentence_embeddings(self, sentence_ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored vectors of the given sentences."""
        if not sentence_ids:
            return {}
        got = self._collections["sentences"].get(ids=list(sentence_ids), include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"]))

    def _query(self, kind: str, vector: Sequence[float], k: int, within: Collection[str] | None = None) -> list[DenseHit]:
        import numpy as np

        if k <= 0 or (within is not None and not within):
            return []
        where = None
        if within is not None:
            ids = sorted(within)
            where = {"document_id": ids[0]} if len(ids) == 1 else {"document_id": {"$in": ids}}
        got = self._collections[kind].query(
            query_embeddings=np.asarray([vector], dtype="float32"),
            n_results=k,
            where=where,
            include=["metadatas", "distances"],
        )
        hits = []
        for node_id, metadata, distance in zip(got["ids"][0], got["metadatas"][0], got["distances"][0]):
            metadata = dict(metadata or {})
            # Cosine space: distance = 1 - cosine similarity.
            hits.append(DenseHit(node_id, str(metadata.get("document_id", "")), 1.0 - float(distance), metadata))
        return hits

    def _scan(self, kind: str, include: tuple[str, ...] = ("metadatas",)):
        collection = self._texts if kind == TEXTS else self._collections[kind]
        offset = 0
        while True:
            got = collection.get(include=list(include), limit=_PAGE, offset=offset)
            if not got["ids"]:
                return
            yield got["ids"], got.get("metadatas") or [{}] * len(got["ids"])
            offset += len(got["ids"])
