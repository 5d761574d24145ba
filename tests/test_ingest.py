import pytest

from rag.ingest.files import FileRejected, find_files, load_document, parse_header


def test_header_block_gives_metadata_and_body_offset():
    text = "Title: A title\nSource: somewhere\nLicence: CC0\n  continued\n-----\nBody here.\n"
    meta, start = parse_header(text)
    assert meta == {"title": "A title", "source": "somewhere", "licence": "CC0 continued"}
    assert text[start:] == "Body here.\n"


def test_text_without_header_starts_at_zero():
    assert parse_header("Just text: with a colon\nand more\n") == ({}, 0)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"   \n\n ", "empty file"),
        ("binary.txt", b"\x00\x01\x02abc" * 10, "binary file"),
        ("latin1.txt", "Caf\xe9 au lait.".encode("latin-1"), "not UTF-8"),
        ("utf16.txt", "Hello there.".encode("utf-16"), "UTF-16"),
        ("header-only.txt", b"Title: x\n-----\n\n", "no text after the header"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileRejected, match=reason):
        load_document(path, 10**6)


def test_too_large_file_is_rejected(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(FileRejected, match="too large"):
        load_document(path, 100)


def test_crlf_is_read_like_read_text(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"One line.\r\nTwo line.\r\n")
    document = load_document(path, 10**6)
    assert document.text == path.read_text("utf-8")


def test_html_keeps_text_and_drops_scripts(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Page T</title><script>var x = 'evil';</script></head>"
        "<body><h1>Heading</h1><p>First para. Second sentence.</p><script>alert(1)</script></body></html>"
    )
    document = load_document(path, 10**6)
    assert document.title == "Page T"
    assert "First para. Second sentence." in document.text
    assert "alert" not in document.text and "evil" not in document.text


def test_pdf_text_is_extracted_and_textless_pdf_rejected(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure()
    figure.text(0.1, 0.5, "The treaty was signed in Paris.")
    figure.savefig(tmp_path / "text.pdf")
    plt.close(figure)
    assert "signed in Paris" in load_document(tmp_path / "text.pdf", 10**7).text

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with open(tmp_path / "blank.pdf", "wb") as handle:
        writer.write(handle)
    with pytest.raises(FileRejected, match="no text layer"):
        load_document(tmp_path / "blank.pdf", 10**7)


def test_find_files_walks_folders_sorted_skips_readme_and_reports_missing(tmp_path):
    (tmp_path / "b.txt").write_text("B.")
    (tmp_path / "a.md").write_text("A.")
    (tmp_path / "README.md").write_text("about")
    (tmp_path / "notes.csv").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("C.")
    files, skipped = find_files([tmp_path, tmp_path / "missing.txt", tmp_path / "notes.csv"])
    assert [f.name for f in files] == ["a.md", "b.txt", "c.txt"]
    assert [s.reason.split(";")[0] for s in skipped] == ["no such file or folder", "unsupported type .csv"]


def test_symlink_loop_is_reported_not_followed_forever(tmp_path):
    (tmp_path / "a.txt").write_text("A sentence.")
    (tmp_path / "loop").symlink_to(tmp_path)
    files, skipped = find_files([tmp_path])
    assert [f.name for f in files] == ["a.txt"]
    assert any("symlink loop" in s.reason for s in skipped)
