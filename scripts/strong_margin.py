"""How often is a strong reader lead right, by how far it leads the runner-up? (held-out data)

    .venv/bin/python scripts/strong_margin.py [--questions 1500] [--rivals 8] [--strong 0.95]

The evidence behind ``reader_strong_margin``. SQuAD v1.1 dev questions of the validation
articles of ``scripts/train_reader.py`` (never trained on), each judged by the shipped reader
against its paragraph plus the ``--rivals`` sentences of other paragraphs of the same article
that share most words with the question (the kind of rival a pooled corpus brings). A lead is
right when it holds the answer (in its paragraph: the sentence at an answer's offset;
elsewhere: a sentence holding an answer's text). Prints, for the leads at or above
``--strong``, how often they are right by the runner-up's relevance and by the margin.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from reader_data import DATA, Overlap, articles_of, candidate, paragraphs_of, read_jsonl, sentence_at, v2_article_split  # noqa: E402


def pooled_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options ``pooled_questions`` reads, added to ``parser``."""
    parser.add_argument("--questions", type=int, default=1500, help="dev questions, a seeded sample")
    parser.add_argument("--rivals", type=int, default=8, help="sentences from the article's other paragraphs per question")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA, help="the train-data folder")
    return parser


def parse_args(argv=None):
    parser = pooled_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--strong", type=float, default=0.95, help="the strong-mark relevance")
    return parser.parse_args(argv)


def pooled_questions(args):
    """Per held-out question of the seeded sample: (the SQuAD row, its candidates, which of them
    hold the answer, the reader's judgements). The candidates are the question's paragraph and
    the ``args.rivals`` sentences of the article's other paragraphs sharing most words with it."""
    from rag.models.reader import Reader

    v2 = read_jsonl(args.data / "squad_v2.0_dev.jsonl")
    trained_articles, _ = v2_article_split(v2)
    dev = [r for r in read_jsonl(args.data / "squad_v1.1_dev.jsonl") if r["title"] not in trained_articles]
    paragraphs = paragraphs_of(dev)
    by_article = articles_of(dev, paragraphs)
    sample = list(dev)
    random.Random(args.seed).shuffle(sample)
    reader = Reader(threads=args.threads)
    for row in sample[: args.questions]:
        candidates, right = pooled_candidates(row, row["answers"], paragraphs, by_article, args.rivals)
        yield row, candidates, right, reader.judge(row["question"], candidates, spans_for=2)


def pooled_candidates(row, answers, paragraphs, by_article, rivals: int):
    """A question's candidates (its paragraph's sentences, then the ``rivals`` sentences of the
    article's other paragraphs sharing most words with it) and which of them hold an answer."""
    from rag.text import content_terms

    own = paragraphs[row["context"]]
    candidates = [candidate(own, i) for i in range(len(own.sentences))]
    gold = {sentence_at(own, a["start"]) for a in answers}
    right = [i in gold for i in range(len(candidates))]
    others = [(p, i) for p in by_article[row["title"]] if p is not own for i in range(len(p.sentences))]
    if others:
        overlap = Overlap([p.terms[i] for p, i in others])
        asked = frozenset(content_terms(row["question"]))
        others.sort(key=lambda pi: -overlap.score(asked, pi[0].terms[pi[1]]))
    for p, i in others[:rivals]:
        candidates.append(candidate(p, i))
        right.append(any(a["text"] in p.sentences[i] for a in answers))
    return candidates, right


def leads(args) -> list[tuple[float, bool, float, bool]]:
    """(lead relevance, lead right, runner-up relevance, the two short answers agree) per question."""
    found = []
    for _, candidates, right, judged in pooled_questions(args):
        relevance = [j.relevance for j in judged]
        order = sorted(range(len(relevance)), key=lambda i: -relevance[i])
        if len(order) < 2:
            found.append((relevance[order[0]], right[order[0]], 0.0, False))
            continue
        shorts = [candidates[i].text[slice(*judged[i].span)] if judged[i].span else "" for i in order[:2]]
        found.append((relevance[order[0]], right[order[0]], relevance[order[1]], agree(*shorts)))
    return found


def agree(first: str, second: str) -> bool:
    """The two short answers say the same: equal, or one holds the other's words, normalised."""
    from evals.metrics import normalize_answer

    a, b = normalize_answer(first), normalize_answer(second)
    return bool(a and b) and (f" {a} " in f" {b} " or f" {b} " in f" {a} ")


def share(rows) -> str:
    return f"{len(rows)} leads, right {sum(f[1] for f in rows) / len(rows):.3f}" if rows else "0 leads"


def main(argv=None) -> int:
    args = parse_args(argv)
    found = leads(args)
    strong = [f for f in found if f[0] >= args.strong]
    print(f"{len(found)} questions; lead right {sum(f[1] for f in found) / max(1, len(found)):.3f}")
    print(f"leads at relevance >= {args.strong}: {share(strong)}")
    for low, high in ((0, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01)):
        print(f"  runner-up in [{low}, {min(high, 1)}): {share([f for f in strong if low <= f[2] < high])}")
    for margin in (0.02, 0.05, 0.1):
        near = [f for f in strong if f[0] - f[2] < margin]
        clear = [f for f in strong if f[0] - f[2] >= margin]
        print(f"  margin < {margin}: {share(near)}; margin >= {margin}: {share(clear)}")
    near = [f for f in strong if f[0] - f[2] < 0.05]
    print(f"  margin < 0.05 and the two short answers agree: {share([f for f in near if f[3]])}; disagree: {share([f for f in near if not f[3]])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
