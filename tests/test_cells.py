"""Cells that must not be misread: formulas, errors, merged cells, hidden rows and sheets, odd values."""
from __future__ import annotations

import datetime as dt
import re
import zipfile

import pytest
from openpyxl import Workbook
from workbooks import CANONICAL_HEADER, canonical, write_csv, write_xlsx

from kyodo_analysis.input.readers import clean_cell_text
from kyodo_analysis.input.survey import load_questionnaire

TITLE = ["平成29年度 協働のまちづくりワークショップ"]


def messages(survey):
    return [str(p) for p in survey.problems]


def found(survey):
    """Each problem as (location, code): the tests check the message only for the values it names."""
    return [(p.location, p.code) for p in survey.problems]


def calculated(path, results: dict[str, tuple[str, str]]):
    """Save the results of formula cells as Excel does when it saves: ``{"D4": ("str", "思う")}``."""
    def change(xml: str) -> str:
        for ref, (kind, value) in results.items():
            pattern = re.compile(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/>')
            xml, count = pattern.subn(rf'<c r="{ref}"\1 t="{kind}"><f>\2</f><v>{value}</v>', xml)
            assert count == 1, ref
        return xml

    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            if name == "xl/worksheets/sheet1.xml":
                data = change(data.decode()).encode()
            dst.writestr(name, data)
    return path


# --- formulas and error values ------------------------------------------------------


def test_formula_cells_use_the_value_excel_saved(tmp_path):
    rows = [[1, '=IF(TRUE,"NPO","")', "a", '="思"&"う"', "理由", '=IF(FALSE,"x","")'],
            [2, "職員", "b", "思わない", "=1+2", None]]
    path = calculated(canonical(tmp_path / "2017.xlsx", rows), {
        "B4": ("str", "NPO"), "D4": ("str", "思う"),
        "F4": ("str", ""),  # an empty text result: Excel saves <v></v> and shows a blank cell
        "E5": ("n", "3"),
    })
    survey = load_questionnaire(path)
    assert survey.ok, messages(survey)
    assert survey.respondents["group_detail"].tolist() == ["NPO", "職員"]
    assert survey.respondents["intent"].tolist() == ["思う", "思わない"]
    assert survey.comments["text"].tolist() == ["理由", "3"]


def test_a_formula_never_calculated_is_a_problem_not_a_blank(tmp_path):
    """openpyxl (and other programs) write formulas without results; guessing 無回答 would be wrong."""
    rows = [[1, "NPO", "a", "思う", "理由", None],
            [2, "職員", "b", '=IF(A5>1,"思わない","思う")', "理由2", None],
            [3, "職員", "c", "思う", "=UPPER(\"x\")", None]]
    survey = load_questionnaire(canonical(tmp_path / "f.xlsx", rows, title="平成29年度"))
    assert found(survey) == [("f.xlsx 回答!D5", "uncalculated-formula"), ("f.xlsx 回答!E6", "uncalculated-formula")]
    assert ['=IF(A5>1,"思わない","思う")' in survey.problems[0].message, '=UPPER("x")' in survey.problems[1].message] == [True, True]
    assert survey.respondents["row"].tolist() == [4]  # the rows are reported, not counted as 無回答


def test_uncalculated_formulas_above_the_header_and_on_the_overview_sheet(tmp_path):
    path = write_xlsx(tmp_path / "2017.xlsx", {
        "回答": [['="平成29年度"'], [], CANONICAL_HEADER, [1, "NPO", "a", "思う", None, None]],
        "概要": [["開催日", "=DATE(2017,7,25)"]],
    })
    survey = load_questionnaire(path)
    assert found(survey) == [("2017.xlsx 回答!A1", "uncalculated-formula"), ("2017.xlsx 概要!B1", "uncalculated-formula")]
    assert '="平成29年度"' in survey.problems[0].message and "=DATE(2017,7,25)" in survey.problems[1].message


def test_error_values_are_problems_naming_the_cell(tmp_path):
    rows = [[1, "NPO", "a", "思う", "=VLOOKUP(1,Z1:Z2,2)", None], [2, "職員", "b", "思う", "理由", None]]
    path = calculated(canonical(tmp_path / "2017.xlsx", rows), {"E4": ("e", "#N/A")})
    survey = load_questionnaire(path)
    assert found(survey) == [("2017.xlsx 回答!E4", "error-value")] and "「#N/A」" in survey.problems[0].message
    assert survey.respondents["row"].tolist() == [5] and "#N/A" not in survey.comments["text"].tolist()


# --- layout: merged cells, hidden rows and sheets, repeated headers ---------------


def _merged_workbook(path):
    workbook = Workbook()
    ws = workbook.active
    ws.title = "回答"
    for row in [TITLE, [], CANONICAL_HEADER,
                [1, "市民", "a", "思う", "対等な関係で話せた", None],
                [2, None, "b", "思わない", "同じ理由を二人で書いた", None],
                [3, None, "c", "思う", None, None]]:
        ws.append(row)
    ws.merge_cells("B4:B6")  # 区分 written once for three people
    ws.merge_cells("E4:F4")  # one comment spread over the two free-text columns
    ws.merge_cells("E5:E6")  # one comment spread over two people
    workbook.save(path)
    return path


def test_merged_cells_fill_answers_but_count_a_comment_once(tmp_path):
    survey = load_questionnaire(_merged_workbook(tmp_path / "2017.xlsx"))
    assert survey.ok, messages(survey)
    assert survey.respondents["group"].tolist() == ["市民", "市民", "市民"]
    comments = survey.comments
    assert comments[["cell", "text", "question"]].values.tolist() == [
        ["E4", "対等な関係で話せた", "理由"], ["E5", "同じ理由を二人で書いた", "理由"]]


def test_hidden_rows_are_read_and_said_hidden_sheets_are_skipped_and_said(tmp_path):
    path = canonical(tmp_path / "2017.xlsx", [[1, "NPO", "a", "思う", None, None], [2, "職員", "b", "思う", None, None]])
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook["回答"].row_dimensions[5].hidden = True
    hidden = workbook.create_sheet("旧回答")
    for row in [CANONICAL_HEADER, [9, "市民", "z", "思う", None, None]]:
        hidden.append(row)
    hidden.sheet_state = "hidden"
    workbook.save(path)
    survey = load_questionnaire(path)
    assert survey.ok and survey.respondents["row"].tolist() == [4, 5]
    assert set(survey.respondents["sheet"]) == {"回答"}
    assert "2017.xlsx: シート「回答」の非表示の行も回答として読み込みました。" in survey.notes
    assert "2017.xlsx: 非表示のシート「旧回答」は読み込みません（表示すると読み込みます）。" in survey.notes


def test_a_repeated_header_row_is_skipped_with_a_note(tmp_path):
    rows = [[1, "NPO", "a", "思う", "x", None], list(CANONICAL_HEADER), [2, "職員", "b", "思わない", "y", None]]
    survey = load_questionnaire(canonical(tmp_path / "2017.xlsx", rows))
    assert survey.ok, messages(survey)
    assert survey.respondents["row"].tolist() == [4, 6]
    assert survey.notes == ["2017.xlsx 回答5行目: 見出し行の繰り返しを読み飛ばしました。"]


# --- values ----------------------------------------------------------------------


def test_numbers_dates_and_booleans_in_text_columns_are_kept_as_text(tmp_path):
    rows = [[1, "NPO", 123, "思う", 123, 1.5],
            [2.0, "職員", "b", "思う", dt.datetime(2017, 7, 25), True],
            [3, "職員", "c", "思う", dt.datetime(2017, 7, 25, 13, 30), dt.time(12, 30)]]
    survey = load_questionnaire(canonical(tmp_path / "2017.xlsx", rows))
    assert survey.ok, messages(survey)
    assert survey.respondents["respondent_id"].tolist() == ["1", "2", "3"]
    assert survey.respondents["affiliation"].tolist() == ["123", "b", "c"]
    assert survey.comments["text"].tolist() == ["123", "1.5", "2017-07-25", "TRUE", "2017-07-25 13:30:00", "12:30:00"]


def test_a_boolean_answer_is_reported_as_excel_shows_it(tmp_path):
    survey = load_questionnaire(canonical(tmp_path / "2017.xlsx", [[1, "NPO", "a", False, None, None]]))
    assert found(survey) == [("2017.xlsx 回答!D4", "unknown-answer")] and "「FALSE」" in survey.problems[0].message


def test_control_characters_in_a_workbook(tmp_path):
    # Excel saves characters XML cannot hold as _xHHHH_: a vertical tab pasted from PowerPoint,
    # a bell, CR of a Windows line break; _x005F_ is Excel's escape for a literal "_x".
    rows = [[1, "市民_x0007_", "a", "思う", "前半_x000B_後半", "改行_x000D_\nあり"],
            [2, "職員", "b", "思う", "_x005F_x0041_ はそのまま", "普通の文"]]
    survey = load_questionnaire(canonical(tmp_path / "2017.xlsx", rows))
    assert survey.ok, messages(survey)
    assert survey.respondents["group_detail"].tolist() == ["市民", "職員"]
    assert survey.comments["text"].tolist() == ["前半\n後半", "改行\nあり", "_x0041_ はそのまま", "普通の文"]
    assert survey.notes == ["2017.xlsx: シート「回答」の B4、E4 から、目に見えない制御文字を取り除きました（縦タブ・改ページは改行にしました）。"]


def test_control_characters_in_a_csv(tmp_path):
    rows = [["番号", "属性", "協働したいと思いますか", "理由"],
            [1, "市民\x00", "思う", "ベル\x07と\x1bエスケープ"], [2, "行政", "思わない", "縦タブ\x0bとCRLF\r\nと\u2028区切り"]]
    survey = load_questionnaire(write_csv(tmp_path / "2015.csv", rows))
    assert survey.ok, messages(survey)
    assert survey.comments["text"].tolist() == ["ベルとエスケープ", "縦タブ\nとCRLF\nと\n区切り"]
    assert survey.notes == ["2015.csv: ファイルの B2、D2、D3 から、目に見えない制御文字を取り除きました（縦タブ・改ページは改行にしました）。"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("普通", ("普通", False)), ("タブ\tは残す", ("タブ\tは残す", False)), ("CR\r\nLF", ("CR\nLF", False)),
    ("NUL\x00", ("NUL", True)), ("DEL\x7f", ("DEL", True)), ("C1\x85", ("C1\n", True)), ("\ufeffBOM", ("\ufeffBOM", False)),
])
def test_clean_cell_text(raw, expected):
    assert clean_cell_text(raw) == expected


def test_width_variants_are_matched_but_kept_as_written(tmp_path):
    """NFKC is for matching only: half-width kana and full-width letters survive into the comments."""
    rows = [[1, "ＮＰＯ", "ｶﾌﾞｼｷｶﾞｲｼｬ", "思う　", "ﾜｰｸｼｮｯﾌﾟでＡＢＣ１２３と話した", None]]
    survey = load_questionnaire(canonical(tmp_path / "2017.xlsx", rows))
    assert survey.ok, messages(survey)
    assert survey.respondents.loc[0, "group"] == "市民" and survey.respondents.loc[0, "intent"] == "思う"
    assert survey.respondents.loc[0, "group_detail"] == "ＮＰＯ"
    assert survey.respondents.loc[0, "affiliation"] == "ｶﾌﾞｼｷｶﾞｲｼｬ"
    assert survey.comments.loc[0, "text"] == "ﾜｰｸｼｮｯﾌﾟでＡＢＣ１２３と話した"


def test_a_long_comment_without_punctuation_is_loaded_and_tokenised_whole(tmp_path):
    from kyodo_analysis.text.tokens import normalize, tokenize

    long = "市民と職員がまちづくりについて話し合う場" * 110  # 2,200 characters, no 。 or 、
    survey = load_questionnaire(canonical(tmp_path / "2017.xlsx", [[1, "NPO", "a", "思う", long, None]]))
    assert survey.comments.loc[0, "text"] == long
    assert "".join(t.surface for t in tokenize(long)) == normalize(long)


def test_uncalculated_formulas_are_found_without_cell_references(tmp_path):
    """The r attribute of rows and cells is optional; positions then follow from the order."""
    path = canonical(tmp_path / "2017.xlsx", [[1, "NPO", "a", "思う", None, None], [2, "職員", "b", "=1", None, None]])

    def drop_references(xml: str) -> str:
        return re.sub(r' r="[A-Z]*\d+"', "", xml)

    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in entries:
            dst.writestr(name, drop_references(data.decode()).encode() if name == "xl/worksheets/sheet1.xml" else data)
    from kyodo_analysis.input.readers import read_raw

    sheet = read_raw(path).sheets[0]
    [(row, column)] = list(sheet.bad_cells)
    # The same place openpyxl puts the row: the row of respondent 2, the 問１ column.
    assert sheet.rows[row - 1][:3] == [2, "職員", "b"] and column == 3


def test_a_merged_group_over_unused_pre_numbered_rows_adds_no_respondents(tmp_path):
    """区分 merged down a whole form shows in its unused rows too; a copy and an id are not answers."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = "回答"
    for row in [["回答者ID", "区分", "所属", "問１　協働したいと思いますか？", "その理由"],
                [1, "市民", "a", "思う", "対等に話せた"], [2, None, "b", "思わない", None],
                [3], [4], [5], [6]]:
        ws.append(row)
    ws.merge_cells("B2:B7")
    workbook.save(tmp_path / "2017.xlsx")
    survey = load_questionnaire(tmp_path / "2017.xlsx")
    assert survey.ok, messages(survey)
    assert survey.respondents[["row", "group", "intent"]].values.tolist() == [[2, "市民", "思う"], [3, "市民", "思わない"]]


def test_a_row_with_only_a_copied_merged_value_is_blank_but_a_typed_cell_is_read(tmp_path):
    workbook = Workbook()
    ws = workbook.active
    ws.title = "回答"
    for row in [["区分", "問１　協働したいと思いますか？", "その理由"], ["職員", "思う", "同じ意見"],
                [None, None, None], [None, None, "予算がない"]]:
        ws.append(row)
    ws.merge_cells("A2:A4")  # 職員 for rows 2-4; C2:C3 one comment over two rows
    ws.merge_cells("C2:C3")
    workbook.save(tmp_path / "2017.xlsx")
    survey = load_questionnaire(tmp_path / "2017.xlsx")
    assert survey.ok, messages(survey)
    # Row 3 holds copies only; row 4 has a typed comment, so it is a respondent (無回答).
    assert survey.respondents[["row", "group", "intent"]].values.tolist() == [[2, "職員", "思う"], [4, "職員", "無回答"]]
    assert survey.comments["cell"].tolist() == ["C2", "C4"]
