"""Two-hop reading (rag.hops): which bridges are followed, what the reader sees on the second
hop, what leads the evidence, and how the answer cites the chain. Hermetic: retrieval and the
reader's judgements are stand-ins; the real reader's chain is in test_real_hops below."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import follow, hit, judged

from rag.ask.forms.base import bridge_text
from rag.ask.forms.hops import answers_in_kind, hop_question, names_something
from rag.text import asks_for_number

NOVEL = "Her first novel was published by Two Dollar Radio in 2010."
BASED = "The house is based in Columbus, Ohio."
OTHER = "The league was founded in 1981."


def test_bridge_text_is_the_short_answer_inside_the_sentence():
    novel = hit(NOVEL, "quell", start=40)
    assert bridge_text(judged(novel, 0.3, "Two Dollar Radio")) == "Two Dollar Radio"
    assert bridge_text(judged(novel, 0.3)) == ""


def test_a_chain_that_clears_the_threshold_leads_with_its_bridge():
    novel, other = hit(NOVEL, "quell", title="Mara Quell"), hit(OTHER, "league")
    based = hit(BASED, "radio", title="Two Dollar Radio", context="Two Dollar Radio is a publisher.")
    first_hop = [judged(novel, 0.30, "Two Dollar Radio"), judged(other, 0.20, "1981")]
    queries, seen = [], []

    def retrieve(query):
        queries.append(query)
        return [novel, based] if query.startswith("Two Dollar Radio") else [other]

    def rerank(asked, query, hits):
        assert asked == "Where is the publisher based?"  # under the gate the reader reads the question as asked
        seen.extend((h.sentence.text, h.context) for h in hits)
        found = [judged(h, 0.9, "Columbus, Ohio") if h.sentence.text == BASED else judged(h, 0.1) for h in hits]
        return sorted(found, key=lambda e: -e.score)

    reading = follow("Where is the publisher based?", first_hop, retrieve, rerank, threshold=0.8, bridges=2)

    assert queries == ["Two Dollar Radio Where is the publisher based?"]  # "1981" names nothing to follow
    # The bridge sentence itself is not judged again; each new sentence is judged with the bridge as its context.
    assert (BASED, NOVEL) in seen and (NOVEL, NOVEL) not in seen
    answer, bridge = reading.evidence
    assert answer.hit == based and bridge.hit == novel  # the stored hit, its own context kept
    assert bridge_text(answer) == "Columbus, Ohio" and reading.short == answer.answer_span
    assert reading.cited == [novel, based]  # an extractive answer quotes the bridge, then what it leads to


def test_a_short_answer_the_query_names_or_one_already_followed_is_not_followed_again():
    novel, again, named = hit(NOVEL, "quell"), hit(NOVEL, "copy", start=10), hit("Mara Quell wrote it.", "quell", start=100)
    first_hop = [judged(novel, 0.3, "Two Dollar Radio"), judged(again, 0.3, "Two Dollar Radio"), judged(named, 0.3, "Mara Quell")]
    queries = []

    def retrieve(query):
        queries.append(query)
        return [hit(BASED, "radio")]

    follow("Where is Mara Quell's publisher?", first_hop, retrieve, lambda asked, q, hits: [judged(h, 0.1) for h in hits], 0.8, 5)
    assert queries == ["Two Dollar Radio Where is Mara Quell's publisher?"]


@pytest.mark.parametrize("relevance", [0.79, None])
def test_without_a_chain_over_the_threshold_the_evidence_stands(relevance):
    novel, based = hit(NOVEL, "quell"), hit(BASED, "radio")
    first_hop = [judged(novel, 0.30, "Two Dollar Radio")] if relevance is not None else [judged(novel, 0.30)]

    def rerank(asked, query, hits):
        return [judged(h, relevance or 0.0) for h in hits]

    assert follow("Where?", first_hop, lambda q: [based], rerank, threshold=0.8, bridges=5) is None


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("When was the company founded?", True),
        ("In what year did Ukraine give up its nuclear arsenal?", True),
        ("The league was formed in which year?", True),
        ("How many points does the plan have?", True),
        ("How long did the talks last?", True),
        ("Who briefed reporters?", False),
        ("What name did Sullivan give it when asked to compare it?", False),  # "when" not asking
        ("How did the American side characterise the talks?", False),
    ],
)
def test_which_questions_ask_for_a_date_count_or_amount(question, asks):
    assert asks_for_number(question) is asks


@pytest.mark.parametrize(
    ("short", "in_kind"),
    [("1984", True), ("Monday", True), ("fifteen", True), ("ten years", True), ("Boston Beer Company", False), ("", False)],
)
def test_a_short_answer_is_of_the_kind_asked_when_it_holds_a_number_or_a_date_word(short, in_kind):
    text = f"The answer is {short} here." if short else "No answer here."
    evidence = judged(hit(text, "doc"), 0.9, short)
    assert answers_in_kind("When was it founded?", evidence) is in_kind
    assert answers_in_kind("Who founded it?", evidence)  # nothing to check a who-question's answer by


@pytest.mark.parametrize(
    ("sentence", "short", "in_kind"),
    [
        ('He made his big screen debut in "Love Forecast" (2015).', "Love Forecast", False),
        ("He made his big screen debut in “Love Forecast”.", "Love Forecast", False),
        ("The film was directed by Park Jin-pyo.", "Park Jin-pyo", True),
        ('It was directed by "Papa" Joe Smith.', "Joe Smith", True),  # a quote before, none after
    ],
)
def test_a_who_question_is_not_answered_in_kind_by_a_title_in_quotation_marks(sentence, short, in_kind):
    evidence = judged(hit(sentence, "doc", start=7), 0.9, short)
    assert answers_in_kind("Who directed the film in which he made his debut?", evidence) is in_kind
    assert answers_in_kind("What was his debut film?", evidence)  # a title may answer a what-question


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Boston Beer Company", True),
        ("Super Bowl 50", True),
        ("Columbus, Ohio", True),
        ("2005", False),
        ("in 1979", False),
        ("September 2010", False),
        ("the 1990s", False),
        ("two years", False),
    ],
)
def test_only_a_short_answer_that_names_something_is_a_bridge(text, names):
    assert names_something(text) is names


def test_a_date_is_not_followed_as_a_bridge():
    # "2005" as a bridge once led to "Mara Quell is an American author born in 1979", judged
    # with "...founded in 2005 by Eric Obenauf" as context, for "In what year was Eric Obenauf born?".
    founded = hit("Two Dollar Radio was founded in 2005 by Eric Obenauf.", "radio")
    queries = []

    def retrieve(query):
        queries.append(query)
        return [hit(BASED, "radio", start=100)]

    follow("In what year was Eric Obenauf born?", [judged(founded, 0.3, "2005")], retrieve, lambda a, q, h: [], 0.8, 5)
    assert queries == []


def test_the_hop_question_keeps_what_the_bridge_leaves_unsaid_and_names_the_bridge():
    bridge = judged(hit("She resigned to become a lobbyist for Boston Beer Company.", "kar", title="Kathi-Anne Reinstein"), 0.9, "Boston Beer Company")
    asked = "When was the company founded for which Kathi-Anne Reinstein resigned to be a lobbyist?"
    hop = hop_question(asked, bridge)  # a retrieval query for the second hop, not a question shown to anyone
    assert "founded" in hop and "Reinstein" not in hop and "lobbyist" not in hop and hop.endswith("Boston Beer Company")


def test_an_answer_not_of_the_kind_asked_is_followed_with_the_hop_question_and_a_chain_must_be_in_kind():
    resigned = hit("She resigned to become a lobbyist for Boston Beer Company.", "kar", title="Kathi-Anne Reinstein")
    founded, brewed = hit("The Boston Beer Company is a brewer founded in 1984.", "bbc"), hit("It brews Samuel Adams.", "bbc", start=60)
    elsewhere = hit("Reinstein served in the Massachusetts House.", "kar", start=200, title="Kathi-Anne Reinstein")
    # Only the best evidence, whose answer is out of kind, is the bridge: the second is not followed.
    first_hop = [judged(resigned, 0.95, "Boston Beer Company"), judged(elsewhere, 0.6, "Massachusetts House")]
    asked = "When was the company founded for which Kathi-Anne Reinstein resigned to be a lobbyist?"
    calls = []

    def rerank(reader_question, query, hits):
        calls.append((reader_question, query))
        # The out-of-kind sentence is judged best; it cannot lead a chain that must hold a number.
        return [judged(brewed, 0.99, "Samuel Adams"), judged(founded, 0.9, "1984")]

    reading = follow(asked, first_hop, lambda q: [resigned, founded, brewed], rerank, 0.8, 5, in_kind=True)
    assert calls == [(hop_question(asked, first_hop[0]),) * 2]
    assert reading.lead.hit == founded and reading.rests_on[0].hit == resigned and bridge_text(reading.lead) == "1984"


QUELL = f"Mara Quell is an American author born in 1979 in Portland. {NOVEL} It was selected as one of the best books of the year."


def radio(founded: str) -> str:
    return f"Two Dollar Radio is an independent publishing house founded in 2005{founded}. {BASED} It also produces films."


@pytest.mark.real
def test_the_real_reader_follows_a_bridge_and_cites_both_sentences(real_rag_over):
    from rag.api import Rag

    rag = real_rag_over({"quell.txt": ("Mara Quell", QUELL), "radio.txt": ("Two Dollar Radio", radio(""))})
    settings = rag.settings
    question = "In what city is the house that published Mara Quell's first novel?"
    # No single sentence answers: reading one hop only, the gate abstains.
    assert Rag(settings.model_copy(update={"bridges": 0}), embedder=rag.embedder).ask(question).abstained
    answer = rag.ask(question)
    assert not answer.abstained
    assert [c.quote for c in answer.citations] == [NOVEL, BASED]
    assert answer.short_answer is not None and "Columbus" in answer.short_answer.text
    # Only the answer sentence carries a strength mark; the bridge leads to it without answering.
    assert answer.sentences[0].strength == "" and answer.sentences[1].strength in ("strong", "partial")
    short = answer.short_answer
    assert Path(short.path).read_text("utf-8")[short.start : short.end] == short.text


@pytest.mark.real
def test_the_real_reader_follows_an_answer_that_is_not_the_year_asked_for(real_rag_over):
    from rag.api import Rag

    resigned = "She resigned to become a lobbyist for Boston Beer Company."
    founded = "The Boston Beer Company is a brewer founded in 1984."
    legislator = "Kathi-Anne Reinstein is a former American state legislator who served in the Massachusetts House of Representatives."
    rag = real_rag_over(
        {
            "reinstein.txt": ("Kathi-Anne Reinstein", f"{legislator} {resigned}"),
            "beer.txt": ("Boston Beer Company", f"{founded} Its first brand of beer was named Samuel Adams."),
        }
    )
    settings = rag.settings
    question = "When was the company founded for which Kathi-Anne Reinstein resigned to be a lobbyist?"
    # One hop: the reader is sure of the sentence that names the company, and answers with its name.
    one_hop = Rag(settings.model_copy(update={"bridges": 0}), embedder=rag.embedder).ask(question)
    assert [c.quote for c in one_hop.citations] == [resigned] and "1984" not in one_hop.short_answer.text
    answer = rag.ask(question)
    assert [c.quote for c in answer.citations] == [resigned, founded]
    short = answer.short_answer
    assert short.text == "1984" and Path(short.path).read_text("utf-8")[short.start : short.end] == "1984"


def test_a_second_hop_hands_the_reader_only_the_feature_scorers_best_bridge_k(tmp_path):
    from fakes import HashingEmbedder

    from rag.config import Settings
    from rag.api import Rag

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "quell.txt").write_text(f"Title: Mara Quell\n-----\nMara Quell writes novels. {NOVEL}\n", "utf-8")
    facts = " ".join(f"Two Dollar Radio published book number {n} in its list." for n in range(30))
    (docs / "radio.txt").write_text(f"Title: Two Dollar Radio\n-----\n{facts} {BASED}\n", "utf-8")
    seen = []

    class Recording:
        name = "recording"

        def rerank(self, question, query, hits, idf):
            seen.append((query, len(hits)))
            return [judged(h, 0.2, "Two Dollar Radio") if "Two Dollar Radio" in h.sentence.text else judged(h, 0.1) for h in hits]

    settings = Settings(store_dir=tmp_path / "store", abstain_threshold=0.35, reranker="features", bridge_k=5)
    rag = Rag(settings, embedder=HashingEmbedder(), reranker=Recording())
    rag.ingest([docs])
    rag.ask("Where is the publisher of Mara Quell based?")
    first, *second = seen
    assert first[1] > 5 and second  # the first hop judges every retrieved sentence; the bridge was followed
    assert all(query.startswith("Two Dollar Radio") and count <= 5 for query, count in second)


@pytest.mark.real
def test_the_real_reader_does_not_follow_a_date_to_someone_elses_birth_year(real_rag_over):
    rag = real_rag_over(
        {"quell.txt": ("Mara Quell", QUELL), "radio.txt": ("Two Dollar Radio", radio(" by Eric Obenauf and Eliza Wood"))}
    )
    # Nothing says when Eric Obenauf was born; "1979" is Mara Quell's birth year.
    assert rag.ask("In what year was Eric Obenauf born?").abstained
    assert rag.ask("Where is the house that published Mara Quell's first novel based?").short_answer.text == "Columbus, Ohio"


OPENINGS = {
    "australian national university": "The Australian National University (ANU) is a national research university located in Canberra.",
    "pittsburgh": "Pittsburgh is a city in the Commonwealth of Pennsylvania.",
}


def describe(name: str) -> str | None:
    return OPENINGS.get(name.lower())


@pytest.mark.parametrize(
    ("short", "in_kind"),
    [
        ("Australian National University", False),  # a document that does not call itself a city
        ("Pittsburgh", True),  # one that does
        ("Canberra", True),  # no document of that title: words cannot tell
    ],
)
def test_a_place_question_is_not_answered_in_kind_by_a_document_that_is_no_such_place(short, in_kind):
    sentence = hit(f"Toad Hall is a residential hall in {short}, it was opened in 1974.", "toad")
    question = "Toad Hall is a residential hall in a university located in what Australian city?"
    assert answers_in_kind(question, judged(sentence, 0.9, short), describe) is in_kind
    assert answers_in_kind(question, judged(sentence, 0.9, short))  # nothing to describe: in kind
    assert answers_in_kind("Who founded Toad Hall?", judged(sentence, 0.9, short), describe)  # no place asked


@pytest.mark.real
def test_the_real_reader_follows_a_university_to_its_city(real_rag_over):
    from rag.api import Rag

    hall = "Toad Hall is a residential hall in Australian National University, it was opened in 1974."
    anu = "The Australian National University (ANU) is a national research university located in Canberra, the capital of Australia."
    rag = real_rag_over(
        {
            "toad.txt": ("Toad Hall", f"{hall} It houses about 500 students."),
            "anu.txt": ("Australian National University", f"{anu} It was founded in 1946."),
        }
    )
    question = "Toad Hall is a residential hall in a university located in what Australian city?"
    one_hop = Rag(rag.settings.model_copy(update={"bridges": 0}), embedder=rag.embedder).ask(question)
    assert one_hop.short_answer is None or "Canberra" not in one_hop.short_answer.text
    answer = rag.ask(question)
    assert [c.quote for c in answer.citations] == [hall, anu]
    short = answer.short_answer
    assert short.text == "Canberra" and Path(short.path).read_text("utf-8")[short.start : short.end] == "Canberra"
