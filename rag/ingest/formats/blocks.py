"""Blocks of text (paragraphs, list items, table rows, headings) -> one document text whose
blocks are separated by blank lines, with the exact span and level of every heading."""

from __future__ import annotations

from collections.abc import Iterable

from rag.types import Heading


def join_blocks(blocks: Iterable[tuple[str, int]], title: str = "") -> tuple[str, tuple[Heading, ...]]:
    """``(text, level)`` blocks (level 0: not a heading; whitespace collapsed here) -> the
    document text and its headings, each ``text[h.start:h.end] == h.text``. A title becomes
    the ``Title:`` header block that ``rag.ingest.files.parse_header`` reads."""
    title = " ".join(title.split())
    out = f"Title: {title}\n-----\n" if title else ""
    headings: list[Heading] = []
    pieces = [out]
    position = len(out)
    first = True
    for raw, level in blocks:
        text = " ".join(raw.split())
        if not text:
            continue
        if not first:
            pieces.append("\n\n")
            position += 2
        first = False
        if level:
            headings.append(Heading(position, position + len(text), level, text))
        pieces.append(text)
        position += len(text)
    pieces.append("\n")
    return "".join(pieces), tuple(headings)
