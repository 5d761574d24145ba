"""Scale benchmark: the costs of rag *besides* the model, at 5 k, 20 k, 80 k and 300 k sentences.

A stand-in embedder that costs nothing (the hashing fake of the tests) and corpora generated
from real text: documents of five sentences drawn from ../shared/corpus, each document made
unique by its number. One store grows step by step; after each step a fresh child process
opens it and answers questions. Prints one table row per size:

    sentences in store | ingest (this step) | cold open | RSS after open | ask p50 / p95

Cold open is the time from creating ``Rag`` to the end of the first answer minus that
answer's own latency (opening the store, loading or building the lexical index). Run:

    .venv/bin/python benchmarks/scale.py [--sizes 5000,20000,80000,300000] [--reranker features] [--keep DIR]

The asking process uses the feature reranker by default, so the figures are the costs besides
any model; ``--reranker combined`` adds the reader's forward passes.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
SHARED = REPO.parent / "shared" / "corpus"
SENTENCES_PER_DOCUMENT = 5
QUESTIONS = (
    "What does Article 5 of the North Atlantic Treaty say?",
    "What did Pistorius warn about?",
    "Who led the U.S. delegation in Berlin?",
    "When was the treaty signed?",
    "What security guarantees does Ukraine want?",
    "What is the role of the Security Council?",
    "How long did the talks last?",
    "Which countries joined NATO in 2004?",
    "What did the parties agree about prisoners of war?",
    "Where were the Black Sea talks held?",
)
CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {repo!r}); sys.path.insert(0, {tests!r})
started = time.perf_counter()
from fakes import HashingEmbedder
from rag.config import Settings
from rag.api import Rag
questions = json.loads(sys.argv[2])
rag = Rag(Settings(store_dir=sys.argv[1], reranker=sys.argv[3]), embedder=HashingEmbedder())
first = time.perf_counter()
rag.ask(questions[0])
after_first = time.perf_counter()
rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
seconds = []
for round_ in range(3):
    for question in questions:
        t = time.perf_counter()
        rag.ask(question)
        seconds.append(time.perf_counter() - t)
seconds.sort()
ask_first = seconds[len(seconds) // 2]
print(json.dumps({{
    "cold_open_s": round(after_first - started - ask_first, 2),
    "rss_mb": round(rss),
    "ask_p50_ms": round(1000 * seconds[len(seconds) // 2], 1),
    "ask_p95_ms": round(1000 * seconds[int(len(seconds) * 0.95) - 1], 1),
}}))
"""


def real_sentences() -> list[str]:
    from rag.ingest.files import find_files, load_document
    from rag.ingest.sentences import split_sentences
    from rag.text import normalize_space

    files, _ = find_files([SHARED])
    sentences = []
    for path in files:
        document = load_document(path, 10**8)
        sentences += [normalize_space(s.text) for s in split_sentences(document) if len(s.text.split()) >= 6]
    return sentences


def write_documents(folder: Path, first: int, count: int, pool: list[str], rng: random.Random) -> None:
    """Documents ``first`` .. ``first + count - 1``, five real sentences each, made unique."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(first, first + count):
        picked = rng.sample(pool, SENTENCES_PER_DOCUMENT)
        body = " ".join(f"{s} (Report {number}.)" if i == 0 else s for i, s in enumerate(picked))
        (folder / f"report-{number:07d}.txt").write_text(
            f"Title: Generated report {number}\nSource: generated from the shared corpus\n-----\n{body}\n", "utf-8"
        )


def measure_open(store: Path, reranker: str) -> dict:
    script = CHILD.format(repo=str(REPO), tests=str(REPO / "tests"))
    out = subprocess.run(
        [sys.executable, "-c", script, str(store), json.dumps(QUESTIONS), reranker],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,20000,80000,300000", help="sentences in the store after each step")
    parser.add_argument(
        "--reranker",
        default="features",
        choices=("features", "reader", "combined"),
        help="reranker of the asking process (features: no model, the costs besides the model)",
    )
    parser.add_argument("--keep", type=Path, help="keep the generated corpus and store in this folder")
    args = parser.parse_args(argv)
    from fakes import HashingEmbedder

    from rag.config import Settings
    from rag.api import Rag

    work = args.keep or Path(tempfile.mkdtemp(prefix="rag-scale-"))
    store = work / "store"
    pool = real_sentences()
    rng = random.Random(11)
    documents = 0
    rows = []
    print("| sentences in store | ingest (this step) | ingest sentences/s | cold open | RSS after open | ask p50 / p95 |")
    print("|---|---|---|---|---|---|")
    per_document = float(SENTENCES_PER_DOCUMENT)  # the splitter may cut a little differently
    stored = 0
    for size in (int(s) for s in args.sizes.split(",")):
        wanted = documents + max(1, round((size - stored) / per_document))
        step = work / f"docs-{size}"
        write_documents(step, documents, wanted - documents, pool, rng)
        rag = Rag(Settings(store_dir=store), embedder=HashingEmbedder())
        started = time.perf_counter()
        report = rag.ingest([step])
        seconds = time.perf_counter() - started
        rag.close()
        added = report.sentences - stored
        per_document = added / (wanted - documents)
        documents, stored = wanted, report.sentences
        opened = measure_open(store, args.reranker)
        row = {"sentences": report.sentences, "ingest_s": round(seconds, 1), "added": added, **opened}
        rows.append(row)
        print(
            f"| {report.sentences:,} | {seconds:.1f} s for {added:,} | {added / seconds:,.0f} | "
            f"{opened['cold_open_s']:.1f} s | {opened['rss_mb']:,} MB | {opened['ask_p50_ms']:.0f} / {opened['ask_p95_ms']:.0f} ms |",
            flush=True,
        )
    print(json.dumps(rows))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
