"""Ingest benchmark on real documents: each PDF of ../shared/pdfs alone, then the folder of
papers of ../shared/benchmarks/qasper/docs, each indexed with the real embedding model into a
fresh store by a child process of its own (so its peak RSS is its own). Prints one row each:

    input | pages | sentences | extract s | ingest s | pages/s | sentences/s | peak RSS

"extract s" is the text extraction alone (``load_document`` of every file); "ingest s" is
``Rag.ingest`` after the model is loaded (extraction, splitting, embedding, writing). Run:

    .venv/bin/python benchmarks/pdf_ingest.py [--code DIR] [--threads 1] [--json]

``--code`` names the checkout whose ``rag`` is measured (default: this one), so one script
measures another branch's code the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PDFS = SHARED / "pdfs"
PAPERS = SHARED / "benchmarks" / "qasper" / "docs"


def measure(paths: list[Path], threads: int) -> dict:
    """Run in the child: extraction time, then a full ingest into a fresh store."""
    import resource
    import time

    from rag.config import load_settings
    from rag.ingest.files import find_files, load_document
    from rag.api import Rag

    files, _ = find_files(paths)
    started = time.perf_counter()
    for path in files:
        load_document(path, 10**9)
    extract = time.perf_counter() - started
    pages = 0
    for path in files:
        if path.suffix.lower() == ".pdf":
            import pypdfium2 as pdfium

            document = pdfium.PdfDocument(path)
            pages += len(document)
            document.close()
    with tempfile.TemporaryDirectory() as store:
        rag = Rag(load_settings(REPO / "rag.toml", store_dir=Path(store) / "store", threads=threads))
        rag.warm_up()
        started = time.perf_counter()
        report = rag.ingest(paths)
        ingest = time.perf_counter() - started
        sentences = sum(s.sentences for s in rag.sources())
        rag.close()
    return {
        "files": len(files),
        "skipped": len(report.skipped),
        "pages": pages,
        "sentences": sentences,
        "extract_s": round(extract, 2),
        "ingest_s": round(ingest, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=REPO, help="checkout whose rag package is measured")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON lines")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure([Path(p) for p in args.child], args.threads)))
        return 0
    inputs = [[p] for p in sorted(PDFS.glob("*.pdf"))] + [[PAPERS]]
    env = {**os.environ, "PYTHONPATH": str(args.code.resolve()), "HF_HUB_OFFLINE": "1"}
    print(f"code: {args.code.resolve()}")
    print(f"{'input':32} {'pages':>6} {'sents':>7} {'extract s':>9} {'ingest s':>9} {'pages/s':>8} {'sents/s':>8} {'peak RSS':>9}")
    for paths in inputs:
        child = subprocess.run(
            [sys.executable, __file__, "--threads", str(args.threads), "--child", *map(str, paths)],
            cwd=args.code, env=env, capture_output=True, text=True,
        )
        if child.returncode:
            print(f"{paths[0].name}: failed\n{child.stderr[-2000:]}", file=sys.stderr)
            return 1
        row = json.loads(child.stdout.strip().splitlines()[-1])
        row["input"] = paths[0].name + ("/" if paths[0].is_dir() else "")
        if args.json:
            print(json.dumps(row))
            continue
        pages_per_s = f"{row['pages'] / row['ingest_s']:.1f}" if row["pages"] else "-"
        print(
            f"{row['input']:32} {row['pages'] or '-':>6} {row['sentences']:>7} {row['extract_s']:>9} {row['ingest_s']:>9} "
            f"{pages_per_s:>8} {row['sentences'] / row['ingest_s']:>8.1f} {row['peak_rss_mb']:>7} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
