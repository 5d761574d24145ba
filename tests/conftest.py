"""Hermetic tests: offline env, loopback-only sockets, stores in tmp_path, shared paths resolved
relative to the repository (``../shared`` sits beside it)."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import os

import pytest

import rag  # noqa: F401  (forces the offline environment before anything else loads)
from rag.config import Settings, env_names

# Every setting is read from RAG_<KEY>: a developer's environment must not change what the tests
# see, except what fits the machine (threads, float precision).
for _key in set(Settings.model_fields) - {"threads", "llm_threads", "precision"}:
    for _name in env_names(_key):
        os.environ.pop(_name, None)
os.environ.pop("RAG_CONFIG", None)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_CORPUS = SHARED / "corpus"
SEED = REPO / "corpus" / "seed-article.txt"

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ConnectionRefusedError(f"tests may not reach {host}: network is blocked")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture
def fake_rag(tmp_path):
    """A Rag over a tmp store with the hashing embedder (no model load)."""
    from fakes import HashingEmbedder

    from rag.config import Settings
    from rag.api import Rag

    settings = Settings(store_dir=tmp_path / "store", abstain_threshold=0.35, reranker="features")
    return Rag(settings, embedder=HashingEmbedder())


@pytest.fixture(scope="session")
def real_rag(tmp_path_factory):
    """A Rag with the real model over corpus/ and ../shared/corpus (built once per session)."""
    from rag.config import load_settings
    from rag.api import Rag

    store = tmp_path_factory.mktemp("real") / "store"
    instance = Rag(load_settings(REPO / "rag.toml", store_dir=store))
    report = instance.ingest([REPO / "corpus", SHARED_CORPUS])
    assert not report.skipped, report.skipped
    instance.first_report = report
    return instance


@pytest.fixture
def real_rag_over(tmp_path):
    """Build a Rag with the real model over small files: ``{"quell.txt": ("Mara Quell", "text")}``
    becomes a file with that title and text, ingested into a tmp store."""
    from rag.config import load_settings
    from rag.api import Rag

    def build(files: dict[str, tuple[str, str]]):
        docs = tmp_path / "docs"
        docs.mkdir()
        for name, (title, text) in files.items():
            (docs / name).write_text(f"Title: {title}\n-----\n{text}\n", "utf-8")
        instance = Rag(load_settings(REPO / "rag.toml", store_dir=tmp_path / "store"))
        instance.ingest([docs])
        return instance

    return build


@pytest.fixture
def cli_workdir(tmp_path, monkeypatch):
    """A clean working folder for CLI tests: no repo rag.toml, no store env, the hashing embedder."""
    from fakes import HashingEmbedder

    for name in ("RAG_STORE", "RAG_STORE_URL", "RAG_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rag.toml").write_text("[rag]\nabstain_threshold = 0.35\nreranker = \"features\"\n")
    monkeypatch.setattr("rag.models.embedding.SentenceTransformerEmbedder", lambda **_: HashingEmbedder())
    return tmp_path
