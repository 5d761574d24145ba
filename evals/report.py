"""What ``rag eval`` shows: the terminal table, the --json object, the Markdown report and its chart.

Everything here formats the ``DatasetResult`` values that ``evals.harness`` computed; nothing runs
a question or scores an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from evals.records import RANK_CUTOFFS, Cited, DatasetResult, QARecord, markdown_cell
from evals.metrics import Metric

LABELS = {
    "gold_recall": "gold-sentence citation recall",
    "gold_precision": "gold-sentence citation precision",
    "fact_coverage": "key-fact coverage",
    "quote_exactness": "quote exactness",
    "alce_recall": "ALCE citation recall",
    "alce_precision": "ALCE citation precision",
    **{f"hit@{k}": f"gold sentence in top {k}" for k in RANK_CUTOFFS},
    "mrr@10": "MRR@10 of gold sentences",
    "gold_cited_first": "gold sentence ranked first and cited",
    "short_answer_em": "short-answer exact match",
    "short_answer_f1": "short-answer token F1",
    "strong_mark_wrong": "answers with a wrong 'strong' mark",
    **{f"reranked_hit@{k}": f"gold sentence in the reranked top {k}" for k in (1, 3, 5)},
    "abstention_precision": "abstention precision",
    "abstention_recall": "abstention recall",
    "false_refusal_rate": "false-refusal rate",
    "precision": "precision (supported)",
    "recall": "recall (supported)",
    "f1": "F1 (supported)",
    "answer_f1": "answer token F1",
    "accuracy": "accuracy",
    "exact_match": "exact match",
    "answer_contained": "gold answer contained",
    "paragraph_citation_precision": "paragraph citation precision",
    "paragraph_citation_recall": "paragraph citation recall",
    "recall_at_5": "supporting paragraphs in top 5",
    "answer_f1_answerable": "answer token F1 (answerable)",
    "answer_f1_sentences": "answer token F1 of the whole answer text",
    "evidence_hit": "gold evidence cited",
    "evidence_citation_precision": "citations on gold evidence",
    "evidence_ranked_first": "gold evidence ranked first",
    "evidence_in_ranked_top5": "gold evidence in the reranked top 5",
    "unanswerable_declined": "unanswerable declined",
    "yes_no_accuracy": "yes/no accuracy",
    "latency_p50": "latency p50",
    "latency_p95": "latency p95",
}
CHART_METRICS = {
    "qa": ("gold_cited_first", "gold_recall", "gold_precision", "fact_coverage", "hit@5", "quote_exactness"),
    "pooled": ("abstention_precision", "abstention_recall", "false_refusal_rate"),
    "verifier": ("precision", "recall", "f1"),
    "hotpotqa": (
        "answer_f1", "exact_match", "paragraph_citation_precision", "paragraph_citation_recall", "recall_at_5"
    ),
    "qasper": ("answer_f1", "evidence_hit", "evidence_citation_precision", "false_refusal_rate", "unanswerable_declined"),
}
METHOD_NOTES = (
    "Gold sentences are located verbatim in their files; a citation or retrieved sentence hits a gold "
    "sentence when it is in the same file and its character span overlaps the gold span.",
    "ALCE citation recall/precision follow ALCE's definitions, but the judge is `rag.ask.support.check_support` "
    "(deterministic word, number, name and negation checks), not an NLI model: none is available offline. "
    "The extractive answerer's sentences are verbatim quotes, so its ALCE scores are 1 by construction; "
    "they are informative for generated answers.",
    "Retrieval ranks are positions in `Answer.evidence`, the fused retrieval order before the answerer re-scores "
    "it. An abstention keeps only its 10 best answer-like hits (headings and stubs dropped), so under an "
    "abstention ranks shift slightly and a gold sentence below them counts as a miss at hit@10 and beyond.",
    "Intervals are 95 % percentile bootstrap intervals (1000 resamples, fixed seed) over questions "
    "(over citations for quote exactness).",
    "The threshold is calibrated on the same questions it is scored on, so its balanced accuracy is optimistic.",
)


def metric_json(metric: Metric) -> dict:
    """A metric as JSON: value, number of items, 95 % interval (null where undefined)."""
    return {"value": metric.value, "n": metric.n, "ci": list(metric.ci) if metric.ci else None}


def to_json(results: Sequence[DatasetResult], calibrated: dict | None, run: dict) -> dict:
    """Every metric, interval and per-question record as one JSON-ready object."""
    return {
        "run": run,
        "datasets": {
            r.name: {
                "kind": r.kind,
                "metrics": {m.key: metric_json(m) for m in r.metrics},
                **r.facts,
                "records": [asdict(record) for record in r.records],
            }
            for r in results
        },
        "calibration": calibrated,
    }


def format_value(metric: Metric) -> str:
    """A metric as text: rates with three decimals and their interval, latency in milliseconds."""
    if metric.value is None:
        return "—"
    if metric.key.startswith("latency"):
        return f"{metric.value * 1000:.0f} ms"
    interval = f"  [{metric.ci[0]:.3f}, {metric.ci[1]:.3f}]" if metric.ci else ""
    return f"{metric.value:.3f}{interval}"


def format_table(results: Sequence[DatasetResult], calibrated: dict | None, run: dict) -> str:
    """The terminal summary: one aligned block per dataset, then the calibrated threshold."""
    width = max(len(label) for label in LABELS.values()) + 2
    lines = [f"rag eval — store {run['store']}, threshold {run['threshold']}, answerer {run['answerer']}"]
    for result in results:
        shown = [m for m in result.metrics if m.value is not None]
        size = f", {len(result.records)} items" if result.records else ""
        lines += ["", f"{result.name} ({result.kind}{size})"]
        lines += [f"  {LABELS.get(m.key, m.key):<{width}}{format_value(m):<28}n={m.n}" for m in shown]
        if "by_kind" in result.facts:
            kinds = ", ".join(f"{k} {v['accuracy']:.2f} ({v['n']})" for k, v in result.facts["by_kind"].items())
            lines.append(f"  {'accuracy by kind':<{width}}{kinds}")
        if result.kind in ("hotpotqa", "qasper"):
            facts = result.facts
            lines.append(
                f"  {'corpus':<{width}}{facts['documents']} documents in {facts['store']}, "
                f"ingest {facts['ingest_seconds']} s, warm-up {facts['warmup_seconds']} s"
            )
        if result.kind == "qasper":
            from evals.qasper import ANCHORS

            lines.append(f"  {'asked':<{width}}{result.facts['asked']}")
            anchors = "; ".join(f"{name} answer F1 {f1}, evidence F1 {ev}" for name, f1, ev in ANCHORS)
            lines.append(f"  {'published anchors':<{width}}{anchors}")
    if calibrated:
        lines += [
            "",
            f"calibrated abstain threshold {calibrated['threshold']:.3f} (balanced accuracy "
            f"{calibrated['balanced_accuracy']:.3f}; current {calibrated['current']} gives "
            f"{calibrated['current_balanced_accuracy']:.3f})",
            f"  {'threshold':>10}{'answered':>10}{'abstained':>11}{'balanced':>10}",
        ]
        lines += [
            f"  {r['threshold']:>10.3f}{r['answered']:>10.3f}{r['abstained']:>11.3f}{r['balanced_accuracy']:>10.3f}"
            for r in calibrated["table"]
        ]
    lines += ["", f"wall time {run['wall_seconds']:.1f} s (warm-up {run['warmup_seconds']:.1f} s)"]
    return "\n".join(lines)


def failures(record: QARecord) -> list[str]:
    """Why a question counts as failed: wrong abstention, missed gold, missing facts."""
    if record.answerable and record.abstained:
        return ["refused an answerable question"]
    if not record.answerable:
        return [] if record.abstained else ["answered an unanswerable question"]
    problems = []
    if record.gold_recall is not None and record.gold_recall < 1:
        hit = round(record.gold_recall * len(record.gold))
        problems.append(f"cited {hit} of {len(record.gold)} gold sentences")
    if record.missing_facts:
        problems.append("missing facts: " + "; ".join(record.missing_facts))
    return problems




def _cited_cell(citations: Sequence[Cited]) -> str:
    parts = [
        f"[{c.label}] {Path(c.path).name} {c.start}:{c.end}{' (gold)' if c.gold else ''}: "
        f"“{markdown_cell(c.quote, 160)}”"
        for c in citations
    ]
    return "<br>".join(parts) or "—"


def write_chart(path: Path, results: Sequence[DatasetResult]) -> None:
    """A horizontal bar chart of the headline rates with their 95 % intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [
        (f"{r.name}: {LABELS[m.key]}", m, f"C{i % 10}")
        for i, r in enumerate(results)
        for m in r.metrics
        if m.key in CHART_METRICS.get(r.kind if r.kind != "multiturn" else "qa", ()) and m.value is not None
    ]
    figure, axes = plt.subplots(figsize=(8, 0.32 * len(bars) + 1.2))
    positions = range(len(bars))
    values = [m.value for _, m, _ in bars]
    errors = [
        [m.value - m.ci[0] if m.ci else 0 for _, m, _ in bars],
        [m.ci[1] - m.value if m.ci else 0 for _, m, _ in bars],
    ]
    axes.barh(positions, values, xerr=errors, color=[c for _, _, c in bars], ecolor="#333333", capsize=2)
    axes.set_yticks(list(positions), [label for label, _, _ in bars], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("rate (bars: 95 % bootstrap interval)")
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def format_report(results: Sequence[DatasetResult], calibrated: dict | None, run: dict, chart: str) -> str:
    """The Markdown report: metric table, chart, method notes, calibration, failed questions."""
    from evals import hotpotqa, qasper

    keys = list(dict.fromkeys(m.key for r in results for m in r.metrics))
    by_name = {r.name: {m.key: m for m in r.metrics} for r in results}
    lines = [
        "# rag eval report",
        "",
        f"Store `{run['store']}`, answerer `{run['answerer']}`, abstain threshold {run['threshold']}. "
        f"Wall time {run['wall_seconds']:.1f} s (warm-up {run['warmup_seconds']:.1f} s).",
        "",
        "## Metrics",
        "",
        "| metric | " + " | ".join(r.name for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for key in keys:
        cells = []
        for r in results:
            metric = by_name[r.name].get(key)
            cells.append(f"{format_value(metric)} (n={metric.n})" if metric and metric.value is not None else "—")
        lines.append(f"| {LABELS.get(key, key)} | " + " | ".join(cells) + " |")
    lines += ["", f"![headline metrics]({chart})", "", "How these are measured:", ""]
    lines += [f"- {note}" for note in METHOD_NOTES]
    if calibrated:
        lines += [
            "",
            "## Abstention threshold",
            "",
            f"Calibrated on {', '.join(calibrated['sets'])} ({calibrated['answerable']} answerable, "
            f"{calibrated['unanswerable']} unanswerable questions) from `Answer.confidence`: "
            f"**{calibrated['threshold']:.3f}** (balanced accuracy {calibrated['balanced_accuracy']:.3f}); "
            f"the current {calibrated['current']} gives {calibrated['current_balanced_accuracy']:.3f}.",
            "",
            "| threshold | answerable answered | unanswerable abstained | balanced accuracy |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['threshold']:.3f} | {r['answered']:.3f} | {r['abstained']:.3f} | {r['balanced_accuracy']:.3f} |"
            for r in calibrated["table"]
        ]
    for result in results:
        if "by_kind" in result.facts:
            lines += ["", f"## Verifier accuracy by kind ({result.name})", ""]
            lines += ["| kind | accuracy | n |", "|---|---|---|"]
            lines += [f"| {k} | {v['accuracy']:.3f} | {v['n']} |" for k, v in result.facts["by_kind"].items()]
        if result.kind == "hotpotqa":
            lines += hotpotqa.report_section(result.records, result.facts)
        if result.kind == "qasper":
            lines += qasper.report_section(result.records, result.facts)
    question_sets = [r for r in results if r.kind in ("qa", "multiturn")]
    failed = [(r.name, rec, failures(rec)) for r in question_sets for rec in r.records]
    failed = [(name, rec, problems) for name, rec, problems in failed if problems]
    if question_sets:
        lines += ["", f"## Failed questions ({len(failed)})", ""]
    if failed:
        lines += ["| set | id | problem | question | answer | cited | gold |", "|---|---|---|---|---|---|---|"]
        lines += [
            f"| {name} | {rec.id} | {markdown_cell('; '.join(problems))} | {markdown_cell(rec.question)} "
            f"| {markdown_cell(rec.answer, 300)} | {_cited_cell(rec.citations)} "
            f"| {markdown_cell(' / '.join(rec.gold), 200) or '—'} |"
            for name, rec, problems in failed
        ]
    return "\n".join(lines) + "\n"


def write_report(path: Path, results: Sequence[DatasetResult], calibrated: dict | None, run: dict) -> Path:
    """Write the Markdown report and its chart (same name, .png) next to it; returns the chart path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    chart = path.with_suffix(".png")
    write_chart(chart, results)
    path.write_text(format_report(results, calibrated, run, chart.name), "utf-8")
    return chart
