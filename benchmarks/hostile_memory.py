"""Peak memory of ingesting one large document: `rag ingest` of one text file (1 MiB, 3 MiB,
16 MiB) and of a page-tree PDF, each in a fresh process with the real embedding model.

The text files are real text from ../shared/corpus, every paragraph made unique by its number.
The PDF is a few hundred kilobytes whose /Pages /Kids lists one page object 50,000 times.
Prints one row per case: peak RSS of the child (from its rusage), seconds, and how it ended
(exit code, or "timeout" after --timeout seconds). Run:

    .venv/bin/python benchmarks/hostile_memory.py [--cases 1,3,16,pdf] [--threads 2] [--timeout 900]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "corpus"
PAGE_REPEATS = 50_000


def write_text_file(path: Path, size: int) -> None:
    """A text file of just under ``size`` bytes from the shared corpus's paragraphs, each prefixed
    with its number so no two paragraphs are the same."""
    paragraphs = []
    for source in sorted(SHARED.glob("*.txt")):
        body = source.read_text("utf-8").split("\n-----\n", 1)[-1]
        paragraphs += [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if len(p.split()) > 5]
    parts, used, n = ["Title: A long document\n-----\n"], 0, 0
    while True:
        paragraph = f"Part {n + 1}. {paragraphs[n % len(paragraphs)]}\n\n"
        used += len(paragraph.encode("utf-8"))
        if used >= size - 4096:
            break
        parts.append(paragraph)
        n += 1
    path.write_text("".join(parts), "utf-8")


def write_page_tree_pdf(path: Path, repeats: int = PAGE_REPEATS) -> None:
    """A small PDF whose page tree lists one page object ``repeats`` times."""
    stream = b"BT /F1 12 Tf 72 720 Td (The same page, listed many times over in the page tree.) Tj ET"
    kids = b" ".join([b"3 0 R"] * repeats)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(repeats).encode() + b" >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))


def ingest_in_child(file: Path, store: Path, threads: int, timeout: float) -> tuple[float, float, str]:
    """(peak RSS in MiB, seconds, how it ended) of `rag ingest FILE` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAG_THREADS": str(threads)}
    command = [sys.executable, "-m", "rag.shells.cli", "ingest", str(file), "--store", str(store), "--threads", str(threads)]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    ended = ""
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            ended = ended or f"exit {child.returncode}"
            break
        if not ended and time.perf_counter() - started > timeout:
            ended = "timeout"
            child.kill()
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    errors = child.stderr.read().decode("utf-8", "replace").strip().splitlines()
    if errors and ended != "exit 0":
        ended += f" ({errors[-1][:100]})"
    return usage.ru_maxrss / 1024, seconds, ended


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="1,3,16,pdf", help="MiB sizes of text files and/or 'pdf'")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a child is killed")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="rag-hostile-"))
    try:
        print(f"{'case':>12} | {'peak RSS':>9} | {'seconds':>8} | ended", flush=True)
        for case in args.cases.split(","):
            if case == "pdf":
                file, label = work / "page-tree.pdf", f"pdf x{PAGE_REPEATS}"
                write_page_tree_pdf(file)
            else:
                file, label = work / f"long-{case}.txt", f"{case} MiB txt"
                write_text_file(file, int(float(case) * 2**20))
            rss, seconds, ended = ingest_in_child(file, work / f"store-{case}", args.threads, args.timeout)
            print(f"{label:>12} | {rss:6.0f} MiB | {seconds:8.1f} | {ended}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
