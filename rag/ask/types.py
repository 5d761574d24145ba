"""Typed data of the ask side, passed between its stages: the question as analysed, the
scope asked within, hits and evidence, drafts, citations and the answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.types import Sentence

NO_FORM = "bridge candidate"
PARTIAL_PREFIX = "The closest the documents come:"
_CITATION_KEYS = ("label", "doc_id", "path", "title", "start", "end", "quote", "page", "section")
_SENTENCE_KEYS = ("supported", "verbatim", "strength")


@dataclass(frozen=True)
class QuestionAnalysis:
    """How the question was read. ``options``: (start, end) character spans of ``question``;
    ``sub_questions``: the reader's question about each option, in the same order; ``plan``:
    what the form made of the question (for the form's own use)."""

    question: str
    kind: str  # "date", "count", "person", "place", "yes-no", "list" or "other"
    noun: str = ""
    form: str = NO_FORM  # "comparison", "verdict", "shared" or NO_FORM
    options: tuple[tuple[int, int], ...] = ()
    sub_questions: tuple[str, ...] = ()
    plan: object = field(default=None, compare=False, repr=False)

    @property
    def option_texts(self) -> tuple[str, ...]:
        return tuple(self.question[a:b] for a, b in self.options)

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "noun": self.noun or None,
            "form": self.form,
            "options": [{"text": self.question[a:b], "start": a, "end": b} for a, b in self.options],
            "sub_questions": list(self.sub_questions),
        }


@dataclass(frozen=True)
class ScopedDocument:
    """One document a scope holds."""

    doc_id: str
    title: str
    path: str

    def to_json(self) -> dict:
        """One entry of an answer's ``scope`` in JSON."""
        return {"doc_id": self.doc_id, "title": self.title, "path": self.path}


@dataclass(frozen=True)
class Scope:
    """The documents a question is asked within (``names``: as the user gave them), in path order."""

    names: tuple[str, ...]
    documents: tuple[ScopedDocument, ...]

    @property
    def doc_ids(self) -> frozenset[str]:
        """The ids of the documents in scope."""
        return frozenset(d.doc_id for d in self.documents)

    def to_json(self) -> list[dict]:
        """The ``scope`` of ``rag ask --json``: one object per document."""
        return [d.to_json() for d in self.documents]


@dataclass(frozen=True)
class Hit:
    """A retrieved sentence with its fused score and the ranks that produced it."""

    sentence: Sentence
    score: float
    dense_similarity: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None
    title: str = ""
    path: str = ""
    context: str = ""  # the previous sentence, or the heading between it and this one
    section: str = ""  # the heading path the sentence lies under ("Experiments › Datasets"), if any
    page: int | None = None  # 1-based page of the file the sentence starts on (PDF)


@dataclass(frozen=True)
class Evidence:
    """A retrieved sentence as a reranker judged it: ``score`` orders the evidence and is what
    the abstention gate compares with its threshold (each reranker has its own scale)."""

    hit: Hit
    score: float
    answer_span: tuple[int, int] | None = None  # the short answer inside the sentence: document offsets
    relevance: float | None = None  # the reader's probability that the sentence answers (None: not judged)
    confidence: float | None = None  # what the gate compares with its threshold (None: the score)


@dataclass(frozen=True)
class DraftSentence:
    """One sentence a composer wrote and the evidence it rests on."""

    text: str
    cited: tuple[Hit, ...]


@dataclass(frozen=True)
class Draft:
    """A composer's answer before numbering and verification; no sentences means it found
    nothing to say (``note`` says why)."""

    sentences: tuple[DraftSentence, ...]
    note: str = ""


@dataclass(frozen=True)
class Citation:
    """A label in an answer and the exact source sentence it points at."""

    label: int
    sentence_id: str
    doc_id: str
    path: str
    title: str
    start: int
    end: int
    quote: str
    verified: bool = False
    problem: str = ""
    page: int | None = None  # 1-based page of the file the quote starts on (PDF)
    section: str = ""  # the heading path the quote lies under, if any


@dataclass(frozen=True)
class ShortAnswer:
    """The words that answer the question, inside the cited sentence ``label``:
    ``Path(path).read_text("utf-8")[start:end] == text`` like every quote."""

    text: str
    label: int
    path: str
    start: int
    end: int

    def to_json(self) -> dict:
        """The ``short_answer`` object of ``rag ask --json``."""
        return {"text": self.text, "label": self.label, "path": self.path, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer, the labels it cites and whether support was verified."""

    text: str
    citations: tuple[int, ...] = ()
    supported: bool = False
    reason: str = ""
    score: float | None = None  # the reranker's score of its best cited sentence
    strength: str = ""  # "strong" or "partial": does the cited sentence answer the question?

    @property
    def verbatim(self) -> bool:
        """The sentence is a verified quote of its source, word for word."""
        return self.supported and self.reason == "verbatim"


@dataclass(frozen=True)
class Answer:
    """What every shell shows: the answer text, its sentences and their citations."""

    question: str
    answer: str
    abstained: bool
    sentences: tuple[AnswerSentence, ...] = ()
    citations: tuple[Citation, ...] = ()
    evidence: tuple[Hit, ...] = field(default=(), compare=False)  # retrieved, in retrieval order
    ranked: tuple[Evidence, ...] = field(default=(), compare=False)  # live evidence, best first
    retrieval_query: str = ""
    confidence: float = 0.0
    answerer: str = "extractive"
    warnings: tuple[str, ...] = ()  # e.g. better evidence sits in files that are missing or changed
    short_answer: ShortAnswer | None = None  # the first of ``short_answers``
    short_answers: tuple[ShortAnswer, ...] = ()  # every answering span, in document order (a list's items)
    partial: bool = False  # the best evidence only comes close: the answer says so
    verdict: str = ""  # "yes" or "no": drawn from the cited sentences together (a form's reading), never a quote
    scope: Scope | None = None  # the documents it was asked within (None: all of them)
    analysis: QuestionAnalysis | None = field(default=None, compare=False)  # how the question was read
    rests_on: tuple[str, ...] = field(default=(), compare=False)  # sentence ids a form's reading also rests on

    def to_json_text(self) -> str:
        """``to_json`` serialised exactly as ``rag ask --json`` prints it."""
        import json

        return json.dumps(self.to_json(), ensure_ascii=False)

    def to_markdown(self) -> str:
        """The answer as Markdown ready to paste: the short answer, the sentences with numbered
        footnotes, and each footnote's title, file, character range and exact quote."""
        import re

        from rag.text import normalize_space as flat

        if self.abstained:
            return flat(self.answer) + "\n"
        parts = []
        if self.verdict:
            parts.append(f"*Closest answer: {self.verdict}*" if self.partial else f"**{self.verdict.capitalize()}**")
        elif self.short_answer is not None and not self.partial:
            parts.append(f"**{flat(self.short_answer.text)}**")
        body = " ".join(
            f"{flat(s.text)}{''.join(f'[^{n}]' for n in s.citations)}" for s in self.sentences
        )
        parts.append(f"{PARTIAL_PREFIX} {body}" if self.partial else body)
        notes = [
            f"[^{c.label}]: {c.title}{f', § {c.section}' if c.section else ''}, `{c.path}`"
            f"{f', p. {c.page}' if c.page else ''}, characters {c.start}–{c.end}: “{flat(c.quote)}”"
            for c in self.citations
        ]
        text = "\n\n".join(parts) + ("\n\n" + "\n".join(notes) if notes else "")
        return re.sub(r"[ \t]+\n", "\n", text) + "\n"

    def to_json(self) -> dict:
        """The JSON shape printed by ``rag ask --json`` and returned by the UI's /ask."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [{key: getattr(c, key) for key in _CITATION_KEYS} for c in self.citations],
            "sentences": [
                {"text": s.text, "citations": list(s.citations), **{key: getattr(s, key) for key in _SENTENCE_KEYS}, "score": _rounded(s.score)}
                for s in self.sentences
            ],
            "warnings": list(self.warnings),
            "short_answer": self.short_answer.to_json() if self.short_answer else None,
            "short_answers": [s.to_json() for s in self.short_answers],
            "verdict": self.verdict or None,
            "partial": self.partial,
            "confidence": round(self.confidence, 4),
            "scope": self.scope.to_json() if self.scope is not None else [],
            "analysis": self.analysis.to_json() if self.analysis is not None else None,
        }


def _rounded(score: float | None) -> float | None:
    return None if score is None else round(score, 4)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str = ""

