"""Assembling a GGUF from part packages: order, hash check, reuse, clear failures."""

import hashlib
import sys
import types

import pytest

from rag.errors import ModelError
from rag.models.llm import MODELS, PackagedModel, model_file


@pytest.fixture
def parts(tmp_path, monkeypatch):
    chunks = [b"first-part-", b"second-part-", b"third"]
    names = []
    for i, chunk in enumerate(chunks):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(chunk)
        name = f"fake_model_part{i}"
        module = types.ModuleType(name)
        module.get_part_path = lambda p=path: str(p)
        monkeypatch.setitem(sys.modules, name, module)
        names.append(name)
    return names, hashlib.sha256(b"".join(chunks)).hexdigest()


def test_parts_are_joined_in_order_checked_and_reused(tmp_path, monkeypatch, parts):
    names, digest = parts
    monkeypatch.setitem(MODELS, "fake", PackagedModel("fake.gguf", tuple(names), digest, "fake pins"))
    target = model_file("fake", tmp_path / "cache")
    assert target.read_bytes() == b"first-part-second-part-third"
    mtime = target.stat().st_mtime_ns
    assert model_file("fake", tmp_path / "cache").stat().st_mtime_ns == mtime  # not rebuilt


def test_hash_mismatch_fails_clearly_and_leaves_no_file(tmp_path, monkeypatch, parts):
    names, _ = parts
    monkeypatch.setitem(MODELS, "fake", PackagedModel("fake.gguf", tuple(names), "0" * 64, "fake pins"))
    with pytest.raises(ModelError, match="expected 0000"):
        model_file("fake", tmp_path / "cache")
    assert not list((tmp_path / "cache").iterdir())


def test_missing_part_package_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(MODELS, "fake", PackagedModel("fake.gguf", ("no_such_part_module",), "0" * 64, "x==1"))
    with pytest.raises(ModelError, match="make llm"):
        model_file("fake", tmp_path)


def test_unknown_model_name():
    with pytest.raises(ModelError, match="unknown local model"):
        model_file("gpt-17")
