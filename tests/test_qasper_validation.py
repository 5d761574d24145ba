"""scripts/qasper_validation_set.py on a fake two-paper QASPER folder, and the gate and reader
figures the eval records carry for calibration (no model: the hashing embedder)."""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import qasper_validation_set as qvs  # noqa: E402
from evals import qasper  # noqa: E402
from evals.harness import resolve_datasets, run_datasets  # noqa: E402
from evals.scoring import lead_relevance  # noqa: E402
from rag.ask.types import Answer, Evidence, Hit  # noqa: E402
from rag.types import Sentence  # noqa: E402

PAPER_A = """# Neural Models for Harbour Logs

**Paper ID:** 0001.0001

## Abstract

We study harbour logs.

## Evaluation

We evaluate with BLEU and ROUGE on the harbour corpus. The baseline is a rule-based matcher.

## Results

Our model beats the matcher by four points. It is trained on English logs only.
"""
PAPER_B = """# Tide Prediction with Transformers

**Paper ID:** 0002.0002

## Abstract

We study tides.

## Evaluation

We evaluate with mean absolute error on the tide corpus. The baseline is a persistence model.
"""


def annotator(spans=(), evidence=(), free="", yes_no=None, unanswerable=False):
    return {
        "unanswerable": unanswerable, "yes_no": yes_no, "free_form_answer": free,
        "extractive_spans": list(spans), "evidence": list(evidence),
    }


EVAL_A = "We evaluate with BLEU and ROUGE on the harbour corpus. The baseline is a rule-based matcher."
RESULTS_A = "Our model beats the matcher by four points. It is trained on English logs only."
EVAL_B = "We evaluate with mean absolute error on the tide corpus. The baseline is a persistence model."
QUESTIONS = [
    ("0001.0001", "aaaaaaaaaa01ffff", "What is the baseline?", [annotator(["rule-based matcher"], [EVAL_A]), annotator(["rule-based matcher"], [EVAL_A])]),
    ("0001.0001", "aaaaaaaaaa02ffff", "Is it English only?", [annotator(evidence=[RESULTS_A], yes_no=True)]),
    ("0001.0001", "aaaaaaaaaa03ffff", "Which GPU did they use?", [annotator(unanswerable=True), annotator(unanswerable=True)]),
    ("0001.0001", "aaaaaaaaaa04ffff", "How big is the corpus?", [annotator(unanswerable=True), annotator(["big"], [EVAL_A])]),
    ("0001.0001", "aaaaaaaaaa05ffff", "What is in table 2?", [annotator(free="scores", evidence=["FLOAT SELECTED: Table 2: scores"])]),
    ("0002.0002", "bbbbbbbbbb01ffff", "What is the baseline?", [annotator(["persistence model"], [EVAL_B])]),
]


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "train-data"
    (folder / "papers" / "validation").mkdir(parents=True)
    (folder / "papers" / "validation" / "0001.0001.txt").write_text(PAPER_A)
    (folder / "papers" / "validation" / "0002.0002.txt").write_text(PAPER_B)
    rows = [
        {"paper_id": p, "paper_title": "", "question_id": q, "question": text, "answers": answers}
        for p, q, text, answers in QUESTIONS
    ]
    (folder / "questions_validation.json").write_text(json.dumps(rows))
    return folder


def test_markdown_papers_become_the_benchmarks_plain_text():
    text = qvs.plain_text(PAPER_A)
    assert text.startswith("Neural Models for Harbour Logs\n\nAbstract\n\nWe study harbour logs.\n\nEvaluation\n\n")
    assert "Paper ID" not in text and "#" not in text
    assert EVAL_A in text and RESULTS_A in text


def test_questions_as_the_benchmark_keeps_them(source):
    texts, records, _ = qvs.build(source, papers=0, seed=0)
    by_id = {r["id"]: r for r in records}
    # disagreed answerability and table-only evidence are skipped, as the benchmark did
    assert set(by_id) == {"qasper-aaaaaaaaaa01", "qasper-aaaaaaaaaa02", "qasper-aaaaaaaaaa03", "qasper-bbbbbbbbbb01"}
    baseline = by_id["qasper-aaaaaaaaaa01"]
    text = texts["0001.0001"]
    assert baseline["doc"] == "0001.0001.txt" and baseline["answers"] == ["rule-based matcher"] * 2
    assert baseline["answer_types"] == ["extractive", "extractive"]
    (start, end), = baseline["evidence_spans"]
    assert text[start:end] == EVAL_A
    # only the sentence holding the span is gold
    assert [g.strip() for g in baseline["gold_sentences"]] == ["The baseline is a rule-based matcher."]
    boolean = by_id["qasper-aaaaaaaaaa02"]
    assert boolean["answers"] == ["Yes"] and boolean["answer_types"] == ["boolean"] and boolean["gold_sentences"] == []
    assert by_id["qasper-aaaaaaaaaa03"]["answerable"] is False and by_id["qasper-aaaaaaaaaa03"]["answers"] == []


def test_a_seeded_sample_of_papers(source):
    first = qvs.build(source, papers=1, seed=3)
    again = qvs.build(source, papers=1, seed=3)
    assert len(first[0]) == 1 and first[0] == again[0]
    assert {r["paper_id"] for r in first[1]} == set(first[0])


def test_the_folder_is_read_by_rag_eval_qasper(source, tmp_path, fake_rag):
    out = tmp_path / "qasper-validation"
    assert qvs.main(["--source", str(source), "--out", str(out), "--papers", "0"]) == 0
    assert sorted(p.name for p in (out / "docs").iterdir()) == ["0001.0001.txt", "0002.0002.txt"]
    assert (out / "docs.tsv").read_text().splitlines()[0].split("\t")[:2] == ["doc", "paper_id"]
    items = qasper.load(out)
    baseline = next(i for i in items if i.id == "qasper-aaaaaaaaaa01")
    text = (out / "docs" / baseline.doc).read_text()
    (start, end), = qasper.sentence_ranges(text, baseline.sentences, baseline.paragraphs)
    assert text[start:end] == "The baseline is a rule-based matcher."
    (dataset,) = resolve_datasets([str(out / "questions.jsonl")])
    assert dataset.kind == "qasper"
    (result,), _ = run_datasets([dataset], fake_rag, None)
    assert result.facts["documents"] == 2
    assert {r.id for r in result.records} == {i.id for i in items}
    found = {r.id: r for r in result.records}["qasper-bbbbbbbbbb01"]
    assert found.evidence_hit == 1.0 and found.confidence > 0


def test_an_output_folder_inside_the_repository_is_refused(source, capsys):
    assert qvs.main(["--source", str(source), "--out", str(REPO / "qasper-validation")]) == 2
    assert "inside the repository" in capsys.readouterr().err
    assert not (REPO / "qasper-validation").exists()


def _evidence(index, relevance):
    sentence = Sentence(f"s{index}", "d", index, 0, 4, "text")
    return Evidence(Hit(sentence, 1.0), score=relevance or 0.0, relevance=relevance)


def test_records_carry_the_lead_relevance_and_its_strongest_rival():
    ranked = (_evidence(0, 0.97), _evidence(1, 0.4), _evidence(2, None), _evidence(3, 0.9))
    assert lead_relevance(Answer("q", "a", False, ranked=ranked)) == (0.97, 0.9)
    assert lead_relevance(Answer("q", "a", False, ranked=ranked, rests_on=("s3",))) == (0.97, 0.4)
    assert lead_relevance(Answer("q", "a", False, ranked=(_evidence(0, None),))) == (None, None)
    assert lead_relevance(Answer("q", "a", False, ranked=ranked[:1])) == (0.97, 0.0)
