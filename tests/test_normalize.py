import datetime as dt
import tomllib
from importlib import resources

import pytest

from kyodo_analysis.input.layout import NO_ANSWER, default_vocabulary, load_vocabulary, match_key
from kyodo_analysis.input.years import fiscal_year_from_text, fiscal_year_from_value, fiscal_year_readings, fiscal_year_of

VALUES = tomllib.loads((resources.files("kyodo_analysis") / "data" / "values.toml").read_text("utf-8"))


def test_match_key_folds_width_space_case_and_trailing_punctuation():
    assert match_key("　思う。") == "思う"
    assert match_key("ＮＰＯ") == "npo"
    assert match_key("問１　協働したいと思いますか？") == "問1協働したいと思いますか"
    assert match_key("No.") == "no"


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("思う", "思う"), ("はい", "思う"), ("したい", "思う"), ("協働したい", "思う"), ("協働したほうがいい", "思う"),
     ("思わない", "思わない"), ("いいえ", "思わない"), ("したくない", "思わない"), ("協働したくない", "思わない"),
     ("どちらとも言えない", "どちらとも言えない"), ("どちらともいえない", "どちらとも言えない"), ("迷う", "どちらとも言えない"),
     (" 思う。", "思う"), ("思う！", "思う"), ("いいえ.", "思わない"), ("", NO_ANSWER), ("　", NO_ANSWER), (None, NO_ANSWER)],
)
def test_answer_spellings(typed, answer):
    assert default_vocabulary().answer(typed) == answer


def test_every_spelling_in_the_table_is_recognised():
    vocab = default_vocabulary()
    for answer, spellings in VALUES["answers"].items():
        assert {vocab.answer(s) for s in spellings} == {answer}
    for group, spellings in VALUES["groups"].items():
        assert {vocab.group(s) for s in spellings} == {group}


@pytest.mark.parametrize("typed", ["思うかも", "たぶん", "〇", "2"])
def test_unknown_answers_are_not_guessed(typed):
    assert default_vocabulary().answer(typed) is None


@pytest.mark.parametrize(
    ("typed", "group"),
    [("市民", "市民"), ("市民活動団体", "市民"), ("団体", "市民"), ("NPO", "市民"), ("ＮＰＯ", "市民"), ("企業", "市民"),
     ("地域コミュニティ", "市民"), ("自治会", "市民"), ("町会", "市民"), ("職員", "職員"), ("市職員", "職員"),
     ("区職員", "職員"), ("行政", "職員"), ("見学者", "その他"), ("その他", "その他"), ("学生", None)],
)
def test_group_spellings(typed, group):
    assert default_vocabulary().group(typed) == group


@pytest.mark.parametrize(
    ("header", "role"),
    [("区分", "group"), ("属性", "group"), ("立場", "group"), ("参加区分", "group"),
     ("問１　協働したいと思いますか？", "intent"), ("協働したいですか", "intent"), ("問1", "intent"), ("Ｑ１", "intent"),
     ("回答者ID", "respondent_id"), ("No.", "respondent_id"), ("番号", "respondent_id"), ("ID", "respondent_id"),
     ("所属", "affiliation"), ("団体名", "affiliation"), ("課名", "affiliation"),
     ("思う", "mark:思う"), ("思わない", "mark:思わない"), ("どちらとも言えない", "mark:どちらとも言えない"),
     ("理由", "text"), ("その理由", "text"), ("問1の理由", "text"), ("問10", "text"), ("講演について", "text")],
)
def test_header_roles(header, role):
    assert default_vocabulary().header_role(header) == role


@pytest.mark.parametrize(
    ("header", "label"),
    [("理由", "理由"), ("その理由", "理由"), ("講演について", "講演"), ("ワークショップについて", "ワークショップ"),
     ("その他ご意見", "その他ご意見")],
)
def test_question_labels(header, label):
    assert default_vocabulary().question_label(header) == label


@pytest.mark.parametrize(
    ("text", "year"),
    [("平成29年7月25日", 2017), ("開催日：平成29年7月25日（火）", 2017), ("令和元年度", 2019), ("令和元年10月5日", 2019),
     ("R1", 2019), ("H29", 2017), ("平成29年度", 2017), ("2017年度", 2017), ("2017/7/25", 2017),
     ("平成30年2月10日", 2017), ("2018年3月31日", 2017), ("2018年4月1日", 2018), ("R2.1.15", 2019),
     ("sample_H27", 2015), ("2016_アンケート", 2016), ("令和元", 2019), ("平成29", 2017), ("ＨＲ", None), ("アンケート", None)],
)
def test_fiscal_year_from_text(text, year):
    assert fiscal_year_from_text(text) == year


def test_fiscal_year_from_cell_values():
    assert fiscal_year_from_value(dt.datetime(2018, 1, 20)) == 2017
    assert fiscal_year_from_value(dt.date(2018, 4, 1)) == 2018
    assert fiscal_year_from_value(2017) == 2017
    assert fiscal_year_from_value(7) is None
    assert fiscal_year_of(dt.date(2020, 3, 31)) == 2019


def test_an_analyst_can_add_a_spelling(tmp_path):
    values = tmp_path / "values.toml"
    text = (resources.files("kyodo_analysis") / "data" / "values.toml").read_text("utf-8")
    values.write_text(text.replace('"迷う"]', '"迷う", "わからない"]'), encoding="utf-8")
    assert default_vocabulary().answer("わからない") is None
    assert load_vocabulary(values=values).answer("わからない") == "どちらとも言えない"


@pytest.mark.parametrize(
    ("header", "role"),
    [("Q1-2 講演の感想", "text"), ("問1-2", "text"), ("問1(2)", "text"), ("問１（２）", "text"), ("問1の2", "text"),
     ("Q1.2", "text"), ("問1①", "text"), ("問1-ア", "text"), ("Ｑ１－２", "text"), ("q1a", "text"),
     ("Q1. 協働したいですか", "intent"), ("問1 あなたは協働したいと思いますか", "intent"), ("Q1：協働について", "intent")],
)
def test_sub_questions_of_question_1_are_not_the_intent(header, role):
    assert default_vocabulary().header_role(header) == role


def test_a_header_kept_out_of_the_intent_by_a_word_is_explained():
    vocab = default_vocabulary()
    assert vocab.header_role("問1 協働したいと思いますか？（理由も）") == "text"
    assert vocab.near_role("問1 協働したいと思いますか？（理由も）") == ("intent", "理由")
    assert vocab.near_role("講演について") is None


@pytest.mark.parametrize(
    ("text", "year"),
    [("平成30年2月", 2017), ("2018年2月", 2017), ("H30.2", 2017), ("令和2年1月", 2019), ("2018/3", 2017),
     ("2018年4月", 2018), ("開催：平成31年3月", 2018), ("R2.1.15", 2019), ("20180210", 2017),
     # An explicit year beats a bare era letter; letters other than H and R, and out-of-range eras, are not years.
     ("2017_r2", 2017), ("2018年度_r1", 2018), ("ws2018_s1", 2018), ("S63", None), ("H45", None), ("R25", None),
     ("昭和63年", 1988), ("平成45年", None)],
)
def test_fiscal_year_from_year_months_and_explicit_years(text, year):
    assert fiscal_year_from_text(text) == year


def test_file_names_read_no_hyphenated_year_month():
    """In a file name 2018-2 may be part 2; in a cell 2018-2 is February 2018."""
    assert [r.fiscal_year for r in fiscal_year_readings("2018-2", file_name=True)] == [2018]
    assert [r.fiscal_year for r in fiscal_year_readings("2018-2")] == [2017]
    assert [(r.text, r.explicit) for r in fiscal_year_readings("2017_R2", file_name=True)] == [("2017", True), ("R2", False)]
