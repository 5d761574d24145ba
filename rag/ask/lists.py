"""Answers that are lists or run over several sentences ("What are their evaluation metrics?",
"Which four QA datasets are examined?"): the best sentence and the sentences around it in its
document that the reader also judges to answer, cited together in document order."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from rag.ask.rerank import MIN_ANSWER_WORDS
from rag.text import normalize_space
from rag.ask.types import Draft, DraftSentence, Evidence, Hit

_NUMBERS = "two|three|four|five|six|seven|eight|nine|ten|[2-9]|1[0-9]"
_LIST_QUESTION = re.compile(
    rf"""^\s*(?:
        (?:what|which)\s+(?:\w+[\s-]+){{0,3}}?\w+s\s+(?:are|were|do|did|does|have|is|was)\b  # what metrics are/do ...
      | (?:what|which)\s+(?:are|were)\b                                                  # what are the baselines?
      | (?:list|name|enumerate)\b
      | (?:what|which)\s+(?:\w+\s+)?(?:{_NUMBERS})\b                                      # which four datasets
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_COUNT = re.compile(rf"\b(?:{_NUMBERS})\s+(?:\w+\s+){{0,2}}?\w+s\b", re.IGNORECASE)

# A sentence that goes on a list: a bullet, a number or letter, or an ordinal word first.
_ITEM = re.compile(
    r"""^\s*(?:[-*\u2022\u2013]\s|\(?\d{1,2}[.)]\s|\(?[a-h][.)]\s|\((?:i|ii|iii|iv|v|vi)\)\s
      |(?:the\s+)?(?:first|second|third|fourth|fifth|sixth|last|final)(?:ly)?\b|finally\b|lastly\b|next\b)""",
    re.IGNORECASE | re.VERBOSE,
)
_ANNOUNCES = re.compile(rf"(?::\s*$|\b(?:following|as follows|{_NUMBERS})\b)", re.IGNORECASE)

Judge = Callable[[Sequence[Hit]], Sequence[Evidence]]
Neighbours = Callable[[Hit, int], Sequence[Hit]]


def asks_for_list(question: str) -> bool:
    """Whether the question asks for several things: a plural "what/which" question, one that
    names a count ("which four datasets"), or one that says list or name."""
    return bool(_LIST_QUESTION.search(question) or _COUNT.search(question))


def is_item(text: str) -> bool:
    """Whether a sentence reads as an item of a list (a bullet, number or ordinal word first)."""
    return bool(_ITEM.match(text))


def list_items(
    best: Evidence, neighbours: Sequence[Hit], judge: Judge, threshold: float, cap: int, follow_items: bool = True
) -> list[Evidence]:
    """``best`` and the unbroken runs of its neighbouring sentences (``neighbours``: in document
    order, around ``best``) that answer with it, at most ``cap`` sentences in all, in document
    order. ``judge`` reads each neighbour with ``best`` as its context (the list's head); one
    answers when its relevance is at least ``threshold``, or (``follow_items``) when it follows
    ``best`` reading as a list item and ``best`` announces a list ("the following", a count, a
    colon) or is an item itself. A run stops at the first sentence that does not answer and at a
    stub or heading (fewer than MIN_ANSWER_WORDS words): the next section is not the list."""
    if cap <= 1 or not neighbours:
        return [best]
    start, head = best.hit.sentence.start, best.hit.sentence.text
    ahead = [h for h in neighbours if h.sentence.start < start][::-1]  # nearest first
    behind = [h for h in neighbours if h.sentence.start > start]
    read = [replace(h, context=head) for h in (*ahead[::-1], *behind)]
    judged = {e.hit.sentence.sentence_id: e for e in judge(read)}
    listing = follow_items and (bool(_ANNOUNCES.search(head)) or is_item(head))
    runs: list[list[Evidence]] = []
    for side, follows in ((ahead, False), (behind, listing)):
        run = []
        for hit in side:
            found = judged.get(hit.sentence.sentence_id)
            if found is None or len(hit.sentence.text.split()) < MIN_ANSWER_WORDS:
                break
            if (found.relevance or 0.0) < threshold and not (follows and is_item(hit.sentence.text)):
                break
            run.append(replace(found, hit=hit))
        runs.append(run)
    chosen = [best]
    before, after = runs
    while len(chosen) < cap and (before or after):  # the more relevant side first, one at a time
        side = before if not after or (before and before[0].relevance >= after[0].relevance) else after
        chosen.append(side.pop(0))
    return sorted(chosen, key=lambda e: e.hit.sentence.start)


def read_list(question: str, evidence: Sequence[Evidence], neighbours: Neighbours, judge: Judge, settings) -> tuple[Evidence, ...]:
    """A list answer's sentences, in document order, when ``question`` asks for several things,
    the best evidence passes the gate, and ``judge`` finds more than it
    answering among its ``neighbours(hit, settings.list_window)`` (``list_items`` with
    ``settings.list_threshold``, ``max_list_sentences`` and ``list_items``); else ()."""
    from rag.ask.rerank import gate_score

    if settings.max_list_sentences <= 1 or not evidence:
        return ()
    if not asks_for_list(question) or gate_score(evidence[0]) < settings.gate_threshold():
        return ()
    around = neighbours(evidence[0].hit, settings.list_window)
    items = list_items(evidence[0], around, judge, settings.list_threshold, settings.max_list_sentences, settings.list_items)
    return tuple(items) if len(items) > 1 else ()


def list_draft(items: Sequence[Evidence]) -> Draft:
    """The extractive answer of a list: each item's sentence, citing itself, in document order."""
    return Draft(tuple(DraftSentence(normalize_space(e.hit.sentence.text), (e.hit,)) for e in items))
