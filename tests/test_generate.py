"""The generative answerer with a scripted fake LLM: labels, parsing, verification, abstention."""

import pytest

from rag.ask.generate import LLMAnswerer, build_prompt, count_prompt_tokens, parse_answer
from rag.models.llm import _custom_llm_base
from rag.api import Rag
from rag.ask.support import JudgedSupportChecker

TEXT = (
    "Title: Talks\n-----\n"
    "German Defence Minister Boris Pistorius urged caution about the guarantees.\n"
    "He warned that guarantees without strong U.S. participation would lack credibility.\n"
    "The talks in Berlin lasted more than five hours.\n"
)


def scripted(output: str):
    StreamingLLM, CompletionResponse = _custom_llm_base()

    class Scripted(StreamingLLM):
        prompts: list = []

        def stream_complete(self, prompt, formatted=False, **kwargs):
            self.prompts.append(prompt)
            text = ""
            for word in output.split(" "):
                delta = word if not text else " " + word
                text += delta
                yield CompletionResponse(text=text, delta=delta)

    return Scripted()


@pytest.fixture
def talks(fake_rag, tmp_path):
    (tmp_path / "talks.txt").write_text(TEXT)
    fake_rag.ingest([tmp_path / "talks.txt"])
    return fake_rag


def test_parse_moves_markers_and_drops_labels_never_given():
    parsed = parse_answer("He warned it would lack credibility. [2] The talks lasted five hours [3][9]. Extra claim.", 3)
    assert parsed == [
        ("He warned it would lack credibility.", (2,)),
        ("The talks lasted five hours.", (3,)),
        ("Extra claim.", ()),
    ]
    assert parse_answer("A [1, 2]. B [0].", 2) == [("A.", (1, 2)), ("B.", ())]


@pytest.mark.parametrize(
    "output",
    [
        "The depositaries are three states. [1], [2], [3]",
        "The depositaries are three states. [1][2][3]",
        "The depositaries are three states [1], [2] and [3].",
        "The depositaries are three states [1, 2, 3].",
    ],
)
def test_parse_leaves_no_separators_of_a_marker_run(output):
    assert parse_answer(output, 3) == [("The depositaries are three states.", (1, 2, 3))]


def test_citations_that_do_not_support_the_sentence_alone_are_dropped(talks):
    _, _, prompt = _answer(talks, "x", "How long did the talks in Berlin last?", threshold=0.0)
    labels = [line.split("]")[0][1:] for line in prompt.split("Evidence:")[-1].splitlines() if line.startswith("[")]
    assert len(labels) == 3
    answer, _, _ = _answer(
        talks, f"The talks in Berlin lasted more than five hours [{'], ['.join(labels)}].", threshold=0.0
    )
    assert answer.answer == "The talks in Berlin lasted more than five hours. [1]"
    assert [c.quote for c in answer.citations] == ["The talks in Berlin lasted more than five hours."]


def test_prompt_respects_the_token_budget(talks):
    from rag.ask.rerank import FeatureReranker
    from rag.ask.retrieval import Retriever

    index = talks._lexical_index()
    hits = Retriever(talks.store, talks.embedder, index, talks.settings).retrieve("What did he warn?")
    evidence = FeatureReranker().rerank("What did he warn?", "What did he warn?", hits, index.term_idf)
    prompt, kept = build_prompt("What did he warn?", evidence, budget=10_000)
    assert len(kept) == len(evidence) and "[1] " in prompt and "Example" in prompt
    small_prompt, small = build_prompt("What did he warn?", evidence, budget=count_prompt_tokens(prompt) - 5)
    assert len(small) == len(kept) - 1
    assert count_prompt_tokens(small_prompt) <= count_prompt_tokens(prompt) - 5


def with_scripted_llm(talks, output: str, judge: str = "yes", threshold: float | None = None) -> Rag:
    """The talks store answered by a scripted LLM and verified by a scripted judge."""
    settings = talks.settings if threshold is None else talks.settings.model_copy(update={"abstain_threshold": threshold})
    return Rag(
        settings,
        embedder=talks.embedder,
        client=talks.store.client,
        answerers={"llm": LLMAnswerer(scripted(output))},
        checkers={"llm": JudgedSupportChecker(scripted(judge))},
    )


def _answer(talks, output, question="What did Pistorius warn about?", judge="yes", threshold=None):
    rag = with_scripted_llm(talks, output, judge, threshold)
    tokens = []
    answer = rag.ask(question, answerer="llm", on_token=tokens.append)
    return answer, "".join(tokens), rag.answerer("llm").llm.prompts[-1]


def test_supported_generated_sentence_is_kept_with_its_citation(talks):
    _, _, prompt = _answer(talks, "x")
    label = next(line.split("]")[0][1:] for line in prompt.splitlines() if "He warned" in line)
    answer, streamed, _ = _answer(talks, f"Pistorius warned that guarantees without strong U.S. participation would lack credibility [{label}].")
    assert not answer.abstained
    assert streamed.startswith("Pistorius warned")
    # "He warned" does not say who warned: the sentence naming Pistorius is cited with it.
    assert answer.sentences[0].supported and answer.sentences[0].citations == (1, 2)
    assert answer.citations[0].quote.startswith("German Defence Minister Boris Pistorius urged caution")
    assert answer.citations[1].quote.startswith("He warned that guarantees")


def test_a_claim_naming_nobody_new_cites_only_its_sentence(talks):
    _, _, prompt = _answer(talks, "x")
    label = next(line.split("]")[0][1:] for line in prompt.splitlines() if "He warned" in line)
    answer, _, _ = _answer(talks, f"He warned that guarantees without strong U.S. participation would lack credibility [{label}].")
    assert [c.quote[:9] for c in answer.citations] == ["He warned"]


def test_unsupported_sentences_are_dropped_and_nothing_left_abstains(talks):
    answer, _, _ = _answer(talks, "Pistorius demanded 40 billion euros in 2031 [1]. Merz agreed [2]. Nothing cited here.")
    assert answer.abstained and answer.citations == ()


def test_model_saying_not_in_documents_abstains(talks):
    answer, _, _ = _answer(talks, "NOT IN DOCUMENTS")
    assert answer.abstained


def test_weak_evidence_abstains_before_the_model_is_asked(talks):
    rag = with_scripted_llm(talks, "France won the 2018 World Cup [1].")
    answer = rag.ask("Who won the 2018 FIFA World Cup in football?", answerer="llm")
    assert answer.abstained
    assert rag.answerer("llm").llm.prompts == []


def test_a_wrong_label_is_moved_to_the_given_sentence_that_supports_it(talks):
    question = "How long did the talks in Berlin last?"
    _, _, prompt = _answer(talks, "x", question, threshold=0.0)  # no gate: every sentence is shown
    labels = {line.split("]")[0][1:]: line for line in prompt.splitlines() if line.startswith("[")}
    wrong = next(n for n, line in labels.items() if "five hours" not in line)
    answer, _, _ = _answer(talks, f"The talks in Berlin lasted more than five hours [{wrong}].", question, threshold=0.0)
    assert not answer.abstained
    assert [c.quote for c in answer.citations] == ["The talks in Berlin lasted more than five hours."]


def test_a_sentence_the_judge_rejects_is_not_shown(talks):
    _, _, prompt = _answer(talks, "x")
    label = next(line.split("]")[0][1:] for line in prompt.splitlines() if "He warned" in line)
    claim = f"Pistorius warned that guarantees without strong U.S. participation would lack credibility [{label}]."
    assert not _answer(talks, claim, judge="yes")[0].abstained
    assert _answer(talks, claim, judge="no")[0].abstained
