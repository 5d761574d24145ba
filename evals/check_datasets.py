#!/usr/bin/env python3
"""Validate the hand-checked evaluation datasets in evals/data/.

Usage:
    python evals/check_datasets.py [--corpus-dir DIR] [--seed PATH] [--data-dir DIR]

Every row is read through the schema ``rag eval`` loads it with (``evals.schema``: keys, JSON
types, short answers inside the gold, gold only on the scored turn, pair kinds that agree with
their labels). On top, the rules of our hand-checked sets, which need the documents or the whole
file:
  * ids start with the file's prefix and are unique (also across files); questions end with '?';
  * seed and corpus rows are answerable and carry doc, gold and facts; unanswerable rows say
    whether they are near the corpus; a conversation has at least two turns;
  * minimum counts (seed >= 42, corpus >= 28 over >= 15 documents, unanswerable >= 14 with both
    near and far questions, multiturn >= 16 with both seed and corpus cases, verifier pairs >= 90
    with 35-50% supported, of known kinds, at most 2 evidence sentences, no claim copying its
    evidence);
  * every gold / evidence string is a substring of its document's text (Path.read_text("utf-8");
    "seed-article.txt" is read from --seed), without surrounding whitespace, and so is every
    short answer;
  * every fact (1-3 of them, at most 5 words each) occurs in the gold sentences
    (case-insensitive, whitespace collapsed).

Prints a one-line summary per file and exits 1 if any problem was found.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evals.schema import (  # noqa: E402  (the path above makes the script runnable from anywhere)
    SUPPORTED_KINDS,
    UNSUPPORTED_KINDS,
    MultiturnRow,
    PairRow,
    QARow,
    Row,
    Turn,
    numbered_lines,
    row_problems,
)
from rag.errors import InputError  # noqa: E402
from rag.text import normalize_space  # noqa: E402

SEED_DOC = "seed-article.txt"
MIN_COUNTS = {
    "seed.jsonl": 42,
    "corpus.jsonl": 28,
    "unanswerable.jsonl": 14,
    "multiturn.jsonl": 16,
    "verifier_pairs.jsonl": 90,
}
MIN_CORPUS_DOCS = 15
SUPPORTED_RATIO = (0.35, 0.50)
MAX_FACT_WORDS = 5


def norm(s: str) -> str:
    return normalize_space(s).lower()


class Checker:
    """Collects every problem of the five files; ``summary`` lines say how each file fared."""

    def __init__(self, corpus_dir: Path, seed: Path, data_dir: Path):
        self.corpus_dir = corpus_dir
        self.seed = seed
        self.data_dir = data_dir
        self.problems: list[str] = []
        self._texts: dict[str, str | None] = {}
        self.all_ids: dict[str, str] = {}

    def err(self, where: str, msg: str) -> None:
        self.problems.append(f"{where}: {msg}")

    def doc_text(self, doc: str) -> str | None:
        if doc not in self._texts:
            if "/" in doc or "\\" in doc or doc.startswith("."):
                self._texts[doc] = None
            else:
                path = self.seed if doc == SEED_DOC else self.corpus_dir / doc
                try:
                    self._texts[doc] = path.read_text("utf-8")
                except OSError:
                    self._texts[doc] = None
        return self._texts[doc]

    def load(self, name: str, model: type[Row], prefix: str) -> list[tuple[str, Row]]:
        """The rows of ``name`` that pass the schema, each with its ``file:line``; the others
        are problems. Ids are checked here (prefix, unique across files)."""
        rows: list[tuple[str, Row]] = []
        try:
            lines = list(numbered_lines(self.data_dir / name))
        except InputError as exc:
            self.err(name, str(exc))
            return rows
        for number, line in lines:
            where = f"{name}:{number}"
            row, problems = row_problems(model, line)
            for problem in problems:
                self.err(where, problem)
            if row is None:
                continue
            if not row.id.startswith(prefix):
                self.err(where, f"id {row.id!r} does not start with {prefix!r}")
            elif row.id in self.all_ids:
                self.err(where, f"duplicate id {row.id!r} (first in {self.all_ids[row.id]})")
            else:
                self.all_ids[row.id] = where
            rows.append((where, row))
        return rows

    def check_question(self, where: str, question: str) -> None:
        if not question.rstrip().endswith("?"):
            self.err(where, f"question does not end with '?': {question!r}")

    def check_sentences(self, where: str, doc: str, sentences: tuple[str, ...], label: str, max_n: int | None = None) -> bool:
        if not doc:
            self.err(where, "doc must be a non-empty string")
            return False
        text = self.doc_text(doc)
        if text is None:
            self.err(where, f"document {doc!r} not found")
            return False
        if not sentences:
            self.err(where, f"{label} must be a non-empty list")
            return False
        if max_n is not None and len(sentences) > max_n:
            self.err(where, f"{label} has {len(sentences)} items (max {max_n})")
        ok = True
        for s in sentences:
            if s not in text:
                self.err(where, f"{label} not found verbatim in {doc}: {s[:70]!r}")
                ok = False
            elif s != s.strip():
                self.err(where, f"{label} has leading/trailing whitespace: {s[:70]!r}")
                ok = False
        return ok

    def check_scored_turn(self, where: str, turn: Turn) -> bool:
        """A scored question: doc, gold and facts given, the gold verbatim, the facts in the gold."""
        missing = [key for key in ("doc", "gold", "facts") if key not in turn.model_fields_set]
        if missing:
            self.err(where, f"missing key {missing[0]!r}")
            return False
        if self.check_sentences(where, turn.doc, turn.gold, "gold"):
            self.check_facts(where, turn.facts, turn.gold)
        for span in turn.short:
            if span != span.strip():
                self.err(where, f"short has leading/trailing whitespace: {span[:70]!r}")
        return True

    def check_facts(self, where: str, facts: tuple[str, ...], golds: tuple[str, ...]) -> None:
        if not 1 <= len(facts) <= 3:
            self.err(where, "facts must be a list of 1-3 strings")
            return
        gold_norm = " ".join(norm(g) for g in golds)
        for fact in facts:
            if len(fact.split()) > MAX_FACT_WORDS:
                self.err(where, f"fact longer than {MAX_FACT_WORDS} words: {fact!r}")
            if norm(fact) not in gold_norm:
                self.err(where, f"fact {fact!r} not in gold text")

    # -- files -----------------------------------------------------------
    def answerable_file(self, name: str, prefix: str, seed_only: bool) -> str:
        return self._file(name, QARow, prefix, lambda rows: self._answerable(name, rows, seed_only))

    def _answerable(self, name: str, rows, seed_only: bool) -> str:
        docs: set[str] = set()
        shorts = 0
        for where, row in rows:
            self.check_question(where, row.question)
            if not row.answerable:
                self.err(where, "answerable must be true")
            if seed_only and row.doc != SEED_DOC:
                self.err(where, f"doc must be {SEED_DOC!r}")
            if not seed_only and row.doc == SEED_DOC:
                self.err(where, "corpus questions must not use the seed article")
            if self.check_scored_turn(where, row):
                shorts += bool(row.short)
                docs.add(row.doc)
        extra = f", {shorts} with short answers"
        if not seed_only:
            if len(docs) < MIN_CORPUS_DOCS:
                self.err(name, f"questions cover {len(docs)} documents (need >= {MIN_CORPUS_DOCS})")
            extra = f", {len(docs)} documents" + extra
        return extra

    def unanswerable_file(self, name: str) -> str:
        def rules(rows) -> str:
            near = far = 0
            for where, row in rows:
                self.check_question(where, row.question)
                if row.answerable:
                    self.err(where, "answerable must be false")
                if row.near is None:
                    self.err(where, "missing key 'near'")
                near += row.near is True
                far += row.near is False
            if rows and (near == 0 or far == 0):
                self.err(name, f"need both near and far questions (near={near}, far={far})")
            return f", near={near}, far={far}"

        return self._file(name, QARow, "unans-", rules)

    def multiturn_file(self, name: str) -> str:
        def rules(rows) -> str:
            seed = corpus = shorts = 0
            for where, row in rows:
                if len(row.turns) < 2:
                    self.err(where, "turns must be a list of >= 2 objects")
                    continue
                for i, turn in enumerate(row.turns):
                    self.check_question(f"{where} turn {i + 1}", turn.question)
                last = row.turns[-1]
                if not self.check_scored_turn(f"{where} last turn", last):
                    continue
                shorts += bool(last.short)
                seed += last.doc == SEED_DOC
                corpus += last.doc != SEED_DOC
            if rows and (seed == 0 or corpus == 0):
                self.err(name, f"need both seed and corpus cases (seed={seed}, corpus={corpus})")
            return f", seed={seed}, corpus={corpus}, {shorts} with short answers"

        return self._file(name, MultiturnRow, "multi-", rules)

    def pairs_file(self, name: str) -> str:
        def rules(rows) -> str:
            supported = 0
            kinds: dict[str, int] = {}
            for where, row in rows:
                if row.kind not in SUPPORTED_KINDS | UNSUPPORTED_KINDS:
                    self.err(where, f"unknown kind {row.kind!r}")
                kinds[row.kind] = kinds.get(row.kind, 0) + 1
                supported += row.supported
                self.check_sentences(where, row.doc, row.evidence, "evidence", max_n=2)
                if any(norm(e) == norm(row.claim) for e in row.evidence):
                    self.err(where, "claim is a verbatim copy of its evidence")
            ratio = supported / len(rows) if rows else 0.0
            lo, hi = SUPPORTED_RATIO
            if rows and not lo <= ratio <= hi:
                self.err(name, f"supported ratio {ratio:.0%} outside {lo:.0%}-{hi:.0%}")
            kind_s = ", ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
            return f", supported={supported} ({ratio:.0%}); {kind_s}"

        return self._file(name, PairRow, "pair-", rules)

    def _file(self, name: str, model: type[Row], prefix: str, rules: Callable[[list], str]) -> str:
        bad_before = len(self.problems)
        rows = self.load(name, model, prefix)
        extra = rules(rows)
        count = len(rows)
        if count < MIN_COUNTS[name]:
            self.err(name, f"{count} items (need >= {MIN_COUNTS[name]})")
        bad = len(self.problems) - bad_before
        status = "OK" if bad == 0 else f"FAIL ({bad} problems)"
        return f"{name}: {status}: {count} items{extra}"


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus-dir", type=Path, default=Path("/work/shared/corpus"))
    ap.add_argument("--seed", type=Path, default=Path("/work/shared/seed/article.txt"))
    ap.add_argument("--data-dir", type=Path, default=here / "data")
    args = ap.parse_args(argv)

    ck = Checker(args.corpus_dir, args.seed, args.data_dir)
    lines = [
        ck.answerable_file("seed.jsonl", "seed-", seed_only=True),
        ck.answerable_file("corpus.jsonl", "corpus-", seed_only=False),
        ck.unanswerable_file("unanswerable.jsonl"),
        ck.multiturn_file("multiturn.jsonl"),
        ck.pairs_file("verifier_pairs.jsonl"),
    ]
    for line in lines:
        print(line)
    for p in ck.problems:
        print(f"  problem: {p}", file=sys.stderr)
    if ck.problems:
        print(f"FAILED: {len(ck.problems)} problem(s)", file=sys.stderr)
        return 1
    print("all datasets OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
