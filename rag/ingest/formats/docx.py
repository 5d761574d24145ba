"""DOCX (python-docx) -> document text in reading order, with headings from the heading styles.

Every paragraph is a block of its own (list items included: "List …" styles or Word
numbering); a paragraph styled "Heading N" (or a style based on one) is a heading of level
N, one styled "Title" a heading of level 1 and the document's title where the file's
properties give none; a table is read row by row, each row one line with its cells joined
by " | " (a merged cell once).
"""

from __future__ import annotations

import io
import re

from rag.ingest.formats.blocks import join_blocks
from rag.types import Heading

CELL_SEPARATOR = " | "
_HEADING_STYLE = re.compile(r"heading ([1-9])", re.IGNORECASE)
_MAX_STYLE_DEPTH = 10


class UnreadableDocx(Exception):
    """The bytes are not a Word document python-docx can open."""


def docx_document_text(raw: bytes) -> tuple[str, tuple[Heading, ...]]:
    """The text of a .docx file (its title as the header) and its headings, in order."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # a zip that is not a Word file, a broken part, bad XML
        raise UnreadableDocx(type(exc).__name__) from None
    blocks: list[tuple[str, int]] = []
    title_paragraph = ""
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend((row, 0) for row in _rows(item))
            continue
        level, is_title = _heading_level(item.style)
        if is_title and not title_paragraph:
            title_paragraph = item.text
        blocks.append((item.text, level))
    title = (document.core_properties.title or "").strip() or title_paragraph
    return join_blocks(blocks, title)


def _heading_level(style) -> tuple[int, bool]:
    """(heading level or 0, whether the style is Title), following the styles a style is based on."""
    for _ in range(_MAX_STYLE_DEPTH):
        if style is None:
            break
        name = style.name or ""
        if name.lower() == "title":
            return 1, True
        match = _HEADING_STYLE.fullmatch(name.strip())
        if match:
            return int(match.group(1)), False
        style = style.base_style
    return 0, False


def _rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell repeats
                continue
            seen.add(id(cell._tc))
            text = " ".join(cell.text.split())
            if text:
                cells.append(text)
        rows.append(CELL_SEPARATOR.join(cells))
    return rows
