"""Whatever lands in the cells of a valid questionnaire, loading never raises and never loses a row.

The cells changed are the data cells, the title cell, the 概要 sheet and up to two header cells,
in the canonical layout (workbook, with or without 区分 merged down the form, and CSV) and in the
mark layout (思う／どちらとも言えない／思わない).

The accounting, for a sheet that is read: every data row with something typed in a column that
has a header (a pre-printed id alone does not count) is exactly one of

* counted as one respondent,
* reported in a problem naming one of its cells, and not counted, or
* noted as a repetition of the header row, or as a row of totals or notes under the table,

so rows in = respondents out + rows reported + rows noted, and no respondent comes from any other
row. A duplicate-id problem names a row that is also counted; it is counted once, as a respondent.
A sheet that is not read at all (a header cell made a column missing or repeated) is reported
as such, and then no respondent comes from it.
"""
from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from workbooks import CANONICAL_HEADER, MARK_HEADER, write_csv, write_xlsx

from kyodo_analysis.input.readers import clean_cell_text
from kyodo_analysis.input.layout import default_vocabulary, is_blank
from kyodo_analysis.input.survey import load_questionnaire

TITLE = "平成29年度 協働のまちづくりワークショップ"
BASE = [[1, "NPO", "みどりの輪", "思う", "顔が見える関係が大事。", None],
        [2, "職員", "環境政策課", "思わない", "人手が足りない。", "分かりやすかった"],
        [3, "自治会", "本町町内会", None, None, None],
        [4, "企業", "まちづくり会社", "どちらとも言えない", "予算の制約がある。", None],
        [5, None, None, None, None, None]]  # a pre-numbered row of an unused form
MARK_BASE = [[1, "A会", "○", None, None, "理由1"], [2, "B会", None, "レ", None, None],
             [3, "C会", None, None, None, None], [4, None, None, None, None, None]]
OVERVIEW = [["開催日", dt.datetime(2017, 7, 25)], ["会場", "市民会館"]]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
words = st.sampled_from(["思う", "思わない", "どちらとも言えない", "市民", "職員", "その他", "○", "区分", "回答者ID", "所属",
                         "団体名", "問1", "Q1-2", "協働したいと思いますか", "理由", "No.", "年度", "平成30年2月",
                         "2017_r2", "令和元年度", " ", "=1+1"])
values = st.one_of(
    texts, words, st.none(), st.booleans(),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    st.datetimes(min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2099, 12, 31)),
    st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2099, 12, 31)),
)
WIDTH = len(CANONICAL_HEADER)
assert len(MARK_HEADER) == WIDTH


def changes(height: int):
    """Edits of one layout: data cells, the title, the 概要 cells and at most two header cells."""
    return st.fixed_dictionaries({
        "data": st.lists(st.tuples(st.integers(0, height - 1), st.integers(0, WIDTH - 1), values), max_size=12),
        "header": st.lists(st.tuples(st.integers(0, WIDTH - 1), values), max_size=2),
        "title": st.one_of(st.just(TITLE), values),
        "overview": st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), values), max_size=3),
    })


_ILLEGAL_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _as_excel_saves(value):
    """Excel keeps control characters in text as _xHHHH_ (and a literal "_x" as _x005F_x)."""
    if not isinstance(value, str):
        return value
    value = value.replace("_x", "_x005F_x")
    return _ILLEGAL_IN_XML.sub(lambda m: f"_x{ord(m[0]):04X}_", value)


def _apply(base, header, edits):
    rows = [list(row) for row in base]
    for r, c, value in edits["data"]:
        rows[r][c] = value
    header = list(header)
    for c, value in edits["header"]:
        header[c] = value
    overview = [list(row) for row in OVERVIEW]
    for r, c, value in edits["overview"]:
        overview[r][c] = value
    return header, rows, overview


def _excel(rows):
    return [[_as_excel_saves(v) for v in row] for row in rows]


def _row_of(cell: str | None) -> int | None:
    return int(re.sub(r"^[A-Z]+", "", cell)) if cell and re.fullmatch(r"[A-Z]+\d+", cell) else None


def _as_read(value):
    """The value as the file gives it back: control characters are removed (so "\x1b" is blank)."""
    return clean_cell_text(value)[0] if isinstance(value, str) else value


def _check_accounting(survey, header, rows, first_row: int, *, workbook: bool = True) -> None:
    header_row = first_row - 1
    # A formula is what was written with a leading "=": text whose "=" only follows a removed control
    # character ("\x1f=0") is stored as text, never as a formula.
    formulas = [c for c, v in enumerate(header) if isinstance(v, str) and v.startswith("=") and len(v) > 1]
    header = [_as_read(v) for v in header]
    # A file refused as a whole (its only sheet taken for a 集計 sheet) is not read at all: the refusal
    # is the problem, and a 集計 sheet's own formulas are not reported one by one.
    refused = any(p.code == "no-answer-sheet" for p in survey.problems)
    if workbook and not refused:  # a header cell holding a formula never calculated is reported, and its column not read
        cells = {p.cell for p in survey.problems}
        assert all(f"{'ABCDEF'[c]}{header_row}" in cells for c in formulas), [str(p) for p in survey.problems]
        header = [None if c in formulas else v for c, v in enumerate(header)]
    rows = [[_as_read(v) for v in row] for row in rows]
    # A column missing or claimed twice is reported at the header row and the sheet is not read;
    # an untrustworthy header cell (a formula, an error value) is reported and the sheet still read.
    not_read = [p for p in survey.problems
                if (p.cell or "").endswith("行目") or p.message.startswith(("回答の見出し行", "回答のシートがありません"))
                or (_row_of(p.cell) == header_row and p.sheet != "概要" and not re.search(r"数式|エラー値", p.message))]
    if not_read:
        assert survey.respondents.empty, [str(p) for p in not_read]
        return
    vocab = default_vocabulary()
    columns = [c for c, v in enumerate(header) if not is_blank(v)]
    id_col = next((c for c in columns if vocab.header_role(header[c]) == "respondent_id"), None)
    last_row = first_row + len(rows) - 1
    # What a person typed: a merged block's copies are empty in ``rows``, as in the file.
    rows_in = {first_row + i for i, row in enumerate(rows)
               if any(not is_blank(row[c]) for c in columns if c != id_col)}
    counted = list(survey.respondents["row"])
    reported = {r for p in survey.problems if (r := _row_of(p.cell)) is not None and first_row <= r <= last_row}
    noted = {int(m[1]) for note in survey.notes
             for m in [re.search(r"(\d+)行目: (?:見出し行の繰り返し|「.*」の行は表の下の合計・備考の行)", note)] if m}
    assert len(counted) == len(set(counted)), counted  # one respondent per row, never duplicated
    assert set(counted) <= rows_in, (sorted(set(counted) - rows_in), rows)  # no phantom respondent
    assert not set(counted) & noted
    reported_only = reported - set(counted)
    # A row holding only an ID may still be reported (an uncalculated =0 formula there is a
    # problem worth showing); a refusal is never a wrong count, so it is allowed outside rows_in.
    # Likewise a row holding only an ID below a totals row may be noted with it.
    noted_in = noted & rows_in
    assert rows_in == set(counted) | (reported_only & rows_in) | noted_in, (rows, [str(p) for p in survey.problems])
    assert len(rows_in) == len(counted) + len(reported_only & rows_in) + len(noted_in)


def _check_texts(survey) -> None:
    for text in survey.comments["text"]:
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text), text


@SETTINGS
@given(changes(len(BASE)), st.booleans())
def test_any_values_in_a_workbook_load_or_are_reported(edits, merged):
    header, rows, overview = _apply(BASE, CANONICAL_HEADER, edits)
    if merged:  # 区分 merged down the whole form (B4:B8): the cells under the top one are empty
        for row in rows[1:]:
            row[1] = None
    with tempfile.TemporaryDirectory() as folder:
        # Title, blank row, header on row 3, as the canonical form.
        sheet = [[edits["title"]], [], header, *rows]
        path = write_xlsx(Path(folder) / "2017.xlsx", {"回答": _excel(sheet), "概要": _excel(overview)})
        if merged:
            workbook = load_workbook(path)
            workbook["回答"].merge_cells(f"B4:B{3 + len(rows)}")
            workbook.save(path)
        survey = load_questionnaire(path)
    _check_accounting(survey, header, rows, first_row=4)
    _check_texts(survey)


@SETTINGS
@given(changes(len(MARK_BASE)))
def test_any_values_in_the_mark_layout_load_or_are_reported(edits):
    header, rows, overview = _apply(MARK_BASE, MARK_HEADER, edits)
    with tempfile.TemporaryDirectory() as folder:
        sheet = [[edits["title"]], header, *rows]
        path = write_xlsx(Path(folder) / "H28.xlsx", {"市民": _excel(sheet), "概要": _excel(overview)})
        survey = load_questionnaire(path)
    _check_accounting(survey, header, rows, first_row=3)
    _check_texts(survey)


@SETTINGS
@given(changes(len(BASE)))
def test_any_values_in_a_csv_load_or_are_reported(edits):
    header, rows, _ = _apply(BASE, CANONICAL_HEADER, edits)
    as_text = [[None if v is None else str(v) for v in row] for row in [header, *rows]]
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "2017.csv", as_text)
        survey = load_questionnaire(path)
    header, *rows = [[None if v == "" else v for v in row] for row in as_text]
    _check_accounting(survey, header, rows, first_row=2, workbook=False)
    _check_texts(survey)
