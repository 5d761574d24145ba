"""Every evaluation metric against a hand-computed example (pure, no model, no store)."""

from __future__ import annotations

import operator

import pytest

from evals.hotpotqa import HotpotItem, document_name, document_text, pooled_paragraphs
from evals.metrics import (
    Span,
    abstention_scores,
    alce_citation_quality,
    answer_contained,
    binary_scores,
    bootstrap_ci,
    calibrate_threshold,
    citation_precision,
    citation_recall,
    exact_match,
    fact_coverage,
    first_relevant_rank,
    hit_at_k,
    locate,
    mean,
    missing_facts,
    normalize_answer,
    overlaps,
    percentile,
    quote_is_exact,
    reciprocal_rank,
    strip_citation_markers,
    summarise_mean,
    threshold_row,
    token_f1,
)
from rag.ingest.files import parse_header

TEXT = "Alpha. Beta gamma. Delta."


# ---- spans and retrieval -------------------------------------------------------------------


def test_locate_finds_the_verbatim_span_or_none():
    assert locate(TEXT, "Beta gamma.", "a.txt") == Span("a.txt", 7, 18)
    assert TEXT[7:18] == "Beta gamma."
    assert locate(TEXT, "beta gamma.", "a.txt") is None
    assert locate(TEXT, "", "a.txt") is None


def test_overlap_needs_the_same_file_and_a_shared_character():
    gold = Span("a.txt", 7, 18)
    assert overlaps(Span("a.txt", 17, 20), gold)
    assert overlaps(Span("a.txt", 0, 25), gold)
    assert not overlaps(Span("a.txt", 18, 25), gold)  # touching is not overlapping
    assert not overlaps(Span("b.txt", 7, 18), gold)


def test_rank_hit_at_k_and_reciprocal_rank():
    ranked = [Span("a.txt", 0, 6), Span("a.txt", 7, 18), Span("a.txt", 19, 25)]
    rank = first_relevant_rank(ranked, [Span("a.txt", 8, 12)], overlaps)
    assert rank == 2
    assert first_relevant_rank(ranked, [Span("b.txt", 8, 12)], overlaps) is None
    assert (hit_at_k(rank, 1), hit_at_k(rank, 3), hit_at_k(None, 3)) == (0.0, 1.0, 0.0)
    # MRR@3 over first ranks 1, 2, none, 4: (1 + 1/2 + 0 + 0) / 4
    assert mean([reciprocal_rank(r, 3) for r in (1, 2, None, 4)]) == pytest.approx(0.375)


# ---- citations -----------------------------------------------------------------------------


def test_gold_citation_precision_and_recall():
    gold = [Span("a.txt", 7, 18), Span("a.txt", 19, 25)]
    cited = [Span("a.txt", 7, 18), Span("a.txt", 0, 6), Span("a.txt", 10, 12)]
    assert citation_precision(cited, gold, overlaps) == pytest.approx(2 / 3)  # 2 of 3 citations hit gold
    assert citation_recall(cited, gold, overlaps) == pytest.approx(1 / 2)  # 1 of 2 gold sentences cited
    assert citation_precision([], gold, overlaps) is None
    assert citation_recall([], gold, overlaps) == 0.0
    assert citation_recall(cited, [], overlaps) is None


def test_title_precision_recall_and_recall_at_k_are_the_same_functions_with_equality():
    cited = ["Paris", "Lyon", "Paris"]
    supporting = ["Paris", "France"]
    assert citation_precision(cited, supporting, operator.eq) == pytest.approx(2 / 3)
    assert citation_recall(cited, supporting, operator.eq) == pytest.approx(1 / 2)
    assert citation_recall(["France", "Lyon", "Paris"][:2], supporting, operator.eq) == pytest.approx(1 / 2)


def test_quote_exactness():
    assert quote_is_exact(TEXT, 7, 18, "Beta gamma.")
    assert not quote_is_exact(TEXT, 7, 17, "Beta gamma.")
    assert not quote_is_exact(TEXT, -3, 2, "")


def _words_judge(claim, evidence):
    """Supported when every word of the claim is in the joined evidence."""
    return set(claim.split()) <= set(" ".join(evidence).split())


def test_alce_citation_recall_and_precision():
    statements = [
        ("a b", ["a b"]),  # supported, its one citation is precise
        ("a b", ["a", "b", "c"]),  # supported; "a" and "b" are needed, "c" is irrelevant
        ("a d", ["a", "b"]),  # unsupported: both citations count as imprecise
        ("x", []),  # no citation: unsupported, no citations counted
    ]
    quality = alce_citation_quality(statements, _words_judge)
    assert quality.recall == pytest.approx(2 / 4)
    assert quality.precision == pytest.approx((1 + 2 + 0) / (1 + 3 + 2))


def test_alce_a_citation_that_supports_alone_is_precise_even_if_redundant():
    quality = alce_citation_quality([("a", ["a", "a b"])], _words_judge)
    assert (quality.recall, quality.precision) == (1.0, 1.0)
    assert alce_citation_quality([], _words_judge).recall is None
    assert alce_citation_quality([("a", [])], _words_judge).precision is None


# ---- answers -------------------------------------------------------------------------------


def test_key_fact_coverage_is_case_and_whitespace_insensitive():
    answer = "The talks lasted more than  five\nhours [1]."
    facts = ["five hours", "Monday", "TALKS"]
    assert missing_facts(answer, facts) == ("Monday",)
    assert fact_coverage(answer, facts) == pytest.approx(2 / 3)
    assert fact_coverage(answer, []) is None


def test_hotpotqa_normalisation_exact_match_and_f1():
    assert normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    assert exact_match("the Eiffel Tower.", "Eiffel tower") == 1.0
    assert exact_match("Eiffel Tower in Paris", "Eiffel Tower") == 0.0
    # prediction tokens paris is in france, gold paris france: P = 2/4, R = 2/2, F1 = 2PR/(P+R) = 2/3
    assert token_f1("Paris is in France", "Paris, France") == pytest.approx(2 / 3)
    assert token_f1("yes it is", "yes") == 0.0  # yes/no answers must match exactly
    assert token_f1("No.", "no") == 1.0
    assert token_f1("", "Paris") == 0.0


def test_citation_markers_are_stripped_and_containment_is_by_whole_words():
    assert strip_citation_markers("It was 2022. [1][2] Then more. [3]") == "It was 2022. Then more."
    assert answer_contained("He was born in Paris, France [1].", "Paris") == 1.0
    assert answer_contained("A Parisian painter.", "Paris") == 0.0


# ---- abstention, verifier, calibration -----------------------------------------------------


def test_abstention_precision_recall_and_false_refusals():
    abstained = [True, True, False, False, True]
    answerable = [False, True, True, False, False]
    scores = abstention_scores(abstained, answerable)
    assert scores.precision == pytest.approx(2 / 3)  # abstentions 0, 1, 4; 0 and 4 unanswerable
    assert scores.recall == pytest.approx(2 / 3)  # unanswerable 0, 3, 4; 0 and 4 abstained
    assert scores.false_refusal_rate == pytest.approx(1 / 2)  # answerable 1, 2; 1 abstained
    none = abstention_scores([False, False], [True, True])
    assert (none.precision, none.recall, none.false_refusal_rate) == (None, None, 0.0)


def test_verifier_binary_scores():
    scores = binary_scores([True, True, False, False, True], [True, False, True, False, True])
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(2 / 3)
    assert scores.accuracy == pytest.approx(3 / 5)
    never = binary_scores([False, False], [True, False])
    assert (never.precision, never.recall, never.f1, never.accuracy) == (None, 0.0, None, 0.5)


def test_calibration_picks_the_best_balanced_accuracy_in_the_middle_of_its_gap():
    answerable, unanswerable = [0.6, 0.5, 0.7, 0.4], [0.3, 0.45, 0.2]
    # At 0.5: answered 3/4 answerable, abstained 3/3 unanswerable -> 0.875, the best; the gap below
    # 0.5 reaches down to 0.45, so the threshold is 0.475.
    threshold, table = calibrate_threshold(answerable, unanswerable, grid=[0.4, 0.5])
    assert threshold == pytest.approx(0.475)
    assert [row.threshold for row in table] == [0.4, pytest.approx(0.475), 0.5]
    assert table[0].balanced_accuracy == pytest.approx((1 + 2 / 3) / 2)
    assert (table[1].answered, table[1].abstained, table[1].balanced_accuracy) == (0.75, 1.0, 0.875)


def test_calibration_breaks_ties_by_the_lower_threshold_and_needs_both_classes():
    # 0.4 and 0.8 both reach 0.75; 0.4 wins and moves to the middle of the gap from 0.2
    threshold, _ = calibrate_threshold([0.4, 0.8], [0.2, 0.6], grid=[])
    assert threshold == pytest.approx(0.3)
    assert threshold_row(0.3, [0.4, 0.8], [0.2, 0.6]).balanced_accuracy == 0.75
    with pytest.raises(ValueError):
        calibrate_threshold([0.5], [])


# ---- summaries -----------------------------------------------------------------------------


def test_percentile_interpolates_linearly():
    assert percentile([4, 1, 3, 2], 50) == pytest.approx(2.5)
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)  # position 3 * 0.95 = 2.85
    assert percentile([5], 95) == 5
    assert percentile([], 50) is None


def test_bootstrap_interval_is_deterministic_and_sensible():
    values = [0.0, 1.0] * 10
    interval = bootstrap_ci(values, mean)
    assert interval == bootstrap_ci(values, mean)
    low, high = interval
    assert 0.0 <= low < 0.5 < high <= 1.0
    assert bootstrap_ci([1.0, 1.0, 1.0], mean) == (1.0, 1.0)
    assert bootstrap_ci([], mean) is None
    assert bootstrap_ci([1.0], lambda sample: None) is None


def test_summarise_mean_skips_undefined_values():
    metric = summarise_mean("gold_recall", [1.0, None, 0.0])
    assert (metric.key, metric.value, metric.n) == ("gold_recall", 0.5, 2)
    assert summarise_mean("x", [None]).value is None


# ---- HotpotQA corpus preparation -----------------------------------------------------------


def test_hotpotqa_documents_pool_titles_and_carry_a_header_ingest_understands():
    first = HotpotItem("1", "q?", "a", ("T1",), (("T1", ("One.", " Two. ")), ("T2", ("Three.",))))
    second = HotpotItem("2", "q?", "a", ("T2",), (("T2", ("Other.",)),))
    pooled = pooled_paragraphs([first, second])
    assert pooled == {"T1": ("One.", " Two. "), "T2": ("Three.",)}
    text = document_text("T1: a title", pooled["T1"])
    assert text.endswith("-----\nOne. Two.\n")
    meta, body_start = parse_header(text)
    assert meta["title"] == "T1: a title" and text[body_start:] == "One. Two.\n"
    assert document_name("T1") == document_name("T1") != document_name("T2")
    assert document_name("a/b").endswith(".txt") and "/" not in document_name("a/b")
