"""The report folder: a manifest of what was written, foreign files refused, one run at a time."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from cli_runs import clean_env, finish, start
from workbooks import canonical

from kyodo_analysis.cli import main
from kyodo_analysis.output_folder import MANIFEST, foreign_files, read_manifest, shown
from kyodo_analysis.report import build as R
from kyodo_analysis.report.build import build_report

COMMENTS = [
    "行政と市民がお互いの立場を理解し合うことが大切だと思った。",
    "目的を共有して役割分担をすれば、対等な関係で協働できる。",
    "情報共有の場がもっと必要だと感じた。",
    "信頼関係を築くには時間がかかるが、対話を続けたい。",
]


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("in")
    rows = [(str(i + 1), "市民" if i % 2 else "職員", "NPO", "思う", COMMENTS[i % 4], None) for i in range(8)]
    return canonical(folder / "2017.xlsx", rows)


def _report(book: Path, out: Path) -> None:
    build_report([book], out, formats=("png",), processes=1)


def _hidden_leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_a_report_folder_with_a_file_the_user_added_is_refused_and_the_file_survives(book, tmp_path, capsys):
    out = tmp_path / "reports"
    _report(book, out)
    assert foreign_files(out) == []
    (out / "報告書原稿.docx").write_bytes(b"PK\x03\x04 user's draft")
    (out / "写真").mkdir()
    (out / "写真" / "会場.jpg").write_bytes(b"\xff\xd8 photo")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["report", str(book), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "報告書原稿.docx" in err and "写真/会場.jpg" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert _hidden_leftovers(tmp_path) == []


def test_a_changed_file_of_the_earlier_report_is_not_overwritten(book, tmp_path):
    out = tmp_path / "reports"
    _report(book, out)
    table = next((out / "tables").glob("*.csv"))
    table.write_text("手で直した表", encoding="utf-8")
    assert foreign_files(out) == [table.relative_to(out).as_posix()]
    with pytest.raises(ValueError, match="本ツールの報告書ではないファイル"):
        _report(book, out)
    assert table.read_text("utf-8") == "手で直した表"


@pytest.mark.slow
def test_its_own_report_is_replaced_and_a_damaged_manifest_is_no_manifest(book, tmp_path):
    out = tmp_path / "reports"
    _report(book, out)
    listed = read_manifest(out)
    assert listed and "index.html" in listed
    _report(book, out)  # replaced without a word
    assert read_manifest(out) == listed  # same content, same record
    (out / MANIFEST).write_text('{"generator": "kyodo-analysis", "format": 1, "files": [', encoding="utf-8")
    assert read_manifest(out) is None
    assert foreign_files(out) != []  # refused rather than trusted


def test_odd_output_paths_exit_2_with_a_message(book, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    odd = os.fsdecode(b"bad\xffname")
    for out in (".", "..", "link", odd, "a\nOK fake"):
        assert main(["report", str(book), "--out", out]) == 2, out
        err = capsys.readouterr().err
        assert err.strip() and "Traceback" not in err and "予期しない" not in err
        assert "\n".join(err.splitlines()) == err.rstrip("\n")  # a newline in the name cannot forge a line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]
    assert list((tmp_path / "target").iterdir()) == []


def test_an_undecodable_file_name_in_the_folder_is_named_escaped(book, tmp_path, capsys):
    out = tmp_path / "reports"
    _report(book, out)
    (out / os.fsdecode(b"memo\xff.txt")).write_text("x", encoding="utf-8")
    assert main(["report", str(book), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "memo\\xff.txt" in err
    assert shown(os.fsdecode(b"a\xffb\x1bc")) == "a\\xffb\\x1bc"


@pytest.mark.slow
def test_two_concurrent_runs_end_with_one_complete_report_and_no_staging(book, tmp_path):
    out = tmp_path / "reports"
    env = clean_env(KYODO_CACHE_DIR=str(tmp_path / "cache"))
    runs = [start(["report", book, "--out", out, "--formats", "png"], tmp_path / "logs", f"run{i}", env) for i in range(2)]
    done = [finish(run, timeout=300) for run in runs]
    codes = sorted(d.returncode for d in done)
    assert codes in ([0, 0], [0, 2]), [d.stderr for d in done]
    for d in done:
        assert "Traceback" not in d.stderr
        if d.returncode == 2:
            assert "別の kyodo-analysis" in d.stderr
    assert foreign_files(out) == [] and read_manifest(out)
    assert all((out / name).is_file() for name in read_manifest(out))
    assert _hidden_leftovers(tmp_path) == []


def test_sigterm_removes_the_staging_folder_as_ctrl_c_does(book, tmp_path):
    out = tmp_path / "reports"
    run = start(["report", book, "--out", out], tmp_path / "logs", "term",
                clean_env(KYODO_CACHE_DIR=str(tmp_path / "cache")))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(p.name.startswith(".reports.") and p.is_dir()
                                                  for p in tmp_path.iterdir()):
        time.sleep(0.05)
    assert run.process.poll() is None, "the run ended before it could be stopped"
    run.process.send_signal(signal.SIGTERM)
    done = finish(run, timeout=60)
    assert done.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in done.stderr and "SIGTERM" in done.stderr
    assert _hidden_leftovers(tmp_path) == []
    assert not out.exists()


def test_an_input_whose_name_is_not_utf8_is_reported_with_the_name_escaped(book, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    odd = folder / os.fsdecode(b"2017_\xff.xlsx")
    odd.write_bytes(book.read_bytes())
    out = tmp_path / "reports"
    assert main(["report", str(folder), "--out", str(out), "--formats", "png"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert "2017_\\xff.xlsx" in (out / "index.html").read_text("utf-8")
    quotes = next((out / "tables").glob("*quotes_by_theme.csv")).read_text("utf-8-sig")
    assert "2017_\\xff.xlsx" in quotes


def test_figure_workers_do_not_inherit_the_cli_sigterm_handler():
    """A worker blocked in C cannot run a Python handler, so Pool.terminate() would wait on it forever."""
    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # what the CLI installs, in spirit
    try:
        with multiprocessing.get_context("fork").Pool(1, initializer=R._default_sigterm) as pool:
            assert pool.apply(signal.getsignal, (signal.SIGTERM,)) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)
