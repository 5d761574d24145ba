"""QASPER's own scores as pure functions (Dasigi et al. 2021, ``qasper_evaluator.py``): answer
token F1 against the best-matching annotator answer, and whether cited spans fall on the gold
evidence (sentences the annotators highlighted, or inside their evidence paragraphs)."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

UNANSWERABLE = "Unanswerable"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)

Range = tuple[int, int]  # [start, end) character offsets in one document


def normalize(text: str) -> str:
    """QASPER's normalisation: lower-case, drop punctuation, drop articles, fix spaces."""
    lowered = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", lowered).split())


def answer_f1(prediction: str, gold: str) -> float:
    """Token F1 of the normalised strings, as QASPER scores it (no special case for yes/no)."""
    predicted, expected = normalize(prediction).split(), normalize(gold).split()
    same = sum((Counter(predicted) & Counter(expected)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_answer_f1(prediction: str, golds: Sequence[str]) -> float:
    """The F1 against the best-matching annotator answer (0 when there is none)."""
    return max((answer_f1(prediction, gold) for gold in golds), default=0.0)


def prediction_text(
    abstained: bool, boolean: bool, verdict: str, short_answers: Sequence[str], answer_text: str
) -> str:
    """What is scored as the prediction: "Unanswerable" for an abstention; for a yes-or-no
    question "Yes"/"No" when the answer carries a verdict; else the short answers (joined with
    ", " like QASPER's extractive spans), else the answer's text."""
    if abstained:
        return UNANSWERABLE
    if boolean and verdict:
        return verdict.capitalize()
    if short_answers:
        return ", ".join(short_answers)
    return answer_text


def inside(span: Range, ranges: Sequence[Range]) -> bool:
    """Whether ``span`` lies wholly inside one of ``ranges``."""
    return any(start <= span[0] and span[1] <= end for start, end in ranges)


def touches(span: Range, ranges: Sequence[Range]) -> bool:
    """Whether ``span`` shares at least one character with one of ``ranges``."""
    return any(span[0] < end and start < span[1] for start, end in ranges)


def on_evidence(span: Range, paragraphs: Sequence[Range], sentences: Sequence[Range]) -> bool:
    """A cited span counts as evidence when it overlaps a gold sentence or lies inside a gold
    evidence paragraph."""
    return touches(span, sentences) or inside(span, paragraphs)


def evidence_hit(cited: Sequence[Range], paragraphs: Sequence[Range], sentences: Sequence[Range]) -> float:
    """1.0 when any citation is on the gold evidence, else 0.0."""
    return float(any(on_evidence(span, paragraphs, sentences) for span in cited))


def evidence_precision(cited: Sequence[Range], paragraphs: Sequence[Range], sentences: Sequence[Range]) -> float | None:
    """The share of citations on the gold evidence (None without citations)."""
    if not cited:
        return None
    return sum(on_evidence(span, paragraphs, sentences) for span in cited) / len(cited)


def yes_no_correct(abstained: bool, verdict: str, golds: Sequence[str]) -> float:
    """1.0 when the answer's verdict is one the annotators gave ("Yes"/"No"), else 0.0 (an
    abstention or an answer without a verdict is wrong)."""
    wanted = {g.strip().lower() for g in golds}
    return float(not abstained and bool(verdict) and verdict.lower() in wanted)
