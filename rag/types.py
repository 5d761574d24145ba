"""Frozen data passed between the pipeline stages.

Every id is derived from content and position, so the same corpus always yields the
same ids. Results are changed with ``dataclasses.replace``, never in place.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.ask.analysis import QuestionAnalysis
    from rag.scope import Scope


def content_id(*parts: object, length: int = 16) -> str:
    """A short, stable hex id from the given parts (joined with a separator)."""
    joined = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:length]


@dataclass(frozen=True)
class Heading:
    """A heading of a document: its exact span in the text (``text[start:end] == text``), its level
    (1 is the top) and its words. Headings give the sections their sentences lie in; a heading is
    context, never an answer."""

    start: int
    end: int
    level: int
    text: str


@dataclass(frozen=True)
class Document:
    """One source file as decoded text, with the header metadata it declared.

    ``text`` is the whole decoded file (for .txt/.md exactly ``Path.read_text("utf-8")``);
    ``body_start`` is where the body begins after the header block. ``doc_id`` comes from the
    content: a stored document is one content, found at ``path`` and, when the same bytes lie
    in several files, at its ``copies`` too.
    """

    doc_id: str
    path: str
    title: str
    text: str
    content_hash: str
    body_start: int = 0
    source: str = ""
    licence: str = ""
    kind: str = "txt"
    copies: tuple[str, ...] = ()
    pages: tuple[int, ...] = ()  # where each page of the file begins in ``text`` (PDF), in order
    headings: tuple[Heading, ...] = ()  # in document order

    @property
    def paths(self) -> tuple[str, ...]:
        """Every file known to hold this content, the citing one first."""
        return (self.path, *self.copies)

    def __post_init__(self) -> None:
        if not 0 <= self.body_start <= len(self.text):
            raise ValueError(f"body_start {self.body_start} outside the text of {self.path}")


@dataclass(frozen=True)
class Sentence:
    """A sentence span: ``document.text[start:end] == text``."""

    sentence_id: str
    doc_id: str
    index: int
    start: int
    end: int
    text: str

    def __post_init__(self) -> None:
        if self.end - self.start != len(self.text) or self.start < 0:
            raise ValueError(f"sentence span {self.start}:{self.end} does not fit its text")


@dataclass(frozen=True)
class Chunk:
    """Consecutive whole sentences of one document that fit the embedding window."""

    chunk_id: str
    doc_id: str
    sentence_ids: tuple[str, ...]
    start: int
    end: int
    text: str
    token_count: int


@dataclass(frozen=True)
class Hit:
    """A retrieved sentence with its fused score and the ranks that produced it."""

    sentence: Sentence
    score: float
    dense_similarity: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None
    title: str = ""
    path: str = ""
    context: str = ""  # the previous sentence, or the heading between it and this one
    section: str = ""  # the heading path the sentence lies under ("Experiments › Datasets"), if any
    page: int | None = None  # 1-based page of the file the sentence starts on (PDF)


@dataclass(frozen=True)
class Evidence:
    """A retrieved sentence as a reranker judged it: ``score`` orders the evidence and is what
    the abstention gate compares with its threshold (each reranker has its own scale)."""

    hit: Hit
    score: float
    answer_span: tuple[int, int] | None = None  # the short answer inside the sentence: document offsets
    relevance: float | None = None  # the reader's probability that the sentence answers (None: not judged)
    confidence: float | None = None  # what the gate compares with its threshold (None: the score)


@dataclass(frozen=True)
class DraftSentence:
    """One sentence a composer wrote and the evidence it rests on."""

    text: str
    cited: tuple[Hit, ...]


@dataclass(frozen=True)
class Draft:
    """A composer's answer before numbering and verification; no sentences means it found
    nothing to say (``note`` says why)."""

    sentences: tuple[DraftSentence, ...]
    note: str = ""


@dataclass(frozen=True)
class Citation:
    """A label in an answer and the exact source sentence it points at."""

    label: int
    sentence_id: str
    doc_id: str
    path: str
    title: str
    start: int
    end: int
    quote: str
    verified: bool = False
    problem: str = ""
    page: int | None = None  # 1-based page of the file the quote starts on (PDF)
    section: str = ""  # the heading path the quote lies under, if any


# How an answer whose best evidence only comes close begins (``Answer.partial``).
PARTIAL_PREFIX = "The closest the documents come:"


@dataclass(frozen=True)
class ShortAnswer:
    """The words that answer the question, inside the cited sentence ``label``:
    ``Path(path).read_text("utf-8")[start:end] == text`` like every quote."""

    text: str
    label: int
    path: str
    start: int
    end: int

    def to_json(self) -> dict:
        """The ``short_answer`` object of ``rag ask --json``."""
        return {"text": self.text, "label": self.label, "path": self.path, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer, the labels it cites and whether support was verified."""

    text: str
    citations: tuple[int, ...] = ()
    supported: bool = False
    reason: str = ""
    score: float | None = None  # the reranker's score of its best cited sentence
    strength: str = ""  # "strong" or "partial": does the cited sentence answer the question?

    @property
    def verbatim(self) -> bool:
        """The sentence is a verified quote of its source, word for word."""
        return self.supported and self.reason == "verbatim"


@dataclass(frozen=True)
class Answer:
    """What every shell shows: the answer text, its sentences and their citations."""

    question: str
    answer: str
    abstained: bool
    sentences: tuple[AnswerSentence, ...] = ()
    citations: tuple[Citation, ...] = ()
    evidence: tuple[Hit, ...] = field(default=(), compare=False)  # retrieved, in retrieval order
    ranked: tuple[Evidence, ...] = field(default=(), compare=False)  # live evidence, best first
    retrieval_query: str = ""
    confidence: float = 0.0
    answerer: str = "extractive"
    warnings: tuple[str, ...] = ()  # e.g. better evidence sits in files that are missing or changed
    short_answer: ShortAnswer | None = None  # the first of ``short_answers``
    short_answers: tuple[ShortAnswer, ...] = ()  # every answering span, in document order (a list's items)
    partial: bool = False  # the best evidence only comes close: the answer says so
    verdict: str = ""  # "yes" or "no": drawn from the cited sentences together (a form's reading), never a quote
    scope: Scope | None = None  # the documents it was asked within (None: all of them)
    analysis: QuestionAnalysis | None = field(default=None, compare=False)  # how the question was read

    def to_json_text(self) -> str:
        """``to_json`` serialised exactly as ``rag ask --json`` prints it."""
        import json

        return json.dumps(self.to_json(), ensure_ascii=False)

    def to_markdown(self) -> str:
        """The answer as Markdown ready to paste: the short answer, the sentences with numbered
        footnotes, and each footnote's title, file, character range and exact quote."""
        import re

        from rag.text import normalize_space as flat

        if self.abstained:
            return flat(self.answer) + "\n"
        parts = []
        if self.verdict:
            parts.append(f"*Closest answer: {self.verdict}*" if self.partial else f"**{self.verdict.capitalize()}**")
        elif self.short_answer is not None and not self.partial:
            parts.append(f"**{flat(self.short_answer.text)}**")
        body = " ".join(
            f"{flat(s.text)}{''.join(f'[^{n}]' for n in s.citations)}" for s in self.sentences
        )
        parts.append(f"{PARTIAL_PREFIX} {body}" if self.partial else body)
        notes = [
            f"[^{c.label}]: {c.title}{f', § {c.section}' if c.section else ''}, `{c.path}`"
            f"{f', p. {c.page}' if c.page else ''}, characters {c.start}–{c.end}: “{flat(c.quote)}”"
            for c in self.citations
        ]
        text = "\n\n".join(parts) + ("\n\n" + "\n".join(notes) if notes else "")
        return re.sub(r"[ \t]+\n", "\n", text) + "\n"

    def to_json(self) -> dict:
        """The JSON shape printed by ``rag ask --json`` and returned by the UI's /ask."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [{key: getattr(c, key) for key in _CITATION_KEYS} for c in self.citations],
            "sentences": [
                {"text": s.text, "citations": list(s.citations), **{key: getattr(s, key) for key in _SENTENCE_KEYS}, "score": _rounded(s.score)}
                for s in self.sentences
            ],
            "warnings": list(self.warnings),
            "short_answer": self.short_answer.to_json() if self.short_answer else None,
            "short_answers": [s.to_json() for s in self.short_answers],
            "verdict": self.verdict or None,
            "partial": self.partial,
            "confidence": round(self.confidence, 4),
            "scope": self.scope.to_json() if self.scope is not None else [],
            "analysis": self.analysis.to_json() if self.analysis is not None else None,
        }


_CITATION_KEYS = ("label", "doc_id", "path", "title", "start", "end", "quote", "page", "section")
_SENTENCE_KEYS = ("supported", "verbatim", "strength")


def _rounded(score: float | None) -> float | None:
    return None if score is None else round(score, 4)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str = ""


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class IngestReport:
    """What one ingest run did; ``to_json`` is the shape of ``rag ingest --json``."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    moved: tuple[str, ...] = ()  # "OLD -> NEW": the same content found at a new path, not embedded again
    copies: tuple[str, ...] = ()  # files whose content is already indexed from another live file
    removed: tuple[str, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    missing: tuple[str, ...] = ()  # stored documents none of whose files exists (prune removes them)
    documents: int = 0
    sentences: int = 0
    chunks: int = 0
    seconds: float = 0.0
    tokens_embedded: int = 0  # word pieces the model encoded in this run (all of every chunk)
    renamed: tuple[str, ...] = ()  # uploads only, "ORIGINAL -> STORED": kept under another file name

    def to_json(self) -> dict:
        return {
            "added": list(self.added),
            "updated": list(self.updated),
            "unchanged": list(self.unchanged),
            "moved": list(self.moved),
            "copies": list(self.copies),
            "removed": list(self.removed),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "missing": list(self.missing),
            "documents": self.documents,
            "sentences": self.sentences,
            "chunks": self.chunks,
            "tokens_embedded": self.tokens_embedded,
        }


# The fields a document and its stored record share (the record adds its sentence and chunk
# counts; the document, its text).
_RECORD_OF_DOCUMENT = (
    "doc_id", "path", "title", "content_hash", "source", "licence", "kind", "body_start", "copies", "pages", "headings"
)


@dataclass(frozen=True)
class DocumentRecord:
    """What the store keeps about one completely stored document (written after its sentences
    and chunks, so a record means the document is whole)."""

    doc_id: str
    path: str
    title: str
    content_hash: str
    source: str = ""
    licence: str = ""
    kind: str = "txt"
    body_start: int = 0
    sentences: int = 0
    chunks: int = 0
    copies: tuple[str, ...] = ()
    pages: tuple[int, ...] = ()
    headings: tuple[Heading, ...] = ()

    @classmethod
    def of(cls, document: Document, sentences: int, chunks: int) -> DocumentRecord:
        """The record of ``document`` stored with that many sentences and chunks."""
        return cls(**{f: getattr(document, f) for f in _RECORD_OF_DOCUMENT}, sentences=sentences, chunks=chunks)

    @property
    def paths(self) -> tuple[str, ...]:
        """Every file known to hold this content, the citing one first."""
        return (self.path, *self.copies)

    def document(self, text: str) -> Document:
        """The stored document this record describes, with its ``text`` as ingested."""
        return Document(**{f: getattr(self, f) for f in _RECORD_OF_DOCUMENT}, text=text)

    def info(self, missing: bool = False) -> SourceInfo:
        """The record as ``rag sources`` lists it (``missing``: none of its files exists)."""
        listed = ("doc_id", "path", "title", "source", "licence", "sentences", "chunks", "content_hash", "copies")
        return SourceInfo(**{f: getattr(self, f) for f in listed}, missing=missing)


@dataclass(frozen=True)
class SourceInfo:
    """One indexed document as listed by ``rag sources``."""

    doc_id: str
    path: str
    title: str
    source: str
    licence: str
    sentences: int
    chunks: int
    content_hash: str
    copies: tuple[str, ...] = ()
    missing: bool = False

    def to_json(self) -> dict:
        """The shape of one entry of ``rag sources --json``."""
        return {**{k: v for k, v in self.__dict__.items() if k != "copies"}, "copies": list(self.copies)}
