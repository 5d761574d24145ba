"""HTML -> document text split at block elements only, with h1–h6 as headings.

Inline elements (a, b, i, em, strong, span, code, sup, sub, abbr, and any element not listed
as a block) never break the text: "kept at <a>the Marl library</a> in a cabinet" stays one
sentence. Block elements (p, div, li, h1–h6, blockquote, section, table, br, ...) end a block;
a table row is one line with its cells joined by " | "; each line of a ``pre`` is its own
block. Whitespace is collapsed as a browser does.
"""

from __future__ import annotations

from rag.ingest.formats.blocks import join_blocks
from rag.types import Heading

HEADING_LEVELS = {f"h{n}": n for n in range(1, 7)}
BLOCK_ELEMENTS = frozenset(
    """
    address article aside blockquote body caption center dd details dialog dir div dl dt
    fieldset figcaption figure footer form header hgroup hr html legend li main menu nav ol
    p section summary table tbody tfoot thead ul br option
    """.split()
)
SKIPPED_ELEMENTS = frozenset("script style noscript template svg head iframe object".split())
CELL_SEPARATOR = " | "


def html_document_text(html: str) -> tuple[str, tuple[Heading, ...]]:
    """The text of an HTML page (its ``<title>`` as the header) and its h1–h6 headings."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    return join_blocks(_blocks(soup), title)


def _blocks(soup) -> list[tuple[str, int]]:
    """Walk the tree without recursion (deeply nested pages stay safe): text gathers until a
    block element opens or closes."""
    from bs4 import NavigableString, Tag
    from bs4.element import PreformattedString

    blocks: list[tuple[str, int]] = []
    parts: list[str] = []

    def flush(level: int = 0) -> None:
        if parts:
            blocks.append(("".join(parts), level))
            parts.clear()

    stack: list[tuple[object, bool]] = [(soup, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            flush(HEADING_LEVELS.get(node.name, 0))
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):  # comments, doctype, CDATA
                parts.append(str(node))
            continue
        if not isinstance(node, Tag) or node.name in SKIPPED_ELEMENTS:
            continue
        if node.name == "tr":
            flush()
            cells = (" ".join(c.get_text(" ").split()) for c in node.find_all(("td", "th"), recursive=False))
            blocks.append((CELL_SEPARATOR.join(c for c in cells if c), 0))
            continue
        if node.name == "pre":
            flush()
            blocks.extend((line, 0) for line in node.get_text().splitlines())
            continue
        if node.name in BLOCK_ELEMENTS or node.name in HEADING_LEVELS:
            flush()
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))
    flush()
    return blocks
