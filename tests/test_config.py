"""Settings: defaults < rag.toml < RAG_<KEY> environment variables < flags; unknown keys rejected."""

from __future__ import annotations

import os
import typing
from pathlib import Path

import annotated_types
import pytest

from rag.config import Settings, env_names, load_settings
from rag.errors import ConfigError


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No setting in the environment, no rag.toml in the working folder."""
    for name in list(os.environ):
        if name.upper().startswith("RAG_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def _other_value(name: str, field) -> tuple[str, object]:
    """An environment string for ``field`` and the value it must parse to, not its default."""
    default = field.default
    annotation = field.annotation
    if typing.get_origin(annotation) is typing.Literal:
        choice = next(c for c in typing.get_args(annotation) if c != default)
        return choice, choice
    if annotation is bool:
        return str(not default).lower(), not default
    if annotation in (int, float):
        bounds = {type(m): m for m in field.metadata}
        low = next((getattr(bounds[t], a) for t, a in ((annotated_types.Ge, "ge"), (annotated_types.Gt, "gt")) if t in bounds), None)
        high = bounds[annotated_types.Le].le if annotated_types.Le in bounds else None
        value = high if high is not None and high != default else (low if low is not None and low != default else default + 1)
        if isinstance(value, float) and low is not None and value == low and annotated_types.Gt in bounds:
            value = low + 1
        return str(value), annotation(value)
    if name == "corpus":
        return f"docs{os.pathsep}/data/more", ("docs", "/data/more")
    if name == "store_url":
        return "http://127.0.0.1:8000", "http://127.0.0.1:8000"
    if "Path" in str(annotation):
        return "/tmp/elsewhere", Path("/tmp/elsewhere")
    return "other-value", "other-value"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_read_from_its_environment_variable(clean_env, name):
    text, expected = _other_value(name, Settings.model_fields[name])
    assert getattr(Settings(), name) != expected
    clean_env.setenv(env_names(name)[0], text)
    assert getattr(load_settings(), name) == expected
    assert getattr(Settings(), name) == expected


def test_precedence_defaults_file_environment_flags(clean_env, tmp_path):
    (tmp_path / "rag.toml").write_text('[rag]\nthreads = 3\nreranker = "reader"\nrerank_k = 9\n')
    assert load_settings().threads == 3 and load_settings().max_sources == 3  # file over default
    clean_env.setenv("RAG_THREADS", "5")
    clean_env.setenv("RAG_RERANKER", "features")
    settings = load_settings(threads=7)
    assert (settings.threads, settings.reranker, settings.rerank_k) == (7, "features", 9)
    assert load_settings(threads=None).threads == 5  # a flag not given masks nothing


def test_store_folder_from_either_name_the_own_one_first(clean_env):
    clean_env.setenv("RAG_STORE", "/tmp/old-name")
    assert load_settings().store_dir == Path("/tmp/old-name")
    clean_env.setenv("RAG_STORE_DIR", "/tmp/own-name")
    assert load_settings().store_dir == Path("/tmp/own-name")
    assert load_settings(store_dir="flag").store_dir == Path("flag")


@pytest.mark.parametrize(
    "value, expected",
    [
        ('["a b", "/c"]', ("a b", "/c")),
        ("single", ("single",)),
        (f"x{os.pathsep}{os.pathsep}y", ("x", "y")),
    ],
)
def test_corpus_from_the_environment_as_json_or_a_path_list(clean_env, value, expected):
    clean_env.setenv("RAG_CORPUS", value)
    assert load_settings().corpus == expected


def test_corpus_in_the_file_is_relative_to_the_file(clean_env, tmp_path):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "rag.toml").write_text('corpus = ["docs", "/abs"]\n')
    assert load_settings(folder / "rag.toml").corpus == (str(folder / "docs"), "/abs")


def test_empty_variables_and_other_rag_variables_are_ignored(clean_env):
    clean_env.setenv("RAG_THREADS", "")
    clean_env.setenv("RAG_HOST", "::1")  # app.py's, not a setting
    clean_env.setenv("RAG_DEBUG", "1")
    assert load_settings().threads == Settings.model_fields["threads"].default


@pytest.mark.parametrize(
    "file_text, env, flags, message",
    [
        ("colour = 'red'\n", {}, {}, "invalid setting colour: Extra inputs are not permitted; fix it in {file}"),
        ("threads = 0\n", {}, {}, "invalid setting threads: Input should be greater than or equal to 1; fix it in {file}"),
        ("", {"RAG_THREADS": "many"}, {}, "invalid setting threads: Input should be a valid integer, unable to parse string as an integer; fix it in $RAG_THREADS"),
        ("", {"RAG_STORE_URL": "ftp://x"}, {}, "invalid setting store_url: Value error, must start with http:// or https://; fix it in $RAG_STORE_URL"),
        ("", {"RAG_CORPUS": "[oops"}, {}, "invalid setting corpus: Value error, is not a JSON list of paths; fix it in $RAG_CORPUS"),
        ("", {"RAG_RERANKER": "best"}, {}, "invalid setting reranker: Input should be 'features', 'reader' or 'combined'; fix it in $RAG_RERANKER"),
        ("", {"RAG_THREADS": "4"}, {"threads": 0}, "invalid setting threads: Input should be greater than or equal to 1; fix it in the flag or argument"),
        ("threads = [\n", {}, {}, "cannot read {file}: "),
    ],
)
def test_bad_values_are_one_line_errors_naming_where_they_came_from(clean_env, tmp_path, file_text, env, flags, message):
    path = tmp_path / "rag.toml"
    path.write_text(file_text)
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings(path, **flags)
    text = str(error.value)
    assert "\n" not in text
    assert text.startswith(message.format(file=path)), text


def test_the_settings_file_is_read_only_through_load_settings(clean_env, tmp_path):
    (tmp_path / "rag.toml").write_text("threads = 3\n")
    assert load_settings().threads == 3
    assert Settings().threads == Settings.model_fields["threads"].default
    clean_env.setenv("RAG_CONFIG", str(tmp_path / "missing.toml"))
    assert load_settings().threads == Settings.model_fields["threads"].default


def test_import_rag_sets_the_offline_environment_and_keeps_a_users_native_settings():
    import os
    import subprocess
    import sys

    probe = "import os, rag; print(os.environ['HF_HUB_OFFLINE'], os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "ONEDNN_PRIMITIVE_CACHE_CAPACITY")}
    plain = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert plain.stdout.split() == ["1", "8"]
    chosen = subprocess.run(
        [sys.executable, "-c", probe], env={**env, "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "64"}, capture_output=True, text=True, check=True
    )
    assert chosen.stdout.split() == ["1", "64"]
