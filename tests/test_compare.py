"""Comparisons (rag.compare): which questions are "which came first, A or B?", what the reader
is asked about each option, which option wins, and when the ordinary evidence stands.
Hermetic: retrieval and the reader are stand-ins; the real reader is in the last test."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import hit, judged, read

from rag.ask.forms.base import bridge_text
from rag.ask.forms.compare import parse_comparison

JAYNE = "Erika Jayne (born July 10, 1971) is an American singer."
SILVA = "Marco Da Silva (born 1977) is a dancer who first performed in 1971."


@pytest.mark.parametrize(
    ("question", "options", "earlier", "asked_first"),
    [
        ("Who was born first, Erika Jayne or Marco Da Silva?", ("Erika Jayne", "Marco Da Silva"), True, "When was Erika Jayne born?"),
        ("who is younger Ulrich Walter or  Luca Parmitano?", ("Ulrich Walter", "Luca Parmitano"), False, "When was Ulrich Walter born?"),
        ("Which film was released more recently, Make Mine Music or Old Dogs?", ("Make Mine Music", "Old Dogs"), False, "When was Make Mine Music released?"),
        ("Which case came first: Craig v. Boren or United States v. Paramount Pictures, Inc.?", ("Craig v. Boren", "United States v. Paramount Pictures, Inc"), True, "When did Craig v. Boren come?"),
        ("Which of these battles occurred earlier--the Battle of Peleliu or the Battle of Belleau Wood?", ("Battle of Peleliu", "Battle of Belleau Wood"), True, "When did Battle of Peleliu occur?"),
        ("Which magazine is older, Gallery or Dime Magazine?", ("Gallery", "Dime Magazine"), True, "When was Gallery founded or released?"),
    ],
)
def test_a_comparison_question_gives_its_two_options_its_direction_and_a_question_for_each(question, options, earlier, asked_first):
    comparison = parse_comparison(question)
    assert comparison is not None
    assert comparison.options == options and comparison.smaller is earlier
    assert comparison.question_for(options[0]) == asked_first


@pytest.mark.parametrize(
    ("question", "options", "fewer", "asked_first"),
    [
        ("Which genus has more species, Xanthoceras or Ehretia?", ("Xanthoceras", "Ehretia"), False, "How many species does Xanthoceras have?"),
        ("Who has won more Pulitzer Prizes, Thomas Friedman or Henri Bergson?", ("Thomas Friedman", "Henri Bergson"), False, "How many Pulitzer Prizes does Thomas Friedman have?"),
        ("Which band has fewer members, Lit or Adorable?", ("Lit", "Adorable"), True, "How many members does Lit have?"),
    ],
)
def test_a_count_comparison_asks_each_option_how_many(question, options, fewer, asked_first):
    comparison = parse_comparison(question)
    assert comparison is not None and comparison.measure == "count"
    assert comparison.options == options and comparison.smaller is fewer
    assert comparison.question_for(options[0]) == asked_first


@pytest.mark.parametrize(
    ("question", "asked_first"),
    [
        ("Which singer is American, Mark King or Nick Hexum?", "Which singer is American, Mark King?"),
        ("Which magazine is published more often, Shonen Jump or Rolling Stone?", "Which magazine is published more often, Shonen Jump?"),
        ("Who has written more than 300 papers, Semyon Gershgorin or Pavel Alexandrov?", "Who has written more than 300 papers, Semyon Gershgorin?"),
    ],
)
def test_any_other_which_a_or_b_question_is_a_choice_asked_of_each_option(question, asked_first):
    comparison = parse_comparison(question)
    assert comparison is not None and comparison.measure == "choice"
    assert comparison.question_for(comparison.options[0]) == asked_first


KING = "Mark King (born 20 October 1958) is an English musician."
HEXUM = 'Nicholas Lofton "Nick" Hexum (born April 12, 1970) is an American singer.'


@pytest.mark.parametrize(
    ("king", "hexum", "chosen"),
    [(0.2, 0.89, "Hexum"), (0.7, 0.89, None), (0.1, 0.45, None)],  # the margin, and the gate, settle it
)
def test_a_choice_goes_to_the_option_the_reader_is_surer_of_by_a_margin(king, hexum, chosen):
    sentences = {"Mark King": hit(KING, "king", "Mark King"), "Nick Hexum": hit(HEXUM, "hexum", "Nick Hexum")}
    relevance = {"Mark King": king, "Nick Hexum": hexum}

    def rerank(question, query, hits):
        option = next(o for o in sentences if o in question)
        return [judged(sentences[option], relevance[option])]

    reading = read("Which singer is American, Mark King or Nick Hexum?", lambda q: list(sentences.values()), rerank, 0.5)
    if chosen is None:
        assert reading is None
    else:  # the name's last word where the sentence does not spell the whole name
        assert bridge_text(reading.lead) == chosen and reading.rests_on[0].hit == sentences["Mark King"]
        assert reading.confidence == hexum and reading.form == "comparison" and reading.verdict is None


@pytest.mark.parametrize(
    ("short", "value"), [("about 66 species", 66), ("two species", 2), ("1,200", 1200), ("a single species", 1), ("many", None)]
)
def test_a_count_is_read_from_digits_number_words_or_single(short, value):
    comparison = parse_comparison("Which genus has more species, Xanthoceras or Ehretia?")
    assert comparison.value(short) == value


@pytest.mark.parametrize(
    "question",
    [
        "What did Pistorius warn about?",
        "Is the bowler a left-hand or right-hand batsman?",  # two options, no earlier or later
        "Which came first?",  # a direction, no options
        "Who was born first, Erika Jayne or erika jayne?",  # one option twice
        "When did the first talks take place, and who attended?",
    ],
)
def test_other_questions_are_no_comparison(question):
    assert parse_comparison(question) is None


@pytest.mark.parametrize("question", ["older who or which", '-- born " or more', ": -- , species or more", "", "?", " or "])
def test_fragments_parse_without_error(question):
    comparison = parse_comparison(question)  # found by fuzzing: these once raised IndexError
    assert comparison is None or all(comparison.options)


def _stand_ins(years: dict[str, str], relevance: float = 0.9):
    sentences = {"Erika Jayne": hit(JAYNE, "jayne", "Erika Jayne"), "Marco Da Silva": hit(SILVA, "silva", "Marco Da Silva")}
    asked = []

    def retrieve(question):
        return list(sentences.values())

    def rerank(question, query, hits):
        asked.append(question)
        option = next(o for o in sentences if o in question)
        return [judged(sentences[option], relevance, years[option])] + [judged(h, 0.2) for h in hits if h is not sentences[option]]

    return sentences, asked, retrieve, rerank


def test_the_option_with_more_leads():
    xan, ehr = hit("Xanthoceras is a genus with a single species.", "xan", "Xanthoceras"), hit("Ehretia has about 66 species.", "ehr", "Ehretia")
    counts = {"Xanthoceras": judged(xan, 0.9, "a single species"), "Ehretia": judged(ehr, 0.9, "about 66 species")}

    def rerank(question, query, hits):
        return [next(e for o, e in counts.items() if o in question)]

    reading = read("Which genus has more species, Xanthoceras or Ehretia?", lambda q: [xan, ehr], rerank, 0.5)
    assert bridge_text(reading.lead) == "Ehretia" and reading.rests_on[0].hit == xan


def test_the_earlier_option_leads_with_its_name_as_the_short_answer_and_the_other_sentence_beside_it():
    sentences, asked, retrieve, rerank = _stand_ins({"Erika Jayne": "July 10, 1971", "Marco Da Silva": "1977"})
    reading = read("Who was born first, Erika Jayne or Marco Da Silva?", retrieve, rerank, 0.5)
    assert asked == ["When was Erika Jayne born?", "When was Marco Da Silva born?"]
    lead, other = reading.evidence
    assert lead.hit == sentences["Erika Jayne"] and bridge_text(lead) == "Erika Jayne"
    assert other.hit == sentences["Marco Da Silva"] and reading.cited == [sentences["Marco Da Silva"], sentences["Erika Jayne"]]
    later = read("Who was born more recently, Erika Jayne or Marco Da Silva?", retrieve, rerank, 0.5)
    assert bridge_text(later.lead) == "Marco Da Silva"


@pytest.mark.parametrize(
    ("years", "relevance"),
    [
        ({"Erika Jayne": "1971", "Marco Da Silva": "1971"}, 0.9),  # the same year settles nothing
        ({"Erika Jayne": "1971", "Marco Da Silva": "a dancer"}, 0.9),  # no year for one option
        ({"Erika Jayne": "1971", "Marco Da Silva": "1977"}, 0.4),  # the reader is not sure of either
    ],
)
def test_without_a_year_for_each_option_over_the_threshold_nothing_is_compared(years, relevance):
    _, _, retrieve, rerank = _stand_ins(years, relevance)
    assert read("Who was born first, Erika Jayne or Marco Da Silva?", retrieve, rerank, 0.5) is None


@pytest.mark.real
def test_the_real_reader_answers_which_came_first_citing_both_sentences(real_rag_over):
    from rag.api import Rag

    exies = "The Exies were an American rock band from Los Angeles, California, formed in 1997."
    diablo = "Circus Diablo is an American rock band, formed in early 2006 by Billy Morrison."
    rag = real_rag_over(
        {
            "exies.txt": ("The Exies", f"{exies} They released four albums."),
            "diablo.txt": ("Circus Diablo", f"{diablo} Its debut album came out in 2007."),
        }
    )
    settings = rag.settings
    answer = rag.ask("Which band was formed first, The Exies or Circus Diablo?")
    assert sorted(c.quote for c in answer.citations) == sorted([exies, diablo])
    short = answer.short_answer
    assert short.text == "Exies" and Path(short.path).read_text("utf-8")[short.start : short.end] == "Exies"
    off = Rag(settings.model_copy(update={"comparisons": False}), embedder=rag.embedder)
    assert off.ask("Which band was formed first, The Exies or Circus Diablo?").short_answer != short


def test_a_name_not_spelled_out_is_found_by_its_capitalised_last_word_only():
    from rag.ask.forms.compare import _name_span

    hexum = hit(HEXUM, "hexum")
    start, end = _name_span(hexum.sentence, "Nick Hexum")
    assert HEXUM[start - 10 : end - 10] == "Hexum"
    signed = hit("The treaty was signed in Washington on 4 April 1949.", "nat")
    assert _name_span(signed.sentence, "North Atlantic Treaty") is None  # "treaty" is no name

