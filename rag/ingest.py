"""The ingest stage: files -> documents -> sentences -> chunks -> vectors -> the store.

New files are added, changed ones replaced, unchanged ones skipped (by content hash);
unreadable files are reported and the rest still ingests. Chunks of several small documents
share one embedding batch, and store writes run on one background thread, in order, while
the next batch embeds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rag.chunking import EmbeddingInput, chunk_document, sentence_budget
from rag.files import FileRejected, document_id, find_files, load_document
from rag.sentences import split_sentences
from rag.text import normalize_space
from rag.types import Document, DocumentRecord, IngestReport, Sentence, SkippedFile

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Prepared:
    """A document cut into sentences and chunks, waiting for its vectors."""

    document: Document
    sentences: tuple[Sentence, ...]
    inputs: tuple[EmbeddingInput, ...]
    replaces: DocumentRecord | None


def ingest_files(
    store, embedder, settings, paths: Iterable[str | Path], prune: bool = False, progress: Progress | None = None
) -> IngestReport:
    """Bring the store in line with ``paths``; with ``prune``, remove documents whose file is
    gone (or is no longer found under a given folder). The caller holds the store for writing."""
    started = time.perf_counter()
    paths = [Path(p) for p in paths]
    files, skipped = find_files(paths)
    added, updated, unchanged, removed = [], [], [], []
    store.delete_orphans()
    records = store.document_records()
    window = settings.embedding_window
    budget = sentence_budget(window)

    def fits(text: str) -> bool:
        return embedder.count_tokens(normalize_space(text)) <= budget

    seen: set[str] = set()
    pending: list[Prepared] = []
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-store-writer")
    writes: list[Future] = []

    def flush() -> None:
        """Embed the pending documents' chunks in one batch, then queue each document's write."""
        vectors = embedder.embed_chunks([item for p in pending for item in p.inputs])
        for prepared in pending:
            mine, vectors[: len(prepared.inputs)] = vectors[: len(prepared.inputs)], []
            writes.append(
                writer.submit(
                    store.put_document,
                    prepared.document,
                    prepared.sentences,
                    prepared.inputs,
                    mine,
                    replace=prepared.replaces is not None,
                )
            )
            (updated if prepared.replaces else added).append(prepared.document.path)
        pending.clear()
        while writes and writes[0].done():
            writes.pop(0).result()  # surface a failed write now

    try:
        for done, path in enumerate(files):
            if progress:
                progress(done, len(files), str(path))
            doc_id = document_id(path)
            seen.add(doc_id)
            try:
                document = load_document(path, settings.max_file_bytes)
            except FileRejected as reason:
                skipped.append(SkippedFile(str(path), str(reason)))
                continue
            record = records.get(doc_id)
            if record and record.content_hash == document.content_hash:
                unchanged.append(document.path)
                continue
            sentences = split_sentences(document, fits)
            inputs = chunk_document(document, sentences, embedder.count_tokens, window)
            pending.append(Prepared(document, sentences, inputs, record))
            if sum(len(p.inputs) for p in pending) >= settings.batch_size:
                flush()
        if pending:
            flush()
        for write in writes:
            write.result()
    finally:
        writer.shutdown(wait=True)
    if progress:
        progress(len(files), len(files), "")
    if prune:
        folders = [str(p.resolve()) + os.sep for p in paths if p.is_dir()]
        for doc_id, record in store.document_records().items():
            gone = not Path(record.path).exists()
            dropped = doc_id not in seen and any(record.path.startswith(f) for f in folders)
            if gone or dropped:
                store.delete_document(doc_id)
                removed.append(record.path)
    counts = store.counts()
    return IngestReport(
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        removed=tuple(removed),
        skipped=tuple(skipped),
        documents=counts["documents"],
        sentences=counts["sentences"],
        chunks=counts["chunks"],
        seconds=time.perf_counter() - started,
    )
