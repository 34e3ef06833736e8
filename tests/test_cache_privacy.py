"""The token cache holds plain data only, in a private folder, and nothing decrypted."""
from __future__ import annotations

import os
import pickle
import sqlite3
import stat
import sys
import tempfile

import hostile as H
import pytest
from conftest import RAW

from kyodo_analysis.text import cache as C
from kyodo_analysis.text import words as W
from kyodo_analysis.cli import main

PASSWORD = "協働-2017-pass"
SAMPLE = RAW / "sample_2017.xlsx"


class _Planted:
    """An object whose unpickling would leave a mark: it must never be unpickled."""

    ran: list[str] = []

    def __reduce__(self):
        return (_Planted.ran.append, ("executed",))


def _rows(path):
    with sqlite3.connect(path) as db:
        return db.execute("SELECT key, value FROM tokens").fetchall()


def test_tokens_are_stored_as_json_text(tmp_path, monkeypatch):
    monkeypatch.setenv(C.CACHE_ENV, str(tmp_path / "cache"))
    C.tokenize_many(["情報を共有する"], cache=True)
    (key, value), = _rows(C.cache_dir() / "tokens.sqlite3")
    assert isinstance(value, str)
    assert C.decode_tokens(value, "情報を共有する")[0][0] == "情報"


def test_planted_pickle_is_not_executed_and_the_entry_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv(C.CACHE_ENV, str(tmp_path / "cache"))
    text = "特になし"
    expected = C.tokenize_many([text], cache=False)
    store = C.TokenCache()
    key = store.key(text)
    store.put_encoded([(key, pickle.dumps(_Planted(), protocol=5))])  # what an attacker would plant
    store.close()
    _Planted.ran.clear()
    with pytest.warns(UserWarning, match="キャッシュ") as notes:
        assert C.tokenize_many([text]) == expected
    assert _Planted.ran == []
    assert len([n for n in notes if "キャッシュ" in str(n.message)]) == 1
    (_, value), = _rows(tmp_path / "cache" / "tokens.sqlite3")
    assert C.decode_tokens(value, text) == expected[0]  # rebuilt with real tokens


@pytest.mark.parametrize("value", [
    '[["情報","名詞,一般,*,*","情報"],["を"',           # truncated
    '[["ほか","名詞,一般,*,*","ほか"]]',                 # valid tokens of another text
    '{"surface": "情報"}',                               # foreign shape
    b"\x80\x04\x95",                                    # binary junk
])
def test_damaged_or_foreign_entries_neither_fail_nor_count(tmp_path, monkeypatch, value):
    monkeypatch.setenv(C.CACHE_ENV, str(tmp_path / "cache"))
    text = "情報を共有する"
    expected = C.tokenize_many([text], cache=False)
    store = C.TokenCache()
    store.put_encoded([(store.key(text), value)])
    store.close()
    with pytest.warns(UserWarning, match="キャッシュ"):
        assert C.tokenize_many([text]) == expected
    assert W.word_counts([text]) == W.word_counts([text], cache=False)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_CACHE_HOME is how Linux names the user's cache folder")
def test_the_cache_is_private_and_the_same_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(C.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    first = tmp_path / "a"
    second = tmp_path / "b"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    where = C.cache_dir()
    C.tokenize_many(["場"])
    monkeypatch.chdir(second)
    assert C.cache_dir() == where and where.is_absolute()
    assert where.is_relative_to(tmp_path / "home-cache")
    assert not (first / ".cache").exists() and not (second / ".cache").exists()
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    for path in where.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert main(["cache", "clear"]) == 0
    assert not (where / C.CACHE_FILE).exists()


def test_cache_dir_variable_still_overrides(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(C.CACHE_ENV, str(tmp_path / "mine"))
    assert main(["cache"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "mine" / C.CACHE_FILE)
    C.tokenize_many(["場"])
    assert (tmp_path / "mine" / C.CACHE_FILE).exists()
    assert main(["cache", "clear"]) == 0
    assert not (tmp_path / "mine" / C.CACHE_FILE).exists()


def test_a_cache_folder_others_may_enter_is_made_private(tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    monkeypatch.setenv(C.CACHE_ENV, str(folder))
    C.tokenize_many(["場"])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.slow
def test_report_on_a_protected_workbook_leaves_no_text_outside_its_folder(tmp_path, monkeypatch, capsys):
    from kyodo_analysis.input.survey import load_questionnaire

    folder = tmp_path / "in"
    folder.mkdir()
    protected = H.encrypt(SAMPLE, folder / SAMPLE.name, PASSWORD)
    cache = tmp_path / "cache"
    monkeypatch.setenv(C.CACHE_ENV, str(cache))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    from openpyxl.worksheet import _writer

    created: list[str] = []
    real = _writer.create_temporary_file

    def spy(*args, **kwargs):
        created.append(real(*args, **kwargs))
        return created[-1]

    # Where openpyxl puts each sheet before zipping it: watched, not changed.
    monkeypatch.setattr(_writer, "create_temporary_file", spy)
    out = tmp_path / "reports"
    assert main(["report", str(folder), "--out", str(out), "--password", PASSWORD]) == 0
    capsys.readouterr()
    # No token or tag reached the cache, and openpyxl's temporary sheets stayed inside the output.
    assert not cache.exists() or all(_rows(p) == [] for p in cache.glob("*.sqlite3"))
    assert created  # openpyxl did write its sheets through temporary files ...
    assert all(os.path.commonpath([c, str(tmp_path)]) == str(tmp_path) for c in created)
    assert all(not c.startswith(str(scratch)) for c in created)  # ... never in the shared temp folder
    assert list(scratch.iterdir()) == []
    comments = load_questionnaire(SAMPLE).comments["text"].astype(str)
    marker = max(comments, key=len)[:12].encode("utf-8")
    outside = [p for p in tmp_path.rglob("*") if p.is_file()
               and not p.is_relative_to(out) and not p.is_relative_to(folder)]
    assert [p for p in outside if marker in p.read_bytes()] == []
    assert protected.read_bytes().startswith(bytes.fromhex("D0CF11E0A1B11AE1"))


def test_the_command_line_shows_a_rebuilt_entry_as_one_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(C.CACHE_ENV, str(tmp_path / "cache"))
    comments = tmp_path / "c.txt"
    comments.write_text("特になし\n話し合いの場がほしい\n", encoding="utf-8")
    store = C.TokenCache()
    store.put_encoded([(store.key("特になし"), pickle.dumps(_Planted(), protocol=5))])
    store.close()
    _Planted.ran.clear()
    assert main(["themes", "--text-file", str(comments)]) == 0
    err = capsys.readouterr().err
    assert _Planted.ran == []
    assert err.count("メモ: キャッシュ") == 1 and "Warning" not in err


def test_a_cache_file_that_is_no_database_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv(C.CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir(mode=0o700)
    (tmp_path / "cache" / C.CACHE_FILE).write_bytes(b"not a database, planted" * 100)
    with pytest.warns(UserWarning, match="キャッシュ"):
        assert C.tokenize_many(["場"])[0][0][0] == "場"
    assert len(_rows(tmp_path / "cache" / C.CACHE_FILE)) == 1
