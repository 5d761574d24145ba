"""The local index beside the store: BM25 over sentence windows (``bm25s``), the table of every
stored sentence (id, document, position) and the document records, saved to disk and loaded in
a moment instead of scanning Chroma at every start.

It is kept in step with the store by a generation token: the store records the token of its
last completed write, the index the token it was built for; a mismatch (another machine wrote
to a shared server, an ingest was killed, the files are missing or from another version)
means a rebuild from the store. An ingest updates it incrementally: only new sentences are
tokenized; the BM25 matrix is rebuilt from the saved token ids (``bm25s`` has no in-place
add), which costs about a second per 100 k sentences.

Nothing per sentence lives in Python objects: ids, positions and tokens are numpy arrays
(memory-mapped on load), found by binary search. Per document, only its record's JSON text
stays resident (``RecordTable``), parsed when asked for.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from rag.ingest.sections import section_paths
from rag.memory import give_back_freed_memory
from rag.store.bm25 import bm25_index, document_frequency, row_ranges
from rag.text import content_terms
from rag.types import DocumentRecord, Heading, Sentence

FORMAT = 2
ID_BYTES = 16
ARRAYS = ("ids", "docs", "doc_ids", "tokens", "offsets", "df", "order", "sorted_ids")
MASKS_KEPT = 64  # row masks of recent scopes kept per index


@dataclass(frozen=True)
class NewDocument:
    """A document added to the store: its record and its sentences in order."""

    record: DocumentRecord
    sentences: tuple[Sentence, ...]


class RecordTable(Mapping):
    """doc id -> ``DocumentRecord``, kept as one line of JSON per document and parsed on
    access: a 60 k-document archive's records cost ~25 MB resident instead of ~100 MB of
    objects. Read-only; ingest works on a plain dict of records and builds a new table."""

    def __init__(self, lines: dict[str, bytes]):
        self._lines = lines

    @classmethod
    def of(cls, records: Mapping[str, DocumentRecord]) -> RecordTable:
        if isinstance(records, RecordTable):
            return records
        return cls({d: json.dumps(_record_json(r), ensure_ascii=False).encode() for d, r in records.items()})

    @classmethod
    def parse(cls, data: bytes) -> RecordTable:
        """From the saved form: ``doc id <TAB> record JSON`` lines."""
        lines = {}
        for line in data.splitlines():
            doc_id, _, text = line.partition(b"\t")
            lines[doc_id.decode()] = text
        return cls(lines)

    def dump(self) -> bytes:
        return b"".join(d.encode() + b"\t" + text + b"\n" for d, text in self._lines.items())

    def __getitem__(self, doc_id: str) -> DocumentRecord:
        return _record_from_json(json.loads(self._lines[doc_id]))

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._lines

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)


def window_terms(
    sentence_text: str, previous_text: str, title_terms: Sequence[str], section_terms: Sequence[str] = ()
) -> list[str]:
    """The BM25 window of a sentence: the sentence twice, the previous sentence, the title and
    the heading path the sentence lies under."""
    own = content_terms(sentence_text)
    return own + own + content_terms(previous_text) + list(title_terms) + list(section_terms)


@lru_cache(maxsize=4096)
def _section_terms(path: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(content_terms(" ".join(path)))


class LexicalIndex:
    """BM25 and the sentence table, as arrays; build with ``build``/``updated``, persist with
    ``save``/``load``."""

    def __init__(self, arrays: dict, vocab: list[str], records: Mapping[str, DocumentRecord], bm25=None):
        import numpy as np

        self.ids = arrays["ids"]  # row -> sentence id (bytes), rows grouped by document in order
        self.docs = arrays["docs"]  # row -> index into doc_ids
        self.doc_ids = arrays["doc_ids"]  # document index -> doc id (bytes)
        self.tokens = arrays["tokens"]  # every window's term ids, row after row
        self.offsets = arrays["offsets"]  # row -> start in tokens (len rows + 1)
        self.df = arrays["df"]  # term id -> number of windows holding it
        self.order = arrays["order"]  # rows sorted by sentence id ...
        self.sorted_ids = arrays["sorted_ids"]  # ... and those ids, for binary search
        self.vocab = vocab
        self.term_ids = {term: i for i, term in enumerate(vocab)}
        self.records = RecordTable.of(records)
        self._bm25 = bm25
        self._masks: dict[frozenset[str], object] = {}  # scope -> boolean row mask
        total = len(self.ids)
        self.max_idf = math.log(1 + (total + 0.5) / 0.5) if total else 1.0
        self._np = np

    def __len__(self) -> int:
        return len(self.ids)

    # ---- building ----------------------------------------------------------------------

    @classmethod
    def empty(cls) -> LexicalIndex:
        """An index of nothing."""
        import numpy as np

        none = np.zeros(0, np.int64)
        return cls._from_rows([np.zeros(0, f"S{ID_BYTES}")], [none], {}, [np.zeros(0, np.int32)], [none], [], [], none)

    @classmethod
    def build(cls, records: dict[str, DocumentRecord], sentences: Iterable[Sentence]) -> LexicalIndex:
        """From every stored sentence (any order) and the document records."""
        by_doc: dict[str, list[Sentence]] = {}
        for sentence in sentences:
            if sentence.doc_id in records:
                by_doc.setdefault(sentence.doc_id, []).append(sentence)
        new = [NewDocument(records[d], tuple(sorted(s, key=lambda x: x.index))) for d, s in sorted(by_doc.items())]
        return cls.empty().updated(new, set(), records)

    def updated(
        self, added: Sequence[NewDocument], removed: set[str], records: dict[str, DocumentRecord]
    ) -> LexicalIndex:
        """A new index without the ``removed`` documents and with the ``added`` ones (whose
        windows are tokenized now; the others keep their saved token ids). A document both
        removed and added is replaced (its title changed, say)."""
        import numpy as np

        vocab = list(self.vocab)
        term_ids = dict(self.term_ids)
        old_doc_ids = [bytes(d).decode() for d in self.doc_ids]
        keep_docs = [i for i, d in enumerate(old_doc_ids) if d not in removed]
        remap = np.full(len(old_doc_ids), -1, dtype=np.int32)
        remap[keep_docs] = np.arange(len(keep_docs), dtype=np.int32)
        kept_rows = np.flatnonzero(remap[self.docs] >= 0) if len(self) else np.zeros(0, np.int64)
        dropped_rows = np.flatnonzero(remap[self.docs] < 0) if len(self) else np.zeros(0, np.int64)
        df = np.zeros(len(vocab), dtype=np.int64)
        df[: len(self.df)] = self.df
        df -= document_frequency(np, self.tokens, self.offsets, dropped_rows, len(vocab))
        ids = [np.asarray(self.ids[kept_rows])]
        docs = [remap[self.docs[kept_rows]]]
        doc_ids = [old_doc_ids[i].encode() for i in keep_docs]
        starts, ends = self.offsets[kept_rows], self.offsets[kept_rows + 1]
        lengths = [np.asarray(ends - starts, dtype=np.int64)]
        token_parts = [np.asarray(self.tokens[row_ranges(np, starts, ends)])]
        for document in added:
            if not document.sentences:
                continue
            title_terms = content_terms(document.record.title)
            doc_index = len(doc_ids)
            doc_ids.append(document.record.doc_id.encode())
            previous = ""
            encoded, row_lengths = array("i"), array("q")  # compact: a long document has millions of tokens
            paths = section_paths(document.record.headings, [s.start for s in document.sentences])
            for sentence, path in zip(document.sentences, paths):
                terms = window_terms(sentence.text, previous, title_terms, _section_terms(path))
                for term in terms:
                    if term not in term_ids:
                        term_ids[term] = len(vocab)
                        vocab.append(term)
                    encoded.append(term_ids[term])
                row_lengths.append(len(terms))
                previous = sentence.text
            ids.append(np.asarray([s.sentence_id.encode() for s in document.sentences], dtype=f"S{ID_BYTES}"))
            docs.append(np.full(len(document.sentences), doc_index, dtype=np.int32))
            lengths.append(np.frombuffer(row_lengths, dtype=np.int64))  # views: the arrays stay alive
            token_parts.append(np.frombuffer(encoded, dtype=np.int32))
            del encoded, row_lengths
            give_back_freed_memory()  # the window terms of a long document, freed in fragments
        if len(df) < len(vocab):
            df = np.concatenate([df, np.zeros(len(vocab) - len(df), dtype=np.int64)])
        new_tokens = token_parts[1:]
        if new_tokens:
            added_tokens = np.concatenate(new_tokens)
            added_lengths = np.concatenate(lengths[1:])
            added_offsets = np.zeros(len(added_lengths) + 1, dtype=np.int64)
            np.cumsum(added_lengths, out=added_offsets[1:])
            df += document_frequency(np, added_tokens, added_offsets, np.arange(len(added_lengths)), len(vocab))
            del added_tokens, added_lengths, added_offsets
        return LexicalIndex._from_rows(ids, docs, records, token_parts, lengths, doc_ids, vocab, df)

    @classmethod
    def _from_rows(cls, ids, docs, records, token_parts, lengths, doc_ids, vocab, df) -> LexicalIndex:
        import numpy as np

        ids_array = np.concatenate(ids).astype(f"S{ID_BYTES}", copy=False)
        offsets = np.zeros(len(ids_array) + 1, dtype=np.int64)
        np.cumsum(np.concatenate(lengths), out=offsets[1:])
        order = np.argsort(ids_array, kind="stable")
        arrays = {
            "ids": ids_array,
            "docs": np.concatenate(docs).astype(np.int32),
            "doc_ids": np.asarray(list(doc_ids), dtype=f"S{ID_BYTES}"),
            "tokens": _joined(np, [p for p in token_parts if len(p)], np.int32),
            "offsets": offsets,
            "df": df,
            "order": order,
            "sorted_ids": ids_array[order],
        }
        for parts in (ids, docs, token_parts, lengths):
            parts.clear()  # the caller's lists, no longer needed: freed before the matrix is built
        give_back_freed_memory()
        index = cls(arrays, list(vocab), records, bm25_index(arrays, len(vocab)))
        give_back_freed_memory()
        return index

    # ---- persistence -------------------------------------------------------------------

    def save(self, folder: Path, generation: str, fingerprint: str) -> None:
        """Write the index for ``generation`` under ``folder`` (atomically: a new subfolder,
        then older generations are removed)."""
        import numpy as np

        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        for name in ARRAYS:
            np.save(tmp / f"{name}.npy", np.asarray(getattr(self, name)))
        (tmp / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), "utf-8")
        (tmp / "records.tsv").write_bytes(self.records.dump())
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"))
        meta = {"format": FORMAT, "generation": generation, "fingerprint": fingerprint, "sentences": len(self)}
        (tmp / "meta.json").write_text(json.dumps(meta), "utf-8")
        target = folder / _safe(generation)
        try:
            os.replace(tmp, target)
        except OSError:  # another process saved this generation first
            shutil.rmtree(tmp, ignore_errors=True)
        for other in folder.iterdir():
            if other != target and other.is_dir() and not other.name.startswith(".tmp-"):
                shutil.rmtree(other, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, generation: str, fingerprint: str) -> LexicalIndex | None:
        """The saved index for ``generation``, memory-mapped; None when there is none (or it
        is from another format or settings)."""
        import numpy as np

        where = folder / _safe(generation)
        try:
            meta = json.loads((where / "meta.json").read_text("utf-8"))
            if (meta["format"], meta["generation"], meta["fingerprint"]) != (FORMAT, generation, fingerprint):
                return None
            arrays = {
                name: np.load(where / f"{name}.npy", mmap_mode="r")
                for name in ARRAYS
            }
            vocab = json.loads((where / "vocab.json").read_text("utf-8"))
            records = RecordTable.parse((where / "records.tsv").read_bytes())
            bm25 = None
            if (where / "bm25").is_dir():
                import bm25s

                bm25 = bm25s.BM25.load(str(where / "bm25"), mmap=True)
        except (OSError, ValueError, KeyError):
            return None
        if len(arrays["ids"]) != meta["sentences"]:
            return None
        return cls(arrays, vocab, records, bm25)

    # ---- reading -------------------------------------------------------------------------

    def term_idf(self, term: str) -> float:
        """IDF of a term; unseen terms get the maximum (they are the most specific)."""
        i = self.term_ids.get(term)
        if i is None or i >= len(self.df) or self.df[i] == 0:
            return self.max_idf
        df = float(self.df[i])
        return math.log(1 + (len(self) - df + 0.5) / (df + 0.5))

    def search(self, query: str, k: int, within: frozenset[str] | None = None) -> list[tuple[int, float]]:
        """Top-k (row, BM25 score) among sentences sharing a term with the query (only sentences
        of the documents ``within``, when given)."""
        np = self._np
        if self._bm25 is None or not len(self):
            return []
        terms = sorted({self.term_ids[t] for t in content_terms(query) if t in self.term_ids})
        if not terms:
            return []
        scores = self._bm25.get_scores(terms)
        if within is not None:
            scores = np.where(self.rows_within(within), scores, 0.0)
        matching = np.flatnonzero(scores > 0)
        if len(matching) > k:
            matching = matching[np.argpartition(-scores[matching], k - 1)[:k]]
        ranked = sorted(matching.tolist(), key=lambda i: (-float(scores[i]), i))
        return [(i, float(scores[i])) for i in ranked[:k]]

    def rows_within(self, doc_ids: frozenset[str]):
        """A boolean mask of the rows whose sentences belong to the documents ``doc_ids``
        (kept per set of documents)."""
        np = self._np
        if doc_ids not in self._masks:
            wanted = {d.encode() for d in doc_ids}
            chosen = np.asarray([bytes(d) in wanted for d in self.doc_ids], dtype=bool)
            mask = chosen[self.docs] if len(self) else np.zeros(0, dtype=bool)
            if len(self._masks) >= MASKS_KEPT:
                self._masks.pop(next(iter(self._masks)))
            self._masks[doc_ids] = mask
        return self._masks[doc_ids]

    def sentence_id(self, row: int) -> str:
        """The id of the sentence in ``row``."""
        return bytes(self.ids[row]).decode()

    def doc_id(self, row: int) -> str:
        """The id of the document of the sentence in ``row``."""
        return bytes(self.doc_ids[int(self.docs[row])]).decode()

    def row_of(self, sentence_id: str) -> int | None:
        """The row of a stored sentence (binary search), or None."""
        np = self._np
        key = sentence_id.encode()
        where = int(np.searchsorted(self.sorted_ids, key)) if len(self) else 0
        if where < len(self) and bytes(self.sorted_ids[where]) == key:
            return int(self.order[where])
        return None

    def previous_id(self, row: int) -> str | None:
        """The id of the sentence before ``row`` in its document, if any."""
        if row <= 0 or self.docs[row - 1] != self.docs[row]:
            return None
        return self.sentence_id(row - 1)


def _joined(np, parts: list, dtype):
    """The parts as one array (the part itself, not a copy, when there is one)."""
    if len(parts) == 1:
        return np.asarray(parts[0], dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _safe(generation: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in generation)[:80] or "none"


def _record_json(record: DocumentRecord) -> dict:
    data = asdict(record)
    data["copies"] = list(record.copies)
    data["pages"] = list(record.pages)
    data["headings"] = [[h.start, h.end, h.level, h.text] for h in record.headings]
    return data


def _record_from_json(data: dict) -> DocumentRecord:
    return DocumentRecord(
        **{
            **data,
            "copies": tuple(data.get("copies", ())),
            "pages": tuple(data.get("pages", ())),
            "headings": tuple(Heading(*h) for h in data.get("headings", ())),
        }
    )
