"""Process settings that keep every library offline and quiet; applied on ``import rag``."""

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


def configure_offline() -> None:
    """Force the offline/no-telemetry environment and point tiktoken at its bundled cache."""
    os.environ.update(_FORCED)
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
