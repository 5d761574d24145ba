"""Verification: nothing reaches a user unchecked.

1. Quote exactness: every citation's quote equals the source text at its offsets, in the
   stored document *and* in the file as it is now (an edited or deleted file is detected and
   named, never silently quoted).
2. Support: each answer sentence is checked against the sentences it cites by the checker the
   settings choose (``rag.support``). A sentence without a valid citation is never marked
   supported; unsupported sentences are dropped. Whether an answer with nothing left abstains
   is the pipeline's decision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from rag.citing import render
from rag.support import SupportChecker, context_of
from rag.text import normalize_newlines
from rag.types import Answer, Citation, Document

LookupDocument = Callable[[str], "Document | None"]


@dataclass(frozen=True)
class Verification:
    """The answer with only its verified sentences (possibly none) and, when citations failed,
    the first problem found (a missing or edited file...)."""

    answer: Answer
    problem: str = ""


def check_citation(citation: Citation, lookup: LookupDocument) -> Citation:
    """Mark a citation verified if its quote is exactly the source text at its offsets."""
    stored = lookup(citation.doc_id)
    if stored is None:
        return replace(citation, verified=False, problem="document no longer in the index")
    if stored.text[citation.start : citation.end] != citation.quote:
        return replace(citation, verified=False, problem="quote does not match the indexed text")
    path = Path(stored.path)
    try:
        raw = path.read_bytes()
    except OSError:
        return replace(citation, verified=False, problem=f"source file {stored.path} is missing; run rag ingest --prune")
    if hashlib.sha256(raw).hexdigest() == stored.content_hash:
        return replace(citation, verified=True, problem="")
    if stored.kind in ("txt", "md"):
        try:
            current = normalize_newlines(raw.decode("utf-8"))
        except UnicodeDecodeError:
            current = ""
        if current[citation.start : citation.end] == citation.quote:
            return replace(citation, verified=True, problem="file changed since ingest; this quote is still exact")
    return replace(
        citation, verified=False, problem=f"{stored.path} changed since ingest; re-run rag ingest"
    )


def verify_answer(answer: Answer, lookup: LookupDocument, checker: SupportChecker) -> Verification:
    """Check every citation and sentence; keep only what passes, renumbered from 1."""
    citations = {c.label: check_citation(c, lookup) for c in answer.citations}
    hits = {h.sentence.sentence_id: h for h in answer.evidence}
    kept = []
    for sentence in answer.sentences:
        valid = [citations[n] for n in sentence.citations if n in citations and citations[n].verified]
        if not valid:
            continue
        context = context_of([hits[c.sentence_id] for c in valid if c.sentence_id in hits])
        support = checker.check(sentence.text, [c.quote for c in valid], context)
        if support.supported:
            kept.append(replace(sentence, citations=tuple(c.label for c in valid), supported=True, reason=support.reason))
    problems = sorted({c.problem for c in citations.values() if c.problem})
    used = sorted({n for s in kept for n in s.citations})
    renumber = {old: new for new, old in enumerate(used, 1)}
    kept = [replace(s, citations=tuple(renumber[n] for n in s.citations)) for s in kept]
    final_citations = tuple(replace(citations[old], label=renumber[old]) for old in used)
    verified = replace(answer, sentences=tuple(kept), citations=final_citations, answer=render(kept))
    return Verification(verified, problems[0] if problems else "")
