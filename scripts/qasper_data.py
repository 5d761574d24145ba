"""QASPER training groups and validation for the reader (see scripts/train_reader.py --qasper).

A paper file is Markdown (``# title``, ``## section`` and paragraphs, see the data's README);
it is cut into sentences by the product's own splitter, and each sentence is seen as the
product gives it: the paper title, its heading path below the title ("Experiments › Datasets")
and the previous sentence. Questions where annotators disagree on answerability are skipped,
and so is FLOAT SELECTED evidence (tables and figure captions).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from rag.models.reader.encoding import Candidate
from rag.ingest.sections import section_label
from rag.ingest.sentences import split_sentences
from rag.text import content_terms
from rag.types import Document, Heading

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*$", re.MULTILINE)
SAME_PAPER_NEGATIVES = 2
OTHER_SECTION_NEGATIVES = 1
UNANSWERABLE_NEGATIVES = 3


@dataclass(frozen=True)
class Paper:
    """A paper's sentences (text, start offset, heading path) and their content terms."""

    title: str
    text: str
    sentences: tuple[str, ...]
    starts: tuple[int, ...]
    sections: tuple[str, ...]
    terms: tuple[frozenset[str], ...]

    def candidate(self, i: int) -> Candidate:
        return Candidate(self.sentences[i], self.title, self.sentences[i - 1] if i > 0 else "", self.sections[i])


def read_paper(text: str) -> Paper:
    """The paper's body sentences (headings and the Paper ID line are not sentences)."""
    found = list(HEADING.finditer(text))
    title = next((m.group(2) for m in found if len(m.group(1)) == 1), "")
    headings = tuple(
        Heading(m.start(2), m.end(2), len(m.group(1)) - 1, m.group(2)) for m in found if len(m.group(1)) > 1
    )
    document = Document(doc_id="paper", path="", title=title, text=text, content_hash=str(hash(text)))
    lines = [(m.start(), m.end()) for m in found]
    kept = [
        s for s in split_sentences(document)
        if not any(a <= s.start < b for a, b in lines) and not s.text.startswith(("#", "**Paper ID"))
    ]
    return Paper(
        title=title,
        text=text,
        sentences=tuple(s.text for s in kept),
        starts=tuple(s.start for s in kept),
        sections=tuple(section_label(headings, s.start) for s in kept),
        terms=tuple(frozenset(content_terms(s.text)) for s in kept),
    )


def overlap_ranking(paper: Paper, question: str) -> list[int]:
    """The paper's sentences by IDF-weighted overlap with the question's words, best first."""
    from reader_data import Overlap

    overlap = Overlap(list(paper.terms))
    asked = frozenset(content_terms(question))
    scores = [overlap.score(asked, t) for t in paper.terms]
    return sorted(range(len(scores)), key=lambda k: (-scores[k], k))


def agreed(row: dict) -> bool | None:
    """True: every annotator found an answer; False: none did; None: they disagree."""
    flags = {bool(a["unanswerable"]) for a in row["answers"]}
    return None if len(flags) != 1 else not flags.pop()


def positives(paper: Paper, row: dict) -> dict[int, tuple[int, int] | None]:
    """Answer sentences (index -> span in the sentence, or None) over every annotator's evidence:
    in each evidence paragraph the sentence holding an extractive span, else the one sharing most
    words with the free-form answer (and question)."""
    found: dict[int, tuple[int, int] | None] = {}
    for answer in row["answers"]:
        for evidence in answer["evidence"]:
            if evidence.startswith("FLOAT SELECTED"):
                continue
            at = paper.text.find(evidence)
            if at < 0:
                continue
            inside = [k for k, s in enumerate(paper.starts) if at <= s < at + len(evidence)]
            if not inside:
                continue
            hit = False
            for span in answer["extractive_spans"]:
                where = paper.text.find(span, at, at + len(evidence)) if span else -1
                if where < 0:
                    continue
                for k in inside:
                    start = where - paper.starts[k]
                    if 0 <= start < len(paper.sentences[k]):
                        end = start + len(span)
                        found.setdefault(k, (start, end) if end <= len(paper.sentences[k]) else None)
                        hit = True
                        break
            if not hit and not answer["extractive_spans"]:
                said = frozenset(content_terms(answer["free_form_answer"] + " " + row["question"]))
                best = max(inside, key=lambda k: (len(said & paper.terms[k]), -k))
                found.setdefault(best, None)
    return found


def qasper_groups(rows: list[dict], papers: dict[str, Paper], rng: random.Random) -> list[dict]:
    """Training groups (as dicts: question, candidates, labels, span, source) of QASPER questions:
    an answer sentence with the best-matching other sentences of the paper and one of another
    section as negatives; unanswerable questions against their paper's best-matching sentences."""
    groups = []
    for row in rows:
        paper = papers.get(row["paper_id"])
        answerable = agreed(row)
        if paper is None or answerable is None or not paper.sentences:
            continue
        ranked = overlap_ranking(paper, row["question"])
        if not answerable:
            chosen = ranked[:UNANSWERABLE_NEGATIVES]
            groups.append(_group(row, paper, chosen, [0] * len(chosen), None, "qasper_unanswerable"))
            continue
        found = positives(paper, row)
        if not found:
            continue
        texts = [a["free_form_answer"].lower() for a in row["answers"] if a["free_form_answer"]]
        texts += [s.lower() for a in row["answers"] for s in a["extractive_spans"] if len(s) > 3]
        evidence_spans = [
            (at, at + len(e)) for a in row["answers"] for e in a["evidence"] if (at := paper.text.find(e)) >= 0
        ]

        def clean(k: int) -> bool:
            inside = any(a <= paper.starts[k] < b for a, b in evidence_spans)
            return k not in found and not inside and not any(t in paper.sentences[k].lower() for t in texts)

        # one group per answer sentence (at most two per question), the spanned ones first
        for k in sorted(found, key=lambda k: (found[k] is None, k))[:2]:
            same = [j for j in ranked if clean(j)][:SAME_PAPER_NEGATIVES]
            other = [j for j in ranked if clean(j) and j not in same and paper.sections[j] != paper.sections[k]]
            negatives = same + other[:OTHER_SECTION_NEGATIVES]
            groups.append(_group(row, paper, [k, *negatives], [1] + [0] * len(negatives), found[k], "qasper"))
    rng.shuffle(groups)
    return groups


def _group(row, paper: Paper, chosen, labels, span, source) -> dict:
    return {
        "question": row["question"],
        "candidates": [paper.candidate(k).__dict__ for k in chosen],
        "labels": list(labels),
        "span": list(span) if span else None,
        "source": source,
    }


def load_papers(folder: Path, ids: set[str]) -> dict[str, Paper]:
    papers = {}
    for paper_id in sorted(ids):
        path = folder / f"{paper_id}.txt"
        if path.exists():
            papers[paper_id] = read_paper(path.read_text("utf-8"))
    return papers


def load_qasper(folder: Path, split: str, limit: int = 0) -> tuple[list[dict], dict[str, Paper]]:
    """The split's questions (the first ``limit`` papers' when set) and their papers."""
    rows = json.loads((folder / f"questions_{split}.json").read_text("utf-8"))
    if limit:
        keep = list(dict.fromkeys(r["paper_id"] for r in rows))[:limit]
        rows = [r for r in rows if r["paper_id"] in set(keep)]
    return rows, load_papers(folder / "papers" / split, {r["paper_id"] for r in rows})


def validate_qasper(score, rows: list[dict], papers: dict[str, Paper], top_k: int = 12, questions: int = 0) -> dict:
    """Answer-sentence selection among the paper's ``top_k`` best-matching sentences (of the
    agreed answerable questions whose answer sentence is among them) and abstention balanced
    accuracy (answered when the best logit >= 0) against the agreed unanswerable ones."""
    answerable, unanswerable = [], []
    for row in rows:
        paper = papers.get(row["paper_id"])
        flag = agreed(row)
        if paper is None or flag is None or not paper.sentences:
            continue
        (answerable if flag else unanswerable).append((row, paper))
    if questions:
        answerable, unanswerable = answerable[:questions], unanswerable[:questions]
    selected = reachable = 0
    answered_best = []
    for row, paper in answerable:
        gold = set(positives(paper, row))
        ranked = overlap_ranking(paper, row["question"])[:top_k]
        logits, _ = score(row["question"], [paper.candidate(k) for k in ranked])
        answered_best.append(max(logits))
        if gold & set(ranked):
            reachable += 1
            selected += ranked[max(range(len(ranked)), key=lambda i: logits[i])] in gold
    refused_best = []
    for row, paper in unanswerable:
        ranked = overlap_ranking(paper, row["question"])[:top_k]
        refused_best.append(max(score(row["question"], [paper.candidate(k) for k in ranked])[0]))
    result = {
        "qasper_answerable": len(answerable),
        "qasper_gold_in_top_k": reachable,
        "qasper_selection_accuracy": round(selected / (reachable or 1), 4),
    }
    if answered_best and refused_best:
        answered = sum(x >= 0 for x in answered_best) / len(answered_best)
        abstained = sum(x < 0 for x in refused_best) / len(refused_best)
        result.update(
            {
                "qasper_unanswerable": len(refused_best),
                "qasper_abstention_balanced_accuracy": round((answered + abstained) / 2, 4),
                "qasper_answered_recall": round(answered, 4),
                "qasper_abstention_recall": round(abstained, 4),
            }
        )
    return result
