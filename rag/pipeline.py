"""The one place that knows the order of the stages and the policy between them; the API, the
command line and the UI all call ``Rag``."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from rag.config import Settings, load_settings
from rag.errors import InputError, StoreError
from rag.scope import Scope, resolve_scope
from rag.types import Answer, Document, IngestReport, SourceInfo, Turn

MAX_QUESTION_CHARS = 2000
ANSWERERS = ("extractive", "llm")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

Progress = Callable[[int, int, str], None]


def clean_question(question: str) -> str:
    """Strip control characters and surrounding space; reject empty or over-long questions."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    bad = next((i for i, ch in enumerate(question) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:  # a lone surrogate: an undecodable byte read with surrogateescape, say
        raise InputError(f"the question has an undecodable character at position {bad}; send UTF-8 text")
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
        """Answer ``question`` from the indexed documents, every sentence cited and verified.

        The stages, in order: condense a follow-up into a retrieval query -> retrieve ->
        rerank -> (a comparison or a yes-or-no question about two things: one reading per option; else, when the best evidence is under
        the gate or its short answer not of the kind asked, follow bridges to a second hop) ->
        gate (abstain on weak evidence) -> compose -> cite -> verify -> abstain if nothing
        survives. ``answerer`` names the composer (default: the configured one);
        ``on_token`` receives generated text as it streams (LLM answerer only); the returned
        answer is the verified one, which may differ from the stream. ``documents`` (names, as
        ``scope`` takes them, or a resolved ``Scope``) confines every retrieval to those documents;
        a follow-up keeps its scope only when the caller passes it again.
        """
        from rag.ask.forms.compare import compare
        from rag.ask.conversation import retrieval_query
        from rag.ask.forms.hops import answers_in_kind, follow_bridges
        from rag.ask.lists import read_list
        from rag.ask.rerank import answer_like, best_by_features, gate_score, judge_each
        from rag.ask.retrieval import Retriever
        from rag.ask.forms.shared import shared
        from rag.ask.forms.verdicts import decide
        from rag.ask.verify import live_evidence, stale_note

        question = clean_question(question)
        name = answerer or self.settings.answerer
        self.answerer(name)  # an unknown answerer is an error before any work
        turns = [t if isinstance(t, Turn) else Turn(*t) for t in history]
        query = retrieval_query(question, turns)
        index = self._lexical_index()
        if not len(index):
            raise StoreError("the index is empty; ingest documents first: rag ingest PATH")
        scope = documents if isinstance(documents, Scope) or documents is None else resolve_scope(documents, index.records)
        retriever = Retriever(self.store, self.embedder, index, self.settings, scope)
        hits = retriever.retrieve(query)
        candidates = answer_like(hits)
        ranked = self.reranker.rerank(question, query, candidates, index.term_idf)
        # Evidence whose file is missing or changed never wins over live evidence.
        files = self.source_files
        evidence, stale = live_evidence(ranked, files)

        def retrieve_answers(asked: str):
            return answer_like(retriever.retrieve(asked))

        def judge(asked: str, retrieval_query: str, found):
            return live_evidence(self.reranker.rerank(asked, retrieval_query, found, index.term_idf), files)[0]

        # A question about two named things ("which came first, A or B?", "are A and B both X?",
        # "both A and B … what?") is read once per option; the first reading that settles it leads.
        gate = self.settings.gate_threshold()
        compared = []
        readings = ((compare, self.settings.comparisons), (decide, self.settings.verdicts), (shared, self.settings.in_common))
        for read_pair, enabled in readings:
            if enabled and not compared:
                compared = read_pair(query, retrieve_answers, lambda asked, found: judge(asked, asked, found), gate)
        if compared:
            lead = {e.hit.sentence.sentence_id for e in compared}
            evidence = [*compared, *(e for e in evidence if e.hit.sentence.sentence_id not in lead)]
        # A second hop when the best evidence is under the gate, or when its short answer is not
        # of the kind asked for (no number where a date or count is asked: the sentence names
        # what leads to the answer, "She resigned to become a lobbyist for Boston Beer Company.").
        if self.settings.bridges and evidence and not compared:
            describe = self._opening_by_title(index)
            under_gate = gate_score(evidence[0]) < gate
            out_of_kind = not under_gate and not answers_in_kind(query, evidence[0], describe)
            if under_gate or out_of_kind:
                evidence = follow_bridges(
                    query,
                    evidence,
                    retrieve_answers,
                    lambda asked, followed, found: judge(
                        asked or question,
                        followed,
                        best_by_features(asked or question, followed, found, index.term_idf, self.settings.bridge_k),
                    ),
                    self.settings.bridge_threshold,
                    self.settings.bridges,
                    in_kind=out_of_kind,
                    describe=describe,
                )

        def list_items():  # read only for an extractive answer past the gate
            return read_list(
                question,
                evidence,
                lambda hit, n: [h for h in retriever.neighbours(hit, n, n) if self.source_files.is_live(h.sentence)],
                lambda found: judge_each(self.reranker, question, found),
                self.settings,
            )

        answer = self._answer(question, query, hits, evidence, candidates, stale_note(stale), name, on_token, scope, list_items)
        return replace(answer, ranked=tuple(evidence), scope=scope)

    def scope(self, documents: Sequence[str]) -> Scope | None:
        """The documents ``documents`` name (file names, titles, ids, paths or globs such as
        ``*.pdf``), resolved once for several questions; None for no names (every document).
        A name that matches nothing is an InputError naming the closest documents."""
        return resolve_scope(documents, self._lexical_index().records)

    def _answer(
        self, question, query, hits, evidence, candidates, warning, name, on_token, scope=None, list_items=tuple
    ) -> Answer:
        """The policy after reranking: gate -> compose -> cite -> verify -> abstain if nothing
        survives (an abstention offers the live ``candidates`` instead; ``warning``: stale evidence;
        ``list_items()``: a list answer's sentences, which the extractive answer cites in document order)."""
        from rag.ask.citing import abstention, cite, short_answers, with_one_thing_verdict, with_strength, with_verdict
        from rag.ask.lists import list_draft
        from rag.ask.rerank import gate_score
        from rag.ask.verify import verify_answer

        best = gate_score(evidence[0]) if evidence else 0.0

        def abstain(reason: str) -> Answer:
            closest = [h for h in candidates if self.source_files.is_live(h.sentence)]  # in retrieval order
            return abstention(question, query, closest, best, reason, name, scoped=scope is not None)

        if best < self.settings.gate_threshold():
            return abstain(warning)
        items = list_items() if name == "extractive" else ()  # a composer that writes reads the evidence itself
        draft = list_draft(items) if items else self.answerer(name).compose(question, evidence, on_token)
        if not draft.sentences:
            return abstain(draft.note or warning)
        verification = verify_answer(cite(question, query, draft, hits, best, name), self.source_files, self.checker(name))
        if not verification.answer.sentences:
            return abstain(verification.problem or warning or "no sentence passed verification")
        answer = verification.answer
        strong = self.settings.strong_threshold()
        if strong is not None:
            listed = {e.hit.sentence.sentence_id: e for e in items}
            judged = [*(e for e in evidence if e.hit.sentence.sentence_id not in listed), *listed.values()]
            answer = with_strength(answer, judged, strong, self.settings.reader_strong_margin, frozenset(listed))
        shorts = short_answers(answer, items or evidence[:1])
        answer = replace(answer, short_answer=shorts[0] if shorts else None, short_answers=shorts, warnings=(warning,) if warning else ())
        answer = with_verdict(answer, evidence[0])
        if self.settings.one_thing_verdicts:
            answer = with_one_thing_verdict(answer, evidence[0], question)
        return answer

    def _opening_by_title(self, index, chars: int = 300):
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


def make_reranker(settings: Settings):
    """The reranker named in settings."""
    from rag.ask.rerank import CombinedReranker, FeatureReranker, ReaderReranker

    if settings.reranker == "features":
        return FeatureReranker()
    if settings.reranker in ("reader", "combined"):
        from rag.models.reader import MANIFEST, Reader

        reader = Reader(settings.reader_manifest or MANIFEST, threads=settings.threads, precision=settings.precision)
        if settings.reranker == "reader":
            preselect = FeatureReranker() if settings.reader_preselect == "features" else None
            return ReaderReranker(reader, settings.rerank_k, preselect)
        return CombinedReranker(
            reader,
            FeatureReranker(),
            settings.rerank_k,
            settings.combine_weight,
            settings.gate_weight,
            first=settings.reader_first,
        )
    raise InputError(f"unknown reranker {settings.reranker!r}; use features, reader or combined")


def make_answerer(settings: Settings, name: str | None = None):
    """The composer named in settings (or ``name``)."""
    from rag.ask.answering import ExtractiveAnswerer

    chosen = name or settings.answerer
    if chosen == "extractive":
        if settings.reranker != "features":  # relevance is a probability: a further sentence needs its own
            return ExtractiveAnswerer(floor=settings.reader_extra_threshold, margin=1.0)
        return ExtractiveAnswerer(floor=settings.abstain_threshold)
    if chosen == "llm":
        from rag.ask.generate import LLMAnswerer
        from rag.models.llm import make_llm

        return LLMAnswerer(make_llm(settings), settings.llm_prompt_tokens)
    raise InputError(f"unknown answerer {chosen!r}; use extractive or llm")


def make_checker(settings: Settings, answerer: str):
    """The support checker for answers of ``answerer``: settings ``verifier``; ``auto`` lets the
    LLM judge answers the LLM wrote and checks extractive ones deterministically."""
    from rag.ask.support import JudgedSupportChecker, SupportChecker

    judged = settings.verifier == "judged" or (settings.verifier == "auto" and answerer == "llm")
    if not judged:
        return SupportChecker()
    from rag.models.llm import make_llm

    return JudgedSupportChecker(make_llm(settings).model_copy(update={"max_tokens": 4}))
