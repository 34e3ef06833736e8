"""Column-role inference from headers and values."""
from __future__ import annotations

import datetime as dt

import pytest

from kyodo_analysis.input.roles import ROLES, default_scales, infer_role, infer_roles, question_name, split_multiple


@pytest.mark.parametrize(
    ("header", "values", "role"),
    [
        ("メール", ["taro@example.jp"], "personal"),
        ("名前", ["鈴木 太郎"], "personal"),
        ("Email", ["a@b.jp"], "personal"),
        ("ID", [1, 2], "id"),
        ("開始時刻", [dt.datetime(2019, 6, 1, 10, 0)], "metadata"),
        ("完了時刻", [dt.datetime(2019, 6, 1, 10, 5)], "metadata"),
        ("最終変更時刻", [None], "metadata"),
        ("タイムスタンプ", ["2019/06/01 10:00:00"], "metadata"),
        ("1. あなたの区分を教えてください", ["市民", "職員"], "group"),
        ("2. 協働したいと思いますか？", ["思う", "思わない"], "intent"),
        ("Q3. 年代", ["20代", "30代", "20代"], "attribute"),
        ("参加は何回目ですか", ["初めて", "2回目", "初めて"], "attribute"),
        ("問1の理由", ["楽しかった", "学びが多い"], "free_text"),
    ],
)
def test_header_gives_role(header: str, values: list[object], role: str) -> None:
    assert infer_role(header, values).role == role


def test_contact_values_make_a_column_personal() -> None:
    column = infer_role("ご意見", ["045-123-4567", "taro@example.jp", "よかった"])
    assert (column.role, column.source) == ("personal", "values")


def test_datetime_values_make_a_column_metadata() -> None:
    column = infer_role("列7", [dt.datetime(2019, 6, 1, 10, 0), "2019-06-01 10:05:00"])
    assert (column.role, column.source) == ("metadata", "values")


def test_known_scale_is_a_rating_in_scale_order() -> None:
    column = infer_role("講演の満足度", ["満足", "ふつう", "不満", "満足", "とても満足"])
    assert column.role == "rating"
    assert column.options == ("とても満足", "満足", "ふつう", "やや不満", "不満")
    assert column.scale == "satisfaction5"
    assert column.question == "講演の満足度"


def test_numbers_are_a_rating_only_with_a_rating_word() -> None:
    assert infer_role("満足度（5段階）", [5, 4, 3, 5]).role == "rating"
    assert infer_role("班", [1, 2, 1, 2]).role == "single_choice"


def test_joined_cells_are_multiple_choice() -> None:
    column = infer_role("4. 何で知りましたか", ["広報, チラシ", "チラシ", "知人;広報", "広報"])
    assert column.role == "multiple_choice"
    assert column.options == ("広報", "チラシ", "知人")
    assert column.question == "何で知りましたか"


def test_small_repeated_set_is_single_choice_and_varied_text_is_free_text() -> None:
    assert infer_role("会場", ["A棟", "B棟", "A棟"]).role == "single_choice"
    comments = ["とても学びが多かった", "時間が短いと感じた", "また参加したい"]
    assert infer_role("感想", comments).role == "free_text"


def test_attribute_options_follow_the_known_order() -> None:
    column = infer_role("年代", ["40代", "20代", "10代", "20代"])
    assert column.options == ("10代", "20代", "40代")


def test_every_column_gets_exactly_one_known_role() -> None:
    headers = ["ID", "開始時刻", "完了時刻", "メール", "名前", "区分", "協働したいと思いますか", "講演の満足度", "理由"]
    columns = [[1], [None], [None], ["a@b.jp"], ["鈴木"], ["市民"], ["思う"], ["満足", "不満"], ["楽しい"]]
    roles = infer_roles(headers, columns)
    assert len(roles) == len(headers)
    assert all(r.role in ROLES for r in roles)
    assert [r.role for r in roles] == [
        "id", "metadata", "metadata", "personal", "personal", "group", "intent", "rating", "free_text",
    ]


def test_split_multiple_and_question_name() -> None:
    assert split_multiple("広報, チラシ;知人") == ["広報", "チラシ", "知人"]
    assert question_name("Q3. 講演の満足度は？") == "講演の満足度は"
    assert question_name("1. あなたの区分") == "あなたの区分"


def test_scales_are_data() -> None:
    scales = default_scales()
    assert scales.find("satisfaction5") is not None
    assert all(s.neutral is None or s.neutral in s.options for s in scales.scales)


def test_repeated_comments_stay_free_text() -> None:
    repeated = ["対等な関係とは何かがよくわかった。", "事例の紹介がわかりやすかった。"] * 4
    assert infer_role("講演について", repeated).role == "free_text"
    assert infer_role("感想", repeated).role == "free_text"  # sentences are no options
    assert infer_role("講演の満足度", ["満足", "不満", "満足"]).role == "rating"


def test_a_choice_question_about_the_workshop_is_a_choice_not_a_comment():
    # 「ワークショップ」 names a free-text question, but 「何で知りましたか」 asks to pick: the values decide.
    picked = infer_role("このワークショップを何で知りましたか", ["広報誌", "チラシ", "広報誌", "知人から", "チラシ"])
    assert picked.role == "single_choice" and picked.options == ("広報誌", "チラシ", "知人から")
    written = infer_role("このワークショップを何で知りましたか", ["市の広報誌を見て、面白そうだと思いました。", "友人に誘われて来ました。"])
    assert written.role == "free_text"
    # A comment question whose short answers repeat stays a comment.
    assert infer_role("ワークショップについて", ["よかった", "よかった", "楽しかった", "よかった"]).role == "free_text"
