"""The web UI asks within chosen documents: the picker's choices, an upload chosen for you, the
chat keeping its scope, and ``documents`` on the /ask API (a fake embedder, a real store)."""

import json
import socket
import sys
from pathlib import Path

import pytest
from fakes import HashingEmbedder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app  # noqa: E402  (app.py lives at the repo root)
from rag.config import Settings  # noqa: E402
from rag.api import Rag  # noqa: E402
from rag.shells.web.chat import ask_turn, document_choices  # noqa: E402

NORTH = "Title: Northern Council Report\n-----\nThe council meets every Tuesday in Brussels.\nIts chair is Mara Quell.\n"
SOUTH = "Title: Southern Council Minutes\n-----\nThe council meets every Thursday in Lisbon.\nIts chair is Tomas Reyes.\n"


@pytest.fixture(scope="module")
def rag(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scoped-app")
    (folder / "north.txt").write_text(NORTH)
    (folder / "south.txt").write_text(SOUTH)
    instance = Rag(Settings(store_dir=folder / "store", abstain_threshold=0.35, reranker="features"), embedder=HashingEmbedder())
    instance.ingest([folder / "north.txt", folder / "south.txt"])
    return instance


def titles(answer):
    return {c.title for c in answer.citations}


def test_the_picker_lists_every_document_by_title_and_file(rag):
    choices = document_choices(rag.sources())
    assert [label for label, _ in choices] == ["Northern Council Report (north.txt)", "Southern Council Minutes (south.txt)"]
    assert {doc_id for _, doc_id in choices} == {s.doc_id for s in rag.sources()}


def test_the_chat_keeps_its_chosen_documents_for_follow_ups(rag):
    south = next(doc_id for label, doc_id in document_choices(rag.sources()) if label.startswith("Southern"))
    turns = ask_turn(rag, [], "When does the council meet?", None, [south])
    turns = ask_turn(rag, turns, "Who chairs it?", None, [south])
    assert [titles(t.answer) for t in turns] == [{"Southern Council Minutes"}] * 2
    assert "Tomas Reyes" in turns[1].answer.answer


def test_an_upload_is_chosen_in_the_picker(rag, tmp_path):
    demo = app.build_ui(rag)
    on_upload = next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "on_upload")
    upload = tmp_path / "orchard.md"
    upload.write_text("# Orchard\n\nThe Brambleford orchard harvested 412 crates of quince in 2023.\n")
    *_, picker, cleared = on_upload([str(upload)], progress=lambda *a, **k: None)
    orchard = next(s.doc_id for s in rag.sources() if s.path.endswith("orchard.md"))
    assert picker["value"] == [orchard]
    assert orchard in {doc_id for _, doc_id in picker["choices"]}
    assert cleared is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_api_ask_takes_documents(rag):
    from gradio_client import Client

    demo = app.build_ui(rag)
    demo.queue()
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, share=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        scoped = json.loads(client.predict("Who chairs the council?", ["north.txt"], api_name="/ask"))
        assert {c["title"] for c in scoped["citations"]} == {"Northern Council Report"}
        assert [s["title"] for s in scoped["scope"]] == ["Northern Council Report"]
        assert json.loads(client.predict("Who chairs the council?", api_name="/ask"))["scope"] == []
        with pytest.raises(Exception, match="no document matches 'nort.txt'; did you mean north.txt"):
            client.predict("Who chairs the council?", ["nort.txt"], api_name="/ask")
    finally:
        demo.close()
