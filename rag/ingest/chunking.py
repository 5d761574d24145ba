"""Consecutive whole sentences -> Chunk, never longer than the embedding model's window.

Each chunk carries the text the embedder sees: the document title, the sentence before the
chunk as context (when it fits) and the chunk's own sentences, whitespace-collapsed, plus the
character span of every owned sentence in that text, so sentence vectors can be pooled from
the chunk's token embeddings (each sentence is embedded in its context).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.text import normalize_space
from rag.types import Chunk, Document, Sentence, content_id

CountTokens = Callable[[str], int]
SPECIAL_TOKENS = 2  # [CLS] and [SEP]
MAX_TITLE_TOKENS = 32


@dataclass(frozen=True)
class EmbeddingInput:
    """What the embedder encodes for one chunk and where each owned sentence lies in it."""

    chunk: Chunk
    text: str
    sentence_spans: tuple[tuple[int, int], ...]


def title_prefix(document: Document, count_tokens: CountTokens) -> str:
    """The title line prepended to every chunk, cut to ``MAX_TITLE_TOKENS`` word pieces."""
    words = normalize_space(document.title).split()
    while words and count_tokens(" ".join(words) + ".") > MAX_TITLE_TOKENS:
        words.pop()
    return " ".join(words) + "." if words else ""


def sentence_budget(window: int) -> int:
    """Word pieces one sentence may use so that title + sentence always fit the window."""
    return window - SPECIAL_TOKENS - MAX_TITLE_TOKENS - 1


def chunk_document(
    document: Document,
    sentences: Sequence[Sentence],
    count_tokens: CountTokens,
    window: int,
) -> tuple[EmbeddingInput, ...]:
    """Pack sentences greedily into chunks whose embedding text fits ``window`` word pieces."""
    budget = window - SPECIAL_TOKENS
    prefix = title_prefix(document, count_tokens)
    prefix_tokens = count_tokens(prefix) if prefix else 0
    texts = [normalize_space(s.text) for s in sentences]
    tokens = [count_tokens(t) for t in texts]
    for sentence, size in zip(sentences, tokens):
        if prefix_tokens + size > budget:
            raise ValueError(f"sentence {sentence.start}:{sentence.end} of {document.path} exceeds the window")
    chunks: list[EmbeddingInput] = []
    i = 0
    while i < len(sentences):
        context = i - 1 if i > 0 and prefix_tokens + tokens[i - 1] + tokens[i] <= budget else None
        used = prefix_tokens + (tokens[context] if context is not None else 0)
        j = i
        while j < len(sentences) and used + tokens[j] <= budget:
            used += tokens[j]
            j += 1
        chunks.append(_build(document, sentences, texts, prefix, context, i, j, count_tokens, budget))
        i = j
    return tuple(chunks)


def _build(document, sentences, texts, prefix, context, i, j, count_tokens, budget) -> EmbeddingInput:
    parts = [prefix] if prefix else []
    if context is not None:
        parts.append(texts[context])
    spans: list[tuple[int, int]] = []
    text = " ".join(parts)
    for k in range(i, j):
        text = f"{text} " if text else text
        spans.append((len(text), len(text) + len(texts[k])))
        text += texts[k]
    token_count = count_tokens(text)
    if token_count > budget:  # additivity of word-piece counts is checked, never assumed
        raise ValueError(f"chunk of {document.path} has {token_count} word pieces > {budget}")
    owned = sentences[i:j]
    start, end = owned[0].start, owned[-1].end
    chunk = Chunk(
        chunk_id=content_id("chunk", document.content_hash, start, end),
        doc_id=document.doc_id,
        sentence_ids=tuple(s.sentence_id for s in owned),
        start=start,
        end=end,
        text=document.text[start:end],
        token_count=token_count + SPECIAL_TOKENS,
    )
    return EmbeddingInput(chunk=chunk, text=text, sentence_spans=tuple(spans))
