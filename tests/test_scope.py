"""Asking within chosen documents: names resolve to a scope, every retriever honours it, the
abstention and the JSON say so, the shells pass it on."""

import io
import json

import pytest

from rag.shells.cli import main
from rag.errors import InputError

NORTH = (
    "Title: Northern Council Report\n-----\n"
    "The council meets every Tuesday in Brussels to review the harbour budget.\n"
    "Its chair is Mara Quell, elected in 2019.\n"
)
SOUTH = (
    "Title: Southern Council Minutes\n-----\n"
    "The council meets every Thursday in Lisbon to review the harbour budget.\n"
    "Its chair is Tomas Reyes, elected in 2021.\n"
)


@pytest.fixture
def two_councils(fake_rag, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "north.txt").write_text(NORTH)
    (docs / "south.md").write_text(SOUTH)
    fake_rag.ingest([docs])
    return fake_rag


def cited_titles(answer):
    return {c.title for c in answer.citations}


@pytest.mark.parametrize(
    "names",
    [["south.md"], ["Southern Council Minutes"], ["*.md"], ["SOUTH.MD"]],
)
def test_a_scoped_question_cites_only_the_chosen_document(two_councils, names):
    asked = "When does the council meet to review the harbour budget?"
    pooled = two_councils.ask(asked)
    assert "Northern Council Report" in cited_titles(pooled) or "Northern Council Report" in {h.title for h in pooled.evidence}
    answer = two_councils.ask(asked, documents=names)
    assert not answer.abstained
    assert cited_titles(answer) == {"Southern Council Minutes"}
    assert {h.title for h in answer.evidence} == {"Southern Council Minutes"}
    assert [d.title for d in answer.scope.documents] == ["Southern Council Minutes"]


def test_a_doc_id_and_several_names_resolve_to_one_scope(two_councils):
    south = next(s for s in two_councils.sources() if s.title.startswith("Southern"))
    assert two_councils.scope([south.doc_id]).doc_ids == {south.doc_id}
    both = two_councils.scope(["north.txt", "*.md", "south.md"])
    assert len(both.doc_ids) == 2
    assert two_councils.scope([]) is None


def test_an_unknown_name_names_the_closest_documents(two_councils):
    with pytest.raises(InputError, match=r"no document matches 'soth.md'; did you mean south.md"):
        two_councils.ask("Who chairs the council?", documents=["soth.md"])
    with pytest.raises(InputError, match="list the indexed documents with: rag sources"):
        two_councils.scope(["zzzzzz"])


def test_the_bm25_index_is_masked_to_the_scope(two_councils):
    index = two_councils._lexical_index()
    north = two_councils.scope(["north.txt"]).doc_ids
    rows = index.search("council harbour budget Tuesday Thursday", 10, north)
    assert rows and {index.doc_id(r) for r, _ in rows} == set(north)
    assert index.rows_within(north) is index.rows_within(north)  # kept per scope
    assert len({index.doc_id(r) for r, _ in index.search("council harbour budget", 10)}) == 2


def test_an_abstention_within_a_scope_says_the_chosen_documents_do_not_say(two_councils):
    outside = two_councils.ask("What is the population of the moon colony?", documents=["north.txt"])
    assert outside.abstained
    assert outside.answer.startswith("The chosen documents do not say.")
    assert two_councils.ask("What is the population of the moon colony?").answer.startswith("The documents do not say.")


def test_the_answer_json_names_its_scope(two_councils):
    answer = two_councils.ask("Who chairs the council?", documents=["north.txt"])
    scope = answer.to_json()["scope"]
    assert [(s["title"], s["path"].endswith("north.txt")) for s in scope] == [("Northern Council Report", True)]
    assert set(scope[0]) == {"doc_id", "title", "path"}
    assert two_councils.ask("Who chairs the council?").to_json()["scope"] == []


def test_a_follow_up_keeps_the_scope_it_is_given(two_councils):
    scope = two_councils.scope(["south.md"])
    first = two_councils.ask("Who chairs the council?", documents=scope)
    follow = two_councils.ask("When was the chair elected?", [("Who chairs the council?", first.answer)], documents=scope)
    assert cited_titles(first) == cited_titles(follow) == {"Southern Council Minutes"}
    assert "2021" in follow.answer


def test_cli_ask_doc_holds_for_every_question_on_stdin(two_councils, capsys, monkeypatch):
    import rag.shells.cli as cli

    monkeypatch.setattr(cli, "_open", lambda args, create=False: two_councils)
    monkeypatch.setattr("sys.stdin", io.StringIO("Who chairs the council?\nWhen does the council meet?\n"))
    assert main(["ask", "--doc", "north.txt"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert {c["title"] for c in line["citations"]} == {"Northern Council Report"}
        assert [s["title"] for s in line["scope"]] == ["Northern Council Report"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "Who chairs it?", "--doc", "nrth.txt"], "no document matches 'nrth.txt'; did you mean north.txt"),
        (["ask", "--doc", "*.pdf"], "no document matches '*.pdf'"),
        (["chat", "--doc", "Southern Council Minute"], "did you mean Southern Council Minutes"),
        (["ask", "q?", "--doc", "north.txt", "--doc", "sooth.md"], "no document matches 'sooth.md'; did you mean south.md"),
    ],
)
def test_an_unknown_doc_exits_2_naming_close_matches(two_councils, capsys, monkeypatch, argv, message):
    import rag.shells.cli as cli

    monkeypatch.setattr(cli, "_open", lambda args, create=False: two_councils)
    monkeypatch.setattr("sys.stdin", io.StringIO("Who chairs the council?\n"))
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.out == ""


def test_cli_chat_doc_keeps_the_scope_for_follow_ups(two_councils, capsys, monkeypatch):
    import rag.shells.cli as cli

    monkeypatch.setattr(cli, "_open", lambda args, create=False: two_councils)
    monkeypatch.setattr("sys.stdin", io.StringIO("Who chairs the council?\nWhen was the chair elected?\n"))
    assert main(["chat", "--doc", "south.md"]) == 0
    out = capsys.readouterr().out
    assert "within Southern Council Minutes" in out
    assert "Tomas Reyes" in out and "Mara Quell" not in out and "2021" in out


@pytest.mark.real
def test_a_scoped_question_cites_only_the_chosen_document_with_the_real_models(real_rag_over):
    rag = real_rag_over(
        {
            "north.txt": ("Northern Council Report", "The council meets every Tuesday in Brussels to review the harbour budget. Its chair is Mara Quell."),
            "south.txt": ("Southern Council Minutes", "The council meets every Thursday in Lisbon to review the harbour budget. Its chair is Tomas Reyes."),
        }
    )
    for name, title, day in (("north.txt", "Northern Council Report", "Tuesday"), ("south.txt", "Southern Council Minutes", "Thursday")):
        answer = rag.ask("On which day does the council meet?", documents=[name])
        assert not answer.abstained
        assert cited_titles(answer) == {title}
        assert day in answer.answer


def test_a_list_answer_takes_the_items_that_follow_its_head():
    from rag.ask.lists import asks_for_list, list_items
    from rag.ask.types import Evidence, Hit
    from rag.types import Sentence

    texts = [
        "Our reader is a small transformer trained on harbour logs.",
        "We evaluate it on three question answering datasets.",
        "The first is SQuAD, built from Wikipedia articles.",
        "The second is NewsQA, built from CNN news articles.",
        "The third is TriviaQA, which pairs trivia with evidence.",
        "Training took two days on eight GPUs.",
    ]
    hits, start = [], 0
    for i, text in enumerate(texts):
        hits.append(Hit(Sentence(f"s{i}", "d", i, start, start + len(text), text), 0.0))
        start += len(text) + 1
    relevance = {"s0": 0.01, "s2": 0.2, "s3": 0.1, "s4": 0.1, "s5": 0.02}
    judge = lambda found: [Evidence(h, relevance[h.sentence.sentence_id], relevance=relevance[h.sentence.sentence_id]) for h in found]  # noqa: E731
    best = Evidence(hits[1], 0.9, relevance=0.9)
    around = [h for h in hits if h is not hits[1]]
    assert asks_for_list("Which three QA datasets are examined?") and asks_for_list("What are their evaluation metrics?")
    assert not asks_for_list("How long did training take?")
    items = list_items(best, around, judge, threshold=0.5, cap=4)
    assert [e.hit.sentence.sentence_id for e in items] == ["s1", "s2", "s3", "s4"]
    assert [e.hit.sentence.sentence_id for e in list_items(best, around, judge, threshold=0.5, cap=3)] == ["s1", "s2", "s3"]
    assert [e.hit.sentence.sentence_id for e in list_items(best, around, judge, 0.5, 4, follow_items=False)] == ["s1"]


@pytest.mark.real
def test_a_list_question_cites_the_lists_items_with_the_real_models(real_rag_over):
    rag = real_rag_over(
        {
            "paper.txt": (
                "Reading Harbour Logs",
                "Our model is a small transformer reader trained on harbour logs. "
                "We evaluate it on three question answering datasets. "
                "The first is SQuAD, a reading comprehension dataset built from Wikipedia articles. "
                "The second is NewsQA, which was built from CNN news articles. "
                "The third is TriviaQA, which pairs trivia questions with evidence documents. "
                "Training took two days on eight GPUs.",
            )
        }
    )
    answer = rag.ask("Which three QA datasets are examined?")
    assert not answer.abstained, answer.answer
    quotes = " ".join(c.quote for c in answer.citations)
    assert all(name in quotes for name in ("SQuAD", "NewsQA", "TriviaQA")) and "GPUs" not in quotes
    assert [c.start for c in answer.citations] == sorted(c.start for c in answer.citations)
    assert {"SQuAD", "NewsQA", "TriviaQA"} <= {s.text for s in answer.short_answers}
    assert answer.short_answer == answer.short_answers[0]
    training = rag.ask("How long did training take?")
    assert not training.abstained, training.answer
    assert len(training.citations) == 1
