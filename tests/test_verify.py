import pytest

from rag.ask.support import check_support

EVIDENCE = ["German Defence Minister Boris Pistorius urged caution, pointing to Ukraine’s 1994 decision."]


@pytest.mark.parametrize(
    ("claim", "supported", "reason"),
    [
        ("German Defence Minister Boris Pistorius urged caution, pointing to Ukraine’s 1994 decision.", True, "verbatim"),
        ("Pistorius urged caution, pointing to Ukraine's decision in 1994.", True, "checks passed"),
        ("Pistorius urged caution, pointing to Ukraine's decision in 1996.", False, "number"),
        ("Merz urged caution, pointing to Ukraine's decision in 1994.", False, "name"),
        ("Pistorius did not urge caution about Ukraine's 1994 decision.", False, "negation"),
        ("Pistorius urged sanctions on banks, oil exports and shipping in 1994.", False, "words"),
    ],
)
def test_support_checks(claim, supported, reason):
    result = check_support(claim, EVIDENCE)
    assert result.supported is supported
    assert reason in result.reason


def test_no_evidence_is_never_support():
    assert not check_support("Anything.", []).supported


class RecordingJudge:
    """A yes/no judge that answers ``verdict`` and keeps the prompts it was given."""

    def __init__(self, verdict: str = "yes"):
        self.verdict, self.prompts = verdict, []

    def complete(self, prompt):
        from types import SimpleNamespace

        self.prompts.append(prompt)
        return SimpleNamespace(text=self.verdict)


WARNED = "He warned that guarantees with weak U.S. participation would lack credibility."
BEFORE = "Ukraine talks German Defence Minister Boris Pistorius urged caution about the nuclear deal."


def test_judge_sees_the_evidence_alone_when_the_claim_names_nothing_from_the_context():
    from rag.ask.support import JUDGE_PROMPT, JudgedSupportChecker

    judge = RecordingJudge()
    claim = "He said guarantees with weak U.S. participation would lack credibility."
    assert JudgedSupportChecker(judge).check(claim, [WARNED], BEFORE).supported
    assert judge.prompts == [JUDGE_PROMPT.format(evidence=WARNED, claim=claim)]


def test_judge_sees_the_context_when_the_claim_names_who_the_evidence_calls_he():
    from rag.ask.support import JudgedSupportChecker

    judge = RecordingJudge()
    claim = "Boris Pistorius warned that guarantees with weak U.S. participation would lack credibility."
    assert JudgedSupportChecker(judge).check(claim, [WARNED], BEFORE).supported
    [prompt] = judge.prompts
    assert prompt.startswith(f"Context (only to know who or what the evidence refers to):\n{BEFORE}\n\nEvidence:\n{WARNED}")
    assert not JudgedSupportChecker(RecordingJudge("no")).check(claim, [WARNED], BEFORE).supported


def test_a_claim_taken_from_the_context_is_not_credited_to_the_cited_sentence():
    from rag.ask.support import JudgedSupportChecker

    judge = RecordingJudge()
    result = JudgedSupportChecker(judge).check("Boris Pistorius urged caution about the nuclear deal.", [WARNED], BEFORE)
    assert not result.supported and "besides" in result.reason
    assert judge.prompts == []  # rejected before the judge is asked
