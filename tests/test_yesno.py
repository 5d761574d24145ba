"""Yes or no about one thing (rag.yesno): which questions ask it and how the model decides."""

import pytest

from rag.models.yesno import FEATURES, asks_yes_no, features, verdict


@pytest.mark.parametrize(
    "question, asks",
    [
        ("Do they use attention?", True),
        ("Are results reported only on English data?", True),
        ("Did the court uphold the ban on exports?", True),
        ("Has the treaty been ratified by Norway?", True),
        ("What did Pistorius warn about?", False),
        ("Are Christopher Nolan and Sathish Kalathil both film directors?", False),  # two things: rag.verdicts
        ("Were Scott Derrickson and Ed Wood of the same nationality?", False),
        ("Is the model trained on news or on tweets?", False),  # a choice, not a yes or no
        ("Which dataset do they train on?", False),
    ],
)
def test_a_one_thing_yes_no_question_opens_with_an_auxiliary_verb(question, asks):
    assert asks_yes_no(question) is asks


# A model that says "yes" when the sentence holds what is asked and is not negated.
MODEL = {"weights": [-1.0, 4.0, 0.0, 0.0, -5.0, 0.0, 0.0, 0.0, 0.0], "margin": 0.1}


def test_the_cited_sentence_decides_and_an_unsure_model_says_nothing():
    assert len(features("Do they use attention?", "We use attention.")) == len(FEATURES) == len(MODEL["weights"])
    assert verdict("Do they use attention?", "The encoder uses an attention layer.", model=MODEL) == "yes"
    assert verdict("Did the court uphold the ban?", "The court did not uphold the ban.", model=MODEL) == "no"
    assert verdict("Do they use attention?", "We train for ten epochs.", model=MODEL) == "no"
    unsure = {**MODEL, "margin": 0.49}
    assert verdict("Do they use attention?", "The encoder uses an attention layer.", model=unsure) is None
    assert verdict("Which layer do they use?", "The encoder uses an attention layer.", model=MODEL) is None


def test_the_shipped_model_loads_and_the_setting_is_off_by_default():
    from rag.config import Settings

    assert verdict("Do they use attention?", "We use attention.") in {"yes", "no", None}
    assert Settings().one_thing_verdicts is False


def _cited(text: str, question: str, verified: bool = True):
    from fakes import hit

    from rag.ask.types import Answer, AnswerSentence, Citation, Evidence

    h = hit(text, "attention", "Tiny Parsers")
    lead = Evidence(h, 0.9, None, 0.9)
    citation = Citation(1, h.sentence.sentence_id, h.sentence.doc_id, h.path, h.title, h.sentence.start, h.sentence.end, h.sentence.text, verified)
    sentence = AnswerSentence(text, (1,), verified, "verbatim" if verified else "")
    return Answer(question, "…", False, (sentence,), (citation,)), lead


def test_a_one_thing_verdict_leads_the_answer_from_its_one_cited_sentence(monkeypatch):
    from rag.ask.citing import with_one_thing_verdict
    from rag.shells.cli import format_answer

    monkeypatch.setattr("rag.models.yesno._model", lambda: MODEL)
    answer, lead = _cited("The encoder uses an attention layer.", "Do they use attention?")
    given = with_one_thing_verdict(answer, lead, answer.question)
    assert given.verdict == "yes" and given.answer.startswith("Yes: The encoder uses")
    assert format_answer(given).splitlines()[0] == "Answer: Yes (from [1])"
    unverified, lead = _cited("The encoder uses an attention layer.", "Do they use attention?", verified=False)
    assert with_one_thing_verdict(unverified, lead, unverified.question).verdict == ""
    other, lead = _cited("The encoder uses an attention layer.", "Which layer does the encoder use?")
    assert with_one_thing_verdict(other, lead, other.question).verdict == ""
