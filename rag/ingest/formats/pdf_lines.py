"""The lines and blocks a PDF page is rebuilt into, and the measures that class them; shared
by the extraction (``rag.ingest.formats.pdf``) and the headings (``pdf_headings``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEADING_SIZE = 1.15  # type this much larger than the body's is a heading
MAX_HEADING_CHARS = 150
LETTERS_WORD = re.compile(r"[^\W\d_]{3,}")
SPACES = re.compile(r"\s+")


@dataclass
class Line:
    """One line of a page as written into the text: ``chars[k]`` is the pdfium character
    index of ``text[k]`` (-1 for a space or cell separator put in by the layout)."""

    text: str
    chars: list[int]
    size: float
    bold: bool
    left: float
    top: float
    bottom: float
    cells: int
    kind: str = "text"


@dataclass
class Block:
    lines: list[Line] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.lines[0].kind
