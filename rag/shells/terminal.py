"""What every shell (the command line, the web app) does around the core: one line per error,
exit codes, never a traceback in front of a user."""

from __future__ import annotations

import os
import sys
import traceback
import re
from collections.abc import Callable

from rag.errors import RagError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` safe for a terminal: control characters (C0 but newline and tab, DEL, C1, so
    every escape sequence) shown as escapes such as ``\\x1b``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def run_guarded(prog: str, body: Callable[[], int]) -> int:
    """Run a shell's body so a user never sees a traceback.

    RagError -> its one-line message and its ``exit_code`` (2); Ctrl-C -> exit 130; anything
    else -> one line naming the error, exit 1 (``RAG_DEBUG=1`` re-raises it).
    """
    try:
        return body()
    except RagError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # never a traceback in front of a user
        if os.environ.get("RAG_DEBUG"):
            raise
        print(f"{prog}: internal error: {type(exc).__name__}: {exc} (set RAG_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


def user_message(exc: BaseException) -> str:
    """The line a user sees for ``exc`` in a long-running shell: a RagError's own message, else a
    short internal error (the traceback goes to stderr, the server log)."""
    if isinstance(exc, RagError):
        return str(exc)
    print(f"rag: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
    return f"internal error ({type(exc).__name__}); the details are in the server log"
