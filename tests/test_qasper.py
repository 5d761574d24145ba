"""QASPER's scores on small hand-made cases, and ``rag eval qasper`` end to end on a two-paper
folder in QASPER's format (the hashing embedder: the harness is the point, not the figures)."""

import json
from pathlib import Path

import pytest

from evals import qasper
from evals.harness import qa_items, resolve_datasets, run_datasets
from evals.qasper_metrics import (
    answer_f1,
    best_answer_f1,
    evidence_hit,
    evidence_precision,
    normalize,
    prediction_text,
    yes_no_correct,
)


def test_normalisation_and_token_f1_follow_qasper():
    assert normalize("The BLEU, and an F1-score!") == "bleu and f1score"
    assert answer_f1("BLEU and ROUGE", "the BLEU, ROUGE") == pytest.approx(0.8)
    assert answer_f1("Yes", "No") == 0.0
    assert answer_f1("", "Unanswerable") == 0.0
    assert best_answer_f1("Unanswerable", ["Unanswerable"]) == 1.0
    assert best_answer_f1("SQuAD", ["TriviaQA", "SQuAD and NewsQA"]) == pytest.approx(0.5)
    assert best_answer_f1("x", []) == 0.0


def test_the_prediction_scored():
    assert prediction_text(True, False, "", ["x"], "text") == "Unanswerable"
    assert prediction_text(False, True, "yes", ["x"], "text") == "Yes"
    assert prediction_text(False, True, "", ["BERT"], "text") == "BERT"
    assert prediction_text(False, False, "no", ["SQuAD", "NewsQA"], "text") == "SQuAD, NewsQA"
    assert prediction_text(False, False, "", [], "the answer text") == "the answer text"


def test_evidence_by_character_offsets():
    paragraphs, sentences = [(100, 300)], [(400, 450)]
    assert evidence_hit([(120, 180)], paragraphs, sentences) == 1.0  # inside a gold paragraph
    assert evidence_hit([(440, 500)], paragraphs, sentences) == 1.0  # overlaps a gold sentence
    assert evidence_hit([(250, 350)], paragraphs, sentences) == 0.0  # runs out of the paragraph
    assert evidence_hit([], paragraphs, sentences) == 0.0
    assert evidence_precision([(120, 180), (0, 50)], paragraphs, sentences) == 0.5
    assert evidence_precision([], paragraphs, sentences) is None


def test_yes_no_accuracy():
    assert yes_no_correct(False, "yes", ["Yes"]) == 1.0
    assert yes_no_correct(False, "no", ["Yes"]) == 0.0
    assert yes_no_correct(False, "", ["Yes"]) == 0.0
    assert yes_no_correct(True, "yes", ["Yes"]) == 0.0


def test_gold_sentences_are_found_inside_their_paragraph():
    text = "Intro. We use BLEU. More.\n\nResults. We use BLEU. Done."
    paragraph = (text.index("Results"), len(text))
    assert qasper.sentence_ranges(text, ["We use BLEU. "], [paragraph]) == [(text.rindex("We use BLEU."), text.rindex("We use BLEU.") + 12)]
    assert qasper.sentence_ranges(text, ["absent"], [paragraph]) == []


def test_a_row_asked_within_its_document():
    rows = [{"id": "a", "question": "q?", "doc": "x.txt"}, {"id": "b", "question": "q?", "doc": "x.txt", "within": ["*.md", "y.txt"]}]
    assert [i.within for i in qa_items(rows)] == [(), ("*.md", "y.txt")]
    assert [i.within for i in qa_items(rows, per_doc=True)] == [("x.txt",), ("*.md", "y.txt")]


PAPER_A = (
    "Neural Models for Harbour Logs\n\nAbstract\n\nWe study harbour logs.\n\nEvaluation\n\n"
    "We evaluate with BLEU and ROUGE on the harbour corpus. The baseline is a rule-based matcher.\n"
)
PAPER_B = (
    "Tide Prediction with Transformers\n\nAbstract\n\nWe study tides.\n\nEvaluation\n\n"
    "We evaluate with mean absolute error on the tide corpus. The baseline is a persistence model.\n"
)


@pytest.fixture
def qasper_folder(tmp_path):
    folder = tmp_path / "qasper"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "a.txt").write_text(PAPER_A)
    (folder / "docs" / "b.txt").write_text(PAPER_B)
    rows = []
    for doc, text, answer in (("a.txt", PAPER_A, "rule-based matcher"), ("b.txt", PAPER_B, "persistence model")):
        sentence = text[text.index("The baseline") : text.rindex(".") + 1]
        paragraph = text.index("We evaluate")
        rows.append(
            {
                "id": f"q-{doc}", "question": "What is the baseline?", "doc": doc, "answers": [answer],
                "answer_types": ["extractive"], "evidence": [text[paragraph:-1]], "answerable": True,
                "gold_sentences": [sentence], "evidence_spans": [[paragraph, len(text) - 1]],
            }
        )
    rows.append(
        {
            "id": "q-none", "question": "Which GPU did they train on?", "doc": "a.txt", "answers": [], "answer_types": [],
            "evidence": [], "answerable": False, "gold_sentences": [], "evidence_spans": [],
        }
    )
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return folder


@pytest.mark.parametrize("pooled", [False, True])
def test_rag_eval_qasper_asks_each_question_within_its_paper(fake_rag, qasper_folder, pooled):
    (dataset,) = resolve_datasets([str(qasper_folder / "questions.jsonl")])
    assert (dataset.name, dataset.kind) == ("qasper", "qasper")
    (result,), _ = run_datasets([dataset], fake_rag, None, pooled=pooled)
    assert result.facts["documents"] == 2 and Path(result.facts["store"]).name.endswith("-qasper")
    by_id = {r.id: r for r in result.records}
    if not pooled:
        for doc in ("a.txt", "b.txt"):
            record = by_id[f"q-{doc}"]
            assert not record.abstained and record.evidence_hit == 1.0 and record.citation_precision == 1.0
    metrics = {m.key: m.value for m in result.metrics}
    assert set(metrics) >= {"answer_f1", "evidence_hit", "false_refusal_rate", "unanswerable_declined", "latency_p50"}
    if not pooled:
        assert metrics["evidence_hit"] == 1.0
    else:  # asked of both papers at once, one of the two baselines comes from the other paper
        assert metrics["evidence_hit"] < 1.0
