"""Strength marks: a cited sentence is strong only when the reader singles it out."""


from fakes import hit, judged
from rag.ask.citing import cite, with_strength
from rag.ask.types import PARTIAL_PREFIX, Draft, DraftSentence

TWENTY = hit("After twenty years any Party may cease to be a Party one year after its notice.", "treaty", start=10)
TEN = hit("After ten years the Parties shall consult together for the purpose of reviewing the Treaty.", "treaty", start=200)
SIGNED = hit("The Treaty was signed at Washington on the fourth day of April, 1949.", "treaty", start=400)


def answer_citing(*hits):
    draft = Draft(tuple(DraftSentence(h.sentence.text, (h,)) for h in hits))
    return cite("When may a Party leave?", "When may a Party leave?", draft, hits, 0.9, "extractive")


def test_a_lead_the_reader_singles_out_is_strong():
    answer = with_strength(answer_citing(TWENTY), [judged(TWENTY, 0.99), judged(TEN, 0.6)], strong=0.95, margin=0.05)
    assert [s.strength for s in answer.sentences] == ["strong"] and not answer.partial
    assert answer.sentences[0].score == 0.99 and not answer.answer.startswith(PARTIAL_PREFIX)


def test_a_rival_nearly_as_relevant_makes_the_lead_partial():
    evidence = [judged(TEN, 0.989), judged(TWENTY, 0.984), judged(SIGNED, 0.1)]
    answer = with_strength(answer_citing(TEN), evidence, strong=0.95, margin=0.05)
    assert [s.strength for s in answer.sentences] == ["partial"] and answer.partial
    assert answer.answer.startswith(PARTIAL_PREFIX)
    # without the margin the same relevance earns the strong mark
    plain = with_strength(answer_citing(TEN), evidence, strong=0.95, margin=0.0)
    assert [s.strength for s in plain.sentences] == ["strong"] and not plain.partial


def test_the_rival_counts_when_it_is_cited_too_and_for_each_sentence():
    evidence = [judged(TEN, 0.99), judged(TWENTY, 0.97), judged(SIGNED, 0.2)]
    answer = with_strength(answer_citing(TEN, TWENTY), evidence, strong=0.95, margin=0.05)
    assert [s.strength for s in answer.sentences] == ["partial", "partial"] and answer.partial


def test_a_bridge_is_no_rival_and_earns_no_mark():
    evidence = [judged(TWENTY, 0.97), judged(TEN, 0.96), judged(SIGNED, 0.3)]
    unmarked = {TEN.sentence.sentence_id}  # the sentence a reading rests on
    answer = with_strength(answer_citing(TEN, TWENTY), evidence, strong=0.95, margin=0.05, unmarked=unmarked)
    assert [s.strength for s in answer.sentences] == ["", "strong"] and not answer.partial


def test_a_weak_lead_is_partial_whatever_its_margin():
    answer = with_strength(answer_citing(SIGNED), [judged(SIGNED, 0.9), judged(TEN, 0.1)], strong=0.95, margin=0.05)
    assert [s.strength for s in answer.sentences] == ["partial"] and answer.partial
