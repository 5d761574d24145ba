"""The combined reranker judges the feature scorer's best a few at a time and stops where no
later sentence could lead; the lead must be the one judging all of them gives."""

from __future__ import annotations

import random

from fakes import scripted_case
from rag.models.reader import SPANS_FOR
from rag.ask.rerank import CombinedReranker


def _rerank(hits, reader, features, first, k=16):
    return CombinedReranker(reader, features, k=k, weight=0.4, gate_weight=0.8, first=first).rerank("q", "q", hits, lambda t: 1.0)


def test_judging_a_few_at_a_time_gives_the_lead_that_judging_all_gives():
    rng = random.Random(7)
    stopped_early = 0
    for _ in range(400):
        n = rng.randint(1, 20)
        relevance = [rng.choice([rng.random(), rng.random() ** 6, 1 - rng.random() ** 6]) for _ in range(n)]
        features = [rng.random() for _ in range(n)]
        hits, reader, scores = scripted_case(relevance, features)
        everything = _rerank(hits, reader, scores, first=16)
        hits, reader, scores = scripted_case(relevance, features)
        staged = _rerank(hits, reader, scores, first=4)
        lead, expected = staged[0], everything[0]
        assert lead.hit == expected.hit
        assert (lead.score, lead.confidence, lead.relevance) == (expected.score, expected.confidence, expected.relevance)
        # Its short answer too, unless judging all gave it none (three more relevant sentences
        # among those left unjudged): then it may have one.
        if expected.answer_span is not None:
            assert lead.answer_span == expected.answer_span
        assert len(staged) == len(everything) == min(n, 16)
        stopped_early += sum(reader.judged) < min(n, 16)
    assert stopped_early > 100  # the bound does stop the reader, often


def test_a_confident_lead_leaves_the_rest_unjudged_and_behind_it():
    relevance = [0.99, 0.2, 0.1, 0.3] + [0.9] * 12
    features = [0.9, 0.8, 0.7, 0.6] + [0.3 - 0.01 * i for i in range(12)]
    hits, reader, scores = scripted_case(relevance, features)
    ranked = _rerank(hits, reader, scores, first=4)
    assert reader.judged == [4]  # 0.4 * 0.99 + 0.6 * 0.9 = 0.936 >= 0.4 + 0.6 * 0.3 = 0.58
    assert ranked[0].hit == hits[0]
    unjudged = [e for e in ranked if e.relevance is None]
    assert len(unjudged) == 12
    assert all(e.answer_span is None and e.score == 0.6 * features[hits.index(e.hit)] for e in unjudged)
    assert ranked.index(unjudged[0]) >= 1


def test_a_weak_lead_has_every_sentence_judged_and_spans_only_for_the_most_relevant():
    relevance = [0.1, 0.2, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.7, 0.1]
    features = [0.5] * 10  # the bound, 0.4 + 0.6 * 0.5 = 0.7, stays over the best blend, 0.62
    hits, reader, scores = scripted_case(relevance, features)
    ranked = _rerank(hits, reader, scores, first=4)
    assert reader.judged == [4, 4, 2]
    spanned = {e.hit.sentence.text for e in ranked if e.answer_span is not None}
    assert len(spanned) == SPANS_FOR == 3
    assert spanned == {hits[i].sentence.text for i in (5, 8, 1)}  # the three most relevant of all ten
