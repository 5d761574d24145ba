"""The BM25 matrix over the lexical index's token ids (bm25s), and the array helpers that
count document frequencies over rows of token ids."""

from __future__ import annotations

BM25_K1 = 1.2
BM25_B = 0.75


def bm25_index(arrays: dict, vocabulary: int):
    """A bm25s index over the token ids (None for an empty corpus)."""
    if not len(arrays["ids"]):
        return None
    import bm25s
    import numpy as np

    # One Python int per term id, shared by every row (a list of ints per row would otherwise
    # hold a separate int object for each of millions of tokens).
    term_ints = np.array(range(max(vocabulary, 1)), dtype=object)
    tokens, offsets = arrays["tokens"], arrays["offsets"].tolist()
    corpus = [term_ints[tokens[offsets[i] : offsets[i + 1]]].tolist() for i in range(len(offsets) - 1)]
    index = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
    index.index((corpus, {str(i): i for i in range(max(vocabulary, 1))}), show_progress=False)
    return index


def document_frequency(np, tokens, offsets, rows, vocabulary: int):
    """How many of the given rows hold each term id (each row counted once per term)."""
    df = np.zeros(vocabulary, dtype=np.int64)
    if not len(rows) or not vocabulary:
        return df
    rows = np.asarray(rows, dtype=np.int64)
    starts, ends = offsets[rows], offsets[rows + 1]
    picked = np.asarray(tokens[row_ranges(np, starts, ends)], dtype=np.int64)
    owner = np.repeat(np.arange(len(rows), dtype=np.int64), ends - starts)
    pairs = np.sort(owner * vocabulary + picked)  # (row, term) pairs; a sort beats np.unique's hashing here
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]
    return np.bincount(pairs[first] % vocabulary, minlength=vocabulary).astype(np.int64)


def row_ranges(np, starts, ends):
    """The concatenated index ranges [starts[i], ends[i])."""
    lengths = ends - starts
    if not len(lengths) or not lengths.sum():
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(lengths.sum(), dtype=np.int64) + offsets
