"""``rag eval`` end to end: bad input is one line and exit 2; with the real model over the seed
article, a few questions per set give every metric, a report with a chart, and the same
numbers on a rerun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.shells.cli import main

REPO = Path(__file__).resolve().parents[1]
SETS = ["seed", "unanswerable", "multiturn", "verifier"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nosuch"], "unknown dataset 'nosuch'"),
        (["seed", "--limit", "0"], "--limit must be at least 1"),
        (["{broken}"], "is not JSON Lines"),
        (["{empty}"], "cannot tell what kind of dataset"),
        (["{no_id}"], "{no_id}:1: id: is missing; add it (see evals/data/README.md for the format)"),
        (["{bad_row}"], "{bad_row}:3: answerable: Input should be a valid boolean (see evals/data/README.md"),
        (["{bad_short}"], "{bad_short}:1: short 'Paris' is not an exact substring of a gold sentence; copy it from one"),
        (["{early_gold}"], "{early_gold}:1: turn 1 carries gold; only the last turn does"),
        (["{bad_pair}"], "{bad_pair}:1: kind 'negation' disagrees with supported=true; fix one"),
    ],
)
def test_eval_input_errors_are_one_line_and_exit_2(tmp_path, capsys, arguments, message):
    rows = {
        "broken": "{not json\n",
        "empty": '{"id": "x"}\n',
        "no_id": '{"question": "Who?"}\n',
        "bad_row": '{"id": "a", "question": "Who?"}\n\n{"id": "b", "question": "What?", "answerable": 1}\n',
        "bad_short": '{"id": "a", "question": "Where?", "gold": ["It was signed in Washington."], "short": ["Paris"]}\n',
        "early_gold": '{"id": "m", "turns": [{"question": "Who?", "gold": ["X."]}, {"question": "And?"}]}\n',
        "bad_pair": '{"id": "p", "claim": "C.", "evidence": ["E."], "supported": true, "kind": "negation"}\n',
    }
    files = {}
    for name, text in rows.items():
        files[name] = tmp_path / f"{name}.jsonl"
        files[name].write_text(text, "utf-8")
    given = [a.format(**files) for a in arguments]
    assert main(["eval", *given, "--store", str(tmp_path / "store")]) == 2
    err = capsys.readouterr().err.strip()
    assert message.format(**files) in err and "\n" not in err


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory):
    """A real store holding only the seed article (a few seconds to build)."""
    from rag.api import Rag

    store = tmp_path_factory.mktemp("eval") / "store"
    assert Rag.open(store=store).ingest([REPO / "corpus"]).documents == 1
    return store


def _eval(store: Path, capsys, *extra: str) -> dict:
    assert main(["eval", *SETS, "--limit", "3", "--json", "--store", str(store), *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _without_latency(value):
    if isinstance(value, dict):
        skip = {"seconds", "wall_seconds", "warmup_seconds", "latency_p50", "latency_p95"}
        return {k: _without_latency(v) for k, v in value.items() if k not in skip}
    if isinstance(value, list):
        return [_without_latency(v) for v in value]
    return value


@pytest.mark.real
def test_eval_reports_every_metric_cites_the_pistorius_gold_and_repeats_itself(seed_store, tmp_path, capsys):
    report = tmp_path / "out" / "report.md"
    result = _eval(seed_store, capsys, "--report", str(report))

    datasets = result["datasets"]
    assert set(datasets) == {*SETS, "ours"}
    for name in ("seed", "multiturn"):
        assert len(datasets[name]["records"]) == 3
    for metric in datasets["ours"]["metrics"].values():
        assert set(metric) == {"value", "n", "ci"}
    for key in ("gold_recall", "gold_precision", "fact_coverage", "quote_exactness", "hit@5", "false_refusal_rate"):
        assert datasets["ours"]["metrics"][key]["value"] is not None, key
    assert datasets["verifier"]["metrics"]["f1"]["ci"] is not None
    assert set(datasets["verifier"]["by_kind"]) == {"paraphrase"}

    pistorius = datasets["seed"]["records"][0]
    assert pistorius["id"] == "seed-01" and not pistorius["abstained"]
    assert pistorius["gold_recall"] == 1.0 and pistorius["gold_rank"] is not None
    assert any(c["gold"] and c["exact"] and c["sentence_id"] for c in pistorius["citations"])
    assert pistorius["fact_coverage"] == 1.0

    calibration = result["calibration"]
    assert calibration["answerable"] == 3 and calibration["unanswerable"] == 3
    assert any(row["threshold"] == calibration["threshold"] for row in calibration["table"])

    text = report.read_text("utf-8")
    assert "## Metrics" in text and "## Failed questions" in text and "![headline metrics](report.png)" in text
    assert report.with_suffix(".png").read_bytes().startswith(b"\x89PNG")

    assert _without_latency(_eval(seed_store, capsys)) == _without_latency(result)
