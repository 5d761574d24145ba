#!/usr/bin/env python3
"""Validate the hand-checked evaluation datasets in evals/data/.

Usage:
    python evals/check_datasets.py [--corpus-dir DIR] [--seed PATH] [--data-dir DIR]

Checks, for every file:
  * each line is valid JSON (an object), ids are unique (also across files),
    required keys are present with the right types;
  * minimum counts (seed >= 42, corpus >= 28 over >= 15 documents,
    unanswerable >= 14 with both near and far questions, multiturn >= 16,
    verifier pairs >= 90 with 35-50% supported);
  * every gold / evidence string is a substring of its document's text
    (Path.read_text("utf-8"); "seed-article.txt" is read from --seed);
  * every fact occurs in the gold sentences (case-insensitive, whitespace collapsed);
  * the optional "short" key (seed / corpus items, last turn of multiturn items)
    is a list of at most 3 non-empty strings, each an exact substring of one
    of the item's gold sentences (an empty list: no short answer).

Prints a one-line summary per file and exits 1 if any problem was found.
Standard library only.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rag.text import normalize_space  # noqa: E402  (standard library only, like this script)

SEED_DOC = "seed-article.txt"
PAIR_KINDS = {
    "paraphrase", "entailed_summary",  # supported
    "swapped_name", "changed_number", "changed_date", "negation",
    "beyond_evidence", "wrong_entity_role", "unrelated",  # unsupported
}
SUPPORTED_KINDS = {"paraphrase", "entailed_summary"}

MIN_COUNTS = {
    "seed.jsonl": 42,
    "corpus.jsonl": 28,
    "unanswerable.jsonl": 14,
    "multiturn.jsonl": 16,
    "verifier_pairs.jsonl": 90,
}
MIN_CORPUS_DOCS = 15
MAX_SHORT = 3
SUPPORTED_RATIO = (0.35, 0.50)


def norm(s: str) -> str:
    return normalize_space(s).lower()


class Checker:
    def __init__(self, corpus_dir: Path, seed: Path, data_dir: Path):
        self.corpus_dir = corpus_dir
        self.seed = seed
        self.data_dir = data_dir
        self.problems: list[str] = []
        self._texts: dict[str, str | None] = {}
        self.all_ids: dict[str, str] = {}

    # -- helpers ---------------------------------------------------------
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

    def load(self, name: str) -> list[tuple[int, dict]]:
        path = self.data_dir / name
        rows: list[tuple[int, dict]] = []
        try:
            lines = path.read_text("utf-8").splitlines()
        except OSError as exc:
            self.err(name, f"cannot read: {exc}")
            return rows
        for n, line in enumerate(lines, 1):
            if not line.strip():
                self.err(f"{name}:{n}", "blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                self.err(f"{name}:{n}", f"invalid JSON: {exc}")
                continue
            if not isinstance(obj, dict):
                self.err(f"{name}:{n}", "not a JSON object")
                continue
            rows.append((n, obj))
        return rows

    def check_id(self, name: str, n: int, obj: dict, prefix: str) -> str:
        where = f"{name}:{n}"
        rid = obj.get("id")
        if not isinstance(rid, str) or not rid.startswith(prefix):
            self.err(where, f"id {rid!r} missing or not starting with {prefix!r}")
            return str(rid)
        if rid in self.all_ids:
            self.err(where, f"duplicate id {rid!r} (first in {self.all_ids[rid]})")
        else:
            self.all_ids[rid] = where
        return rid

    def check_keys(self, where: str, obj: dict, spec: dict[str, type | tuple]) -> bool:
        ok = True
        for key, typ in spec.items():
            if key not in obj:
                self.err(where, f"missing key {key!r}")
                ok = False
            elif not isinstance(obj[key], typ) or (typ is int and isinstance(obj[key], bool)):
                self.err(where, f"key {key!r} has wrong type {type(obj[key]).__name__}")
                ok = False
        return ok

    def check_sentences(self, where: str, doc, sents, label: str, max_n: int | None = None) -> bool:
        if not isinstance(doc, str) or not doc:
            self.err(where, "doc must be a non-empty string")
            return False
        text = self.doc_text(doc)
        if text is None:
            self.err(where, f"document {doc!r} not found")
            return False
        if not isinstance(sents, list) or not sents:
            self.err(where, f"{label} must be a non-empty list")
            return False
        if max_n is not None and len(sents) > max_n:
            self.err(where, f"{label} has {len(sents)} items (max {max_n})")
        ok = True
        for s in sents:
            if not isinstance(s, str) or not s.strip():
                self.err(where, f"{label} item is not a non-empty string")
                ok = False
            elif s not in text:
                self.err(where, f"{label} not found verbatim in {doc}: {s[:70]!r}")
                ok = False
            elif s != s.strip():
                self.err(where, f"{label} has leading/trailing whitespace: {s[:70]!r}")
                ok = False
        return ok

    def check_facts(self, where: str, facts, golds) -> None:
        if not isinstance(facts, list) or not 1 <= len(facts) <= 3:
            self.err(where, "facts must be a list of 1-3 strings")
            return
        gold_norm = " ".join(norm(g) for g in golds if isinstance(g, str))
        for f in facts:
            if not isinstance(f, str) or not f.strip():
                self.err(where, f"bad fact {f!r}")
                continue
            if len(f.split()) > 5:
                self.err(where, f"fact longer than 5 words: {f!r}")
            if norm(f) not in gold_norm:
                self.err(where, f"fact {f!r} not in gold text")

    def check_short(self, where: str, obj: dict, golds) -> None:
        """Optional "short": a list of <= MAX_SHORT exact substrings of a gold sentence."""
        if "short" not in obj:
            return
        short = obj["short"]
        if not isinstance(short, list):
            self.err(where, f"key 'short' has wrong type {type(short).__name__}")
            return
        if len(short) > MAX_SHORT:
            self.err(where, f"short has {len(short)} items (max {MAX_SHORT})")
        strs = [x for x in short if isinstance(x, str)]
        if len(set(strs)) != len(strs):
            self.err(where, "short has duplicate items")
        gold = [g for g in golds if isinstance(g, str)]
        for x in short:
            if not isinstance(x, str) or not x.strip():
                self.err(where, f"short item is not a non-empty string: {x!r}")
            elif x != x.strip():
                self.err(where, f"short has leading/trailing whitespace: {x[:70]!r}")
            elif not any(x in g for g in gold):
                self.err(where, f"short not an exact substring of a gold sentence: {x[:70]!r}")

    def check_question(self, where: str, q) -> None:
        if not isinstance(q, str) or not q.strip():
            self.err(where, "question must be a non-empty string")
        elif not q.rstrip().endswith("?"):
            self.err(where, f"question does not end with '?': {q!r}")

    # -- files -----------------------------------------------------------
    def answerable_file(self, name: str, prefix: str, seed_only: bool) -> str:
        bad_before = len(self.problems)
        rows = self.load(name)
        docs: set[str] = set()
        shorts = 0
        spec = {"id": str, "question": str, "answerable": bool, "doc": str, "gold": list, "facts": list}
        for n, obj in rows:
            where = f"{name}:{n}"
            self.check_id(name, n, obj, prefix)
            if not self.check_keys(where, obj, spec):
                continue
            self.check_question(where, obj["question"])
            if obj["answerable"] is not True:
                self.err(where, "answerable must be true")
            if seed_only and obj["doc"] != SEED_DOC:
                self.err(where, f"doc must be {SEED_DOC!r}")
            if not seed_only and obj["doc"] == SEED_DOC:
                self.err(where, "corpus questions must not use the seed article")
            if self.check_sentences(where, obj["doc"], obj["gold"], "gold"):
                self.check_facts(where, obj["facts"], obj["gold"])
            self.check_short(where, obj, obj["gold"])
            shorts += bool(obj.get("short"))
            docs.add(obj["doc"])
        self.min_count(name, len(rows))
        extra = f", {shorts} with short answers"
        if not seed_only:
            if len(docs) < MIN_CORPUS_DOCS:
                self.err(name, f"questions cover {len(docs)} documents (need >= {MIN_CORPUS_DOCS})")
            extra = f", {len(docs)} documents" + extra
        return self.summary(name, len(rows), bad_before, extra)

    def unanswerable_file(self, name: str) -> str:
        bad_before = len(self.problems)
        rows = self.load(name)
        near = far = 0
        spec = {"id": str, "question": str, "answerable": bool, "near": bool}
        for n, obj in rows:
            where = f"{name}:{n}"
            self.check_id(name, n, obj, "unans-")
            if not self.check_keys(where, obj, spec):
                continue
            self.check_question(where, obj["question"])
            if obj["answerable"] is not False:
                self.err(where, "answerable must be false")
            for key in ("doc", "gold", "facts", "short"):
                if key in obj:
                    self.err(where, f"unanswerable item must not carry {key!r}")
            if obj["near"]:
                near += 1
            else:
                far += 1
        self.min_count(name, len(rows))
        if rows and (near == 0 or far == 0):
            self.err(name, f"need both near and far questions (near={near}, far={far})")
        return self.summary(name, len(rows), bad_before, f", near={near}, far={far}")

    def multiturn_file(self, name: str) -> str:
        bad_before = len(self.problems)
        rows = self.load(name)
        seed = corpus = shorts = 0
        for n, obj in rows:
            where = f"{name}:{n}"
            self.check_id(name, n, obj, "multi-")
            if not self.check_keys(where, obj, {"id": str, "turns": list}):
                continue
            turns = obj["turns"]
            if len(turns) < 2 or not all(isinstance(t, dict) for t in turns):
                self.err(where, "turns must be a list of >= 2 objects")
                continue
            for i, t in enumerate(turns):
                self.check_question(f"{where} turn {i + 1}", t.get("question"))
            for i, t in enumerate(turns[:-1]):
                if any(k in t for k in ("doc", "gold", "facts", "short")):
                    self.err(f"{where} turn {i + 1}", "only the last turn carries doc/gold/facts/short")
            last = turns[-1]
            lw = f"{where} last turn"
            if not self.check_keys(lw, last, {"question": str, "doc": str, "gold": list, "facts": list}):
                continue
            if self.check_sentences(lw, last["doc"], last["gold"], "gold"):
                self.check_facts(lw, last["facts"], last["gold"])
            self.check_short(lw, last, last["gold"])
            shorts += bool(last.get("short"))
            if last["doc"] == SEED_DOC:
                seed += 1
            else:
                corpus += 1
        self.min_count(name, len(rows))
        if rows and (seed == 0 or corpus == 0):
            self.err(name, f"need both seed and corpus cases (seed={seed}, corpus={corpus})")
        return self.summary(name, len(rows), bad_before, f", seed={seed}, corpus={corpus}, {shorts} with short answers")

    def pairs_file(self, name: str) -> str:
        bad_before = len(self.problems)
        rows = self.load(name)
        sup = 0
        kinds: dict[str, int] = {}
        spec = {"id": str, "claim": str, "evidence": list, "doc": str, "supported": bool, "kind": str}
        for n, obj in rows:
            where = f"{name}:{n}"
            self.check_id(name, n, obj, "pair-")
            if not self.check_keys(where, obj, spec):
                continue
            kind = obj["kind"]
            if kind not in PAIR_KINDS:
                self.err(where, f"unknown kind {kind!r}")
            elif (kind in SUPPORTED_KINDS) != obj["supported"]:
                self.err(where, f"kind {kind!r} inconsistent with supported={obj['supported']}")
            kinds[kind] = kinds.get(kind, 0) + 1
            sup += bool(obj["supported"])
            if not obj["claim"].strip():
                self.err(where, "empty claim")
            self.check_sentences(where, obj["doc"], obj["evidence"], "evidence", max_n=2)
            if any(isinstance(e, str) and norm(e) == norm(obj["claim"]) for e in obj["evidence"]):
                self.err(where, "claim is a verbatim copy of its evidence")
        self.min_count(name, len(rows))
        ratio = sup / len(rows) if rows else 0.0
        lo, hi = SUPPORTED_RATIO
        if rows and not lo <= ratio <= hi:
            self.err(name, f"supported ratio {ratio:.0%} outside {lo:.0%}-{hi:.0%}")
        kind_s = ", ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
        return self.summary(name, len(rows), bad_before, f", supported={sup} ({ratio:.0%}); {kind_s}")

    def min_count(self, name: str, count: int) -> None:
        need = MIN_COUNTS[name]
        if count < need:
            self.err(name, f"{count} items (need >= {need})")

    def summary(self, name: str, count: int, bad_before: int, extra: str) -> str:
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
