"""Training and validation data for the reader (see scripts/train_reader.py): SQuAD v1.1
train, SQuAD v2.0 dev unanswerable questions and SelQA from ../shared/train-data, cut into
sentences by the product's own splitter, and the held-out validation."""

from __future__ import annotations

import json
import math
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from evals.metrics import exact_match, token_f1
from rag.models.reader.encoding import Candidate
from rag.ingest.sentences import split_sentences
from rag.text import content_terms
from rag.types import Document

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "train-data"
GROUP = 3


@dataclass(frozen=True)
class Group:
    """One question and the candidates it is trained on (labels 1/0, span in the positive)."""

    question: str
    candidates: tuple[Candidate, ...]
    labels: tuple[int, ...]
    span: tuple[int, int] | None = None  # character span in the positive candidate
    source: str = "squad"


@dataclass
class Paragraph:
    title: str
    sentences: list[str]
    starts: list[int]
    terms: list[frozenset[str]] = field(default_factory=list)


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            rows.append(json.loads(line))
            if limit and len(rows) >= limit:
                break
    return rows


def title_of(raw: str) -> str:
    return unquote(raw).replace("_", " ")


def split_paragraph(title: str, text: str) -> Paragraph:
    """The paragraph cut by the product's own sentence splitter."""
    document = Document(doc_id="p", path="", title=title, text=text, content_hash=str(hash(text)))
    sentences = split_sentences(document)
    return Paragraph(title, [s.text for s in sentences], [s.start for s in sentences])


class Overlap:
    """IDF-weighted share of a question's content words found in a sentence."""

    def __init__(self, sentence_terms: list[frozenset[str]]):
        counts = Counter(t for terms in sentence_terms for t in terms)
        total = len(sentence_terms) or 1
        self.idf = {t: math.log(1 + total / c) for t, c in counts.items()}
        self.default = math.log(1 + total)

    def score(self, question_terms: frozenset[str], terms: frozenset[str]) -> float:
        return sum(self.idf.get(t, self.default) for t in question_terms & terms)


def paragraphs_of(rows: list[dict]) -> dict[str, Paragraph]:
    cache: dict[str, Paragraph] = {}
    for row in rows:
        if row["context"] not in cache:
            paragraph = split_paragraph(title_of(row["title"]), row["context"])
            paragraph.terms = [frozenset(content_terms(s)) for s in paragraph.sentences]
            cache[row["context"]] = paragraph
    return cache


def sentence_at(paragraph: Paragraph, offset: int) -> int | None:
    for i, (start, text) in enumerate(zip(paragraph.starts, paragraph.sentences)):
        if start <= offset < start + len(text):
            return i
    return None


def candidate(paragraph: Paragraph, i: int) -> Candidate:
    return Candidate(paragraph.sentences[i], paragraph.title, paragraph.sentences[i - 1] if i > 0 else "")


def cross_article_negatives(rows: list[dict], pool_rows: list[dict], depth: int = 20) -> dict[int, tuple[Paragraph, int]]:
    """For each of ``rows`` (by position) the sentence of *another* article that BM25 ranks
    highest for its question among every sentence of ``pool_rows``' paragraphs, unless it holds
    the answer text: the distractor a pooled corpus puts beside the answer (the reader meets
    sentences from many documents at once, not one paragraph)."""
    import bm25s

    paragraphs = paragraphs_of(pool_rows)
    titles = {row["context"]: row["title"] for row in pool_rows}
    where = [(titles[context], p, k) for context, p in paragraphs.items() for k in range(len(p.sentences))]
    index = bm25s.BM25()
    index.index(bm25s.tokenize([p.sentences[k] for _, p, k in where], stopwords="en", show_progress=False), show_progress=False)
    questions = bm25s.tokenize([r["question"] for r in rows], stopwords="en", show_progress=False)
    found, _ = index.retrieve(questions, k=min(depth, len(where)), show_progress=False, n_threads=2)
    negatives = {}
    for n, (row, ranked) in enumerate(zip(rows, found)):
        answer = row["answers"][0]["text"].lower()
        for position in ranked:
            title, paragraph, k = where[int(position)]
            if title != row["title"] and answer not in paragraph.sentences[k].lower():
                negatives[n] = (paragraph, k)
                break
    return negatives


def articles_of(rows: list[dict], paragraphs: dict[str, Paragraph]) -> dict[str, list[Paragraph]]:
    """Each article's paragraphs, in file order."""
    by_article: dict[str, list[Paragraph]] = {}
    for row in rows:
        article = by_article.setdefault(row["title"], [])
        paragraph = paragraphs[row["context"]]
        if not article or article[-1] is not paragraph:
            article.append(paragraph)
    return by_article


def mined_negatives(
    rows: list[dict], pool_rows: list[dict], score, depth: int = 10, progress=None
) -> dict[int, tuple[str, int]]:
    """For each of ``rows`` (by position) the sentence (paragraph text, sentence index) of another paragraph of its article that
    the reader being trained finds most relevant, of the ``depth`` sharing most words with the
    question, unless it holds the answer text: the reader's own mistake in a pooled corpus (on
    held-out SQuAD dev such rivals cut the lead's accuracy from 0.92 in the paragraph to 0.85).
    The article's paragraphs are those of ``pool_rows`` (all of SQuAD train, not only the
    questions trained on); ``score(question, candidates) -> (logits, spans)`` runs the reader."""
    paragraphs = paragraphs_of(pool_rows)
    overlap = Overlap([t for p in paragraphs.values() for t in p.terms])
    by_article = articles_of(pool_rows, paragraphs)
    context_of = {id(p): context for context, p in paragraphs.items()}
    negatives = {}
    for n, row in enumerate(rows):
        own = paragraphs[row["context"]]
        answer = row["answers"][0]["text"].lower()
        asked = frozenset(content_terms(row["question"]))
        pool = [
            (p, k) for p in by_article[row["title"]] if p is not own for k in range(len(p.sentences))
            if answer not in p.sentences[k].lower()
        ]
        pool = sorted(pool, key=lambda pk: -overlap.score(asked, pk[0].terms[pk[1]]))[:depth]
        if pool:
            logits, _ = score(row["question"], [candidate(p, k) for p, k in pool])
            p, k = pool[max(range(len(pool)), key=lambda i: logits[i])]
            negatives[n] = (context_of[id(p)], k)
        if progress is not None:
            progress()
    return negatives


def squad_groups(
    rows: list[dict],
    rng: random.Random,
    cross: dict[int, tuple[Paragraph, int]] | None = None,
    following: bool = False,
    mined: dict[int, tuple[Paragraph, int]] | None = None,
) -> list[Group]:
    """Positive + the best-matching same-paragraph sentence + the best other-paragraph one (+ with
    ``cross``, the other-article distractor of ``cross_article_negatives``; + with ``following``,
    the sentence right after the answer's, whose context then holds the answer: the reader must
    judge the marked sentence, not its context; + with ``mined``, the reader's own most relevant
    wrong sentence of another paragraph, from ``mined_negatives`` over these same ``rows``)."""
    paragraphs = paragraphs_of(rows)
    overlap = Overlap([t for p in paragraphs.values() for t in p.terms])
    by_article = articles_of(rows, paragraphs)
    groups = []
    for n, row in enumerate(rows):
        paragraph = paragraphs[row["context"]]
        answer = row["answers"][0]
        i = sentence_at(paragraph, answer["start"])
        if i is None:
            continue
        start = answer["start"] - paragraph.starts[i]
        end = start + len(answer["text"])
        span = (start, end) if end <= len(paragraph.sentences[i]) else None
        answer_text = answer["text"].lower()
        asked = frozenset(content_terms(row["question"]))

        def best(pool):
            scored = [
                (overlap.score(asked, p.terms[k]), rng.random(), p, k)
                for p, k in pool
                if answer_text not in p.sentences[k].lower()
            ]
            return max(scored, key=lambda s: (s[0], s[1]))[2:] if scored else None

        same = best((paragraph, k) for k in range(len(paragraph.sentences)) if k != i)
        others = best((p, k) for p in by_article[row["title"]] if p is not paragraph for k in range(len(p.sentences)))
        negatives = [c for c in (same, others, (cross or {}).get(n)) if c is not None]
        if mined and n in mined and mined[n] not in negatives:  # Paragraphs compare by value
            negatives.append(mined[n])
        after = (paragraph, i + 1)
        if following and i + 1 < len(paragraph.sentences) and answer_text not in paragraph.sentences[i + 1].lower():
            if after not in negatives:  # ``same`` may already be that sentence
                negatives.append(after)
        candidates = [candidate(paragraph, i)] + [candidate(p, k) for p, k in negatives]
        groups.append(Group(row["question"], tuple(candidates), (1,) + (0,) * len(negatives), span, "squad"))
    return groups


def unanswerable_groups(rows: list[dict]) -> list[Group]:
    """Three best-matching sentences of the paragraph, all negative."""
    paragraphs = paragraphs_of(rows)
    overlap = Overlap([t for p in paragraphs.values() for t in p.terms])
    groups = []
    for row in rows:
        paragraph = paragraphs[row["context"]]
        asked = frozenset(content_terms(row["question"]))
        ranked = sorted(range(len(paragraph.sentences)), key=lambda k: -overlap.score(asked, paragraph.terms[k]))
        chosen = ranked[:GROUP]
        groups.append(Group(row["question"], tuple(candidate(paragraph, k) for k in chosen), (0,) * len(chosen), None, "unanswerable"))
    return groups


def selqa_groups(rows: list[dict]) -> list[Group]:
    """The first answer sentence and the two best-matching non-answer sentences."""
    all_terms = [frozenset(content_terms(s)) for row in rows for s in row["sentences"]]
    overlap = Overlap(all_terms)
    groups = []
    for row in rows:
        sentences = row["sentences"]
        answers = set(row["answer_sentences"])
        if not answers:
            continue
        asked = frozenset(content_terms(row["question"]))
        positive = min(answers)
        others = sorted(
            (k for k in range(len(sentences)) if k not in answers),
            key=lambda k: -overlap.score(asked, frozenset(content_terms(sentences[k]))),
        )[: GROUP - 1]

        def make(k: int) -> Candidate:
            return Candidate(sentences[k], row["title"], sentences[k - 1] if k > 0 else "")

        groups.append(Group(row["question"], tuple(make(k) for k in [positive, *others]), (1,) + (0,) * len(others), None, "selqa"))
    return groups


# ---- splits ----------------------------------------------------------------------------------


def v2_article_split(rows: list[dict]) -> tuple[set[str], set[str]]:
    """SQuAD v2.0 dev articles in file order: two of every three train, the third is held out."""
    articles = list(dict.fromkeys(r["title"] for r in rows))
    train = {a for i, a in enumerate(articles) if i % 3 != 2}
    return train, set(articles) - train


def load_data(args, score=None) -> tuple[list[Group], list[dict], list[dict], list[dict], dict]:
    """Training groups, the validation sets and their counts; ``score`` (the reader being
    trained) mines the ``--mined-negatives``, cached in ``args.out`` for a resumed run."""
    rng = random.Random(args.seed)
    limit = args.limit
    data = getattr(args, "data", None) or DATA
    squad = read_jsonl(data / "squad_v1.1_train.jsonl", limit)
    v2 = read_jsonl(data / "squad_v2.0_dev.jsonl")
    v1_dev = read_jsonl(data / "squad_v1.1_dev.jsonl")
    selqa = read_jsonl(data / "selqa_ass_dev_test.jsonl", limit)
    train_articles, held_articles = v2_article_split(v2)
    unanswerable = [r for r in v2 if r["is_impossible"] and r["title"] in train_articles]
    if limit:
        unanswerable = unanswerable[:limit]
    pool = squad
    if args.questions:
        squad = sorted(squad, key=lambda _: rng.random())[: args.questions]
    cross = cross_article_negatives(squad, pool) if getattr(args, "cross_article", False) else None
    following = getattr(args, "next_sentence", False)
    mined = cached_mined_negatives(args, squad, pool, score) if getattr(args, "mined_negatives", False) else None
    groups = squad_groups(squad, rng, cross, following, mined) + unanswerable_groups(unanswerable) + selqa_groups(selqa)
    # Validation: v1.1 dev questions of articles whose unanswerables were not trained on.
    clean_dev = [r for r in v1_dev if r["title"] not in train_articles]
    held_unanswerable = [r for r in v2 if r["is_impossible"] and r["title"] in held_articles]
    held_answerable = [r for r in v2 if not r["is_impossible"] and r["title"] in held_articles]
    counts = {
        "squad_v1.1_train_questions": sum(g.source == "squad" for g in groups),
        "squad_v2.0_dev_unanswerable_train": sum(g.source == "unanswerable" for g in groups),
        "selqa_questions": sum(g.source == "selqa" for g in groups),
        "pairs": sum(len(g.candidates) for g in groups),
        "validation_squad_v1.1_dev_questions": len(clean_dev),
        "validation_v2_held_out_unanswerable": len(held_unanswerable),
        "validation_v2_held_out_answerable": len(held_answerable),
        "v2_held_out_articles": len(held_articles),
    }
    return groups, clean_dev, held_unanswerable, held_answerable, counts


def cached_mined_negatives(args, rows: list[dict], pool_rows: list[dict], score) -> dict[int, tuple[Paragraph, int]]:
    """``mined_negatives`` for ``rows``, read from ``args.out/mined.json`` when a run with the
    same questions, seed and starting reader wrote it (mining reads every question once)."""
    import hashlib

    from tqdm import tqdm

    key = hashlib.sha256(json.dumps([args.questions, args.limit, args.seed, str(args.init_from or "")]).encode()).hexdigest()[:16]
    cache = Path(args.out) / "mined.json"
    saved = json.loads(cache.read_text("utf-8")) if cache.exists() else {}
    if saved.get("key") == key:
        mined = {int(n): (context, k) for n, (context, k) in saved["negatives"].items()}
    else:
        if score is None:
            raise ValueError("mining negatives needs the reader's score")
        bar = tqdm(total=len(rows), unit="question", desc="mining negatives", file=sys.stderr)
        mined = mined_negatives(rows, pool_rows, score, progress=lambda: bar.update(1))
        bar.close()
        Path(args.out).mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "negatives": mined}), "utf-8")
    wanted = {context for context, _ in mined.values()}
    paragraphs = paragraphs_of([r for r in pool_rows if r["context"] in wanted])
    return {n: (paragraphs[context], k) for n, (context, k) in mined.items()}


def batches(groups: list[Group], per_batch: int, seed: int) -> list[list[Group]]:
    """Shuffled batches of groups; within windows of 50 batches, similar lengths share a batch."""
    rng = random.Random(seed)
    order = groups[:]
    rng.shuffle(order)
    window = per_batch * 50
    out: list[list[Group]] = []
    for first in range(0, len(order), window):
        part = sorted(order[first : first + window], key=lambda g: sum(len(c.text) + len(c.previous) for c in g.candidates))
        out += [part[i : i + per_batch] for i in range(0, len(part), per_batch)]
    rng.shuffle(out)
    return out


# ---- validation ------------------------------------------------------------------------------


def paragraph_candidates(rows: list[dict]) -> tuple[dict[str, Paragraph], list[tuple[dict, Paragraph]]]:
    paragraphs = {}
    items = []
    for row in rows:
        if row["context"] not in paragraphs:
            paragraphs[row["context"]] = split_paragraph(title_of(row["title"]), row["context"])
        items.append((row, paragraphs[row["context"]]))
    return paragraphs, items


def judge_paragraph(score, question: str, paragraph: Paragraph):
    """(relevance logits, spans) for every sentence of the paragraph; ``score`` runs the net."""
    candidates = [candidate(paragraph, i) for i in range(len(paragraph.sentences))]
    return score(question, candidates)


def validate(score, dev: list[dict], unanswerable: list[dict], answerable: list[dict], threshold: float = 0.0) -> dict:
    """Sentence selection accuracy and span EM/F1 on SQuAD v1.1 dev (full paragraph), and
    abstention on held-out SQuAD v2.0 dev (answered when the best logit >= ``threshold``)."""
    _, items = paragraph_candidates(dev)
    selected = em = f1 = 0.0
    for row, paragraph in items:
        logits, spans = judge_paragraph(score, row["question"], paragraph)
        best = max(range(len(logits)), key=lambda i: logits[i])
        gold = {sentence_at(paragraph, a["start"]) for a in row["answers"]}
        selected += best in gold
        start, end = spans[best]
        predicted = paragraph.sentences[best][start:end]
        em += max(exact_match(predicted, a["text"]) for a in row["answers"])
        f1 += max(token_f1(predicted, a["text"]) for a in row["answers"])
    n = len(items) or 1
    result = {
        "squad_dev_questions": len(items),
        "sentence_selection_accuracy": round(selected / n, 4),
        "span_em": round(100 * em / n, 2),
        "span_f1": round(100 * f1 / n, 2),
    }
    best_logits = {}
    for name, rows in (("unanswerable", unanswerable), ("answerable", answerable)):
        _, items = paragraph_candidates(rows)
        best_logits[name] = [max(judge_paragraph(score, r["question"], p)[0]) for r, p in items]
    if best_logits["unanswerable"] and best_logits["answerable"]:
        abstain_recall = sum(x < threshold for x in best_logits["unanswerable"]) / len(best_logits["unanswerable"])
        answer_recall = sum(x >= threshold for x in best_logits["answerable"]) / len(best_logits["answerable"])
        result.update(
            {
                "held_out_unanswerable": len(best_logits["unanswerable"]),
                "held_out_answerable": len(best_logits["answerable"]),
                "abstention_balanced_accuracy": round((abstain_recall + answer_recall) / 2, 4),
                "abstention_recall": round(abstain_recall, 4),
                "answered_recall": round(answer_recall, 4),
            }
        )
    return result
