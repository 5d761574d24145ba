"""An embedded store folder: readers share it, a writer has it alone, across processes.

Chroma's PersistentClient is single-process; without the lock a second process fails later
and obscurely ("Error finding id"). With it, the conflict is a one-line error naming the fix.
The other process here is a real child Python process (flock locks are per process).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fakes import TALKS, TREATY, HashingEmbedder

from rag.shells.cli import main
from rag.config import Settings
from rag.errors import StoreError
from rag.api import Rag

TESTS = Path(__file__).resolve().parent

CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from fakes import HashingEmbedder
    from rag.config import Settings
    from rag.errors import StoreError
    from rag.api import Rag

    store, mode, folder = sys.argv[1], sys.argv[2], sys.argv[3]
    rag = Rag(Settings(store_dir=store), embedder=HashingEmbedder())
    try:
        if mode == "ingest":
            report = rag.ingest([folder])
            print("INGESTED", len(report.added), flush=True)
        else:
            rag.sources()  # opens the store (shared)
            if mode == "write":
                with rag.store.writing():
                    print("READY", flush=True)
                    sys.stdin.readline()
            else:
                print("READY", flush=True)
                sys.stdin.readline()
    except StoreError as exc:
        print("ERROR", exc, flush=True)
    """
).format(tests=str(TESTS))


class Child:
    """A second process that opens the store (``read``/``write``) and holds it until closed."""

    def __init__(self, tmp_path: Path, store: Path, mode: str, folder: Path | None = None):
        script = tmp_path / "lock_child.py"
        script.write_text(CHILD)
        self.process = subprocess.Popen(
            [sys.executable, str(script), str(store), mode, str(folder or tmp_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def first_line(self) -> str:
        line = self.process.stdout.readline().strip()
        assert line, self.process.stderr.read()
        return line

    def close(self) -> str:
        out, err = self.process.communicate("\n", timeout=60)
        assert self.process.returncode == 0, err
        return out.strip()


@pytest.fixture
def built(cli_workdir):
    """A store built from two small documents, not held open by this process."""
    docs = cli_workdir / "docs"
    docs.mkdir()
    (docs / "treaty.txt").write_text(TREATY)
    more = cli_workdir / "more"
    more.mkdir()
    (more / "talks.md").write_text(TALKS)
    store = cli_workdir / "store"
    assert main(["ingest", str(docs), "--store", str(store)]) == 0
    return cli_workdir, store, docs, more


def test_ingest_is_refused_while_another_process_has_the_store_open(built, capsys):
    tmp_path, store, _, more = built
    capsys.readouterr()
    reader = Child(tmp_path, store, "read")
    try:
        assert reader.first_line() == "READY"
        # Reading alongside it is fine; writing is refused with one line and nothing changes.
        assert main(["ask", "When was the treaty signed?", "--store", str(store)]) == 0
        capsys.readouterr()
        assert main(["ingest", str(more), "--store", str(store)]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line.startswith(f"rag: error: the store {store.resolve()} is open in another process")
        assert line.endswith("or share the store through a Chroma server (--store-url)")
    finally:
        reader.close()
    assert main(["ingest", str(more), "--store", str(store), "--json"]) == 0  # once it is gone, it works
    assert '"added": [' in capsys.readouterr().out
    assert main(["sources", "--store", str(store)]) == 0
    assert "talks.md" in capsys.readouterr().out


def test_reading_is_refused_while_another_process_writes(built, capsys):
    tmp_path, store, _, _ = built
    writer = Child(tmp_path, store, "write")
    try:
        assert writer.first_line() == "READY"
        capsys.readouterr()
        assert main(["ask", "When was the treaty signed?", "--store", str(store)]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line == (
            f"rag: error: another process is writing to the store {store.resolve()}; wait for it to "
            "finish, or share the store through a Chroma server (--store-url)"
        )
    finally:
        writer.close()
    assert main(["ask", "When was the treaty signed?", "--store", str(store)]) == 0


def test_closing_a_rag_lets_another_process_write(built):
    tmp_path, store, _, more = built
    rag = Rag(Settings(store_dir=store), embedder=HashingEmbedder())
    assert len(rag.sources()) == 1
    refused = Child(tmp_path, store, "ingest", more)
    assert refused.close().startswith("ERROR the store")
    rag.close()
    allowed = Child(tmp_path, store, "ingest", more)
    assert allowed.close() == "INGESTED 1"
    assert len(rag.sources()) == 2  # the closed Rag opens the store again on its next use


def test_threads_and_instances_of_one_process_share_the_store(built):
    _, store, _, more = built
    reader = Rag(Settings(store_dir=store), embedder=HashingEmbedder())
    writer = Rag(Settings(store_dir=store), embedder=HashingEmbedder())
    assert len(reader.sources()) == 1
    assert len(writer.ingest([more]).added) == 1  # same process: Chroma shares one client
    assert len(reader.sources()) == 2


def test_a_store_opened_by_another_process_mid_write_is_not_opened(built):
    tmp_path, store, _, _ = built
    writer = Child(tmp_path, store, "write")
    try:
        assert writer.first_line() == "READY"
        with pytest.raises(StoreError, match="another process is writing"):
            Rag(Settings(store_dir=store), embedder=HashingEmbedder()).sources()
    finally:
        writer.close()
