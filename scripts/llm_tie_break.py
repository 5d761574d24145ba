"""Can the local LLM settle the reader's near ties? (held-out data; needs the LLM extra: make llm)

    .venv/bin/python scripts/llm_tie_break.py [--questions 1500] [--margin 0.05] [--min-relevance 0.5]

The same held-out questions and rivals as ``scripts/strong_margin.py`` (SQuAD v1.1 dev, the
validation articles of ``scripts/train_reader.py``). A near tie is a question whose reader
lead is at least ``--min-relevance`` and whose runner-up comes within ``--margin`` of it. The
LLM is shown the question and the two sentences and asked which one answers it, once in each
order (a small model favours one position); the probability it gives the lead, from the
logprobs of "A" and "B", is averaged over the two orders, and the runner-up takes the lead
where that is under one half. Prints how often the lead is right as the reader has it, as the
LLM has it, and as each order alone has it, and the LLM's seconds per tie.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from strong_margin import pooled_arguments, pooled_questions  # noqa: E402

PROMPT = "Question: {question}\n\nSentence A: {a}\n\nSentence B: {b}\n\nWhich sentence answers the question? Reply with one letter, A or B."


def parse_args(argv=None):
    from rag.config import Settings

    parser = pooled_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--margin", type=float, default=0.05, help="a runner-up this close to the lead makes a near tie")
    parser.add_argument("--min-relevance", type=float, default=0.5, help="the lead's least relevance (an answered question)")
    parser.add_argument("--llm-model", default=Settings.model_fields["llm_model"].default, help="the GGUF (default: the answerer's)")
    return parser.parse_args(argv)


def near_ties(args) -> list[tuple[str, str, str, bool, bool]]:
    """(question, lead, runner-up, lead right, runner-up right) per near tie."""
    ties = []
    for row, candidates, right, judged in pooled_questions(args):
        order = sorted(range(len(judged)), key=lambda i: -judged[i].relevance)
        if len(order) < 2:
            continue
        lead, runner_up = order[0], order[1]
        close = judged[lead].relevance - judged[runner_up].relevance < args.margin
        if close and judged[lead].relevance >= args.min_relevance:
            ties.append((row["question"], candidates[lead].text, candidates[runner_up].text, right[lead], right[runner_up]))
    return ties


def first_is_answer(llm, question: str, a: str, b: str) -> float:
    """The LLM's probability that sentence A, not B, answers the question (its next token's logprobs)."""
    reply = llm.create_chat_completion(
        messages=[{"role": "user", "content": PROMPT.format(question=question, a=a, b=b)}],
        max_tokens=1,
        temperature=0.0,
        logprobs=True,
        top_logprobs=10,
    )
    logprobs = {t["token"].strip(): t["logprob"] for t in reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]}
    p_a, p_b = math.exp(logprobs.get("A", -30.0)), math.exp(logprobs.get("B", -30.0))
    return p_a / (p_a + p_b)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        from llama_cpp import Llama
    except ImportError:
        print("llm_tie_break: llama-cpp-python is not installed; install the LLM extra: make llm", file=sys.stderr)
        return 2
    from rag.models.llm import model_file

    ties = near_ties(args)
    llm = Llama(model_path=str(model_file(args.llm_model)), n_ctx=1024, n_threads=args.threads,
                n_threads_batch=args.threads, seed=0, verbose=False, logits_all=True)  # logits_all: logprobs
    started = time.perf_counter()
    chosen = []  # (P(lead) with the lead first, P(lead) with the lead second)
    for question, lead, runner_up, _, _ in ties:
        chosen.append((first_is_answer(llm, question, lead, runner_up), 1 - first_is_answer(llm, question, runner_up, lead)))
    seconds = (time.perf_counter() - started) / max(1, len(ties))

    def right(takes_lead) -> int:
        return sum((t[3] if takes_lead(c) else t[4]) for t, c in zip(ties, chosen))

    print(f"{args.questions} questions, {len(ties)} near ties (runner-up within {args.margin}, lead >= {args.min_relevance})")
    print(f"  lead right: reader {right(lambda c: True)}; LLM, both orders averaged {right(lambda c: c[0] + c[1] >= 1)}"
          f" ({sum(c[0] + c[1] < 1 for c in chosen)} leads changed)")
    print(f"  one order alone: the lead shown first {right(lambda c: c[0] >= 0.5)}, shown second {right(lambda c: c[1] >= 0.5)}")
    print(f"  the runner-up right where the lead is wrong: {sum(t[4] and not t[3] for t in ties)}; LLM seconds per tie {seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
