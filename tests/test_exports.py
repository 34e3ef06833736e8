"""Exports stay text, survive odd characters, and are all-or-nothing with the usual permissions."""
from __future__ import annotations

import csv
import hashlib
import io
import os
import stat

import pandas as pd
import pytest
from openpyxl import load_workbook
from workbooks import canonical

from kyodo_analysis.input import survey as questionnaire
from kyodo_analysis.export import atomic_directory, write_csv, write_xlsx
from kyodo_analysis.input.survey import load_questionnaire, write_processed

FORMULA_LIKE = ["=1+1", "+81 90", "-予算が足りない", "@SUM(A1)", "\t=1", "\r=1", "\n=1",
                "＝１＋１", "＋いいね", "－マイナス", "＠メンション"]


def _frame(column="text"):
    return pd.DataFrame({column: FORMULA_LIKE + ["普通の文", "ベル\x07と\x1bエスケープ"], "n": range(len(FORMULA_LIKE) + 2)})


def test_csv_prefixes_every_formula_like_text_and_removes_control_characters(tmp_path):
    path = write_csv(_frame("=危ない見出し"), tmp_path / "t.csv")
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    assert rows[0] == ["'=危ない見出し", "n"]
    texts = [row[0] for row in rows[1:]]
    assert texts[: len(FORMULA_LIKE)] == ["'" + t for t in FORMULA_LIKE]
    assert texts[-2:] == ["普通の文", "ベルとエスケープ"]


def test_xlsx_keeps_every_text_as_text(tmp_path):
    path = write_xlsx({"表": _frame("=危ない見出し")}, tmp_path / "t.xlsx")
    ws = load_workbook(path)["表"]
    header = ws[1][0]
    assert (header.value, header.data_type) == ("=危ない見出し", "s")
    cells = [row[0] for row in ws.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells)
    # (XML reads a bare CR back as LF; the text is still text, not a formula.)
    assert [c.value for c in cells] == [*(t.replace("\r", "\n") for t in FORMULA_LIKE), "普通の文", "ベルとエスケープ"]
    assert all(row[1].data_type == "n" for row in ws.iter_rows(min_row=2))  # numbers stay numbers


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.fixture
def previous(tmp_path):
    """A processed folder from an earlier run, with a .gitkeep that must survive."""
    rows = [[1, "NPO", "a", "思う", "前回の理由", None]]
    out = tmp_path / "processed"
    write_processed(load_questionnaire(canonical(tmp_path / "2016.xlsx", rows, title="平成28年度")), out)
    (out / ".gitkeep").write_bytes(b"")
    return out


def test_a_failing_write_leaves_the_previous_output_intact(previous, tmp_path, monkeypatch):
    survey = load_questionnaire(canonical(tmp_path / "2017.xlsx", [[1, "職員", "b", "思わない", "今回", None]]))
    before = _digests(previous)
    written = []
    real = questionnaire.write_csv

    def write_csv_then_fail(frame, path):
        written.append(real(frame, path))
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        return written[-1]

    monkeypatch.setattr(questionnaire, "write_csv", write_csv_then_fail)
    with pytest.raises(OSError):
        write_processed(survey, previous)
    assert len(written) == 2  # two tables were complete when the third failed
    assert _digests(previous) == before
    assert sorted(p.name for p in previous.iterdir()) == [".gitkeep", "comments.csv", "questionnaire.xlsx",
                                                          "respondents.csv"]  # no staging folder left


def test_the_process_command_fails_cleanly_midway(previous, tmp_path, monkeypatch, capsys, raw_guard):
    from kyodo_analysis.cli import main

    before = _digests(previous)

    def broken_xlsx(sheets, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(questionnaire, "write_xlsx", broken_xlsx)
    path = canonical(tmp_path / "2017.xlsx", [[1, "職員", "b", "思わない", "今回", None]])
    assert main(["process", str(path), "--out", str(previous)]) == 2
    err = capsys.readouterr().err
    assert "書き込む権限がありません" in err and "Traceback" not in err
    assert _digests(previous) == before
    assert not [p for p in previous.iterdir() if p.name.startswith(".staging")]


def test_an_interrupted_atomic_directory_keeps_the_old_folder(tmp_path):
    target = tmp_path / "reports"
    target.mkdir()
    (target / "index.html").write_text("前回", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt), atomic_directory(target) as staging:
        (staging / "index.html").write_text("書きかけ", encoding="utf-8")
        raise KeyboardInterrupt
    assert (target / "index.html").read_text(encoding="utf-8") == "前回"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_outputs_get_the_usual_permissions(tmp_path, umask):
    old = os.umask(umask)
    try:
        with atomic_directory(tmp_path / "reports") as staging:
            (staging / "index.html").write_text("x", encoding="utf-8")
        survey = load_questionnaire(canonical(tmp_path / "2017.xlsx", [[1, "NPO", "a", "思う", None, None]]))
        files = write_processed(survey, tmp_path / "processed")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "reports").stat().st_mode) == 0o777 & ~umask
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o666 & ~umask}


def test_a_choices_table_from_an_earlier_run_goes_when_no_question_has_choices(tmp_path):
    from test_web_forms import _ms_forms

    out = tmp_path / "processed"
    with_choices = load_questionnaire(_ms_forms(tmp_path / "ms_forms.xlsx"))
    assert "choices.csv" in [p.name for p in write_processed(with_choices, out)]
    plain = load_questionnaire(canonical(tmp_path / "2017.xlsx", [[1, "NPO", "a", "思う", None, None]]))
    assert plain.choices.empty
    write_processed(plain, out)
    assert sorted(p.name for p in out.iterdir()) == ["comments.csv", "questionnaire.xlsx", "respondents.csv"]
    # A choices.csv the tool did not write (another header) is the analyst's: it stays.
    mine = out / "choices.csv"
    mine.write_text("設問,選択肢\na,b\n", encoding="utf-8")
    write_processed(plain, out)
    assert mine.read_text(encoding="utf-8") == "設問,選択肢\na,b\n"
