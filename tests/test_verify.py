import pytest

from rag.verify import check_support

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
