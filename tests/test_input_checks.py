"""Inputs shaped the way city offices keep them: years, copies, sheets and rows that are not answers, folders.

Each test writes a real file of that shape and asserts the exact counts or the exact refusal.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from workbooks import CANONICAL_HEADER, MARK_HEADER, canonical, write_csv, write_xlsx

from kyodo_analysis.input.survey import load_questionnaire, load_questionnaires
from kyodo_analysis.template import build_template

ROOT = Path(__file__).resolve().parents[1]
ROWS = [
    [1, "NPO", "みどりの輪", "思う", "相互理解が深まった。", "わかりやすかった"],
    [2, "職員", "環境政策課", "どちらともいえない", "予算の制約がある。", None],
    [3, "自治会", "本町町内会", "思わない", "まだ分からない。", None],
]


def run(*args, env=None, **kwargs):
    environment = {k: v for k, v in os.environ.items() if k not in ("KYODO_DEBUG", "KYODO_FISCAL_YEAR")}
    environment.update(env or {})
    done = subprocess.run([sys.executable, "-m", "kyodo_analysis.cli", *map(str, args)],
                          capture_output=True, env=environment, **kwargs)
    return done


def text(done) -> tuple[str, str]:
    return done.stdout.decode("utf-8"), done.stderr.decode("utf-8")


def places(survey) -> list[str]:
    return [p.location for p in survey.problems]


def fill_template(path: Path, *, year=None, held: dt.date | None = None, rows=ROWS) -> Path:
    """The workbook `template` writes, filled in by a clerk: answers from row 4, 開催日 in 概要!B2."""
    workbook = build_template(year)
    ws = workbook["回答"]
    for r, row in enumerate(rows, start=4):
        for c, value in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=value)
    if held is not None:
        workbook["概要"]["B2"] = dt.datetime.combine(held, dt.time())
    workbook.save(path)
    return path


# --- years ---------------------------------------------------------------------------------


def test_a_template_made_without_year_takes_its_year_from_the_date_not_the_help_text(tmp_path):
    path = fill_template(tmp_path / "2018.xlsx", held=dt.date(2018, 11, 17))
    survey = load_questionnaire(path)
    assert survey.ok, places(survey)
    assert survey.respondents["fiscal_year"].tolist() == [2018, 2018, 2018]


def test_help_text_with_an_example_year_is_never_read_as_the_year(tmp_path):
    # An older template wrote 「…例: 2017…」 beside 年度; the clerk left the year blank.
    path = fill_template(tmp_path / "アンケート.xlsx")
    workbook = load_workbook(path)
    workbook["概要"]["D1"] = "年度は西暦（例: 2017）か和暦（例: 平成29年度）で。開催日は日付で入力してください。"
    workbook.save(path)
    survey = load_questionnaire(path)
    assert [p.message.split(" — ")[0] for p in survey.problems] == ["年度が分かりません"]
    assert survey.respondents["fiscal_year"].isna().all()


def test_a_typed_year_that_disagrees_with_the_date_and_the_file_name_is_a_problem_naming_both(tmp_path):
    path = fill_template(tmp_path / "2018.xlsx", year=2017, held=dt.date(2018, 11, 17))
    survey = load_questionnaire(path)
    assert places(survey) == ["2018.xlsx 概要!B1"]
    assert "概要!B1「2017」" in survey.problems[0].message and "概要!B2「2018-11-17」" in survey.problems[0].message
    done = run("validate", path)
    assert done.returncode == 1


def test_a_workbook_with_two_year_sheets_gives_each_sheet_its_year(tmp_path):
    header = ["No.", "区分", "問1 協働したいと思いますか", "理由"]
    path = write_xlsx(tmp_path / "令和元年度.xlsx", {
        "平成30年度": [header, [1, "市民", "思う", "a"], [2, "職員", "思わない", "b"]],
        "令和元年度": [header, [1, "市民", "思う", "c"], [2, "市民", "思う", "d"], [3, "職員", "どちらとも言えない", "e"]],
    })
    survey = load_questionnaire(path)
    assert survey.ok, places(survey)
    assert survey.respondents.groupby("fiscal_year").size().to_dict() == {2018: 2, 2019: 3}
    done = run("summary", path, "--format", "json")
    assert done.returncode == 0
    assert {r["fiscal_year"] for r in __import__("json").loads(done.stdout)} == {2018, 2019}


def test_a_sheet_without_a_year_in_a_workbook_of_year_sheets_is_refused_with_the_sheet_named(tmp_path):
    header = ["No.", "区分", "問1 協働したいと思いますか"]
    path = write_xlsx(tmp_path / "アンケート.xlsx", {
        "平成30年度": [header, [1, "市民", "思う"]],
        "令和元年度": [header, [1, "市民", "思う"]],
        "追加分": [header, [1, "職員", "思う"]],
    })
    survey = load_questionnaire(path)
    assert len(survey.problems) == 1 and "シート「追加分」の年度を決められません" in survey.problems[0].message
    years = survey.respondents.set_index("sheet")["fiscal_year"]
    assert years.dropna().to_dict() == {"平成30年度": 2018, "令和元年度": 2019} and pd.isna(years["追加分"])


def test_a_disagreement_shared_by_every_sheet_is_reported_once(tmp_path):
    header = ["No.", "所属", "問1 協働したいと思いますか"]
    path = write_xlsx(tmp_path / "2019.xlsx", {"市民": [header, [1, "A会", "思う"]], "職員": [header, [1, "X課", "思う"]],
                                              "概要": [["年度", "平成30年度"]]})
    survey = load_questionnaire(path)
    assert places(survey) == ["2019.xlsx 概要!B1"]
    assert survey.respondents["fiscal_year"].isna().all()


def test_year_option_applies_only_to_files_without_a_year_and_is_refused_when_it_contradicts_one(tmp_path):
    dated = canonical(tmp_path / "2017.xlsx", ROWS)
    undated = canonical(tmp_path / "アンケート.xlsx", [[9, "市民", "a", "思う", "x", None]], title=None)
    survey = load_questionnaires([dated, undated], year=2017)
    assert survey.ok and survey.respondents["fiscal_year"].tolist() == [2017] * 4
    survey = load_questionnaires([dated, undated], year=2018)
    assert places(survey) == ["2017.xlsx"]
    assert "--year 2018" in survey.problems[0].message
    assert survey.respondents.set_index("file")["fiscal_year"].to_dict()["アンケート.xlsx"] == 2018
    assert run("validate", dated, "--year", "H30").returncode == 1
    assert run("validate", dated, "--year", "H29").returncode == 0


def test_make_report_passes_the_year():
    done = subprocess.run(["make", "-n", "report", "YEAR=2018"], cwd=ROOT, capture_output=True, text=True)
    commands = [line for line in done.stdout.splitlines() if "kyodo-analysis" in line]
    # One process runs validate, process, summary and report (kyodo-analysis all), each with the year.
    assert len(commands) == 1 and " all " in commands[0] and "--year 2018" in commands[0]
    assert "--formats" not in commands[0]  # all three formats unless asked
    done = subprocess.run(["make", "-n", "report", "FORMATS=png"], cwd=ROOT, capture_output=True, text=True)
    assert [line for line in done.stdout.splitlines() if "kyodo-analysis" in line and "--formats png " in line]


@pytest.mark.parametrize(("given", "year"), [("H30", 2018), ("R1", 2019), ("令和元年度", 2019), ("2018", 2018)])
def test_template_year_accepts_the_japanese_era(tmp_path, given, year):
    out = tmp_path / "ひな形.xlsx"
    assert run("template", out, "--year", given).returncode == 0
    assert load_workbook(out)["概要"]["B1"].value == year


def test_template_year_refuses_what_is_not_a_year(tmp_path):
    done = run("template", tmp_path / "x.xlsx", "--year", "R99x")
    assert done.returncode == 2 and not (tmp_path / "x.xlsx").exists()


# --- duplicates ----------------------------------------------------------------------------

FORM = [["タイムスタンプ", "区分", "協働したいと思いますか", "理由"],
        ["2018/11/17 10:01", "市民", "はい", "顔が見えた"],
        ["2018/11/17 10:05", "職員", "いいえ", "人手が足りない"],
        ["2018/11/17 10:09", "市民", "はい", "楽しかった"]]


def test_the_answer_times_of_a_web_form_are_compared_with_the_file_name(tmp_path):
    agree = load_questionnaire(write_csv(tmp_path / "2018_フォーム.csv", FORM))
    assert agree.ok and agree.respondents["fiscal_year"].tolist() == [2018] * 3
    assert agree.comments["header"].unique().tolist() == ["理由"]  # the time is not a comment
    clash = load_questionnaire(write_csv(tmp_path / "2019_フォーム.csv", FORM))
    assert places(clash) == ["2019_フォーム.csv A2"]
    assert "回答日時 A2「2018/11/17 10:01」 は 2018 年度" in clash.problems[0].message


def test_a_second_download_of_the_same_file_is_a_problem_and_counted_once(tmp_path):
    first = write_csv(tmp_path / "2018_フォーム.csv", FORM)
    shutil.copyfile(first, tmp_path / "2018_フォーム (1).csv")
    survey = load_questionnaires(sorted(tmp_path.iterdir()))
    assert places(survey) == ["2018_フォーム (1).csv"]
    assert "2018_フォーム.csv" in survey.problems[0].message
    assert "同じファイルの写しではありませんか" in survey.problems[0].message
    assert len(survey.respondents) == 3
    done = run("validate", tmp_path)
    assert done.returncode == 1


def test_rows_copied_into_another_file_of_the_year_are_a_problem_naming_both_and_counted_once(tmp_path):
    a = write_csv(tmp_path / "2018_a.csv", FORM)
    b = write_csv(tmp_path / "2018_b.csv", [FORM[0], FORM[2], FORM[3], ["2018/11/17 10:30", "市民", "はい", "新しい回答"]])
    survey = load_questionnaires([a, b])
    assert places(survey) == ["2018_b.csv 2行目"]
    assert "2 人分" in survey.problems[0].message and "2018_a.csv 3行目" in survey.problems[0].message
    assert len(survey.respondents) == 4
    assert survey.comments["text"].tolist().count("人手が足りない") == 1


def test_a_longer_second_export_of_a_form_without_comments_is_caught_by_its_answer_times(tmp_path):
    form = [[row[0], row[1], row[2]] for row in FORM]
    a = write_csv(tmp_path / "2018_フォーム.csv", form)
    b = write_csv(tmp_path / "2018_フォーム_最新.csv", [*form, ["2018/11/17 11:00", "市民", "はい"]])
    survey = load_questionnaires([a, b])
    assert places(survey) == ["2018_フォーム_最新.csv 2行目"] and "3 人分" in survey.problems[0].message
    assert len(survey.respondents) == 4
    # Without answer times two files may hold the same short answers: nothing is said.
    plain = [[row[1], row[2]] for row in FORM]
    c = write_csv(tmp_path / "2018_市民.csv", plain)
    d = write_csv(tmp_path / "2018_職員.csv", [*plain, ["職員", "はい"]])
    assert load_questionnaires([c, d]).ok


def test_group_sheets_number_their_respondents_from_one_each(tmp_path):
    header = ["No.", "所属", "問1 協働したいと思いますか", "理由"]
    path = write_xlsx(tmp_path / "2017.xlsx", {
        "市民": [header, [1, "A会", "思う", "x"], [2, "B会", "思う", "y"]],
        "職員": [header, [1, "X課", "思わない", "z"], [2, "Y課", "思う", "w"], [2, "Z課", "思う", "v"]],
    })
    survey = load_questionnaire(path)
    assert places(survey) == ["2017.xlsx 職員!A4"]  # the id used twice within one sheet
    assert len(survey.respondents) == 5


# --- sheets and rows that are not answers --------------------------------------------------

def _with_formulas(path: Path, part: str) -> Path:
    """Give every number of one worksheet part a COUNTIF formula, as Excel saves a tally sheet (value cached)."""
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == part:
                data = re.sub(rb'<c r="([A-Z]+\d+)" t="n"><v>(\d+)</v></c>',
                              rb'<c r="\1"><f>COUNTIF(A:A,"x")</f><v>\2</v></c>', data)
                assert b"<f>" in data
            dst.writestr(info, data)
    return path


@pytest.mark.parametrize("tally_name", ["集計", "Sheet2"])
def test_a_tally_sheet_is_recognised_skipped_and_named(tmp_path, tally_name):
    answers = [MARK_HEADER, [1, "A会", "○", None, None, "x"], [2, "B会", None, None, "○", "y"]]
    tally = [["区分", "思う", "どちらとも言えない", "思わない"], ["市民", 14, 3, 2], ["職員", 9, 1, 1]]
    path = write_xlsx(tmp_path / "2017.xlsx", {"市民": answers, tally_name: tally})
    if tally_name == "Sheet2":  # recognised by its formulas, not its name
        _with_formulas(path, "xl/worksheets/sheet2.xml")
    survey = load_questionnaire(path)
    assert survey.ok, places(survey)
    assert len(survey.respondents) == 2
    assert any(f"シート「{tally_name}」は集計" in note for note in survey.notes)


def test_one_stray_number_among_marked_rows_is_reported_not_read_as_a_tally(tmp_path):
    # A formula somewhere in the sheet used to tip one count over three answers into "tally",
    # and the whole answer sheet vanished behind a note (found by test_properties).
    answers = [MARK_HEADER, ["=1+1", "A会", None, "○", 331, "x"], [2, "B会", "○", None, None, "y"],
               [3, "C会", None, None, "○", None]]
    path = write_xlsx(tmp_path / "2016.xlsx", {"市民": answers})
    _with_formulas(path, "xl/worksheets/sheet1.xml")
    survey = load_questionnaire(path)
    assert not any("集計" in note for note in survey.notes), survey.notes
    assert sorted(survey.respondents["row"]) == [3, 4]
    assert "A2" in {p.cell for p in survey.problems} or "E2" in {p.cell for p in survey.problems}, places(survey)


def test_a_question_column_beside_a_mark_column_is_reported_never_taken_for_a_tally(tmp_path):
    header = ["思う", "=0", *CANONICAL_HEADER[2:]]
    data = [[i, "NPO", "団体", "思う", "理由", None] for i in range(1, 6)]
    path = write_xlsx(tmp_path / "2017.xlsx", {"回答": [["平成29年度"], [], header, *data]})
    survey = load_questionnaire(path)
    assert not any("集計" in note for note in survey.notes), survey.notes
    assert {"B3", "D3"} <= {p.cell for p in survey.problems}, places(survey)  # the formula; 問1 beside marks
    assert survey.respondents.empty


def test_legend_and_notes_sheets_are_skipped_with_a_note(tmp_path):
    path = write_xlsx(tmp_path / "2017.xlsx", {
        "回答": [CANONICAL_HEADER, *ROWS],
        "記入例": [CANONICAL_HEADER, [1, "市民", "例: ○○会", "思う", "例: 理由を書く", None]],
        "メモ": [["入力者メモ: 3 枚は白紙"]],
    })
    survey = load_questionnaire(path)
    assert survey.ok, places(survey)
    assert len(survey.respondents) == 3
    assert sum("回答としては読み込みません" in note for note in survey.notes) == 2


def test_totals_and_notes_under_the_table_are_notes_never_respondents(tmp_path):
    path = write_xlsx(tmp_path / "H28.xlsx", {"市民": [
        MARK_HEADER,
        [1, "A会", "○", None, None, "理由1"],
        [2, "B会", None, None, "○", None],
        [None, "計", 1, 0, 1, None],
        [None, "備考：1 枚は白紙のため未入力", None, None, None, None],
        [None, None, None, None, None, "・次回は午前に"],
    ]})
    survey = load_questionnaire(path)
    assert survey.ok, places(survey)
    assert survey.respondents["row"].tolist() == [2, 3]
    assert [int(m[1]) for n in survey.notes if (m := re.search(r"!(\d+)行目: 「", n))] == [4, 5, 6]


def test_a_two_row_header_is_read_as_one(tmp_path):
    workbook = Workbook()
    ws = workbook.active
    ws.title = "回答"
    ws.append(["回答者ID", "区分", "問1 協働したいと思いますか", None, None, "その理由"])
    ws.append([None, None, "思う", "どちらとも言えない", "思わない", None])
    ws.append([1, "市民", "○", None, None, "よかった"])
    ws.append([2, "職員", None, None, "○", None])
    ws.append([3, "市民", None, "○", None, None])
    for block in ("A1:A2", "B1:B2", "C1:E1", "F1:F2"):
        ws.merge_cells(block)
    workbook.save(tmp_path / "2017.xlsx")
    survey = load_questionnaire(tmp_path / "2017.xlsx")
    assert survey.ok, places(survey)
    assert survey.respondents["intent"].astype(str).tolist() == ["思う", "思わない", "どちらとも言えない"]
    assert survey.respondents["row"].tolist() == [3, 4, 5]
    assert survey.comments["header"].tolist() == ["その理由"]


def test_a_two_row_header_that_cannot_be_read_says_so(tmp_path):
    workbook = Workbook()
    ws = workbook.active
    ws.title = "回答"
    ws.append(["回答者ID", "区分", "問1 協働したいと思いますか", None])
    ws.append([None, None, "回答", "回答"])
    ws.append([1, "市民", "思う", "思う"])
    for block in ("A1:A2", "B1:B2", "C1:D1"):
        ws.merge_cells(block)
    workbook.save(tmp_path / "2017.xlsx")
    survey = load_questionnaire(tmp_path / "2017.xlsx")
    assert places(survey) == ["2017.xlsx 回答!C1"]
    assert "2 行の見出し" in survey.problems[0].message
    assert survey.respondents.empty


# --- folder scans --------------------------------------------------------------------------

def _ods(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    with pd.ExcelWriter(path, engine="odf") as writer:
        for name, rows in sheets.items():
            pd.DataFrame(rows).to_excel(writer, sheet_name=name, header=False, index=False)
    return path


def _folder_with_samples(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for sample in (ROOT / "data" / "raw").glob("sample_*"):
        shutil.copy2(sample, raw / sample.name)
    return raw


def test_an_ods_file_is_read_with_the_same_checks_and_the_samples_are_left_out(tmp_path):
    raw = _folder_with_samples(tmp_path)
    _ods(raw / "2018.ods", {"回答": [list(CANONICAL_HEADER), *ROWS, [4, "市民", "x", "思うかも", None, None]]})
    survey = load_questionnaire(raw / "2018.ods")
    assert places(survey) == ["2018.ods 回答!D5"]
    done = run("validate", raw)
    out, err = text(done)
    assert done.returncode == 1
    assert "2018.ods 回答!D5" in out and "sample_" not in out
    (raw / "2018.ods").unlink()
    _ods(raw / "2018.ods", {"回答": [list(CANONICAL_HEADER), *ROWS]})
    done = run("validate", raw)
    assert done.returncode == 0
    assert text(done)[0].splitlines() == ["OK 2018.ods: 2018年度 回答 3 件（市民 2・職員 1）"]


def test_files_in_subfolders_are_read_with_the_folder_year(tmp_path):
    raw = _folder_with_samples(tmp_path)
    (raw / "2018年度").mkdir()
    canonical(raw / "2018年度" / "アンケート.xlsx", ROWS, title=None)
    (raw / "2019年度").mkdir()
    canonical(raw / "2019年度" / "アンケート.xlsx", ROWS[:1], title=None)
    done = run("validate", raw)
    assert done.returncode == 0, text(done)
    assert text(done)[0].splitlines() == ["OK 2018年度/アンケート.xlsx: 2018年度 回答 3 件（市民 2・職員 1）",
                                           "OK 2019年度/アンケート.xlsx: 2019年度 回答 1 件（市民 1）"]


def test_a_file_of_another_type_in_a_subfolder_is_named(tmp_path):
    raw = tmp_path / "raw"
    (raw / "old").mkdir(parents=True)
    canonical(raw / "2017.xlsx", ROWS)
    (raw / "old" / "2016.tsv").write_text("区分\t問1\n市民\t思う\n", encoding="utf-8")
    done = run("validate", raw)
    assert done.returncode == 2
    assert "2016.tsv: 対応していない形式です" in text(done)[0]


@pytest.mark.slow
def test_a_report_from_the_bundled_samples_says_so_at_the_top(tmp_path):
    from kyodo_analysis.report.specs import SAMPLE_BANNER
    from kyodo_analysis.report.build import build_report

    raw = _folder_with_samples(tmp_path)
    # One bundled sample is as much a sample report as all of them.
    result = build_report([raw / "sample_H27.csv"], tmp_path / "out", formats=("png",), processes=1)
    page = result.index.read_text(encoding="utf-8")
    assert page.index(SAMPLE_BANNER) < page.index("<h1>")
    real = canonical(tmp_path / "2017.xlsx", ROWS)
    result = build_report([real], tmp_path / "out2", formats=("png",), processes=1)
    assert SAMPLE_BANNER not in result.index.read_text(encoding="utf-8")


# --- input hygiene (issue 14) ---------------------------------------------------------------

def test_control_characters_in_file_names_are_shown_escaped(tmp_path):
    name = "2017\x1b[2J\nOK 偽物.csv"
    write_csv(tmp_path / name, [["区分", "協働したいと思いますか"], ["市民", "思うかも"]])
    done = run("validate", tmp_path)
    out, _ = text(done)
    assert done.returncode == 1
    assert "\x1b" not in out and not any(line.startswith("OK") for line in out.splitlines())
    assert "2017\\x1b[2J\\nOK 偽物.csv" in out


def test_a_link_out_of_the_data_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.csv"
    write_csv(secret, [["区分", "協働したいと思いますか", "理由"], ["市民", "思う", "ひみつの内容"]])
    raw = tmp_path / "raw"
    raw.mkdir()
    canonical(raw / "2017.xlsx", ROWS)
    (raw / "x.csv").symlink_to(secret)
    done = run("summary", raw)
    out, err = text(done)
    assert done.returncode == 2
    assert "x.csv: シンボリックリンク" in err + out and "ひみつ" not in out + err


def test_process_never_writes_beside_linked_inputs(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    canonical(raw / "2017.xlsx", ROWS)
    links = tmp_path / "links"
    links.mkdir()
    (links / "2017.xlsx").symlink_to(raw / "2017.xlsx")
    for out in (raw, links):
        done = run("process", links / "2017.xlsx", "--out", out)
        assert done.returncode == 2
    done = run("process", raw, "--out", raw / "processed")  # a subfolder the next scan would read
    assert done.returncode == 2
    assert sorted(p.name for p in raw.iterdir()) == ["2017.xlsx"]


def test_a_cell_longer_than_excel_allows_is_refused_naming_the_cell(tmp_path):
    long = "あ" * 40_000
    workbook = canonical(tmp_path / "2017.xlsx", [[1, "市民", "a", "思う", "LONGCELL", None]])
    # openpyxl cuts text at Excel's limit when it writes, so the long cell is put into the XML itself.
    with zipfile.ZipFile(workbook) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(workbook, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            dst.writestr(info, data.replace(b"LONGCELL", long.encode()))
    done = run("validate", workbook)
    assert done.returncode == 2
    assert "回答!E4 のセルが長すぎます（40,000 文字" in text(done)[0]
    sheet = write_csv(tmp_path / "2018.csv", [["区分", "協働したいと思いますか", "理由"], ["市民", "思う", long]])
    done = run("validate", sheet)
    assert done.returncode == 2
    assert "C2 のセルが長すぎます（40,000 文字" in text(done)[0]
    huge = write_csv(tmp_path / "2019.csv", [["区分", "理由"], ["市民", "あ" * 200_000]])
    done = run("validate", huge)
    assert done.returncode == 2 and "field" not in text(done)[0]


# --- command line --------------------------------------------------------------------------

def test_a_closed_output_pipe_ends_quietly_with_exit_0(tmp_path):
    rows = [["区分", "協働したいと思いますか"]] + [["市民", f"思うかも{i}"] for i in range(5000)]
    path = write_csv(tmp_path / "2017.csv", rows)
    process = subprocess.Popen([sys.executable, "-m", "kyodo_analysis.cli", "validate", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode("utf-8")
    assert process.wait() == 0
    assert "予期しない" not in err and "Traceback" not in err


def test_version_and_help_lines_that_never_break_inside_a_word():
    from kyodo_analysis.cli import build_parser
    from kyodo_analysis.console import wrap_japanese

    done = run("--version")
    assert done.returncode == 0 and re.fullmatch(r"kyodo-analysis \S+\n", done.stdout.decode())
    parser = build_parser()
    helps = [a.help for a in parser._actions if a.help] + [
        a.help for sub in parser._subparsers._group_actions[0].choices.values() for a in sub._actions if a.help]
    ends = tuple("、。，．）)」』／・:：")
    for help_text in helps:
        lines = wrap_japanese(help_text, 40)
        assert "".join(lines).replace(" ", "") == help_text.replace(" ", "")
        assert all(line.endswith(ends) or f"{line} " in help_text for line in lines[:-1]), lines


def test_messages_survive_a_cp932_console(tmp_path):
    path = write_csv(tmp_path / "アンケート.csv", [["区分", "協働したいと思いますか"], ["市民", "思う"]])
    done = run("validate", path, env={"PYTHONIOENCODING": "cp932"})
    assert done.returncode == 1  # no year: a problem, not an encoding error
    assert "年度が分かりません" in done.stdout.decode("cp932")


# --- notebooks -----------------------------------------------------------------------------

def test_a_year_without_data_stops_a_notebook_with_one_sentence_before_replacing_reports(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from run_notebooks import copy_sample_project
    finally:
        sys.path.pop(0)
    project = copy_sample_project(tmp_path / "project", names=["04-report-export.ipynb"])
    (project / "notebooks" / "parameters.toml").write_text("fiscal_year = \"R2\"\n", encoding="utf-8")
    path = project / "notebooks" / "04-report-export.ipynb"
    notebook = nbformat.read(path, as_version=4)
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with pytest.raises(CellExecutionError):  # stops there, as "run all" does in JupyterLab
        client.execute()
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert len(errors) == 1
    assert errors[0]["traceback"] == [
        "2020年度の回答がありません。データのある年度は 2015年度・2016年度・2017年度・2018年度・2019年度 です。"
        "notebooks/parameters.toml の fiscal_year を直してから、もう一度上から実行してください。"
    ]
    assert not (project / "reports").exists()
