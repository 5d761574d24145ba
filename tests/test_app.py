"""The web UI's shell logic (app.py) and its /ask API, on a real store with a fake embedder.

The embedder is the deterministic hashing fake (tests/fakes.py): retrieval quality is not the
point here, the shell is (history, errors, uploads, concurrency, the exact JSON of /ask).
"""

import json
import re
import socket
import sys
from pathlib import Path

import pytest
from fakes import HashingEmbedder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app  # noqa: E402  (app.py lives at the repo root)
from rag.config import Settings  # noqa: E402
from rag.errors import ConfigError, RagError  # noqa: E402
from rag.api import Rag  # noqa: E402
from rag.types import IngestReport  # noqa: E402
from rag.ingest.uploads import safe_name, upload_folder  # noqa: E402

SEED = ROOT / "corpus" / "seed-article.txt"
NOTE = """Title: Vellmouth harbour notes (test fixture)
Source: written for the rag UI tests
Licence: CC0-1.0
-----
Edda Quill is the harbour master of Vellmouth.
Harbour master Edda Quill warned that the old pier would collapse in the next winter storm.
The Vellmouth lighthouse keeper logs the weather every four hours.
"""


@pytest.fixture(scope="module")
def rag(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app")
    note = folder / "vellmouth.txt"
    note.write_text(NOTE, encoding="utf-8")
    settings = Settings(store_dir=folder / "store", corpus=(str(SEED), str(note)))
    instance = Rag(settings, embedder=HashingEmbedder())
    report = app.ensure_index(instance, log=lambda line: None)
    assert report is not None and report.documents == 2
    return instance


# ---- start-up --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv,env,host,port,store",
    [
        ([], {}, "127.0.0.1", 7860, None),
        (["--host", "0.0.0.0", "--port", "8000"], {}, "0.0.0.0", 8000, None),
        ([], {"RAG_HOST": "::1", "RAG_PORT": "9000"}, "::1", 9000, None),
        (["--port", "8001"], {"RAG_PORT": "9000"}, "127.0.0.1", 8001, None),
        (["--store", "elsewhere"], {"RAG_STORE": "ignored-here"}, "127.0.0.1", 7860, "elsewhere"),
    ],
)
def test_host_port_and_store_from_flags_or_env(argv, env, host, port, store):
    args = app.parse_args(argv, environ=env)
    assert (args.host, args.port, args.store) == (host, port, store)


@pytest.mark.parametrize(
    "argv,env,message",
    [
        (["--port", "abc"], {}, "argument --port: invalid int value: 'abc'; see: app.py --help"),
        ([], {"RAG_PORT": "http"}, "RAG_PORT='http' is not a number; set a port such as 7860"),
        (["--port", "70000"], {}, "port 70000 is out of range; use 1-65535"),
        ([], {"RAG_PORT": "0"}, "port 0 is out of range; use 1-65535"),
        (["--share"], {}, "unrecognized arguments: --share; see: app.py --help"),
    ],
)
def test_bad_arguments_name_the_fix(argv, env, message):
    with pytest.raises(ConfigError) as error:
        app.parse_args(argv, environ=env)
    assert str(error.value) == message


def test_main_reports_a_bad_flag_on_one_line(capsys):
    assert app.main(["--port", "0"]) == 2
    assert capsys.readouterr().err == "rag-app: error: port 0 is out of range; use 1-65535\n"


class _EmptyRag:
    def __init__(self, empty: bool):
        self.settings = Settings(store_dir=Path("unused"), corpus=("a", "b"))
        self.empty = empty
        self.ingested = None

    def is_empty(self) -> bool:
        return self.empty

    def ingest(self, paths, progress=None):
        self.ingested = list(paths)
        progress(0, 1, "a/x.txt")
        progress(1, 1, "")
        return IngestReport(added=("a/x.txt",), documents=1, sentences=2, chunks=1)


def test_first_start_builds_the_configured_corpus():
    lines = []
    empty = _EmptyRag(empty=True)
    assert app.ensure_index(empty, log=lines.append).documents == 1
    assert empty.ingested == ["a", "b"]
    assert "indexing 1/1 x.txt" in " ".join(lines)
    full = _EmptyRag(empty=False)
    assert app.ensure_index(full, log=lines.append) is None and full.ingested is None


# ---- chat ------------------------------------------------------------------------------------


def test_answer_turn_and_follow_up_use_the_conversation(rag):
    turns = app.ask_turn(rag, [], "Who is Edda Quill?", "extractive")
    assert turns[0].answer is not None and not turns[0].error
    turns = app.ask_turn(rag, turns, "What did she warn about?", "extractive")
    follow_up = turns[1].answer
    assert "Edda Quill" in follow_up.retrieval_query
    assert not follow_up.abstained and "pier" in follow_up.answer


def test_errors_become_turns_and_stay_out_of_the_history(rag):
    turns = app.ask_turn(rag, [], "   ?  ", None)
    assert turns[0].answer is None
    assert turns[0].error == "the question has no words; type a question"
    seen = []

    class Spy:
        settings = rag.settings

        def ask(self, question, history, answerer=None):
            seen.append(list(history))
            return rag.ask(question, history, answerer=answerer)

    app.ask_turn(Spy(), turns, "Who is Edda Quill?", None)
    assert seen == [[]]


def test_unexpected_errors_show_a_short_line_and_log_the_traceback(capsys):
    class Broken:
        settings = Settings(store_dir=Path("unused"))

        def ask(self, *args, **kwargs):
            raise ValueError("boom")

    turns = app.ask_turn(Broken(), [], "What did Pistorius warn about?", None)
    assert turns[0].error == "internal error (ValueError); the details are in the server log"
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: boom" in err


def test_answerer_choice(rag):
    names = app.answerer_names()
    assert rag.settings.answerer in names and "extractive" in names
    assert app.choose_answerer(rag, "extractive") is None  # the configured one: the core's own
    with pytest.raises(RagError):
        app.choose_answerer(rag, "no-such-answerer")
    turns = app.ask_turn(rag, [], "Who is Edda Quill?", "no-such-answerer")
    assert "unknown answerer 'no-such-answerer'" in turns[0].error


def test_render_chat_pairs_questions_with_answers_or_errors(rag):
    turns = app.ask_turn(rag, [], "Who is Edda Quill?", None)
    turns = app.ask_turn(rag, turns, "?", None)
    messages = app.render_chat(turns, max_sources=3, pending="<next>")
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    assert "#rag-cite-0-1" in messages[1]["content"]
    assert "Could not answer" in messages[3]["content"]
    assert "&lt;next&gt;" in messages[4]["content"] and "Searching" in messages[5]["content"]


def test_citation_opens_the_document_at_its_offsets(rag):
    turns = app.ask_turn(rag, [], "Who is Edda Quill?", None)
    citation = turns[0].answer.citations[0]
    page = app.open_source(rag, turns, "cite", 0, citation.label)
    inner = re.sub(r'<mark class="rag-answer-span"[^>]*>(.*?)</mark>', r"\1", page, flags=re.S)  # the short answer
    marked = re.search(r'<mark id="rag-hit" class="rag-hit">(.*?)</mark>', inner, re.S).group(1)
    assert marked == citation.quote == rag.document(citation.doc_id).text[citation.start : citation.end]
    assert "Vellmouth harbour notes (test fixture)" in page and "CC0-1.0" in page


def test_closest_evidence_opens_too(rag):
    answer = rag.ask("What is the airspeed of an unladen swallow?")
    assert answer.abstained and answer.evidence
    turns = [app.ChatTurn(answer.question, answer)]
    page = app.open_source(rag, turns, "ev", 0, 0)
    sentence = answer.evidence[0].sentence
    assert f">{sentence.text.replace('&', '&amp;')}</mark>" in page.replace("&#x27;", "'")
    assert "Closest evidence 1 (not an answer)" in page


@pytest.mark.parametrize(
    "kind,turn,index,message",
    [
        ("cite", 5, 1, "no longer in this chat"),
        ("cite", 0, 99, "Citation [99] is not part of that answer"),
        ("ev", 0, 99, "not part of the answer"),
        ("other", 0, 1, "not part of the answer"),
    ],
)
def test_stale_or_bad_links_give_a_notice(rag, kind, turn, index, message):
    turns = app.ask_turn(rag, [], "Who is Edda Quill?", None)
    assert message in app.open_source(rag, turns, kind, turn, index)


# ---- uploads ---------------------------------------------------------------------------------


def test_upload_adds_good_files_and_drops_bad_ones_without_losing_anything(rag, tmp_path):
    folder = upload_folder(rag.settings.store_dir)
    good = tmp_path / "orchard.md"
    good.write_text("# Orchard\n\nThe Brambleford orchard harvested 412 crates of quince in 2023.\n", encoding="utf-8")
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"\xff\xfe\x00\x00 utf-16")
    report = rag.ingest_uploads([str(good), str(bad)])
    assert [Path(p).name for p in report.added] == ["orchard.md"]
    assert [(Path(s.path).name, s.reason.split(";")[0]) for s in report.skipped] == [("broken.txt", "UTF-16 text")]
    assert sorted(p.name for p in folder.iterdir()) == ["orchard.md"]
    answer = rag.ask("How many crates of quince did the Brambleford orchard harvest?")
    assert not answer.abstained and "412 crates" in answer.answer

    # A broken file with the same name as an indexed one: the indexed file is put back.
    broken_twin = tmp_path / "twin" / "orchard.md"
    broken_twin.parent.mkdir()
    broken_twin.write_bytes(b"\x00\x01binary")
    report = rag.ingest_uploads([str(broken_twin)])
    assert report.skipped and not report.added and not report.updated
    assert (folder / "orchard.md").read_text(encoding="utf-8").startswith("# Orchard")
    assert sorted(p.name for p in folder.iterdir()) == ["orchard.md"]
    answer = rag.ask("How many crates of quince did the Brambleford orchard harvest?")
    assert answer.citations and answer.citations[0].verified

    # The same file again changes nothing.
    assert [Path(p).name for p in rag.ingest_uploads([str(good)]).unchanged] == ["orchard.md"]


@pytest.mark.parametrize(
    "given,expected",
    [("notes.txt", "notes.txt"), ("../../etc/passwd.md", "passwd.md"), (".hidden.txt", "hidden.txt"),
     ("my report (v2).pdf", "my-report-v2-.pdf"), ("...", "upload"), ("Ünïcode.md", "Ünïcode.md")],
)
def test_upload_names_are_plain(given, expected):
    assert safe_name(given) == expected


# ---- the /ask API through gradio_client ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(rag):
    demo = app.build_ui(rag)
    demo.queue()
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, share=False)
    yield demo, f"http://127.0.0.1:{port}/"
    demo.close()


def test_api_ask_returns_the_json_of_rag_ask(rag, served):
    from gradio_client import Client

    demo, url = served
    client = Client(url, verbose=False)
    for question in ("What did Pistorius warn about?", "Who is Edda Quill?", "What is the airspeed of a swallow?"):
        text = client.predict(question, api_name="/ask")
        expected = rag.ask(question).to_json()
        assert json.loads(text) == expected
        assert text == json.dumps(expected, ensure_ascii=False)  # byte for byte what `rag ask --json` prints
    assert json.loads(client.predict("What did Pistorius warn about?", api_name="/ask"))["citations"]


def test_api_ask_errors_carry_the_message_and_only_ask_is_public(served):
    from gradio_client import Client

    demo, url = served
    client = Client(url, verbose=False)
    with pytest.raises(Exception) as error:
        client.predict("   ", api_name="/ask")
    assert "the question is empty; type a question" in str(error.value)
    assert "Traceback" not in str(error.value)
    assert set(client.view_api(return_format="dict", print_info=False)["named_endpoints"]) == {"/ask"}
    assert demo.analytics_enabled is False and demo.share is False


def test_answers_do_not_wait_for_each_other(rag):
    """Gradio's queue runs up to ASK_CONCURRENCY answers at once: three asks are all inside
    ``ask`` together (each waits for the other two at a barrier, which breaks if they run one
    after another)."""
    import threading

    from gradio_client import Client

    together = threading.Barrier(3, timeout=20)

    class MeetingRag:
        settings = rag.settings

        def ask(self, question, history=(), answerer=None):
            together.wait()
            return rag.ask(question, history, answerer=answerer)

        def sources(self):
            return rag.sources()

    demo = app.build_ui(MeetingRag())
    demo.queue()
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        jobs = [client.submit(q, api_name="/ask") for q in ("Who is Edda Quill?", "What did Pistorius warn about?", "Who?")]
        results = [json.loads(job.result(timeout=60)) for job in jobs]
    finally:
        demo.close()
    assert [r["question"] for r in results] == ["Who is Edda Quill?", "What did Pistorius warn about?", "Who?"]
    assert not together.broken and app.ASK_CONCURRENCY >= 3
