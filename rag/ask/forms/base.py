"""The protocol every question form follows, the tools it reads with and the reading it returns.

A form (a comparison, a yes or no about two things, what two things share, a bridge to a second
hop) is a plug-in: ``parse`` reads the question as asked once, inside ``rag.ask.analysis``;
``plan`` takes the analysis and says whether the form applies (None: it does not, and nothing
is retrieved or judged for it); ``read`` retrieves and judges with the ``Tools`` and returns a
``Reading``, or None when the documents do not settle it (the ordinary answer stands). The
pipeline loops over ``rag.ask.forms.FORMS`` in order; the first reading leads the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rag.ask.rerank import gate_score
from rag.ask.types import Evidence, Hit

if TYPE_CHECKING:
    from rag.ask.types import QuestionAnalysis

Retrieve = Callable[[str], Sequence[Hit]]  # a question -> the hits that can answer it
# (the reader's question, the retrieval query the hits came from, the hits) -> live evidence, best first
Judge = Callable[[str, str, Sequence[Hit]], list[Evidence]]
Describe = Callable[[str], "str | None"]  # a name -> the opening of the document of that title (None: no such document)
Narrow = Callable[[str, str, Sequence[Hit]], list[Hit]]  # (question, query, hits) -> the few worth the reader


@dataclass(frozen=True)
class Tools:
    """What a form reads with: ``retrieve`` and ``judge`` as above, ``gate`` (the abstention
    threshold an option's sentence must clear), the question's ordinary ``evidence`` (best
    first) and ``query`` (the retrieval query: a follow-up carries its topic); for the bridge
    form ``narrow`` (a cheap first pass before the reader), ``describe`` and its settings."""

    retrieve: Retrieve
    judge: Judge
    gate: float
    evidence: Sequence[Evidence] = ()
    query: str = ""
    narrow: Narrow | None = None
    describe: Describe | None = None
    bridge_threshold: float = 1.0
    bridges: int = 0


@dataclass(frozen=True)
class Reading:
    """What a form found: the ``lead`` evidence (its short answer, if any, is the answer's), the
    evidence it also ``rests_on`` (cited before it, in the question's order, with no strength mark
    of its own: the other option, the bridge), a ``verdict`` ("yes", "no" or None), and the
    ``confidence`` the gate compares with its threshold."""

    form: str
    lead: Evidence
    rests_on: tuple[Evidence, ...] = ()
    verdict: str | None = None

    @property
    def confidence(self) -> float:
        return gate_score(self.lead)

    @property
    def short(self) -> tuple[int, int] | None:
        """The short answer's document offsets (None: a verdict, or no span found)."""
        return self.lead.answer_span

    @property
    def evidence(self) -> list[Evidence]:
        """The lead, then what it rests on: how the reading heads the evidence."""
        return [self.lead, *self.rests_on]

    @property
    def cited(self) -> list[Hit]:
        """The sentences an extractive answer quotes, in order: what it rests on, then the lead."""
        return [*(e.hit for e in self.rests_on), self.lead.hit]

    def ids(self) -> set[str]:
        """The sentence ids of every sentence the reading rests on or leads with."""
        return {e.hit.sentence.sentence_id for e in self.evidence}


class Form(Protocol):
    """One question form."""

    name: str

    def parse(self, question: str) -> object | None:
        """What the form makes of the question as asked (None: not this form)."""

    def plan(self, analysis: QuestionAnalysis, settings) -> object | None:
        """The plan to read, from the analysis (None: the form does not apply or is off)."""

    def read(self, plan: object, analysis: QuestionAnalysis, tools: Tools) -> Reading | None:
        """The reading, or None when the documents do not settle it."""


class ParsedForm:
    """A form whose plan is what its ``parse`` made of the question, while the setting it names
    (``setting``, a boolean of Settings) is on."""

    name: str
    setting: str

    def plan(self, analysis: QuestionAnalysis, settings) -> object | None:
        return analysis.plan if analysis.form == self.name and getattr(settings, self.setting) else None


def read_option(option: str, asked: str, tools: Tools) -> list[Evidence]:
    """The reader's evidence for the question ``asked`` about ``option``, best first, over the
    retrieved sentences that name the option (in the sentence or its title, as whole words)."""
    from rag.text import mentions

    hits = [h for h in tools.retrieve(asked) if mentions(f"{h.title} {h.sentence.text}", option)]
    return tools.judge(asked, asked, hits) if hits else []


def bridge_text(evidence: Evidence) -> str:
    """The short answer the reader found in ``evidence`` (empty when it found none)."""
    if evidence.answer_span is None:
        return ""
    sentence = evidence.hit.sentence
    start, end = evidence.answer_span
    return sentence.text[max(0, start - sentence.start) : max(0, end - sentence.start)].strip()


def answer_terms(evidence: Evidence, ignore: Sequence[str] = ()) -> set[str]:
    """The content words of the short answer of ``evidence``, less ``ignore`` (the kind asked
    for: "province" in "Jiangsu province" says nothing about which)."""
    from rag.text import content_terms

    return set(content_terms(bridge_text(evidence))) - set(ignore)


def answers_agree(first: Evidence, second: Evidence, ignore: Sequence[str] = ()) -> bool:
    """Whether two short answers say the same, as far as words can tell: the content words of
    one hold the other's ("New York" and "New York City"), words in ``ignore`` aside; no short
    answer agrees with nothing."""
    one, other = (answer_terms(e, ignore) for e in (first, second))
    return bool(one) and bool(other) and (one <= other or other <= one)
