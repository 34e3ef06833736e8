"""Codebook: inferred TOML, reading it back, explicit entries winning, coded problems."""
from __future__ import annotations

from pathlib import Path

from kyodo_analysis.input.codebook import (
    BAD_ENTRY, MISSING_COLUMN, OUT_OF_OPTIONS, SYNTAX, UNKNOWN_ROLE,
    apply_codebook, check_values, codebook_text, load_codebook, merge_roles, missing_columns, read_codebook,
)
from kyodo_analysis.input.roles import infer_roles

HEADERS = ["ID", "開始時刻", "メール", "名前", "区分", "協働したいと思いますか", "講演の満足度", "年代",
           "何で知りましたか", "理由"]
COLUMNS = [
    [1, 2, 3], [None, None, None], ["a@b.jp", "c@d.jp", "e@f.jp"], ["鈴木", "佐藤", "田中"],
    ["市民", "職員", "市民"], ["思う", "思わない", "思う"], ["満足", "ふつう", "満足"],
    ["20代", "30代", "20代"], ["広報, チラシ", "チラシ", "広報"],
    ["学びが多い", "時間が短い", "また来たい"],
]


def _roles():
    return infer_roles(HEADERS, COLUMNS)


def test_round_trip_is_byte_identical(tmp_path: Path) -> None:
    text = codebook_text(_roles())
    path = tmp_path / "codebook.toml"
    path.write_text(text, encoding="utf-8")
    codebook, problems = load_codebook(path)
    assert problems == []
    applied = apply_codebook(_roles(), codebook)
    assert codebook_text(applied) == text
    assert [(c.role, c.question, c.options, c.scale) for c in applied] == [
        (c.role, c.question, c.options, c.scale) for c in _roles()
    ]


def test_explicit_entry_wins_over_inference() -> None:
    text = codebook_text(_roles()).replace(
        'header = "年代"\nrole = "attribute"', 'header = "年代"\nrole = "single_choice"'
    ).replace('question = "講演の満足度"', 'question = "講演"')
    codebook, problems = read_codebook(text, "codebook.toml")
    assert problems == []
    applied = {c.header: c for c in apply_codebook(_roles(), codebook)}
    assert applied["年代"].role == "single_choice"
    assert applied["年代"].options == ("20代", "30代")
    assert applied["講演の満足度"].question == "講演"
    assert applied["講演の満足度"].source == "codebook"


def test_unknown_role_names_its_line() -> None:
    text = '[[column]]\nheader = "年代"\nrole = "age"\n'
    _, problems = read_codebook(text, "cb.toml")
    assert [(p.code, p.line) for p in problems] == [(UNKNOWN_ROLE, 3)]


def test_bad_toml_names_its_line() -> None:
    _, problems = read_codebook('[[column]]\nheader = "年代"\nrole = \n', "cb.toml")
    assert [(p.code, p.line) for p in problems] == [(SYNTAX, 3)]


def test_bad_entries_are_problems() -> None:
    text = ('[[column]]\nrole = "rating"\n\n[[column]]\nheader = "A"\nrole = "rating"\noptions = "x"\n\n'
            '[[column]]\nheader = "B"\nrole = "free_text"\ncolour = 1\n')
    _, problems = read_codebook(text, "cb.toml")
    assert [(p.code, p.line) for p in problems] == [(BAD_ENTRY, 1), (BAD_ENTRY, 7), (BAD_ENTRY, 12)]


def test_codebook_column_not_in_any_file() -> None:
    text = codebook_text(_roles()) + '[[column]]\nheader = "性別"\nrole = "attribute"\n'
    codebook, _ = read_codebook(text, "cb.toml")
    problems = missing_columns(codebook, HEADERS)
    assert len(problems) == 1
    assert problems[0].code == MISSING_COLUMN
    assert problems[0].line == text.splitlines().index('header = "性別"')  # the [[column]] line, 1-based


def test_out_of_scale_value_names_its_cell() -> None:
    rating = _roles()[6]
    problems = check_values(rating, ["満足", "最高", None, "不満"], file="a.xlsx", sheet="回答",
                            column_number=7, first_row=2)
    assert [(p.code, p.sheet, p.cell) for p in problems] == [(OUT_OF_OPTIONS, "回答", "G3")]


def test_multiple_choice_checks_each_part() -> None:
    multi = _roles()[8]
    problems = check_values(multi, ["広報, テレビ", "チラシ;広報"], file="f.csv", sheet="f",
                            column_number=9, first_row=2)
    assert [p.cell for p in problems] == ["I2"]


def test_merge_roles_unions_options_across_sheets() -> None:
    first = infer_roles(["会場"], [["A棟", "A棟"]])
    second = infer_roles(["会場"], [["B棟", "B棟"]])
    assert merge_roles([first, second])[0].options == ("A棟", "B棟")
