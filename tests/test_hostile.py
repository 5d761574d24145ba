"""Hostile and unusual files and requests: a huge document, special files, links out of the
folders given, colliding upload names, failures of one file (issue 28)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.chunking import EmbeddingInput
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
    from rag.embedding import SentenceTransformerEmbedder

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


# ---- special files and bounded reads ----------------------------------------------------------


def test_fifo_in_a_folder_is_skipped_without_blocking(tmp_path, capsys):
    import json
    import os
    import threading

    from fakes import TREATY

    from rag.cli import main

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

    from rag.files import FileRejected, load_document

    with pytest.raises(FileRejected) as rejected:
        load_document(Path(path), 64)
    assert str(rejected.value) == reason
