"""QASPER validation in the layout ``rag eval qasper`` reads, for calibrating and validating.

    .venv/bin/python scripts/qasper_validation_set.py [--papers 80] [--seed 0] [--out /tmp/qasper-validation]
    rag eval /tmp/qasper-validation/questions.jsonl --store /tmp/qval-store --json

Reads ``../shared/train-data/qasper`` (questions_validation.json and papers/validation/*.txt,
Markdown) and writes, into a folder outside the repository, what ``../shared/benchmarks/qasper``
holds: ``docs/<arxiv id>.txt`` (plain text: the title, then each section name and its paragraphs,
blocks separated by one blank line, as the benchmark's papers are), ``docs.tsv`` and
``questions.jsonl``. A seeded sample of ``--papers`` papers keeps a run affordable.

As the benchmark did, questions whose annotators disagree on answerability are skipped, and so
are answerable ones without a text evidence paragraph found verbatim in the paper (evidence
starting "FLOAT SELECTED" is a table or figure caption and is left out). Gold sentences are the
sentences (cut by the product's splitter) of the evidence paragraphs that hold an extractive span;
a question answered only in free form or with yes/no has none, and its evidence hit is then
scored by a citation lying inside a gold paragraph.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SOURCE = REPO.parent / "shared" / "train-data" / "qasper"
OUT = Path("/tmp/qasper-validation")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*$")
PAPER_ID = re.compile(r"^\*\*Paper ID:\*\*")


def plain_text(markdown: str) -> str:
    """The paper in the benchmark's plain-text layout: heading marks dropped (a heading becomes
    its own block, as the benchmark's section names are), the Paper ID line left out, blocks
    separated by one blank line, paragraph text unchanged."""
    blocks = []
    for block in re.split(r"\n[ \t]*\n", markdown.replace("\r\n", "\n")):
        block = block.strip("\n")
        if not block.strip() or PAPER_ID.match(block.strip()):
            continue
        heading = HEADING.match(block.strip()) if "\n" not in block.strip() else None
        blocks.append(heading.group(1) if heading else block)
    return "\n\n".join(blocks) + "\n"


def agreed(row: dict) -> bool | None:
    """True: every annotator found an answer; False: none did; None: they disagree (or no annotator)."""
    flags = {bool(a["unanswerable"]) for a in row["answers"]}
    return None if len(flags) != 1 else not flags.pop()


def annotator_answer(answer: dict) -> tuple[str, str]:
    """One annotator's answer as the benchmark writes it, and its type."""
    if answer.get("yes_no") is not None:
        return ("Yes" if answer["yes_no"] else "No"), "boolean"
    spans = [s for s in answer.get("extractive_spans") or [] if s.strip()]
    if spans:
        return ", ".join(spans), "extractive"
    return (answer.get("free_form_answer") or "").strip(), "abstractive"


def paragraph_sentences(paragraph: str) -> list[str]:
    """The paragraph's sentences as the product's splitter cuts them (verbatim, spaces kept)."""
    from rag.ingest.sentences import split_sentences
    from rag.types import Document

    document = Document(doc_id="p", path="", title="", text=paragraph, content_hash="p")
    return [paragraph[s.start : s.end] for s in split_sentences(document)]


def question_record(row: dict, text: str) -> dict | None:
    """The benchmark's record of one question asked of ``text`` (None: the benchmark skips it)."""
    answerable = agreed(row)
    if answerable is None:
        return None
    answers, types, by_annotator, floats = [], [], [], []
    spans: list[str] = []
    for answer in row["answers"] if answerable else ():
        said, kind = annotator_answer(answer)
        if said:
            answers.append(said)
            types.append(kind)
        spans += [s for s in answer.get("extractive_spans") or [] if s.strip()]
        own = []
        for evidence in answer.get("evidence") or []:
            (floats if evidence.startswith("FLOAT SELECTED") else own).append(evidence)
        by_annotator.append(own)
    paragraphs, where = [], []
    for evidence in dict.fromkeys(e for own in by_annotator for e in own):
        at = text.find(evidence.strip())
        if at >= 0 and evidence.strip():
            paragraphs.append(evidence.strip())
            where.append([at, at + len(evidence.strip())])
    if answerable and (not paragraphs or not answers):
        return None
    gold = []
    for paragraph in paragraphs:
        for sentence in paragraph_sentences(paragraph):
            if any(span in sentence for span in spans) and sentence not in gold:
                gold.append(sentence)
    return {
        "id": f"qasper-{row['question_id'][:12]}",
        "question": row["question"],
        "doc": f"{row['paper_id']}.txt",
        "answers": answers,
        "answer_types": types,
        "evidence": paragraphs,
        "answerable": answerable,
        "gold_sentences": gold,
        "evidence_spans": where,
        "evidence_by_annotator": by_annotator,
        "float_evidence": list(dict.fromkeys(floats)),
        "n_annotators": len(row["answers"]),
        "paper_id": row["paper_id"],
        "question_id": row["question_id"],
    }


def build(source: Path, papers: int, seed: int) -> tuple[dict[str, str], list[dict], dict[str, str]]:
    """(paper id -> plain text, question records, paper id -> title) of a seeded sample of
    ``papers`` papers (all when 0) among those with a kept question."""
    rows = json.loads((source / "questions_validation.json").read_text("utf-8"))
    texts: dict[str, str] = {}
    titles: dict[str, str] = {}
    kept: dict[str, list[dict]] = {}
    for row in rows:
        paper_id = row["paper_id"]
        if paper_id not in texts:
            path = source / "papers" / "validation" / f"{paper_id}.txt"
            if not path.is_file():
                continue
            texts[paper_id] = plain_text(path.read_text("utf-8"))
            titles[paper_id] = row.get("paper_title") or texts[paper_id].split("\n", 1)[0]
        record = question_record(row, texts[paper_id])
        if record is not None:
            kept.setdefault(paper_id, []).append(record)
    chosen = sorted(kept)
    if papers and papers < len(chosen):
        chosen = sorted(random.Random(seed).sample(chosen, papers))
    return {p: texts[p] for p in chosen}, [r for p in chosen for r in kept[p]], {p: titles[p] for p in chosen}


def write(out: Path, texts: dict[str, str], records: list[dict], titles: dict[str, str]) -> None:
    """The folder: docs/<id>.txt, docs.tsv and questions.jsonl (an old docs/ folder is replaced)."""
    docs = out / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for old in docs.glob("*.txt"):
        if old.stem not in texts:
            old.unlink()
    for paper_id, text in texts.items():
        (docs / f"{paper_id}.txt").write_text(text, "utf-8")
    with (out / "docs.tsv").open("w", encoding="utf-8", newline="") as handle:
        table = csv.writer(handle, delimiter="\t", lineterminator="\n")
        table.writerow(["doc", "paper_id", "chars", "questions", "unanswerable", "title"])
        for paper_id, text in texts.items():
            own = [r for r in records if r["paper_id"] == paper_id]
            table.writerow([f"{paper_id}.txt", paper_id, len(text), len(own), sum(not r["answerable"] for r in own), titles[paper_id]])
    (out / "questions.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="the QASPER train-data folder")
    parser.add_argument("--out", type=Path, default=OUT, help="the folder to write (outside the repository)")
    parser.add_argument("--papers", type=int, default=80, help="a seeded sample of this many papers (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out == REPO or REPO in out.parents:
        print(f"qasper_validation_set: error: {out} is inside the repository; write it elsewhere (--out)", file=sys.stderr)
        return 2
    if args.papers < 0:
        print(f"qasper_validation_set: error: --papers must be 0 or more, not {args.papers}", file=sys.stderr)
        return 2
    if not (args.source / "questions_validation.json").is_file():
        print(f"qasper_validation_set: error: no questions_validation.json in {args.source}; pass --source", file=sys.stderr)
        return 2
    texts, records, titles = build(args.source, args.papers, args.seed)
    write(out, texts, records, titles)
    unanswerable = sum(not r["answerable"] for r in records)
    boolean = sum("boolean" in r["answer_types"] for r in records)
    print(f"wrote {out}: {len(texts)} papers, {len(records)} questions ({unanswerable} unanswerable, {boolean} yes/no)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
