"""With the real model over a real paper: a section name is never cited, citations carry
their section path."""

from __future__ import annotations

import pytest
from conftest import REPO, SHARED

pytestmark = pytest.mark.real

PAPER = SHARED / "benchmarks" / "qasper" / "docs" / "1602.07563.txt"
QUESTIONS = (
    "Which measures of inter-annotator agreement are used?",
    "What statistical test(s) is used to compare the top classification models?",
    "Datasets",
    "Evaluation measures",
    "Related sentiment classification approaches",
)


def test_qasper_paper_headings_never_cited(tmp_path):
    from rag.config import load_settings
    from rag.ingest.files import load_document
    from rag.api import Rag

    headings = {h.text for h in load_document(PAPER, 2**24).headings}
    assert {"Datasets", "Evaluation measures", "The Friedman-Nemenyi test"} <= headings
    rag = Rag(load_settings(REPO / "rag.toml", store_dir=tmp_path / "store"))
    try:
        rag.ingest([PAPER])
        sections = []
        for question in QUESTIONS:
            answer = rag.ask(question)
            if question.endswith("?"):  # the others are headings asked as questions: abstaining is fine
                assert not answer.abstained, (question, answer.answer)
            for citation in answer.citations:
                assert " ".join(citation.quote.split()) not in headings
                assert citation.quote == PAPER.read_text("utf-8")[citation.start : citation.end]
                sections.append(citation.section)
        assert any(sections), "no citation carried its section"
        assert all(part in headings for s in sections if s for part in s.split(" › "))
    finally:
        rag.close()
