"""PDF -> text with pages, blocks and headings, read with pypdfium2.

Each page's characters are taken in pdfium's order and cut into lines where pdfium breaks
them; inside a line, a wide horizontal gap starts a new cell (cells are joined by `` | ``, so
a table row stays one line). Lines are classed as table rows, list items, headings (larger
or bold type, short, no final stop) or text, and grouped into blocks: the lines of a
paragraph are joined by a newline, blocks and pages by a blank line, so the sentence splitter
never runs a headline into the paragraph under it. Extraction is deterministic: the same
bytes give the same text. Every character written that came from the page keeps its pdfium
character index (``PageText.chars``), which is how a span of the text is drawn back on the
page (``rag.ingest.formats.pdf_page``).
"""

from __future__ import annotations

import ctypes
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rag.ingest.formats.pdf_lines import HEADING_SIZE, LETTERS_WORD, MAX_HEADING_CHARS, SPACES, Block, Line
from rag.types import Heading

CELL_GAP = 1.6  # a horizontal gap wider than this many font sizes starts a new table cell
PARAGRAPH_GAP = 0.6  # lines further apart than the usual pitch by this many font sizes are different paragraphs
CELL_SEPARATOR = " | "
_ITEM = re.compile(r"(?:[•●▪◦‣∙·■□►✓\-–—*]|\(?[0-9]{1,3}[.)]|\([a-zA-Z]{1,4}\))\s")
_CURRENCY = frozenset({"$", "€", "£", "¥", "(", "$(", "($"})
_FINAL_STOP = tuple(".,;:!?")
_LIGATURE_MARKS = {"\x01": "fi", "\x02": "ff", "\x03": "ffi"}


class PdfRejected(Exception):
    """The one-line reason a PDF cannot be ingested."""


@dataclass(frozen=True)
class PdfLimits:
    """How much one PDF may hold: pages, and characters of extracted text."""

    max_pages: int = 2000
    max_chars: int = 16 * 2**20


@dataclass(frozen=True)
class PdfText:
    """A PDF's text (a ``Title:`` header block, then the pages), where each page begins in
    it, its headings (spans of the text) and its title."""

    text: str
    pages: tuple[int, ...]
    headings: tuple[Heading, ...]
    title: str


def extract_pdf(raw: bytes, name: str, limits: PdfLimits = PdfLimits()) -> PdfText:
    """The text, pages, headings and title of a PDF; raise PdfRejected with a one-line reason
    for a PDF that cannot be read, needs a password, or passes ``limits`` (checked before each
    page is read, so an oversized file stops early)."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise PdfRejected("PDF is password-protected; remove the password (qpdf --decrypt IN OUT) and ingest again") from None
        raise PdfRejected(f"unreadable PDF ({_pdfium_reason(exc)}); re-export it") from None
    try:
        return _extract(document, name, limits)
    except PdfRejected:
        raise
    except Exception as exc:  # any failure inside pdfium on a hostile file is this file's reason
        raise PdfRejected(f"unreadable PDF ({type(exc).__name__}: {_pdfium_reason(exc)}); re-export it") from None
    finally:
        document.close()


def _pdfium_reason(exc: Exception) -> str:
    """pdfium's own words for a failure ("data format error"), else the exception's."""
    said = re.search(r"PDFium: ([^)]+)", str(exc))
    return (said.group(1).lower() if said else SPACES.sub(" ", str(exc)).strip()[:120]) or type(exc).__name__


def _extract(document, name: str, limits: PdfLimits) -> PdfText:
    count = len(document)
    if count > limits.max_pages:
        raise PdfRejected(f"PDF has {count:,} pages (limit {limits.max_pages:,}); split it or raise max_pdf_pages")
    pages: list[list[Line]] = []
    total = 0
    for index in range(count):
        page = document[index]
        textpage = page.get_textpage()
        try:
            total += textpage.count_chars()
            if total > limits.max_chars:
                raise PdfRejected(
                    f"PDF text passes the limit of {limits.max_chars:,} characters by page {index + 1:,} of {count:,}; "
                    "split it or raise max_text_chars"
                )
            pages.append(page_lines(textpage))
        finally:
            textpage.close()
            page.close()
    from rag.ingest.formats.pdf_headings import layout_headings, layout_title, metadata_title, outline_headings

    body_size = _body_size(pages)
    page_blocks = [_blocks(lines, body_size) for lines in pages]
    title = metadata_title(document)
    heading_blocks = [b for blocks in page_blocks for b in blocks if b.kind == "heading"]
    if not title:
        title = layout_title(page_blocks) or SPACES.sub(" ", name).strip() or "untitled PDF"
    header = f"Title: {title}\n-----\n"
    parts: list[str] = [header]
    length = len(header)
    starts: list[int] = []
    spans: dict[int, tuple[int, int]] = {}  # id(block) -> its span of the text
    for blocks in page_blocks:
        if length > len(header) and blocks:
            parts.append("\n\n")
            length += 2
        starts.append(length)
        for number, block in enumerate(blocks):
            if number:
                parts.append("\n\n")
                length += 2
            written = "\n".join(line.text for line in block.lines)
            spans[id(block)] = (length, length + len(written))
            parts.append(written)
            length += len(written)
    parts.append("\n")
    text = "".join(parts)
    if not text[len(header):].strip():
        raise PdfRejected("PDF has no text layer (scanned image?); run OCR first")
    headings = outline_headings(document, page_blocks, spans) or layout_headings(heading_blocks, spans, body_size)
    return PdfText(text, tuple(starts), tuple(headings), title)


def page_lines(textpage) -> list[Line]:
    """The lines of one page (pdfium's text page) in pdfium's order, with their cells."""
    lines: list[Line] = []
    current: list[tuple] = []
    for char in _chars(textpage):
        if char[1] in "\r\n":
            if current:
                lines.append(_line(current))
            current = []
            continue
        current.append(char)
    if current:
        lines.append(_line(current))
    return [line for line in lines if line.text.strip()]


def _chars(textpage) -> Iterator[tuple]:
    """(index, text, left, right, bottom, top, size, bold) of each character of the page."""
    import pypdfium2.raw as pdfium_c

    handle = textpage.raw
    rect = pdfium_c.FS_RECTF()
    bold_of: dict[int, bool] = {}
    name = ctypes.create_string_buffer(128)
    for index in range(pdfium_c.FPDFText_CountChars(handle)):
        code = pdfium_c.FPDFText_GetUnicode(handle, index)
        if pdfium_c.FPDFText_IsGenerated(handle, index):
            yield (index, "\n" if code in (10, 13) else " ", 0.0, 0.0, 0.0, 0.0, 0.0, False)
            continue
        pdfium_c.FPDFText_GetLooseCharBox(handle, index, rect)
        # The box's height is the type size as printed; the font size a char reports ignores
        # the text matrix (filings set 384-point fonts scaled down to 9).
        size = rect.top - rect.bottom
        textobj = pdfium_c.FPDFText_GetTextObject(handle, index)
        key = ctypes.cast(textobj, ctypes.c_void_p).value or 0
        if key not in bold_of:
            bold = False
            font = pdfium_c.FPDFTextObj_GetFont(textobj) if key else None
            if font:
                name.value = b""
                pdfium_c.FPDFFont_GetBaseFontName(font, name, len(name))
                label = name.value.decode("latin-1").lower()
                bold = pdfium_c.FPDFFont_GetWeight(font) >= 600 or any(w in label for w in ("bold", "black", "heavy", "semibold"))
            bold_of[key] = bold
        nominal = pdfium_c.FPDFText_GetFontSize(handle, index) if code == 0 else 0.0
        yield (index, _char_text(code, rect.right - rect.left, nominal), rect.left, rect.right, rect.bottom, rect.top, size, bold_of[key])


def _char_text(code: int, width: float, size: float) -> str:
    """The text of one character; an unmapped glyph (code 0, a ligature whose font lacks a
    Unicode map) becomes a mark for "ff", "ffi" or "fi" by its width against the font size,
    resolved against the next letter by ``_ligatures``."""
    if code == 2:  # pdfium's code for a hyphen
        return "-"
    if code == 0:
        ratio = width / size if size else 0
        return "\x03" if ratio > 0.65 else "\x02" if ratio > 0.45 else "\x01"
    if code < 32 or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
        return " "
    return chr(code)


def _line(chars: Sequence[tuple]) -> Line:
    text: list[str] = []
    indices: list[int] = []
    previous = None
    space = False
    cells = 1
    cell_start = 0
    for index, char, left, right, bottom, top, size, _ in chars:
        if char.isspace():
            space = True
            continue
        if previous is not None:
            gap = left - previous[3]
            # a currency sign starts its column's cell ("Products | $ 297,392 | $ 220,747")
            wide = (0.8 if char in _CURRENCY else CELL_GAP) * max(size, previous[6])
            if gap > wide and "".join(text[cell_start:]).strip() not in _CURRENCY:
                text.extend(CELL_SEPARATOR)
                indices.extend([-1] * len(CELL_SEPARATOR))
                cells += 1
                cell_start = len(text)
            elif space or gap > 0.3 * size:
                text.append(" ")
                indices.append(-1)
        for piece in char:
            text.append(piece)
            indices.append(index)
        previous = (index, char, left, right, bottom, top, size)
        space = False
    written, chars_of = _ligatures(text, indices)
    real = [c for c in chars if not c[1].isspace()]
    sizes = Counter(round(c[6] * 2) / 2 for c in real)
    return Line(
        text=written,
        chars=chars_of,
        size=sizes.most_common(1)[0][0] if sizes else 0.0,
        bold=sum(c[7] for c in real) >= 0.6 * len(real) if real else False,
        left=min((c[2] for c in real), default=0.0),
        top=max((c[5] for c in real), default=0.0),
        bottom=min((c[4] for c in real), default=0.0),
        cells=cells,
    )


def _ligatures(pieces: list[str], indices: list[int]) -> tuple[str, list[int]]:
    """Resolve the unmapped-ligature marks of ``_char_text`` (``_LIGATURE_MARKS``); "fi" and
    "ffi" become "fl" and "ffl" before a vowel other than e ("inflation", "conflict")."""
    text = "".join(pieces)
    if not any(mark in text for mark in _LIGATURE_MARKS):
        return text, indices
    out: list[str] = []
    chars: list[int] = []
    for k, char in enumerate(text):
        guess = _LIGATURE_MARKS.get(char)
        if guess is None:
            out.append(char)
            chars.append(indices[k])
            continue
        if guess.endswith("i") and text[k + 1 : k + 2] in ("a", "o", "u", "i", "y"):
            guess = guess[:-1] + "l"
        out.append(guess)
        chars.extend([indices[k]] * len(guess))
    return "".join(out), chars


def _body_size(pages: Sequence[Sequence[Line]]) -> float:
    """The most common type size of the document, weighted by characters."""
    sizes: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _kind(line: Line, body_size: float) -> str:
    text = line.text.strip()
    if line.cells >= 2:
        return "row"
    if _ITEM.match(text):
        return "item"
    larger = body_size > 0 and line.size >= body_size * HEADING_SIZE
    if (
        (larger or line.bold)
        and len(text) <= MAX_HEADING_CHARS
        and not text.endswith(_FINAL_STOP)
        and LETTERS_WORD.search(text)
    ):
        return "heading"
    return "text"


def _blocks(lines: Sequence[Line], body_size: float) -> list[Block]:
    """Group a page's lines into blocks: a table row alone, a list item with its indented
    continuation, a (possibly multi-line) heading, a paragraph (lines no further apart than
    the page's usual line pitch)."""
    pitch = _line_pitch(lines)
    blocks: list[Block] = []
    for line in lines:
        line.kind = _kind(line, body_size)
        last = blocks[-1] if blocks else None
        if last is not None and _continues(last, line, pitch):
            last.lines.append(line)
        else:
            blocks.append(Block([line]))
    return blocks


def _line_pitch(lines: Sequence[Line]) -> float:
    """The most common distance between consecutive lines' tops, in font sizes."""
    ratios: Counter[float] = Counter()
    for previous, line in zip(lines, lines[1:]):
        if line.size and line.size == previous.size and 0 < previous.top - line.top < 3 * line.size:
            ratios[round((previous.top - line.top) / line.size, 1)] += 1
    return ratios.most_common(1)[0][0] if ratios else 1.2


def _continues(block: Block, line: Line, pitch: float) -> bool:
    previous = block.lines[-1]
    size = max(line.size, previous.size, 1.0)
    step = previous.top - line.top
    if not 0 < step <= (pitch + PARAGRAPH_GAP * 0.5) * size or abs(line.size - previous.size) > 0.05 * size:
        return False
    if line.kind == "heading":
        return block.kind == "heading" and line.bold == previous.bold
    if line.kind != "text":
        return False
    if block.kind == "item":
        return line.left > block.lines[0].left + 1
    return block.kind == "text"
