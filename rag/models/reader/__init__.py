"""The reader we train ourselves: does a sentence answer the question, and which words are the
short answer. The weights ship inside the package (``weights/``, with a model card); torch
loads on first use.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelError
from rag.models.reader.encoding import Candidate, EncodedPair, best_span, encode_pairs
from rag.text import asks_for_number, holds_number

WEIGHTS_DIR = Path(__file__).parent / "weights"
MANIFEST = WEIGHTS_DIR / "reader.json"
SPANS_FOR = 3  # short answers are decoded for this many best candidates

__all__ = ["Candidate", "Judgement", "Reader"]


@dataclass(frozen=True)
class Judgement:
    """The reader's verdict on one candidate.

    ``relevance`` is the probability (sigmoid of ``logit``) that the sentence answers the
    question; ``span`` the short answer's character offsets inside the candidate text (None
    when not decoded).
    """

    relevance: float
    logit: float
    span: tuple[int, int] | None = None
    span_score: float = float("-inf")


def read_manifest(path: Path = MANIFEST) -> dict:
    """The shipped weights' manifest: file name, sha256, how it was trained."""
    try:
        manifest = json.loads(path.read_text("utf-8"))
        manifest["file"], manifest["sha256"]
    except (OSError, ValueError, KeyError):
        raise ModelError(f"reader manifest {path} missing or unreadable; reinstall rag") from None
    return manifest


class Reader:
    """The trained reader on the CPU (bf16 where the CPU has it natively)."""

    def __init__(self, manifest: Path = MANIFEST, threads: int = 1, precision: str = "auto", batch_size: int = 16):
        from rag.models.embedding import load_tokenizer, packaged_model_path
        from rag.models.precision import resolve

        self.manifest_path = manifest
        self.manifest = read_manifest(manifest)
        self.base_path = packaged_model_path()
        self.tokenizer = load_tokenizer(self.base_path)
        self.threads = threads
        self.precision = resolve(precision)
        self.batch_size = batch_size
        self._net = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The shipped weights' name."""
        return self.manifest.get("name", "reader")

    def _loaded(self):
        with self._lock:
            if self._net is None:
                from rag.offline import configure_offline, set_torch_threads

                configure_offline()
                set_torch_threads(self.threads)
                from rag.models.reader.network import base_network, load_weights

                net = base_network(self.base_path)
                load_weights(net, self.manifest_path.parent / self.manifest["file"], self.manifest["sha256"])
                self._net = net.eval()
            return self._net

    def warm_up(self) -> None:
        """Load the network now."""
        self._loaded()

    def judge(self, question: str, candidates: Sequence[Candidate], spans_for: int = SPANS_FOR) -> list[Judgement]:
        """A judgement per candidate, in the given order; spans for the ``spans_for`` most relevant."""
        pairs = encode_pairs(self.tokenizer, question, candidates)
        if not pairs:
            return []
        logits, starts, ends = self.forward(pairs)
        order = sorted(range(len(pairs)), key=lambda i: -logits[i])[:spans_for]
        wants_number = asks_for_number(question)
        spans = {
            i: best_span(starts[i], ends[i], pairs[i], _number_tokens(candidates[i].text, pairs[i]) if wants_number else None)
            for i in order
        }
        asked = asked_noun(question)
        if asked:  # "members of what crime family?": "DeCavalcante" + " crime family"
            spans = {i: (*with_asked_noun(candidates[i].text, span[0], span[1], asked), span[2]) for i, span in spans.items()}
        judgements = []
        for i, logit in enumerate(logits):
            span = spans.get(i)
            judgements.append(
                Judgement(
                    relevance=_sigmoid(logit),
                    logit=logit,
                    span=(span[0], span[1]) if span else None,
                    span_score=span[2] if span else float("-inf"),
                )
            )
        return judgements

    def forward(self, pairs: Sequence[EncodedPair]):
        """Relevance logits and per-token start/end logits (numpy rows) for encoded pairs."""
        import torch

        from rag.models.precision import autocast
        from rag.models.reader.network import collate

        net = self._loaded()
        logits: list[float] = [0.0] * len(pairs)
        starts: list = [None] * len(pairs)
        ends: list = [None] * len(pairs)
        # Similar lengths share a batch, so little padding is computed.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].input_ids))
        with torch.inference_mode(), autocast(self.precision):
            for first in range(0, len(order), self.batch_size):
                rows = order[first : first + self.batch_size]
                batch = collate([pairs[i] for i in rows])
                relevance, start, end = net(**batch)
                for k, i in enumerate(rows):
                    n = len(pairs[i].input_ids)
                    logits[i] = float(relevance[k])
                    starts[i] = start[k, :n].numpy()
                    ends[i] = end[k, :n].numpy()
        return logits, starts, ends


_AUXILIARY = frozenset("is was were are be been did does do has have had can could will would should may might".split())
_ASKED = re.compile(r"\b(?:what|which)\s+((?:[a-z]+\s+){0,2}[a-z]+)", re.IGNORECASE)


def asked_noun(question: str) -> tuple[str, ...]:
    """The lower-case words of the thing a "what/which <noun>" question asks for ("members of what
    crime family?" -> ("crime", "family")), up to the first auxiliary verb; () when none."""
    match = _ASKED.search(question)
    if not match:
        return ()
    taken = []
    for word in match.group(1).split():
        if word.lower() in _AUXILIARY or not word.islower():
            break
        taken.append(word)
    return tuple(taken)


def with_asked_noun(text: str, start: int, end: int, asked: Sequence[str]) -> tuple[int, int]:
    """The span ``start:end`` of ``text`` extended over the asked noun where the sentence goes on
    with it ("the DeCavalcante" + " crime family" for "what crime family"): the answer's name
    includes its kind. Tries the whole noun phrase, then its last word."""
    if end <= start or not asked:
        return start, end
    for tail in (asked, asked[-1:]):
        pattern = r"\s+" + r"\s+".join(re.escape(w) + ("s?" if i == len(tail) - 1 else "") for i, w in enumerate(tail)) + r"\b"
        match = re.match(pattern, text[end:], re.IGNORECASE)
        if match:
            return start, end + match.end()
    return start, end


def _number_tokens(text: str, pair: EncodedPair) -> list[bool]:
    """Per candidate token, whether the word it is part of is a number, a number word, a month
    or a day (a word piece alone, "##ieth", says nothing)."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\w+", text)]
    flags = []
    for start, end in pair.offsets:
        word = next((text[a:b] for a, b in words if a <= start < b), text[start:end])
        flags.append(holds_number(word))
    return flags


def _sigmoid(x: float) -> float:
    import math

    return 1.0 / (1.0 + math.exp(-x)) if x > -60 else 0.0
