"""One settings object: built from defaults, an optional ``rag.toml``, env vars and flags.

Every setting ``key`` is read from the environment as ``RAG_<KEY>`` (``RAG_THREADS=1``,
``RAG_LIST_ITEMS=false``; the corpus as a JSON list or paths joined by ``os.pathsep``);
``RAG_STORE`` names the store folder as well as ``RAG_STORE_DIR``.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from rag.errors import ConfigError
from rag.types import content_id

PACKAGED_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
SPLITTER_VERSION = "sentences-v3"
CONTEXT_VERSION = "late-chunk-title-v1"
STORE_LAYOUT = "compact-v5"  # content ids, batched compact writes, sentence text as metadata, records with pages and headings
CONFIG_FILE = "rag.toml"


ENV_PREFIX = "RAG_"
ENV_ALIASES = {"RAG_STORE": "store_dir"}  # older names, still read where the setting's own is unset
_config_file: ContextVar[Path | None] = ContextVar("rag_config_file", default=None)


class Settings(BaseSettings):
    """Every tunable of the pipeline: defaults < ``rag.toml`` (through ``load_settings``) <
    ``RAG_<KEY>`` environment variables < keyword arguments; unknown keys are rejected."""

    model_config = SettingsConfigDict(
        extra="forbid", frozen=True, env_prefix=ENV_PREFIX, env_ignore_empty=True, case_sensitive=False
    )

    store_dir: Path = Field(default=Path(".rag-store"), description="Chroma folder (embedded mode)")
    store_url: str | None = Field(default=None, description="http://HOST:PORT of a `chroma run` server")
    store_timeout: float = Field(
        default=60.0, gt=0, le=3600, description="seconds a Chroma server may take to answer one request"
    )
    corpus: Annotated[tuple[str, ...], NoDecode] = Field(default=("corpus",), description="folders/files ingested by default")
    embedding_model: str = Field(
        default=PACKAGED_EMBEDDING_MODEL,
        description="all-MiniLM-L6-v2 (the packaged model) or the folder of a local sentence-transformers model",
    )
    embedding_window: int = Field(default=256, ge=16, description="model window in word pieces")
    threads: int = Field(default=2, ge=1, le=64, description="torch threads (the default: see docs/experiments.md)")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto", description="bf16 where the CPU has native bf16 (avx512_bf16), else fp32"
    )
    batch_size: int = Field(default=16, ge=1, description="chunks embedded in one batch")
    write_batch: int = Field(default=5000, ge=1, description="sentences written to the store in one batch (no more than Chroma's largest batch)")
    dense_candidates: int = Field(default=40, ge=1, description="nearest sentences asked of Chroma")
    chunk_candidates: int = Field(default=10, ge=0, description="nearest chunks asked of Chroma")
    lexical_candidates: int = Field(default=40, ge=1, description="best BM25 sentences")
    rrf_k: int = Field(default=60, ge=1)
    retrieve_limit: int = Field(default=40, ge=1, description="fused sentences handed to the reranker")
    reranker: Literal["features", "reader", "combined"] = Field(
        default="combined",
        description="how retrieved sentences are ranked: hand-made features, the trained reader, or both combined "
        "(how they compare: docs/experiments.md)",
    )
    combine_weight: float = Field(default=0.4, ge=0, le=1, description="the reader's share in the combined score")
    gate_weight: float = Field(
        default=0.8, ge=0, le=1, description="the reader's share in the combined reranker's confidence, which the gate reads"
    )
    rerank_k: int = Field(default=16, ge=1, description="retrieved sentences the reader judges (the feature scorer's best)")
    reader_first: int = Field(
        default=4,
        ge=1,
        description="the reader judges the rerank_k this many at a time, best by features first, and stops where no later one could lead (combined reranker)",
    )
    reader_preselect: Literal["features", "fused"] = Field(
        default="features", description="which k the reader judges: the best by feature score, or the first fused"
    )
    reader_manifest: Path | None = Field(default=None, description="reader weights' manifest (default: the packaged reader)")
    reader_threshold: float = Field(
        default=0.505,
        ge=0,
        le=1,
        description="the gate on the best evidence's confidence (reader, combined rerankers), calibrated with rag eval",
    )
    reader_strong_threshold: float = Field(
        default=0.95, ge=0, le=1, description="reader relevance marked strong, else partial; see docs/experiments.md"
    )
    reader_strong_margin: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="a strong mark also needs this lead in relevance over every other sentence the reader judged (a near rival: partial)",
    )
    reader_extra_threshold: float = Field(
        default=0.65, ge=0, le=1, description="score a further sentence needs to be cited too"
    )
    max_list_sentences: int = Field(
        default=4, ge=1, le=10, description="a list question's answer cites up to this many neighbouring sentences (1: off)"
    )
    list_threshold: float = Field(
        default=0.5, ge=0, le=1, description="reader relevance a neighbouring sentence needs to join a list answer"
    )
    list_items: bool = Field(default=True, description="after a sentence that announces a list, sentences that read as its items join it")
    list_window: int = Field(default=3, ge=0, le=10, description="sentences on each side of the best one read for a list")
    bridges: int = Field(
        default=5, ge=0, le=20, description="two-hop reading: best sentences whose short answers are followed (0: off)"
    )
    bridge_k: int = Field(
        default=8, ge=1, le=64, description="sentences of each second-hop retrieval the reader judges (the feature scorer's best)"
    )
    bridge_threshold: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="confidence a two-hop answer sentence needs (above the gate: with its bridge as context the "
        "reader is more easily convinced; see docs/experiments.md)",
    )
    comparisons: bool = Field(
        default=True, description='answer "which came first, A or B?" from a dated sentence about each (rag.compare)'
    )
    verdicts: bool = Field(
        default=True,
        description='answer "are A and B both X?", "were A and B of the same Y?" yes or no from a sentence about each (rag.verdicts)',
    )
    one_thing_verdicts: bool = Field(
        default=False,
        description='answer "do they use attention?" yes or no from the cited sentence (rag.models.yesno); off by default, see docs/experiments.md for why',
    )
    in_common: bool = Field(
        default=True,
        description='answer "Both A and B were released by what label?", "What do A and B have in common?" from a sentence about each, where the two agree (rag.shared)',
    )
    max_sources: int = Field(default=3, ge=1, le=10)
    abstain_threshold: float = Field(default=0.47, description="the gate for the features reranker; see docs/experiments.md")
    answerer: Literal["extractive", "llm"] = "extractive"
    verifier: Literal["auto", "deterministic", "judged"] = Field(
        default="auto", description="support checker: auto = judged by the LLM with the llm answerer, else deterministic"
    )
    max_file_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1, description="larger files are skipped (no file is read past this many bytes)"
    )
    max_pdf_pages: int = Field(default=2000, ge=1, description="PDFs with more pages are skipped")
    max_text_chars: int = Field(
        default=16 * 1024 * 1024, ge=1, description="a PDF whose extracted text passes this many characters is skipped"
    )
    follow_links_outside: bool = Field(
        default=False, description="follow links found in a folder whose target lies outside the paths given to ingest"
    )
    llm_url: str | None = None
    llm_model: str = "qwen2.5-coder-1.5b-instruct-q4_k_m"
    llm_threads: int = Field(default=1, ge=1, le=64, description="threads of the local LLM (the default: see docs/experiments.md)")
    llm_prompt_tokens: int = Field(default=1800, ge=256)
    llm_max_tokens: int = Field(default=256, ge=16)

    @field_validator("corpus", mode="before")
    @classmethod
    def _path_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError("is not a JSON list of paths") from None
            return [part for part in text.split(os.pathsep) if part]
        return value

    @field_validator("store_url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None

    def gate_threshold(self) -> float:
        """The evidence score under which the configured reranker's answer abstains."""
        return self.abstain_threshold if self.reranker == "features" else self.reader_threshold

    def strong_threshold(self) -> float | None:
        """The evidence score from which the configured reranker's evidence is marked strong;
        None for the feature scorer, whose scores say too little to earn a mark (see
        docs/experiments.md)."""
        return None if self.reranker == "features" else self.reader_strong_threshold

    def fingerprint(self) -> str:
        """Hash of every setting that changes the stored vectors; names the collections."""
        return content_id(
            self.embedding_model, self.embedding_window, SPLITTER_VERSION, CONTEXT_VERSION, STORE_LAYOUT, length=12
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments beat the environment, which beats the settings file."""
        return init_settings, _Environment(settings_cls), _SettingsFile(settings_cls)


class _Environment(EnvSettingsSource):
    """``RAG_<KEY>`` variables, plus the older names of ``ENV_ALIASES``."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        found = dict(super()._load_env_vars())
        for alias, key in ENV_ALIASES.items():
            own = (ENV_PREFIX + key).lower()
            if found.get(alias.lower()) and not found.get(own):
                found[own] = found[alias.lower()]
        return found


class _SettingsFile(PydanticBaseSettingsSource):
    """The values of the settings file ``load_settings`` is reading (none outside it)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ hands over the whole table

    def __call__(self) -> dict[str, Any]:
        path = _config_file.get()
        return read_settings_file(path) if path is not None else {}


def read_settings_file(path: Path) -> dict[str, Any]:
    """The ``[rag]`` table (or the top level) of a TOML settings file; corpus paths are taken
    relative to the file's folder."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; fix the file or remove it") from None
    values = dict(data.get("rag", data))
    if isinstance(values.get("corpus"), str):
        values["corpus"] = [values["corpus"]]
    if isinstance(values.get("corpus"), list):
        values["corpus"] = [_relative_to(path.parent, p) if isinstance(p, str) else p for p in values["corpus"]]
    return values


def env_names(key: str) -> tuple[str, ...]:
    """The environment variables that set ``key``, own name first."""
    return (ENV_PREFIX + key.upper(), *(alias for alias, aliased in ENV_ALIASES.items() if aliased == key))


def load_settings(config_file: str | Path | None = None, **overrides: object) -> Settings:
    """Defaults < ``rag.toml`` (or ``$RAG_CONFIG``) < environment < explicit overrides.

    ``None`` overrides are ignored so CLI flags that were not given do not mask the rest. A bad
    value is a ``ConfigError`` naming the setting and where it came from.
    """
    path = Path(config_file or os.environ.get("RAG_CONFIG") or CONFIG_FILE)
    if not path.is_file():
        if config_file:
            raise ConfigError(f"config file {path} not found; pass an existing file")
        path = None
    given = {k: v for k, v in overrides.items() if v is not None}
    token = _config_file.set(path)
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else ""
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting {where}: {first['msg']}; fix it in {_origin(key, given, path)}") from None
    finally:
        _config_file.reset(token)


def _origin(key: str, given: Mapping[str, object], path: Path | None) -> str:
    """Where the value of ``key`` came from, as the fix should name it."""
    if key in given:
        return "the flag or argument"
    for name in env_names(key):
        if any(env.upper() == name and value for env, value in os.environ.items()):
            return f"${name}"
    return str(path) if path is not None else "the settings"


def _relative_to(base: Path, entry: str) -> str:
    p = Path(entry)
    return str(p if p.is_absolute() else (base / p))
