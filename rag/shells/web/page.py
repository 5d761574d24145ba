"""HTML for the source panel when a citation is on a PDF page: the page as an image with the
cited sentence's boxes over it. Pure (no I/O); the image comes from ``rag.ingest.formats.pdf_page``.
"""

from __future__ import annotations

import html
import os

from rag.ingest.formats.pdf_page import PageImage
from rag.types import Document
from rag.shells.web.assets import asset
from rag.shells.web.render import MARK_ID

PAGE_CSS = asset("page.css")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_page(document: Document, page: int, image: PageImage, *, heading: str, quote: str) -> str:
    """The panel for a cited span on page ``page`` of ``document``: the rendered page with a
    ``<mark class="rag-page-hit">`` per box (the first has id ``rag-hit``), and the quote."""
    marks = []
    for k, box in enumerate(image.boxes):
        ident = f' id="{MARK_ID}"' if k == 0 else ""
        place = f"left:{box.left:.3%};top:{box.top:.3%};width:{box.width:.3%};height:{box.height:.3%}"
        marks.append(f'<mark{ident} class="rag-page-hit" style="{place}"></mark>')
    name = os.path.basename(document.path)
    return (
        '<div class="rag-doc rag-doc-pdf">'
        '<div class="rag-doc-head">'
        f'<div class="rag-doc-kicker">{_e(heading)}</div>'
        f'<div class="rag-doc-title">{_e(document.title)}</div>'
        f'<dl class="rag-doc-meta"><dt>File</dt><dd>{_e(name)}</dd><dt>Page</dt><dd>{page} of {len(document.pages)}</dd></dl>'
        "</div>"
        '<div class="rag-doc-body rag-page-body">'
        f'<div class="rag-page" data-page="{page}">'
        f'<img src="{image.uri}" width="{image.width}" height="{image.height}" alt="{_e(f"Page {page} of {name}")}">'
        f"{''.join(marks)}</div>"
        f'<p class="rag-page-quote">“{_e(quote)}”</p>'
        "</div></div>"
    )
