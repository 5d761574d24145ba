"""The reader: its input layout, span decoding, the shipped weights (hash checked), and the
training script on 50 examples (CI never trains a real model; it checks the script runs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.models.embedding import load_tokenizer, packaged_model_path
from rag.errors import ModelError
from rag.models.reader import MANIFEST, Candidate, Reader, asked_noun, read_manifest, with_asked_noun
from rag.models.reader.encoding import MAX_CANDIDATE_TOKENS, best_span, encode_pairs

REPO = Path(__file__).resolve().parents[1]
TALKS = "The talks, which lasted more than five hours, are set to continue on Monday."


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(packaged_model_path())


def test_the_candidate_follows_the_first_separator_and_keeps_its_offsets(tokenizer):
    candidate = Candidate(TALKS, title="Berlin talks", previous="Zelenskyy met the envoys in Berlin.")
    (pair,) = encode_pairs(tokenizer, "How long did the talks last?", [candidate])
    sep = tokenizer.token_to_id("[SEP]")
    assert pair.input_ids[pair.candidate_start - 1] == sep and pair.input_ids[pair.candidate_end] == sep
    assert pair.type_ids[: pair.candidate_start] == (0,) * pair.candidate_start
    assert set(pair.type_ids[pair.candidate_start :]) == {1}
    pieces = [TALKS[a:b].lower() for a, b in pair.offsets]
    assert pieces[:4] == ["the", "talks", ",", "which"]
    assert pair.input_ids[-1] == sep and pair.input_ids.count(sep) == 3  # question | candidate | context


def test_long_candidates_are_cut_and_spans_stay_inside_the_candidate(tokenizer):
    long_text = " ".join(["word"] * 400)
    (pair,) = encode_pairs(tokenizer, "q?", [Candidate(long_text)])
    assert len(pair.offsets) == MAX_CANDIDATE_TOKENS
    logits = np.full(len(pair.input_ids), -5.0)
    logits[0] = 50.0  # [CLS] is never part of an answer
    starts, ends = logits.copy(), logits.copy()
    starts[pair.candidate_start + 3], ends[pair.candidate_start + 5] = 10.0, 10.0
    start, end, _ = best_span(starts, ends, pair)
    assert (start, end) == (pair.offsets[3][0], pair.offsets[5][1])


def test_a_span_that_must_hold_a_flagged_token_is_the_best_one_that_does(tokenizer):
    from rag.models.reader import _number_tokens

    text = "The house founded on the thirtieth day by Eric Obenauf."
    (pair,) = encode_pairs(tokenizer, "When was it founded?", [Candidate(text)])
    flags = _number_tokens(text, pair)
    # Every word piece of "thirtieth" is flagged ("##ieth" alone says nothing), nothing else.
    word = (text.index("thirtieth"), text.index("thirtieth") + len("thirtieth"))
    flagged = [(a, b) for (a, b), f in zip(pair.offsets, flags) if f]
    assert flagged and all(word[0] <= a < b <= word[1] for a, b in flagged)
    assert len(flagged) == sum(word[0] <= a < word[1] for a, _ in pair.offsets)
    logits = np.full(len(pair.input_ids), -5.0)
    name = text.index("Eric")
    first = next(k for k, (a, _) in enumerate(pair.offsets) if a == name)
    last = next(k for k, (_, b) in enumerate(pair.offsets) if b == name + len("Eric Obenauf"))
    starts, ends = logits.copy(), logits.copy()
    starts[pair.candidate_start + first], ends[pair.candidate_start + last] = 10.0, 10.0
    assert text[slice(*best_span(starts, ends, pair)[:2])] == "Eric Obenauf"
    start, end, _ = best_span(starts, ends, pair, flags)
    assert "thirtieth" in text[start:end]
    # No flagged token at all: the constraint is dropped, not the answer.
    assert best_span(starts, ends, pair, [False] * len(flags))[:2] == best_span(starts, ends, pair)[:2]


@pytest.mark.parametrize(
    ("question", "noun"),
    [
        ("He was associated with members of what crime family?", ("crime", "family")),
        ("In what city is the foundation based?", ("city",)),
        ("Which university has a second campus?", ("university",)),
        ("What is the name of the band?", ()),
        ("Which Queensland politician did he serve?", ()),
        ("Who founded it?", ()),
    ],
)
def test_the_asked_noun_is_the_lower_case_words_after_what_or_which(question, noun):
    assert asked_noun(question) == noun


@pytest.mark.parametrize(
    ("text", "short", "asked", "extended"),
    [
        ("namely the DeCavalcante crime family of Newark", "DeCavalcante", ("crime", "family"), "DeCavalcante crime family"),
        ("the Gambino family of New York", "Gambino", ("crime", "family"), "Gambino family"),
        ("offices in New York City and Little Rock", "New York", ("city",), "New York City"),
        ("economic and reconstruction issues were discussed", "economic and reconstruction", ("issue",), "economic and reconstruction issues"),
        ("the city of Canberra", "Canberra", ("city",), "Canberra"),  # the sentence does not go on with it
        ("Canberra citywide", "Canberra", ("city",), "Canberra"),  # a whole word only
    ],
)
def test_a_short_answer_takes_in_the_asked_noun_where_the_sentence_goes_on_with_it(text, short, asked, extended):
    start = text.index(short)
    a, b = with_asked_noun(text, start, start + len(short), asked)
    assert text[a:b] == extended


def test_the_shipped_weights_are_checked_and_answer(tmp_path):
    manifest = read_manifest(MANIFEST)
    weights = MANIFEST.parent / manifest["file"]
    assert weights.stat().st_size <= 50 * 2**20  # fp16, as shipped in the package
    reader = Reader(MANIFEST)
    question = "How long did the talks last?"
    judged = reader.judge(
        question,
        [Candidate("The Vellmouth lighthouse keeper logs the weather every four hours."), Candidate(TALKS)],
    )
    assert judged[1].relevance > judged[0].relevance
    start, end = judged[1].span
    assert "five hours" in TALKS[start:end]

    broken = tmp_path / "reader.json"
    shutil.copy(weights, tmp_path / manifest["file"])
    broken.write_text(json.dumps({**manifest, "sha256": "0" * 64}))
    with pytest.raises(ModelError, match="expected 000000000000"):
        Reader(broken).judge(question, [Candidate(TALKS)])


@pytest.mark.training
def test_the_training_script_runs_on_50_examples(tmp_path):
    out, export = tmp_path / "train", tmp_path / "export"
    done = subprocess.run(
        [
            sys.executable, str(REPO / "scripts" / "train_reader.py"), "--limit", "50", "--out", str(out),
            "--export", str(export), "--validate-every", "5", "--validate-questions", "5",
            "--final-validate-questions", "10", "--threads", "1",
        ],
        capture_output=True, text=True, timeout=900, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "validation:" in done.stdout and "exported" in done.stdout
    manifest = json.loads((export / "reader.json").read_text())
    assert manifest["data"]["squad_v1.1_train_questions"] == 50 and manifest["seed"] == 13
    assert "CC BY-SA 4.0" in (export / "MODEL_CARD.md").read_text()
    assert Reader(export / "reader.json").judge("q?", [Candidate(TALKS)])[0].span is not None
    # Resumable: the same arguments again start from the checkpoint and train nothing more.
    again = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "train_reader.py"), "--limit", "50", "--out", str(out),
         "--export", str(export), "--final-validate-questions", "5", "--threads", "1"],
        capture_output=True, text=True, timeout=900, cwd=REPO,
    )
    assert again.returncode == 0 and "resuming at step" in again.stdout
    # Fine-tuning starts from a trained reader's manifest (its hash checked), not the base model.
    tuned = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "train_reader.py"), "--limit", "50", "--out", str(tmp_path / "tuned"),
         "--export", str(tmp_path / "tuned-export"), "--init-from", str(export / "reader.json"), "--cross-article", "--next-sentence", "--mined-negatives",
         "--qasper", str(write_qasper_fixture(tmp_path / "qasper") and tmp_path / "qasper"),
         "--lr", "1e-5", "--final-validate-questions", "5", "--threads", "1"],
        capture_output=True, text=True, timeout=900, cwd=REPO,
    )
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    assert f"starting from {export / 'reader.json'}" in tuned.stdout
    assert json.loads((tmp_path / "tuned-export" / "reader.json").read_text())["sha256"] != manifest["sha256"]
    card = (tmp_path / "tuned-export" / "MODEL_CARD.md").read_text()
    assert "another article, the sentence after the answer's, the starting reader's most relevant wrong sentence" in card
    assert len(json.loads((tmp_path / "tuned" / "mined.json").read_text())["negatives"]) > 0
    assert json.loads((tmp_path / "tuned" / "qasper.json").read_text())["groups"]  # QASPER groups cached
    assert "qasper_selection_accuracy" in json.loads((tmp_path / "tuned-export" / "reader.json").read_text())["validation"]
    assert "QASPER train (CC BY 4.0" in card
    # A time cap stops training early and still validates and exports; QASPER groups can repeat.
    from rag.models.embedding import packaged_model_path

    capped = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "train_reader.py"), "--limit", "50", "--out", str(tmp_path / "capped"),
         "--export", str(tmp_path / "capped-export"), "--qasper", str(tmp_path / "qasper"), "--qasper-repeat", "3",
         "--max-seconds", "0.001", "--base", str(packaged_model_path()), "--data", str(REPO.parent / "shared" / "train-data"),
         "--device", "cpu", "--final-validate-questions", "5", "--threads", "1"],
        capture_output=True, text=True, timeout=900, cwd=REPO,
    )
    assert capped.returncode == 0, capped.stderr[-3000:]
    assert "--max-seconds 0 reached" in capped.stdout
    data = json.loads((tmp_path / "capped-export" / "reader.json").read_text())["data"]
    assert data["steps"] <= 1 < data["planned_steps"] and data["qasper_repeat"] == 3
    qasper_pairs = data["pairs"] - manifest["data"]["pairs"]  # the first run: the same SQuAD groups, no QASPER
    assert qasper_pairs > 0 and qasper_pairs % 3 == 0


def test_cross_article_negatives_come_from_other_articles_and_never_hold_the_answer():
    sys.path.insert(0, str(REPO / "scripts"))
    from reader_data import cross_article_negatives

    def row(title, context, question, answer):
        return {"title": title, "context": context, "question": question,
                "answers": [{"text": answer, "start": context.index(answer)}]}

    dams = "The Hoover Dam was finished in 1936. It holds back Lake Mead."
    canal = "The Panama Canal was finished in 1914. The canal dam holds back Gatun Lake, finished in 1913."
    bridge = "The Golden Gate Bridge was finished in 1937. Its towers are 227 m tall."
    rows = [row("Hoover_Dam", dams, "When was the Hoover Dam finished?", "1936"),
            row("Panama_Canal", canal, "When was the Panama Canal dam finished?", "1914")]
    negatives = cross_article_negatives(rows, rows + [row("Golden_Gate_Bridge", bridge, "How tall?", "227 m")])
    chosen = {n: paragraph.sentences[k] for n, (paragraph, k) in negatives.items()}
    # The best BM25 match from another article, never the question's own article.
    assert chosen[0].startswith("The Panama Canal") or chosen[0].startswith("The canal dam")
    assert all(answer not in chosen[n] for n, answer in ((0, "1936"), (1, "1914")) if n in chosen)
    assert "Panama" not in chosen.get(1, "") and "canal" not in chosen.get(1, "").lower()


def test_next_sentence_negative_is_the_one_whose_context_holds_the_answer():
    sys.path.insert(0, str(REPO / "scripts"))
    import random

    from reader_data import squad_groups

    def row(context, question, answer):
        return {"title": "Berlin_talks", "context": context, "question": question,
                "answers": [{"text": answer, "start": context.index(answer)}]}

    talks = ("Peace talks were held in Berlin on Sunday. The talks lasted five hours. "
             "They are set to continue on Monday. Envoys described them as productive.")
    rows = [row(talks, "On what day were the Berlin talks held that envoys described as productive?", "Sunday"),
            row(talks, "Who described the talks as productive?", "Envoys")]
    plain = squad_groups(rows, random.Random(1))
    following = squad_groups(rows, random.Random(1), following=True)
    # The first question's answer sentence is followed by one whose context (the previous
    # sentence) holds "Sunday": it becomes a negative, marked as the sentence judged.
    added = [c for c in following[0].candidates if c not in plain[0].candidates]
    assert [c.text for c in added] == ["The talks lasted five hours."]
    assert "Sunday" in added[0].previous and following[0].labels[-1] == 0
    # The last sentence of a paragraph has none after it; no candidate is ever repeated.
    assert following[1].candidates == plain[1].candidates
    assert all(len(set(g.candidates)) == len(g.candidates) for g in following)


def test_mined_negative_is_the_readers_most_relevant_wrong_sentence_of_another_paragraph():
    sys.path.insert(0, str(REPO / "scripts"))
    import random

    from reader_data import mined_negatives, paragraphs_of, squad_groups

    def row(context, question, answer):
        return {"title": "Berlin_talks", "context": context, "question": question,
                "answers": [{"text": answer, "start": context.index(answer)}]}

    first = "Peace talks were held in Berlin on Sunday. The talks lasted five hours."
    second = "The envoys met again in Geneva on Monday. The Geneva talks were held on Monday at noon."
    third = "Berlin is the capital of Germany. Its talks on Sunday drew crowds."
    rows = [row(first, "On what day were the talks held?", "Sunday"), row(second, "Where did the envoys meet again?", "Geneva"),
            row(third, "What is the capital of Germany?", "Berlin")]
    judged = []

    def score(question, candidates):  # a stand-in reader: it likes sentences that say "Monday"
        judged.append((question, [c.text for c in candidates]))
        return [2.0 if "Monday" in c.text else 0.0 for c in candidates], [None] * len(candidates)

    mined = mined_negatives(rows[:1], rows, score)
    # Only other paragraphs of the article are read, never a sentence holding the answer text.
    asked, read = judged[0]
    assert asked == "On what day were the talks held?" and not any("Sunday" in t or t in first for t in read)
    context, k = mined[0]
    paragraph = paragraphs_of(rows[1:2])[context]
    assert context == second and paragraph.sentences[k] == "The Geneva talks were held on Monday at noon."
    # The mined sentence joins the question's group as one more negative, once.
    plain = squad_groups(rows[:1], random.Random(1))
    with_mined = squad_groups(rows[:1], random.Random(1), mined={0: (paragraph, k)})
    added = [c for c in with_mined[0].candidates if c not in plain[0].candidates]
    assert [c.text for c in added] == [paragraph.sentences[k]] and with_mined[0].labels[-1] == 0


@pytest.mark.real
def test_the_strong_margin_check_runs_on_held_out_questions():
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "strong_margin.py"), "--questions", "20", "--threads", "1"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("20 questions; lead right 0.") and "margin < 0.05:" in done.stdout


def test_two_short_answers_agree_when_one_holds_the_others_words():
    sys.path.insert(0, str(REPO / "scripts"))
    from strong_margin import agree

    assert agree("December 1963", "1963") and agree("The View", "the view")
    assert not agree("Ögedei Khan", "Ögedei Khanate") and not agree("", "") and not agree("Monday", "Sunday")


PAPER = """# Tiny Parsers for Tiny Data

**Paper ID:** 0000.00001

## Abstract

We present a tiny parser. It learns from very little data.

## Experiments

### Datasets

We train on the Penn Treebank. The treebank holds newswire text. Its size is modest.

## Conclusion

The parser works well on the treebank. Future work will look at speech.
"""


def write_qasper_fixture(folder):
    """A one-paper QASPER folder (both splits): an extractive, a free-form, an unanswerable and a
    disagreed question, and FLOAT SELECTED evidence."""
    def answer(spans=(), free="", evidence=(), unanswerable=False, yes_no=None):
        return {"unanswerable": unanswerable, "yes_no": yes_no, "free_form_answer": free,
                "extractive_spans": list(spans), "evidence": list(evidence)}

    evidence = "We train on the Penn Treebank. The treebank holds newswire text. Its size is modest."
    rows = [
        {"paper_id": "0000.00001", "paper_title": "Tiny", "question_id": "q1", "question": "Which dataset do they train on?",
         "answers": [answer(["Penn Treebank"], evidence=[evidence, "FLOAT SELECTED: Table 1"])]},
        {"paper_id": "0000.00001", "paper_title": "Tiny", "question_id": "q2", "question": "What kind of text is in the data?",
         "answers": [answer(free="news articles", evidence=[evidence])]},
        {"paper_id": "0000.00001", "paper_title": "Tiny", "question_id": "q3", "question": "How fast is the parser?",
         "answers": [answer(unanswerable=True)]},
        {"paper_id": "0000.00001", "paper_title": "Tiny", "question_id": "q4", "question": "Is the parser fast?",
         "answers": [answer(unanswerable=True), answer(yes_no=True, evidence=[evidence])]},
    ]
    for split in ("train", "validation"):
        (folder / "papers" / split).mkdir(parents=True, exist_ok=True)
        (folder / "papers" / split / "0000.00001.txt").write_text(PAPER, encoding="utf-8")
        (folder / f"questions_{split}.json").write_text(json.dumps(rows), encoding="utf-8")
    return rows


def test_qasper_groups_hold_the_answer_sentence_its_section_and_same_paper_negatives(tmp_path):
    import random

    sys.path.insert(0, str(REPO / "scripts"))
    from qasper_data import load_qasper, qasper_groups, read_paper

    paper = read_paper(PAPER)
    assert paper.title == "Tiny Parsers for Tiny Data"
    assert "We train on the Penn Treebank." in paper.sentences
    assert not any(s.startswith(("#", "**Paper")) for s in paper.sentences)
    assert paper.sections[paper.sentences.index("We train on the Penn Treebank.")] == "Experiments › Datasets"
    write_qasper_fixture(tmp_path)
    groups = qasper_groups(*load_qasper(tmp_path, "train"), random.Random(1))
    by_question = {}
    for g in groups:
        by_question.setdefault(g["question"], []).append(g)
    assert "Is the parser fast?" not in by_question  # annotators disagree on answerability
    (extractive,) = by_question["Which dataset do they train on?"]
    positive = extractive["candidates"][0]
    assert positive["text"] == "We train on the Penn Treebank." and extractive["labels"][0] == 1
    assert positive["text"][slice(*extractive["span"])] == "Penn Treebank"
    assert positive["section"] == "Experiments › Datasets" and positive["title"] == "Tiny Parsers for Tiny Data"
    assert positive["previous"] == "It learns from very little data."
    negatives = [c for c, label in zip(extractive["candidates"], extractive["labels"]) if label == 0]
    assert negatives and all("Penn Treebank" not in c["text"] for c in negatives)
    assert any(c["section"] != "Experiments › Datasets" for c in negatives)  # one from another section
    (free,) = by_question["What kind of text is in the data?"]
    assert free["candidates"][0]["text"] == "The treebank holds newswire text." and free["span"] is None
    (unanswerable,) = by_question["How fast is the parser?"]
    assert set(unanswerable["labels"]) == {0} and unanswerable["source"] == "qasper_unanswerable"
