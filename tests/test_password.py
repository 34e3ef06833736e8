"""Password-protected workbooks: decrypted in memory only, password from option, variable or terminal."""
from __future__ import annotations

import json
import os
import pty
import select
import signal
import sys
import time

import hostile as H
import pandas as pd
import pytest
from cli_runs import clean_env, finish, start
from conftest import RAW

from kyodo_analysis.input.readers import UnreadableFileError, password_scope, read_raw
from kyodo_analysis.input.survey import load_questionnaire, load_questionnaires

PASSWORD = "協働-2017-pass"
SAMPLE = RAW / "sample_2017.xlsx"


@pytest.fixture
def protected(tmp_path):
    """An encrypted copy of the 2017 sample, under the same name, alone in its folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    return H.encrypt(SAMPLE, folder / SAMPLE.name, PASSWORD)


def test_the_fixture_is_really_encrypted(protected):
    import msoffcrypto

    with protected.open("rb") as handle:
        assert msoffcrypto.OfficeFile(handle).is_encrypted()
    assert protected.read_bytes().startswith(bytes.fromhex("D0CF11E0A1B11AE1"))


def test_the_right_password_gives_the_same_data(protected):
    original = load_questionnaire(SAMPLE)
    opened = load_questionnaire(protected, password=PASSWORD)
    assert opened.ok and len(opened.respondents) == len(original.respondents) > 0
    pd.testing.assert_frame_equal(opened.respondents, original.respondents)
    pd.testing.assert_frame_equal(opened.comments, original.comments)


def test_missing_and_wrong_password_are_plain_errors(protected):
    with pytest.raises(UnreadableFileError, match="パスワードで保護されたブックです。--password"):
        read_raw(protected)
    with pytest.raises(UnreadableFileError, match="パスワードが違います"):
        read_raw(protected, password="違う")
    unreadable: list = []
    load_questionnaires([protected, SAMPLE], unreadable=unreadable, password="違う")
    assert [e.path.name for e in unreadable] == ["sample_2017.xlsx"]


def test_password_may_be_a_function_of_the_file_and_is_asked_only_when_needed(protected, tmp_path):
    asked = []

    def source(path):
        asked.append(path.name)
        return PASSWORD

    plain = H.valid(tmp_path / "2016.xlsx")
    survey = load_questionnaires([plain, protected], password=source, year=2016)
    assert asked == ["sample_2017.xlsx"]
    assert set(survey.respondents["file"]) == {"2016.xlsx", "sample_2017.xlsx"}


def test_password_scope_reaches_loaders_that_take_no_password(protected):
    """The command line sets it once, so that the report's own loading opens the file too."""
    with password_scope(PASSWORD):
        assert len(load_questionnaires([protected]).respondents) > 0
    with pytest.raises(UnreadableFileError, match="パスワードで保護"):
        load_questionnaires([protected])  # the scope ended


def test_nothing_decrypted_is_written_anywhere(protected, tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # make tempfile read TMPDIR again
    before = sorted(p.name for p in protected.parent.iterdir())
    load_questionnaire(protected, password=PASSWORD)
    assert sorted(p.name for p in protected.parent.iterdir()) == before
    assert list(scratch.iterdir()) == []


def test_every_file_command_has_the_option():
    from kyodo_analysis.cli import build_parser

    parser = build_parser()
    for command in ("validate", "summary", "process", "report", "themes"):
        assert parser.parse_args([command, "a.xlsx", "--password", "x"]).password == "x", command


# --- the command line ---------------------------------------------------------


def _summary_in_process(capsys, *args) -> tuple[int, str, str]:
    from kyodo_analysis.cli import main

    code = main(["summary", *map(str, args), "--format", "json"])
    said = capsys.readouterr()
    return code, said.out, said.err


def test_summary_json_is_the_same_with_the_password(protected, tmp_path, raw_guard, capsys, monkeypatch):
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = clean_env(TMPDIR=str(tmpdir))
    # Subprocesses where it matters: the option on a real command line, and a stdin that is no terminal.
    runs = {
        "option": start(["summary", protected, "--format", "json", "--password", PASSWORD], tmp_path / "logs", "option", env),
        "missing": start(["summary", protected, "--format", "json"], tmp_path / "logs", "missing", env),
    }
    code, original, _ = _summary_in_process(capsys, SAMPLE)
    assert code == 0 and json.loads(original)
    monkeypatch.setenv("KYODO_PASSWORD", PASSWORD)
    assert _summary_in_process(capsys, protected) == (0, original, "")
    monkeypatch.delenv("KYODO_PASSWORD")
    code, out, err = _summary_in_process(capsys, protected, "--password", "違う")
    assert (code, out) == (2, "") and "sample_2017.xlsx: パスワードが違います" in err
    done = {name: finish(run) for name, run in runs.items()}
    for name, result in done.items():
        assert "Traceback" not in result.stdout + result.stderr, name
        assert PASSWORD not in result.stdout + result.stderr, name  # the password is never shown
    assert done["option"].returncode == 0 and done["option"].stdout == original
    assert done["missing"].returncode == 2 and done["missing"].stdout == ""
    assert "sample_2017.xlsx: パスワードで保護されたブックです" in done["missing"].stderr
    # No decrypted copy anywhere: the input folder holds the encrypted file only, temp stays empty.
    assert [p.name for p in protected.parent.iterdir()] == ["sample_2017.xlsx"]
    assert protected.read_bytes().startswith(bytes.fromhex("D0CF11E0A1B11AE1"))
    assert list(tmpdir.iterdir()) == []


def test_process_with_the_password_writes_the_tables(protected, tmp_path, raw_guard, capsys):
    from kyodo_analysis.cli import main

    out = tmp_path / "processed"
    assert main(["process", str(protected), "--out", str(out), "--password", PASSWORD]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["comments.csv", "questionnaire.xlsx", "respondents.csv"]
    assert main(["process", str(protected), "--out", str(tmp_path / "other"), "--password", "違う"]) == 2
    assert "パスワードが違います" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def _run_on_a_terminal(args: list[str], answer: str, timeout: float = 30) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as its terminal, typing ``answer`` at the prompt."""
    env = clean_env()
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty, as in a real terminal session
        os.execve(sys.executable, [sys.executable, "-m", "kyodo_analysis.cli", *args], env)
    output, answered, deadline = b"", False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child has exited
                break
            if not chunk:
                break
            output += chunk
            if not answered and "のパスワード".encode() in output:
                os.write(fd, (answer + "\n").encode())
                answered = True
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


def test_a_person_at_a_terminal_is_asked_without_echo(protected, raw_guard):
    code, output = _run_on_a_terminal(["validate", str(protected)], PASSWORD)
    assert "sample_2017.xlsx のパスワード（入力は表示されません）" in output
    assert PASSWORD not in output  # not echoed
    assert code == 0, output
    assert "OK sample_2017.xlsx: 2017年度" in output and "Traceback" not in output


def test_themes_reads_a_protected_workbook(tmp_path, raw_guard, capsys):
    from kyodo_analysis.cli import main

    protected = H.encrypt(H.valid(tmp_path / "src.xlsx"), tmp_path / "2017.xlsx", PASSWORD)
    assert main(["themes", str(protected), "--password", PASSWORD, "--format", "json", "--no-cache"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["text"] for r in records] == ["顔が見える関係が大事。", "人手が足りない。"]
    assert main(["themes", str(protected), "--format", "json", "--no-cache"]) == 2
    assert "パスワードで保護されたブックです" in capsys.readouterr().err
