"""Verification: nothing reaches a user unchecked.

1. Quote exactness: every citation's quote equals the source text at its offsets, in the
   stored document *and* in the file as it is now (an edited or deleted file is detected and
   named, never silently quoted). The same check tells the pipeline which retrieved evidence
   is stale before an answer is composed.
2. Support: each answer sentence is checked against the sentences it cites by the checker the
   settings choose (``rag.ask.support``). A sentence without a valid citation is never marked
   supported; unsupported sentences are dropped. Whether an answer with nothing left abstains
   is the pipeline's decision.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rag.ask.citing import render
from rag.ask.support import SupportChecker, context_of
from rag.text import normalize_newlines
from rag.ask.types import Answer, Citation, Evidence
from rag.types import Document, Sentence

LookupDocument = Callable[[str], "Document | None"]


@dataclass(frozen=True)
class Verification:
    """The answer with only its verified sentences (possibly none) and, when citations failed,
    the first problem found (a missing or edited file...)."""

    answer: Answer
    problem: str = ""


@dataclass(frozen=True)
class QuoteCheck:
    """Whether a quote is exactly in its source file as the file is now, and in which file."""

    verified: bool
    problem: str = ""
    path: str = ""
    missing: bool = False


class SourceFiles:
    """The files behind stored documents as they are now: each file is read and hashed once
    per change (keyed by its size and modification time), so checking every retrieved sentence
    of every question costs a ``stat`` per document."""

    def __init__(self, lookup: LookupDocument):
        self.lookup = lookup
        self._digests: dict[tuple[str, int, int], str] = {}
        self._texts: dict[tuple[str, int, int], str] = {}

    def check(self, doc_id: str, start: int, end: int, quote: str) -> QuoteCheck:
        """Check the quote at ``start:end`` of a stored document against its files."""
        stored = self.lookup(doc_id)
        if stored is None:
            return QuoteCheck(False, "document no longer in the index")
        if stored.text[start:end] != quote:
            return QuoteCheck(False, "quote does not match the indexed text")
        changed: list[tuple[str, tuple[str, int, int]]] = []
        for path in stored.paths:
            try:
                status = os.stat(path)
            except OSError:
                continue
            key = (path, status.st_mtime_ns, status.st_size)
            if self._digest(key) == stored.content_hash:
                return QuoteCheck(True, "", path)
            changed.append((path, key))
        if not changed:
            return QuoteCheck(False, f"source file {stored.path} is missing; run rag ingest --prune", stored.path, True)
        if stored.kind in ("txt", "md"):
            for path, key in changed:
                if self._text(key)[start:end] == quote:
                    return QuoteCheck(True, "file changed since ingest; this quote is still exact", path)
        return QuoteCheck(False, f"{changed[0][0]} changed since ingest; re-run rag ingest", changed[0][0])

    def is_live(self, sentence: Sentence) -> bool:
        """Whether a stored sentence is still exactly in its file."""
        return self.check(sentence.doc_id, sentence.start, sentence.end, sentence.text).verified

    def _digest(self, key: tuple[str, int, int]) -> str:
        if key not in self._digests:
            try:
                self._digests[key] = hashlib.sha256(Path(key[0]).read_bytes()).hexdigest()
            except OSError:
                return ""
        return self._digests[key]

    def _text(self, key: tuple[str, int, int]) -> str:
        if key not in self._texts:
            try:
                self._texts[key] = normalize_newlines(Path(key[0]).read_bytes().decode("utf-8"))
            except (OSError, UnicodeDecodeError):
                self._texts[key] = ""
        return self._texts[key]


def check_citation(citation: Citation, files: SourceFiles) -> Citation:
    """Mark a citation verified if its quote is exactly the source text at its offsets (in the
    file that still holds it: a copy when the cited file is gone)."""
    check = files.check(citation.doc_id, citation.start, citation.end, citation.quote)
    return replace(citation, verified=check.verified, problem=check.problem, path=check.path or citation.path)


def live_evidence(evidence: Sequence[Evidence], files: SourceFiles) -> tuple[list[Evidence], list[QuoteCheck]]:
    """The evidence whose quotes still match their files, in order, and the checks of the stale
    evidence that ranked above the best live one (what the user should hear about)."""
    live: list[Evidence] = []
    ahead: list[QuoteCheck] = []
    for item in evidence:
        sentence = item.hit.sentence
        check = files.check(sentence.doc_id, sentence.start, sentence.end, sentence.text)
        if check.verified:
            live.append(item)
        elif not live:
            ahead.append(check)
    return live, ahead


def stale_note(checks: Sequence[QuoteCheck], shown: int = 3) -> str:
    """What to tell the user when better evidence sits in files that are missing or changed."""
    files: dict[str, str] = {}
    for check in checks:
        if check.path:
            files.setdefault(check.path, "missing" if check.missing else "changed since ingest")
    if not files:
        return ""
    listed = ", ".join(f"{path} ({state})" for path, state in list(files.items())[:shown])
    more = f" and {len(files) - shown} more" if len(files) > shown else ""
    return (
        f"the closest passages are in files that are missing or changed: {listed}{more}; "
        "re-ingest them (rag ingest PATH) or remove them (rag ingest --prune)"
    )


def verify_answer(answer: Answer, files: SourceFiles, checker: SupportChecker) -> Verification:
    """Check every citation and sentence; keep only what passes, renumbered from 1."""
    citations = {c.label: check_citation(c, files) for c in answer.citations}
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
