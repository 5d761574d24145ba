"""Evaluation metrics: pure functions over plain values.

Nothing here opens a store, a model or a file; the harness gathers the values and these
functions score them. Each one is checked against a hand-computed example in
``tests/test_metrics.py``. A rate that has nothing to count is ``None``, never a made-up 0.
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rag.text import normalize_space

T = TypeVar("T")
U = TypeVar("U")

Judge = Callable[[str, Sequence[str]], bool]
"""Whether a claim is supported by the given evidence sentences (jointly)."""

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
DEFAULT_GRID = tuple(round(0.20 + 0.05 * i, 2) for i in range(13))
# Confidences vary run to run in their last bits (float sums over sets of terms); recorded
# rounded, reruns on the same store give identical numbers, the calibrated threshold included.
CONFIDENCE_DECIMALS = 6


# ---- spans and gold matching ---------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A character range of one file: ``text[start:end]`` of the file at ``path``."""

    path: str
    start: int
    end: int


def locate(text: str, needle: str, path: str) -> Span | None:
    """The span of the first verbatim occurrence of ``needle`` in ``text``; None if absent."""
    start = text.find(needle) if needle else -1
    return Span(path, start, start + len(needle)) if start >= 0 else None


def overlaps(a: Span, b: Span) -> bool:
    """Whether two spans are in the same file and share at least one character."""
    return a.path == b.path and a.start < b.end and b.start < a.end


# ---- retrieval -----------------------------------------------------------------------------


def first_relevant_rank(ranked: Sequence[T], relevant: Sequence[U], match: Callable[[T, U], bool]) -> int | None:
    """1-based rank of the first ranked item that matches any relevant item; None if none does."""
    for rank, item in enumerate(ranked, 1):
        if any(match(item, target) for target in relevant):
            return rank
    return None


def hit_at_k(rank: int | None, k: int) -> float:
    """1.0 when the first relevant item is within the top ``k``, else 0.0."""
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, k: int) -> float:
    """1/rank of the first relevant item, counted only within the top ``k`` (MRR@k per question)."""
    return 1.0 / rank if rank is not None and rank <= k else 0.0


# ---- citations -----------------------------------------------------------------------------


def citation_precision(cited: Sequence[T], relevant: Sequence[U], match: Callable[[T, U], bool]) -> float | None:
    """Share of cited items that match some relevant item; None when nothing is cited."""
    if not cited:
        return None
    return sum(any(match(c, r) for r in relevant) for c in cited) / len(cited)


def citation_recall(cited: Sequence[T], relevant: Sequence[U], match: Callable[[T, U], bool]) -> float | None:
    """Share of relevant items matched by at least one cited item; None when nothing is relevant."""
    if not relevant:
        return None
    return sum(any(match(c, r) for c in cited) for r in relevant) / len(relevant)


def quote_is_exact(text: str, start: int, end: int, quote: str) -> bool:
    """Whether the file text at the citation's offsets is exactly its quote."""
    return 0 <= start <= end and text[start:end] == quote


@dataclass(frozen=True)
class CitationQuality:
    """ALCE citation recall and precision of one answer (None when undefined)."""

    recall: float | None
    precision: float | None


def alce_citation_quality(statements: Sequence[tuple[str, Sequence[str]]], judge: Judge) -> CitationQuality:
    """Citation recall and precision as ALCE (Gao et al., 2023) computes them for one answer.

    ``statements`` are (answer sentence, quotes it cites). Recall: share of sentences whose
    cited quotes jointly support them. Precision: share of citations that are not
    irrelevant, where a citation of a supported multi-citation sentence is irrelevant when
    it does not support the sentence alone and the remaining citations still do; every
    citation of an unsupported sentence counts as imprecise.
    """
    supported = cited = precise = 0
    for claim, quotes in statements:
        if not quotes:
            continue
        cited += len(quotes)
        joint = judge(claim, quotes)
        supported += joint
        if joint and len(quotes) > 1:
            for i, quote in enumerate(quotes):
                rest = [*quotes[:i], *quotes[i + 1 :]]
                precise += judge(claim, [quote]) or not judge(claim, rest)
        else:
            precise += joint
    return CitationQuality(
        recall=supported / len(statements) if statements else None,
        precision=precise / cited if cited else None,
    )


# ---- answer --------------------------------------------------------------------------------


def _collapse(text: str) -> str:
    return normalize_space(text).lower()


def missing_facts(answer: str, facts: Sequence[str]) -> tuple[str, ...]:
    """The facts not found in the answer (case-insensitive, whitespace collapsed)."""
    flat = _collapse(answer)
    return tuple(f for f in facts if _collapse(f) not in flat)


def fact_coverage(answer: str, facts: Sequence[str]) -> float | None:
    """Share of key facts found in the answer; None without facts."""
    if not facts:
        return None
    return 1 - len(missing_facts(answer, facts)) / len(facts)


_MARKER = re.compile(r"\s*\[\d+\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def strip_citation_markers(text: str) -> str:
    """The answer text without its ``[n]`` citation markers."""
    return _MARKER.sub("", text).strip()


def normalize_answer(text: str) -> str:
    """HotpotQA's official normalisation: lower-case, drop punctuation and articles, fix spaces."""
    lowered = text.lower()
    no_punctuation = "".join(ch for ch in lowered if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", no_punctuation).split())


def exact_match(prediction: str, gold: str) -> float:
    """HotpotQA exact match: 1.0 when both normalise to the same string."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """HotpotQA token F1 of the normalised strings (yes/no/noanswer must match exactly)."""
    predicted, expected = normalize_answer(prediction), normalize_answer(gold)
    special = ("yes", "no", "noanswer")
    if (predicted in special or expected in special) and predicted != expected:
        return 0.0
    predicted_tokens, expected_tokens = predicted.split(), expected.split()
    same = sum((Counter(predicted_tokens) & Counter(expected_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted_tokens), same / len(expected_tokens)
    return 2 * precision * recall / (precision + recall)


def answer_contained(prediction: str, gold: str) -> float:
    """1.0 when the normalised gold answer occurs as whole words in the normalised prediction."""
    expected = normalize_answer(gold)
    return float(bool(expected) and f" {expected} " in f" {normalize_answer(prediction)} ")


# ---- abstention and the verifier -----------------------------------------------------------


@dataclass(frozen=True)
class AbstentionScores:
    """Abstention quality with unanswerable questions as the positive class."""

    precision: float | None
    recall: float | None
    false_refusal_rate: float | None


def abstention_scores(abstained: Sequence[bool], answerable: Sequence[bool]) -> AbstentionScores:
    """Precision: abstentions that were on unanswerable questions; recall: unanswerable
    questions that abstained; false refusals: answerable questions that abstained."""
    pairs = list(zip(abstained, answerable, strict=True))
    refusals = [a for a, ok in pairs if a]
    unanswerable = [a for a, ok in pairs if not ok]
    answerable_only = [a for a, ok in pairs if ok]
    return AbstentionScores(
        precision=sum(not ok for a, ok in pairs if a) / len(refusals) if refusals else None,
        recall=sum(unanswerable) / len(unanswerable) if unanswerable else None,
        false_refusal_rate=sum(answerable_only) / len(answerable_only) if answerable_only else None,
    )


@dataclass(frozen=True)
class BinaryScores:
    """Precision, recall, F1 of the positive class, and accuracy."""

    precision: float | None
    recall: float | None
    f1: float | None
    accuracy: float | None


def binary_scores(predicted: Sequence[bool], actual: Sequence[bool]) -> BinaryScores:
    """Scores of boolean predictions against labels, ``True`` being the positive class."""
    pairs = list(zip(predicted, actual, strict=True))
    true_positive = sum(p and a for p, a in pairs)
    predicted_positive = sum(p for p, _ in pairs)
    actual_positive = sum(a for _, a in pairs)
    precision = true_positive / predicted_positive if predicted_positive else None
    recall = true_positive / actual_positive if actual_positive else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(p == a for p, a in pairs) / len(pairs) if pairs else None
    return BinaryScores(precision, recall, f1, accuracy)


# ---- threshold calibration -----------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdRow:
    """What one abstention threshold does: a question is answered when confidence >= threshold."""

    threshold: float
    answered: float
    abstained: float
    balanced_accuracy: float


def threshold_row(threshold: float, answerable: Sequence[float], unanswerable: Sequence[float]) -> ThresholdRow:
    """Share of answerable questions answered, of unanswerable ones abstained, and their mean."""
    answered = sum(c >= threshold for c in answerable) / len(answerable)
    abstained = sum(c < threshold for c in unanswerable) / len(unanswerable)
    return ThresholdRow(threshold, answered, abstained, (answered + abstained) / 2)


def calibrate_threshold(
    answerable: Sequence[float], unanswerable: Sequence[float], grid: Sequence[float] = DEFAULT_GRID
) -> tuple[float, tuple[ThresholdRow, ...]]:
    """The abstention threshold with the best balanced accuracy, and a table over ``grid``.

    Every observed confidence is a candidate; the best one (ties: the lowest) is moved to
    the middle of the gap below it, which classifies the same questions with the widest
    margin. The table holds the ``grid`` thresholds plus the chosen one, ascending.
    """
    if not answerable or not unanswerable:
        raise ValueError("calibration needs confidences of both answerable and unanswerable questions")
    candidates = sorted(set(answerable) | set(unanswerable))
    best_index = max(
        range(len(candidates)),
        key=lambda i: (threshold_row(candidates[i], answerable, unanswerable).balanced_accuracy, -i),
    )
    best = candidates[best_index]
    if best_index > 0:
        best = (candidates[best_index - 1] + best) / 2
    rows = {t: threshold_row(t, answerable, unanswerable) for t in [*grid, best]}
    return best, tuple(rows[t] for t in sorted(rows))


# ---- summaries: percentiles, bootstrap intervals -------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean; None for no values."""
    return sum(values) / len(values) if values else None


def bootstrap_ci(
    items: Sequence[T],
    statistic: Callable[[Sequence[T]], float | None],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic`` over ``items``, deterministic for a seed.

    Resamples where the statistic is undefined (None) are skipped; None when it never is.
    """
    if not items:
        return None
    rng = random.Random(seed)
    values = []
    for _ in range(resamples):
        value = statistic(rng.choices(items, k=len(items)))
        if value is not None:
            values.append(value)
    if not values:
        return None
    tail = (1 - confidence) / 2 * 100
    return percentile(values, tail), percentile(values, 100 - tail)


@dataclass(frozen=True)
class Metric:
    """One reported number: its value, how many items it rests on and its 95 % interval."""

    key: str
    value: float | None
    n: int
    ci: tuple[float, float] | None = None


def summarise(key: str, items: Sequence[T], statistic: Callable[[Sequence[T]], float | None]) -> Metric:
    """``statistic`` of ``items`` with its bootstrap 95 % interval."""
    return Metric(key, statistic(items), len(items), bootstrap_ci(items, statistic))


def summarise_mean(key: str, values: Sequence[float | None]) -> Metric:
    """The mean of the defined values with its bootstrap 95 % interval."""
    return summarise(key, [v for v in values if v is not None], mean)
