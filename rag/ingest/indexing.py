"""The ingest stage: files -> documents -> sentences -> chunks -> vectors -> the store.

A document is its content (sha256 of the file's bytes): a new content is embedded and stored;
a content already stored is never embedded again, and finding it at a new path (a moved or
renamed file) only rewrites its record; the same bytes in two live files are one document
with a copy. A changed file is a new content: it is stored, then the old one goes (unless
another file still holds it). Unreadable files are reported and the rest still ingests.
Chunks of several small documents share one embedding batch, and store writes run on one
background thread, in order, while the next batch embeds. A long document is embedded and
written a slice of chunks at a time, its record last, so memory holds one slice of vectors.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, replace
from pathlib import Path

from rag.ingest.chunking import EmbeddingInput, chunk_document, sentence_budget
from rag.errors import RagError
from rag.memory import give_back_freed_memory
from rag.ingest.files import FileRejected, find_files, load_document
from rag.store.lexical import NewDocument
from rag.ingest.sentences import split_sentences
from rag.store.chroma import StoredDocument
from rag.text import normalize_space
from rag.types import Document, DocumentRecord, IngestReport, Sentence, SkippedFile

Progress = Callable[[int, int, str], None]
LONG_DOCUMENT_CHUNKS = 256  # a document of more chunks is embedded and written a slice at a time
SLICE_CHUNKS = 64  # chunks of a long document embedded and written together


@dataclass(frozen=True)
class IndexChanges:
    """What an ingest changed, for the lexical index: documents added (or to re-index), removed,
    and every record as it stands now."""

    added: tuple[NewDocument, ...]
    removed: frozenset[str]
    records: dict[str, DocumentRecord]


@dataclass(frozen=True)
class Prepared:
    """A new document cut into sentences and chunks, waiting for its vectors."""

    document: Document
    sentences: tuple[Sentence, ...]
    inputs: tuple[EmbeddingInput, ...]


class Catalogue:
    """The stored records as this ingest changes them: which content is known at which paths."""

    def __init__(self, records: dict[str, DocumentRecord]):
        self.records = dict(records)
        self.by_hash = {r.content_hash: r.doc_id for r in records.values()}
        self.by_path: dict[str, set[str]] = {}
        for record in records.values():
            for path in record.paths:
                self.by_path.setdefault(path, set()).add(record.doc_id)
        self.changed: set[str] = set()
        self.emptied: set[str] = set()

    def add(self, record: DocumentRecord) -> None:
        """A record written during this ingest."""
        self.records[record.doc_id] = record

    def claiming(self, path: str) -> list[DocumentRecord]:
        """The records that say ``path`` holds their content."""
        return [self.records[d] for d in sorted(self.by_path.get(path, ())) if d not in self.emptied]

    def known(self, content_hash: str) -> DocumentRecord | None:
        """The record of a content already stored, if any."""
        doc_id = self.by_hash.get(content_hash)
        return self.records.get(doc_id) if doc_id else None

    def set_paths(self, record: DocumentRecord, paths: list[str], title: str | None = None) -> None:
        """Give ``record`` these paths (the first one cites); none left means it is to be removed."""
        for path in record.paths:
            self.by_path.get(path, set()).discard(record.doc_id)
        for path in paths:
            self.by_path.setdefault(path, set()).add(record.doc_id)
        if not paths:
            self.emptied.add(record.doc_id)
            self.changed.discard(record.doc_id)
            return
        updated = replace(record, path=paths[0], copies=tuple(paths[1:]), title=title or record.title)
        if updated != record:
            self.records[record.doc_id] = updated
            self.changed.add(record.doc_id)


def ingest_files(
    store,
    embedder,
    settings,
    paths: Iterable[str | Path],
    records: dict[str, DocumentRecord],
    prune: bool = False,
    progress: Progress | None = None,
) -> tuple[IngestReport, IndexChanges]:
    """Bring the store in line with ``paths``, given its ``records``; with ``prune``, remove
    documents none of whose files exists (or is still found under a given folder). The caller
    holds the store for writing."""
    started = time.perf_counter()
    paths = [Path(p) for p in paths]
    files, skipped = find_files(paths, follow_outside=settings.follow_links_outside)
    added, updated, unchanged, moved, copies = [], [], [], [], []
    catalogue = Catalogue(records)
    window = settings.embedding_window
    budget = sentence_budget(window)

    def fits(text: str) -> bool:
        return embedder.count_tokens(normalize_space(text)) <= budget

    seen: set[str] = set()
    pending: list[Prepared] = []
    new_by_hash: dict[str, int] = {}  # content hash -> index in ``new`` (for copies within this run)
    new: list[Document] = []
    written: dict[str, NewDocument] = {}  # content hash -> the document as put
    embedded: list[StoredDocument] = []  # waiting to be written
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-store-writer")
    writes: list[Future] = []

    def write(force: bool = False) -> None:
        """Queue batched writes of the embedded documents, about ``write_batch`` sentences each
        (the rest too when ``force``)."""
        while embedded and (force or sum(len(d.sentences) for d in embedded) >= settings.write_batch):
            size = 0
            batch = []
            while embedded and (size < settings.write_batch or not batch):
                batch.append(embedded.pop(0))
                size += len(batch[-1].sentences)
            writes.append(writer.submit(store.put_documents, batch))
            for stored in batch:
                written[stored.document.content_hash] = NewDocument(stored.record, stored.sentences)
        while writes and writes[0].done():
            writes.pop(0).result()  # surface a failed write now

    embedded_tokens = [0]

    def fail(path: Path | str, exc: Exception) -> None:
        """One file's unexpected failure becomes its skip reason; the rest of the batch goes on."""
        skipped.append(SkippedFile(str(path), failure_reason(exc)))

    def drop(prepared: Prepared, exc: Exception) -> None:
        """A new document whose embedding failed: not added, its failure its skip reason."""
        here = prepared.document.path
        for kept in (added, updated):
            if here in kept:
                kept.remove(here)
        del new_by_hash[prepared.document.content_hash]
        fail(here, exc)

    def embed_each() -> list:
        """Embed the pending documents one by one, skipping those that fail alone."""
        vectors = []
        for prepared in list(pending):
            try:
                vectors += embedder.embed_chunks(prepared.inputs)
            except RagError:
                raise
            except Exception as exc:  # this document's own failure
                pending.remove(prepared)
                drop(prepared, exc)
        return vectors

    def stream(prepared: Prepared, queue: list) -> None:
        """Embed and write a long document ``SLICE_CHUNKS`` chunks at a time (one slice's write
        overlaps the next slice's embedding), then its record. Its chunks come in ``queue``
        (``prepared.inputs`` is empty), which is emptied as they are written."""
        write(force=True)  # the documents before it are written first
        by_id = {s.sentence_id: s for s in prepared.sentences}
        document, last, chunks = prepared.document, None, len(queue)
        try:
            while queue:
                part = tuple(queue[:SLICE_CHUNKS])
                del queue[:SLICE_CHUNKS]  # written chunks are not kept
                vectors = tuple(embedder.embed_chunks(part))
                embedded_tokens[0] += sum(item.chunk.token_count for item in part)
                own = tuple(by_id[i] for item in part for i in item.chunk.sentence_ids)
                if last is not None:
                    last.result()
                last = writer.submit(store.put_parts, [StoredDocument(document, own, part, vectors)])
            last.result()
        except RagError:
            raise
        except Exception as exc:  # this document's own failure: remove what of it was written
            if last is not None:
                futures_wait([last])
            store.delete_documents([document.doc_id])
            drop(prepared, exc)
            return
        stored = StoredDocument(new[new_by_hash[document.content_hash]], prepared.sentences, (), (), chunks)
        writes.append(writer.submit(store.unload_vectors))  # after its parts, on the one writer thread
        writes.append(writer.submit(store.put_records, [stored]))
        written[document.content_hash] = NewDocument(stored.record, stored.sentences)

    def flush() -> None:
        """Embed the pending documents' chunks in one batch (one by one should the batch fail)."""
        inputs = [item for p in pending for item in p.inputs]
        try:
            vectors = embedder.embed_chunks(inputs)
        except RagError:
            raise
        except Exception:
            vectors = embed_each()
        embedded_tokens[0] += sum(item.chunk.token_count for p in pending for item in p.inputs)
        for prepared in pending:
            mine, vectors[: len(prepared.inputs)] = vectors[: len(prepared.inputs)], []
            document = new[new_by_hash[prepared.document.content_hash]]  # with the copies found since
            embedded.append(StoredDocument(document, prepared.sentences, prepared.inputs, tuple(mine)))
        pending.clear()
        write()

    try:
        for done, path in enumerate(files):
            if progress:
                progress(done, len(files), str(path))
            try:
                document = load_document(
                    path, settings.max_file_bytes, max_pdf_pages=settings.max_pdf_pages, max_text_chars=settings.max_text_chars
                )
            except FileRejected as reason:
                skipped.append(SkippedFile(str(path), str(reason)))
                continue
            except Exception as exc:  # any failure of one file (a PDF library's own error, say)
                fail(path, exc)
                continue
            here = document.path
            seen.add(here)
            # This file no longer holds what other records say it holds.
            earlier = [r for r in catalogue.claiming(here) if r.content_hash != document.content_hash]
            for record in earlier:
                catalogue.set_paths(record, [p for p in record.paths if p != here])
            record = catalogue.known(document.content_hash)
            if record is not None:
                if here in record.paths:
                    unchanged.append(here)
                    continue
                live = [p for p in record.paths if os.path.exists(p)]
                if live:
                    catalogue.set_paths(record, [*live, here])
                    copies.append(here)
                else:
                    catalogue.set_paths(record, [here], title=document.title)
                    moved.append(f"{record.path} -> {here}")
                continue
            if document.content_hash in new_by_hash:
                first = new[new_by_hash[document.content_hash]]
                new[new_by_hash[document.content_hash]] = replace(first, copies=(*first.copies, here))
                copies.append(here)
                continue
            try:
                sentences = split_sentences(document, fits)
                inputs = chunk_document(document, sentences, embedder.count_tokens, window)
            except Exception as exc:
                fail(here, exc)
                continue
            (updated if earlier else added).append(here)
            new_by_hash[document.content_hash] = len(new)
            new.append(document)
            if len(inputs) > LONG_DOCUMENT_CHUNKS:
                if pending:
                    flush()
                queue, inputs = list(inputs), ()
                stream(Prepared(document, sentences, ()), queue)
                continue
            pending.append(Prepared(document, sentences, inputs))
            if sum(len(p.inputs) for p in pending) >= settings.batch_size:
                flush()
        if pending:
            flush()
        write(force=True)
        for queued in writes:
            queued.result()
    finally:
        writer.shutdown(wait=True)
        give_back_freed_memory()  # the vectors and store writes of this batch
    if progress:
        progress(len(files), len(files), "")
    for content_hash, stored in written.items():  # copies found after the document was written
        catalogue.add(stored.record)
        final = new[new_by_hash[content_hash]]
        if final.copies != stored.record.copies:
            catalogue.set_paths(stored.record, list(final.paths))
    retitled = {d for d in catalogue.changed if d in records and catalogue.records[d].title != records[d].title}
    removed = _apply(store, catalogue, seen, paths if prune else None)
    # Documents whose files are gone, among those this ingest was asked about (checking every
    # document of a large store would cost a stat each).
    scope = [os.path.realpath(p) + (os.sep if p.is_dir() else "") for p in paths]
    missing = [
        r.path
        for r in catalogue.records.values()
        if any(q == s or q.startswith(s) for q in r.paths for s in scope) and not _exists(r)
    ]
    counts = store.counts()
    reindexed = tuple(NewDocument(catalogue.records[d], tuple(store.sentences_of(d))) for d in sorted(retitled))
    changes = IndexChanges(
        added=(*(w for w in written.values()), *reindexed),
        removed=frozenset(catalogue.emptied | retitled),
        records=dict(catalogue.records),
    )
    report = IngestReport(
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        moved=tuple(moved),
        copies=tuple(copies),
        removed=tuple(removed),
        skipped=tuple(skipped),
        missing=tuple(sorted(missing)),
        documents=counts["documents"],
        sentences=counts["sentences"],
        chunks=counts["chunks"],
        seconds=time.perf_counter() - started,
        tokens_embedded=embedded_tokens[0],
    )
    return report, changes


def failure_reason(exc: Exception) -> str:
    """The one-line skip reason for an unexpected failure of one file."""
    detail = " ".join(str(exc).split())[:160]
    return f"cannot be ingested ({type(exc).__name__}{': ' + detail if detail else ''}); the rest of the batch is kept"


def prune_missing(store, records: dict[str, DocumentRecord]) -> tuple[list[str], IndexChanges]:
    """Remove the documents none of whose files exists (and forget the paths of copies that are
    gone); returns the removed documents' paths. The caller holds the store for writing."""
    catalogue = Catalogue(records)
    removed = _apply(store, catalogue, set(), [])
    return removed, IndexChanges((), frozenset(catalogue.emptied), dict(catalogue.records))


def _apply(store, catalogue: Catalogue, seen: set[str], pruned_paths: list[Path] | None) -> list[str]:
    """Write the changed records, remove emptied documents (and, when pruning, the ones whose
    files are gone or no longer under a given folder); returns the removed paths."""
    removed = []
    if pruned_paths is not None:
        folders = [str(p.resolve()) + os.sep for p in pruned_paths if p.is_dir()]
        for record in list(catalogue.records.values()):
            if record.doc_id in catalogue.emptied:
                continue
            kept = [
                p for p in record.paths if os.path.exists(p) and (p in seen or not any(p.startswith(f) for f in folders))
            ]
            if not kept:
                removed.append(record.path)
            catalogue.set_paths(catalogue.records[record.doc_id], kept)
    for doc_id in sorted(catalogue.changed):
        store.relocate(catalogue.records[doc_id])
    if catalogue.emptied:
        store.delete_documents(sorted(catalogue.emptied))
    for doc_id in catalogue.emptied:
        catalogue.records.pop(doc_id, None)
    return removed


def _exists(record: DocumentRecord) -> bool:
    return any(os.path.exists(p) for p in record.paths)
