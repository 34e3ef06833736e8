"""Review workbook and hand corrections of theme tags, end to end through main()."""
from __future__ import annotations

import csv
import json
import shutil

import pytest
from openpyxl import load_workbook

from kyodo_analysis import rules as TH
from kyodo_analysis.input.corrections import CORRECTION_PREFIX, KEY_COLUMN
from kyodo_analysis.input.survey import CORRECTIONS_FILE_NAME, expand_inputs, find_input_files

from cli_runs import run_main as run
from conftest import RAW

SAMPLE = RAW / "sample_2017.xlsx"


pytestmark = pytest.mark.usefixtures("fresh_token_cache")


def tags_by_cell(out: str) -> dict[str, list[str]]:
    return {r["cell"]: r["themes"] for r in json.loads(out)}


def header_index(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[1]}


def find_row(ws, cell: str) -> int:
    column = header_index(ws)["セル"]
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, column).value == cell)


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    return folder


def test_review_workbook_is_laid_out_for_editing(inputs, tmp_path, capsys, raw_guard):
    out = tmp_path / "review.xlsx"
    code, _, err = run(["themes", inputs, "--review", out], capsys)
    assert code == 0, err
    ws = load_workbook(out)["テーマの確認"]
    columns = header_index(ws)
    names = TH.default_theme_names()
    assert all(name in columns and CORRECTION_PREFIX + name in columns for name in names)
    assert ws.freeze_panes == "D2"
    validations = ws.data_validations.dataValidation
    assert validations and validations[0].formula1 == '"追加,削除"'
    assert ws.cell(2, columns["記述"]).alignment.wrap_text
    # every comment, one row each; a ○ exactly where the rules tag
    code, listed, _ = run(["themes", inputs, "--format", "json"], capsys)
    tags = tags_by_cell(listed)
    assert ws.max_row - 1 == len(tags)
    for row in range(2, ws.max_row + 1):
        cell = ws.cell(row, columns["セル"]).value
        marked = [n for n in names if ws.cell(row, columns[n]).value == "○"]
        assert marked == tags[cell]
        if marked:
            assert ws.cell(row, columns["当たった語"]).value


@pytest.mark.slow
def test_corrections_round_trip_add_remove_and_stale_text(inputs, tmp_path, capsys, raw_guard):
    review = tmp_path / "review.xlsx"
    assert run(["themes", inputs, "--review", review], capsys)[0] == 0
    before = tags_by_cell(run(["themes", inputs, "--format", "json"], capsys)[1])
    tagged_cell = next(c for c, t in before.items() if t)
    removed = before[tagged_cell][0]
    plain_cell = next(c for c, t in before.items() if "資源" not in t and c != tagged_cell)

    wb = load_workbook(review)
    ws = wb["テーマの確認"]
    columns = header_index(ws)
    ws.cell(find_row(ws, tagged_cell), columns[CORRECTION_PREFIX + removed]).value = "削除"
    ws.cell(find_row(ws, plain_cell), columns[CORRECTION_PREFIX + "資源"]).value = "追加"
    wb.save(inputs / CORRECTIONS_FILE_NAME)

    # the corrections file beside the questionnaires is found, not read as a questionnaire
    assert find_input_files(inputs) == [inputs / SAMPLE.name]
    assert expand_inputs([inputs / SAMPLE.name, inputs / CORRECTIONS_FILE_NAME])[0] == [inputs / SAMPLE.name]
    code, out, err = run(["themes", inputs, "--format", "json"], capsys)
    assert code == 0, err
    after = tags_by_cell(out)
    assert removed not in after[tagged_cell]
    assert "資源" in after[plain_cell]
    assert sum(len(t) for t in after.values()) == sum(len(t) for t in before.values())
    assert "2 件" in err

    # explain names the hand corrections
    code, out, _ = run(["themes", inputs, "--explain", "--format", "json"], capsys)
    hand = [r for r in json.loads(out) if r["condition"].startswith("修正:")]
    assert {(r["cell"], r["theme"], r["condition"]) for r in hand} == {
        (tagged_cell, removed, "修正:削除"), (plain_cell, "資源", "修正:追加")}

    # report: key numbers, corrections table and quotes reflect the corrections
    report = tmp_path / "report"
    code, _, err = run(["report", inputs, "--out", report, "--formats", "png"], capsys)
    assert code == 0, err
    assert "手作業で修正したテーマ 2件" in (report / "index.html").read_text("utf-8")
    table = next((report / "tables").glob("*_theme_corrections.csv"))
    with table.open(encoding="utf-8-sig") as handle:
        assert len(list(csv.DictReader(handle))) == 2
    quotes = next((report / "tables").glob("*_quotes_by_theme.csv"))
    with quotes.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert all(r["当たった語"] for r in rows)
    assert not any(r["テーマ"] == removed and r["出典"].endswith("!" + tagged_cell) for r in rows)

    # a changed comment text: its correction is not applied, a note names the cell
    changed = tmp_path / "changed"
    shutil.copytree(inputs, changed)
    wb = load_workbook(changed / SAMPLE.name)
    sheet, _, _ = next((ws.title, None, None) for ws in wb.worksheets if ws[tagged_cell].value)
    wb[sheet][tagged_cell] = str(wb[sheet][tagged_cell].value) + "（追記）"
    wb.save(changed / SAMPLE.name)
    code, out, err = run(["themes", changed, "--format", "json"], capsys)
    assert code == 0
    assert removed in tags_by_cell(out)[tagged_cell]
    assert tagged_cell in err and "変わっている" in err


def test_bad_correction_value_names_the_cell_and_exits_1(inputs, tmp_path, capsys):
    review = tmp_path / "review.xlsx"
    run(["themes", inputs, "--review", review], capsys)
    wb = load_workbook(review)
    ws = wb.active
    column = header_index(ws)[CORRECTION_PREFIX + "対等"]
    ws.cell(2, column).value = "たぶん"
    wb.save(tmp_path / "fix.xlsx")
    code, _, err = run(["themes", inputs, "--corrections", tmp_path / "fix.xlsx"], capsys)
    assert code == 1
    assert f"{ws.cell(2, column).coordinate}" in err and "たぶん" in err


def test_review_refuses_to_overwrite_the_corrections_file(inputs, capsys):
    code, _, err = run(["themes", inputs, "--review", inputs / CORRECTIONS_FILE_NAME], capsys)
    assert code == 2 and CORRECTIONS_FILE_NAME in err


def test_corrections_are_keyed_by_text_hash():
    from kyodo_analysis.input.corrections import Correction, apply_corrections, text_key
    import pandas as pd

    tagged = pd.DataFrame({"file": ["a.xlsx"] * 2, "sheet": ["回答"] * 2, "cell": ["E2", "E3"],
                           "text": ["予算がない", "予算がない"], "themes": [("資源",), ("資源",)]})
    fixes = [Correction("a.xlsx", "回答", "E2", text_key("予算がない"), "資源", "削除", "x"),
             Correction("a.xlsx", "回答", "E3", text_key("別の文"), "資源", "削除", "x")]
    applied = apply_corrections(tagged, fixes)
    assert applied.tagged["themes"].tolist() == [(), ("資源",)]
    assert applied.count == 1 and len(applied.notes) == 1 and "E3" in applied.notes[0]


def test_explain_names_condition_words_and_positions():
    text = "お互いの立場を理解することが大事。予算も足りない。"
    frame = TH.explain([text], cache=False)
    assert set(frame["theme"]) == set(TH.tag_texts([text], cache=False)[0])
    for row in frame.itertuples():
        assert row.condition.startswith("any[")
        assert text[row.char_start:row.char_end] == row.matched
        assert row.token_end > row.token_start
    resource = frame[frame["theme"] == "資源"]
    assert list(resource["matched"]) == ["予算"]


@pytest.mark.parametrize("command", ["themes", "report"])
def test_missing_corrections_file_is_a_bad_option(inputs, tmp_path, capsys, command):
    extra = ["--out", tmp_path / "out"] if command == "report" else []
    code, _, err = run([command, inputs, "--corrections", tmp_path / "none.xlsx", *extra], capsys)
    assert code == 2 and "none.xlsx" in err
