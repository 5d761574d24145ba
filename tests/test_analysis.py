"""Question analysis (rag.ask.analysis): read once from the question as asked, shown in the
JSON, and read by the forms, so that questions of our corpus's kind (news, treaties) come out
right or fall back to the ordinary answer, never a garbled reader question; a verdict survives
inside a chat. Hermetic: the hashing embedder and a stand-in reader."""

from __future__ import annotations

import re

import pytest
from fakes import HashingEmbedder, judged

from rag.ask.analysis import analyse

MISPARSES = (
    "How long did the talks last, five hours or six?",  # "last" is the verb, not "latest"
    "What do Russia and Ukraine have in common?",  # no nationality to compare between two countries
)


@pytest.mark.parametrize(
    ("question", "kind", "noun"),
    [
        ("When was the North Atlantic Treaty signed?", "date", ""),
        ("In what year did Ukraine give up its nuclear arsenal?", "date", "year"),
        ("How many points does the peace plan have?", "count", "points"),
        ("How long did the talks last?", "count", ""),
        ("Who briefed reporters in Brindisi?", "person", ""),
        ("Where did the delegations meet?", "place", ""),
        ("In which city were the talks held?", "place", "city"),
        ("Did the talks end with an agreement?", "yes-no", ""),
        ("What measures did the G7 announce?", "list", "measures"),
        ("Why did Sullivan call the agreement historic?", "other", ""),
    ],
)
def test_the_analysis_says_what_kind_of_answer_is_asked_for_and_the_noun(question, kind, noun):
    analysis = analyse(question)
    assert (analysis.kind, analysis.noun) == (kind, noun)


@pytest.mark.parametrize(
    ("question", "form", "options", "sub_questions"),
    [
        (
            "Which treaty was signed first, the North Atlantic Treaty or the Treaty on the Non-Proliferation of Nuclear Weapons?",
            "comparison",
            ("North Atlantic Treaty", "Treaty on the Non-Proliferation of Nuclear Weapons"),
            ("When was North Atlantic Treaty signed?", "When was Treaty on the Non-Proliferation of Nuclear Weapons signed?"),
        ),
        (
            "Which meeting took place earlier, the Geneva talks or the Brindisi press gaggle?",
            "comparison",
            ("Geneva talks", "Brindisi press gaggle"),
            ("When did Geneva talks take place?", "When did Brindisi press gaggle take place?"),
        ),
        (
            "Were the Berlin and Geneva talks held in the same month?",
            "verdict",
            ("Berlin", "Geneva"),
            ("What month were the Berlin talks held in?", "What month were the Geneva talks held in?"),
        ),
        (
            "Are both Jake Sullivan and Boris Pistorius American?",
            "verdict",
            ("Jake Sullivan", "Boris Pistorius"),
            ("What is Jake Sullivan?", "What is Boris Pistorius?"),
        ),
        (
            "Both the Ukraine Compact and the Budapest Memorandum were signed in what city?",
            "shared",
            ("Ukraine Compact", "Budapest Memorandum"),
            ("Ukraine Compact was signed in what city?", "Budapest Memorandum was signed in what city?"),
        ),
        (
            "Both Sullivan and Pistorius support what?",
            "shared",
            ("Sullivan", "Pistorius"),
            ("Sullivan supports what?", "Pistorius supports what?"),
        ),
    ],
)
def test_a_form_has_its_options_as_spans_of_the_question_and_a_grammatical_question_about_each(question, form, options, sub_questions):
    analysis = analyse(question)
    assert analysis.form == form
    assert analysis.option_texts == options
    assert all(question[a:b] == text for (a, b), text in zip(analysis.options, options))
    assert analysis.sub_questions == sub_questions
    assert analysis.to_json()["options"][0] == {"text": options[0], "start": analysis.options[0][0], "end": analysis.options[0][1]}


@pytest.mark.parametrize("question", [*MISPARSES, "What did Pistorius warn about?", "Which came first?"])
def test_other_questions_have_no_form_of_two_things(question):
    analysis = analyse(question)
    assert analysis.form == "bridge candidate" and analysis.options == () and analysis.sub_questions == ()


_GARBLED = re.compile(r"^When (?!(?:was|were|is|are|did|does|do|has|had|have)\b)\w+", re.IGNORECASE)


def test_no_comparison_of_hotpotqa_kind_asks_the_reader_a_when_question_without_its_verb():
    questions = [
        "Which film was released more recently, Make Mine Music or Old Dogs?",
        "Who died first, George Archainbaud or Ralph Murphy?",
        "Which came out first, Dinosaur or McFarland, USA",
        "Which band formed earlier, Edward Sharpe and the Magnetic Zeros or Louis XIV?",
        " Which movie did Disney produce first,  The Many Adventures of Winnie the Pooh or Ride a Wild Pony?",
        "Which film is newer, The Apple Dumpling Gang or Heavyweights?",
    ]
    for question in questions:
        asked = analyse(question).sub_questions
        assert asked and not any(_GARBLED.match(q) for q in asked), (question, asked)
    assert analyse(questions[4]).sub_questions[1] == "When did Disney produce Ride a Wild Pony?"


# ---- through the pipeline -----------------------------------------------------------------

DERRICKSON = "Scott Derrickson is an American director, screenwriter and producer."
WOOD = "Edward Davis Wood Jr. was an American filmmaker, actor and writer."
TALKS = "The talks, which lasted more than five hours, are set to continue on Monday."
BERLIN = "The Berlin talks were held in March with both delegations present."
GENEVA = "The Geneva talks were held in November after a long pause."


class StandInReader:
    """Judges every hit 0.9 and finds the short answers below; records the questions asked."""

    name = "stand-in"
    shorts = {TALKS: "more than five hours", BERLIN: "March", GENEVA: "November"}

    def __init__(self):
        self.asked = []

    def rerank(self, question, query, hits, idf):
        self.asked.append(question)
        return [judged(h, 0.9, self.shorts.get(h.sentence.text, "")) for h in hits]


@pytest.fixture
def over(tmp_path):
    from rag.api import Rag
    from rag.config import Settings

    def build(files: dict[str, tuple[str, str]]):
        docs = tmp_path / "docs"
        docs.mkdir()
        for name, (title, text) in files.items():
            (docs / name).write_text(f"Title: {title}\n-----\n{text}\n", "utf-8")
        reader = StandInReader()
        settings = Settings(store_dir=tmp_path / "store", abstain_threshold=0.35, reranker="features")
        rag = Rag(settings, embedder=HashingEmbedder(), reranker=reader)
        rag.ingest([docs])
        return rag, reader

    return build


def test_a_verdict_survives_inside_a_chat(over):
    rag, _ = over({"derrickson.txt": ("Scott Derrickson", DERRICKSON), "wood.txt": ("Ed Wood", WOOD)})
    question = "Were Scott Derrickson and Ed Wood of the same nationality?"
    history = [("Who is Scott Derrickson?", DERRICKSON)]
    answer = rag.ask(question, history)
    assert answer.retrieval_query != question  # the follow-up is retrieved with the topic ("the same")
    assert answer.analysis.form == "verdict" and answer.analysis.question == question
    assert answer.verdict == "yes" and [c.quote for c in answer.citations] == [DERRICKSON, WOOD]
    assert rag.ask(question).verdict == "yes"  # and on its own


def test_a_duration_with_two_options_is_answered_as_asked(over):
    rag, reader = over({"geneva.txt": ("Readout of Peace Talks in Geneva", TALKS)})
    question = MISPARSES[0]
    answer = rag.ask(question)
    assert set(reader.asked) == {question}  # no question made up for the reader
    assert not answer.abstained and answer.citations[0].quote == TALKS
    assert answer.short_answer.text == "more than five hours"
    assert answer.to_json()["analysis"] == {"kind": "count", "noun": None, "form": "bridge candidate", "options": [], "sub_questions": []}


def test_what_two_countries_have_in_common_is_the_ordinary_answer(over):
    text = "Russia and Ukraine both border the Black Sea, where the expert groups met."
    rag, reader = over({"black-sea.txt": ("Black Sea", text)})
    answer = rag.ask(MISPARSES[1])
    assert set(reader.asked) == {MISPARSES[1]} and answer.citations[0].quote == text and not answer.verdict


def test_two_talks_in_different_months_are_not_held_in_the_same_month(over):
    rag, reader = over({"berlin.txt": ("Berlin", BERLIN), "geneva.txt": ("Geneva", GENEVA)})
    question = "Were the Berlin and Geneva talks held in the same month?"
    answer = rag.ask(question)
    assert {"What month were the Berlin talks held in?", "What month were the Geneva talks held in?"} <= set(reader.asked)
    assert answer.verdict == "no" and [c.quote for c in answer.citations] == [BERLIN, GENEVA]
    assert answer.short_answer is None  # a verdict is no span of any file


@pytest.mark.parametrize(
    ("berlin", "geneva", "verdict"),
    [("March", "November", "no"), ("November 2025", "23 November", "yes"), ("Sunday", "November", None)],
)
def test_the_same_month_is_read_from_the_months_the_short_answers_name(berlin, geneva, verdict):
    from fakes import hit, read

    sentences = {
        "Berlin": hit(f"The Berlin talks were held on {berlin}.", "berlin", "Berlin"),
        "Geneva": hit(f"The Geneva talks were held on {geneva}.", "geneva", "Geneva"),
    }
    shorts = {"Berlin": berlin, "Geneva": geneva}

    def judge(asked, query, hits):
        option = next(o for o in sentences if o in asked)
        return [judged(sentences[option], 0.9, shorts[option])]

    reading = read("Were the Berlin and Geneva talks held in the same month?", lambda q: list(sentences.values()), judge, 0.5)
    assert (reading.verdict if reading else None) == verdict  # "Sunday" names no month: not settled
