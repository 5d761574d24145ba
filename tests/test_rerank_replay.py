"""scripts/rerank_replay.py: the offline replay must give the lead and confidence that the
product's combined reranker gives, and its figures and rule must count as documented (no model)."""

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import rerank_replay as rr  # noqa: E402
from fakes import scripted_case  # noqa: E402

from rag.ask.rerank import CombinedReranker  # noqa: E402


def test_the_replayed_lead_is_the_combined_rerankers():
    rng = random.Random(11)
    for _ in range(300):
        n = rng.randint(1, 40)
        relevance = [rng.random() for _ in range(n)]
        features = [rng.random() for _ in range(n)]
        k, weight, gate_weight = rng.choice([4, 16, 32, 40]), rng.choice([0.2, 0.4, 1.0]), rng.choice([0.6, 0.8, 1.0])
        hits, reader, scores = scripted_case(relevance, features)
        lead = CombinedReranker(reader, scores, k=k, weight=weight, gate_weight=gate_weight, first=4).rerank("q", "q", hits, lambda t: 1.0)[0]
        candidates = [(f, r, i == 0) for i, (f, r) in enumerate(zip(features, relevance))]
        confidence, _, index = rr.replay_lead(candidates, k, weight, gate_weight)
        assert hits[index] == lead.hit
        assert abs(confidence - lead.confidence) < 1e-9


def asked(i, answerable, candidates, held_back=False):
    return rr.Asked(str(i), answerable, held_back, tuple(candidates))


def test_figures_count_gold_leads_refusals_and_declines():
    questions = [
        asked(1, True, [(0.9, 0.9, True), (0.1, 0.2, False)]),  # answered, gold lead
        asked(2, True, [(0.9, 0.9, False), (0.1, 0.2, True)]),  # answered, wrong lead
        asked(3, True, [(0.1, 0.1, True)]),  # refused by the gate
        asked(4, True, [(0.9, 0.9, True)], held_back=True),  # held back by verification
        asked(5, False, [(0.2, 0.2, False)]),  # declined
        asked(6, False, [(0.9, 0.9, False)]),  # answered: not declined
        asked(7, False, []),  # nothing retrieved: declined
    ]
    f = rr.figures(questions, (16, 0.4, 0.8, 0.505))
    assert f["gold_first"] == 0.25 and f["false_refusals"] == 0.5
    assert abs(f["declined"] - 2 / 3) < 1e-9 and abs(f["balanced_accuracy"] - (0.5 + 2 / 3) / 2) < 1e-9


def test_the_scoped_rule_takes_the_order_that_puts_gold_first():
    # Features favour a wrong sentence, the reader the gold one: the reader-only order wins.
    val = [asked(i, True, [(0.95, 0.2, False), (0.4, 0.95, True)]) for i in range(8)]
    val += [asked(100 + i, False, [(0.2, 0.1, False)]) for i in range(4)]
    setting, got = rr.choose({"qasper-val": val}, scoped=True)
    assert got["qasper-val"]["gold_first"] == 1.0 and got["qasper-val"]["declined"] == 1.0
    assert rr.figures(val, rr.CURRENT)["gold_first"] == 0.0
    assert setting[1] >= 0.5  # the reader's share: at 0.4 the feature-favoured sentence still leads


def test_a_dumped_question_abstained_past_its_gate_stays_abstained(tmp_path):
    dumped = tmp_path / "dump.jsonl"
    rows = [
        {"id": "a", "answerable": True, "abstained": True, "confidence": 0.6, "gate": 0.5, "cands": [[0.9, 0.9, 1]]},
        {"id": "b", "answerable": True, "abstained": True, "confidence": 0.4, "gate": 0.5, "cands": [[0.9, 0.9, 1]]},
        {"id": "c", "answerable": True, "abstained": False, "confidence": 0.9, "gate": 0.5, "cands": [[0.9, 0.9, 1]]},
    ]
    dumped.write_text("".join(json.dumps(r) + "\n" for r in rows))
    questions = rr.read_dump(dumped)
    assert [q.held_back for q in questions] == [True, False, False]
    assert rr.figures(questions, rr.CURRENT)["gold_first"] == 2 / 3  # b: refused by the gate it had, not now
