"""kill -9 in the middle of an ingest, ingest again: the store equals one built without a crash.

The ingest runs in a child process (Rag + the hashing embedder over generated files). It is
killed either once some documents are stored (wherever the ingest then is) or at the most dangerous
moment: a document's sentences and chunks are stored but its record is not yet. An embedded
store belongs to one process at a time: this process opens a store only while no child
writes to it (a client opened earlier keeps a stale cache and then fails on reads).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fakes import HashingEmbedder

from rag.config import Settings
from rag.api import Rag

pytestmark = pytest.mark.crash

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
FILES = 40
SENTENCES_PER_FILE = 12

CHILD = textwrap.dedent(
    """
    import sys, threading, time
    sys.path.insert(0, {tests!r})
    from fakes import HashingEmbedder
    from rag.config import Settings
    from rag.api import Rag

    store, folder, pause_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lock = threading.Lock()

    def say(*words):
        # Two threads print (ingest and store writer): whole lines only.
        with lock:
            print(*words, flush=True)

    rag = Rag(Settings(store_dir=store, write_batch={write_batch}), embedder=HashingEmbedder())

    class PauseBeforeRecord:
        # Delegates to the documents collection; the pause_at-th write of a batch's records
        # prints PAUSED and blocks, so the parent kills us between the batch's nodes and records.
        def __init__(self, collection):
            self.collection, self.writes = collection, 0
        def __getattr__(self, name):
            return getattr(self.collection, name)
        def upsert(self, **kwargs):
            self.writes += 1
            if self.writes == pause_at:
                say("PAUSED")
                time.sleep(600)
            return self.collection.upsert(**kwargs)

    if pause_at:
        rag.store._collections["documents"] = PauseBeforeRecord(rag.store._collections["documents"])
    put_documents, stored = rag.store.put_documents, []

    def put_and_report(batch):
        # Runs on the store-writer thread: "stored N" is printed once N records are written.
        put_documents(batch)
        stored.extend(batch)
        say("stored", len(stored))

    rag.store.put_documents = put_and_report
    rag.ingest([folder], progress=lambda done, total, path: say("progress", done, total))
    say("FINISHED")
    """
).format(tests=str(TESTS), write_batch=2 * 12)
PER_BATCH = 2  # documents per store write in the child (write_batch = two documents' sentences)

WORDS = "harbour council treaty river budget garrison archive bridge senate tariff railway census".split()
CITIES = "Lisbon Ghent Tallinn Bergen Trieste Krakow Porto Lyon Turku Split Graz Aarhus".split()


def write_corpus(folder: Path, version: int = 1) -> list[Path]:
    """FILES generated documents with distinct sentences; ``version`` changes every text."""
    rng = random.Random(7)
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(FILES):
        lines = [f"Title: Report {i}\nSource: generated\n-----\n"]
        for j in range(SENTENCES_PER_FILE):
            word, city = rng.choice(WORDS), rng.choice(CITIES)
            lines.append(
                f"In {1900 + (i * 7 + j) % 120} the {word} of {city} recorded {i * 1000 + j * 10 + version} "
                f"visitors in report {i} item {j}.{' ' if j % 3 else chr(10)}"
            )
        path = folder / f"report-{i:03d}.txt"
        path.write_text("".join(lines) + "\n")
        paths.append(path)
    return paths


def run_child(store: Path, folder: Path, pause_at: int = 0, kill_after_stored: int | None = None):
    """Run the ingest child; kill -9 it when it pauses or once ``kill_after_stored`` documents are
    stored (while later batches are still being embedded or written)."""
    script = store.parent / "ingest_child.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), str(store), str(folder), str(pause_at)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    try:
        for line in child.stdout:
            seen.append(line.strip())
            stored = line.startswith("stored") and int(line.split()[1]) >= (kill_after_stored or 10**9)
            if line.strip() == "PAUSED" or stored:
                child.send_signal(signal.SIGKILL)
                break
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    stderr = child.stderr.read()
    child.stdout.close()
    child.stderr.close()
    return child.returncode, seen, stderr


def snapshot(store_dir: Path) -> dict:
    """Everything stored, keyed by id, plus the invariants every complete store must satisfy."""
    rag = Rag(Settings(store_dir=store_dir), embedder=HashingEmbedder(), create_store=False)
    store = rag.store
    shot = {}
    for kind in ("documents", "sentences", "chunks"):
        got = store._collections[kind].get(include=["metadatas", "documents", "embeddings"])
        assert len(got["ids"]) == len(set(got["ids"])), f"duplicate ids in {kind}"
        shot[kind] = {
            node_id: (text, meta, np.round(np.asarray(vector, dtype="float64"), 5).tobytes())
            for node_id, text, meta, vector in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
        }
    records = shot["documents"]
    for kind in ("sentences", "chunks"):
        owners = {meta["document_id"] for _, meta, _ in shot[kind].values()}
        assert owners <= set(records), f"orphan {kind}: {sorted(owners - set(records))[:3]}"
    files = {doc_id: Path(meta["path"]).read_text("utf-8") for doc_id, (_, meta, _) in records.items()}
    for node_id, (text, meta, _) in shot["sentences"].items():  # the text is metadata, no Chroma document
        assert text is None and files[meta["document_id"]][meta["start"] : meta["end"]] == meta["text"], node_id
    for node_id, (text, meta, _) in shot["chunks"].items():  # chunks keep their span, not their text
        assert text is None and 0 <= meta["start"] < meta["end"] <= len(files[meta["document_id"]]), node_id
    for doc_id, (_, meta, _) in records.items():
        assert sum(m["document_id"] == doc_id for _, m, _ in shot["sentences"].values()) == meta["sentences"]
        assert sum(m["document_id"] == doc_id for _, m, _ in shot["chunks"].values()) == meta["chunks"]
    # The vector index holds exactly the stored sentences: a query for all of them finds each once.
    probe = next(iter(shot["sentences"].values()))[2]
    hits = store.query_sentences(np.frombuffer(probe, dtype="float64"), k=len(shot["sentences"]))
    assert sorted(h.node_id for h in hits) == sorted(shot["sentences"])
    shot["counts"] = store.counts()
    return shot


def reference(tmp_path: Path, folder: Path) -> dict:
    """The store an uninterrupted ingest of ``folder`` builds."""
    report = Rag(Settings(store_dir=tmp_path / "reference"), embedder=HashingEmbedder()).ingest([folder])
    assert len(report.added) == FILES and not report.skipped
    return snapshot(tmp_path / "reference")


def partial_state(store_dir: Path) -> tuple[int, int]:
    """(records, documents that have sentences) of a store left by a killed ingest."""
    rag = Rag(Settings(store_dir=store_dir), embedder=HashingEmbedder(), create_store=False)
    records = rag.store.document_records()
    owners = {s.doc_id for s in rag.store.all_sentences()}
    return len(records), len(owners)


@pytest.mark.parametrize(
    ("pause_at", "kill_after_stored"),
    [(7, None), (0, 20)],  # the child writes 2 documents per batch
    ids=["killed-between-nodes-and-record", "killed-after-20-stored"],
)
def test_killed_ingest_then_ingest_again_equals_uninterrupted(tmp_path, pause_at, kill_after_stored):
    folder = tmp_path / "docs"
    write_corpus(folder)
    store = tmp_path / "store"
    code, seen, stderr = run_child(store, folder, pause_at, kill_after_stored)
    assert code == -signal.SIGKILL, (code, seen[-3:], stderr[-2000:])
    assert "FINISHED" not in seen
    records, with_sentences = partial_state(store)
    assert 0 < records < FILES
    if kill_after_stored:
        assert records >= kill_after_stored
    if pause_at:  # the batch being written is orphaned
        assert records == PER_BATCH * (pause_at - 1) and with_sentences == PER_BATCH * pause_at

    report = Rag(Settings(store_dir=store), embedder=HashingEmbedder()).ingest([folder])
    assert len(report.added) == FILES - records and len(report.unchanged) == records
    assert not report.updated and not report.skipped
    assert snapshot(store) == reference(tmp_path, folder)


def test_killed_re_ingest_of_edited_files_then_ingest_again_equals_uninterrupted(tmp_path):
    folder = tmp_path / "docs"
    write_corpus(folder, version=1)
    store = tmp_path / "store"
    code, seen, _ = run_child(store, folder)
    assert code == 0 and "FINISHED" in seen
    write_corpus(folder, version=2)  # every file edited: each new content is stored, then the old one goes

    code, seen, stderr = run_child(store, folder, pause_at=5)
    assert code == -signal.SIGKILL, (code, seen[-3:], stderr[-2000:])
    records, with_sentences = partial_state(store)
    # The old documents are all still there; 4 batches of new ones are whole, the 5th has no records.
    assert (records, with_sentences) == (FILES + 8, FILES + 10)

    report = Rag(Settings(store_dir=store), embedder=HashingEmbedder()).ingest([folder])
    assert len(report.updated) == FILES - 8 and not report.added and len(report.unchanged) == 8
    assert snapshot(store) == reference(tmp_path, folder)
