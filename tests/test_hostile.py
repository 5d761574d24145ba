"""Hostile and unusual files and requests: a huge document, special files, links out of the
folders given, colliding upload names, failures of one file (issue 28)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.ingest.chunking import EmbeddingInput
from rag.types import Chunk


class _TokenModel:
    """A stand-in SentenceTransformer: one row per word piece, recording how many texts each
    ``encode`` call holds at once."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.calls: list[int] = []

    def encode(self, texts, output_value, batch_size, convert_to_numpy):
        import torch

        self.calls.append(len(texts))
        rows = []
        for text in texts:
            ids = self.tokenizer.encode(text).ids
            rows.append(torch.tensor([[float(i % 7), float(len(text))] + [1.0] * 382 for i in ids]))
        return rows


def test_one_long_document_embeds_in_bounded_slices():
    from rag.models.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    model = _TokenModel(embedder._tokenizer)
    embedder._model = model
    text = "Short title. The archive is kept in a locked cabinet."
    chunk = Chunk("c", "d", ("s",), 0, len(text), text, 12)
    inputs = [EmbeddingInput(chunk, text, ((13, len(text)),))] * (3 * embedder.slice_chunks + 5)
    vectors = embedder.embed_chunks(inputs)
    assert len(vectors) == len(inputs)
    assert max(model.calls) <= embedder.slice_chunks and sum(model.calls) == len(inputs)
    # An ordinary batch is one call, as before: the same vectors.
    model.calls.clear()
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(embedder.embed_chunks(inputs[:20]), vectors[:20]))
    assert model.calls == [20]


class _FailingEmbedder:
    """The hashing embedder, recording how many chunks each call embeds; a call for which
    ``fails(inputs, call_number)`` is true raises as a model giving NaN would."""

    def __init__(self, fails=lambda inputs, call: False):
        from fakes import HashingEmbedder

        self.inner = HashingEmbedder()
        self.name, self.dimension, self.window = "failing", 384, 256
        self.count_tokens, self.embed_query = self.inner.count_tokens, self.inner.embed_query
        self.calls: list[int] = []
        self.fails = fails

    def embed_chunks(self, inputs):
        self.calls.append(len(inputs))
        if self.fails(inputs, len(self.calls)):
            raise FloatingPointError("the model gave NaN")
        return self.inner.embed_chunks(inputs)


def _long_document(n: int) -> str:
    return "Title: Long\n-----\n" + "\n\n".join(
        f"Entry {i} of the register names the keeper of archive {i}. It was sealed in year {1800 + i}." for i in range(n)
    )


def test_a_long_document_is_embedded_and_written_a_slice_at_a_time(tmp_path, monkeypatch):
    from fakes import TREATY

    import rag.ingest.indexing
    from rag.config import Settings
    from rag.api import Rag
    from rag.store.chroma import Store

    monkeypatch.setattr(rag.ingest.indexing, "LONG_DOCUMENT_CHUNKS", 8)
    monkeypatch.setattr(rag.ingest.indexing, "SLICE_CHUNKS", 4)
    parts, records = [], []
    put_parts, put_records = Store.put_parts, Store.put_records
    monkeypatch.setattr(Store, "put_parts", lambda self, batch: (parts.append(sum(len(b.inputs) for b in batch)), put_parts(self, batch))[1])
    monkeypatch.setattr(Store, "put_records", lambda self, batch: (records.append(len(batch)), put_records(self, batch))[1])
    events, unload = [], Store.unload_vectors
    monkeypatch.setattr(Store, "unload_vectors", lambda self: (events.append((len(parts), len(records))), unload(self))[1])
    (tmp_path / "long.txt").write_text(_long_document(200))
    (tmp_path / "short.txt").write_text(TREATY)
    embedder = _FailingEmbedder()
    rag = Rag(Settings(store_dir=tmp_path / "store", reranker="features"), embedder=embedder)
    first_client = rag.store.client
    report = rag.ingest([tmp_path / "long.txt", tmp_path / "short.txt"])
    assert report.skipped == () and report.documents == 2
    # The vector indexes' memory is given back once the long document's parts are written, before
    # its record; the client is a new one, and the short document after it is written through it.
    assert len(events) == 1 and rag.store.client is not first_client
    long_record = next(r for r in rag.store.document_records().values() if r.title == "Long")
    assert long_record.chunks > 8 and max(embedder.calls) <= 4
    written_before_unload, records_before_unload = events[0]
    assert sum(parts[:written_before_unload]) == long_record.chunks and records_before_unload == 0
    assert sum(parts) == report.chunks and max(parts) <= 4  # written as it was embedded
    assert sum(records) == 2
    assert report.sentences == len(rag.store.sentences_of(long_record.doc_id)) + len(
        rag.store.sentences_of(next(d for d, r in rag.store.document_records().items() if r.title != "Long"))
    )
    answer = rag.ask("Who is named in entry 31 of the register?")
    assert any("Entry 31 " in c.quote for c in answer.citations)


def test_a_long_document_failing_halfway_leaves_nothing_of_itself(tmp_path, monkeypatch):
    from fakes import TREATY

    import rag.ingest.indexing
    from rag.config import Settings
    from rag.api import Rag

    monkeypatch.setattr(rag.ingest.indexing, "LONG_DOCUMENT_CHUNKS", 8)
    monkeypatch.setattr(rag.ingest.indexing, "SLICE_CHUNKS", 4)
    (tmp_path / "a_short.txt").write_text(TREATY)
    (tmp_path / "b_long.txt").write_text(_long_document(200))
    failing_halfway = _FailingEmbedder(lambda inputs, call: call == 4)
    rag = Rag(Settings(store_dir=tmp_path / "store", reranker="features"), embedder=failing_halfway)
    report = rag.ingest([tmp_path])
    assert [p.rsplit("/", 1)[-1] for p in report.added] == ["a_short.txt"]
    assert [s.path.rsplit("/", 1)[-1] for s in report.skipped] == ["b_long.txt"]
    counts = rag.store.counts()
    short = next(iter(rag.store.document_records()))
    assert counts["documents"] == 1 and counts["sentences"] == len(rag.store.sentences_of(short))


def test_a_long_text_is_written_in_bounded_parts_read_back_whole_and_deleted_with_its_document(tmp_path, monkeypatch):
    """A document's text goes to the store a few parts per write (Chroma copies what it writes
    several times over), comes back exactly, and leaves nothing behind when it is removed or
    when an ingest died before its record was written."""
    from fakes import HashingEmbedder

    import rag.store.texts
    from rag.config import Settings
    from rag.api import Rag

    monkeypatch.setattr(rag.store.texts, "PART_CHARS", 500)
    monkeypatch.setattr(rag.store.texts, "WRITE_CHARS", 1200)
    text = _long_document(60)
    (tmp_path / "long.txt").write_text(text)
    rag = Rag(Settings(store_dir=tmp_path / "store", reranker="features"), embedder=HashingEmbedder())
    writes = []
    texts = rag.store._texts
    monkeypatch.setattr(
        rag.store, "_texts", type("Counting", (), {
            "upsert": lambda self, **kw: (writes.append(sum(len(m["text"]) for m in kw["metadatas"])), texts.upsert(**kw))[1],
            "__getattr__": lambda self, name: getattr(texts, name),
        })()
    )
    rag.ingest([tmp_path / "long.txt"])
    (doc_id, record), = rag.store.document_records().items()
    stored = rag.store.document(doc_id)
    assert stored is not None and stored.text == (tmp_path / "long.txt").read_text()
    assert len(writes) > 3 and max(writes) <= 1200 and sum(writes) == len(stored.text)
    assert texts.count() == -(-len(stored.text) // 500)
    texts.delete(ids=[texts.get(include=[])["ids"][2]])  # a part lost: no text rather than a wrong one
    assert rag.store.document(doc_id) is None
    rag.store.delete_documents([doc_id])
    assert texts.count() == 0
    # Parts of a document whose record was never written are orphans, removed like its sentences.
    texts.upsert(ids=["orphan:00000"], embeddings=[[1.0]], metadatas=[{"document_id": "orphan", "part": 0, "text": "x"}])
    rag.store.delete_orphans()
    assert texts.count() == 0


def test_a_record_written_before_texts_were_kept_in_parts_still_gives_its_text(tmp_path):
    """Stores built by an earlier version keep the whole text in the document's record."""
    from fakes import TREATY, HashingEmbedder

    from rag.config import Settings
    from rag.api import Rag
    from rag.store.schema import TEXT_KEY
    from rag.store.texts import TEXTS

    (tmp_path / "treaty.txt").write_text(TREATY)
    rag = Rag(Settings(store_dir=tmp_path / "store", reranker="features"), embedder=HashingEmbedder())
    rag.ingest([tmp_path])
    (doc_id, _), = rag.store.document_records().items()
    whole = rag.store.document(doc_id).text
    documents = rag.store._collections["documents"]
    documents.update(ids=[doc_id], metadatas=[{TEXT_KEY: whole}])
    rag.store.client.delete_collection(rag.store._name(TEXTS))
    rag.store.close()
    from rag.store.chroma import Store

    old = Store(Settings(store_dir=tmp_path / "store"), create=False, client=rag.store.client)
    assert old._texts is None and old.document(doc_id).text == whole


# ---- special files and bounded reads ----------------------------------------------------------


def test_fifo_in_a_folder_is_skipped_without_blocking(tmp_path, capsys):
    import json
    import os
    import threading

    from fakes import TREATY

    from rag.shells.cli import main

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text(TREATY)
    os.mkfifo(docs / "f.txt")
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(code=main(["ingest", str(docs), "--store", str(tmp_path / "store"), "--json"])),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)
    if worker.is_alive():  # blocked opening the FIFO: let it go, then fail
        with open(docs / "f.txt", "w"):
            pass
        worker.join(timeout=30)
        pytest.fail("ingest blocked on a FIFO")
    report = json.loads(capsys.readouterr().out)
    assert result["code"] == 0
    assert [os.path.basename(p) for p in report["added"]] == ["good.txt"]
    assert report["skipped"] == [
        {"path": str(docs / "f.txt"), "reason": "not a regular file (a FIFO); only regular files are read"}
    ]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        # A regular file whose size on disk says 0 but whose reading never ends early.
        ("/proc/self/maps", "too large (it grew past the 0.0 MiB limit while read); split it or raise max_file_bytes"),
        ("/dev/zero", "not a regular file (a character device); only regular files are read"),
    ],
)
def test_reads_are_bounded_and_regular_files_only(tmp_path, path, reason):
    from pathlib import Path

    from rag.ingest.files import FileRejected, load_document

    with pytest.raises(FileRejected) as rejected:
        load_document(Path(path), 64)
    assert str(rejected.value) == reason


# ---- one file's failure is that file's reason -------------------------------------------------


def _pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose page shows ``text``."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _aes_pdf(path, text: str) -> None:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf_with_text(text))))
    writer.encrypt("", algorithm="AES-128")
    with open(path, "wb") as handle:
        writer.write(handle)


def _dependency_error(*_args) -> str:
    from pypdf.errors import DependencyError

    raise DependencyError("cryptography>=3.1 is required for AES algorithm")


DEPENDENCY_REASON = (
    "cannot be ingested (DependencyError: cryptography>=3.1 is required for AES algorithm); the rest of the batch is kept"
)


def test_unexpected_failure_of_one_file_is_its_reason(tmp_path, capsys, monkeypatch):
    import json

    from fakes import TREATY

    import rag.ingest.files
    from rag.shells.cli import main

    monkeypatch.setattr(rag.ingest.files, "_pdf_text", _dependency_error)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text(TREATY)
    (docs / "locked.pdf").write_bytes(_pdf_with_text("Secret minutes"))
    code = main(["ingest", str(docs), "--store", str(tmp_path / "store"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [p.rsplit("/", 1)[-1] for p in report["added"]] == ["good.txt"]
    assert report["skipped"] == [{"path": str(docs / "locked.pdf"), "reason": DEPENDENCY_REASON}]


def test_a_document_that_fails_to_embed_is_skipped_and_its_batch_stays(tmp_path):
    from fakes import TALKS, TREATY

    from rag.config import Settings
    from rag.api import Rag

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(TREATY)
    (docs / "b.txt").write_text("Title: Bad\n-----\nThis sentence says POISON to the model.\n")
    (docs / "c.txt").write_text(TALKS)
    poisoned = _FailingEmbedder(lambda inputs, call: any("POISON" in item.text for item in inputs))
    rag = Rag(Settings(store_dir=tmp_path / "store", reranker="features"), embedder=poisoned)
    report = rag.ingest([docs])
    assert [p.rsplit("/", 1)[-1] for p in report.added] == ["a.txt", "c.txt"]
    assert [(s.path.rsplit("/", 1)[-1], s.reason) for s in report.skipped] == [
        ("b.txt", "cannot be ingested (FloatingPointError: the model gave NaN); the rest of the batch is kept")
    ]
    assert report.documents == 2
    assert sorted(s.path.rsplit("/", 1)[-1] for s in rag.sources()) == ["a.txt", "c.txt"]


def test_uploads_keep_the_good_files_when_one_fails(fake_rag, tmp_path, monkeypatch):
    from fakes import TREATY

    import rag.ingest.files
    from rag.ingest.uploads import upload_folder

    monkeypatch.setattr(rag.ingest.files, "_pdf_text", _dependency_error)
    given = tmp_path / "given"
    given.mkdir()
    (given / "good.txt").write_text(TREATY)
    (given / "locked.pdf").write_bytes(_pdf_with_text("Secret minutes"))
    report = fake_rag.ingest_uploads([given / "good.txt", given / "locked.pdf"])
    folder = upload_folder(fake_rag.settings.store_dir)
    assert [p.rsplit("/", 1)[-1] for p in report.added] == ["good.txt"]
    assert [s.reason for s in report.skipped] == [DEPENDENCY_REASON]
    assert sorted(p.name for p in folder.iterdir()) == ["good.txt"]
    assert [s.path for s in fake_rag.sources()] == [str(folder / "good.txt")]


def test_aes_encrypted_pdf_never_fails_the_batch(tmp_path, capsys):
    import json

    from fakes import TREATY

    from rag.shells.cli import main

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text(TREATY)
    _aes_pdf(docs / "aes.pdf", "The archive is kept at the Marl library.")
    code = main(["ingest", str(docs), "--store", str(tmp_path / "store"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    names = sorted(p.rsplit("/", 1)[-1] for p in report["added"])
    assert names in (["good.txt"], ["aes.pdf", "good.txt"])
    if names == ["good.txt"]:  # not opened: skipped with its reason
        assert [s["path"] for s in report["skipped"]] == [str(docs / "aes.pdf")] and report["skipped"][0]["reason"]


# ---- upload names that clean to the same name -------------------------------------------------


def _upload(rag, tmp_path, files: dict[str, str]):
    """Upload ``{original name: text}`` as Gradio hands files over: each in a folder of its own."""
    import tempfile
    from pathlib import Path

    paths = []
    for name, text in files.items():
        path = Path(tempfile.mkdtemp(dir=tmp_path)) / name
        path.write_text(text)
        paths.append(path)
    return rag.ingest_uploads(paths)


def _names(paths) -> list[str]:
    return sorted(p.rsplit("/", 1)[-1] for p in paths)


FIRST = "Title: First minutes\n-----\nThe council met on Monday and agreed the budget.\n"
SECOND = "Title: Second minutes\n-----\nThe harbour of Ghent reopened in March after the works.\n"


def test_colliding_upload_names_one_after_another_are_kept_apart(fake_rag, tmp_path):
    from rag.shells.web.render import render_ingest_report
    from rag.ingest.uploads import upload_folder

    given = tmp_path / "given"
    given.mkdir()
    first = _upload(fake_rag, given, {"minutes 1.txt": FIRST})
    assert _names(first.added) == ["minutes-1.txt"] and first.renamed == ("minutes 1.txt -> minutes-1.txt",)
    second = _upload(fake_rag, given, {"minutes-1.txt": SECOND})
    assert _names(second.added) == ["minutes-1-2.txt"] and not second.updated
    assert second.renamed == ("minutes-1.txt -> minutes-1-2.txt",)
    assert "Saved minutes-1.txt as minutes-1-2.txt" in render_ingest_report(second)
    assert sorted(s.title for s in fake_rag.sources()) == ["First minutes", "Second minutes"]
    # The same bytes under the same name: unchanged; changed bytes under the same name: updated.
    assert _names(_upload(fake_rag, given, {"minutes 1.txt": FIRST}).unchanged) == ["minutes-1.txt"]
    changed = _upload(fake_rag, given, {"minutes-1.txt": SECOND.replace("March", "April")})
    assert _names(changed.updated) == ["minutes-1-2.txt"] and not changed.added
    folder = upload_folder(fake_rag.settings.store_dir)
    assert sorted(p.name for p in folder.iterdir()) == ["minutes-1-2.txt", "minutes-1.txt"]
    assert (folder / "minutes-1.txt").read_text() == FIRST


def test_colliding_upload_names_in_one_batch_are_kept_apart(fake_rag, tmp_path):
    given = tmp_path / "given"
    given.mkdir()
    report = _upload(fake_rag, given, {"minutes 1.txt": FIRST, "minutes-1.txt": SECOND})
    assert _names(report.added) == ["minutes-1-2.txt", "minutes-1.txt"]
    assert report.renamed == ("minutes 1.txt -> minutes-1.txt", "minutes-1.txt -> minutes-1-2.txt")
    assert sorted(s.title for s in fake_rag.sources()) == ["First minutes", "Second minutes"]


def test_the_store_client_is_replaced_only_while_no_call_uses_it():
    """A search running in another thread when a long document's ingest unloads the vector
    indexes finishes on the old client first; calls made meanwhile wait for the new one."""
    import threading

    from rag.store.client import ClientUse

    use = ClientUse()
    order = []
    inside, release = threading.Event(), threading.Event()

    def search():
        with use.shared():
            with use.shared():  # a call inside a call on the same thread never waits
                inside.set()
                release.wait(5)
                order.append("search done")

    def replace_client():
        with use.alone():
            order.append("replaced")

    # Seen from the test: the replacement has reached its wait (it holds the condition's lock
    # from there until it waits, or until it has replaced the client if it did not wait).
    reached, wait_for = threading.Event(), use._changed.wait_for

    def seen_wait_for(predicate, timeout=None):
        reached.set()
        return wait_for(predicate, timeout)

    use._changed.wait_for = seen_wait_for
    searching = threading.Thread(target=search)
    searching.start()
    assert inside.wait(5)
    replacing = threading.Thread(target=replace_client)
    replacing.start()
    assert reached.wait(5)
    with use._changed:
        assert order == []  # the replacement waits for the running search
    release.set()
    searching.join(5)
    replacing.join(5)
    assert order == ["search done", "replaced"]
    with use.shared(), pytest.raises(RuntimeError, match="from inside a call"):
        with use.alone():
            pass
