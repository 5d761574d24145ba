"""Moved, renamed, copied, deleted and edited files, with real files, in both store modes: the
store follows the documents by content, never embeds a moved file again, and never goes silent
about a file that is gone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from chroma_server import chroma_server, chroma_url, free_port  # noqa: F401  (fixtures)
from fakes import TALKS, TREATY, HashingEmbedder

from rag.config import Settings
from rag.api import Rag

PISTORIUS = "What did Pistorius warn about?"
TREATY_SIGNED = "When was the treaty signed in Washington?"


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting the chunks it embeds."""

    def __init__(self):
        self.chunks = 0

    def embed_chunks(self, inputs):
        self.chunks += len(inputs)
        return super().embed_chunks(inputs)


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def settings(request, tmp_path) -> Settings:
    if request.param == "server":
        return Settings(store_url=request.getfixturevalue("chroma_url"), store_dir=tmp_path / "unused", abstain_threshold=0.35)
    return Settings(store_dir=tmp_path / "store", abstain_threshold=0.35)


@pytest.fixture
def docs(tmp_path) -> Path:
    folder = tmp_path / "archive" / "docs"
    folder.mkdir(parents=True)
    (folder / "treaty.txt").write_text(TREATY)
    (folder / "talks.md").write_text(TALKS)
    return folder


def fresh(settings: Settings, embedder: CountingEmbedder) -> Rag:
    """A new process's view of the store."""
    return Rag(settings, embedder=embedder)


def test_a_moved_folder_is_followed_without_embedding_again(settings, docs, tmp_path):
    embedder = CountingEmbedder()
    Rag(settings, embedder=embedder).ingest([docs])
    embedded = embedder.chunks
    assert embedded > 0
    moved = tmp_path / "mounted" / "elsewhere"
    moved.parent.mkdir()
    shutil.move(str(docs), moved)

    rag = fresh(settings, embedder)
    report = rag.ingest([moved])
    assert embedder.chunks == embedded, "a moved file was embedded again"
    assert sorted(m.split(" -> ")[1] for m in report.moved) == sorted(str(p.resolve()) for p in moved.iterdir())
    assert not report.added and not report.updated and not report.missing
    assert report.documents == 2
    assert {s.path for s in rag.sources()} == {str(p.resolve()) for p in moved.iterdir()}

    answer = rag.ask(PISTORIUS)
    assert not answer.abstained and not answer.warnings
    assert answer.citations[0].path == str((moved / "talks.md").resolve()) and answer.citations[0].verified
    assert rag.ingest([moved]).unchanged and embedder.chunks == embedded


def test_a_renamed_file_keeps_its_vectors_and_takes_its_new_name(settings, docs):
    embedder = CountingEmbedder()
    rag = Rag(settings, embedder=embedder)
    rag.ingest([docs])
    embedded = embedder.chunks
    (docs / "talks.md").rename(docs / "berlin-talks.md")
    report = rag.ingest([docs])
    assert embedder.chunks == embedded
    assert report.moved == (f"{(docs / 'talks.md').resolve()} -> {(docs / 'berlin-talks.md').resolve()}",)
    answer = rag.ask(PISTORIUS)
    assert answer.citations[0].path.endswith("berlin-talks.md") and answer.citations[0].verified


def test_two_files_with_the_same_content_are_one_document_with_a_copy(settings, docs, tmp_path):
    embedder = CountingEmbedder()
    rag = Rag(settings, embedder=embedder)
    rag.ingest([docs])
    embedded = embedder.chunks
    twin = tmp_path / "twin.md"
    twin.write_text(TALKS)
    report = rag.ingest([docs, twin])
    assert report.copies == (str(twin.resolve()),) and embedder.chunks == embedded
    talks = next(s for s in rag.sources() if s.path.endswith("talks.md"))
    assert talks.copies == (str(twin.resolve()),)
    # The cited file is deleted: the copy still holds the quote, so it is cited from there.
    (docs / "talks.md").unlink()
    answer = fresh(settings, embedder).ask(PISTORIUS)
    assert not answer.abstained and answer.citations[0].path == str(twin.resolve()) and answer.citations[0].verified


def test_a_deleted_file_is_named_and_never_silences_the_others(settings, docs, capsys):
    embedder = CountingEmbedder()
    rag = Rag(settings, embedder=embedder)
    rag.ingest([docs])
    (docs / "talks.md").unlink()
    rag = fresh(settings, embedder)

    # The other file still answers its questions, verified.
    answer = rag.ask(TREATY_SIGNED)
    assert not answer.abstained and "4 April 1949" in answer.answer and answer.citations[0].verified
    # The question the deleted file answered names it and says how to fix it.
    answer = rag.ask(PISTORIUS)
    gone = str((docs / "talks.md").resolve())
    if answer.abstained:
        assert f"{gone} (missing)" in answer.answer and "rag ingest --prune" in answer.answer
    else:
        assert all(c.verified and c.path != gone for c in answer.citations)
        assert any(f"{gone} (missing)" in w for w in answer.warnings)

    report = rag.ingest([docs])
    assert report.missing == (gone,) and not report.removed
    assert [s.missing for s in rag.sources() if s.path == gone] == [True]
    assert rag.prune_missing() == [gone]
    assert [s.path for s in rag.sources()] == [str((docs / "treaty.txt").resolve())]
    assert rag.ask(PISTORIUS).abstained


def test_an_edited_file_is_named_and_its_stale_quote_never_verified(settings, docs):
    rag = Rag(settings, embedder=CountingEmbedder())
    rag.ingest([docs])
    (docs / "talks.md").write_text(TALKS.replace("He warned", "He said"))
    answer = fresh(settings, CountingEmbedder()).ask(PISTORIUS)
    assert not any(c.quote.startswith("He warned") and c.verified for c in answer.citations)
    assert "talks.md (changed since ingest)" in answer.answer + " ".join(answer.warnings)
    # Ingesting it again replaces the old content: the new sentence is cited, the old one is gone.
    report = rag.ingest([docs])
    assert [Path(p).name for p in report.updated] == ["talks.md"] and report.documents == 2
    assert not any("He warned" in s.text for s in rag.store.all_sentences())


def test_the_cli_reports_missing_files_and_marks_them(cli_workdir, capsys):
    import json

    from rag.shells.cli import main

    folder = cli_workdir / "docs"
    folder.mkdir()
    (folder / "treaty.txt").write_text(TREATY)
    (folder / "talks.md").write_text(TALKS)
    assert main(["ingest", str(folder)]) == 0
    (folder / "talks.md").unlink()
    capsys.readouterr()
    assert main(["ingest", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "1 indexed document(s) have no file any more" in err and "rag ingest --prune" in err
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert "(MISSING: the file is gone)" in out
    assert main(["sources", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted((Path(s["path"]).name, s["missing"]) for s in listed) == [("talks.md", True), ("treaty.txt", False)]
    assert main(["ingest", str(folder), "--prune", "--json"]) == 0
    assert [Path(p).name for p in json.loads(capsys.readouterr().out)["removed"]] == ["talks.md"]
