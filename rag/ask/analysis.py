"""Question analysis, once: what the question asks, read from the question as asked (never the
retrieval query a follow-up is condensed into), for every later stage to read.

``analyse`` gives the answer kind (a date, a count, a person, a place, a yes or no, a list, other),
the noun asked for ("Which treaty…": "treaty"), the form (a comparison, a yes or no about two
things, what two share; else a bridge candidate: a second hop may follow when the evidence
falls short) with its options as spans of the question, and the questions the reader is asked
about each option. ``rag ask --json`` shows it as ``analysis``.
"""

from __future__ import annotations

import re

from rag.ask.forms import FORMS
from rag.ask.forms.hops import PLACE_QUESTION, WHO_QUESTION
from rag.ask.forms.lexicon import words_of
from rag.ask.lists import asks_for_list
from rag.ask.types import QuestionAnalysis
from rag.text import STOPWORDS, words

_DATE = re.compile(r"^\s*when\b|\b(what|which) (year|date|decade|century|month|day)\b", re.IGNORECASE)
_COUNT = re.compile(r"\bhow (many|much|long|old)\b", re.IGNORECASE)
_WHERE = re.compile(r"^\s*where\b", re.IGNORECASE)
_NOUN = re.compile(r"\b(?:what|which|how many|how much)\s+(?:of the\s+)?([A-Za-z][\w-]*)", re.IGNORECASE)


def analyse(question: str) -> QuestionAnalysis:
    """The analysis of ``question`` as asked; the first form in ``FORMS`` that parses it is its form."""
    kind, noun = answer_kind(question), asked_noun(question)
    for form in FORMS:
        plan = form.parse(question)
        if plan is None:
            continue
        options = tuple(plan.options)
        spans = tuple(span_of(question, option) for option in options)
        if any(span is None for span in spans):
            continue  # an option the question does not spell: no reading of it can be shown
        return QuestionAnalysis(
            question, kind, noun, form.name, spans, tuple(plan.question_for(o) for o in options), plan  # type: ignore[arg-type]
        )
    return QuestionAnalysis(question, kind, noun)


def answer_kind(question: str) -> str:
    """What kind of answer ``question`` asks for, as far as words can tell."""
    if _DATE.search(question):
        return "date"
    if _COUNT.search(question):
        return "count"
    if WHO_QUESTION.search(question):
        return "person"
    if _WHERE.search(question) or PLACE_QUESTION.search(question):
        return "place"
    first = words(question)[:1]
    if first and first[0].lower() in words_of("auxiliaries") | {"can", "could", "will", "would", "should", "must"}:
        return "yes-no"
    if asks_for_list(question):
        return "list"
    return "other"


def asked_noun(question: str) -> str:
    """The noun the question asks for ("Which treaty…" -> "treaty", "How many members…" ->
    "members"), or ""."""
    found = _NOUN.search(question)
    if found is None or found.group(1).lower() in STOPWORDS:
        return ""
    return found.group(1)


def span_of(question: str, option: str) -> tuple[int, int] | None:
    """Where ``option`` stands in ``question`` (any case, any run of spaces), or None."""
    pattern = r"\s+".join(re.escape(w) for w in option.split())
    found = re.search(pattern, question, re.IGNORECASE) if pattern else None
    return found.span() if found else None
