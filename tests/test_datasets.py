"""One schema for the evaluation datasets: ``rag eval``'s loader and ``evals/check_datasets.py``
read rows through the same models, so a bad row gets the same message from both."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import REPO, SHARED, SHARED_CORPUS

from evals import check_datasets
from evals.harness import load_rows
from rag.errors import InputError

DATA = REPO / "evals" / "data"


def _check(data_dir, capsys) -> tuple[int, str, str]:
    code = check_datasets.main(
        ["--corpus-dir", str(SHARED_CORPUS), "--seed", str(SHARED / "seed" / "article.txt"), "--data-dir", str(data_dir)]
    )
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_our_datasets_pass_the_checker(capsys):
    code, out, err = _check(DATA, capsys)
    assert code == 0, err
    assert out.splitlines()[-1] == "all datasets OK"
    assert "seed.jsonl: OK: 47 items, 45 with short answers" in out


def _rewrite(folder, name, number, change):
    path = folder / name
    lines = path.read_text("utf-8").splitlines()
    row = json.loads(lines[number - 1])
    change(row)
    lines[number - 1] = json.dumps(row, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


BROKEN = [
    # (file, line, change, kind, the message both the loader and the checker give)
    ("seed.jsonl", 2, lambda r: r.update(short=["not in the gold"]), "qa",
     "short 'not in the gold' is not an exact substring of a gold sentence; copy it from one"),
    ("corpus.jsonl", 5, lambda r: r.update(answerable="yes"), "qa", "answerable: Input should be a valid boolean"),
    ("unanswerable.jsonl", 3, lambda r: r.update(gold=["The talks lasted five hours."]), "qa",
     "an unanswerable row must not carry gold; drop them"),
    ("multiturn.jsonl", 4, lambda r: r["turns"][0].update(facts=["x"]), "multiturn",
     "turn 1 carries facts; only the last turn does"),
    ("verifier_pairs.jsonl", 7, lambda r: r.update(supported=not r["supported"]), "verifier", "disagrees with supported="),
    ("seed.jsonl", 9, lambda r: r.pop("question"), "qa", "question: is missing; add it"),
]


@pytest.mark.parametrize("name, number, change, kind, message", BROKEN, ids=[f"{b[0]}:{b[1]}" for b in BROKEN])
def test_a_bad_row_gets_the_same_message_from_the_loader_and_the_checker(tmp_path, capsys, name, number, change, kind, message):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    path = _rewrite(data, name, number, change)

    with pytest.raises(InputError) as error:
        load_rows(path, kind)
    loaded = str(error.value)
    assert loaded.startswith(f"{path}:{number}: ") and message in loaded and "\n" not in loaded

    code, out, err = _check(data, capsys)
    assert code == 1
    assert f"{name}: FAIL (1 problems)" in out
    assert f"  problem: {name}:{number}: {loaded.split(': ', 1)[1]}" in err.splitlines()


def test_the_checker_adds_the_rules_that_need_the_documents(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    _rewrite(data, "seed.jsonl", 3, lambda r: r.update(gold=[r["gold"][0].replace("e", "E", 1)], short=[]))
    _rewrite(data, "corpus.jsonl", 1, lambda r: r.update(id="seed-99"))
    code, _, err = _check(data, capsys)
    assert code == 1
    assert any(line.startswith("  problem: seed.jsonl:3: gold not found verbatim in seed-article.txt") for line in err.splitlines())
    assert "  problem: corpus.jsonl:1: id 'seed-99' does not start with 'corpus-'" in err.splitlines()
    # the loader accepts both rows: a gold sentence is located in the indexed files when scoring
    assert len(load_rows(data / "seed.jsonl", "qa")) == 47
