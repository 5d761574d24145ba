"""Where a position of a document lies: the heading path above it and the PDF page it is on.

Both are read from the document record (``headings``, ``pages``) by offset, so a sentence,
a citation and a short answer all get them the same way.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence

from rag.types import Heading

SECTION_SEPARATOR = " › "


def section_path(headings: Sequence[Heading], offset: int) -> tuple[str, ...]:
    """The texts of the headings the position ``offset`` lies under, the top level first
    (a later heading of the same or a higher level closes the earlier one)."""
    path: list[Heading] = []
    for heading in headings:
        if heading.start > offset:
            break
        while path and path[-1].level >= heading.level:
            path.pop()
        path.append(heading)
    return tuple(h.text for h in path)


def section_label(headings: Sequence[Heading], offset: int) -> str:
    """``section_path`` joined for display: "Experiments › Datasets" (empty: no heading above)."""
    return SECTION_SEPARATOR.join(section_path(headings, offset))


def page_of(pages: Sequence[int], offset: int) -> int | None:
    """The 1-based page whose text holds ``offset``; None for a document without pages."""
    if not pages:
        return None
    return max(1, bisect.bisect_right(pages, offset))


def headings_json(headings: Sequence[Heading]) -> str:
    """The compact stored form of a document's headings."""
    return json.dumps([[h.start, h.end, h.level, h.text] for h in headings], ensure_ascii=False)


def headings_from_json(text: str | None) -> tuple[Heading, ...]:
    """The headings of ``headings_json`` (none for a record stored without them)."""
    return tuple(Heading(*row) for row in json.loads(text)) if text else ()
