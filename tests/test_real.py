"""The real model over corpus/ and ../shared/corpus: the behaviours the product promises."""

import io
import json
from pathlib import Path

import pytest

from rag.shells.cli import main
from rag.ask.types import Turn

pytestmark = pytest.mark.real

WARNED = (
    "He warned that guarantees without strong U.S. participation would lack credibility and stressed "
    "that any agreement must include clear commitments from Russia."
)


def test_first_ingest_indexes_all_documents_without_skips(real_rag):
    report = real_rag.first_report
    assert report.documents == 32 and len(report.added) == 32
    assert report.sentences > 3500 and report.chunks > 500  # headings are context, not sentences


def test_pistorius_question_cites_the_warned_sentence_with_exact_offsets(real_rag):
    answer = real_rag.ask("What did Pistorius warn about?")
    assert not answer.abstained
    first = answer.citations[0]
    assert first.quote == WARNED
    assert Path(first.path).read_text("utf-8")[first.start : first.end] == WARNED
    assert Path(first.path).name == "seed-article.txt"
    assert answer.sentences[0].supported and answer.sentences[0].citations == (1,)


@pytest.mark.parametrize(
    "question", ["Who won the 2018 FIFA World Cup?", "What is the boiling point of mercury in kelvin?"]
)
def test_questions_the_documents_do_not_answer_abstain(real_rag, question):
    answer = real_rag.ask(question)
    assert answer.abstained
    assert answer.citations == ()
    assert answer.evidence  # closest passages are still offered


def test_follow_up_question_uses_the_conversation(real_rag):
    first = real_rag.ask("Who is Boris Pistorius?")
    answer = real_rag.ask("What did he warn about?", history=[Turn(first.question, first.answer)])
    assert not first.abstained and not answer.abstained, (first.answer, answer.answer)
    assert WARNED in [c.quote for c in answer.citations]


def test_every_citation_of_many_answers_is_verbatim(real_rag):
    questions = [
        "Who led the U.S. delegation in Berlin?",
        "How long did the Berlin talks last?",
        "What does Article 5 of the North Atlantic Treaty say?",
        "Who took part in the peace talks in Geneva?",
        "What did the G7 decide about immobilized Russian sovereign assets?",
    ]
    for question in questions:
        answer = real_rag.ask(question)
        for citation in answer.citations:
            assert Path(citation.path).read_text("utf-8")[citation.start : citation.end] == citation.quote
        assert all(s.supported for s in answer.sentences) or answer.abstained


def test_ingesting_again_changes_nothing(real_rag):
    from conftest import REPO, SHARED_CORPUS

    before = real_rag.store.counts()
    report = real_rag.ingest([REPO / "corpus", SHARED_CORPUS])
    assert (report.added, report.updated, report.removed) == ((), (), ())
    assert len(report.unchanged) == 32
    assert real_rag.store.counts() == before


def test_cli_ask_json_and_stdin_mode(real_rag, capsys, monkeypatch):
    store = str(real_rag.settings.store_dir)
    assert main(["ask", "--json", "What did Pistorius warn about?", "--store", store]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["abstained"] is False, payload["answer"]
    assert payload["citations"][0]["quote"] == WARNED
    assert payload["sentences"][0]["supported"] is True
    monkeypatch.setattr("sys.stdin", io.StringIO("What did Pistorius warn about?\nWho won the 2018 FIFA World Cup?\n"))
    assert main(["ask", "--store", store]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["abstained"] for line in lines] == [False, True]


def test_bf16_embeddings_are_faithful_to_fp32():
    """bf16 autocast (the default where the CPU has native bf16) keeps every vector within
    cosine 0.999 of fp32 and the same nearest sentences for real questions."""
    import numpy as np

    from rag.ingest.chunking import chunk_document
    from rag.models.embedding import SentenceTransformerEmbedder
    from rag.ingest.files import load_document
    from rag.ingest.sentences import split_sentences

    fp32 = SentenceTransformerEmbedder(precision="fp32")
    bf16 = SentenceTransformerEmbedder(precision="bf16")
    document = load_document(Path(__file__).resolve().parents[1] / "corpus" / "seed-article.txt", 10**7)
    inputs = chunk_document(document, split_sentences(document), fp32.count_tokens, 256)
    exact, fast = fp32.embed_chunks(inputs), bf16.embed_chunks(inputs)
    sentences_exact = np.concatenate([s for _, s in exact])
    sentences_fast = np.concatenate([s for _, s in fast])
    cosines = np.sum(sentences_exact * sentences_fast, axis=1)
    assert cosines.min() > 0.999, cosines.min()
    for question in ("What did Pistorius warn about?", "How long did the Berlin talks last?", "Who hosted the talks?"):
        ranked_exact = np.argsort(-(sentences_exact @ fp32.embed_query(question)))[:3]
        ranked_fast = np.argsort(-(sentences_fast @ bf16.embed_query(question)))[:3]
        assert ranked_exact[0] == ranked_fast[0] and set(ranked_exact) == set(ranked_fast)
