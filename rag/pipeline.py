"""The one place that knows the order of the stages and the policy between them. ``Rag.ask``
(``rag.api``) calls ``ask``; the API, the command line and the UI all go through ``Rag``."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from rag.errors import InputError, StoreError
from rag.ask.types import Answer, Scope, Turn
from rag.scope import resolve_scope

MAX_QUESTION_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_question(question: str) -> str:
    """Strip control characters and surrounding space; reject empty or over-long questions."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    bad = next((i for i, ch in enumerate(question) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:  # a lone surrogate: an undecodable byte read with surrogateescape, say
        raise InputError(f"the question has an undecodable character at position {bad}; send UTF-8 text")
    cleaned = " ".join(_CONTROL.sub(" ", question).split())
    if not cleaned:
        raise InputError("the question is empty; type a question")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise InputError(f"the question has {len(cleaned)} characters; shorten it to {MAX_QUESTION_CHARS} or fewer")
    if not re.search(r"\w", cleaned):
        raise InputError("the question has no words; type a question")
    return cleaned


def ask(
    rag,
    question: str,
    history: Sequence[Turn | tuple[str, str]] = (),
    answerer: str | None = None,
    on_token: Callable[[str], None] | None = None,
    documents: Sequence[str] | Scope | None = None,
) -> Answer:
    """The stages, in order: analyse the question as asked -> condense a follow-up into a
    retrieval query -> retrieve -> rerank -> the question's forms (one reading per option of a
    comparison or a two-thing question; else a second hop when the best evidence is under the
    gate or not of the kind asked) -> gate -> compose -> cite -> verify -> abstain if nothing
    survives. See ``Rag.ask`` for the arguments."""
    from rag.ask.analysis import analyse
    from rag.ask.conversation import retrieval_query
    from rag.ask.forms import FORMS
    from rag.ask.forms.base import Tools
    from rag.ask.rerank import answer_like, best_by_features
    from rag.ask.retrieval import Retriever
    from rag.ask.verify import live_evidence, stale_note

    question = clean_question(question)
    name = answerer or rag.settings.answerer
    rag.answerer(name)  # an unknown answerer is an error before any work
    analysis = analyse(question)
    query = retrieval_query(question, [t if isinstance(t, Turn) else Turn(*t) for t in history])
    index = rag._lexical_index()
    if not len(index):
        raise StoreError("the index is empty; ingest documents first: rag ingest PATH")
    scope = documents if isinstance(documents, Scope) or documents is None else resolve_scope(documents, index.records)
    retriever = Retriever(rag.store, rag.embedder, index, rag.settings, scope)
    hits = retriever.retrieve(query)
    candidates = answer_like(hits)
    files = rag.source_files
    # Evidence whose file is missing or changed never wins over live evidence.
    evidence, stale = live_evidence(rag.reranker.rerank(question, query, candidates, index.term_idf), files)

    def judge(asked: str, asked_query: str, found):
        return live_evidence(rag.reranker.rerank(asked, asked_query, found, index.term_idf), files)[0]

    tools = Tools(
        retrieve=lambda asked: answer_like(retriever.retrieve(asked)),
        judge=judge,
        gate=rag.settings.gate_threshold(),
        evidence=tuple(evidence),
        query=query,
        narrow=lambda asked, asked_query, found: best_by_features(asked, asked_query, found, index.term_idf, rag.settings.bridge_k),
        describe=rag.describe(index),
        bridge_threshold=rag.settings.bridge_threshold,
        bridges=rag.settings.bridges,
    )
    reading = None
    for form in FORMS:  # the first form that applies and settles the question leads
        plan = form.plan(analysis, rag.settings)
        reading = form.read(plan, analysis, tools) if plan is not None else None
        if reading is not None:
            lead = reading.ids()
            evidence = [*reading.evidence, *(e for e in evidence if e.hit.sentence.sentence_id not in lead)]
            break

    def list_items():  # read only for an extractive answer past the gate, with no reading
        from rag.ask.lists import read_list
        from rag.ask.rerank import judge_each

        if reading is not None:
            return ()
        return read_list(
            question,
            evidence,
            lambda hit, n: [h for h in retriever.neighbours(hit, n, n) if files.is_live(h.sentence)],
            lambda found: judge_each(rag.reranker, question, found),
            rag.settings,
        )

    answer = compose(rag, analysis, query, hits, evidence, candidates, stale_note(stale), name, on_token, scope, list_items, reading)
    return replace(answer, ranked=tuple(evidence), scope=scope, analysis=analysis)


def compose(rag, analysis, query, hits, evidence, candidates, warning, name, on_token, scope, list_items, reading) -> Answer:
    """The policy after reranking: gate -> compose -> cite -> verify -> abstain if nothing
    survives (an abstention offers the live ``candidates`` instead; ``warning``: stale evidence;
    ``list_items()``: a list answer's sentences, which the extractive answer cites in document
    order; ``reading``: a form's reading, whose sentences an extractive answer quotes)."""
    from rag.ask.citing import abstention, cite, short_answers, with_one_thing_verdict, with_strength, with_verdict
    from rag.ask.lists import list_draft
    from rag.ask.rerank import gate_score
    from rag.ask.verify import verify_answer

    question, files = analysis.question, rag.source_files
    best = gate_score(evidence[0]) if evidence else 0.0

    def abstain(reason: str) -> Answer:
        closest = [h for h in candidates if files.is_live(h.sentence)]  # in retrieval order
        return abstention(question, query, closest, best, reason, name, scoped=scope is not None)

    if best < rag.settings.gate_threshold():
        return abstain(warning)
    items = list_items() if name == "extractive" else ()  # a composer that writes reads the evidence itself
    if items:
        draft = list_draft(items)
    elif reading is not None and name == "extractive":
        draft = list_draft(reading.evidence[1:] + reading.evidence[:1])  # what it rests on, then the lead
    else:
        draft = rag.answerer(name).compose(question, evidence, on_token)
    if not draft.sentences:
        return abstain(draft.note or warning)
    verification = verify_answer(cite(question, query, draft, hits, best, name), files, rag.checker(name))
    if not verification.answer.sentences:
        return abstain(verification.problem or warning or "no sentence passed verification")
    answer = verification.answer
    strong = rag.settings.strong_threshold()
    if strong is not None:
        listed = {e.hit.sentence.sentence_id: e for e in items}
        judged = [*(e for e in evidence if e.hit.sentence.sentence_id not in listed), *listed.values()]
        unmarked = {e.hit.sentence.sentence_id for e in reading.rests_on} if reading is not None else set()
        answer = with_strength(answer, judged, strong, rag.settings.reader_strong_margin, frozenset(listed), unmarked)
    shorts = short_answers(answer, items or evidence[:1])
    answer = replace(answer, short_answer=shorts[0] if shorts else None, short_answers=shorts, warnings=(warning,) if warning else ())
    answer = with_verdict(answer, reading)
    if reading is not None:
        answer = replace(answer, rests_on=tuple(e.hit.sentence.sentence_id for e in reading.rests_on))
    if rag.settings.one_thing_verdicts:
        answer = with_one_thing_verdict(answer, evidence[0], question)
    return answer
