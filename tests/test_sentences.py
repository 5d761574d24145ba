from pathlib import Path

import pytest
from conftest import SEED, SHARED_CORPUS

from rag.ingest.files import find_files, load_document
from rag.ingest.sentences import split_sentences
from rag.types import Document


def doc(text: str, body_start: int = 0) -> Document:
    return Document(doc_id="d", path="/x.txt", title="t", text=text, content_hash="h", body_start=body_start)


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(doc(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "He met U.S. officials. Then he left.",
            ["He met U.S. officials.", "Then he left."],
        ),
        (
            "The U.S. Department of State agreed. Talks went on.",
            ["The U.S. Department of State agreed.", "Talks went on."],
        ),
        ("Dr. Smith spoke. Mr. Jones replied.", ["Dr. Smith spoke.", "Mr. Jones replied."]),
        ("See No. 5 of the list. It is short.", ["See No. 5 of the list.", "It is short."]),
        ("President Donald J. Trump said so. Others agreed.", ["President Donald J. Trump said so.", "Others agreed."]),
        (
            'He said, "We will stay." Then the talks ended.',
            ['He said, "We will stay."', "Then the talks ended."],
        ),
        ("Is it over? No! It goes on.", ["Is it over?", "No!", "It goes on."]),
        ("prices rose 2.5 percent. Next year too.", ["prices rose 2.5 percent.", "Next year too."]),
        (
            "Aid came from the U.S. The package was large.",
            ["Aid came from the U.S.", "The package was large."],
        ),
        ("It was signed in Washington, D.C. It entered into force.", ["It was signed in Washington, D.C.", "It entered into force."]),
        ("Ask Dr. The Smiths know.", ["Ask Dr. The Smiths know."]),
        ("He met the U.S. Secretary of State.", ["He met the U.S. Secretary of State."]),
    ],
)
def test_abbreviations_quotes_and_stops(text, expected):
    assert texts(text) == expected


def test_hard_wrapped_lines_join_but_blank_lines_and_lists_split():
    text = (
        "The talks went on\nfor five hours. They ended\nlate.\n\n"
        "1. The first item.\n2. The second item\ncontinues here.\n- a bullet point here\n"
        "### Article  5\nThe Parties agree.  \nA new line after a hard break."
    )
    assert texts(text) == [
        "The talks went on\nfor five hours.",
        "They ended\nlate.",
        "1. The first item.",
        "2. The second item\ncontinues here.",
        "a bullet point here",
        "Article  5",
        "The Parties agree.",
        "A new line after a hard break.",
    ]


def test_body_only_and_offsets_are_exact():
    text = "Title: X\n-----\nOne sentence here. Another one.\n"
    sentences = split_sentences(doc(text, body_start=15))
    assert [s.text for s in sentences] == ["One sentence here.", "Another one."]
    for s in sentences:
        assert text[s.start : s.end] == s.text


def test_over_long_sentence_is_cut_at_clause_boundaries_to_fit():
    clause = "the committee shall report annually on the matter"
    text = "; ".join([clause] * 6) + "."
    fits = lambda t: len(t) <= 120  # noqa: E731
    sentences = split_sentences(doc(text), fits)
    assert len(sentences) > 1
    assert all(fits(s.text) for s in sentences)
    assert all(text[s.start : s.end] == s.text for s in sentences)
    assert sentences[0].text.endswith(";")


def test_ids_come_from_content_and_position():
    first = split_sentences(doc("Alpha beta gamma. Delta epsilon."))
    again = split_sentences(doc("Alpha beta gamma. Delta epsilon."))
    assert [s.sentence_id for s in first] == [s.sentence_id for s in again]
    assert len({s.sentence_id for s in first}) == 2


def _corpus_documents():
    files, skipped = find_files([SEED, SHARED_CORPUS])
    assert not skipped
    return [load_document(f, 10**8) for f in files]


def test_offsets_match_read_text_on_every_real_file():
    documents = _corpus_documents()
    assert len(documents) == 32
    for document in documents:
        on_disk = Path(document.path).read_text("utf-8")
        assert on_disk == document.text
        sentences = split_sentences(document)
        assert sentences, document.path
        for s in sentences:
            assert on_disk[s.start : s.end] == s.text
            assert s.start >= document.body_start
            assert s.text == s.text.strip()


def _sentences_of(name: str) -> list[str]:
    path = SEED if name == SEED.name else SHARED_CORPUS / name
    return [s.text for s in split_sentences(load_document(path, 10**8))]


def test_real_seed_sentences_keep_abbreviations_whole():
    sentences = _sentences_of("seed-article.txt")
    assert (
        "He warned that guarantees without strong U.S. participation would lack credibility and stressed "
        "that any agreement must include clear commitments from Russia."
    ) in sentences
    assert any(s.startswith("The U.S. delegation was led by Steve Witkoff") for s in sentences)
    assert len(sentences) == 26


def test_real_hard_wrapped_readout_keeps_sentences_across_lines():
    sentences = _sentences_of("wh-2023-06-29-readout-sullivan-meeting-pistorius.txt")
    assert (
        "National Security Advisor Jake Sullivan met yesterday with German\nFederal Minister of Defense "
        "Boris Pistorius to discuss a range of global\nsecurity issues."
    ) in sentences
    assert "They reviewed preparations\nfor the upcoming NATO Summit in Vilnius." in sentences


def test_real_acronym_at_sentence_end_splits_before_the_next_sentence():
    sentences = _sentences_of("wikipedia-2019-nato.txt")
    assert any(s.endswith("in conjunction with the US led MNF-I.[50]") or s.endswith("MNF-I.") for s in sentences), [
        s for s in sentences if "MNF-I" in s
    ]
    assert any(s.startswith("The NATO Training Mission-Iraq (NTM-I) was established") for s in sentences)


def test_real_treaty_numbered_paragraphs_are_not_split_at_their_number():
    sentences = _sentences_of("charter-of-the-united-nations-1945.txt")
    assert "1. The Organization is based on the principle of the sovereign equality of all its Members." in sentences
    assert not any(s in ("1.", "2.", "3.") for s in sentences)
