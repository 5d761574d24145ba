"""The shared-store mode: the same CLI scenario against an embedded folder and a real
``chroma run`` server; a server that is down or silent fails fast with one line."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from chroma_server import chroma_server, chroma_url, free_port  # noqa: F401  (fixtures)
from fakes import TALKS, TREATY, HashingEmbedder

from rag.shells.cli import main
from rag.config import Settings

pytestmark = pytest.mark.server

FINGERPRINT = Settings().fingerprint()


@pytest.fixture
def workdir(cli_workdir):
    """The CLI working folder with two small documents in docs/."""
    tmp_path = cli_workdir
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "treaty.txt").write_text(TREATY)
    (docs / "talks.md").write_text(TALKS)
    return tmp_path


@pytest.fixture(params=["embedded", "server"])
def store_flags(request, workdir):
    """``--store DIR`` or ``--store-url URL`` of a live, empty ``chroma run``."""
    if request.param == "server":
        return ["--store-url", request.getfixturevalue("chroma_url")]
    return ["--store", str(workdir / "store")]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def run_json(capsys, *argv: str) -> dict | list:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def server_counts(url: str) -> dict[str, int]:
    """Entries per rag collection, read straight from the server (not through rag)."""
    import chromadb

    port = int(url.rsplit(":", 1)[1])
    client = chromadb.HttpClient(host="127.0.0.1", port=port)
    names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    return {name: client.get_collection(name).count() for name in names}


def test_same_scenario_in_embedded_and_server_mode(workdir, store_flags, capsys):
    docs = workdir / "docs"
    first = run_json(capsys, "ingest", str(docs), *store_flags)
    assert sorted(Path(p).name for p in first["added"]) == ["talks.md", "treaty.txt"]
    assert first["documents"] == 2 and first["sentences"] == 5 and first["skipped"] == []

    again = run_json(capsys, "ingest", str(docs), *store_flags)
    assert again["added"] == again["updated"] == [] and len(again["unchanged"]) == 2
    assert (again["documents"], again["sentences"], again["chunks"]) == (
        first["documents"], first["sentences"], first["chunks"]
    )

    answer = run_json(capsys, "ask", "When was the treaty signed in Washington?", *store_flags)
    assert not answer["abstained"] and "4 April 1949" in answer["answer"]
    assert answer["citations"]
    for citation in answer["citations"]:
        assert Path(citation["path"]).read_text("utf-8")[citation["start"] : citation["end"]] == citation["quote"]
    assert all(s["supported"] and s["citations"] for s in answer["sentences"])

    (docs / "treaty.txt").write_text(TREATY.replace("4 April 1949", "5 May 1950"))
    edited = run_json(capsys, "ingest", str(docs), *store_flags)
    assert [Path(p).name for p in edited["updated"]] == ["treaty.txt"] and len(edited["unchanged"]) == 1
    answer = run_json(capsys, "ask", "When was the treaty signed in Washington?", *store_flags)
    assert "5 May 1950" in answer["answer"] and "1949" not in answer["answer"]
    quote = answer["citations"][0]
    assert (docs / "treaty.txt").read_text("utf-8")[quote["start"] : quote["end"]] == quote["quote"]

    (docs / "talks.md").unlink()
    pruned = run_json(capsys, "ingest", str(docs), "--prune", *store_flags)
    assert [Path(p).name for p in pruned["removed"]] == ["talks.md"] and pruned["documents"] == 1
    sources = run_json(capsys, "sources", *store_flags)
    assert [Path(s["path"]).name for s in sources] == ["treaty.txt"]

    if store_flags[0] == "--store-url":
        counts = server_counts(store_flags[1])
        assert counts[f"rag-{FINGERPRINT}-documents"] == 1
        assert counts[f"rag-{FINGERPRINT}-sentences"] == pruned["sentences"]
        assert not (workdir / ".rag-store").exists() and not (workdir / "store").exists()
    else:
        assert (workdir / "store" / "chroma.sqlite3").is_file()


def test_rag_store_url_environment_selects_the_server(workdir, chroma_url, capsys, monkeypatch):
    monkeypatch.setenv("RAG_STORE_URL", chroma_url)
    report = run_json(capsys, "ingest", str(workdir / "docs"))
    assert report["documents"] == 2
    assert not (workdir / ".rag-store").exists()  # the embedded default was not used
    assert server_counts(chroma_url)[f"rag-{FINGERPRINT}-documents"] == 2
    monkeypatch.delenv("RAG_STORE_URL")
    assert len(run_json(capsys, "sources", "--store-url", chroma_url)) == 2


def test_reading_commands_on_an_empty_server_say_to_ingest(workdir, chroma_url, capsys):
    code, _, err = run(capsys, "ask", "When was the treaty signed?", "--store-url", chroma_url)
    assert code == 2
    assert err.strip().splitlines() == ["rag: error: the store has no index for these settings yet; build it: rag ingest PATH"]
    assert server_counts(chroma_url) == {}  # asking created nothing on the server


def test_down_server_fails_with_one_line(workdir, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = run(capsys, "ask", "When was the treaty signed?", "--store-url", url)
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith(f"rag: error: cannot reach the Chroma server at {url} (")
    assert line.endswith("start it with: chroma run --path DIR --host 127.0.0.1 --port PORT")


def test_silent_server_that_never_answers_fails_with_one_line(workdir, capsys):
    with socket.socket() as listener:  # accepts connections (kernel backlog) but never replies
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        code, _, err = run(capsys, "ingest", str(workdir / "docs"), "--store-url", url)
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(f"rag: error: cannot reach the Chroma server at {url} (")


CHILD = """
import sys
sys.path.insert(0, {tests!r})
from fakes import HashingEmbedder
from rag.config import Settings
from rag.api import Rag

import time
from pathlib import Path

url, folder, halfway, resume = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])


def progress(done, total, path):
    print("progress", done, total, flush=True)
    if done == total // 2:  # hold the ingest open, half stored, until the parent has asked in it
        halfway.touch()
        deadline = time.monotonic() + 120
        while not resume.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


rag = Rag(Settings(store_url=url), embedder=HashingEmbedder())
report = rag.ingest([folder], progress=progress)
print("FINISHED", report.documents, flush=True)
"""
CITIES = "Lisbon Ghent Tallinn Bergen Trieste Krakow Porto Lyon Turku Split Graz Aarhus".split()


def test_asks_during_an_ingest_by_another_process_cite_verbatim(workdir, chroma_url, tmp_path):
    import statistics
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from rag.api import Rag

    docs = workdir / "docs"
    settings = Settings(store_url=chroma_url, abstain_threshold=0.35)
    Rag(settings, embedder=HashingEmbedder()).ingest([docs])
    more = workdir / "more"
    more.mkdir()
    for i in range(40):
        city = CITIES[i % len(CITIES)]
        (more / f"report-{i:02d}.txt").write_text(
            f"Title: Report {i}\n-----\n"
            + "".join(f"In {1900 + j} the harbour of {city} recorded {i * 100 + j} ships in report {i}.\n" for j in range(10))
        )
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).resolve().parent)))
    halfway, resume = tmp_path / "halfway", tmp_path / "resume"
    child = subprocess.Popen(
        [sys.executable, str(script), chroma_url, str(more), str(halfway), str(resume)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    questions = [
        "When was the treaty signed in Washington?",
        "What did Pistorius warn about?",
        "How many ships did the harbour of Ghent record in report 13?",
        "What does Article 9 establish?",
        "How many ships did the harbour of Lisbon record in 1903?",
        "Who urged caution about the guarantees?",
        "What shall be considered an attack against them all?",
        "How many ships did the harbour of Porto record in report 6?",
    ]
    latencies, answers, rounds, during = [], [], 0, 0

    def timed_ask(rag, question):
        started = time.perf_counter()
        answer = rag.ask(question)
        return time.perf_counter() - started, answer

    try:
        deadline = time.monotonic() + 120
        while not halfway.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        while rounds < 3 or (child.poll() is None and rounds < 12):
            running = child.poll() is None
            rag = Rag(settings, embedder=HashingEmbedder())  # a fresh index sees what is stored by now
            rag.ask(questions[0])
            with ThreadPoolExecutor(8) as pool:
                for seconds, answer in pool.map(lambda q: timed_ask(rag, q), questions):
                    latencies.append(seconds)
                    answers.append(answer)
            rounds += 1
            during += running and child.poll() is None
            resume.touch()  # the first round ran inside the held-open ingest; let it finish under the next
        out, err = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == 0, err[-2000:]
    assert "FINISHED 42" in out
    assert halfway.exists(), "the ingest never reached its half"

    for answer in answers:
        for citation in answer.citations:
            assert Path(citation.path).read_text("utf-8")[citation.start : citation.end] == citation.quote
            assert citation.verified
        assert answer.abstained or all(s.supported for s in answer.sentences)
    assert during >= 1, "no round of asks overlapped the ingest"
    assert sum(not a.abstained for a in answers) >= 3 * 4
    final = Rag(settings, embedder=HashingEmbedder()).ask("How many ships did the harbour of Ghent record in report 13?")
    assert not final.abstained and "the harbour of Ghent recorded 13" in final.answer and "in report 13." in final.answer

    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(f"\n8 concurrent asks x {rounds} rounds ({during} wholly during the ingest): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")


def test_server_that_stops_answering_mid_session_fails_the_call_not_the_process(workdir, tmp_path):
    """The server freezes (SIGSTOP) after the client connected: each call fails within the
    store timeout with a StoreError, and works again once the server resumes."""
    import signal

    from chroma_server import ChromaServer

    from rag.errors import StoreError
    from rag.api import Rag

    server = ChromaServer(tmp_path / "frozen-db").start()
    try:
        rag = Rag(Settings(store_url=server.url, store_timeout=2), embedder=HashingEmbedder())
        rag.ingest([workdir / "docs"])
        question = "When was the treaty signed?"
        assert not rag.ask(question).abstained
        server.process.send_signal(signal.SIGSTOP)
        try:
            for call in (lambda: rag.ask(question), rag.is_empty, lambda: rag.ingest([workdir / "docs"])):
                with pytest.raises(StoreError, match=r"stopped answering \(ReadTimeout after at most 2 s\)"):
                    call()
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert not rag.ask(question).abstained  # the same client works again: nothing was lost
        assert len(rag.sources()) == 2
    finally:
        server.stop()
