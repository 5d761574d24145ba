"""HTML and DOCX: text in reading order, split at block elements only, headings with levels."""

from __future__ import annotations

import pytest

from rag.ingest.files import FileRejected, load_document
from rag.ingest.sentences import split_sentences


def _document(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return load_document(path, 2**24)


def _exact(document) -> list[str]:
    for heading in document.headings:
        assert document.text[heading.start : heading.end] == heading.text
    sentences = split_sentences(document)
    for sentence in sentences:
        assert document.text[sentence.start : sentence.end] == sentence.text
    return [s.text for s in sentences]


def test_html_inline_tags_never_split_a_sentence(tmp_path):
    document = _document(
        tmp_path,
        "archive.html",
        "<html><head><title>Archive</title></head><body>"
        "<p>The archive is kept at <a href='#'>the Marl library</a> in a locked cabinet.</p>"
        "<p>Its key is <b>held</b> by <span class='x'>Ines <em>Varga</em></span>, the<sup>1</sup> librarian"
        " of <abbr title='x'>MLS</abbr> and <code>keeper</code>.</p></body></html>",
    )
    assert _exact(document) == [
        "The archive is kept at the Marl library in a locked cabinet.",
        "Its key is held by Ines Varga, the1 librarian of MLS and keeper.",
    ]


def test_html_block_elements_end_blocks_and_headings_have_levels(tmp_path):
    document = _document(
        tmp_path,
        "page.html",
        "<body><h1>Marl <i>library</i></h1><div>Opening hours vary<br>Closed on Sundays</div>"
        "<h2>Collections</h2><ul><li>Maps of the valley</li><li>Letters</li></ul>"
        "<h3>Rare books</h3><table><tr><th>Item</th><th>Year</th></tr><tr><td>Atlas</td><td>1820</td></tr></table>"
        "<blockquote>Quiet, please</blockquote><pre>line one\nline two</pre><!-- a comment --><script>x()</script></body>",
    )
    assert [(h.level, h.text) for h in document.headings] == [(1, "Marl library"), (2, "Collections"), (3, "Rare books")]
    assert _exact(document) == [
        "Opening hours vary", "Closed on Sundays", "Maps of the valley", "Letters",
        "Item | Year", "Atlas | 1820", "Quiet, please", "line one", "line two",
    ]


def test_deeply_nested_html_is_read(tmp_path):
    document = _document(tmp_path, "deep.html", "<div>" * 5000 + "Deep text is here." + "</div>" * 5000)
    assert _exact(document) == ["Deep text is here."]


def _docx_bytes(build) -> bytes:
    import io

    import docx

    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _report(document) -> None:
    document.add_paragraph("Marl Library Report", style="Title")
    document.add_heading("Holdings", level=1)
    document.add_paragraph("The archive is kept at the Marl library in a locked cabinet.")
    document.add_heading("Maps", level=2)
    document.add_paragraph("Valley maps from 1820", style="List Bullet")
    document.add_paragraph("Coastal charts", style="List Number")
    table = document.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, (("Item", "Year"), ("Atlas", "1820"))):
        for cell, value in zip(row.cells, values):
            cell.text = value
    document.add_heading("Access", level=1)
    document.add_paragraph("The key is held by the head librarian, Ines Varga.")


def test_docx_paragraphs_lists_tables_and_heading_styles(tmp_path):
    document = _document(tmp_path, "report.docx", _docx_bytes(_report))
    assert document.kind == "docx"
    assert document.title == "Marl Library Report"
    assert [(h.level, h.text) for h in document.headings] == [
        (1, "Marl Library Report"), (1, "Holdings"), (2, "Maps"), (1, "Access")
    ]
    assert _exact(document) == [
        "The archive is kept at the Marl library in a locked cabinet.",
        "Valley maps from 1820", "Coastal charts", "Item | Year", "Atlas | 1820",
        "The key is held by the head librarian, Ines Varga.",
    ]


def test_a_broken_docx_is_a_one_line_reason(tmp_path):
    with pytest.raises(FileRejected, match="unreadable DOCX"):
        _document(tmp_path, "broken.docx", b"PK\x03\x04 not really a zip")


def test_docx_headings_reach_the_citations(fake_rag, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "report.docx").write_bytes(_docx_bytes(_report))
    report = fake_rag.ingest([folder])
    assert not report.skipped
    answer = fake_rag.ask("Who holds the key of the Marl library?")
    cited = answer.to_json()["citations"]
    assert cited and cited[0]["quote"] == "The key is held by the head librarian, Ines Varga."
    assert cited[0]["section"] == "Access"
    assert all(c["quote"] not in ("Holdings", "Maps", "Access", "Marl Library Report") for c in cited)
