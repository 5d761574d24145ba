"""The web app refuses requests whose Host header names another site (DNS rebinding)."""

from __future__ import annotations

import http.client
import socket

import pytest
from fakes import HashingEmbedder

import app
from rag.config import Settings
from rag.api import Rag
from rag.shells.web.trusted_hosts import allowed_hosts, host_name


@pytest.mark.parametrize(
    "header,name",
    [("127.0.0.1:7860", "127.0.0.1"), ("LOCALHOST", "localhost"), ("[::1]:7860", "::1"), ("evil.example:80", "evil.example"), ("", "")],
)
def test_host_name_drops_the_port(header, name):
    assert host_name(header) == name


def test_allowed_hosts_are_loopback_and_the_configured_host():
    assert allowed_hosts("127.0.0.1") == {"127.0.0.1", "localhost", "::1"}
    assert allowed_hosts("0.0.0.0") == {"127.0.0.1", "localhost", "::1"}
    assert "rag.internal" in allowed_hosts("rag.internal")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, host: str, origin: str | None = None, method: str = "GET", extra=None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": host, **({"Origin": origin} if origin else {}), **(extra or {})}
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def test_foreign_host_is_refused_before_any_route(tmp_path):
    rag = Rag(Settings(store_dir=tmp_path / "store", reranker="features"), embedder=HashingEmbedder())
    (tmp_path / "a.txt").write_text("Title: A\n-----\nThe archive is kept in Marl.\n", "utf-8")
    rag.ingest([tmp_path / "a.txt"])
    demo = app.build_ui(rag)
    port = _free_port()
    app.launch(demo, rag, "127.0.0.1", port, block=False)
    try:
        status, _, _ = _get(port, "/config", f"127.0.0.1:{port}")
        assert status == 200
        status, _, _ = _get(port, "/config", f"localhost:{port}")
        assert status == 200
        status, headers, body = _get(port, "/config", "rebind.evil.example", origin="http://rebind.evil.example")
        assert status == 400 and b"invalid Host header" in body and b"Marl" not in body
        assert "access-control-allow-origin" not in headers  # the refusal is not readable by the page
        preflight = {"Access-Control-Request-Method": "POST"}
        status, headers, _ = _get(port, "/gradio_api/upload", "rebind.evil.example", "http://rebind.evil.example", "OPTIONS", preflight)
        assert status == 400 and "access-control-allow-origin" not in headers
        status, headers, _ = _get(port, "/config", f"127.0.0.1:{port}", origin=f"http://127.0.0.1:{port}")
        assert status == 200 and headers.get("access-control-allow-origin") == f"http://127.0.0.1:{port}"
        status, _, body = _get(port, "/gradio_api/info", "rebind.evil.example", origin="http://rebind.evil.example")
        assert status == 400 and b"ask" not in body
        status, _, _ = _get(port, "/gradio_api/upload", "rebind.evil.example")
        assert status == 400
    finally:
        demo.close()
