"""A PDF page as an image with a span of the document's text drawn on it.

The page's lines are read again with ``rag.ingest.formats.pdf.page_lines`` (the same reading as at
ingest) and aligned with the page's part of the stored text, which gives each character of
the text its pdfium character index; the cited span's characters give the boxes to
highlight. Nothing is drawn when the file no longer holds the stored content or the lines do
not align (the caller then shows the page's text instead).
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

RENDER_SCALE = 1.5  # image pixels per PDF point
CACHED_PAGES = 16


@dataclass(frozen=True)
class Box:
    """A highlight rectangle in fractions of the page image (0..1 from the top left)."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class PageImage:
    """One page rendered as PNG (a ``data:`` URI), its pixel size and the span's boxes."""

    uri: str
    width: int
    height: int
    boxes: tuple[Box, ...]


_cache: OrderedDict[tuple, tuple[str, int, int]] = OrderedDict()


def page_image(path: str, content_hash: str, page: int, page_text: str, start: int, end: int) -> PageImage | None:
    """Page ``page`` (1-based) of the PDF at ``path`` with ``page_text[start:end]`` boxed;
    ``page_text`` is the page's part of the stored text. None when the file is gone, holds
    other content or cannot be rendered; ``boxes`` is empty when the span cannot be matched."""
    import pypdfium2 as pdfium

    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(raw).hexdigest() != content_hash:
        return None
    try:
        document = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError:
        return None
    try:
        if not 1 <= page <= len(document):
            return None
        pdf_page = document[page - 1]
        uri, width, height = _rendered(content_hash, page, pdf_page)
        boxes = _span_boxes(pdf_page, page_text, start, end)
        return PageImage(uri, width, height, boxes)
    except Exception:  # a page pdfium cannot draw is shown as text instead
        return None
    finally:
        document.close()


def _rendered(content_hash: str, page: int, pdf_page) -> tuple[str, int, int]:
    key = (content_hash, page, RENDER_SCALE)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    image = pdf_page.render(scale=RENDER_SCALE).to_pil()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    _cache[key] = ("data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii"), image.width, image.height)
    while len(_cache) > CACHED_PAGES:
        _cache.popitem(last=False)
    return _cache[key]


def char_indices(textpage, page_text: str) -> list[int] | None:
    """For each character of ``page_text``, the pdfium character index it was read from (-1
    for layout spaces, separators and line breaks); None when the page's lines do not read
    as ``page_text`` (the file's text is not what was stored)."""
    from rag.ingest.formats.pdf import page_lines

    indices = [-1] * len(page_text)
    position = 0
    for line in page_lines(textpage):
        while position < len(page_text) and page_text[position] == "\n":
            position += 1
        if page_text[position : position + len(line.text)] != line.text:
            return None
        indices[position : position + len(line.text)] = line.chars
        position += len(line.text)
    return indices if not page_text[position:].strip() else None


def _span_boxes(pdf_page, page_text: str, start: int, end: int) -> tuple[Box, ...]:
    import pypdfium2.raw as pdfium_c

    textpage = pdf_page.get_textpage()
    try:
        indices = char_indices(textpage, page_text)
        if indices is None:
            return ()
        wanted = sorted({k for k in indices[max(0, start) : end] if k >= 0})
        rect = pdfium_c.FS_RECTF()
        rows: list[list[float]] = []  # left, bottom, right, top of one run on one line
        for index in wanted:
            pdfium_c.FPDFText_GetLooseCharBox(textpage.raw, index, rect)
            box = [rect.left, rect.bottom, rect.right, rect.top]
            last = rows[-1] if rows else None
            if last and abs(box[1] - last[1]) < 0.5 * (last[3] - last[1]) and box[0] >= last[0] - 1:
                last[0], last[1], last[2], last[3] = min(last[0], box[0]), min(last[1], box[1]), max(last[2], box[2]), max(last[3], box[3])
            else:
                rows.append(box)
        return tuple(_to_image(pdf_page, row) for row in rows)
    finally:
        textpage.close()


def _to_image(pdf_page, row: list[float]) -> Box:
    """A box in page space as fractions of the rendered (rotated) page image."""
    left, bottom, right, top = pdf_page.get_bbox()
    width, height = right - left, top - bottom
    x0, x1 = (row[0] - left) / width, (row[2] - left) / width
    y0, y1 = (top - row[3]) / height, (top - row[1]) / height  # from the top
    rotation = pdf_page.get_rotation() % 360
    if rotation == 90:
        x0, x1, y0, y1 = 1 - y1, 1 - y0, x0, x1
    elif rotation == 180:
        x0, x1, y0, y1 = 1 - x1, 1 - x0, 1 - y1, 1 - y0
    elif rotation == 270:
        x0, x1, y0, y1 = y0, y1, 1 - x1, 1 - x0
    return Box(round(x0, 5), round(y0, 5), round(x1 - x0, 5), round(y1 - y0, 5))
