"""The ``rag`` command line: a thin shell that parses, calls ``rag.api.Rag`` and prints.

Every failure a user can cause prints one line on stderr and exits with code 2 (``rag.shells.terminal``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence

from rag.errors import RagError
from rag.shells.terminal import EXIT_OK, EXIT_USAGE, run_guarded, visible
from rag.text import normalize_space
from rag.ask.types import PARTIAL_PREFIX


DOC_HELP = "ask only within this document: file name, title, id or a glob such as '*.pdf' (repeatable)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        raise RagError(f"{message}; see: {self.prog} --help")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rag", description="Question answering with verified, sentence-level citations.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", help="store folder (default .rag-store or $RAG_STORE)")
    common.add_argument("--store-url", help="Chroma server URL, e.g. http://127.0.0.1:8000 ($RAG_STORE_URL)")
    common.add_argument("--config", help="settings file (default ./rag.toml or $RAG_CONFIG)")
    common.add_argument("--threads", type=int, help="torch threads (default 2)")
    common.add_argument("--reranker", choices=["features", "reader", "combined"], help="how evidence is ranked ($RAG_RERANKER)")
    common.add_argument("--llm-url", help="OpenAI-compatible server for --answerer llm ($RAG_LLM_URL)")
    common.add_argument("--llm-model", help="local model name or the server's model name ($RAG_LLM_MODEL)")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    ingest = sub.add_parser("ingest", parents=[common], help="index files and folders (.txt .md .html .docx .pdf)")
    ingest.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: the configured corpus)")
    ingest.add_argument("--prune", action="store_true", help="remove documents whose files are gone")
    ingest.add_argument("--json", action="store_true", help="print a JSON summary")
    ingest.add_argument(
        "--follow-links", action="store_true", default=None, help="follow links that point outside the paths given"
    )

    ask = sub.add_parser("ask", parents=[common], help="answer one question, or one per stdin line as JSON")
    ask.add_argument("question", nargs="?", help="the question (omit to read questions from stdin)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--answerer", choices=["extractive", "llm"], help="how to compose the answer")
    ask.add_argument("--doc", action="append", metavar="NAME", help=DOC_HELP)

    chat = sub.add_parser("chat", parents=[common], help="a conversation in the terminal, with follow-ups")
    chat.add_argument("--answerer", choices=["extractive", "llm"], help="how to compose the answer")
    chat.add_argument("--doc", action="append", metavar="NAME", help=DOC_HELP)

    sources = sub.add_parser("sources", parents=[common], help="list the indexed documents")
    sources.add_argument("--json", action="store_true", help="print JSON")

    evaluate = sub.add_parser("eval", parents=[common], help="measure retrieval, citations and abstention")
    evaluate.add_argument("datasets", nargs="*", metavar="DATASET", help="dataset files or names (default: ours)")
    evaluate.add_argument("--limit", type=int, help="at most N questions per dataset")
    evaluate.add_argument("--json", action="store_true", help="print every metric as one JSON object")
    evaluate.add_argument("--report", metavar="FILE.md", help="write a Markdown report with a chart")
    evaluate.add_argument("--answerer", choices=["extractive", "llm"], help="how to compose the answers")
    evaluate.add_argument("--per-doc", action="store_true", help="ask each question within its row's doc")
    evaluate.add_argument("--pooled", action="store_true", help="ask QASPER's questions of all its papers at once")
    return parser


def _open(args, create: bool = False):
    from rag.api import Rag
    from rag.config import load_settings

    overrides = {
        "store_dir": args.store,
        "store_url": args.store_url,
        "threads": args.threads,
        "reranker": args.reranker,
        "answerer": getattr(args, "answerer", None),
        "llm_url": args.llm_url,
        "llm_model": args.llm_model,
        "follow_links_outside": getattr(args, "follow_links", None),
    }
    return Rag(load_settings(args.config, **overrides), create_store=create)


def cmd_ingest(args) -> int:
    rag = _open(args, create=True)
    paths = args.paths or list(rag.settings.corpus)
    progress = _progress_bar() if sys.stderr.isatty() and not args.json else None
    report = rag.ingest(paths, prune=args.prune, progress=progress)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(
            f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
            f"moved {len(report.moved)}, copies {len(report.copies)}, removed {len(report.removed)}, "
            f"skipped {len(report.skipped)} in {report.seconds:.1f} s; "
            f"index: {report.documents} documents, {report.sentences} sentences, {report.chunks} chunks"
        )
        for move in report.moved:
            print(visible(f"  moved (not embedded again): {move}"))
    for skipped in report.skipped:
        line = f"rag: skipped {skipped.path}: {skipped.reason}"
        print(line if args.json else visible(line), file=sys.stderr)
    if report.missing:
        print(f"rag: {missing_line(report.missing)}", file=sys.stderr)
    if report.skipped and not (report.added or report.updated or report.unchanged):
        print("rag: error: nothing could be ingested; fix the paths above", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def missing_line(paths: Sequence[str], shown: int = 3) -> str:
    """One line naming stored documents whose files are gone and how to remove them."""
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return (
        f"{len(paths)} indexed document(s) have no file any more: {', '.join(paths[:shown])}{more}; "
        "if they moved, ingest their new place; else remove them: rag ingest --prune"
    )


def _progress_bar():
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int, path: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", desc="ingest", file=sys.stderr)
        bar.n = done
        bar.set_postfix_str(os.path.basename(path)[-40:], refresh=True)
        if done >= total:
            bar.close()

    return update


def cmd_ask(args) -> int:
    rag = _open(args)
    scope = rag.scope(args.doc) if args.doc else None  # an unknown name fails before any question
    if args.question is not None:
        answer = rag.ask(args.question, documents=scope)
        print(answer.to_json_text() if args.json else visible(format_answer(answer)))
        return EXIT_OK
    stdin = io.TextIOWrapper(sys.stdin.buffer, "utf-8", "surrogateescape") if hasattr(sys.stdin, "buffer") else sys.stdin
    for line in stdin:
        question = line.strip()
        if not question:
            continue
        try:
            payload = rag.ask(question, documents=scope).to_json()
        except RagError as exc:
            payload = {"question": question.encode("utf-8", "backslashreplace").decode("utf-8"), "error": str(exc)}
        print(json.dumps(payload, ensure_ascii=False), flush=True)
    return EXIT_OK


def format_answer(answer) -> str:
    """The short answer first, then the answer's sentences with their marks, then each citation
    with its document, characters and exact quote (or the closest evidence of an abstention)."""
    lines = []
    if answer.verdict:
        labels = " and ".join(f"[{c.label}]" for c in answer.citations)
        label = "Closest answer" if answer.partial else "Answer"
        together = " together" if len(answer.citations) > 1 else ""
        lines += [f"{label}: {answer.verdict.capitalize()} (from {labels}{together})", ""]
    elif answer.short_answer is not None:
        label = "Closest words" if answer.partial else "Answer"
        lines += [f"{label}: {normalize_space(answer.short_answer.text)} [{answer.short_answer.label}]", ""]
    if answer.abstained:
        lines.append(answer.answer)
    else:
        if answer.partial:
            lines.append(PARTIAL_PREFIX)
        for sentence in answer.sentences:
            markers = "".join(f"[{n}]" for n in sentence.citations)
            lines.append(f"{sentence.text} {markers}  ({sentence_marks(sentence)})")
    lines += [f"\nNote: {warning}" for warning in answer.warnings]
    if answer.abstained and answer.evidence:
        lines.append("\nClosest evidence (not an answer):")
        for hit in answer.evidence:
            lines.append(f"  - {hit.title}: “{normalize_space(hit.sentence.text)}”")
    if answer.citations:
        lines.append("\nSources:")
        for c in answer.citations:
            where = "".join((f" § {c.section}" if c.section else "", f", p. {c.page}" if c.page else ""))
            lines.append(f"  [{c.label}] {c.title}{where} — {c.path} [{c.start}:{c.end}]")
            lines.append(f"      “{normalize_space(c.quote)}”")
    return "\n".join(lines)


def sentence_marks(sentence) -> str:
    """What an answer sentence earned: its strength and how it was checked."""
    marks = [f"{sentence.strength} {sentence.score:.2f}"] if sentence.strength else []
    if sentence.verbatim:
        marks.append("quoted verbatim")
    elif sentence.supported:
        marks.append("checked against its sources")
    else:
        marks.append(f"not verified: {sentence.reason}" if sentence.reason else "not verified")
    return "; ".join(marks)


def cmd_chat(args) -> int:
    from rag.ask.types import Turn

    rag = _open(args)
    scope = rag.scope(args.doc) if args.doc else None
    history: list[Turn] = []
    within = f" within {', '.join(d.title or d.path for d in scope.documents)}" if scope else ""
    print(f"Ask about the documents{within}. /clear forgets the conversation, /quit or Ctrl-D leaves.")
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            return EXIT_OK
        if question in ("/quit", "/exit"):
            return EXIT_OK
        if question == "/clear":
            history.clear()
            print("(conversation cleared)")
            continue
        if not question:
            continue
        streamed = []

        def show(token: str) -> None:
            if not streamed:
                print("(draft, being verified) ", end="")
            streamed.append(token)
            print(visible(token), end="", flush=True)

        try:
            answer = rag.ask(question, history, on_token=show, documents=scope)
        except RagError as exc:
            print(f"rag: {exc}", file=sys.stderr)
            continue
        if streamed:
            print("\n\nVerified answer:")
        print(visible(format_answer(answer)) + "\n")
        history.append(Turn(question, answer.answer))


def cmd_sources(args) -> int:
    rag = _open(args)
    sources = rag.sources()
    if args.json:
        print(json.dumps([s.to_json() for s in sources], ensure_ascii=False))
        return EXIT_OK
    if not sources:
        print("no documents indexed; run: rag ingest PATH")
    for s in sources:
        mark = "  (MISSING: the file is gone)" if s.missing else ""
        print(visible(f"{s.sentences:6d} sentences {s.chunks:5d} chunks  {s.title}{mark}\n{'':27}{s.path}"))
        for copy in s.copies:
            print(visible(f"{'':27}{copy} (same content)"))
    missing = [s.path for s in sources if s.missing]
    if missing:
        print(f"rag: {missing_line(missing)}", file=sys.stderr)
    return EXIT_OK


def cmd_eval(args) -> int:
    from evals.harness import main as eval_main

    return eval_main(args, _open(args))


COMMANDS = {"ingest": cmd_ingest, "ask": cmd_ask, "chat": cmd_chat, "sources": cmd_sources, "eval": cmd_eval}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 1 internal error, 2 user error, 130 interrupted)."""

    def run() -> int:
        args = build_parser().parse_args(argv)
        if not args.command:
            raise RagError("no command given; use one of: ingest, ask, chat, sources, eval (rag --help)")
        return COMMANDS[args.command](args)

    return run_guarded("rag", run)


if __name__ == "__main__":
    sys.exit(main())
