"""A document's text in the store: cut into parts, one entry each in the ``texts`` collection.

Chroma copies a metadata value several times over while it writes it (a 16 MiB text as one
value cost some 210 MiB at once), so a long text is written a few parts per call instead.
Records written by earlier versions keep the whole text in the record's metadata; reading
takes it from there when it is there.
"""

from __future__ import annotations

from collections.abc import Iterator

from rag.store.schema import TEXT_KEY

TEXTS = "texts"
PART_KEY = "part"
PARTS_KEY = "text_parts"  # in the document record: how many parts its text was written in
PART_CHARS = 1 << 18  # characters per part
WRITE_CHARS = 1 << 20  # characters of text per write


def part_id(doc_id: str, part: int) -> str:
    """The entry id of part ``part`` of a document's text."""
    return f"{doc_id}:{part:05d}"


def doc_id_of(entry_id: str) -> str:
    """The document of a text part's entry id."""
    return entry_id.rsplit(":", 1)[0]


def part_count(text: str) -> int:
    """How many parts a text is written in (one, empty, for an empty text)."""
    return max(1, -(-len(text) // PART_CHARS))


def text_parts(text: str) -> Iterator[str]:
    """The text cut into parts of ``PART_CHARS`` characters, one at a time."""
    for number in range(part_count(text)):
        yield text[number * PART_CHARS : (number + 1) * PART_CHARS]


def part_writes(documents: list[tuple[str, str]]) -> Iterator[tuple[list[str], list[dict]]]:
    """The writes of (doc id, text) pairs: (ids, metadatas) of about ``WRITE_CHARS`` characters each."""
    ids: list[str] = []
    metadatas: list[dict] = []
    size = 0
    for doc_id, text in documents:
        for number, part in enumerate(text_parts(text)):
            if ids and size + len(part) > WRITE_CHARS:
                yield ids, metadatas
                ids, metadatas, size = [], [], 0
            ids.append(part_id(doc_id, number))
            metadatas.append({"document_id": doc_id, PART_KEY: number, TEXT_KEY: part})
            size += len(part)
    if ids:
        yield ids, metadatas


def write_texts(collection, documents: list[tuple[str, str]]) -> None:
    """Write the texts of (doc id, text) pairs into the texts ``collection``, in parts."""
    import numpy as np

    for ids, metadatas in part_writes(documents):
        collection.upsert(ids=ids, embeddings=np.ones((len(ids), 1), dtype="float32"), metadatas=metadatas)


def read_text(collection, doc_id: str, parts: int) -> str | None:
    """A document's text from its parts in ``collection``; None unless all ``parts`` are there."""
    got = collection.get(where={"document_id": doc_id}, include=["metadatas"])
    by_number = {int(m[PART_KEY]): m[TEXT_KEY] for m in got["metadatas"]}
    if sorted(by_number) != list(range(parts)):
        return None
    return "".join(by_number[i] for i in range(parts))
