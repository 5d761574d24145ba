"""Benchmark: this pipeline vs the naive LlamaIndex pipeline a user would write, same corpus.

Naive = SentenceSplitter + HuggingFaceEmbedding + ChromaVectorStore + VectorStoreIndex, all
defaults (retrieve-only at ask time). Each side runs in its own child process (so peak RSS is
its own), one after the other, both with the same torch threads, from one run of this script:

    .venv/bin/python benchmarks/compare_naive.py [--questions N] [--corpus PATH ...]

Prints the time to index, word pieces embedded per second (what the model really encoded:
naive chunks longer than the model's 256-word-piece window are cut there), chunks/s, ask
latency p50/p95, peak RSS, the ratios, and `import rag` time. ``--threads N`` sets torch
threads for both sides (default 2, rag's own default).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _questions(limit: int) -> list[str]:
    questions = []
    for name in ("seed.jsonl", "corpus.jsonl", "unanswerable.jsonl"):
        with open(REPO / "evals" / "data" / name, encoding="utf-8") as handle:
            questions += [json.loads(line)["question"] for line in handle if line.strip()]
    return questions[:limit]


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def run_ours(corpus: list[str], questions: list[str], threads: int, out) -> None:
    import rag  # noqa: F401
    from rag.config import load_settings
    from rag.api import Rag

    with tempfile.TemporaryDirectory() as tmp:
        instance = Rag(load_settings(REPO / "rag.toml", store_dir=Path(tmp) / "store", threads=threads))
        started = time.perf_counter()
        instance.embedder._loaded()
        load = time.perf_counter() - started
        started = time.perf_counter()
        report = instance.ingest(corpus)
        ingest = time.perf_counter() - started
        instance.ask(questions[0])  # warm the lexical index
        latencies = []
        for question in questions:
            t = time.perf_counter()
            instance.ask(question)
            latencies.append(time.perf_counter() - t)
    out.put(
        {
            "chunks": report.chunks,
            "tokens": report.tokens_embedded,
            "precision": instance.embedder.precision,
            "reranker": instance.settings.reranker,
            "sentences": report.sentences,
            "model_load_s": load,
            "ingest_s": ingest,
            "latencies": latencies,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def run_naive(corpus: list[str], questions: list[str], threads: int, out) -> None:
    import rag  # noqa: F401  (offline environment only)
    from rag.models.embedding import load_tokenizer, packaged_model_path
    from rag.ingest.files import find_files
    from rag.offline import set_torch_threads

    set_torch_threads(threads)
    import chromadb
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    files, _ = find_files(corpus)
    documents = [Document(text=Path(f).read_text("utf-8"), metadata={"path": str(f)}) for f in files]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        embed_model = HuggingFaceEmbedding(model_name=str(packaged_model_path()), device="cpu")
        load = time.perf_counter() - started
        client = chromadb.PersistentClient(path=str(Path(tmp) / "naive"))
        store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("naive"))
        started = time.perf_counter()
        index = VectorStoreIndex.from_documents(
            documents,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed_model,
            transformations=[SentenceSplitter()],
        )
        ingest = time.perf_counter() - started
        chunks = store._collection.count()
        # What the model saw of each chunk: at most its window (plus [CLS] and [SEP]).
        tokenizer = load_tokenizer(packaged_model_path())
        window = embed_model._model.max_seq_length
        texts = store._collection.get(include=["documents"])["documents"]
        tokens = sum(min(window, len(tokenizer.encode(t).ids)) for t in texts)
        retriever = index.as_retriever()
        retriever.retrieve(questions[0])
        latencies = []
        for question in questions:
            t = time.perf_counter()
            retriever.retrieve(question)
            latencies.append(time.perf_counter() - t)
    out.put(
        {
            "chunks": chunks,
            "tokens": tokens,
            "model_load_s": load,
            "ingest_s": ingest,
            "latencies": latencies,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def _child(target, corpus, questions, threads) -> dict:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(corpus, questions, threads, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def import_time(runs: int = 5) -> float:
    """Best wall time of `python -c "import rag"` in a fresh interpreter."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import rag"], check=True, cwd=REPO)
        best = min(best, time.perf_counter() - started)
    baseline = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, cwd=REPO)
        baseline = min(baseline, time.perf_counter() - started)
    return best - baseline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for both pipelines (rag's default)")
    parser.add_argument("--corpus", nargs="*", default=[str(REPO / "corpus"), str(REPO.parent / "shared" / "corpus")])
    args = parser.parse_args()
    questions = _questions(args.questions)
    ours = _child(run_ours, args.corpus, questions, args.threads)
    naive = _child(run_naive, args.corpus, questions, args.threads)
    rows = []
    for name, r in (("rag (this)", ours), ("naive llama-index", naive)):
        p50, p95 = _percentiles(r["latencies"])
        r.update(
            chunks_per_s=r["chunks"] / r["ingest_s"], tokens_per_s=r["tokens"] / r["ingest_s"],
            p50_ms=p50 * 1000, p95_ms=p95 * 1000,
        )
        rows.append(
            f"{name:<20}{r['chunks']:>8}{r['tokens']:>10}{r['ingest_s']:>10.1f}{r['tokens_per_s']:>10.0f}"
            f"{r['chunks_per_s']:>10.1f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['peak_rss_mb']:>9.0f}"
        )
    print(
        f"corpus: {', '.join(args.corpus)}; {len(questions)} questions; torch threads {args.threads}; "
        f"rag: {ours['precision']} embedding, {ours['reranker']} reranker"
    )
    print(
        f"{'pipeline':<20}{'chunks':>8}{'tokens':>10}{'index s':>10}{'tokens/s':>10}{'chunks/s':>10}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'peak MB':>9}"
    )
    print("\n".join(rows))
    print(
        f"ratios (rag / naive): time to index {ours['ingest_s'] / naive['ingest_s']:.2f}, "
        f"tokens/s {ours['tokens_per_s'] / naive['tokens_per_s']:.2f}, "
        f"chunks/s {ours['chunks_per_s'] / naive['chunks_per_s']:.2f}, "
        f"ask p50 {ours['p50_ms'] / naive['p50_ms']:.2f} (naive is retrieve-only), "
        f"ask p95 {ours['p95_ms'] / naive['p95_ms']:.2f}, peak RSS {ours['peak_rss_mb'] / naive['peak_rss_mb']:.2f}"
    )
    print(f"sentences embedded in context by rag: {ours['sentences']} (no extra model passes)")
    print(f"import rag: {import_time() * 1000:.0f} ms (fresh interpreter, minus bare start-up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
