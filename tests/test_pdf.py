"""PDF extraction with pypdfium2 on the real filings of ../shared/pdfs: pages, layout blocks,
headings, titles; and hostile PDFs (a page tree listing one page 50,000 times, AES
encryption with and without a password) built here."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from conftest import SHARED

from rag.shells.cli import main
from rag.ingest.files import FileRejected, load_document
from rag.ingest.sections import page_of
from rag.ingest.sentences import split_sentences

PDFS = SHARED / "pdfs"
COSTCO = PDFS / "COSTCO_2023Q1_EARNINGS.pdf"
INTEL = PDFS / "INTEL_2022Q4_EARNINGS.pdf"
APPLE = PDFS / "APPLE_2021_10K.pdf"
NETFLIX = PDFS / "NETFLIX_2020_10K.pdf"


def _letters(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def _pdfium_page_texts(path: Path) -> list[str]:
    """Each page's text as pdfium itself gives it, without our layout."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        return [document[k].get_textpage().get_text_range() for k in range(len(document))]
    finally:
        document.close()


def page_tree_pdf(copies: int) -> bytes:
    """A small PDF whose page tree lists the same page object ``copies`` times."""
    stream = b"BT /F1 12 Tf 72 720 Td (The same page again and again, a long line of text.) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count %d /Kids [%s] >>" % (copies, b" ".join([b"3 0 R"] * copies)),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def aes_pdf(password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(page_tree_pdf(2))))
    writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def intel():
    return load_document(INTEL, 10**8)


@pytest.fixture(scope="module")
def costco():
    return load_document(COSTCO, 10**8)


def test_every_sentence_lies_on_the_page_page_of_names(intel):
    assert len(intel.pages) == 17 and intel.pages == tuple(sorted(intel.pages))
    pages = [_letters(t) for t in _pdfium_page_texts(INTEL)]
    sentences = split_sentences(intel)
    assert len(sentences) > 200
    for sentence in sentences:
        page = page_of(intel.pages, sentence.start)
        assert page_of(intel.pages, sentence.end - 1) == page
        assert _letters(sentence.text) in pages[page - 1], (page, sentence.text)
    assert {page_of(intel.pages, s.start) for s in sentences} == set(range(1, 18))


def test_a_cited_pdf_sentence_carries_its_page_to_json_and_markdown(fake_rag):
    fake_rag.ingest([COSTCO])
    answer = fake_rag.ask("How many warehouses does Costco operate?")
    citation = answer.citations[0]
    assert "847 warehouses" in citation.quote
    document = fake_rag.document(citation.doc_id)
    assert document.text[citation.start : citation.end] == citation.quote
    assert citation.page == page_of(document.pages, citation.start) == 2
    assert _letters(citation.quote) in _letters(_pdfium_page_texts(COSTCO)[1])
    assert json.loads(answer.to_json_text())["citations"][0]["page"] == 2
    assert ", p. 2, " in answer.to_markdown()


@pytest.mark.parametrize("path", [COSTCO, INTEL], ids=["costco", "intel"])
def test_headline_and_dateline_are_not_glued_to_the_first_paragraph(path):
    document = load_document(path, 10**8)
    lines = [line for line in document.text.splitlines() if line.strip()]
    headline = next(line for line in lines if "Reports" in line)  # the release's headline
    for sentence in split_sentences(document):
        if headline in sentence.text:
            assert sentence.text.splitlines()[0] == headline and "2022 (" not in sentence.text and "--" not in sentence.text
        spans_heading = any(sentence.start <= h.start < sentence.end or h.start <= sentence.start < h.end for h in document.headings)
        assert not (len(sentence.text) > 300 and spans_heading), sentence.text


def test_costco_headline_is_a_heading_and_the_title(costco):
    headline = "Costco Wholesale Corporation Reports First Quarter Fiscal Year 2023 Operating Results"
    assert costco.title == headline
    assert headline in [h.text for h in costco.headings]


def test_a_table_row_is_one_sentence_with_its_cells(costco):
    texts = [s.text for s in split_sentences(costco)]
    assert "U.S. | 9.3% | 6.5%" in texts
    assert "Net sales | $ 53,437 | $ 49,417" in texts
    apple = [s.text for s in split_sentences(load_document(APPLE, 10**8))]
    assert "Products | $ 297,392 | $ 220,747 | $ 213,883" in apple


@pytest.mark.parametrize("path", [APPLE, NETFLIX], ids=["apple", "netflix"])
def test_a_10k_title_is_not_its_metadata_id(path):
    import pypdfium2 as pdfium

    metadata = pdfium.PdfDocument(path).get_metadata_value("Title")
    assert re.fullmatch(r"[0-9-]+", metadata)  # the file really carries an id as its title
    title = load_document(path, 10**8).title
    assert title != metadata and re.search(r"[A-Za-z]{3,}", title)


def test_outline_entries_become_headings_on_their_pages(intel):
    import pypdfium2 as pdfium

    outline = [(b.get_title(), b.get_dest().get_index()) for b in pdfium.PdfDocument(INTEL).get_toc()]
    assert len(outline) == 12
    assert [(h.text, page_of(intel.pages, h.start) - 1) for h in intel.headings] == outline
    assert all(h.level == 1 and intel.text[h.start : h.end].strip() for h in intel.headings)
    business = next(h for h in intel.headings if h.text == "Business Summary")
    assert intel.text[business.start : business.end] == "Business Unit Summary"  # the line at its target


def test_ligatures_without_unicode_are_spelled_out(costco):
    for word in ("first quarter", "fiscal 2023", "tax benefit", "write-off", "inflation", "the effects"):
        assert word in costco.text
    assert "\ufffe" not in costco.text and "\x00" not in costco.text


def test_extraction_is_deterministic():
    assert load_document(INTEL, 10**8) == load_document(INTEL, 10**8)


def test_a_page_tree_listing_one_page_50000_times_is_skipped_before_reading_pages(tmp_path):
    path = tmp_path / "tree.pdf"
    path.write_bytes(page_tree_pdf(50_000))
    assert path.stat().st_size < 310_000
    with pytest.raises(FileRejected) as raised:
        load_document(path, 10**8)
    assert str(raised.value) == "PDF has 50,000 pages (limit 2,000); split it or raise max_pdf_pages"


def test_extracted_characters_are_limited_as_pages_are_read(tmp_path):
    path = tmp_path / "tree.pdf"
    path.write_bytes(page_tree_pdf(1_000))
    with pytest.raises(FileRejected) as raised:
        load_document(path, 10**8, max_text_chars=10_000)
    assert str(raised.value) == (
        "PDF text passes the limit of 10,000 characters by page 197 of 1,000; split it or raise max_text_chars"
    )
    assert len(load_document(path, 10**8).pages) == 1_000


def test_aes_pdf_with_empty_password_opens_and_a_locked_one_is_skipped_in_one_batch(cli_workdir, capsys):
    tmp_path = cli_workdir
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "open.pdf").write_bytes(aes_pdf(""))
    (docs / "locked.pdf").write_bytes(aes_pdf("secret"))
    (docs / "good.txt").write_text("Title: Good\n-----\nThe vault opens at dawn on Mondays.\n")
    assert "The same page again and again" in load_document(docs / "open.pdf", 10**8).text
    code = main(["ingest", str(docs), "--store", str(tmp_path / "store"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sorted(Path(p).name for p in report["added"]) == ["good.txt", "open.pdf"]
    assert report["skipped"] == [
        {"path": str(docs / "locked.pdf"), "reason": "PDF is password-protected; remove the password (qpdf --decrypt IN OUT) and ingest again"}
    ]


def test_the_source_panel_shows_a_pdf_citation_on_its_page_image_else_the_page_text(fake_rag, tmp_path):
    from rag.shells.web.chat import ChatTurn, open_source

    copy = tmp_path / "costco.pdf"
    copy.write_bytes(COSTCO.read_bytes())
    fake_rag.ingest([copy])
    answer = fake_rag.ask("How many warehouses does Costco operate?")
    turns = [ChatTurn(answer.question, answer)]
    panel = open_source(fake_rag, turns, "cite", 0, 1)
    assert '<div class="rag-page" data-page="2">' in panel and 'src="data:image/png;base64,' in panel
    boxes = re.findall(r'<mark(?: id="rag-hit")? class="rag-page-hit" style="left:([0-9.]+)%;top:([0-9.]+)%', panel)
    assert len(boxes) == 3 and all(0 < float(top) < 30 for _, top in boxes)  # three lines near the top of page 2

    copy.write_bytes(COSTCO.read_bytes() + b"\n%edited\n")  # the file no longer holds what was stored
    fallback = open_source(fake_rag, turns, "cite", 0, 1)
    assert "rag-page-hit" not in fallback and "data:image" not in fallback
    document = fake_rag.document(answer.citations[0].doc_id)
    page_two = document.text[document.pages[1] : document.pages[2]]
    assert '<mark id="rag-hit" class="rag-hit">' in fallback and "p. 2" in fallback
    assert "Comparable sales" not in fallback and "CONSOLIDATED STATEMENTS OF INCOME" not in fallback  # pages 1 and 3
    assert "A conference call to discuss these results" in page_two and "A conference call to discuss these results" in fallback


def test_page_characters_align_with_the_stored_page_text(intel):
    import pypdfium2 as pdfium

    from rag.ingest.formats.pdf_page import char_indices

    document = pdfium.PdfDocument(INTEL)
    for page in (1, 5, 17):
        begin = intel.pages[page - 1]
        end = intel.pages[page] if page < len(intel.pages) else len(intel.text)
        textpage = document[page - 1].get_textpage()
        indices = char_indices(textpage, intel.text[begin:end])
        assert indices is not None and len(indices) == end - begin
        written = "".join(intel.text[begin + k] for k, i in enumerate(indices) if i >= 0)
        read = "".join(textpage.get_text_range(i, 1) for i in indices if i >= 0)
        assert _letters(written) == _letters(read.replace("\ufffe", "-"))
        assert char_indices(textpage, intel.text[begin:end].replace("e", "a", 1)) is None
