"""Headings: found in Markdown, plain text, HTML and DOCX at exact spans, never cited, shown
on citations as the section path."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED

from rag.ingest.files import load_document
from rag.ingest.sections import find_headings, heading_between, section_label, section_paths
from rag.ingest.sentences import split_sentences

QASPER_DOCS = SHARED / "benchmarks" / "qasper" / "docs"


def _load(tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return load_document(path, 2**24)


def _check_spans(document) -> None:
    for heading in document.headings:
        assert document.text[heading.start : heading.end] == heading.text
    for sentence in split_sentences(document):
        assert document.text[sentence.start : sentence.end] == sentence.text


def _sentences(document) -> list[str]:
    return [s.text for s in split_sentences(document)]


def test_markdown_headings_have_levels_and_are_no_sentences(tmp_path):
    document = _load(
        tmp_path,
        "report.md",
        "# Annual report\n\nThe year went well.\n\n## Experiments ##\n\nWe ran three trials.\n"
        "### Datasets\nThe Marl set has 40 rows.\n\n####Closing words\n\nThat is all.\n",
    )
    assert [(h.level, h.text) for h in document.headings] == [
        (1, "Annual report"), (2, "Experiments"), (3, "Datasets"), (4, "Closing words")
    ]
    _check_spans(document)
    assert _sentences(document) == ["The year went well.", "We ran three trials.", "The Marl set has 40 rows.", "That is all."]
    marl = document.text.index("The Marl")
    assert section_label(document.headings, marl) == "Annual report › Experiments › Datasets"


def test_plain_text_numbered_headings_nest(tmp_path):
    document = _load(
        tmp_path,
        "paper.txt",
        "A Study of Marl Cabinets\n\nAbstract\n\nWe study cabinets.\n\n3 Experiments\n\nWe ran trials.\n\n"
        "3.2 Datasets\n\nThe Marl set has 40 rows.\n\nModels ::: Encoder\n\nThe encoder reads rows.\n",
    )
    assert [(h.level, h.text) for h in document.headings] == [
        (1, "A Study of Marl Cabinets"), (1, "Abstract"), (1, "3 Experiments"), (2, "3.2 Datasets"), (2, "Encoder")
    ]
    _check_spans(document)
    assert section_label(document.headings, document.text.index("The Marl")) == "3 Experiments › 3.2 Datasets"
    assert section_label(document.headings, document.text.index("The encoder")) == "3 Experiments › Encoder"
    assert "Abstract" not in _sentences(document)


@pytest.mark.parametrize(
    "line",
    [
        "He left at noon.",  # a short sentence with its stop
        "The Council shall meet:",  # a lead-in to a list
        "- Albania",  # a list item
        "Table 2: Corpus overview",  # a caption
        "INLINEFORM0",  # a formula marker, no word
        "MR. SULLIVAN: It is hard to ever predict the",  # a line broken off
        "And with that —",
        "9:09 A.M. EDT",
    ],
)
def test_lines_that_are_not_headings(tmp_path, line):
    document = _load(tmp_path, "notes.txt", f"Background\n\nThe talks began.\n\n{line}\n\nThey ended well.\n\nOutcome\n\nA deal.\n")
    assert [h.text for h in document.headings] == ["Background", "Outcome"]


def test_news_dateline_is_no_heading_but_treaty_articles_are(tmp_path):
    news = _load(
        tmp_path,
        "news.txt",
        "Title: Talks\n-----\nVilnius, Lithuania\n\nAboard Air Force One\n\nThe talks began on Monday. They went well.\n\n"
        "Officials met again.\n",
    )
    assert news.headings == ()
    assert "Vilnius, Lithuania" in _sentences(news)
    treaty = _load(tmp_path, "treaty.txt", "Article 5\n\nAn attack on one is an attack on all.\n\nArticle 6\n\nThe area is defined.\n")
    assert [h.text for h in treaty.headings] == ["Article 5", "Article 6"]
    assert _sentences(treaty) == ["An attack on one is an attack on all.", "The area is defined."]


def test_a_heading_line_inside_a_paragraph_is_not_a_heading():
    text = "Results\nThe model wins by two points.\n\nDiscussion\n\nIt is fast.\n"
    assert [h.text for h in find_headings(text)] == ["Discussion"]


def test_qasper_paper_sections_become_headings():
    path = next(p for p in sorted(QASPER_DOCS.glob("*.txt")) if ":::" in p.read_text("utf-8"))
    document = load_document(path, 2**24)
    texts = [h.text for h in document.headings]
    assert "Abstract" in texts and "Introduction" in texts
    assert any(h.level == 2 for h in document.headings)  # "Models ::: Intent model" and the like
    assert all(":::" not in h.text for h in document.headings)
    _check_spans(document)
    cited = set(_sentences(document))
    assert not cited & set(texts)


def test_every_shared_document_keeps_exact_spans():
    for path in sorted((SHARED / "corpus").glob("*.txt"))[:12] + sorted(QASPER_DOCS.glob("*.txt"))[:8]:
        _check_spans(load_document(path, 2**24))


def test_markdown_heading_is_never_cited(fake_rag, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "cabinet.md").write_text(
        "# Marl library cabinet\n\n## Where the archive is kept\n\nThe archive is kept at the Marl library in a locked cabinet.\n\n"
        "## Who holds the key\n\nThe key is held by the head librarian, Ines Varga.\n",
        "utf-8",
    )
    fake_rag.ingest([folder])
    for question in ("Where is the archive kept?", "Marl library cabinet", "Who holds the key?"):
        answer = fake_rag.ask(question)
        for citation in answer.citations:
            assert not citation.quote.lstrip("# ").startswith(("Marl library cabinet", "Where the archive", "Who holds"))
            assert citation.section.startswith("Marl library cabinet › ")
    answer = fake_rag.ask("Who holds the key?")
    assert answer.citations and answer.citations[0].section == "Marl library cabinet › Who holds the key"
    assert answer.to_json()["citations"][0]["section"] == "Marl library cabinet › Who holds the key"
    key = next(h for h in answer.evidence if h.sentence.text.startswith("The key"))
    assert key.context == "Who holds the key"  # read after its heading, not after the section before


def test_section_paths_and_the_heading_between_two_offsets():
    text = "# A\n\none.\n\n## B\n\ntwo.\n\n# C\n\nthree.\n"
    headings = find_headings(text)
    offsets = [text.index(w) for w in ("one", "two", "three")]
    assert section_paths(headings, offsets) == [("A",), ("A", "B"), ("C",)]
    assert [section_label(headings, o) for o in offsets] == ["A", "A › B", "C"]
    assert heading_between(headings, offsets[0] + 4, offsets[1]).text == "B"
    assert heading_between(headings, offsets[1], offsets[1] + 3) is None
