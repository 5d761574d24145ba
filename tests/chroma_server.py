"""A real ``chroma run`` server on a free loopback port, for tests of the shared-store mode.

``chroma_server`` starts one server per test module (starting takes seconds); ``chroma_url``
hands each test that server with every collection deleted first, so tests stay independent.
Import both fixtures into a test module to use them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMA = Path(sys.executable).with_name("chroma")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def heartbeat(url: str, timeout: float = 2.0) -> bool:
    """True when the server at ``url`` answers its heartbeat."""
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=timeout) as response:
            return "nanosecond heartbeat" in json.loads(response.read())
    except (OSError, ValueError):
        return False


class ChromaServer:
    """One ``chroma run --path DIR`` process; ``stop`` terminates it, then kills it."""

    def __init__(self, path: Path, port: int | None = None):
        self.path = Path(path)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.path.with_name(self.path.name + ".log")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> ChromaServer:
        """Start the server and wait until it answers its heartbeat (or fail with its log)."""
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.process.returncode}: {self.tail()}")
            if heartbeat(self.url):
                return self
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"chroma run gave no heartbeat within {timeout:.0f} s: {self.tail()}")

    def stop(self, grace: float = 10.0) -> None:
        """Terminate the server; kill it if it is still running after ``grace`` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(grace)

    def tail(self, chars: int = 2000) -> str:
        """The end of the server's log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A running ``chroma run`` on a free loopback port with a tmp --path (one per module)."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma") / "db").start()
    yield server
    server.stop()
    assert server.process.poll() is not None


@pytest.fixture
def chroma_url(chroma_server):
    """The module's server URL, emptied of every collection before the test."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.HttpClient(
        host="127.0.0.1", port=chroma_server.port, settings=ChromaSettings(anonymized_telemetry=False)
    )
    for collection in client.list_collections():
        client.delete_collection(collection if isinstance(collection, str) else collection.name)
    return chroma_server.url
