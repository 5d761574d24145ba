"""The whole pipeline on a tmp store with the hashing embedder: ingest idempotence, edits,
prune, bad files, cited answers with exact offsets, abstention."""

from pathlib import Path

import pytest
from fakes import TALKS, TREATY

from rag.errors import InputError, StoreError
from rag.ask.types import Turn


@pytest.fixture
def folder(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "treaty.txt").write_text(TREATY)
    (docs / "talks.md").write_text(TALKS)
    return docs


def test_ingest_twice_changes_nothing(fake_rag, folder):
    first = fake_rag.ingest([folder])
    assert len(first.added) == 2 and first.documents == 2
    counts = fake_rag.store.counts()
    second = fake_rag.ingest([folder])
    assert second.added == () and second.updated == () and len(second.unchanged) == 2
    assert fake_rag.store.counts() == counts
    assert second.to_json().keys() == {
        "added", "updated", "unchanged", "moved", "copies", "removed", "skipped", "missing", "documents", "sentences",
        "chunks", "tokens_embedded",
    }


def test_changed_file_replaces_its_entries_and_prune_removes_deleted(fake_rag, folder):
    fake_rag.ingest([folder])
    (folder / "treaty.txt").write_text(TREATY.replace("4 April 1949", "5 May 1950"))
    report = fake_rag.ingest([folder])
    assert [Path(p).name for p in report.updated] == ["treaty.txt"]
    texts = [s.text for s in fake_rag.store.all_sentences()]
    assert "The treaty was signed in Washington on 5 May 1950." in texts
    assert not any("1949" in t for t in texts)
    (folder / "talks.md").unlink()
    assert fake_rag.ingest([folder]).removed == ()  # without --prune nothing is removed
    pruned = fake_rag.ingest([folder], prune=True)
    assert [Path(p).name for p in pruned.removed] == ["talks.md"]
    assert {s.path for s in fake_rag.sources()} == {str((folder / "treaty.txt").resolve())}
    assert fake_rag.store.delete_orphans() == 0


def test_bad_file_is_skipped_with_reason_and_the_rest_ingests(fake_rag, folder):
    (folder / "broken.txt").write_bytes(b"\x00\xff\x00binary")
    (folder / "empty.md").write_text("")
    report = fake_rag.ingest([folder])
    assert len(report.added) == 2
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons.keys() == {"broken.txt", "empty.md"}
    assert "binary" in reasons["broken.txt"] and "empty" in reasons["empty.md"]


def test_answer_cites_exact_offsets_and_verifies(fake_rag, folder):
    fake_rag.ingest([folder])
    answer = fake_rag.ask("When was the treaty signed in Washington?")
    assert not answer.abstained
    assert answer.citations
    for citation in answer.citations:
        assert Path(citation.path).read_text("utf-8")[citation.start : citation.end] == citation.quote
        assert citation.verified
    assert all(s.supported and s.citations for s in answer.sentences)
    assert "4 April 1949" in answer.answer
    payload = answer.to_json()
    assert set(payload) == {
        "question", "answer", "abstained", "citations", "sentences", "warnings", "short_answer", "short_answers", "verdict", "partial", "confidence", "scope", "analysis"
    }
    assert set(payload["citations"][0]) == {"label", "doc_id", "path", "title", "start", "end", "quote", "page", "section"}


def test_unrelated_question_abstains_with_closest_evidence(fake_rag, folder):
    fake_rag.ingest([folder])
    answer = fake_rag.ask("Who won the football world cup final?")
    assert answer.abstained
    assert answer.citations == ()
    assert answer.answer.startswith("The documents do not say")


def test_follow_up_uses_the_conversation(fake_rag, folder):
    fake_rag.ingest([folder])
    answer = fake_rag.ask("What did he warn about?", history=[Turn("Who is Boris Pistorius?", "")])
    assert "Pistorius" in answer.retrieval_query
    assert not answer.abstained
    assert any("warned" in c.quote for c in answer.citations)


def test_file_edited_after_ingest_is_detected_in_citations(fake_rag, folder):
    fake_rag.ingest([folder])
    path = folder / "treaty.txt"
    path.write_text("Completely different text now. Nothing about treaties.\n")
    answer = fake_rag.ask("When was the treaty signed in Washington?")
    assert answer.abstained  # the only supporting quote no longer matches its file
    assert f"{path.resolve()} (changed since ingest)" in answer.answer and "rag ingest" in answer.answer


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01", "?!...", "x" * 10_000])
def test_bad_questions_raise_input_error(fake_rag, folder, question):
    fake_rag.ingest([folder])
    with pytest.raises(InputError):
        fake_rag.ask(question)


def test_asking_an_empty_store_says_to_ingest(fake_rag):
    with pytest.raises(StoreError, match="rag ingest"):
        fake_rag.ask("anything at all?")


def test_an_embedding_model_that_is_not_there_is_named(tmp_path):
    from rag.config import Settings
    from rag.errors import ModelError
    from rag.api import Rag

    rag = Rag(Settings(store_dir=tmp_path / "store", embedding_model=str(tmp_path / "no-model")))
    with pytest.raises(ModelError, match="neither all-MiniLM-L6-v2 nor a folder holding a sentence-transformers model"):
        rag.embedder


def test_the_shell_exits_with_the_error_s_own_code(capsys):
    from rag.errors import RagError
    from rag.shells.terminal import run_guarded

    class Refused(RagError):
        exit_code = 3

    def body():
        raise Refused("refused; do something else")

    assert run_guarded("rag", body) == 3
    assert capsys.readouterr().err == "rag: error: refused; do something else\n"
