"""Process settings that keep every library offline, quiet and lean; applied on ``import rag``."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_FORCED = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_DATASETS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "DO_NOT_TRACK": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # no "Loading weights" bars on a user's terminal
}


def tiktoken_cache_dir() -> Path | None:
    """llama-index-core's bundled tiktoken cache (holds cl100k_base), found without importing it."""
    try:
        spec = importlib.util.find_spec("llama_index.core")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "_static" / "tiktoken_cache"
    return folder if folder.is_dir() else None


# oneDNN keeps a compiled kernel per input shape it meets (1,024 by default); chunks and
# questions come in many lengths, so a long ingest grew by some 50-90 MiB of kernels it
# rarely reuses. A few are enough: a question or a chunk batch costs no more with 8.
_DEFAULTS = {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "8"}


def configure_offline() -> None:
    """Force the offline/no-telemetry environment and point tiktoken at its bundled cache;
    set the native libraries' defaults a user has not set."""
    os.environ.update(_FORCED)
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        folder = tiktoken_cache_dir()
        if folder is not None:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)


def set_torch_threads(threads: int) -> None:
    """Pin torch's intra- and inter-op thread pools to ``threads``."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        pass  # already set once in this process; intra-op threads still apply
