"""Turn raw questionnaire sheets into tidy respondents and comments, listing every problem."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter

from ..export import atomic_files, write_csv, write_xlsx
from .codebook import DEFAULT_NAME as CODEBOOK_FILE_NAME
from ..errors import check_code
from .codebook import Codebook, apply_codebook, check_values, missing_columns
from .layout import (
    GROUP_ORDER,
    HEADER_ROLES,
    INTENT_ORDER,
    NO_ANSWER,
    Vocabulary,
    cell_text,
    default_vocabulary,
    is_blank,
    match_key,
    quoted,
)
from .readers import RawBook, RawSheet, UnreadableFileError, printable, read_raw
from .roles import (
    CHOICE_ROLES,
    LOADER_ROLE,
    ColumnRole,
    column_role_of,
    infer_role,
    is_missing,
    loader_header_role,
    question_name,
    split_multiple,
)
from .safety import Password
from .worksheets import (
    EMPTY_WORKSHEET,
    WorksheetLayout,
    WorksheetPart,
    STATEMENT_COLUMNS,
    find_worksheet_header,
    group_frame,
    read_worksheet,
    statement_frame,
)
from .years import fiscal_year_from_text, fiscal_year_from_value, fiscal_year_readings

HEADER_SEARCH_ROWS = 20
OVERVIEW_SHEET = "概要"
# Labels whose neighbouring cell (or own text) states when the workshop took place.
_YEAR_LABELS = ("年度", "開催日", "実施日", "開催年度", "開催年月日")

RESPONDENT_COLUMNS = (
    "file", "sheet", "row", "fiscal_year", "respondent_id",
    "group", "group_detail", "affiliation", "intent",
)
COMMENT_COLUMNS = (
    "file", "sheet", "row", "cell", "fiscal_year", "respondent_id",
    "group", "intent", "question", "header", "text",
)


def _answer_list(vocab: Vocabulary) -> str:
    """The answers as messages list them: 思う／思わない／どちらとも言えない (values.toml's order)."""
    return "／".join(vocab.answer_choices)


def _group_list(vocab: Vocabulary) -> str:
    """The groups as messages list them: 市民／職員／その他."""
    return "／".join(vocab.group_order)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as precisely as possible."""

    file: str
    sheet: str | None
    cell: str | None
    message: str
    code: str = field(compare=False)  # stable kebab-case code, one of errors.CODES

    def __post_init__(self) -> None:
        check_code(self.code)

    @property
    def location(self) -> str:
        """Where the problem is, as a person would look it up: ``2017.xlsx 回答!C7`` (control characters escaped)."""
        file, sheet = printable(self.file), printable(self.sheet or "")
        if sheet and self.cell:
            return f"{file} {sheet}!{self.cell}"
        if sheet or self.cell:
            return f"{file} {sheet or self.cell}"
        return file

    def __str__(self) -> str:
        code = f"[{self.code}] " if self.code else ""
        return f"{self.location}: {code}{self.message}"


@dataclass
class Survey:
    """Tidy questionnaire data of one or more files, with the problems and notes found."""

    respondents: pd.DataFrame
    comments: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Choice, rating and attribute answers: one row per respondent × question (× chosen option).
    choices: pd.DataFrame = field(default_factory=lambda: _choice_frame([]))
    # Group worksheets: one row per workshop group, and one row per statement its members wrote together.
    groups: pd.DataFrame = field(default_factory=lambda: group_frame([]))
    statements: pd.DataFrame = field(default_factory=lambda: statement_frame([]))

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


@dataclass
class _Layout:
    header_row: int  # 1-based spreadsheet row
    roles: dict[int, str]  # 0-based column -> role
    headers: dict[int, object]
    two_row: bool = False  # a parent row over a child row (merged cells), read as one header
    dropped: frozenset[int] = frozenset()  # personal columns, never read
    column_roles: dict[int, ColumnRole] = field(default_factory=dict)  # choice, rating and attribute columns

    @property
    def data_start(self) -> int:
        """The first row below the header (two rows for a two-row header)."""
        return self.header_row + (2 if self.two_row else 1)

    def column(self, role: str) -> int | None:
        return next((c for c, r in self.roles.items() if r == role), None)

    def columns(self, role: str) -> list[int]:
        return [c for c, r in self.roles.items() if r == role]

    def repeated_roles(self) -> dict[str, list[int]]:
        """Roles (other than free text and the roles of roles.py) that more than one column claims, with their columns."""
        by_role: dict[str, list[int]] = {}
        for col, role in self.roles.items():
            if role != "text" and role not in _OTHER_ROLES:
                by_role.setdefault(role, []).append(col)
        return {role: cols for role, cols in by_role.items() if len(cols) > 1}

    def marks(self) -> dict[int, str]:
        return {c: r.removeprefix("mark:") for c, r in self.roles.items() if r.startswith("mark:")}

    def text_columns(self) -> list[int]:
        return [c for c, r in self.roles.items() if r == "text"]


# Column roles from roles.py that the loader reads apart from the intent layout (never as free text).
_OTHER_ROLES = frozenset({"personal", "metadata", "attribute", *CHOICE_ROLES})


def _refine_roles(name: str, sheet: RawSheet, layout: _Layout, vocab: Vocabulary,
                  codebook: Codebook | None = None) -> tuple[_Layout, list[str], list[Problem]]:
    """Give every column the vocabulary left as free text its role from roles.py (header, then values);
    a codebook entry for a column wins over both.

    Personal columns are dropped here: they are never read, and a note names them.
    """
    roles = dict(layout.roles)
    column_roles: dict[int, ColumnRole] = {}
    problems: list[Problem] = []
    for col, role in layout.roles.items():
        entry = codebook.entries.get(match_key(layout.headers[col])) if codebook is not None else None
        if entry is None and role != "text" and role not in _OTHER_ROLES:
            continue
        if entry is not None and entry.role == column_role_of(role) and role not in ("text", *_OTHER_ROLES):
            continue  # the codebook agrees with the header (区分, 問1, its marks, ID, answer time)
        rows = [r for r in range(layout.data_start, len(sheet.rows) + 1) if (r, col) not in sheet.merged]
        values = [_value(sheet.rows, r, col) for r in rows]
        found = infer_role(layout.headers[col], values, vocab=vocab)
        if entry is not None:
            [found] = apply_codebook([found], codebook)
            for problem in check_values(found, values, file=name, sheet=sheet.name or "",
                                        column_number=col + 1, first_row=layout.data_start):
                # check_values numbers rows from first_row; merged rows are left out of ``rows``.
                row = rows[int(problem.cell[len(get_column_letter(col + 1)):]) - layout.data_start]
                problems.append(Problem(name, sheet.name, _cell(row, col), problem.message, problem.code))
        roles[col] = LOADER_ROLE[found.role]
        if found.role in CHOICE_ROLES or (found.role == "free_text" and entry is not None):
            column_roles[col] = found
    personal = [c for c, r in roles.items() if r == "personal"]
    notes = []
    if personal:
        where = f"シート「{printable(sheet.name)}」の" if sheet.name else ""
        cells = "、".join(f"{_cell(layout.header_row, c)}「{printable(_text(layout.headers[c]).strip())}」" for c in personal)
        notes.append(f"{name}: {where}{cells} の列は個人情報（名前・連絡先など）とみなし、読み込まずに捨てました。")
    kept = {c: r for c, r in roles.items() if r != "personal"}
    return dataclasses.replace(layout, roles=kept, headers={c: layout.headers[c] for c in kept},
                               dropped=frozenset(personal), column_roles=column_roles), notes, problems


CHOICE_COLUMNS = (
    "file", "sheet", "row", "cell", "fiscal_year", "respondent_id", "group", "intent",
    "question", "role", "option", "order",
)


def _choice_rows(column: ColumnRole, value: object, where: dict) -> list[dict]:
    """The tidy rows of one answer to a choice, rating or attribute question (無回答 ordered last)."""
    head = dict(where, question=column.question, role=column.role)
    if is_missing(value):
        return [dict(head, option=NO_ANSWER, order=len(column.options))]
    rank = {match_key(o): (i, o) for i, o in enumerate(column.options)}
    text = _text(value).strip()
    parts = split_multiple(text) if column.role == "multiple_choice" else [text]
    rows = []
    for key in dict.fromkeys(match_key(p) for p in parts):
        if key in rank:  # inferred options hold every value; codebook options are checked before reading
            order, option = rank[key]
            rows.append(dict(head, option=option, order=order))
    return rows


def _choice_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(CHOICE_COLUMNS))
    return frame.astype({"row": "int64", "order": "int64"})


def _cell(row: int, col: int) -> str:
    return f"{get_column_letter(col + 1)}{row}"


def _text(value: object) -> str:
    """A cell value as the text a person sees in Excel (TRUE/FALSE, 123, ISO dates)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return cell_text(value)


def _value(rows: list[list[object]], row: int, col: int) -> object:
    values = rows[row - 1] if row <= len(rows) else []
    return values[col] if col < len(values) else None


def _find_header(sheet: RawSheet, vocab: Vocabulary, *, grouped: bool = False) -> _Layout | None:
    """Find the header row among the first rows: the first row that is recognisably a header.

    That is a row naming the intent (or its marks), or two known columns, or one plus a column
    that is the intent but for a word such as 理由 (so that the missing column can be reported).
    The first such row wins, because every row below it is read as an answer; looking further
    down could take answers (思う | 思わない) for a header and lose the rows above.
    Failing that, on a sheet named after a group (``grouped``, so no 区分 column is needed), a
    lone intent header; only then, since a lone cell is more often a title naming the question.
    """
    single = None
    for index, values in enumerate(sheet.rows[:HEADER_SEARCH_ROWS], start=1):
        # Copies of a merged header cell are not more columns of the same name.
        cells = {c: v for c, v in enumerate(values) if not is_blank(v) and (index, c) not in sheet.merged}
        roles = {c: loader_header_role(v, vocab) for c, v in cells.items()}
        layout = _Layout(index, roles, cells)
        if len(cells) < 2:
            # Usually a title row, which may well mention the question.
            if grouped and single is None and list(roles.values()) == ["intent"] and not _title_above(sheet, layout, vocab):
                single = layout
            continue
        known = [r for r in roles.values() if r in HEADER_ROLES or r.startswith("mark:")]
        if "intent" in known or len(layout.marks()) >= 2 or len(set(known)) >= 2:
            return layout
        if known and any((vocab.near_role(v) or ("",))[0] == "intent" for v in cells.values()):
            return layout
    return single


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _two_row_header(sheet: RawSheet, layout: _Layout, vocab: Vocabulary) -> _Layout:
    """Read a two-row header (a parent row with merged cells over a child row) as one, or return ``layout``.

    It is one when a header cell is merged down into the next row, or when the next row holds
    labels only under header cells merged across columns. Each column's header is then the
    parent joined with the child (「問1 協働したいと思いますか」 over 「思う」 is the 思う mark column).
    """
    r = layout.header_row
    if r >= len(sheet.rows):
        return layout
    parent_row, child_row = sheet.rows[r - 1], sheet.rows[r]
    down = any((r + 1, c) in sheet.merged and (r, c) not in sheet.merged and not is_blank(v)
               and v == parent_row[c] for c, v in enumerate(child_row) if c < len(parent_row))
    across = {c for c in range(len(parent_row)) if (r, c) in sheet.merged}
    across |= {c - 1 for c in across if c > 0 and (r, c - 1) not in sheet.merged}
    children = [c for c, v in enumerate(child_row) if not is_blank(v) and (r + 1, c) not in sheet.merged]
    if not down and not (across and children and all(c in across for c in children)):
        return layout
    roles: dict[int, str] = {}
    headers: dict[int, object] = {}
    for c in range(max(len(parent_row), len(child_row))):
        parent = parent_row[c] if c < len(parent_row) else None
        child = child_row[c] if c < len(child_row) and (r + 1, c) not in sheet.merged else None
        if is_blank(parent) and is_blank(child):
            continue
        if is_blank(child):
            headers[c], roles[c] = parent, vocab.header_role(parent)
        elif is_blank(parent):
            headers[c], roles[c] = child, vocab.header_role(child)
        else:
            headers[c] = f"{_text(parent).strip()} {_text(child).strip()}"
            child_role = vocab.header_role(child)
            roles[c] = child_role if child_role != "text" else vocab.header_role(headers[c])
    return _Layout(r, roles, headers, two_row=True)


def _is_tally(sheet: RawSheet, layout: _Layout, vocab: Vocabulary, named_tally: bool) -> bool:
    """Tell whether the answer columns under the header hold counts per option (a 集計 sheet), not answers."""
    intent = layout.column("intent")
    if intent is not None and layout.marks():
        # A 問1 column beside mark columns is a response sheet with a layout problem (reported
        # by _repeated_columns), never a tally: hiding it behind a note would lose its rows.
        return False
    options = list(layout.marks()) or ([intent] if intent is not None else [])
    counts = answers = 0
    many = False  # a number of 2 or more: a count, never a mark (0/1 coding has none)
    for row in range(layout.data_start, len(sheet.rows) + 1):
        for col in options:
            value = _value(sheet.rows, row, col)
            if is_blank(value):
                continue
            if _is_number(value) and not vocab.is_mark(value) and vocab.answer(value) is None:
                counts += 1
                many = many or value >= 2
            else:
                answers += 1
    # Formulas or a 集計-like name tip the balance only when counts are at least as many as
    # answers: one stray number among marked rows must be reported, not hide the whole sheet.
    return many and (counts > answers or (counts >= answers and bool(sheet.formulas or named_tally)))


def _title_above(sheet: RawSheet, layout: _Layout, vocab: Vocabulary) -> bool:
    """Tell whether a lone intent cell is a title: the next value below it names the intent again."""
    [col] = layout.roles
    below = (_value(sheet.rows, r, col) for r in range(layout.data_start, len(sheet.rows) + 1))
    value = next((v for v in below if not is_blank(v)), None)
    return value is not None and vocab.header_role(value) == "intent"


class _SheetReader:
    """Reads the respondents of one response sheet."""

    def __init__(self, name: str, sheet: RawSheet, layout: _Layout, group: str | None, vocab: Vocabulary):
        self.file = name
        self.sheet = sheet
        self.layout = layout
        self.sheet_group = group
        self.vocab = vocab
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.respondents: list[dict] = []
        self.comments: list[dict] = []
        self.choices: list[dict] = []
        self.id_cells: list[tuple[str, Problem]] = []
        self.footer_rows: list[tuple[int, str]] = []  # rows of totals or notes under the table
        self.answer_times: dict[int, str] = {}  # row -> a web form's answer time, to recognise copied rows

    def footer_label(self, row: int, values: dict[int, object], after_footer: bool) -> str | None:
        """What marks a row as totals or notes under the table rather than a respondent, or None.

        That is a 合計／計／備考 label as the row's first value, a row of counts (numbers only,
        one of them in an answer column that no answer reads as), or, below such a row, a row
        with nothing in the answer and 区分 columns (the rest of a note).
        """
        typed = [(c, v) for c, v in enumerate(self.sheet.rows[row - 1])
                 if not is_blank(v) and (row, c) not in self.sheet.merged]
        if not typed:
            return None
        if self.vocab.is_footer_label(typed[0][1]):
            return _text(typed[0][1]).strip()
        layout = self.layout
        id_col = layout.column("respondent_id")
        options = set(layout.marks()) | set(layout.columns("intent"))
        mine = [(c, v) for c, v in typed if c in layout.roles and c != id_col]
        if len(mine) >= 2 and all(_is_number(v) for _, v in mine) and any(
                c in options and not self.vocab.is_mark(v) and self.vocab.answer(v) is None for c, v in mine):
            return "（数だけの行）"
        if after_footer and all(is_blank(values.get(c)) for c in options | set(layout.columns("group"))):
            return _text(typed[0][1]).strip()[:20]
        return None

    def problem(self, cell: str | None, message: str, code: str) -> None:
        self.problems.append(Problem(self.file, self.sheet.name, cell, message, code))

    def read(self) -> None:
        layout = self.layout
        header_keys = {c: match_key(v) for c, v in layout.headers.items()}
        bad_cells = self.sheet.bad_cells
        after_footer = False
        for row in range(layout.data_start, len(self.sheet.rows) + 1):
            values = {c: _value(self.sheet.rows, row, c) for c in layout.roles}
            label = self.footer_label(row, values, after_footer)
            if label is not None:
                after_footer = True
                self.footer_rows.append((row, label))
                continue
            bad = [c for c in layout.roles if (row, c) in bad_cells]
            if bad:  # the row is reported, never read with a guessed value
                for c in bad:
                    code, message = bad_cells[(row, c)]
                    self.problem(_cell(row, c), message, code)
                continue
            if self.is_blank_row(row, values):
                continue
            if all(not is_blank(v) and match_key(v) == header_keys[c] for c, v in values.items()):
                self.notes.append(f"{self.file} {self.sheet.name or ''}{row}行目: 見出し行の繰り返しを読み飛ばしました。")
                continue
            self.read_row(row, values)

    def is_blank_row(self, row: int, values: dict[int, object]) -> bool:
        """Tell whether a row holds no answer: a blank row, or an unused row of a pre-printed form.

        A pre-printed id is not an answer, and neither is a value copied down from a merged cell
        (区分 merged over a whole block of rows shows in the unused rows too); only cells a person
        typed into make a respondent.
        """
        id_col = self.layout.column("respondent_id")
        return all(is_blank(v) or c == id_col or (row, c) in self.sheet.merged for c, v in values.items())

    def affiliation(self, values: dict[int, object]) -> str | None:
        """The affiliation, joining every affiliation column (所属 and 団体名) so that none is lost."""
        parts = [_text(values[c]).strip() for c in self.layout.columns("affiliation") if not is_blank(values[c])]
        return "／".join(parts) or None

    def read_row(self, row: int, values: dict[int, object]) -> None:
        layout = self.layout
        id_col = layout.column("respondent_id")
        respondent_id = None if id_col is None or is_blank(values[id_col]) else _text(values[id_col]).strip()
        if respondent_id is not None:  # a row with other problems still takes up its id
            self.id_cells.append((respondent_id, Problem(self.file, self.sheet.name, _cell(row, id_col), "", "duplicate-id")))
        before = len(self.problems)
        group, group_detail = self.read_group(row, values)
        intent = self.read_intent(row, values)
        if len(self.problems) > before:
            return
        record = {
            "file": self.file,
            "sheet": self.sheet.name or "",
            "row": row,
            "respondent_id": respondent_id,
            "group": group,
            "group_detail": group_detail,
            "affiliation": self.affiliation(values),
            "intent": intent,
        }
        self.respondents.append(record)
        times = [_text(values[c]).strip() for c in layout.columns("answered_at") if not is_blank(values[c])]
        if times:
            self.answer_times[row] = "／".join(times)
        for col, column in layout.column_roles.items():
            if column.role not in CHOICE_ROLES:
                continue
            self.choices.extend(_choice_rows(column, values[col], {
                "file": self.file, "sheet": record["sheet"], "row": row, "cell": _cell(row, col),
                "respondent_id": respondent_id, "group": group, "intent": intent,
            }))
        for col in layout.text_columns():
            # A comment merged over several cells is one comment, counted once (top-left cell).
            if is_blank(values[col]) or (row, col) in self.sheet.merged:
                continue
            self.comments.append({
                "file": self.file, "sheet": record["sheet"], "row": row, "cell": _cell(row, col),
                "respondent_id": record["respondent_id"], "group": group, "intent": intent,
                "question": (layout.column_roles[col].question if col in layout.column_roles
                             else self.vocab.question_label(layout.headers[col])),
                "header": cell_text(layout.headers[col]).strip(),
                "text": _text(values[col]).strip(),
            })

    def read_group(self, row: int, values: dict[int, object]) -> tuple[str | None, str | None]:
        col = self.layout.column("group")
        if col is None:
            return self.sheet_group, self.sheet_group
        value = values[col]
        if is_blank(value):
            self.problem(_cell(row, col), f"区分が空欄です — {_group_list(self.vocab)} のいずれか（NPO・企業・自治会なども可）を入れてください", "blank-group")
            return None, None
        group = self.vocab.group(value)
        if group is None:
            self.problem(_cell(row, col), f"「{_text(value)}」は区分（{_group_list(self.vocab)}）にありません", "unknown-group")
        return group, _text(value).strip()

    def read_intent(self, row: int, values: dict[int, object]) -> str | None:
        col = self.layout.column("intent")
        if col is not None:
            answer = self.vocab.answer(values[col])
            if answer is None:
                self.problem(_cell(row, col), f"「{_text(values[col])}」は選択肢（{_answer_list(self.vocab)}）にありません", "unknown-answer")
            return answer
        marked = []
        for mark_col, answer in self.layout.marks().items():
            value = values[mark_col]
            if is_blank(value):
                continue
            if not self.vocab.is_mark(value):
                self.problem(_cell(row, mark_col), f"「{_text(value)}」は印として読めません — ○ などの印を 1 つだけ付けてください", "unreadable-mark")
                return None
            marked.append((mark_col, answer, value))
        if len(marked) > 1:
            cells = "、".join(f"{_cell(row, c)}「{_text(v)}」" for c, _, v in marked)
            self.problem(_cell(row, marked[0][0]), f"印が {len(marked)} か所にあります（{cells}） — 1 つだけにしてください", "several-marks")
            return None
        return marked[0][1] if marked else INTENT_ORDER[-1]


@dataclass(frozen=True)
class _YearSource:
    """One place that states a fiscal year: a cell, a sheet name, the file name or --year."""

    year: int
    where: str  # as shown in messages: 概要!B1「2017」, シート名「平成30年度」, ファイル名「2018.xlsx」
    sheet: str | None = None
    cell: str | None = None


def _is_help_text(key: str) -> bool:
    """Tell whether a cell is help text of a template (「…例: 2017…」), never data."""
    return "例" in key or key.startswith(("※", "注"))


def _years_in_cells(sheet: RawSheet, last_row: int) -> list[_YearSource]:
    """Every fiscal year stated next to, or inside, a 年度 / 開催日 label in the rows down to ``last_row``."""
    found: list[_YearSource] = []
    prefix = f"{sheet.name}!" if sheet.name else ""
    for r, values in enumerate(sheet.rows[:last_row], start=1):
        for col, value in enumerate(values):
            if is_blank(value) or not isinstance(value, str) or (r, col) in sheet.merged:
                continue
            key = match_key(value)
            if _is_help_text(key):
                continue
            if key in _YEAR_LABELS:
                # The value sits in the next cell or the one after (a label merged over two cells);
                # help text further right is not the value.
                for c in range(col + 1, min(col + 3, len(values))):
                    neighbour = values[c]
                    if is_blank(neighbour) or (isinstance(neighbour, str) and match_key(neighbour) == key):
                        continue
                    if isinstance(neighbour, str) and _is_help_text(match_key(neighbour)):
                        break
                    year = fiscal_year_from_value(neighbour)
                    if year is not None:
                        found.append(_YearSource(year, f"{prefix}{_cell(r, c)}「{_text(neighbour).strip()}」",
                                                 sheet.name, _cell(r, c)))
                    break
            elif any(label in key for label in _YEAR_LABELS):
                year = fiscal_year_from_text(value)
                if year is not None:
                    found.append(_YearSource(year, f"{prefix}{_cell(r, col)}「{value.strip()[:40]}」",
                                             sheet.name, _cell(r, col)))
    return found


def _answer_time_years(sheet: RawSheet, layout: _Layout) -> list[_YearSource]:
    """The fiscal years of a web form's answer-time column (タイムスタンプ), one source for each year found."""
    found: dict[int, _YearSource] = {}
    for col in layout.columns("answered_at"):
        for row in range(layout.data_start, len(sheet.rows) + 1):
            value = _value(sheet.rows, row, col)
            year = None if is_blank(value) else fiscal_year_from_value(value)
            if year is not None and year not in found:
                prefix = f"{sheet.name}!" if sheet.name else ""
                found[year] = _YearSource(year, f"回答日時 {prefix}{_cell(row, col)}「{_text(value).strip()}」",
                                          sheet.name, _cell(row, col))
    return list(found.values())


def _sheet_name_year(sheet: RawSheet) -> _YearSource | None:
    """The year a sheet is named for (平成30年度, 令和元年度, 2019年度, R1), if it names exactly one."""
    if not sheet.name:
        return None
    readings = fiscal_year_readings(sheet.name, file_name=True)
    explicit = [r for r in readings if r.explicit]
    # A bare era letter (R1, H30) counts only when it is the whole name, as in a sheet named R1.
    if not explicit and not re.fullmatch(r"[HRhr]\s*\d{1,2}(年度?)?", unicodedata.normalize("NFKC", sheet.name).strip()):
        return None
    years = {r.fiscal_year for r in (explicit or readings)}
    if len(years) != 1:
        return None
    return _YearSource(years.pop(), f"シート名「{sheet.name}」", sheet.name, None)


def _conflict(name: str, a: _YearSource, b: _YearSource) -> Problem:
    return Problem(name, a.sheet, a.cell,
                   f"年度が食い違っています — {a.where} は {a.year} 年度、{b.where} は {b.year} 年度です。"
                   "どちらが正しいか確かめて、違う方を直してください", "year-conflict")


def _agreeing(name: str, sources: Sequence[_YearSource], problems: list[Problem]) -> tuple[int | None, bool]:
    """The one year all sources state (None if none), and False after reporting sources that disagree."""
    if not sources:
        return None, True
    first = sources[0]
    other = next((s for s in sources if s.year != first.year), None)
    if other is not None:
        problem = _conflict(name, first, other)
        if problem not in problems:
            problems.append(problem)
        return None, False
    return first.year, True


@dataclass
class _AnswerSheet:
    """An answer sheet that was read, with the years stated on it."""

    reader: _SheetReader
    own_years: list[_YearSource]
    fiscal_year: int | None = None

    @property
    def sheet_name(self) -> str:
        return self.reader.sheet.name or ""


@dataclass
class _GroupSheet:
    """A group worksheet that was read, with the years stated on it (decided like an answer sheet's)."""

    part: WorksheetPart
    sheet: RawSheet
    own_years: list[_YearSource]
    fiscal_year: int | None = None

    @property
    def sheet_name(self) -> str:
        return self.sheet.name or ""


def _decide_years(name: str, sheets: Sequence[_AnswerSheet | _GroupSheet], book_years: list[_YearSource], year: int | None,
                  problems: list[Problem], notes: list[str]) -> None:
    """Give each answer sheet its fiscal year, comparing every reading (cells, sheet names, file name, --year).

    Readings that disagree are a problem naming both. A workbook whose sheets are named for
    different years (平成30年度 and 令和元年度) gives each sheet its own year; the 概要 sheet and
    the file name must then name one of them. --year is used only where nothing else states a year.
    """
    named = {s.year for sheet in sheets for s in sheet.own_years if s.cell is None}
    several = len(named) > 1
    before = len(problems)
    by_name = _name_year(name, year, problems, notes)
    name_unclear = len(problems) > before  # the file name states two years: said already
    if several:
        for source in book_years + ([by_name] if by_name else []):
            if source.year not in named:
                shown = "・".join(f"{y} 年度" for y in sorted(named))
                problems.append(Problem(name, source.sheet, source.cell,
                    f"年度が食い違っています — {source.where} は {source.year} 年度ですが、シートは {shown} のものです。"
                    "どちらが正しいか確かめて、違う方を直してください", "year-conflict"))
    undecided: list[str] = []
    for sheet in sheets:
        sources = sheet.own_years if several and sheet.own_years else sheet.own_years + book_years
        stated, agree = _agreeing(name, sources, problems)
        if not agree:
            continue
        if stated is None and several:
            # A sheet without a year of its own in a workbook of several years: only the book can say.
            stated, agree = _agreeing(name, book_years, problems)
            if not agree:
                continue
        if stated is not None and by_name is not None and by_name.year != stated and not several:
            problem = _conflict(name, sources[0], by_name)
            if problem not in problems:  # the 概要 sheet is every sheet's source: say it once
                problems.append(problem)
            continue
        if stated is None and by_name is not None:
            stated, sources = by_name.year, [by_name]
        if year is not None:
            if stated is not None and stated != year:
                problem = _conflict(name, _YearSource(year, f"--year {year}"), sources[0])
                if problem not in problems:
                    problems.append(problem)
                continue
            stated = year
        if stated is None:
            undecided.append(sheet.sheet_name)
        sheet.fiscal_year = stated
    if undecided and not name_unclear:
        if several:
            shown = "」「".join(undecided)
            problems.append(Problem(name, None, None,
                f"シート「{shown}」の年度を決められません — このブックにはシートごとに年度がありますが、このシートには"
                "ありません。シート名を年度（例: 令和元年度）にするか、見出しより上に年度を書いてください", "year-unknown-sheet"))
        else:
            problems.append(Problem(name, None, None,
                "年度が分かりません — 「概要」シートか見出しより上の行に年度・開催日を書くか、"
                "ファイル名に年度（例: 2017、H29、R1）を入れるか、--year で指定してください", "year-unknown"))


def _name_year(name: str, year: int | None, problems: list[Problem], notes: list[str]) -> _YearSource | None:
    """The fiscal year a file name (and the folders it sits in) states, or None; a problem when it states two.

    A 4-digit year, a date or an era word (2017, 2018年2月, 平成29) is explicit; a bare H/R letter
    (H29, R1) is read only when nothing explicit is there, since in 2017_r2 it means "round 2".
    """
    readings = fiscal_year_readings(Path(name).with_suffix("").as_posix(), file_name=True)
    explicit = [r for r in readings if r.explicit]
    chosen = explicit or readings
    years = sorted({r.fiscal_year for r in chosen})
    if len(years) > 1 and year is not None:
        return None  # --year decides for a file whose name states two years
    if len(years) > 1:
        shown = "、".join(f"「{r.text}」は {r.fiscal_year} 年度" for r in chosen)
        problems.append(Problem(name, None, None,
            f"ファイル名から年度を決められません（{shown}） — ファイル名を直すか、"
            "「概要」シートに年度を書くか、--year で指定してください", "year-ambiguous-name"))
        return None
    if not years:
        return None
    ignored = [r.text for r in readings if not r.explicit and r.fiscal_year != years[0]]
    if explicit and ignored:
        used = "・".join(dict.fromkeys(r.text for r in explicit))
        notes.append(f"{name}: ファイル名の「{'」「'.join(ignored)}」は年度とみなさず、「{used}」から {years[0]} 年度としました"
                     "（違うときは --year で指定してください）。")
    return _YearSource(years[0], f"ファイル名「{name}」")


def _frames(respondents: list[dict], comments: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the two tidy frames with stable columns and dtypes, even when empty."""
    resp = pd.DataFrame(respondents, columns=list(RESPONDENT_COLUMNS))
    comm = pd.DataFrame(comments, columns=list(COMMENT_COLUMNS))
    return _with_dtypes(resp), _with_dtypes(comm)


def _duplicate_ids(name: str, readers: Sequence[_SheetReader]) -> list[Problem]:
    """Report every respondent id used again within the sheet that numbered it, naming both cells.

    Sheets (and files) number their respondents independently (each group's sheet from 1), so
    the same id on two sheets is two people; a copied file is caught by its rows instead.
    """
    problems = []
    for reader in readers:
        first: dict[str, Problem] = {}
        for respondent_id, where in reader.id_cells:
            key = match_key(respondent_id)
            if key not in first:
                first[key] = where
                continue
            problems.append(Problem(where.file, where.sheet, where.cell,
                f"回答者ID「{respondent_id}」がシートの中で重複しています（{first[key].location} と同じ）", "duplicate-id"))
    return problems


_ROLE_NOTES = {
    "legend": "凡例・記入例のシート",
    "notes": "メモ・備考のシート",
    "group_worksheet": "グループワークのシート（集計の対象外）",
    "tally": "集計（選択肢ごとの人数）のシート",
}


_Place = tuple[str, str, int]  # file, sheet, row of a respondent


def _read_book(book: RawBook, year: int | None, vocab: Vocabulary, name: str | None = None,
               codebook: Codebook | None = None,
               headers_seen: list[object] | None = None) -> tuple[Survey, dict[_Place, str]]:
    """Read one file: give every sheet a role, read the answer sheets, decide each sheet's fiscal year."""
    name = printable(name or book.path.name)
    headers_seen = [] if headers_seen is None else headers_seen
    problems: list[Problem] = []
    notes: list[str] = []
    answer_sheets: list[_AnswerSheet] = []
    group_sheets: list[_GroupSheet] = []
    skipped: list[str] = []  # sheets recognised as something other than answers
    book_years: list[_YearSource] = []
    has_content = False  # anything typed outside the 概要 sheet
    for sheet in book.sheets:
        label = printable(sheet.name or name)
        kind = vocab.sheet_kind(sheet.name) if sheet.name else None
        if kind == "overview":
            problems.extend(_bad_cell_problems(name, sheet, len(sheet.rows)))
            notes.extend(_cleaned_notes(name, sheet))
            book_years.extend(_years_in_cells(sheet, len(sheet.rows)))
            continue
        if not any(not is_blank(v) for row in sheet.rows for v in row):
            if sheet.name is None:  # a CSV file holding only a BOM, commas or blank lines
                problems.append(Problem(name, None, None, "ファイルに何も入力されていません — 回答を入力したファイルか確かめてください", "empty-file"))
            elif len(book.sheets) == 1:
                problems.append(Problem(name, sheet.name, None, "シートが空です — 回答を入力したシートか確かめてください", "empty-sheet"))
            else:
                notes.append(f"{name}: 空のシート「{label}」を読み飛ばしました。")
            continue
        worksheet = None if kind in ("legend", "notes") else find_worksheet_header(sheet, vocab)
        if worksheet is not None:
            has_content = True
            group_sheets.append(_read_group_sheet(name, sheet, worksheet, vocab, problems, notes))
            headers_seen.extend(worksheet.headers.values())
            continue
        if kind in ("legend", "notes", "group_worksheet"):
            notes.append(f"{name}: シート「{label}」は{_ROLE_NOTES[kind]}とみなし、回答としては読み込みません。")
            skipped.append(label)
            continue
        has_content = True
        if sheet.hidden:
            notes.append(f"{name}: 非表示のシート「{label}」は読み込みません（表示すると読み込みます）。")
            continue
        sheet_group = vocab.group(sheet.name) if sheet.name else None
        layout = _find_header(sheet, vocab, grouped=sheet_group is not None)
        if layout is None:
            notes.append(f"{name}: シート「{label}」には回答の見出し行がないため読み飛ばしました。")
            continue
        layout = _two_row_header(sheet, layout, vocab)
        layout, personal_notes, value_problems = _refine_roles(name, sheet, layout, vocab, codebook)
        notes.extend(personal_notes)
        headers_seen.extend(layout.headers.values())
        headers_seen.extend(_value(sheet.rows, layout.header_row, c) for c in layout.dropped)
        if value_problems:
            problems.extend(value_problems)
            continue
        if _is_tally(sheet, layout, vocab, named_tally=kind == "tally"):
            notes.append(f"{name}: シート「{label}」は{_ROLE_NOTES['tally']}とみなし、回答としては読み込みません"
                         f"（{_cell(layout.data_start, (list(layout.marks()) or [layout.column('intent') or 0])[0])} などが人数）。")
            skipped.append(label)
            continue
        # Untrustworthy cells in and above the header are reported even if the sheet is not read.
        header_problems = _bad_cell_problems(name, sheet, layout.data_start - 1)
        problems.extend(header_problems)
        structure: list[Problem] = []
        if layout.column("intent") is None and len(layout.marks()) < 2:
            structure = _missing_intent(name, sheet, layout, vocab)
        else:
            structure = _repeated_columns(name, sheet, layout)
        if not structure and layout.column("group") is None and sheet_group is None:
            structure = [Problem(name, sheet.name, f"{layout.header_row}行目",
                f"区分の列がありません — 見出し{quoted(vocab.shown_headers('group'))}のいずれかの列を作るか、"
                f"シート名を{quoted(vocab.group_order[:2])}にしてください", "missing-group-column")]
        if structure:
            if layout.two_row:
                structure = [dataclasses.replace(p, message=p.message + f"（{layout.header_row}〜{layout.header_row + 1}"
                             "行目を 2 行の見出しとして、上の行と下の行をつないで読みました。見出しを 1 行にすると確実です）")
                             for p in structure]
            problems.extend(structure)
            continue
        notes.extend(_cleaned_notes(name, sheet))
        own_years = _years_in_cells(sheet, layout.header_row - 1)
        own_years += _answer_time_years(sheet, layout)
        named = _sheet_name_year(sheet)
        if named is not None:
            own_years.insert(0, named)
        if layout.two_row:
            notes.append(f"{name}: シート「{label}」の {layout.header_row}〜{layout.header_row + 1} 行目を 2 行の見出しとして、"
                         "上の行と下の行をつないで読みました。")
        affiliations = layout.columns("affiliation")
        if len(affiliations) > 1:
            cells = "、".join(f"{_cell(layout.header_row, c)}「{_text(layout.headers[c]).strip()}」" for c in affiliations)
            where = f"シート「{label}」の" if sheet.name else ""
            notes.append(f"{name}: {where}所属の列が {len(affiliations)} つあります（{cells}）。"
                         "すべての値を「／」でつないで所属として読み込みました。")
        reader = _SheetReader(name, sheet, layout, sheet_group, vocab)
        reader.read()
        notes.extend(_unlabelled_columns(name, sheet, layout))
        for row, text in reader.footer_rows:
            notes.append(f"{name} {label}!{row}行目: 「{printable(text)}」の行は表の下の合計・備考の行とみなし、"
                         "回答者として数えていません。")
        if sheet.hidden_rows:
            notes.append(f"{name}: シート「{label}」の非表示の行も回答として読み込みました。")
        if not reader.respondents and not reader.problems and not header_problems:
            problems.append(Problem(name, sheet.name, None, "見出し行の下に回答が 1 件もありません", "no-answers"))
        answer_sheets.append(_AnswerSheet(reader, own_years))
        problems.extend(reader.problems)
        notes.extend(reader.notes)
    if not answer_sheets and group_sheets:
        pass  # a file of group worksheets only: nothing else is expected in it
    elif not answer_sheets and not problems and skipped:
        problems.append(Problem(name, None, None,
            f"回答のシートがありません — シート「{'」「'.join(skipped)}」は回答ではないシートとみなしました（メモを参照）。"
            "回答を入力したシートがあるか確かめてください", "no-answer-sheet"))
    elif not answer_sheets and not problems:
        problems.append(Problem(name, None, None,
            f"回答の見出し行が見つかりません — 各シートの先頭 {HEADER_SEARCH_ROWS} 行に「{vocab.shown_headers('group')[0]}」「協働したいと思いますか」などの見出しが必要です", "no-header"))
    # A file with nothing in it has no year to find; saying so would only add noise to 空です.
    if has_content and (answer_sheets or group_sheets):
        _decide_years(name, [*answer_sheets, *group_sheets], book_years, year, problems, notes)
    respondents = [dict(r, fiscal_year=s.fiscal_year) for s in answer_sheets for r in s.reader.respondents]
    comments = [dict(c, fiscal_year=s.fiscal_year) for s in answer_sheets for c in s.reader.comments]
    choices = _choice_frame([dict(c, fiscal_year=s.fiscal_year) for s in answer_sheets for c in s.reader.choices])
    resp, comm = _frames(respondents, comments)
    problems += _duplicate_ids(name, [s.reader for s in answer_sheets])
    times = {(name, s.reader.sheet.name or "", row): time for s in answer_sheets for row, time in s.reader.answer_times.items()}
    groups = group_frame([dict(g, fiscal_year=s.fiscal_year) for s in group_sheets for g in s.part.groups])
    statements = statement_frame([dict(t, fiscal_year=s.fiscal_year) for s in group_sheets for t in s.part.statements])
    return Survey(resp, comm, problems, notes, choices, groups, statements), times


def _read_group_sheet(name: str, sheet: RawSheet, layout: WorksheetLayout, vocab: Vocabulary,
                      problems: list[Problem], notes: list[str]) -> _GroupSheet:
    """Read a group worksheet and the years stated on it; its problems and notes join the file's."""
    problems.extend(_bad_cell_problems(name, sheet, len(sheet.rows)))
    notes.extend(_cleaned_notes(name, sheet))
    part = read_worksheet(name, sheet, layout, vocab)
    problems.extend(Problem(name, sheet.name, cell, message, code) for cell, message, code in part.problems)
    notes.extend(part.notes)
    if not part.groups and not part.problems:
        problems.append(Problem(name, sheet.name, None, "ワークシートの見出し行の下にグループが 1 つもありません",
                                EMPTY_WORKSHEET))
    own_years = _years_in_cells(sheet, layout.header_row - 1)
    named = _sheet_name_year(sheet)
    if named is not None:
        own_years.insert(0, named)
    return _GroupSheet(part, sheet, own_years)


_ROLE_NAMES = {"group": "区分", "intent": "「協働したいと思いますか」", "respondent_id": "回答者ID"}


def _missing_intent(name: str, sheet: RawSheet, layout: _Layout, vocab: Vocabulary) -> list[Problem]:
    """Say the intent column is missing, naming any header kept out of it by a word such as 理由."""
    near = [(c, v, found[1]) for c, v in layout.headers.items()
            if (found := vocab.near_role(v)) is not None and found[0] == "intent"]
    if near:
        return [Problem(name, sheet.name, _cell(layout.header_row, c),
                        f"「協働したいと思いますか」の列がありません — 見出し「{_text(v).strip()}」は「{word}」を含むため、"
                        f"{word}を書く自由記述の列とみなしました。回答（{_answer_list(vocab)}）の列なら、見出しから「{word}」を外すか、"
                        f"{word}を別の列に分けてください", "missing-intent-column")
                for c, v, word in near]
    return [Problem(name, sheet.name, f"{layout.header_row}行目",
        f"「協働したいと思いますか」の列がありません — 見出しに{quoted(vocab.shown_headers('intent'))}のいずれかを含む列、"
        f"または{quoted(vocab.answer_choices)}の {len(vocab.answer_choices)} 列が必要です", "missing-intent-column")]


def _repeated_columns(name: str, sheet: RawSheet, layout: _Layout) -> list[Problem]:
    """A problem for each role (other than 所属) that two header cells claim: which one to read is a guess.

    So is a 問1 column next to mark columns (思う / 思わない): the answer could be in either.
    """
    def shown(cols: list[int]) -> str:
        return "、".join(f"{_cell(layout.header_row, c)}「{_text(layout.headers[c]).strip()}」" for c in cols)

    problems = []
    intent, marks = layout.columns("intent"), sorted(layout.marks())
    if intent and marks:
        problems.append(Problem(name, sheet.name, _cell(layout.header_row, intent[0]),
            f"「協働したいと思いますか」の列（{shown(intent)}）と印の列（{shown(marks)}）の両方があります — "
            "どちらで答えたか決められません。回答でない列の見出しを変えてください", "intent-and-marks"))
    for role, cols in layout.repeated_roles().items():
        if role in ("affiliation", "answered_at"):  # read together; a form may give a start and an end time
            continue
        what = _ROLE_NAMES.get(role) or f"「{role.removeprefix('mark:')}」の印"
        problems.append(Problem(name, sheet.name, _cell(layout.header_row, cols[0]),
            f"{what}の列が {len(cols)} つあります（{shown(cols)}） — どの列を読むか決められません。"
            "1 列にまとめるか、回答でない列の見出しを変えてください", "repeated-column"))
    return problems


def _unlabelled_columns(name: str, sheet: RawSheet, layout: _Layout) -> list[str]:
    """Say which columns hold values under the header but have no header, and so are not read."""
    found: dict[int, int] = {}  # column -> first row with a value
    for row in range(layout.data_start, len(sheet.rows) + 1):
        for col, value in enumerate(sheet.rows[row - 1]):
            if col not in layout.roles and col not in layout.dropped and col not in found and not is_blank(value) and (row, col) not in sheet.merged:
                found[col] = row
    where = f"シート「{sheet.name}」の" if sheet.name else ""
    return [f"{name}: {where}{get_column_letter(col + 1)} 列には値がありますが（{_cell(row, col)} など）、"
            f"見出しがないため読み込んでいません。自由記述なら {_cell(layout.header_row, col)} に見出しを付けてください。"
            for col, row in sorted(found.items())]


def _bad_cell_problems(name: str, sheet: RawSheet, last_row: int) -> list[Problem]:
    """Problems for untrustworthy cells (uncalculated formulas, error values) down to ``last_row``."""
    return [Problem(name, sheet.name, _cell(r, c), message, code)
            for (r, c), (code, message) in sorted(sheet.bad_cells.items()) if r <= last_row]


def _cleaned_notes(name: str, sheet: RawSheet) -> list[str]:
    """A note naming the cells whose invisible control characters were removed."""
    if not sheet.cleaned:
        return []
    cells = "、".join(_cell(r, c) for r, c in sheet.cleaned[:5])
    more = f" ほか {len(sheet.cleaned) - 5} セル" if len(sheet.cleaned) > 5 else ""
    where = f"シート「{sheet.name}」" if sheet.name else "ファイル"
    return [f"{name}: {where}の {cells}{more} から、目に見えない制御文字を取り除きました"
            "（縦タブ・改ページは改行にしました）。"]


def infer_columns(paths: Iterable[str | os.PathLike[str]], *, vocabulary: Vocabulary | None = None,
                  password: Password = None) -> list[list[ColumnRole]]:
    """Every column's inferred role on every answer sheet of the files (for ``kyodo-analysis codebook``)."""
    vocab = vocabulary or default_vocabulary()
    found: list[list[ColumnRole]] = []
    for path in paths:
        book = read_raw(path, password=password)
        for sheet in book.sheets:
            kind = vocab.sheet_kind(sheet.name) if sheet.name else None
            if kind is not None and kind != "tally":
                continue
            if find_worksheet_header(sheet, vocab) is not None:
                continue  # a group worksheet: its columns are read by worksheets.toml, not by roles
            layout = _find_header(sheet, vocab, grouped=(vocab.group(sheet.name) if sheet.name else None) is not None)
            if layout is None:
                continue
            layout = _two_row_header(sheet, layout, vocab)
            columns = []
            for col, role in sorted(layout.roles.items()):
                header = _text(layout.headers[col]).strip()
                values = [_value(sheet.rows, r, col) for r in range(layout.data_start, len(sheet.rows) + 1)
                          if (r, col) not in sheet.merged]
                if role == "text" or role in _OTHER_ROLES:
                    columns.append(infer_role(header, values, vocab=vocab))
                else:
                    columns.append(ColumnRole(header, column_role_of(role), question_name(header)))
            found.append(columns)
    return found


def load_questionnaire(
    path: str | os.PathLike[str],
    *,
    year: int | None = None,
    vocabulary: Vocabulary | None = None,
    password: Password = None,
) -> Survey:
    """Load one questionnaire file; raise UnreadableFileError if it cannot be read at all."""
    return load_questionnaires([path], year=year, vocabulary=vocabulary, password=password)


def load_questionnaires(
    paths: Iterable[str | os.PathLike[str]],
    *,
    year: int | None = None,
    vocabulary: Vocabulary | None = None,
    unreadable: list[UnreadableFileError] | None = None,
    password: Password = None,
    codebook: Codebook | None = None,
) -> Survey:
    """Load several questionnaire files (any years) into one Survey.

    A file that cannot be read raises UnreadableFileError, unless a list is passed as
    ``unreadable``: then the error is appended to it and the other files are still loaded.
    ``password`` (text, or a function of the path) opens password-protected workbooks.
    ``year`` is used only for files that state no year of their own (a problem where it contradicts one).
    A file identical to an earlier one, and rows copied from another file, are problems and counted once.
    """
    vocab = vocabulary or default_vocabulary()
    paths = [Path(p) for p in paths]
    books: list[tuple[RawBook, str]] = []
    for path, label in zip(paths, input_labels(paths)):
        try:
            books.append((read_raw(path, password=password), label))
        except UnreadableFileError as error:
            if unreadable is None:
                raise
            unreadable.append(error)
    # Of identical files the one with the shortest name is the original: 「2018 (1).csv」 is the copy.
    original: dict[str, str] = {}
    for book, label in sorted(books, key=lambda item: (len(Path(item[1]).stem), item[1])):
        original.setdefault(book.digest, label)
    parts: list[Survey] = []
    headers_seen: list[object] = []
    times: dict[_Place, str] = {}
    copies: list[Problem] = []
    for book, label in books:
        if original[book.digest] != label:
            copies.append(Problem(printable(label), None, None,
                f"{printable(original[book.digest])} と中身がまったく同じファイルです — {COPY_ADVICE}"
                "片方を入力フォルダから外してください（2 回は数えていません）", "copied-file"))
            continue
        part, part_times = _read_book(book, year, vocab, label, codebook, headers_seen)
        parts.append(part)
        times.update(part_times)
    empty_resp, empty_comm = _frames([], [])
    # Re-applying dtypes after concat keeps them right even for frames that were empty.
    resp = _with_dtypes(pd.concat([empty_resp, *(p.respondents for p in parts)], ignore_index=True))
    comm = _with_dtypes(pd.concat([empty_comm, *(p.comments for p in parts)], ignore_index=True))
    problems = [p for part in parts for p in part.problems] + copies
    copied, resp, comm = _copied_rows(resp, comm, times)
    problems += copied
    if codebook is not None and books:
        problems += [Problem(printable(Path(p.file).name), None, f"{p.line}行目", p.message, p.code)
                     for p in missing_columns(codebook, headers_seen)]
    notes = [n for part in parts for n in part.notes]
    choices = pd.concat([_choice_frame([]), *(p.choices for p in parts if not p.choices.empty)], ignore_index=True)
    kept = set(zip(resp["file"], resp["sheet"], resp["row"]))
    choices = choices[[place in kept for place in zip(choices["file"], choices["sheet"], choices["row"])]]
    groups = group_frame([row for p in parts for row in p.groups.to_dict("records")])
    statements = statement_frame([row for p in parts for row in p.statements.to_dict("records")])
    return Survey(resp, comm, problems, notes, choices.reset_index(drop=True), groups, statements)


COPY_ADVICE = "同じファイルの写しではありませんか。"


def _copied_rows(resp: pd.DataFrame, comm: pd.DataFrame,
                 times: dict[_Place, str]) -> tuple[list[Problem], pd.DataFrame, pd.DataFrame]:
    """Find respondents whose whole row (answers, affiliation, comments, answer time) repeats one in another file of the year.

    Only rows with a comment, an affiliation or a web form's answer time are compared: two people
    may well give the same 区分 and answer and nothing else. The later copy is reported, naming
    both places, and dropped.
    """
    texts: dict[tuple[str, str, int], tuple[tuple[str, str], ...]] = {}
    for (file, sheet, row), group in comm.groupby(["file", "sheet", "row"], sort=False):
        texts[(file, sheet, int(row))] = tuple(sorted(zip(group["header"], group["text"])))
    first: dict[tuple, tuple[str, str, int]] = {}
    pairs: dict[tuple[str, str, str, str], list[tuple[int, int]]] = {}
    dropped: set[tuple[str, str, int]] = set()
    for record in resp.itertuples(index=False):
        place = (record.file, record.sheet, int(record.row))
        comments = texts.get(place, ())
        time = times.get(place)
        if not comments and pd.isna(record.affiliation) and time is None:
            continue
        key = (None if pd.isna(record.fiscal_year) else int(record.fiscal_year), record.respondent_id,
               record.group_detail, record.affiliation, str(record.intent), comments, time)
        if key not in first:
            first[key] = place
            continue
        earlier = first[key]
        if earlier[0] == place[0]:
            continue  # the same answer twice in one file: two people may write alike
        pairs.setdefault((earlier[0], earlier[1], place[0], place[1]), []).append((earlier[2], place[2]))
        dropped.add(place)
    problems = []
    for (file1, sheet1, file2, sheet2), rows in pairs.items():
        (row1, row2) = rows[0]
        there = f"{file1} {sheet1 + '!' if sheet1 else ''}{row1}行目"
        problems.append(Problem(file2, sheet2 or None, f"{row2}行目",
            f"{len(rows)} 人分の回答が別のファイルと同じです（この行は {there} と同じ） — {COPY_ADVICE}"
            "片方を入力フォルダから外すか、重なった行を消してください（2 回は数えていません）", "copied-rows"))
    if dropped:
        def keep(frame: pd.DataFrame) -> pd.Series:
            places = zip(frame["file"], frame["sheet"], frame["row"].astype(int))
            return pd.Series([p not in dropped for p in places], index=frame.index, dtype=bool)

        resp = resp[keep(resp)].reset_index(drop=True)
        comm = comm[keep(comm)].reset_index(drop=True)
    return problems, resp, comm


def input_labels(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """How each input file is named in messages and tables: its name, or its path from the folder scanned.

    Files in subfolders (one folder per year is common) and files whose names repeat are named
    by their path from the folder that holds them all, so that 2018/回答.xlsx and 2019/回答.xlsx differ.
    """
    absolute = [Path(os.path.abspath(p)) for p in paths]
    names = [p.name for p in absolute]
    parents = {p.parent for p in absolute}
    if len(parents) <= 1:
        return names
    common = Path(os.path.commonpath([str(p) for p in parents]))
    relative = [p.relative_to(common).as_posix() for p in absolute]
    if len(set(names)) < len(names):
        return relative
    # A folder named for a year (2018年度/) is a reading of the year, so it is shown and read.
    return [rel if fiscal_year_readings(str(Path(rel).parent), file_name=True) and Path(rel).parent != Path(".")
            else name for rel, name in zip(relative, names)]


def _with_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    frame["row"] = frame["row"].astype("int64")
    frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
    frame["group"] = pd.Categorical(frame["group"], categories=list(GROUP_ORDER))
    frame["intent"] = pd.Categorical(frame["intent"], categories=list(INTENT_ORDER), ordered=True)
    return frame


PROCESSED_FILES = ("respondents.csv", "comments.csv", "questionnaire.xlsx")
CHOICES_FILE = "choices.csv"
GROUPS_FILE = "worksheet_groups.csv"
STATEMENTS_FILE = "worksheet_statements.csv"


def write_processed(survey: Survey, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write respondents and comments as CSV (UTF-8 with BOM) and one .xlsx, all or nothing.

    Other files in ``out_dir`` (such as .gitkeep) are left alone; if writing any table fails,
    the previous three files stay as they were. A ``choices.csv`` this function wrote on an
    earlier run is removed when the questionnaires now have no choice or rating question.
    """
    names = list(PROCESSED_FILES)
    sheets = {"回答者": survey.respondents, "自由記述": survey.comments}
    # Tables written only when the input has them; an earlier run's copy is removed when it no longer does.
    optional = [(CHOICES_FILE, "選択式の回答", survey.choices), (GROUPS_FILE, "ワークシートのグループ", survey.groups),
                (STATEMENTS_FILE, "ワークシートの意見", survey.statements)]
    with atomic_files(out_dir) as staging:
        write_csv(survey.respondents, staging / PROCESSED_FILES[0])
        write_csv(survey.comments, staging / PROCESSED_FILES[1])
        for name, sheet, frame in optional:
            if not frame.empty:
                write_csv(frame, staging / name)
                sheets[sheet] = frame
                names.append(name)
        write_xlsx(sheets, staging / PROCESSED_FILES[2])
    for name, _, frame in optional:
        stale = Path(out_dir) / name
        if frame.empty and _written_by_us(stale, _written_columns(name), more=name == GROUPS_FILE):
            stale.unlink()
    return [Path(out_dir) / name for name in names]


def _written_columns(name: str) -> list[str]:
    """The header write_processed gives the optional table ``name`` (for groups, the columns before the counts)."""
    if name == CHOICES_FILE:
        return list(CHOICE_COLUMNS)
    if name == STATEMENTS_FILE:
        return list(STATEMENT_COLUMNS)
    return list(group_frame([]).columns)


def _written_by_us(path: Path, columns: Sequence[str], *, more: bool = False) -> bool:
    """Tell whether ``path`` is a table write_processed wrote (BOM and its header line; ``more``: further columns follow)."""
    if path.is_symlink() or not path.is_file():
        return False
    header = ("\ufeff" + ",".join(columns)).encode("utf-8")
    with open(path, "rb") as f:
        first = f.readline(1 << 16).rstrip(b"\r\n")
    return first == header or (more and first.startswith(header + b","))


# The invented sample files bundled in data/raw/ (see README); real files are named freely.
SAMPLE_PREFIX = "sample_"


def is_sample(path: str | os.PathLike[str]) -> bool:
    """Tell whether a file is one of the bundled invented samples (``sample_*``)."""
    return Path(path).name.startswith(SAMPLE_PREFIX)


# The analyst's theme corrections (kyodo_analysis.input.corrections) sit beside the questionnaires
# in data/raw/; this name is reserved so a folder scan never reads them as a questionnaire.
CORRECTIONS_FILE_NAME = "theme_corrections.xlsx"

# Files a computer leaves in folders by itself: never questionnaires, never worth a word.
_SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})


def _questionnaire_files(folder: Path) -> list[Path]:
    """Every file in a folder and its subfolders, sorted, but Excel's ~$ lock files, hidden and system files
    and the reserved theme-corrections file.

    Files of any type are listed, so that each one is either read or named as unreadable;
    a symbolic link is listed too and read only if it points inside the folder (see read_raw).
    """
    found: list[Path] = []
    for entry in sorted(folder.iterdir()):
        if (entry.name.startswith(("~$", ".")) or entry.name.lower() in _SYSTEM_FILES
                or entry.name in (CORRECTIONS_FILE_NAME, CODEBOOK_FILE_NAME)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            found.extend(_questionnaire_files(entry))
        else:
            found.append(entry)
    return found


def _select_inputs(folder: Path) -> tuple[list[Path], list[Path]]:
    """Split a folder's questionnaires into those to read and the bundled samples left out."""
    files = _questionnaire_files(folder)
    if all(is_sample(p) for p in files):
        return files, []
    return [p for p in files if not is_sample(p)], [p for p in files if is_sample(p)]


def find_input_files(folder: str | os.PathLike[str], *, samples: bool | None = None) -> list[Path]:
    """List the questionnaire files in a folder, sorted, skipping Excel's ~$ lock files and hidden files.

    The bundled samples are used only while the folder holds no other questionnaire
    (``samples=None``), so invented years never mix into a real report; ``samples=True``
    keeps them and ``samples=False`` always leaves them out.
    """
    if samples is None:
        return _select_inputs(Path(folder))[0]
    return [p for p in _questionnaire_files(Path(folder)) if samples or not is_sample(p)]


def _skipped_note(folder: Path, skipped: Sequence[Path]) -> str:
    return (f"{folder.as_posix()}: 本番のファイルがあるため、同梱の架空サンプル {len(skipped)} 件"
            f"（{'・'.join(p.name for p in skipped)}）は使いません。")


def skipped_samples_note(folder: str | os.PathLike[str]) -> str | None:
    """Say, in Japanese, which bundled samples ``find_input_files`` leaves out of ``folder``, if any."""
    skipped = _select_inputs(Path(folder))[1]
    return _skipped_note(Path(folder), skipped) if skipped else None


def expand_inputs(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """Replace each folder among ``paths`` by its questionnaire files; return the files and notes."""
    files: list[Path] = []
    notes: list[str] = []
    for given in map(Path, paths):
        if not given.is_dir():
            if given.name not in (CORRECTIONS_FILE_NAME, CODEBOOK_FILE_NAME):  # data/raw/*.xlsx names it too
                files.append(given)
            continue
        found, skipped = _select_inputs(given)
        if not found:
            raise UnreadableFileError(given, "フォルダにアンケートのファイル（.xlsx・.ods・.csv）がありません。")
        files.extend(found)
        if skipped:
            notes.append(_skipped_note(given, skipped))
    return files, notes


def file_status(survey: Survey, paths: Iterable[str | os.PathLike[str]], *,
                unreadable: Iterable[UnreadableFileError] = ()) -> pd.DataFrame:
    """One row per input file: its fiscal year, respondents, comments, problems and a status word."""
    paths = list(paths)
    failed = {e.path.name: e.message for e in unreadable}
    problems = pd.Series([p.file for p in survey.problems], dtype="object").value_counts()
    rows = []
    for name in map(printable, input_labels(paths)):
        mine = survey.respondents[survey.respondents["file"] == name]
        # A file of group worksheets only has no respondents; its year is its groups' year.
        years = sorted({*mine["fiscal_year"].dropna(),
                        *survey.groups.loc[survey.groups["file"] == name, "fiscal_year"].dropna()})
        count = int(problems.get(name, 0))
        rows.append({
            "file": name,
            "fiscal_year": int(years[0]) if len(years) == 1 else pd.NA,
            "respondents": len(mine),
            "comments": int((survey.comments["file"] == name).sum()),
            "problems": count,
            "status": "読めません: " + failed[Path(name).name] if Path(name).name in failed else ("要修正" if count else "OK"),
        })
    frame = pd.DataFrame(rows, columns=["file", "fiscal_year", "respondents", "comments", "problems", "status"])
    frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
    return frame


def problem_table(survey: Survey) -> pd.DataFrame:
    """The problems as a table: every field of each problem (file, sheet, cell, code, message) and its location."""
    columns = ["location", "code", "message", "file", "sheet", "cell"]
    return pd.DataFrame([{name: getattr(p, name) for name in columns} for p in survey.problems], columns=columns)

