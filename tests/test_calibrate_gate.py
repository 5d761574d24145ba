"""scripts/calibrate_gate.py: the rule that chooses the gate and the strong mark, on hand-made
questions (no model)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import calibrate_gate as cg  # noqa: E402


def q(kind, i, answerable=True, confidence=0.8, lead=0.99, rival=0.1, right=True, held_back=False):
    return cg.Question(kind, str(i), answerable, confidence, held_back, lead, rival, right and answerable)


def test_the_gate_and_the_strong_mark_as_the_product_gives_them():
    assert cg.answered(q("ours", 1, confidence=0.5), 0.5) and not cg.answered(q("ours", 1, confidence=0.49), 0.5)
    assert not cg.answered(q("ours", 1, confidence=0.9, held_back=True), 0.5)  # abstained for another reason
    assert cg.answered(q("squad-v2", 1, confidence=0.0, lead=0.6), 0.9)  # the reader alone: its relevance
    assert cg.strong(q("ours", 1, lead=0.96, rival=0.9), 0.5, 0.95, 0.05)
    assert not cg.strong(q("ours", 1, lead=0.96, rival=0.92), 0.5, 0.95, 0.05)  # a near rival
    assert not cg.strong(q("ours", 1, lead=0.94, rival=0.0), 0.5, 0.95, 0.0)
    assert not cg.strong(q("ours", 1, confidence=0.3, lead=0.99), 0.5, 0.95, 0.0)  # declined: no mark


def test_the_gate_maximises_the_mean_balanced_accuracy_of_ours_and_qasper():
    questions = [q("ours", i, confidence=0.6 + i / 100) for i in range(10)]
    questions += [q("ours", 100 + i, answerable=False, confidence=0.3 + i / 100) for i in range(10)]
    questions += [q("qasper-val", i, confidence=0.5 + i / 100) for i in range(10)]
    questions += [q("qasper-val", 100 + i, answerable=False, confidence=0.35 + i / 100) for i in range(10)]
    questions += [q("squad-v2", 100 + i, answerable=False, lead=0.9) for i in range(10)]  # no say in the gate
    gate = cg.choose_gate(questions, current=0.505)
    assert 0.45 <= gate <= 0.5  # both kinds separate perfectly only there
    assert cg.balanced_accuracy([x for x in questions if x.kind != "squad-v2"], gate) == 1.0
    assert cg.choose_gate(questions, current=0.47) == 0.47  # ties go to the current value


def test_the_strong_mark_is_the_lowest_right_often_enough_on_every_kind():
    questions = []
    for kind in ("ours", "qasper-val", "squad-v2"):
        questions += [q(kind, i, lead=0.97 + (i % 3) / 100) for i in range(40)]  # right leads at 0.97-0.99
        questions += [q(kind, 100 + i, lead=0.9, right=False) for i in range(20)]  # wrong leads at 0.90
    questions += [q("squad-v2", 200 + i, lead=0.93, right=False) for i in range(10)]  # wrong at 0.93 on one kind
    s, m, ok = cg.choose_strong(questions, gate=0.5)
    assert ok and (s, m) == (0.94, 0.0)
    marks, right = cg.strong_marks([x for x in questions if x.kind == "squad-v2"], 0.5, s, m)
    assert (marks, right) == (40, 40)


def test_no_setting_meets_the_rule_says_so():
    questions = [q("ours", i, lead=0.99, right=i % 2 == 0) for i in range(40)]
    s, m, ok = cg.choose_strong(questions, gate=0.5)
    assert not ok


def test_eval_reports_become_questions():
    report = {
        "run": {"threshold": 0.5},
        "datasets": {
            "seed": {"kind": "qa", "records": [
                {"id": "a", "answerable": True, "abstained": False, "confidence": 0.8, "reranked_gold_rank": 1, "lead_relevance": 0.97, "rival_relevance": 0.2},
                {"id": "b", "answerable": True, "abstained": True, "confidence": 0.7, "reranked_gold_rank": 2, "lead_relevance": 0.6, "rival_relevance": 0.5},
            ]},
            "verifier": {"kind": "verifier", "records": [{"id": "v"}]},
            "qasper": {"kind": "qasper", "records": [
                {"id": "c", "answerable": False, "abstained": True, "confidence": 0.2, "gold_rank": None, "lead_relevance": 0.3, "rival_relevance": 0.1},
            ]},
        },
    }
    found = {x.id: x for x in cg.eval_questions(report, "ours")}
    assert set(found) == {"seed:a", "seed:b", "qasper:c"}
    assert found["seed:a"].lead_right and not found["seed:b"].lead_right and found["seed:b"].held_back
    assert not found["qasper:c"].held_back and not found["qasper:c"].lead_right
    for record in report["datasets"]["seed"]["records"] + report["datasets"]["qasper"]["records"]:
        record["lead_relevance"] = None
    with pytest.raises(SystemExit, match="lead_relevance"):
        cg.eval_questions(report, "ours")


def test_the_halves_are_stable_and_near_even():
    questions = [q("ours", i) for i in range(400)]
    halves = [x.calibration for x in questions]
    assert halves == [x.calibration for x in questions]
    assert 160 < sum(halves) < 240
    assert q("ours", 7).calibration != q("qasper-val", 7).calibration or q("ours", 8).calibration != q("qasper-val", 8).calibration


def test_the_figures_tell_strong_marks_on_unanswerable_questions_apart():
    questions = [q("squad-v2", i, lead=0.99) for i in range(6)] + [q("squad-v2", 10 + i, answerable=False, lead=0.99) for i in range(2)]
    questions += [q("squad-v2", 20, lead=0.99, right=False)]
    (f,) = cg.figures(questions, 0.5, 0.95, 0.05).values()
    assert (f["strong_marks"], f["strong_on_unanswerable"]) == (9, 2)
    assert f["strong_right"] == round(6 / 9, 3) and f["strong_right_answerable"] == round(6 / 7, 3)


def test_choose_reads_the_three_files_and_a_missing_one_is_one_line(tmp_path, capsys):
    def report(kind, rows):
        return {"run": {"threshold": 0.5}, "datasets": {"set": {"kind": kind, "records": rows}}}

    def row(i, answerable, confidence, rank_key):
        return {"id": str(i), "answerable": answerable, "abstained": confidence < 0.5, "confidence": confidence,
                rank_key: 1 if answerable else None, "lead_relevance": 0.99 if answerable else 0.2, "rival_relevance": 0.1}

    ours = [row(i, i % 4 != 0, 0.8 if i % 4 else 0.3, "reranked_gold_rank") for i in range(40)]
    qasper = [row(i, i % 4 != 0, 0.7 if i % 4 else 0.4, "gold_rank") for i in range(40)]
    (tmp_path / "ours.json").write_text(json.dumps(report("qa", ours)))
    (tmp_path / "a.json").write_text(json.dumps(report("qasper", qasper[:20])))
    (tmp_path / "b.json").write_text(json.dumps(report("qasper", qasper[20:])))
    (tmp_path / "squad.jsonl").write_text(
        "".join(json.dumps({"id": str(i), "answerable": True, "lead": 0.99, "rival": 0.1, "lead_right": True}) + "\n" for i in range(20))
    )
    files = ["--ours", str(tmp_path / "ours.json"), "--qasper", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--squad", str(tmp_path / "squad.jsonl")]
    assert cg.main(["choose", *files, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["chosen"]["feasible"] and 0.4 < result["chosen"]["reader_threshold"] <= 0.7
    assert result["held_out"]["chosen"]["qasper-val"]["questions"] + result["calibration"]["chosen"]["qasper-val"]["questions"] == 40
    assert cg.main(["choose", *files[:-1], str(tmp_path / "gone.jsonl")]) == 2
    assert "gone.jsonl does not exist" in capsys.readouterr().err
