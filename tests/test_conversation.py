from rag.ask.conversation import needs_context, retrieval_query
from rag.ask.types import Turn


def test_standalone_question_is_unchanged():
    history = [Turn("Who is Boris Pistorius?")]
    assert retrieval_query("When was the North Atlantic Treaty signed?", history) == (
        "When was the North Atlantic Treaty signed?"
    )


def test_pronoun_follow_up_takes_the_names_of_the_last_standalone_question():
    history = [Turn("Who is Boris Pistorius?"), Turn("What did he warn about?")]
    assert retrieval_query("And what did he stress?", history) == "Boris Pistorius — And what did he stress?"


def test_elliptic_questions_need_context():
    assert needs_context("And when?")
    assert needs_context("What about the talks there?")
    assert not needs_context("Who led the U.S. delegation in Berlin?")


def test_without_history_nothing_changes():
    assert retrieval_query("What did he warn about?", []) == "What did he warn about?"


def test_a_follow_up_naming_a_new_subject_changes_the_subject():
    history = [Turn("What did Pistorius warn about?")]
    assert retrieval_query("And what did Witkoff say?", history) == "And what did Witkoff say?"
    assert retrieval_query("What about Dmytro Lytvyn?", history) == "What about Dmytro Lytvyn?"
    # ... but one that refers back keeps the conversation's subject.
    assert retrieval_query("And what did he stress?", history) == "Pistorius — And what did he stress?"
    assert needs_context("And how much of that will the United States provide?")
