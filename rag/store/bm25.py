"""The BM25 matrix over the lexical index's token ids, and the document frequencies, built from
the flat token arrays in blocks of rows (memory bounded by the block, not by the corpus).

The matrix is bm25s's (Lucene variant: idf ``log(1 + (N - df + 0.5) / (df + 0.5))``, term part
``tf / (tf + k1 * (1 - b + b * dl / avgdl))``), computed here in a few vectorised passes instead
of bm25s's per-row Python lists; the ``bm25s.BM25`` object then scores, saves and loads it.
"""

from __future__ import annotations

from collections.abc import Iterator

BM25_K1 = 1.2
BM25_B = 0.75
# Tokens per block of rows: the (row, term) keys of a block are int64, so a block holds a few
# times 2 MiB at most whatever the corpus size.
BLOCK_TOKENS = 1 << 18


def bm25_index(arrays: dict, vocabulary: int):
    """A bm25s index over the token ids (None for an empty corpus)."""
    if not len(arrays["ids"]):
        return None
    import bm25s
    import numpy as np

    tokens, offsets = arrays["tokens"], np.asarray(arrays["offsets"], dtype=np.int64)
    vocabulary = max(vocabulary, 1)
    rows = np.arange(len(offsets) - 1, dtype=np.int64)
    lengths = np.diff(offsets)
    df = document_frequency(np, tokens, offsets, rows, vocabulary)
    n_docs = len(rows)
    idf = np.zeros(vocabulary, dtype=np.float32)
    seen = df > 0
    idf[seen] = np.log(1 + (n_docs - df[seen] + 0.5) / (df[seen] + 0.5))
    # Each row's denominator part, as bm25s computes it (float64, from the float64 mean).
    norm = BM25_K1 * ((1 - BM25_B) + BM25_B * lengths / lengths.mean())
    indptr = np.zeros(vocabulary + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    data = np.empty(int(indptr[-1]), dtype=np.float32)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    heads = indptr[:-1].copy()  # the next free place in each term's column
    for row, term, tf in row_term_counts(np, tokens, offsets, rows, vocabulary):
        tf = tf.astype(np.float64)
        scores = (idf[term].astype(np.float64) * (tf / (norm[row] + tf))).astype(np.float32)
        order = np.argsort(term, kind="stable")  # rows stay ascending inside each column
        term, row, scores = term[order], row[order], scores[order]
        first = np.ones(len(term), dtype=bool)
        first[1:] = term[1:] != term[:-1]
        group_start = np.flatnonzero(first)
        rank = np.arange(len(term)) - np.repeat(group_start, np.diff(np.append(group_start, len(term))))
        places = heads[term] + rank
        data[places] = scores
        indices[places] = row
        heads += np.bincount(term, minlength=vocabulary)
    index = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
    index.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
    # The vocabulary as bm25s keeps it for token ids (its "" entry included), for save and load.
    index.vocab_dict = {str(i): i for i in range(vocabulary)}
    index.vocab_dict[""] = vocabulary
    index.unique_token_ids_set = set(index.vocab_dict.values())
    index.nonoccurrence_array = None
    return index


def document_frequency(np, tokens, offsets, rows, vocabulary: int):
    """How many of the given rows hold each term id (each row counted once per term)."""
    df = np.zeros(vocabulary, dtype=np.int64)
    if not len(rows) or not vocabulary:
        return df
    for _row, term, _tf in row_term_counts(np, tokens, offsets, rows, vocabulary):
        df += np.bincount(term, minlength=vocabulary)
    return df


def row_term_counts(np, tokens, offsets, rows, vocabulary: int) -> Iterator[tuple]:
    """For blocks of the given rows (ascending): (row, term, count) of every distinct term of
    each row, sorted by row then term; row as int64, term as int64, count as int64."""
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return
    starts, ends = offsets[rows], offsets[rows + 1]
    total = np.cumsum(ends - starts)
    cuts = np.unique(np.searchsorted(total, np.arange(BLOCK_TOKENS, int(total[-1]), BLOCK_TOKENS), side="right"))
    bounds = [0, *[int(c) for c in cuts if 0 < c < len(rows)], len(rows)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        block_starts, block_ends = starts[lo:hi], ends[lo:hi]
        picked = np.asarray(tokens[row_ranges(np, block_starts, block_ends)], dtype=np.int64)
        owner = np.repeat(np.arange(hi - lo, dtype=np.int64), block_ends - block_starts)
        keys, counts = np.unique(owner * vocabulary + picked, return_counts=True)
        del picked, owner
        yield rows[lo:hi][keys // vocabulary], keys % vocabulary, counts


def row_ranges(np, starts, ends):
    """The concatenated index ranges [starts[i], ends[i])."""
    lengths = ends - starts
    if not len(lengths) or not lengths.sum():
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(lengths.sum(), dtype=np.int64) + offsets
