"""Whatever lands in the data cells of a valid questionnaire, loading never raises and never loses a row.

Every non-blank data row ends up either as a respondent or named in a problem (or, when it
repeats the header, in a note).
"""
from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workbooks import CANONICAL_HEADER, canonical, write_csv

from kyodo_analysis.normalize import is_blank
from kyodo_analysis.questionnaire import load_questionnaire

BASE = [[1, "NPO", "みどりの輪", "思う", "顔が見える関係が大事。", None],
        [2, "職員", "環境政策課", "思わない", "人手が足りない。", "分かりやすかった"],
        [3, "自治会", "本町町内会", None, None, None],
        [4, "企業", "まちづくり会社", "どちらとも言えない", "予算の制約がある。", None]]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
answers = st.sampled_from(["思う", "思わない", "どちらとも言えない", "市民", "職員", "その他", "○", "区分", "回答者ID"])
values = st.one_of(
    texts, answers, st.none(), st.booleans(),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    st.datetimes(min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2099, 12, 31)),
    st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2099, 12, 31)),
)
edits = st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, len(CANONICAL_HEADER) - 1), values),
                 max_size=12)

_ILLEGAL_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _as_excel_saves(value):
    """Excel keeps control characters in text as _xHHHH_ (and a literal "_x" as _x005F_x)."""
    if not isinstance(value, str):
        return value
    value = value.replace("_x", "_x005F_x")
    return _ILLEGAL_IN_XML.sub(lambda m: f"_x{ord(m[0]):04X}_", value)


def _apply(edits_):
    rows = [list(row) for row in BASE]
    for r, c, value in edits_:
        rows[r][c] = value
    return rows


def _check_nothing_lost(survey, rows, first_row: int) -> None:
    problem_rows = {int(re.sub(r"^[A-Z]+", "", p.cell)) for p in survey.problems
                    if p.cell and re.fullmatch(r"[A-Z]+\d+", p.cell)}
    noted = {int(m[1]) for note in survey.notes for m in [re.search(r"(\d+)行目: 見出し行の繰り返し", note)] if m}
    counted = set(survey.respondents["row"])
    for index, row in enumerate(rows):
        number = first_row + index
        answers_ = [v for c, v in enumerate(row) if c != 0]  # a row with only an id is an unused form row
        if all(is_blank(v) or (isinstance(v, str) and not v.strip()) for v in answers_):
            continue
        assert number in counted | problem_rows | noted, (number, row, [str(p) for p in survey.problems])
    assert len(survey.respondents) == len(counted)  # one respondent per row, never duplicated


@SETTINGS
@given(edits)
def test_any_values_in_a_workbook_load_or_are_reported(edits_):
    rows = _apply(edits_)
    with tempfile.TemporaryDirectory() as folder:
        path = canonical(Path(folder) / "2017.xlsx", [[_as_excel_saves(v) for v in row] for row in rows])
        survey = load_questionnaire(path)
    _check_nothing_lost(survey, rows, first_row=4)  # canonical(): title, blank, header on row 3
    for text in survey.comments["text"]:
        assert not _ILLEGAL_IN_XML.search(text), text


@SETTINGS
@given(edits)
def test_any_values_in_a_csv_load_or_are_reported(edits_):
    rows = [[None if v is None else str(v) for v in row] for row in _apply(edits_)]
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "2017.csv", [CANONICAL_HEADER, *rows])
        survey = load_questionnaire(path)
    _check_nothing_lost(survey, [[None if v == "" else v for v in row] for row in rows], first_row=2)
    for text in survey.comments["text"]:
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text), text
