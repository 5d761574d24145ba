"""The OpenAI-compatible endpoint (``--llm-url``) against a fake server on loopback: ordinary
streaming works, and whatever goes wrong, an error sent in the middle of a stream included,
reaches the user as one line."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fakes import TREATY

from rag.errors import ModelError
from rag.models.llm import openai_compatible_llm
from rag.shells.cli import main

ANSWER = ["In Washington, the treaty", " was signed on 4 April 1949 [1]."]


class FakeServer(BaseHTTPRequestHandler):
    """``POST /v1/chat/completions`` streamed as server-sent events, as the ``mode`` says."""

    mode = "ok"
    requests: list[dict] = []

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, **body})
        if self.mode == "status":
            payload = json.dumps({"error": {"message": "model 'nope' not loaded\ntry another"}}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        prompt = body["messages"][-1]["content"]
        pieces = ["yes"] if "Answer only yes or no" in prompt else ANSWER
        for n, piece in enumerate(pieces):
            if self.mode == "error" and n == 1:
                error = {"error": {"message": "out of memory\nwhile decoding", "type": "server_error"}}
                self._event(error)
                return
            self._event({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        self.wfile.write(b"data: [DONE]\n\n")

    def _event(self, data: dict) -> None:
        self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


@pytest.fixture
def server():
    FakeServer.mode = "ok"
    FakeServer.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_streams_the_deltas_in_order(server):
    llm = openai_compatible_llm(server, "fake-model", max_tokens=32)
    responses = list(llm.stream_complete("When was the treaty signed?"))
    assert [r.delta for r in responses] == ANSWER
    assert responses[-1].text == "".join(ANSWER)
    assert llm.complete("When was the treaty signed?").text == "".join(ANSWER)
    request = FakeServer.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert (request["model"], request["max_tokens"], request["stream"]) == ("fake-model", 32, True)
    assert request["messages"] == [{"role": "user", "content": "When was the treaty signed?"}]


def test_a_base_url_ending_in_v1_is_not_doubled(server):
    list(openai_compatible_llm(server + "/v1/", "m", max_tokens=8).stream_complete("q"))
    assert FakeServer.requests[0]["path"] == "/v1/chat/completions"


@pytest.mark.parametrize(
    "mode, message",
    [
        ("error", "LLM server at {url} sent an error while answering: out of memory while decoding"),
        ("status", "LLM server at {url} answered 404: "),
    ],
)
def test_server_errors_are_one_line_model_errors(server, mode, message):
    FakeServer.mode = mode
    with pytest.raises(ModelError) as error:
        list(openai_compatible_llm(server, "m", max_tokens=8).stream_complete("q"))
    assert str(error.value).startswith(message.format(url=server)), error.value
    assert "\n" not in str(error.value)


def test_an_unreachable_server_is_a_clear_error():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(ModelError, match="cannot reach the LLM server at .*; start it or fix --llm-url"):
        list(openai_compatible_llm(url, "m", max_tokens=8).stream_complete("q"))


@pytest.fixture
def treaty_store(cli_workdir, capsys):
    docs = cli_workdir / "docs"
    docs.mkdir()
    (docs / "treaty.txt").write_text(TREATY)
    assert main(["ingest", str(docs), "--store", str(cli_workdir / "store")]) == 0
    capsys.readouterr()
    return cli_workdir / "store"


def _ask(store, url, capsys):
    code = main(["ask", "When was the treaty signed in Washington?", "--store", str(store),
                 "--answerer", "llm", "--llm-url", url, "--llm-model", "fake", "--json"])
    return code, *capsys.readouterr()


def test_rag_ask_streams_an_answer_from_the_endpoint(treaty_store, server, capsys):
    code, out, err = _ask(treaty_store, server, capsys)
    assert code == 0, err
    answer = json.loads(out.splitlines()[-1])
    assert not answer["abstained"], answer
    assert answer["sentences"][0]["text"] == "In Washington, the treaty was signed on 4 April 1949."  # the model's words
    assert any("Answer only yes or no" in r["messages"][0]["content"] for r in FakeServer.requests)  # the judge too
    assert [c["quote"] for c in answer["citations"]] == ["The treaty was signed in Washington on 4 April 1949."]


def test_rag_ask_reports_an_error_sent_mid_stream_as_one_line(treaty_store, server, capsys):
    FakeServer.mode = "error"
    code, out, err = _ask(treaty_store, server, capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        f"rag: error: LLM server at {server} sent an error while answering: out of memory while decoding"
    ]
    assert "Traceback" not in err
