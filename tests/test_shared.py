"""What two things share (rag.ask.forms.shared): which questions ask it, what the reader is asked about
each option, when two answers agree, and the short answer's exact offsets. Hermetic:
retrieval and the reader are stand-ins; the real reader is in the last test."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import hit, judged, read

from rag.ask.forms.base import bridge_text
from rag.ask.forms.shared import parse_shared
from rag.ask.types import Evidence


@pytest.mark.parametrize(
    ("question", "options", "asked_first"),
    [
        ("Both Never Cry Wolf and Big Hero 6 films were released by what label?", ("Never Cry Wolf", "Big Hero 6"), "Never Cry Wolf films were released by what label?"),
        ("What do E. B. White and Dan Masterson have in common?", ("E. B. White", "Dan Masterson"), "What nationality is E. B. White?"),
        ("Both Ed Roland and Adam Duritz perform which role in their bands?", ("Ed Roland", "Adam Duritz"), "Ed Roland performs which role in their bands?"),
    ],
)
def test_a_question_about_what_two_things_share_gives_its_options_and_a_question_for_each(question, options, asked_first):
    parsed = parse_shared(question)
    assert parsed is not None and parsed.options == options
    assert parsed.question_for(options[0]) == asked_first


@pytest.mark.parametrize(
    "question",
    [
        "What did Pistorius warn about?",
        "Both sides agreed to what?",  # no names
        "What do they have in common?",
        "What do Medici and Medici have in common?",  # one option twice
        "Both",
        "",
    ],
)
def test_other_questions_ask_nothing_shared(question):
    assert parse_shared(question) is None


WOLF = hit("It was the first Disney film to be released under the new Walt Disney Pictures label.", "wolf", "Never Cry Wolf (film)")
COMICS = hit('The series is based on Disney\'s 2014 film "Big Hero 6", loosely based on the Marvel Comics team.', "tv", "Big Hero 6 (TV series)")
HERO = hit("Big Hero 6 is a 2014 film produced by Walt Disney Animation Studios and released by Walt Disney Pictures.", "hero", "Big Hero 6 (film)")


def _rerank(answers: dict[str, list[Evidence]]):
    asked = []

    def rerank(question, query, hits):
        asked.append(question)
        return next(e for option, e in answers.items() if question.startswith(option))

    return asked, rerank


def test_the_agreeing_answers_lead_even_below_each_options_best_sentence():
    answers = {
        "Never Cry Wolf": [judged(WOLF, 0.82, "Walt Disney Pictures")],
        "Big Hero 6": [judged(COMICS, 0.78, "Marvel Comics"), judged(HERO, 0.67, "Walt Disney Pictures")],
    }
    asked, rerank = _rerank(answers)
    question = "Both Never Cry Wolf and Big Hero 6 films were released by what label?"
    reading = read(question, lambda q: [WOLF, COMICS, HERO], rerank, 0.5)
    assert asked == ["Never Cry Wolf films were released by what label?", "Big Hero 6 films were released by what label?"]
    lead, other = reading.evidence
    assert lead.hit == HERO and bridge_text(lead) == "Walt Disney Pictures" and other.hit == WOLF
    assert reading.confidence == 0.67 and reading.form == "shared"  # the weaker of the two sentences


@pytest.mark.parametrize("threshold", [0.7, 0.9])  # the agreeing sentence under the gate; the first option under it
def test_answers_that_differ_or_sentences_under_the_gate_settle_nothing(threshold):
    answers = {
        "Never Cry Wolf": [judged(WOLF, 0.82, "Walt Disney Pictures")],
        "Big Hero 6": [judged(COMICS, 0.78, "Marvel Comics"), judged(HERO, 0.67, "Walt Disney Pictures")],
    }
    _, rerank = _rerank(answers)
    question = "Both Never Cry Wolf and Big Hero 6 films were released by what label?"
    assert read(question, lambda q: [WOLF, COMICS, HERO], rerank, threshold) is None


def test_what_two_people_have_in_common_is_the_nationality_both_sentences_give():
    white = hit('Elwyn Brooks "E. B." White was an American writer.', "white", "E. B. White")
    masterson = hit("Dan Masterson is an American poet born in Buffalo, New York.", "masterson", "Dan Masterson")
    welsh = hit("Dan Masterson is a Welsh poet.", "welsh", "Dan Masterson")
    for other, common in ((masterson, "American"), (welsh, None)):
        answers = {"What nationality is E. B. White": [judged(white, 0.9, "American")], "What nationality is Dan Masterson": [judged(other, 0.9)]}
        _, rerank = _rerank(answers)
        reading = read("What do E. B. White and Dan Masterson have in common?", lambda q: [white, other], rerank, 0.5)
        if common is None:
            assert reading is None
        else:
            assert reading.lead.hit == other and bridge_text(reading.lead) == common and reading.rests_on[0].hit == white


@pytest.mark.real
def test_the_real_reader_answers_what_two_things_share_citing_both(real_rag_over):
    from rag.api import Rag

    white = 'Elwyn Brooks "E. B." White was an American writer.'
    masterson = "Dan Masterson is an American poet born in Buffalo, New York."
    rag = real_rag_over(
        {
            "white.txt": ("E. B. White", f"{white} He wrote Charlotte's Web."),
            "masterson.txt": ("Dan Masterson", f"{masterson} He taught at Manhattanville College."),
        }
    )
    question = "What do E. B. White and Dan Masterson have in common?"
    answer = rag.ask(question)
    assert [c.quote for c in answer.citations] == [white, masterson]
    short = answer.short_answer
    assert short.text == "American" and Path(short.path).read_text("utf-8")[short.start : short.end] == "American"
    off = Rag(rag.settings.model_copy(update={"in_common": False}), embedder=rag.embedder).ask(question)
    assert off.short_answer is None or [c.quote for c in off.citations] != [white, masterson]
