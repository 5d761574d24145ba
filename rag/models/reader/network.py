"""The reader network (torch): MiniLM-L6 with a relevance head and a span head, and its weights file.

One forward pass per (question, candidate) pair gives a relevance logit from the [CLS] state
(does this sentence answer the question?) and start/end logits per token (where is the short
answer?): the DPR reader's design on a 6-layer encoder. The embeddings and the two lowest layers
are frozen in training and never shipped: they are loaded from the installed all-MiniLM-L6-v2
package, so the shipped file holds only what training changed. Imported lazily.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import torch

from rag.errors import ModelError
from rag.models.reader.encoding import EncodedPair

# Kept as all-MiniLM-L6-v2 has them (not trained, not shipped): the embeddings and the two
# lowest layers. Backpropagation then stops two layers early (a third less work per step).
FROZEN_PREFIXES = ("encoder.embeddings.", "encoder.encoder.layer.0.", "encoder.encoder.layer.1.")


def is_frozen(name: str) -> bool:
    """Whether a parameter keeps its base value (and is loaded from the base package)."""
    return name.startswith(FROZEN_PREFIXES)


class ReaderNet(torch.nn.Module):
    """Encoder + two linear heads."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.relevance = torch.nn.Linear(hidden, 1)
        self.span = torch.nn.Linear(hidden, 2)

    def forward(self, input_ids, type_ids, attention_mask):
        """(relevance logits [B], start logits [B, T], end logits [B, T])."""
        states = self.encoder(
            input_ids=input_ids, token_type_ids=type_ids, attention_mask=attention_mask
        ).last_hidden_state
        relevance = self.relevance(states[:, 0]).squeeze(-1)
        start, end = self.span(states).float().unbind(-1)
        return relevance.float(), start, end


def base_network(base_path: Path) -> ReaderNet:
    """A reader whose encoder is all-MiniLM-L6-v2 and whose heads are freshly initialised."""
    from transformers import BertModel
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        encoder = BertModel.from_pretrained(str(base_path), add_pooling_layer=False)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the base encoder from {base_path}: {exc}") from None
    torch.manual_seed(0)
    return ReaderNet(encoder)


def collate(pairs: Sequence[EncodedPair]) -> dict[str, torch.Tensor]:
    """Pad a batch to its longest pair (dynamic padding)."""
    length = max(len(p.input_ids) for p in pairs)
    ids = torch.zeros((len(pairs), length), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, pair in enumerate(pairs):
        n = len(pair.input_ids)
        ids[row, :n] = torch.tensor(pair.input_ids)
        types[row, :n] = torch.tensor(pair.type_ids)
        mask[row, :n] = 1
    return {"input_ids": ids, "type_ids": types, "attention_mask": mask}


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_weights(net: ReaderNet, path: Path) -> str:
    """Write the trained tensors (none of the frozen ones) in fp16; returns the file's sha256."""
    from safetensors.torch import save_file

    state = {k: v.detach().to(torch.float16).contiguous() for k, v in net.state_dict().items() if not is_frozen(k)}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={"format": "rag-reader-v1"})
    return file_sha256(path)


def load_weights(net: ReaderNet, path: Path, sha256: str) -> ReaderNet:
    """Load shipped weights into ``net`` after checking the file's hash."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise ModelError(f"reader weights missing at {path}; reinstall rag (pip install -e .)")
    actual = file_sha256(path)
    if actual != sha256:
        raise ModelError(
            f"reader weights at {path} have sha256 {actual[:12]}…, expected {sha256[:12]}…; "
            "the file is corrupt or from another version: reinstall rag"
        )
    state = {k: v.float() for k, v in load_file(str(path)).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    if unexpected or any(not is_frozen(k) for k in missing):
        raise ModelError(f"reader weights at {path} do not fit the network; reinstall rag")
    return net
