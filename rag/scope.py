"""Scoping a question to chosen documents: names as a user gives them (a file name, a title, a
doc id, a path or a glob such as ``*.pdf``) resolved once into a ``Scope`` that every retriever
reads."""

from __future__ import annotations

import difflib
import fnmatch
import os
from collections.abc import Mapping, Sequence

from rag.ask.types import Scope, ScopedDocument
from rag.errors import InputError
from rag.types import DocumentRecord

GLOB_CHARACTERS = frozenset("*?[")
CLOSE_MATCHES = 3


def _names_of(record: DocumentRecord) -> set[str]:
    """Every name a document answers to, lower-cased: id, title, each path and file name."""
    names = {record.doc_id.lower(), record.title.lower()}
    for path in record.paths:
        names |= {path.lower(), os.path.basename(path).lower()}
    return {n for n in names if n}


def _matches(record: DocumentRecord, name: str) -> bool:
    lowered = name.strip().lower()
    if GLOB_CHARACTERS & set(lowered):
        candidates = [p.lower() for p in record.paths] + [os.path.basename(p).lower() for p in record.paths]
        return any(fnmatch.fnmatchcase(c, lowered) for c in candidates) or fnmatch.fnmatchcase(record.title.lower(), lowered)
    return lowered in _names_of(record)


def resolve_scope(names: Sequence[str], records: Mapping[str, DocumentRecord]) -> Scope | None:
    """The scope of the documents ``names`` pick out of ``records`` (None when no names are given:
    every document). A name that picks no document is an error naming the closest ones."""
    if isinstance(names, str):
        names = [names]
    asked = tuple(n.strip() for n in names if isinstance(n, str) and n.strip())
    if len(asked) != len([n for n in names if n is not None]):
        raise InputError("a document name is empty or not text; give a file name, title, id or glob")
    if not asked:
        return None
    chosen: dict[str, DocumentRecord] = {}
    for name in asked:
        found = [r for r in records.values() if _matches(r, name)]
        if not found:
            raise InputError(_no_match(name, records))
        chosen.update((r.doc_id, r) for r in found)
    documents = sorted((ScopedDocument(r.doc_id, r.title, r.path) for r in chosen.values()), key=lambda d: (d.path, d.doc_id))
    return Scope(asked, tuple(documents))


def _no_match(name: str, records: Mapping[str, DocumentRecord]) -> str:
    """The message for a name that picks no document: up to three close names, or how to list them."""
    shown: dict[str, str] = {}  # lower-case -> as stored
    for record in records.values():
        for path in record.paths:
            shown.setdefault(os.path.basename(path).lower(), os.path.basename(path))
        shown.setdefault(record.title.lower(), record.title)
    close = difflib.get_close_matches(name.lower(), list(shown), n=CLOSE_MATCHES, cutoff=0.5)
    if not records:
        return f"no document matches {name!r}; the index is empty: rag ingest PATH"
    if close:
        return f"no document matches {name!r}; did you mean {', '.join(shown[c] for c in close)}?"
    return f"no document matches {name!r}; list the indexed documents with: rag sources"
