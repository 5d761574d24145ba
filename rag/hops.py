"""Two-hop reading: when no retrieved sentence answers on its own, follow a bridge.

"Where is the publisher of Grace Krilanovich's first novel based?" is answered by two
sentences: one names the publisher ("... was published by Two Dollar Radio"), the other says
where Two Dollar Radio is based, and that one shares almost no words with the question. When
the best evidence of the first retrieval is under the gate, the short answers the reader found
in the best ``bridges`` sentences are followed: each starts a second retrieval (the bridge's
short answer, then the query), and the reader judges every new sentence with the bridge
sentence as its context (where it normally sees the previous sentence). The best chain whose
answer sentence clears ``threshold`` (stricter than the gate: the bridge as context makes the
reader more easily convinced) leads the evidence, carrying its bridge, and the answer cites both
sentences. Otherwise the first retrieval's evidence stands (and the gate abstains).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from rag.rerank import gate_score
from rag.types import Evidence, Hit

Retrieve = Callable[[str], Sequence[Hit]]
Rerank = Callable[[str, Sequence[Hit]], list[Evidence]]  # (retrieval query, hits) -> evidence


def bridge_text(evidence: Evidence) -> str:
    """The short answer the reader found in ``evidence`` (empty when it found none)."""
    if evidence.answer_span is None:
        return ""
    sentence = evidence.hit.sentence
    start, end = evidence.answer_span
    return sentence.text[max(0, start - sentence.start) : max(0, end - sentence.start)].strip()


def follow_bridges(
    query: str, evidence: Sequence[Evidence], retrieve: Retrieve, rerank: Rerank, threshold: float, bridges: int
) -> list[Evidence]:
    """``evidence`` led by the best two-hop chain that clears ``threshold`` (the chain's answer
    first, with ``bridge`` set, then the bridge's own evidence, then the rest), or ``evidence``
    unchanged when no chain does. ``rerank`` judges hits for the question as asked."""
    best: tuple[float, Evidence, Evidence] | None = None
    followed_already = set()
    for bridge in evidence[:bridges]:
        followed = bridge_text(bridge)
        # A short answer the query already names leads nowhere new; one already followed, nowhere else.
        if not followed or followed.lower() in query.lower() or followed.lower() in followed_already:
            continue
        followed_already.add(followed.lower())
        bridge_id = bridge.hit.sentence.sentence_id
        second = f"{followed} {query}"
        hits = [h for h in retrieve(second) if h.sentence.sentence_id != bridge_id]
        if not hits:
            continue
        originals = {h.sentence.sentence_id: h for h in hits}
        judged = rerank(second, [replace(h, context=bridge.hit.sentence.text) for h in hits])
        if not judged:
            continue
        top = judged[0]
        confidence = gate_score(top)
        if confidence >= threshold and (best is None or confidence > best[0]):
            answer = replace(top, hit=originals[top.hit.sentence.sentence_id], bridge=bridge.hit)
            best = (confidence, answer, bridge)
    if best is None:
        return list(evidence)
    _, answer, bridge = best
    skip = {answer.hit.sentence.sentence_id, bridge.hit.sentence.sentence_id}
    return [answer, bridge, *(e for e in evidence if e.hit.sentence.sentence_id not in skip)]
