"""Where a position of a document lies: the heading path above it and the PDF page it is on.

Both are read from the document record (``headings``, ``pages``) by offset, so a sentence,
a citation and a short answer all get them the same way.
"""

from __future__ import annotations

import bisect
import re
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


def section_paths(headings: Sequence[Heading], offsets: Sequence[int]) -> list[tuple[str, ...]]:
    """``section_path`` of each of the ascending ``offsets``, in one pass over the headings."""
    paths: list[tuple[str, ...]] = []
    path: list[Heading] = []
    next_heading = 0
    for offset in offsets:
        while next_heading < len(headings) and headings[next_heading].start <= offset:
            heading = headings[next_heading]
            while path and path[-1].level >= heading.level:
                path.pop()
            path.append(heading)
            next_heading += 1
        paths.append(tuple(h.text for h in path))
    return paths


def section_label(headings: Sequence[Heading], offset: int) -> str:
    """``section_path`` joined for display: "Experiments › Datasets" (empty: no heading above)."""
    return SECTION_SEPARATOR.join(section_path(headings, offset))


def heading_between(headings: Sequence[Heading], start: int, end: int) -> Heading | None:
    """The last heading that begins in ``[start, end)``: the one a sentence at ``end`` follows
    directly when ``start`` is where the sentence before it ends."""
    at = bisect.bisect_left([h.start for h in headings], end) - 1
    return headings[at] if at >= 0 and headings[at].start >= start else None


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


# ---- finding headings in text and Markdown (the one place that decides what is a heading) ----

_ATX = re.compile(r"[ \t\u00a0]{0,3}(#{1,6})[ \t\u00a0]*(.*?)(?:[ \t\u00a0]+#+)?[ \t\u00a0]*$")
_EMPHASIS = re.compile(r"[ \t\u00a0]*(\*\*|__)(.+?)\1[ \t\u00a0]*$")
_NUMBERED = re.compile(r"((?:[0-9]{1,2}\.)*[0-9]{1,2}|[IVX]{1,5})\.?[ \t\u00a0]+(?=[A-Z])")
_NESTED = " ::: "  # S2ORC's joint of a subsection's name to its parent's ("Models ::: Encoder")
_FINAL_STOP = tuple(".!?…:;,—–-")  # a dash: a line broken off ("And with that —")
_CLOSERS = "\"'”’»)]*_ \t\u00a0"
_BLANK_AFTER = re.compile(r"[ \t\u00a0]*(?:\n[ \t\u00a0]*(?:\n|$)|$)")
# A heading does not end on a word that needs more after it ("It's very difficult to ever predict the").
_OPEN_ENDINGS = frozenset("a an the of to and or but nor in on at by for from with as that than into".split())
_COLUMNS = re.compile(r"\s{4,}")  # a layout of columns (a list of signatories), not a heading
_LETTERS = re.compile(r"(?<!\w)[^\W\d_]{2,}(?!\w)")  # a word of letters: "INLINEFORM0" is none
_CAPTION = re.compile(r"(?:Table|Figure|Fig\.?)[ \t\u00a0]*[0-9IVX]+[a-z]?[:.]")
_WORD_RUN = re.compile(r"\S+")
MAX_HEADING_WORDS = 10
MAX_HEADING_CHARS = 100


def find_headings(text: str, body_start: int = 0) -> tuple[Heading, ...]:
    """The headings of a text or Markdown body, in order, each span exact in ``text``.

    Markdown ``#`` lines are headings (level: the number of ``#``; the span: the words
    without the marks). A body with no ``#`` heading is read as plain text: a short line
    alone in its block, starting with a capital (or a section number such as "3.2"), without
    a final stop and not a list item, is a heading; a numbered one's level is its depth
    ("3.2 Datasets" under "3 Experiments"), a nested S2ORC name ("Models ::: Encoder") its
    depth too, spanning the last name; an unnumbered one is level 1.
    """
    from rag.ingest.sentences import blocks

    lines = [(start, text[start:end].rstrip("\r\n")) for start, end in blocks(text, body_start)]
    single = [(start, line) for start, line in lines if "\n" not in line]
    markdown = [h for start, line in single if (h := _atx_heading(start, line))]
    if markdown:
        return tuple(markdown)
    plain = [(start, h) for start, line in single if _alone(text, body_start, start, len(line)) and (h := _plain_heading(start, line))]
    heading_lines = {start for start, _ in plain}
    opening_end = next((start for start, _ in lines if start not in heading_lines), len(text))
    if all(start < opening_end for start, _ in plain):
        return ()  # only short lines before the first paragraph: a dateline, a place, a byline
    return tuple(h for _, h in plain)


def _alone(text: str, body_start: int, start: int, length: int) -> bool:
    """Whether the line at ``start`` is a paragraph of its own: a blank line (or the body's
    edge) before and after it, not one line of a block broken by hard line breaks."""
    if start > body_start:
        previous_line = text[text.rfind("\n", body_start, start - 1) + 1 or body_start : start]
        if previous_line.strip(" \t\u00a0\n"):
            return False
    return bool(_BLANK_AFTER.match(text, start + length))


def _atx_heading(start: int, line: str) -> Heading | None:
    match = _ATX.match(line)
    if not match or not re.search(r"\w", match.group(2)):
        return None
    return Heading(start + match.start(2), start + match.end(2), len(match.group(1)), match.group(2))


def _plain_heading(start: int, line: str) -> Heading | None:
    emphasis = _EMPHASIS.match(line)
    offset, words = (emphasis.start(2), emphasis.group(2)) if emphasis else (0, line)
    lead = len(words) - len(words.lstrip())
    offset, words = offset + lead, words.strip()
    if not words or len(words) > MAX_HEADING_CHARS or words.rstrip(_CLOSERS).endswith(_FINAL_STOP):
        return None
    if words[0] in "*_" or words[-1] in "*_" or _COLUMNS.search(words):
        return None
    if words.split()[-1].lower() in _OPEN_ENDINGS or _CAPTION.match(words):
        return None
    if len(_WORD_RUN.findall(words)) > MAX_HEADING_WORDS or not _LETTERS.search(words):
        return None
    level = 1
    numbered = _NUMBERED.match(words)
    if numbered:
        number = numbered.group(1)
        level = number.count(".") + 1 if number[0].isdigit() else 1
    elif not words[0].isupper():
        return None
    if _NESTED in words:
        parents, _, last = words.rpartition(_NESTED)
        level += parents.count(_NESTED) + 1
        offset += len(parents) + len(_NESTED)
        words = last.strip()
    return Heading(start + offset, start + offset + len(words), level, words)
