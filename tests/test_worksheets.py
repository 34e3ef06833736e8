"""Group worksheets: reading, splitting into statements, checks, and the ask-vs-offer counts."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from docx import Document

from cli_runs import run_main
from kyodo_analysis.group_work import ask_offer_contrast, group_theme_shares, tally_beside_questionnaire
from kyodo_analysis.input.survey import load_questionnaire, load_questionnaires
from kyodo_analysis.input.worksheets import BAD_COUNT, DUPLICATE_GROUP, MISSING_GROUP, split_statements
from kyodo_analysis.rules.load import load_rules
from kyodo_analysis.rules.tag import tag_comments
from workbooks import write_xlsx

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "raw" / "sample_2019_worksheet.xlsx"
HEADER = ["グループ", "市民人数", "職員人数", "思う 人数", "思わない 人数", "どちらとも言えない 人数",
          "「協働したい」と思いますか（理由）", "協働の相手先に求めるものは何ですか", "自分たちができることは何ですか"]


@pytest.mark.parametrize("cell, expected", [
    ("・情報を公開する\n・対等な立場で話す", ["情報を公開する", "対等な立場で話す"]),
    ("● 顔の見える関係\n● 定期的な会議", ["顔の見える関係", "定期的な会議"]),
    ("● 顔の見える関係　● 定期的な会議", ["顔の見える関係", "定期的な会議"]),
    ("1. 目的をそろえる\n2. ふりかえる\n（3）予算を確保する", ["目的をそろえる", "ふりかえる", "予算を確保する"]),
    ("①情報の公開②役割分担\n③話し合いの場", ["情報の公開", "役割分担", "話し合いの場"]),
    ("情報共有\n\n信頼関係を築く", ["情報共有", "信頼関係を築く"]),
    ("・長い意見が\n  折り返されて続く\n・次の意見", ["長い意見が折り返されて続く", "次の意見"]),
    ("②の意見が多かった。①新しい発想②人手を補う", ["②の意見が多かった。", "新しい発想", "人手を補う"]),
    ("予算は1.5倍にしてほしい", ["予算は1.5倍にしてほしい"]),
    ("市民・職員が一緒に考える", ["市民・職員が一緒に考える"]),
])
def test_cells_are_split_into_statements(cell: str, expected: list[str]) -> None:
    assert split_statements(cell) == expected


def test_the_sample_worksheet_has_twelve_groups_and_every_statement() -> None:
    survey = load_questionnaire(SAMPLE)
    assert survey.problems == []
    assert survey.respondents.empty  # groups are never respondents
    assert len(survey.groups) == 12
    assert survey.groups["work_group"].tolist() == [str(n) for n in range(1, 13)]  # 「4班」 read as 4
    assert set(survey.groups["fiscal_year"]) == {2019}
    counts = survey.statements.groupby("question_key").size().to_dict()
    # Counted from tools/sample_data/worksheet_2019.py: 2 statements per group for 問2 and 問3,
    # 問1's reasons 1 to 3 per group.
    assert counts == {"ask": 24, "offer": 24, "intent": 16}
    first = survey.statements[survey.statements["work_group"] == "2"]
    assert first[first["question_key"] == "ask"]["cell"].tolist() == ["H5", "H5"]
    assert int(survey.groups["members"].sum()) == 53


def _sheet(rows: list[list[object]]) -> dict[str, list[list[object]]]:
    return {"グループワーク": [["2019年度 グループワーク"], HEADER, *rows]}


def test_a_worksheet_beside_the_questionnaire_leaves_its_counts_alone(tmp_path: Path) -> None:
    questionnaire = [["区分", "協働したいと思いますか", "理由"], ["市民", "思う", "地域のため"], ["職員", "思わない", "忙しい"]]
    path = write_xlsx(tmp_path / "2019.xlsx", {"回答": questionnaire,
                                                **_sheet([[1, 2, 2, 3, 0, 1, "・理由", "・情報の公開", "・会議に出る"]])})
    survey = load_questionnaire(path)
    assert survey.problems == []
    assert len(survey.respondents) == 2 and len(survey.comments) == 2
    assert len(survey.groups) == 1 and len(survey.statements) == 3
    tally = tally_beside_questionnaire(survey.groups, survey.respondents).set_index("answer")
    assert tally.loc["思う", "worksheet_people"] == 3 and tally.loc["思う", "questionnaire_people"] == 1
    assert tally.loc["思わない", "questionnaire_people"] == 1


def test_merged_group_number_over_rows_is_one_group(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_xlsx(tmp_path / "2019_ws.xlsx", _sheet([
        [1, 3, 2, 4, 0, 1, "地域のため", "情報の公開", "会議に出る"],
        [None, None, None, None, None, None, None, "対等な関係", "発信する"],
        [2, 2, 2, 3, 1, 0, None, "信頼", "ふりかえる"],
    ]))
    book = load_workbook(path)
    book["グループワーク"].merge_cells("A3:A4")
    book.save(path)
    survey = load_questionnaire(path)
    assert survey.problems == []
    assert survey.groups["work_group"].tolist() == ["1", "2"]
    assert survey.statements[survey.statements["work_group"] == "1"]["text"].tolist() == [
        "地域のため", "情報の公開", "会議に出る", "対等な関係", "発信する"]


def test_a_tally_that_does_not_match_the_group_is_a_note(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "2019_ws.xlsx", _sheet([[1, 3, 2, 2, 0, 1, "・a", "・b", "・c"]]))
    survey = load_questionnaire(path)
    assert survey.problems == []
    assert any("グループ 1" in n and "3 人" in n and "5 人" in n for n in survey.notes)
    assert int(survey.groups.loc[0, "tally_思う"]) == 2  # kept as written


@pytest.mark.parametrize("rows, code, cell", [
    ([[1, 3, 2, 4, 0, 1, "a", "b", "c"], [None, 2, 2, 4, 0, 0, "d", "e", "f"]], MISSING_GROUP, "A4"),
    ([[1, 3, 2, 4, 0, 1, "a", "b", "c"], ["1班", 2, 2, 4, 0, 0, "d", "e", "f"]], DUPLICATE_GROUP, "A4"),
    ([[1, 3, 2, "4人", 0, 1, "a", "b", "c"]], BAD_COUNT, "D3"),
    ([[1, "three", 2, 4, 0, 1, "a", "b", "c"]], BAD_COUNT, "B3"),
])
def test_bad_worksheets_name_the_cell_and_exit_1(tmp_path: Path, capsys, rows, code: str, cell: str) -> None:
    path = write_xlsx(tmp_path / "2019_ws.xlsx", _sheet(rows))
    survey = load_questionnaire(path)
    assert [(p.code, p.sheet, p.cell) for p in survey.problems] == [(code, "グループワーク", cell)]
    exit_code, out, err = run_main(["validate", path], capsys)
    assert exit_code == 1
    assert f"グループワーク!{cell}" in out + err
    assert "Traceback" not in out + err


def test_a_questionnaire_with_a_number_column_is_not_a_worksheet(tmp_path: Path) -> None:
    # No. heads respondent IDs too; a free-text question about what one asks of the city stays a comment.
    rows = [["No.", "区分", "協働したいと思いますか", "行政に求めるもの"], [1, "市民", "思う", "情報の公開"]]
    survey = load_questionnaire(write_xlsx(tmp_path / "2019.xlsx", {"市民": [r[:1] + r[2:] for r in rows],
                                                                     "回答": rows}))
    assert survey.groups.empty and survey.statements.empty
    assert len(survey.comments) == 2


def test_shares_are_per_group_with_n_stated() -> None:
    survey = load_questionnaire(SAMPLE)
    rules = load_rules()
    tagged = tag_comments(survey.statements, rules=rules)
    shares = group_theme_shares(tagged, survey.groups, themes=rules.names)
    assert set(shares["n_groups"]) == {12}
    # A group with two statements on one theme counts once.
    for (key, theme), part in shares.groupby(["question_key", "theme"]):
        raised = tagged[(tagged["question_key"] == key) & tagged["themes"].map(lambda t, th=theme: th in t)]
        assert int(part["groups"].iloc[0]) == raised["work_group"].nunique()
    contrast = ask_offer_contrast(shares).set_index("theme")
    assert (contrast["ask_share"] == contrast["ask_groups"] / 12).all()
    assert contrast.loc["信頼関係", "ask_groups"] > contrast.loc["信頼関係", "offer_groups"]


def test_report_shows_the_worksheet_figure_tables_and_chapter_section(tmp_path: Path, capsys) -> None:
    questionnaire = ROOT / "data" / "raw" / "sample_2019_forms.xlsx"
    folder = tmp_path / "raw"
    folder.mkdir()
    for source in (questionnaire, SAMPLE):
        (folder / source.name).write_bytes(source.read_bytes())
    exit_code, out, err = run_main(["report", folder, "--out", tmp_path / "reports"], capsys)
    assert exit_code == 0, out + err
    reports = tmp_path / "reports"
    assert {p.suffix for p in (reports / "figures").glob("2019_group_ask_offer.*")} == {".png", ".svg", ".pdf"}
    table = pd.read_csv(reports / "tables" / "2019_group_ask_offer.csv")
    assert set(table["グループ数"]) == {12}
    tally = pd.read_csv(reports / "tables" / "2019_group_intent_tally.csv").set_index("回答")
    assert tally.loc["思う", "ワークシートの人数"] == 40  # summed from the sample's 思う column
    html = (reports / "index.html").read_text("utf-8")
    assert "グループが挙げたテーマ" in html and "別の集計" in html
    document = Document(str(reports / "report.docx"))
    texts = [p.text for p in document.paragraphs]
    assert "グループごとの意見" in texts
    assert "グループ 12" in texts
    assert "自分たちの考えをまとめてから話し合いに臨む" in texts
    # The groups' 問1 head counts are shown beside the questionnaire's, never added to them.
    assert any("思う40人" in t and "アンケートでは思う30人" in t for t in texts)


def test_process_writes_the_worksheet_tables_and_removes_its_own_stale_ones(tmp_path: Path) -> None:
    from kyodo_analysis.input.survey import write_processed

    out = tmp_path / "processed"
    written = write_processed(load_questionnaire(SAMPLE), out)
    assert {p.name for p in written} >= {"worksheet_groups.csv", "worksheet_statements.csv"}
    assert len(pd.read_csv(out / "worksheet_statements.csv", encoding="utf-8-sig")) == 64
    (out / "notes.csv").write_text("mine", encoding="utf-8")
    plain = write_xlsx(tmp_path / "2019.xlsx", {"回答": [["区分", "協働したいと思いますか"], ["市民", "思う"]]})
    write_processed(load_questionnaire(plain), out)
    assert not (out / "worksheet_groups.csv").exists() and not (out / "worksheet_statements.csv").exists()
    assert (out / "notes.csv").read_text(encoding="utf-8") == "mine"
