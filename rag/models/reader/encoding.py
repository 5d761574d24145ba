"""How the reader sees one (question, candidate sentence) pair: the same layout in training
and at answer time, without torch.

    [CLS] question [SEP] candidate sentence [SEP] title  section  previous sentence [SEP]

The candidate always comes right after the first [SEP], so the model knows which sentence it
judges; the title, the heading path it lies under (its deepest headings) and the end of the
previous sentence follow as context (so "He warned…" can be judged). Every candidate token keeps its character span in the candidate text, so a
predicted answer span maps back to exact offsets in the source file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_QUESTION_TOKENS = 40
MAX_CANDIDATE_TOKENS = 112
MAX_TITLE_TOKENS = 12
MAX_SECTION_TOKENS = 16
MAX_PREVIOUS_TOKENS = 28
MAX_ANSWER_TOKENS = 30
CLS, SEP, PAD = "[CLS]", "[SEP]", "[PAD]"


@dataclass(frozen=True)
class Candidate:
    """A sentence to judge (``text`` exactly as in the source) with its context."""

    text: str
    title: str = ""
    previous: str = ""
    section: str = ""  # the heading path ("Experiments › Datasets"); its end is kept when cut


@dataclass(frozen=True)
class EncodedPair:
    """Token ids of one pair; ``offsets[i]`` is the character span of token
    ``candidate_start + i`` in the candidate text."""

    input_ids: tuple[int, ...]
    type_ids: tuple[int, ...]
    candidate_start: int
    offsets: tuple[tuple[int, int], ...]

    @property
    def candidate_end(self) -> int:
        """One past the last candidate token."""
        return self.candidate_start + len(self.offsets)


def encode_pairs(tokenizer, question: str, candidates: Sequence[Candidate]) -> list[EncodedPair]:
    """Encode ``question`` against every candidate (``tokenizer``: the model's ``tokenizers.Tokenizer``
    without truncation or padding)."""
    if not candidates:
        return []
    cls, sep = tokenizer.token_to_id(CLS), tokenizer.token_to_id(SEP)
    question_ids = tokenizer.encode(question, add_special_tokens=False).ids[:MAX_QUESTION_TOKENS]
    texts = [c.text for c in candidates]
    titles = [c.title for c in candidates]
    previous = [c.previous for c in candidates]
    sections = [c.section for c in candidates]
    sentence_codes = tokenizer.encode_batch(texts, add_special_tokens=False)
    title_codes = tokenizer.encode_batch(titles, add_special_tokens=False)
    previous_codes = tokenizer.encode_batch(previous, add_special_tokens=False)
    section_codes = tokenizer.encode_batch(sections, add_special_tokens=False) if any(sections) else [None] * len(sections)
    head = [cls, *question_ids, sep]
    pairs = []
    for sentence, title, before, section in zip(sentence_codes, title_codes, previous_codes, section_codes):
        ids = sentence.ids[:MAX_CANDIDATE_TOKENS]
        offsets = tuple(tuple(o) for o in sentence.offsets[: len(ids)])
        heading = section.ids[-MAX_SECTION_TOKENS:] if section is not None and section.ids else []
        context = title.ids[:MAX_TITLE_TOKENS] + heading + (before.ids[-MAX_PREVIOUS_TOKENS:] if before.ids else [])
        tail = [*ids, sep, *context, sep]
        pairs.append(
            EncodedPair(
                input_ids=tuple(head + tail),
                type_ids=tuple([0] * len(head) + [1] * len(tail)),
                candidate_start=len(head),
                offsets=offsets,
            )
        )
    return pairs


def best_span(start_logits, end_logits, pair: EncodedPair, must_hold=None) -> tuple[int, int, float]:
    """The highest-scoring answer span inside the candidate: (char start, char end, score).

    Scores are start + end logits over candidate tokens with start <= end and at most
    ``MAX_ANSWER_TOKENS`` tokens, as in BERT's SQuAD reader. Logits are per token of the
    whole pair (numpy arrays or sequences). ``must_hold`` (a flag per candidate token), when
    any flag is set, keeps only the spans that hold a flagged token: a question asking for a
    year gets the best span with a number in it, where the sentence has one.
    """
    import numpy as np

    first, last = pair.candidate_start, pair.candidate_end
    starts = np.asarray(start_logits[first:last], dtype="float32")
    ends = np.asarray(end_logits[first:last], dtype="float32")
    n = len(pair.offsets)
    if n == 0:
        return 0, 0, float("-inf")
    scores = starts[:, None] + ends[None, :]
    i, j = np.indices((n, n))
    empty = np.array([b <= a for a, b in pair.offsets])
    scores[(j < i) | (j - i >= MAX_ANSWER_TOKENS) | empty[:, None] | empty[None, :]] = -np.inf
    if must_hold is not None and any(must_hold):
        held = np.concatenate([[0], np.cumsum(np.asarray(must_hold, dtype="int32"))])
        scores[held[j + 1] - held[i] <= 0] = -np.inf  # no flagged token within tokens i..j
    flat = int(np.argmax(scores))
    s, e = divmod(flat, n)
    return pair.offsets[s][0], pair.offsets[e][1], float(scores[s, e])
