import datetime as dt

import pandas as pd
import pytest
from workbooks import CANONICAL_HEADER, MARK_HEADER, canonical, write_csv, write_xlsx

from kyodo_analysis.input.readers import UnreadableFileError
from kyodo_analysis.input.survey import load_questionnaire, load_questionnaires, write_processed

ROWS = [
    [1, "NPO", "みどりの輪", "思う", "相互理解が深まった。", "わかりやすかった"],
    [2, "職員", "環境政策課", "どちらともいえない", "予算の制約がある。", None],
    [3, "自治会", "本町町内会", None, "まだ分からない。", None],
]


def messages(survey):
    return [str(p) for p in survey.problems]


def found(survey):
    """Each problem as (location, code): what the tests assert instead of the Japanese wording."""
    return [(p.location, p.code) for p in survey.problems]


def names(survey, *values):
    """Tell whether every problem message names each of ``values`` (cells, values found, years)."""
    return all(all(v in p.message for v in values) for p in survey.problems)


def test_canonical_layout_with_title_rows(tmp_path):
    survey = load_questionnaire(canonical(tmp_path / "2017.xlsx", ROWS))
    assert survey.ok, messages(survey)
    r = survey.respondents
    assert list(r["row"]) == [4, 5, 6]
    assert list(r["group"]) == ["市民", "職員", "市民"]
    assert list(r["group_detail"]) == ["NPO", "職員", "自治会"]
    assert list(r["intent"]) == ["思う", "どちらとも言えない", "無回答"]
    assert r["intent"].cat.ordered and list(r["intent"].cat.categories) == ["思う", "どちらとも言えない", "思わない", "無回答"]
    assert list(r["fiscal_year"]) == [2017, 2017, 2017]
    assert list(r["respondent_id"]) == ["1", "2", "3"]
    c = survey.comments
    assert list(c["cell"]) == ["E4", "F4", "E5", "E6"]
    assert list(c["question"]) == ["理由", "講演", "理由", "理由"]
    assert c.loc[0, "header"] == "その理由"
    assert c.loc[1, "group"] == "市民" and c.loc[1, "intent"] == "思う"


def test_header_is_found_within_first_twenty_rows_only(tmp_path):
    near = write_xlsx(tmp_path / "2017a.xlsx", {"回答": [[None]] * 19 + [CANONICAL_HEADER, ROWS[0]]})
    assert load_questionnaire(near).respondents["row"].tolist() == [21]
    far = write_xlsx(tmp_path / "2017b.xlsx", {"回答": [[None]] * 20 + [CANONICAL_HEADER, ROWS[0]]})
    survey = load_questionnaire(far)
    assert found(survey) == [("2017b.xlsx", "no-header")] and names(survey, "20")


def test_a_title_mentioning_the_question_is_not_taken_for_the_header(tmp_path):
    path = canonical(tmp_path / "2017.xlsx", ROWS, title="「協働したいと思いますか」アンケート")
    assert load_questionnaire(path).respondents["row"].tolist() == [4, 5, 6]


def test_mark_layout_with_sheet_names_as_groups(tmp_path):
    path = write_xlsx(tmp_path / "H28.xlsx", {
        "市民": [["開催日：平成28年8月6日"], MARK_HEADER, [1, "A会", "○", None, None, "理由1"], [2, "B会", None, "レ", None, "理由2"],
                [3, "C会", None, None, None, None]],
        "職員": [MARK_HEADER, [4, "X課", None, None, 1, "理由4"], [5, "Y課", "〇", None, None, None]],
        "メモ": [["入力者メモ"]],
    })
    survey = load_questionnaire(path)
    assert survey.ok, messages(survey)
    r = survey.respondents
    assert list(r["group"]) == ["市民", "市民", "市民", "職員", "職員"]
    assert list(r["intent"]) == ["思う", "どちらとも言えない", "無回答", "思わない", "思う"]
    assert set(r["fiscal_year"]) == {2016}
    assert any("メモ" in note for note in survey.notes)


def test_two_marks_name_both_cells(tmp_path):
    path = write_xlsx(tmp_path / "2016.xlsx", {"市民": [MARK_HEADER, [1, "A会", "○", None, "○", "理由"]]})
    survey = load_questionnaire(path)
    assert found(survey) == [("2016.xlsx 市民!C2", "several-marks")] and names(survey, "C2「○」", "E2「○」")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    rows = [["番号", "属性", "協働したいと思いますか", "理由"], [1, "市民", "はい", "行政の事情が分かった、と思う"],
            [2, "行政", "いいえ", "人手が足りない\n予算もない"]]
    survey = load_questionnaire(write_csv(tmp_path / f"H27_{encoding}.csv", rows, encoding))
    assert survey.ok, messages(survey)
    assert list(survey.respondents["intent"]) == ["思う", "思わない"]
    assert survey.respondents["sheet"].tolist() == ["", ""]
    assert survey.comments["text"].tolist() == ["行政の事情が分かった、と思う", "人手が足りない\n予算もない"]
    assert survey.comments["cell"].tolist() == ["D2", "D3"]
    assert set(survey.respondents["fiscal_year"]) == {2015}


def test_csv_problem_names_the_cell_without_a_sheet(tmp_path):
    path = write_csv(tmp_path / "2015.csv", [["番号", "属性", "協働したいと思いますか"], [1, "市民", "思うかも"]])
    survey = load_questionnaire(path)
    assert found(survey) == [("2015.csv C2", "unknown-answer")] and names(survey, "「思うかも」", "思う／思わない／どちらとも言えない")


def test_every_problem_is_listed_with_its_cell(tmp_path):
    rows = [[1, "NPO", "a", "思うかも", "x", None], [2, "学生", "b", "思う", "y", None], [3, None, "c", "思う", "z", None],
            [1, "職員", "d", "思う", "w", None], [5, "職員", "e", "思う", "v", None]]
    survey = load_questionnaire(canonical(tmp_path / "2017.xlsx", rows))
    assert found(survey) == [
        ("2017.xlsx 回答!D4", "unknown-answer"),
        ("2017.xlsx 回答!B5", "unknown-group"),
        ("2017.xlsx 回答!B6", "blank-group"),
        ("2017.xlsx 回答!A7", "duplicate-id"),
    ]
    unknown, group, blank, duplicate = (p.message for p in survey.problems)
    assert "「思うかも」" in unknown and "思う／思わない／どちらとも言えない" in unknown
    assert "「学生」" in group and "市民／職員／その他" in group and "市民／職員／その他" in blank
    assert "「1」" in duplicate and "2017.xlsx 回答!A4" in duplicate
    # Rows with a problem are reported instead of counted; nothing else is lost.
    assert survey.respondents["row"].tolist() == [7, 8]


def test_files_that_number_their_respondents_independently_are_not_duplicates(tmp_path):
    a = canonical(tmp_path / "2017_市民.xlsx", [ROWS[0]])
    b = canonical(tmp_path / "2017_職員.xlsx", [[1, "職員", "環境政策課", "思う", "別の理由。", None]])
    c = canonical(tmp_path / "2016.xlsx", [ROWS[0]], title="平成28年度")
    survey = load_questionnaires([a, b, c])
    assert messages(survey) == []
    assert sorted(survey.respondents["fiscal_year"].tolist()) == [2016, 2017, 2017]


def test_missing_columns_are_named(tmp_path):
    no_intent = write_xlsx(tmp_path / "2017a.xlsx", {"回答": [["回答者ID", "区分", "理由"], [1, "市民", "x"]]})
    survey = load_questionnaire(no_intent)
    assert found(survey) == [("2017a.xlsx 回答!1行目", "missing-intent-column")]
    assert names(survey, "「協働したい」", "「問1」", "「Q1」", "「思う」「思わない」「どちらとも言えない」")
    no_group = write_xlsx(tmp_path / "2017b.xlsx", {"回答": [["回答者ID", "協働したいですか"], [1, "思う"]]})
    survey = load_questionnaire(no_group)
    assert found(survey) == [("2017b.xlsx 回答!1行目", "missing-group-column")]
    assert names(survey, "「区分」「属性」「立場」「参加区分」", "「市民」「職員」")


def test_empty_sheet_and_sheet_without_answers(tmp_path):
    empty = write_xlsx(tmp_path / "2017a.xlsx", {"回答": []})
    assert found(load_questionnaire(empty)) == [("2017a.xlsx 回答", "empty-sheet")]
    header_only = write_xlsx(tmp_path / "2017b.xlsx", {"回答": [CANONICAL_HEADER, [1], [2]]})
    assert found(load_questionnaire(header_only)) == [("2017b.xlsx 回答", "no-answers")]


def test_fiscal_year_sources_in_order(tmp_path):
    untitled = canonical(tmp_path / "アンケート.xlsx", [ROWS[0]], title=None)
    survey = load_questionnaire(untitled)
    assert found(survey) == [("アンケート.xlsx", "year-unknown")] and names(survey, "--year")
    assert load_questionnaire(untitled, year=2020).respondents["fiscal_year"].tolist() == [2020]
    # 概要 sheet beats the file name; a January date belongs to the fiscal year before.
    overview = canonical(tmp_path / "アンケートb.xlsx", [ROWS[0]], title=None, overview_date=dt.date(2018, 1, 27))
    assert load_questionnaire(overview).respondents["fiscal_year"].tolist() == [2017]
    # The file name is compared with the data: disagreeing readings are a problem naming both.
    clash = canonical(tmp_path / "2019.xlsx", [ROWS[0]], title=None, overview_date=dt.date(2018, 1, 27))
    survey = load_questionnaire(clash)
    assert found(survey) == [("2019.xlsx 概要!B1", "year-conflict")]
    assert names(survey, "概要!B1「2018-01-27」 は 2017 年度", "ファイル名「2019.xlsx」 は 2019 年度")
    era = canonical(tmp_path / "r1.xlsx", [ROWS[0]], title="令和元年度 ワークショップ")
    assert load_questionnaire(era).respondents["fiscal_year"].tolist() == [2019]
    assert load_questionnaire(write_csv(tmp_path / "令和元年度.csv", [CANONICAL_HEADER, ROWS[0]])).respondents[
        "fiscal_year"].tolist() == [2019]


def test_unreadable_files_raise_a_plain_message(tmp_path):
    text = tmp_path / "2017.xlsx"
    text.write_text("回答者ID,区分\n1,市民\n", encoding="utf-8")
    with pytest.raises(UnreadableFileError, match="Excel ブック（.xlsx）ではありません"):
        load_questionnaire(text)
    old = tmp_path / "2017b.xlsx"
    old.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 512)
    with pytest.raises(UnreadableFileError, match="パスワード"):
        load_questionnaire(old)
    unreadable: list = []
    survey = load_questionnaires([text, canonical(tmp_path / "2016.xlsx", [ROWS[0]])], unreadable=unreadable)
    assert [e.path.name for e in unreadable] == ["2017.xlsx"] and len(survey.respondents) == 1


def test_processed_outputs_are_excel_friendly(tmp_path):
    rows = [CANONICAL_HEADER, [1, "NPO", '=HYPERLINK("x")', "思う", "-予算が足りない", None]]
    survey = load_questionnaire(write_csv(tmp_path / "2017.csv", rows))
    out = tmp_path / "processed"
    write_processed(survey, out)
    data = (out / "comments.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert "'-予算が足りない" in data.decode("utf-8-sig")
    back = pd.read_excel(out / "questionnaire.xlsx", sheet_name=None)
    assert back["回答者"].loc[0, "affiliation"] == '=HYPERLINK("x")'
    assert sorted(p.name for p in out.iterdir()) == ["comments.csv", "questionnaire.xlsx", "respondents.csv"]


def test_a_sub_question_and_a_second_affiliation_column_are_kept(tmp_path):
    header = ["区分", "問1 協働したいと思いますか", "Q1-2 講演の感想", "所属", "団体名"]
    path = write_xlsx(tmp_path / "2017.xlsx", {"回答": [header, ["市民", "思う", "よかった", "市民活動団体", "みどりの輪"],
                                                      ["職員", "思わない", None, "環境政策課", None]]})
    survey = load_questionnaire(path)
    assert survey.ok, messages(survey)
    assert survey.respondents["affiliation"].tolist() == ["市民活動団体／みどりの輪", "環境政策課"]
    assert survey.comments[["cell", "question", "text"]].values.tolist() == [["C2", "講演", "よかった"]]
    assert "2017.xlsx: シート「回答」の所属の列が 2 つあります（D1「所属」、E1「団体名」）。すべての値を「／」でつないで所属として読み込みました。" \
        in survey.notes


def test_an_intent_column_next_to_mark_columns_is_reported(tmp_path):
    header = ["区分", "問1 協働したいと思いますか", "思う", "思わない"]
    survey = load_questionnaire(write_xlsx(tmp_path / "2017.xlsx", {"回答": [header, ["市民", None, "○", None]]}))
    assert found(survey) == [("2017.xlsx 回答!B1", "intent-and-marks")]
    assert names(survey, "B1「問1 協働したいと思いますか」", "C1「思う」、D1「思わない」")


def test_two_columns_claiming_one_role_are_reported_naming_both_headers(tmp_path):
    header = ["回答者ID", "区分", "協働したいと思いますか", "協働したい相手", "No."]
    path = write_xlsx(tmp_path / "2017.xlsx", {"回答": [header, [1, "市民", "思う", "市役所", 7]]})
    survey = load_questionnaire(path)
    assert found(survey) == [("2017.xlsx 回答!A1", "repeated-column"), ("2017.xlsx 回答!C1", "repeated-column")]
    ids, intents = (p.message for p in survey.problems)
    assert "回答者ID" in ids and "A1「回答者ID」、E1「No.」" in ids
    assert "C1「協働したいと思いますか」、D1「協働したい相手」" in intents
    assert survey.respondents.empty


@pytest.mark.parametrize(("name", "year", "note"), [
    ("2017_r2.xlsx", 2017, "2017_r2.xlsx: ファイル名の「r2」は年度とみなさず、「2017」から 2017 年度としました（違うときは --year で指定してください）。"),
    ("ws2018_s1.xlsx", 2018, None),
    ("2018年度_r1.xlsx", 2018, "2018年度_r1.xlsx: ファイル名の「r1」は年度とみなさず、「2018」から 2018 年度としました（違うときは --year で指定してください）。"),
    ("平成30年2月.xlsx", 2017, None), ("2018年2月開催.xlsx", 2017, None), ("H30.2.xlsx", 2017, None),
    ("令和2年1月.xlsx", 2019, None), ("R1_2019.xlsx", 2019, None), ("sample_H27.xlsx", 2015, None),
])
def test_fiscal_year_from_the_file_name(tmp_path, name, year, note):
    survey = load_questionnaire(canonical(tmp_path / name, [ROWS[0]], title=None))
    assert survey.ok, messages(survey)
    assert survey.respondents["fiscal_year"].tolist() == [year]
    assert survey.notes == ([note] if note else [])


@pytest.mark.parametrize(("name", "readings"), [
    ("2017_2018.xlsx", "「2017」は 2017 年度、「2018」は 2018 年度"),
    ("H29_R1.xlsx", "「H29」は 2017 年度、「R1」は 2019 年度"),
    ("平成29年度_2019.xlsx", "「平成29」は 2017 年度、「2019」は 2019 年度"),
])
def test_a_file_name_stating_two_years_is_a_problem(tmp_path, name, readings):
    survey = load_questionnaire(canonical(tmp_path / name, [ROWS[0]], title=None))
    assert found(survey) == [(name, "year-ambiguous-name")] and names(survey, readings, "--year")
    assert load_questionnaire(tmp_path / name, year=2017).ok


def test_a_year_month_in_the_overview_or_title_goes_to_its_fiscal_year(tmp_path):
    overview = write_xlsx(tmp_path / "a.xlsx", {"回答": [CANONICAL_HEADER, ROWS[0]], "概要": [["開催日", "平成30年2月"]]})
    assert load_questionnaire(overview).respondents["fiscal_year"].tolist() == [2017]
    titled = canonical(tmp_path / "b.xlsx", [ROWS[0]], title="開催日：令和2年1月 協働ワークショップ")
    assert load_questionnaire(titled).respondents["fiscal_year"].tolist() == [2019]


def test_an_intent_header_kept_out_by_a_word_is_named(tmp_path):
    header = ["区分", "問1 協働したいと思いますか？（理由も）", "講演について"]
    survey = load_questionnaire(write_xlsx(tmp_path / "2017.xlsx", {"回答": [header, ["市民", "思う", "よかった"]]}))
    assert found(survey) == [("2017.xlsx 回答!B1", "missing-intent-column")]
    assert names(survey, "「問1 協働したいと思いますか？（理由も）」", "「理由」", "思う／思わない／どちらとも言えない")


def test_a_group_sheet_with_only_the_intent_column_is_read(tmp_path):
    path = write_xlsx(tmp_path / "2017.xlsx", {
        "市民": [["「協働したいと思いますか」アンケート"], ["協働したいと思いますか"], ["思う"], [None], ["思わない"]],
        "職員": [CANONICAL_HEADER[1:4], [None, "課", "思う"]],
        # A title naming the question above a full header is a title, even on a group sheet.
        "その他": [["協働したいと思いますか"], MARK_HEADER, [9, "見学", "○", None, None, None]],
    })
    survey = load_questionnaire(path)
    assert found(survey) == [("2017.xlsx 職員!A2", "blank-group")] and names(survey, "市民／職員／その他")
    assert survey.respondents[["sheet", "row", "group", "intent"]].values.tolist() == [
        ["市民", 3, "市民", "思う"], ["市民", 5, "市民", "思わない"], ["その他", 3, "その他", "思う"]]


def test_a_copy_of_a_file_of_unknown_year_is_named_as_a_copy(tmp_path):
    a = canonical(tmp_path / "a.xlsx", [ROWS[0]], title=None)
    b = tmp_path / "b.xlsx"
    b.write_bytes(a.read_bytes())
    survey = load_questionnaires([a, b], year=2017)
    assert found(survey) == [("b.xlsx", "copied-file")] and names(survey, "a.xlsx")
    assert len(survey.respondents) == 1


@pytest.mark.parametrize("content", [b"\xef\xbb\xbf", b"\xef\xbb\xbf,,,\r\n,,\r\n", b",,\r\n\r\n,\r\n"])
def test_a_csv_with_nothing_typed_is_reported_as_empty_only(tmp_path, content):
    path = tmp_path / "アンケート.csv"
    path.write_bytes(content)
    assert found(load_questionnaire(path)) == [("アンケート.csv", "empty-file")]


def test_a_column_with_values_but_no_header_is_named_in_a_note(tmp_path):
    path = write_xlsx(tmp_path / "2017.xlsx", {"回答": [
        ["回答者ID", "区分", "問１　協働したいと思いますか？", "その理由", None],
        [1, "市民", "思う", "顔が見える関係が大事", None],
        [2, "職員", "思わない", "人手が足りない", "裏に書かれていた感想"],
    ]})
    survey = load_questionnaire(path)
    assert survey.ok and len(survey.respondents) == 2
    assert survey.notes == ["2017.xlsx: シート「回答」のE 列には値がありますが（E3 など）、"
                            "見出しがないため読み込んでいません。自由記述なら E1 に見出しを付けてください。"]
