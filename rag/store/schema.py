"""How rag's records and collections look in Chroma: the document record's metadata (both
ways) and each collection's schema (cosine HNSW, no full-text index, indexes
only on the metadata keys that are filtered on)."""

from __future__ import annotations

import json

from rag.ingest.sections import headings_from_json, headings_json
from rag.types import Chunk, DocumentRecord, Sentence

# Chroma's default ef_search (100) missed the true nearest sentence for real questions here;
# a wider search costs a few milliseconds on stores of this size. Construction at Chroma's
# defaults: over 92 k real sentence vectors recall@40 0.9978 against exact search (ef 200,
# M 32: 0.9995, but 2.3x slower to build).
HNSW = {"ef_search": 512, "ef_construction": 100, "max_neighbors": 16}
# Texts (a sentence's, a document's) are metadata values, not Chroma documents: the embedded
# store builds a trigram full-text index over documents whatever the schema says (measured
# here: it halved the rate of sentence writes and cost 2-5x per document), and rag never
# searches it. A document's text lies in parts in the texts collection (rag/store/texts.py).
TEXT_KEY = "text"
# Metadata keys that are never filtered on (only ``document_id``, ``path`` and
# ``content_hash`` are): no inverted index for them.
_UNINDEXED = {
    "sentences": {"int": ("index", "start", "end"), "str": ("chunk_id", TEXT_KEY)},
    "chunks": {"int": ("start", "end", "tokens"), "str": ("sentence_ids",)},
    "documents": {
        "int": ("body_start", "sentences", "chunks", "text_parts"),
        "str": ("copies", "title", "source", "licence", "kind", "fingerprint", "pages", "headings", TEXT_KEY),
    },
    "texts": {"int": ("part",), "str": (TEXT_KEY,)},
}


def record_from_metadata(doc_id: str, meta: dict) -> DocumentRecord:
    """A document record as read back from the documents collection."""
    return DocumentRecord(
        doc_id=doc_id,
        path=meta["path"],
        copies=tuple(p for p in str(meta.get("copies", "")).split("\n") if p),
        title=meta["title"],
        content_hash=meta["content_hash"],
        source=meta.get("source", ""),
        licence=meta.get("licence", ""),
        kind=meta.get("kind", "txt"),
        body_start=int(meta.get("body_start", 0)),
        sentences=int(meta.get("sentences", 0)),
        chunks=int(meta.get("chunks", 0)),
        pages=tuple(json.loads(meta["pages"])) if meta.get("pages") else (),
        headings=headings_from_json(meta.get("headings")),
    )


def record_metadata(record: DocumentRecord, fingerprint: str) -> dict:
    """A document record as the documents collection keeps it (Chroma metadata is flat)."""
    return {
        "path": record.path,
        "copies": "\n".join(record.copies),
        "title": record.title,
        "source": record.source,
        "licence": record.licence,
        "content_hash": record.content_hash,
        "body_start": record.body_start,
        "kind": record.kind,
        "sentences": record.sentences,
        "chunks": record.chunks,
        "pages": json.dumps(list(record.pages)),
        "headings": headings_json(record.headings),
        "fingerprint": fingerprint,
    }


def sentence_metadata(sentence: Sentence, chunk_id: str) -> dict:
    """A sentence as the sentences collection keeps it (its vector beside it)."""
    return {
        "document_id": sentence.doc_id,
        "index": sentence.index,
        "start": sentence.start,
        "end": sentence.end,
        "chunk_id": chunk_id,
        TEXT_KEY: sentence.text,
    }


def sentence_from_metadata(sentence_id: str, meta: dict) -> Sentence:
    """A stored sentence as read back from the sentences collection."""
    return Sentence(
        sentence_id=sentence_id,
        doc_id=meta["document_id"],
        index=int(meta["index"]),
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=meta[TEXT_KEY],
    )


def chunk_metadata(doc_id: str, chunk: Chunk) -> dict:
    """A chunk as the chunks collection keeps it: its place and its sentences' ids."""
    return {
        "document_id": doc_id,
        "start": chunk.start,
        "end": chunk.end,
        "tokens": chunk.token_count,
        "sentence_ids": ",".join(chunk.sentence_ids),
    }


def collection_schema(kind: str):
    """Cosine HNSW, no full-text index, no metadata index on keys never filtered on."""
    from chromadb.api.types import (
        FtsIndexConfig,
        HnswIndexConfig,
        IntInvertedIndexConfig,
        Schema,
        StringInvertedIndexConfig,
        VectorIndexConfig,
    )

    schema = Schema()
    schema.create_index(config=VectorIndexConfig(space="cosine", embedding_function=None, hnsw=HnswIndexConfig(**HNSW)))
    schema.delete_index(config=FtsIndexConfig(), key="#document")
    for key in _UNINDEXED[kind]["int"]:
        schema.delete_index(config=IntInvertedIndexConfig(), key=key)
    for key in _UNINDEXED[kind]["str"]:
        schema.delete_index(config=StringInvertedIndexConfig(), key=key)
    return schema
