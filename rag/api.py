"""The ``Rag`` facade: the store, the models and the parts built once and shared (safely
between threads), ingest, sources and ``ask``, whose order of stages is ``rag.pipeline``'s."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from rag.config import Settings, load_settings
from rag.parts import make_answerer, make_checker, make_reranker
from rag.ask.types import Answer, Scope, Turn
from rag.scope import resolve_scope
from rag.types import Document, IngestReport, SourceInfo

Progress = Callable[[int, int, str], None]


class Rag:
    """Open a store, ingest files, ask questions (with history), list sources.

    Models and the store open lazily on first use; one instance is safe to share between
    threads (writes and index rebuilds are serialised).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        embedder=None,
        client=None,
        create_store: bool = True,
        reranker=None,
        answerers: Mapping[str, object] | None = None,
        checkers: Mapping[str, object] | None = None,
    ):
        """Parts not given are built from ``settings`` on first use; ``answerers`` and
        ``checkers`` (by answerer name) replace the ones settings would choose."""
        self.settings = settings or load_settings()
        self.create_store = create_store
        self._embedder = embedder
        self._client = client
        self._reranker = reranker
        self._answerers = dict(answerers or {})
        self._checkers = dict(checkers or {})
        self._store = None
        self._index = None
        self._generation = ""
        self._files = None
        self._documents: dict[str, Document | None] = {}
        self._titles: tuple[object, dict[str, str]] = (None, {})  # (lexical index, lower-case title -> doc id)
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
        """The embedding model the settings name (loaded on first use)."""
        with self._lock:
            if self._embedder is None:
                from rag.models.embedding import SentenceTransformerEmbedder, model_path

                self._embedder = SentenceTransformerEmbedder(
                    model_path=model_path(self.settings.embedding_model),
                    threads=self.settings.threads,
                    batch_size=self.settings.batch_size,
                    precision=self.settings.precision,
                )
            return self._embedder

    @property
    def store(self):
        """The store (opened on first use)."""
        with self._lock:
            if self._store is None:
                from rag.store.chroma import Store

                self._store = Store(self.settings, create=self.create_store, client=self._client)
            return self._store

    @property
    def reranker(self):
        """The configured reranker."""
        with self._lock:
            if self._reranker is None:
                self._reranker = make_reranker(self.settings)
            return self._reranker

    def answerer(self, name: str | None = None):
        """The composer named ``name`` (default: the configured one), built once."""
        name = name or self.settings.answerer
        with self._lock:
            if name not in self._answerers:
                self._answerers[name] = make_answerer(self.settings, name)
            return self._answerers[name]

    def checker(self, answerer: str | None = None):
        """The support checker that verifies answers of ``answerer`` (settings ``verifier``)."""
        name = answerer or self.settings.answerer
        with self._lock:
            if name not in self._checkers:
                self._checkers[name] = make_checker(self.settings, name)
            return self._checkers[name]

    @property
    def source_files(self):
        """The files behind the stored documents, checked as they are now."""
        with self._lock:
            if self._files is None:
                from rag.ask.verify import SourceFiles

                self._files = SourceFiles(self.document)
            return self._files

    def close(self) -> None:
        """Release the store (another process may then write to an embedded folder); the next
        use opens it again."""
        with self._lock, self._ingest_lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            self._invalidate()

    def _lexical_index(self):
        """The lexical index matching the store as it is now (another process may have written
        to it since): kept while the store's generation is unchanged (or a write is under way),
        else loaded from beside the store, else rebuilt from a scan of the store and saved."""
        from rag.store.lexical import LexicalIndex
        from rag.store.chroma import WRITING

        with self._lock:
            store = self.store
            generation = store.generation()
            if self._index is not None and (generation == self._generation or generation.startswith(WRITING)):
                return self._index
            folder = store.local_folder()
            index = LexicalIndex.load(folder, generation, store.fingerprint)
            if index is None:
                index = LexicalIndex.build(store.document_records(), store.all_sentences())
                _save_quietly(index, folder, generation, store.fingerprint)
            if self._index is not None:
                self._files = None
                self._documents.clear()
            self._index, self._generation = index, generation
            return index

    def _invalidate(self) -> None:
        with self._lock:
            self._index = None
            self._files = None
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
        from rag.ingest.indexing import ingest_files

        return self._writing(
            lambda store, records: ingest_files(store, self.embedder, self.settings, paths, records, prune, progress)
        )

    def prune_missing(self) -> list[str]:
        """Remove the documents whose files are all gone; returns their paths."""
        from rag.ingest.indexing import prune_missing

        return self._writing(prune_missing)

    def _writing(self, change):
        """Run ``change(store, records)`` as the store's one writer, then bring the lexical index
        up to date and give the store its new generation. An interrupted earlier write is
        finished first (its orphans removed)."""
        from rag.store.chroma import WRITING

        with self._ingest_lock, self.store.writing():
            store = self.store
            interrupted = store.generation().startswith(WRITING)
            index = self._lexical_index()
            store.begin_writing()
            try:
                if interrupted:
                    store.delete_orphans()
                result, changes = change(store, index.records)
                index = index.updated(changes.added, set(changes.removed), changes.records)
            except BaseException:
                self._invalidate()
                raise
            generation = store.finish_writing()
            with self._lock:
                _save_quietly(index, store.local_folder(), generation, store.fingerprint)
                self._invalidate()
                self._index, self._generation = index, generation
            return result

    def ingest_uploads(self, paths: Sequence[str | Path], progress: Progress | None = None) -> IngestReport:
        """Copy uploaded files into the upload folder beside the store and index them; a file
        that cannot be ingested is removed again (a replaced one comes back) and nothing else
        changes. Names that clean to one file name are kept apart (``renamed`` says how)."""
        from rag.ingest.uploads import settle_uploads, stage_uploads, upload_folder

        staged = stage_uploads([Path(p) for p in paths], upload_folder(self.settings.store_dir))
        try:
            report = self.ingest([s.target for s in staged], progress=progress)
        except BaseException:
            for upload in staged:
                upload.undo()
            raise
        renamed = settle_uploads(staged, {os.path.abspath(s.path) for s in report.skipped})
        return replace(report, renamed=renamed)

    # ---- asking ----------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: Sequence[Turn | tuple[str, str]] = (),
        answerer: str | None = None,
        on_token: Callable[[str], None] | None = None,
        documents: Sequence[str] | Scope | None = None,
    ) -> Answer:
        """Answer ``question`` from the indexed documents, every sentence cited and verified
        (the stages: ``rag.pipeline.ask``). ``history``: the earlier turns (a follow-up is
        retrieved with their topic; the question is read as asked). ``answerer`` names the
        composer (default: the configured one); ``on_token`` receives generated text as it
        streams (LLM answerer only); the returned answer is the verified one, which may differ
        from the stream. ``documents`` (names, as ``scope`` takes them, or a resolved ``Scope``)
        confines every retrieval to those documents; a follow-up keeps its scope only when the
        caller passes it again. The answer's ``analysis`` says how the question was read."""
        from rag.pipeline import ask

        return ask(self, question, history, answerer, on_token, documents)

    def scope(self, documents: Sequence[str]) -> Scope | None:
        """The documents ``documents`` name (file names, titles, ids, paths or globs such as
        ``*.pdf``), resolved once for several questions; None for no names (every document).
        A name that matches nothing is an InputError naming the closest documents."""
        return resolve_scope(documents, self._lexical_index().records)

    def describe(self, index, chars: int = 300):
        """A function from a name to the first ``chars`` characters of the body of the stored
        document of that title (any case), or None where no document has that title."""
        with self._lock:
            if self._titles[0] is not index:  # built once per lexical index
                by_title: dict[str, str] = {}
                for doc_id in index.records:
                    by_title.setdefault(index.records[doc_id].title.lower(), doc_id)
                self._titles = (index, by_title)
            by_title = self._titles[1]

        def opening(name: str) -> str | None:
            lowered = name.strip().lower()
            doc_id = by_title.get(lowered) or by_title.get(re.sub(r"^the\s+", "", lowered))
            document = self.document(doc_id) if doc_id else None
            return None if document is None else document.text[document.body_start : document.body_start + chars]

        return opening

    def document(self, doc_id: str) -> Document | None:
        """A stored document with its text as ingested (cached)."""
        with self._lock:
            if doc_id not in self._documents:
                self._documents[doc_id] = self.store.document(doc_id)
            return self._documents[doc_id]

    def sources(self) -> list[SourceInfo]:
        """Every indexed document, sorted by path (``missing``: none of its files exists)."""
        records = self._lexical_index().records.values()
        return sorted((r.info(missing=not any(os.path.exists(p) for p in r.paths)) for r in records), key=lambda s: s.path)

    def is_empty(self) -> bool:
        """True when nothing is indexed yet."""
        return self.store.counts()["documents"] == 0


def _save_quietly(index, folder: Path, generation: str, fingerprint: str) -> None:
    """Save the lexical index for the next start; a folder that cannot be written only costs
    a rebuild then."""
    try:
        index.save(folder, generation, fingerprint)
    except OSError:
        pass
