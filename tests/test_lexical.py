"""The lexical index beside the store: exact BM25, incremental updates equal a rebuild, saved
and loaded instead of scanning the store, rebuilt when it does not match the store."""

from __future__ import annotations

import math
import shutil

import pytest
from fakes import TALKS, TREATY, HashingEmbedder

from rag.config import Settings
from rag.ingest.files import load_document
from rag.store.lexical import LexicalIndex, NewDocument, RecordTable, window_terms
from rag.api import Rag
from rag.ingest.sentences import split_sentences
from rag.text import content_terms
from rag.types import DocumentRecord

QUERIES = ("When was the treaty signed in Washington?", "What did Pistorius warn about?", "council represented")


@pytest.fixture
def corpus(tmp_path):
    documents = []
    for name, text in (("treaty.txt", TREATY), ("talks.md", TALKS)):
        (tmp_path / name).write_text(text)
        documents.append(load_document(tmp_path / name, 10**6))
    records = {d.doc_id: DocumentRecord.of(d, 0, 0) for d in documents}
    sentences = {d.doc_id: split_sentences(d) for d in documents}
    return records, sentences


def bm25_by_hand(records, sentences, query: str) -> dict[str, float]:
    """Lucene's BM25 over the sentence windows, written out."""
    windows = {}
    for doc_id, doc_sentences in sentences.items():
        previous = ""
        for sentence in doc_sentences:
            windows[sentence.sentence_id] = window_terms(sentence.text, previous, content_terms(records[doc_id].title))
            previous = sentence.text
    n = len(windows)
    average = sum(len(w) for w in windows.values()) / n
    scores = {}
    for sid, window in windows.items():
        score = 0.0
        for term in set(content_terms(query)):
            df = sum(term in w for w in windows.values())
            tf = window.count(term)
            if tf:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                score += idf * tf / (tf + 1.2 * (1 - 0.75 + 0.75 * len(window) / average))
        if score > 0:
            scores[sid] = score
    return scores


def test_scores_are_lucene_bm25(corpus):
    records, sentences = corpus
    index = LexicalIndex.build(records, [s for group in sentences.values() for s in group])
    for query in QUERIES:
        expected = bm25_by_hand(records, sentences, query)
        got = {index.sentence_id(row): score for row, score in index.search(query, 50)}
        assert got.keys() == expected.keys()
        for sid, score in expected.items():
            assert got[sid] == pytest.approx(score, rel=1e-4)


def test_an_update_equals_a_rebuild(corpus, tmp_path):
    records, sentences = corpus
    treaty, talks = list(records)
    first = LexicalIndex.build({treaty: records[treaty]}, sentences[treaty])
    both = first.updated([NewDocument(records[talks], sentences[talks])], set(), records)
    rebuilt = LexicalIndex.build(records, [s for group in sentences.values() for s in group])
    only_talks = both.updated([], {treaty}, {talks: records[talks]})
    def ranked(index, query):
        return [(index.sentence_id(row), round(score, 4)) for row, score in index.search(query, 20)]

    for query in QUERIES:
        assert ranked(both, query) == ranked(rebuilt, query)
        assert {only_talks.sentence_id(r) for r, _ in only_talks.search(query, 20)} <= {s.sentence_id for s in sentences[talks]}
    assert [both.term_idf(t) for t in ("treati", "warn", "zzz")] == [rebuilt.term_idf(t) for t in ("treati", "warn", "zzz")]
    second = sentences[talks][1]
    row = both.row_of(second.sentence_id)
    assert both.sentence_id(row) == second.sentence_id and both.previous_id(row) == sentences[talks][0].sentence_id
    assert both.row_of("0" * 16) is None

    both.save(tmp_path / "lexical", "generation-1", "fp")
    loaded = LexicalIndex.load(tmp_path / "lexical", "generation-1", "fp")
    assert loaded is not None and len(loaded) == len(both) and loaded.records.keys() == records.keys()
    assert loaded.search(QUERIES[0], 5) == both.search(QUERIES[0], 5)
    assert LexicalIndex.load(tmp_path / "lexical", "generation-2", "fp") is None  # another generation
    assert LexicalIndex.load(tmp_path / "lexical", "generation-1", "other") is None  # other settings


def test_the_record_table_gives_back_every_record_as_it_was_saved(corpus, tmp_path):
    from dataclasses import replace

    records, sentences = corpus
    treaty, talks = list(records)
    # Paths and titles with the characters the saved form separates on, and non-ASCII text.
    odd = replace(records[talks], path="/a\tb/c\nd.md", copies=("/e\r\nf.md", "/ü/ß.md"), title="Talks\t“quoted”\n")
    table = RecordTable.of({treaty: records[treaty], talks: odd})
    again = RecordTable.parse(table.dump())
    assert dict(again) == {treaty: records[treaty], talks: odd} and len(again) == 2
    assert talks in again and "0" * 16 not in again and again.get("0" * 16) is None
    index = LexicalIndex.build(dict(again), [s for group in sentences.values() for s in group])
    index.save(tmp_path / "lexical", "g", "fp")
    assert dict(LexicalIndex.load(tmp_path / "lexical", "g", "fp").records) == {treaty: records[treaty], talks: odd}


def test_a_new_process_loads_the_saved_index_instead_of_scanning_the_store(tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "treaty.txt").write_text(TREATY)
    settings = Settings(store_dir=tmp_path / "store", abstain_threshold=0.35)
    Rag(settings, embedder=HashingEmbedder()).ingest([tmp_path / "docs"])

    fresh = Rag(settings, embedder=HashingEmbedder())
    monkeypatch.setattr(type(fresh.store), "all_sentences", lambda self: pytest.fail("the store was scanned"))
    assert "4 April 1949" in fresh.ask("When was the treaty signed in Washington?").answer
    assert [s.title for s in fresh.sources()] == ["Small treaty"]
    monkeypatch.undo()

    # Without its files (deleted, or written by an older rag) the index is rebuilt from the store.
    shutil.rmtree(fresh.store.local_folder())
    again = Rag(settings, embedder=HashingEmbedder())
    assert "4 April 1949" in again.ask("When was the treaty signed in Washington?").answer
    assert any(fresh.store.local_folder().iterdir())  # and saved for the next start


def test_a_write_by_another_instance_is_seen_at_the_next_question(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "treaty.txt").write_text(TREATY)
    settings = Settings(store_dir=tmp_path / "store", abstain_threshold=0.35)
    reader = Rag(settings, embedder=HashingEmbedder())
    reader.ingest([tmp_path / "docs"])
    assert reader.ask("What did Pistorius warn about?").abstained
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "talks.md").write_text(TALKS)
    Rag(settings, embedder=HashingEmbedder()).ingest([tmp_path / "more"])  # like a server's other client
    assert not reader.ask("What did Pistorius warn about?").abstained
    assert len(reader.sources()) == 2


@pytest.mark.parametrize("block_tokens", [7, 1 << 20])
def test_the_bm25_matrix_is_the_one_bm25s_builds_whatever_the_block(block_tokens, monkeypatch):
    """The matrix built in blocks of rows from the flat token arrays equals, byte for byte,
    the one bm25s builds from per-row lists (and so do the scores it gives a query)."""
    import bm25s
    import numpy as np

    from rag.store import bm25

    monkeypatch.setattr(bm25, "BLOCK_TOKENS", block_tokens)
    rng = np.random.default_rng(3)
    vocabulary = 300
    rows = [rng.integers(0, vocabulary, size=int(rng.integers(0, 25))).tolist() for _ in range(400)]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    tokens = np.asarray([t for r in rows for t in r], dtype=np.int32)
    built = bm25.bm25_index({"ids": np.zeros(len(rows)), "tokens": tokens, "offsets": offsets}, vocabulary)
    reference = bm25s.BM25(k1=bm25.BM25_K1, b=bm25.BM25_B, method="lucene")
    reference.index((rows, {str(i): i for i in range(vocabulary)}), show_progress=False)
    for key in ("data", "indices", "indptr"):
        assert np.array_equal(built.scores[key], reference.scores[key]), key
    assert built.vocab_dict == reference.vocab_dict
    query = [5, 17, 230]
    assert np.array_equal(built.get_scores(query), reference.get_scores(query))
    counted = bm25.document_frequency(np, tokens, offsets, np.arange(len(rows)), vocabulary)
    assert counted.tolist() == [sum(t in set(r) for r in rows) for t in range(vocabulary)]
