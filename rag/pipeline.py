"""The one place that knows the order of the stages; the API, CLI and UI all call ``Rag``."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from rag.config import Settings, load_settings
from rag.errors import InputError, StoreError
from rag.types import Answer, Document, IngestReport, SkippedFile, SourceInfo, Turn

MAX_QUESTION_CHARS = 2000
ANSWERERS = ("extractive", "llm")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

Progress = Callable[[int, int, str], None]


def clean_question(question: str) -> str:
    """Strip control characters and surrounding space; reject empty or over-long questions."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    cleaned = " ".join(_CONTROL.sub(" ", question).split())
    if not cleaned:
        raise InputError("the question is empty; type a question")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise InputError(f"the question has {len(cleaned)} characters; shorten it to {MAX_QUESTION_CHARS} or fewer")
    if not re.search(r"\w", cleaned):
        raise InputError("the question has no words; type a question")
    return cleaned


class Rag:
    """Open a store, ingest files, ask questions (with history), list sources.

    Models and the store open lazily on first use; one instance is safe to share between
    threads (writes and index rebuilds are serialised).
    """

    def __init__(
        self, settings: Settings | None = None, embedder=None, answerer=None, client=None, create_store: bool = True
    ):
        self.settings = settings or load_settings()
        self.create_store = create_store
        self._embedder = embedder
        self._answerer = answerer
        self._client = client
        self._store = None
        self._index = None
        self._documents: dict[str, Document | None] = {}
        self._lock = threading.RLock()  # lazily built parts and the lexical index
        self._ingest_lock = threading.Lock()  # one ingest at a time; questions are not blocked

    @classmethod
    def open(
        cls, store: str | Path | None = None, store_url: str | None = None, create: bool = True, **overrides
    ) -> Rag:
        """A ``Rag`` over the store folder (or server URL) with settings from rag.toml/env/overrides."""
        return cls(load_settings(store_dir=store, store_url=store_url, **overrides), create_store=create)

    # ---- lazily built parts ----------------------------------------------------------------

    @property
    def embedder(self):
        with self._lock:
            if self._embedder is None:
                from rag.embedding import SentenceTransformerEmbedder

                self._embedder = SentenceTransformerEmbedder(
                    threads=self.settings.threads, batch_size=self.settings.batch_size
                )
            return self._embedder

    @property
    def store(self):
        with self._lock:
            if self._store is None:
                from rag.store import Store

                self._store = Store(self.settings, create=self.create_store, client=self._client)
            return self._store

    @property
    def answerer(self):
        with self._lock:
            if self._answerer is None:
                self._answerer = make_answerer(self.settings)
            return self._answerer

    def close(self) -> None:
        """Release the store (another process may then write to an embedded folder); the next
        use opens it again."""
        with self._lock, self._ingest_lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            self._index = None
            self._documents.clear()

    def _lexical_index(self):
        with self._lock:
            if self._index is None:
                from rag.retrieval import DocInfo, LexicalIndex

                docs = {s.doc_id: DocInfo(s.title, s.path) for s in self.store.sources()}
                sentences = [s for s in self.store.all_sentences() if s.doc_id in docs]
                self._index = LexicalIndex(sentences, docs)
            return self._index

    def _invalidate(self) -> None:
        with self._lock:
            self._index = None
            self._documents.clear()

    def warm_up(self) -> None:
        """Load the embedding model, open the store and build the lexical index now."""
        self.embedder.embed_query("warm up")
        self._lexical_index()

    # ---- ingest ----------------------------------------------------------------------------

    def ingest(self, paths: Iterable[str | Path], prune: bool = False, progress: Progress | None = None) -> IngestReport:
        """Add new files, replace changed ones, skip unchanged ones (by content hash).

        Unreadable files are reported in ``skipped`` and the rest still ingests. With
        ``prune``, documents whose file is gone (or is no longer found under a given folder)
        are removed.
        """
        from rag.chunking import chunk_document, normalize_space, sentence_budget
        from rag.ingest import FileRejected, document_id, find_files, load_document
        from rag.sentences import split_sentences

        started = time.perf_counter()
        paths = [Path(p) for p in paths]
        files, skipped = find_files(paths)
        added, updated, unchanged, removed = [], [], [], []
        with self._ingest_lock, self.store.writing():
            store = self.store
            store.delete_orphans()
            records = store.document_records()
            embedder = self.embedder
            window = self.settings.embedding_window
            budget = sentence_budget(window)

            def fits(text: str) -> bool:
                return embedder.count_tokens(normalize_space(text)) <= budget

            seen: set[str] = set()
            pending: list[tuple] = []  # documents chunked but not yet embedded
            # Store writes run on one background thread, in order, while the next batch embeds.
            writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-store-writer")
            writes: list[Future] = []

            def flush() -> None:
                """Embed the pending documents' chunks in one batch, then queue each document's write."""
                vectors = embedder.embed_chunks([item for _, _, inputs, _ in pending for item in inputs])
                for document, sentences, inputs, record in pending:
                    mine, vectors[: len(inputs)] = vectors[: len(inputs)], []
                    writes.append(
                        writer.submit(store.put_document, document, sentences, inputs, mine, replace=record is not None)
                    )
                    (updated if record else added).append(document.path)
                pending.clear()
                while writes and writes[0].done():
                    writes.pop(0).result()  # surface a failed write now

            for done, path in enumerate(files):
                if progress:
                    progress(done, len(files), str(path))
                doc_id = document_id(path)
                seen.add(doc_id)
                try:
                    document = load_document(path, self.settings.max_file_bytes)
                except FileRejected as reason:
                    skipped.append(SkippedFile(str(path), str(reason)))
                    continue
                record = records.get(doc_id)
                if record and record.get("content_hash") == document.content_hash:
                    unchanged.append(document.path)
                    continue
                sentences = split_sentences(document, fits)
                inputs = chunk_document(document, sentences, embedder.count_tokens, window)
                pending.append((document, sentences, inputs, record))
                # Chunks of several small documents share one embedding batch.
                if sum(len(p[2]) for p in pending) >= self.settings.batch_size:
                    flush()
            try:
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
                    gone = not Path(record["path"]).exists()
                    dropped = doc_id not in seen and any(record["path"].startswith(f) for f in folders)
                    if gone or dropped:
                        store.delete_document(doc_id)
                        removed.append(record["path"])
            self._invalidate()
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

    # ---- asking ----------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: Sequence[Turn | tuple[str, str]] = (),
        answerer=None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer ``question`` from the indexed documents, every sentence cited and verified.

        ``on_token`` receives generated text as it streams (LLM answerer only); the returned
        answer is the verified one, which may differ from the stream.
        """
        from rag.conversation import retrieval_query
        from rag.retrieval import Retriever
        from rag.verify import verify_answer

        question = clean_question(question)
        turns = [t if isinstance(t, Turn) else Turn(*t) for t in history]
        query = retrieval_query(question, turns)
        index = self._lexical_index()
        if not index.sentences:
            raise StoreError("the index is empty; ingest documents first: rag ingest PATH")
        hits = Retriever(self.store, self.embedder, index, self.settings).retrieve(query)
        answerer = answerer or self.answerer
        draft = answerer.answer(question, query, hits, index.term_idf, on_token)
        return verify_answer(draft, self.document, answerer.checker)

    def document(self, doc_id: str) -> Document | None:
        """A stored document with its text as ingested (cached)."""
        with self._lock:
            if doc_id not in self._documents:
                self._documents[doc_id] = self.store.document(doc_id)
            return self._documents[doc_id]

    def sources(self) -> list[SourceInfo]:
        """Every indexed document."""
        return self.store.sources()

    def is_empty(self) -> bool:
        """True when nothing is indexed yet."""
        return self.store.counts()["documents"] == 0


def make_answerer(settings: Settings, name: str | None = None):
    """The answerer named in settings (or ``name``)."""
    from rag.answering import ExtractiveAnswerer

    chosen = name or settings.answerer
    if chosen == "extractive":
        return ExtractiveAnswerer(threshold=settings.abstain_threshold)
    if chosen == "llm":
        from rag.generate import LLMAnswerer
        from rag.llm import make_llm

        return LLMAnswerer(settings.abstain_threshold, make_llm(settings), settings.llm_prompt_tokens)
    raise InputError(f"unknown answerer {chosen!r}; use extractive or llm")
