"""Command-line errors as a table of (arguments, expected message): one line, exit code 2."""

import json

import pytest

from rag.shells.cli import main


@pytest.fixture
def files(tmp_path):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "bad.toml").write_text("[rag\nstore_dir=")
    (tmp_path / "unknown.toml").write_text("[rag]\ncolour = 'blue'\n")
    return tmp_path


CASES = [
    ([], "no command given"),
    (["frobnicate"], "invalid choice"),
    (["ask", "--bogus"], "unrecognized arguments: --bogus"),
    (["ask", "q?", "--store", "{tmp}/none"], "no store at {tmp}/none; build it first: rag ingest PATH"),
    (["sources", "--store", "{tmp}/a-file"], "is a file; pass a folder with --store"),
    (["ask", "q?", "--threads", "0", "--store", "{tmp}/none"], "invalid setting threads"),
    (["ask", "q?", "--threads", "two"], "argument --threads: invalid int value"),
    (["ask", "q?", "--store-url", "ftp://host"], "invalid setting store_url"),
    (["ask", "q?", "--store-url", "http://127.0.0.1:9"], "cannot reach the Chroma server at http://127.0.0.1:9"),
    (["ask", "q?", "--config", "{tmp}/missing.toml"], "config file {tmp}/missing.toml not found"),
    (["ask", "q?", "--config", "{tmp}/bad.toml"], "cannot read {tmp}/bad.toml"),
    (["ask", "q?", "--config", "{tmp}/unknown.toml"], "invalid setting colour: Extra inputs are not permitted"),
    (["ingest", "{tmp}/missing-folder", "--store", "{tmp}/s"], "nothing could be ingested"),
    (["ask", "q?", "--answerer", "oracle"], "invalid choice: 'oracle'"),
]


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(c[0]) or "(none)" for c in CASES])
def test_cli_errors_are_one_line_with_exit_code_2(files, capsys, argv, message):
    argv = [a.replace("{tmp}", str(files)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message.replace("{tmp}", str(files)) in err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("rag: error: ")


def test_reading_commands_never_create_a_store(tmp_path, capsys):
    assert main(["sources", "--json", "--store", str(tmp_path / "new")]) == 2
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_help_exits_cleanly(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "ingest" in capsys.readouterr().out


def test_json_is_printed_for_ask_errors_on_stdin(tmp_path, capsys, monkeypatch, fake_rag):
    import io

    import rag.shells.cli as cli

    (tmp_path / "d.txt").write_text("The council meets every Tuesday in Brussels.\n")
    fake_rag.ingest([tmp_path / "d.txt"])
    monkeypatch.setattr(cli, "_open", lambda args, create=False: fake_rag)
    monkeypatch.setattr("sys.stdin", io.StringIO("When does the council meet in Brussels?\n\n???\n"))
    assert main(["ask"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    assert lines[0]["abstained"] is False and "Tuesday" in lines[0]["answer"]
    assert lines[1] == {"question": "???", "error": "the question has no words; type a question"}


def test_chat_keeps_the_conversation_and_clears_it(tmp_path, capsys, monkeypatch, fake_rag):
    import rag.shells.cli as cli

    (tmp_path / "d.txt").write_text(
        "German Defence Minister Boris Pistorius urged caution about the guarantees.\n"
        "He warned that guarantees without strong participation would lack credibility.\n"
    )
    fake_rag.ingest([tmp_path / "d.txt"])
    monkeypatch.setattr(cli, "_open", lambda args, create=False: fake_rag)
    typed = iter(["Who is Boris Pistorius?", "What did he warn about?", "/clear", "", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
    asked = []
    real_ask = fake_rag.ask
    monkeypatch.setattr(
        fake_rag, "ask", lambda q, history=(), **kw: asked.append((q, list(history))) or real_ask(q, history, **kw)
    )
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "He warned that guarantees" in out and "(conversation cleared)" in out
    assert [len(h) for _, h in asked] == [0, 1]
