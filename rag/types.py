"""Frozen data of documents, passed between the ingest stages and the store (the ask side's
data is in ``rag.ask.types``).

Every id is derived from content and position, so the same corpus always yields the
same ids. Results are changed with ``dataclasses.replace``, never in place.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


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


# How an answer whose best evidence only comes close begins (``Answer.partial``).


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
