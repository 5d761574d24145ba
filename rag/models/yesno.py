"""Yes or no about one thing: "Do they use attention?", "Is the dataset publicly available?".

A question that opens with an auxiliary verb (do, does, did, is, are, was, were, can, has,
have, …) and is not a choice ("Is it A or B?") nor one of the two-thing forms of
``rag.ask.forms.verdicts`` asks for a yes or a no. The cited sentence decides it: a logistic model over
a few features of the question and that sentence (how much of what the question asks the
sentence holds, with its previous sentence; negation in either) trained by
``scripts/train_yesno.py`` on QASPER train's yes/no questions; its weights are
``yesno.json`` beside this file. Where the model is not sure either way the verdict is None:
"not said" stays not said, and an abstention never gets a verdict.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

from rag.text import content_terms, negated, words

WEIGHTS = Path(__file__).with_name("yesno.json")
_AUX = frozenset(
    "do does did is are was were am can could has have had will would should shall may might must".split()
)
# Words of the question that name no property of the thing asked about.
_GENERIC = frozenset(content_terms("they their them paper authors author work study this these use used using any also"))
_CONTRAST = frozenset("however but although though instead unlike only whereas rather".split())
FEATURES = (
    "bias",
    "covered",
    "covered_with_previous",
    "missing_rare",
    "sentence_negated",
    "question_negated",
    "negation_agrees",
    "contrast",
    "question_only",
)


def asks_yes_no(question: str) -> bool:
    """Whether ``question`` asks a yes or a no about one thing (auxiliary verb first, no choice
    between options, not a two-thing verdict of ``rag.ask.forms.verdicts``)."""
    from rag.ask.forms.verdicts import parse_yes_no

    first = words(question)[:1]
    if not first or first[0].lower() not in _AUX:
        return False
    if re.search(r"\bor\b", question, re.IGNORECASE):
        return False
    return parse_yes_no(question) is None


def _asked_terms(question: str) -> list[str]:
    return [t for t in dict.fromkeys(content_terms(question)) if t not in _GENERIC]


def features(question: str, sentence: str, previous: str = "") -> list[float]:
    """The model's inputs for ``question`` against the cited ``sentence`` (and its previous one)."""
    asked = _asked_terms(question)
    held = set(content_terms(sentence))
    around = held | set(content_terms(previous))
    covered = sum(t in held for t in asked) / len(asked) if asked else 0.0
    covered_previous = sum(t in around for t in asked) / len(asked) if asked else 0.0
    longest_missing = max((len(t) for t in asked if t not in around), default=0)
    sentence_negated, question_negated = negated(sentence), negated(question)
    lowered = {w.lower() for w in words(sentence)}
    return [
        1.0,
        covered,
        covered_previous,
        min(longest_missing, 12) / 12,
        float(sentence_negated),
        float(question_negated),
        float(sentence_negated == question_negated),
        float(bool(lowered & _CONTRAST)),
        float("only" in {w.lower() for w in words(question)}),
    ]


@lru_cache(maxsize=1)
def _model() -> dict:
    return json.loads(WEIGHTS.read_text("utf-8"))


def probability_yes(question: str, sentence: str, previous: str = "", model: dict | None = None) -> float:
    """The model's probability that the sentence answers the question "yes"."""
    model = model or _model()
    z = sum(w * x for w, x in zip(model["weights"], features(question, sentence, previous)))
    return 1.0 / (1.0 + math.exp(-z))


def verdict(question: str, sentence: str, previous: str = "", model: dict | None = None) -> str | None:
    """"yes" or "no" for a one-thing yes/no ``question`` from the cited ``sentence``; None where
    the question is not of that kind or the model is not sure (within its ``margin`` of even)."""
    if not asks_yes_no(question):
        return None
    model = model or _model()
    p = probability_yes(question, sentence, previous, model)
    if abs(p - 0.5) < model.get("margin", 0.0):
        return None
    return "yes" if p >= 0.5 else "no"
