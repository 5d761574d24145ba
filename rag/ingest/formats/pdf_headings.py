"""Headings and the title of a PDF read by ``rag.ingest.formats.pdf``: from the outline (bookmarks)
placed on the blocks they point at, else from the layout's heading blocks; the title from the
metadata unless it is an id, else the first page's largest heading."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.ingest.formats.pdf_lines import HEADING_SIZE, LETTERS_WORD, MAX_HEADING_CHARS, SPACES, Block
from rag.types import Heading

MAX_OUTLINE_ITEMS = 5000


def metadata_title(document) -> str:
    """The metadata title, unless it is empty or an id or file name ("0000320193-21-000105",
    "Q4 22_EarningsRelease": no word of letters alone)."""
    try:
        title = SPACES.sub(" ", document.get_metadata_value("Title") or "").strip()
    except Exception:
        return ""
    words = title.replace("_", " ").split()
    if not any(LETTERS_WORD.fullmatch(w) for w in words) or "_" in title:
        return ""
    return title[:200]


def layout_title(page_blocks: Sequence[Sequence[Block]]) -> str:
    """The largest heading of the first page that has one."""
    for blocks in page_blocks:
        headings = [b for b in blocks if b.kind == "heading"]
        if headings:
            best = max(headings, key=lambda b: b.lines[0].size)  # the first of the largest
            return SPACES.sub(" ", " ".join(line.text for line in best.lines)).strip()[:200]
    return ""


def layout_headings(blocks: Sequence[Block], spans: dict[int, tuple[int, int]], body_size: float) -> list[Heading]:
    """Headings from the layout: larger type is a higher level; bold body type the lowest."""
    sizes = sorted({b.lines[0].size for b in blocks if b.lines[0].size >= body_size * HEADING_SIZE}, reverse=True)
    level_of = {size: min(level, 5) for level, size in enumerate(sizes, 1)}
    headings = []
    for block in blocks:
        start, end = spans[id(block)]
        level = level_of.get(block.lines[0].size, min(len(sizes) + 1, 6))
        headings.append(Heading(start, end, level, SPACES.sub(" ", " ".join(line.text for line in block.lines)).strip()))
    return headings


def outline_headings(document, page_blocks: Sequence[Sequence[Block]], spans: dict[int, tuple[int, int]]) -> list[Heading]:
    """Headings from the outline (bookmarks), each placed on the block of its page whose text
    is the bookmark's title, else on the first short block at or below the bookmark's target;
    bookmarks that match no block are left out."""
    headings: dict[int, Heading] = {}
    try:
        for number, bookmark in enumerate(document.get_toc()):
            if number >= MAX_OUTLINE_ITEMS:
                break
            title = SPACES.sub(" ", bookmark.get_title() or "").strip()
            destination = bookmark.get_dest()
            page = destination.get_index() if destination else None
            if not title or page is None or not 0 <= page < len(page_blocks):
                continue
            block = _match_block(page_blocks[page], title, _target_y(destination))
            if block is not None:
                start, end = spans[id(block)]
                headings.setdefault(start, Heading(start, end, min(bookmark.level + 1, 6), title))
    except Exception:  # a broken outline costs the headings, not the document
        return []
    return [headings[k] for k in sorted(headings)]


def _target_y(destination) -> float | None:
    try:
        mode, view = destination.get_view()
    except Exception:
        return None
    return view[1] if mode == 1 and len(view) > 1 else None  # XYZ: left, top, zoom


def _match_block(blocks: Sequence[Block], title: str, y: float | None) -> Block | None:
    wanted = _key(title)
    for block in blocks:
        written = _key(" ".join(line.text for line in block.lines))
        if written and len(written) <= 2 * len(wanted) + 10 and (wanted in written or written in wanted) and len(written) >= 4:
            return block
    if y is None:
        return None
    for block in blocks:
        if block.lines[0].top <= y + 1:
            short = len(block.lines) <= 2 and len(block.lines[0].text) <= MAX_HEADING_CHARS
            return block if short and block.kind in ("heading", "text") else None
    return None


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())
