"""Yes-or-no questions about two things (rag.ask.forms.verdicts): which questions are such, what the reader
is asked about each option, when the two sentences settle "yes" or "no", and how every shell
shows a verdict. Hermetic: retrieval and the reader are stand-ins; the real reader is in the
last test."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from fakes import hit, judged, read

from rag.ask.citing import with_verdict
from rag.ask.forms.base import Reading
from rag.ask.forms.lexicon import nations
from rag.ask.forms.verdicts import parse_yes_no
from rag.ask.types import Answer, AnswerSentence, Citation, Evidence


@pytest.mark.parametrize(
    ("question", "options", "test", "asked", "asked_first"),
    [
        ("Are Christopher Nolan and Sathish Kalathil both film directors?", ("Christopher Nolan", "Sathish Kalathil"), "both", "film directors", "What is Christopher Nolan?"),
        ("Are both magazines, the Woman's Viewpoint and Pick Me Up, British publications?", ("Woman's Viewpoint", "Pick Me Up"), "both", "British publications", "What is Woman's Viewpoint?"),
        ("Are both Cypress and Ajuga genera?", ("Cypress", "Ajuga"), "both", "genera", "What is Cypress?"),
        ("Are both Jim McBride and Neil Jordan American?", ("Jim McBride", "Neil Jordan"), "both", "American", "What is Jim McBride?"),
        ('Are both "Cooking Light" and "Vibe" magazines?', ("Cooking Light", "Vibe"), "both", "magazines", "What is Cooking Light?"),
        ("Are Frozen and Escape from the Dark both animated features?", ("Frozen", "Escape from the Dark"), "both", "animated features", "What is Frozen?"),
        ("Were Scott Derrickson and Ed Wood of the same nationality?", ("Scott Derrickson", "Ed Wood"), "same", "nationality", "What nationality is Scott Derrickson?"),
        ("Are Marian Gold and Jung Eun-ji members of the same band?", ("Marian Gold", "Jung Eun-ji"), "same", "band", "What band is Marian Gold a member of?"),
        ("Are Nantong and Jingdezhen situated in the same province ?", ("Nantong", "Jingdezhen"), "same", "province", "What province is Nantong situated in?"),
        (
            "Are Watertown International Airport and Alexandria International Airport both airports in the same state?",
            ("Watertown International Airport", "Alexandria International Airport"),
            "same",
            "state",
            "What state is Watertown International Airport an airport in?",
        ),
    ],
)
def test_a_yes_or_no_question_about_two_things_gives_its_options_its_test_and_a_question_for_each(question, options, test, asked, asked_first):
    parsed = parse_yes_no(question)
    assert parsed is not None
    assert (parsed.options, parsed.test, parsed.asked) == (options, test, asked)
    assert parsed.question_for(options[0]) == asked_first


@pytest.mark.parametrize(
    "question",
    [
        "Is Ukraine prepared to formally cede territory to Russia?",
        "Did the German chancellor make detailed public comments about the negotiations?",
        "The director Armando Iannucci has an OBE. Does the director Puneet Sira also have one?",
        "Are the talks and the ceasefire both over?",  # no names
        "Are Medici and Medici both board games?",  # one option twice
        "Are both",
        "Are both Jim McBride and Neil Jordan?",  # nothing asked of them
        "Were and the same ?",
        "",
    ],
)
def test_other_questions_are_no_yes_or_no_question_about_two_things(question):
    assert parse_yes_no(question) is None


def test_nationality_words_name_nations_and_a_language_is_no_nationality():
    assert nations("a Hungarian-Austrian film director") == {"hungarian", "austrian"}
    assert nations("an English-American director") == {"british", "american"}
    assert nations("a 2004 English-language French film") == {"french"}


def _stand_ins(sentences: dict[str, Evidence]):
    asked = []

    def rerank(question, query, hits):
        asked.append(question)
        return [next(e for option, e in sentences.items() if option in question)]

    return asked, (lambda question: [e.hit for e in sentences.values()]), rerank


NOLAN = hit("Christopher Nolan is an English-American film director and producer.", "nolan", "Christopher Nolan")
KALATHIL = hit("Sathish Kalathil is an Indian film director.", "kalathil", "Sathish Kalathil")
VIDOR = hit("King Vidor was an American film director.", "vidor", "King Vidor")
CZIFFRA = hit("Géza von Cziffra was a Hungarian-Austrian film director and screenwriter.", "cziffra", "Géza von Cziffra")
FROZEN = hit("Frozen is a 2013 American computer-animated musical fantasy film.", "frozen", "Frozen")
ESCAPE = hit("Escape from the Dark is a 1976 British family film.", "escape", "Escape from the Dark")


@pytest.mark.parametrize(
    ("question", "first", "second", "verdict"),
    [
        ("Are Christopher Nolan and Sathish Kalathil both film directors?", NOLAN, KALATHIL, "yes"),
        ("Are King Vidor and Géza von Cziffra both American directors?", VIDOR, CZIFFRA, "no"),  # another nationality
        ("Were Christopher Nolan and King Vidor of the same nationality?", NOLAN, VIDOR, "yes"),  # one shared
        ("Were Sathish Kalathil and King Vidor of the same nationality?", KALATHIL, VIDOR, "no"),
        ("Are Frozen and Escape from the Dark both animated features?", FROZEN, ESCAPE, None),  # "not said" is not "no"
        ("Are Christopher Nolan and King Vidor both American directors?", NOLAN, VIDOR, "yes"),
    ],
)
def test_the_two_sentences_settle_yes_or_no_or_nothing(question, first, second, verdict):
    parsed = parse_yes_no(question)
    options = dict(zip(parsed.options, (judged(first, 0.9), judged(second, 0.9))))
    asked, retrieve, rerank = _stand_ins(options)
    reading = read(question, retrieve, rerank, 0.5)
    assert asked == [parsed.question_for(o) for o in parsed.options]
    if verdict is None:
        assert reading is None
        return
    assert reading.verdict == verdict and reading.short is None  # a verdict is no span of any file
    assert reading.lead.hit == second and reading.cited == [first, second]  # cited in the question's order


@pytest.mark.parametrize(
    ("first", "second", "verdict"),
    [
        ("Jiangsu province", "Jiangxi province", "no"),  # the kind asked for tells them neither apart nor together
        ("northern Jiangsu", "northern Jiangxi", None),  # any other shared word leaves it unsettled
        ("Jiangsu", "Jiangxi", "no"),
        ("New York", "New York City", "yes"),
        ("Louisiana", "Louisiana", "yes"),
        ("Louisiana", "Louisiana province", "yes"),
    ],
)
def test_the_same_place_is_read_from_the_short_answers(first, second, verdict):
    nantong = hit(f"Nantong is a prefecture-level city in {first}, China.", "nantong", "Nantong")
    jingdezhen = hit(f"Jingdezhen is a city in {second}.", "jingdezhen", "Jingdezhen")
    options = {"Nantong": judged(nantong, 0.9, first), "Jingdezhen": judged(jingdezhen, 0.9, second)}
    _, retrieve, rerank = _stand_ins(options)
    reading = read("Are Nantong and Jingdezhen situated in the same province?", retrieve, rerank, 0.5)
    assert (reading.verdict if reading else None) == verdict


def test_an_option_whose_sentence_is_under_the_gate_settles_nothing():
    options = {"Christopher Nolan": judged(NOLAN, 0.9), "Sathish Kalathil": judged(KALATHIL, 0.3)}
    _, retrieve, rerank = _stand_ins(options)
    assert read("Are Christopher Nolan and Sathish Kalathil both film directors?", retrieve, rerank, 0.5) is None


def test_a_sentence_that_does_not_name_the_option_is_not_its_evidence():
    other = hit("Sathish Kalathil's brother is an American film director.", "brother", "Kalathil family")
    options = {"Christopher Nolan": judged(NOLAN, 0.9), "Sathish Kalathil": judged(other, 0.9)}
    _, _, rerank = _stand_ins(options)
    # Only a sentence about someone else is retrieved for Sathish Kalathil: no verdict.
    assert read("Are Christopher Nolan and Sathish Kalathil both film directors?", lambda q: [NOLAN], rerank, 0.5) is None


def _answer(partial: bool = False, verified: bool = True) -> tuple[Answer, Reading]:
    lead = Reading("verdict", Evidence(KALATHIL, 0.9, None, 0.9), (Evidence(NOLAN, 0.9, None, 0.9),), "yes")
    citations = tuple(
        Citation(n, h.sentence.sentence_id, h.sentence.doc_id, h.path, h.title, h.sentence.start, h.sentence.end, h.sentence.text, verified)
        for n, h in ((1, NOLAN), (2, KALATHIL))
    )
    reason = "verbatim" if verified else ""
    sentences = (AnswerSentence(NOLAN.sentence.text, (1,), verified, reason), AnswerSentence(KALATHIL.sentence.text, (2,), verified, reason))
    answer = Answer("Are Christopher Nolan and Sathish Kalathil both film directors?", "…", False, sentences, citations, partial=partial)
    return answer, lead


def test_a_verdict_leads_the_answer_in_every_shell():
    from rag.shells.cli import format_answer
    from rag.shells.web.render import render_answer

    answer, lead = _answer()
    given = with_verdict(answer, lead)
    assert given.verdict == "yes" and given.short_answer is None
    assert given.answer.startswith("Yes: Christopher Nolan is") and given.answer.endswith("[2]")
    assert json.loads(given.to_json_text())["verdict"] == "yes"
    assert given.to_markdown().startswith("**Yes**")
    assert format_answer(given).splitlines()[0] == "Answer: Yes (from [1] and [2] together)"
    html = render_answer(given, 0, 3)
    assert '<span class="rag-short-text">Yes</span>' in html and "together" in html


def test_a_partial_verdict_says_it_is_the_closest_and_an_unverified_one_is_not_given():
    from rag.shells.cli import format_answer

    answer, lead = _answer(partial=True)
    given = with_verdict(answer, lead)
    assert given.answer.startswith("The closest the documents come (probably yes): ")
    assert format_answer(given).splitlines()[0] == "Closest answer: Yes (from [1] and [2] together)"
    assert given.to_markdown().startswith("*Closest answer: yes*")
    unverified, lead = _answer(verified=False)
    assert with_verdict(unverified, lead).verdict == ""
    assert json.loads(with_verdict(unverified, lead).to_json_text())["verdict"] is None


@pytest.mark.real
def test_the_real_reader_answers_yes_or_no_citing_both_sentences(real_rag_over):
    from rag.api import Rag

    vidor = "King Wallis Vidor was an American film director, film producer, and screenwriter."
    cziffra = "Géza von Cziffra was a Hungarian-Austrian film director and screenwriter."
    rag = real_rag_over(
        {
            "vidor.txt": ("King Vidor", f"{vidor} His career spanned nearly seven decades."),
            "cziffra.txt": ("Géza von Cziffra", f"{cziffra} He directed more than 60 films."),
        }
    )
    answer = rag.ask("Are King Vidor and Géza von Cziffra both American directors?")
    assert answer.verdict == "no" and [c.quote for c in answer.citations] == [vidor, cziffra]
    assert all(c.verified for c in answer.citations)
    same = rag.ask("Were King Vidor and Géza von Cziffra of the same nationality?")
    assert same.verdict == "no"
    off = Rag(rag.settings.model_copy(update={"verdicts": False}), embedder=rag.embedder)
    assert off.ask("Are King Vidor and Géza von Cziffra both American directors?").verdict == ""


def test_an_option_is_named_by_whole_words_only():
    from rag.text import mentions

    assert mentions("The Bomb (film) The Bomb is a 2011 film.", "Bomb")
    assert not mentions("Time Bombs Time Bombs is a 2008 Canadian film.", "Bomb")  # once read as "The Bomb"
    assert mentions("Géza von Cziffra was a director.", "GÉZA VON CZIFFRA") and mentions("the U.S. Army", "U.S.")


def test_a_verdict_is_not_put_before_words_that_are_not_the_quotes_themselves():
    answer, lead = _answer()
    # An LLM's own sentence, checked as supported but not verbatim, could say the opposite.
    written = replace(answer, sentences=(replace(answer.sentences[0], reason="supported"), answer.sentences[1]))
    assert with_verdict(written, lead).verdict == ""
