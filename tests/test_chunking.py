from conftest import SEED, SHARED_CORPUS

from rag.ingest.chunking import chunk_document, sentence_budget
from rag.text import normalize_space
from rag.models.embedding import load_tokenizer, packaged_model_path
from rag.ingest.files import find_files, load_document
from rag.ingest.sentences import split_sentences


def _tokenizer():
    return load_tokenizer(packaged_model_path())


def test_chunks_of_the_whole_corpus_fit_the_model_window_by_its_own_tokenizer():
    tokenizer = _tokenizer()
    count = lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)  # noqa: E731
    files, _ = find_files([SEED, SHARED_CORPUS])
    total_chunks = 0
    for path in files:
        document = load_document(path, 10**8)
        sentences = split_sentences(document, lambda t: count(normalize_space(t)) <= sentence_budget(256))
        inputs = chunk_document(document, sentences, count, 256)
        owned = [sid for item in inputs for sid in item.chunk.sentence_ids]
        assert owned == [s.sentence_id for s in sentences]  # every sentence once, in order, whole
        for item in inputs:
            with_specials = len(tokenizer.encode(item.text).ids)
            assert with_specials <= 256, (path.name, with_specials)
            assert item.chunk.token_count == with_specials
            assert document.text[item.chunk.start : item.chunk.end] == item.chunk.text
            for (a, b), sid in zip(item.sentence_spans, item.chunk.sentence_ids):
                sentence = next(s for s in sentences if s.sentence_id == sid)
                assert item.text[a:b] == normalize_space(sentence.text)
        total_chunks += len(inputs)
    assert total_chunks > 100


def test_each_chunk_after_the_first_carries_the_previous_sentence_as_context():
    tokenizer = _tokenizer()
    count = lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)  # noqa: E731
    document = load_document(SEED, 10**8)
    sentences = split_sentences(document, lambda t: count(normalize_space(t)) <= sentence_budget(128))
    inputs = chunk_document(document, sentences, count, 128)
    assert len(inputs) > 2
    by_id = {s.sentence_id: s for s in sentences}
    for item in inputs:
        assert item.text.startswith(normalize_space(document.title)[:30])
    for before, after in zip(inputs, inputs[1:]):
        last_of_previous = normalize_space(by_id[before.chunk.sentence_ids[-1]].text)
        first_span = after.sentence_spans[0]
        assert after.text[: first_span[0]].rstrip().endswith(last_of_previous)
