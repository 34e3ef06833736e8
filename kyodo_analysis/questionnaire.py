"""Turn raw questionnaire sheets into tidy respondents and comments, listing every problem."""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter

from .io import INPUT_SUFFIXES, RawBook, RawSheet, UnreadableFileError, atomic_files, read_raw, write_csv, write_xlsx
from .normalize import (
    GROUP_ORDER,
    INTENT_ORDER,
    Vocabulary,
    cell_text,
    default_vocabulary,
    fiscal_year_from_text,
    fiscal_year_from_value,
    fiscal_year_readings,
    is_blank,
    match_key,
)
from .safety import Password

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
_ANSWER_LIST = "／".join(("思う", "思わない", "どちらとも言えない"))
_GROUP_LIST = "／".join(GROUP_ORDER)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as precisely as possible."""

    file: str
    sheet: str | None
    cell: str | None
    message: str

    @property
    def location(self) -> str:
        """Where the problem is, as a person would look it up: ``2017.xlsx 回答!C7``."""
        if self.sheet and self.cell:
            return f"{self.file} {self.sheet}!{self.cell}"
        if self.sheet or self.cell:
            return f"{self.file} {self.sheet or self.cell}"
        return self.file

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass
class Survey:
    """Tidy questionnaire data of one or more files, with the problems and notes found."""

    respondents: pd.DataFrame
    comments: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


@dataclass
class _Layout:
    header_row: int  # 1-based spreadsheet row
    roles: dict[int, str]  # 0-based column -> role
    headers: dict[int, object]

    def column(self, role: str) -> int | None:
        return next((c for c, r in self.roles.items() if r == role), None)

    def columns(self, role: str) -> list[int]:
        return [c for c, r in self.roles.items() if r == role]

    def repeated_roles(self) -> dict[str, list[int]]:
        """Roles (other than free text) that more than one column claims, with their columns."""
        by_role: dict[str, list[int]] = {}
        for col, role in self.roles.items():
            if role != "text":
                by_role.setdefault(role, []).append(col)
        return {role: cols for role, cols in by_role.items() if len(cols) > 1}

    def marks(self) -> dict[int, str]:
        return {c: r.removeprefix("mark:") for c, r in self.roles.items() if r.startswith("mark:")}

    def text_columns(self) -> list[int]:
        return [c for c, r in self.roles.items() if r == "text"]


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
        roles = {c: vocab.header_role(v) for c, v in cells.items()}
        layout = _Layout(index, roles, cells)
        if len(cells) < 2:
            # Usually a title row, which may well mention the question.
            if grouped and single is None and list(roles.values()) == ["intent"] and not _title_above(sheet, layout, vocab):
                single = layout
            continue
        known = [r for r in roles.values() if r != "text"]
        if "intent" in known or len(layout.marks()) >= 2 or len(set(known)) >= 2:
            return layout
        if known and any((vocab.near_role(v) or ("",))[0] == "intent" for v in cells.values()):
            return layout
    return single


def _title_above(sheet: RawSheet, layout: _Layout, vocab: Vocabulary) -> bool:
    """Tell whether a lone intent cell is a title: the next value below it names the intent again."""
    [col] = layout.roles
    below = (_value(sheet.rows, r, col) for r in range(layout.header_row + 1, len(sheet.rows) + 1))
    value = next((v for v in below if not is_blank(v)), None)
    return value is not None and vocab.header_role(value) == "intent"


def _year_in_cells(rows: Iterable[Sequence[object]]) -> int | None:
    """Find a fiscal year stated next to, or inside, a 年度 / 開催日 label."""
    for values in rows:
        for col, value in enumerate(values):
            if is_blank(value) or not isinstance(value, str):
                continue
            key = match_key(value)
            if key in _YEAR_LABELS:
                for neighbour in values[col + 1:]:
                    if not is_blank(neighbour):
                        found = fiscal_year_from_value(neighbour)
                        if found is not None:
                            return found
                        break
            elif any(label in key for label in _YEAR_LABELS):
                found = fiscal_year_from_text(value)
                if found is not None:
                    return found
    return None


class _SheetReader:
    """Reads the respondents of one response sheet."""

    def __init__(self, book: RawBook, sheet: RawSheet, layout: _Layout, group: str | None, vocab: Vocabulary):
        self.file = book.path.name
        self.sheet = sheet
        self.layout = layout
        self.sheet_group = group
        self.vocab = vocab
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.respondents: list[dict] = []
        self.comments: list[dict] = []
        self.id_cells: list[tuple[str, Problem]] = []

    def problem(self, cell: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, self.sheet.name, cell, message))

    def read(self) -> None:
        layout = self.layout
        header_keys = {c: match_key(v) for c, v in layout.headers.items()}
        bad_cells = self.sheet.bad_cells
        for row in range(layout.header_row + 1, len(self.sheet.rows) + 1):
            values = {c: _value(self.sheet.rows, row, c) for c in layout.roles}
            bad = [c for c in layout.roles if (row, c) in bad_cells]
            if bad:  # the row is reported, never read with a guessed value
                for c in bad:
                    self.problem(_cell(row, c), bad_cells[(row, c)])
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
            self.id_cells.append((respondent_id, Problem(self.file, self.sheet.name, _cell(row, id_col), "")))
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
        for col in layout.text_columns():
            # A comment merged over several cells is one comment, counted once (top-left cell).
            if is_blank(values[col]) or (row, col) in self.sheet.merged:
                continue
            self.comments.append({
                "file": self.file, "sheet": record["sheet"], "row": row, "cell": _cell(row, col),
                "respondent_id": record["respondent_id"], "group": group, "intent": intent,
                "question": self.vocab.question_label(layout.headers[col]),
                "header": cell_text(layout.headers[col]).strip(),
                "text": _text(values[col]).strip(),
            })

    def read_group(self, row: int, values: dict[int, object]) -> tuple[str | None, str | None]:
        col = self.layout.column("group")
        if col is None:
            return self.sheet_group, self.sheet_group
        value = values[col]
        if is_blank(value):
            self.problem(_cell(row, col), f"区分が空欄です — {_GROUP_LIST} のいずれか（NPO・企業・自治会なども可）を入れてください")
            return None, None
        group = self.vocab.group(value)
        if group is None:
            self.problem(_cell(row, col), f"「{_text(value)}」は区分（{_GROUP_LIST}）にありません")
        return group, _text(value).strip()

    def read_intent(self, row: int, values: dict[int, object]) -> str | None:
        col = self.layout.column("intent")
        if col is not None:
            answer = self.vocab.answer(values[col])
            if answer is None:
                self.problem(_cell(row, col), f"「{_text(values[col])}」は選択肢（{_ANSWER_LIST}）にありません")
            return answer
        marked = []
        for mark_col, answer in self.layout.marks().items():
            value = values[mark_col]
            if is_blank(value):
                continue
            if not self.vocab.is_mark(value):
                self.problem(_cell(row, mark_col), f"「{_text(value)}」は印として読めません — ○ などの印を 1 つだけ付けてください")
                return None
            marked.append((mark_col, answer, value))
        if len(marked) > 1:
            cells = "、".join(f"{_cell(row, c)}「{_text(v)}」" for c, _, v in marked)
            self.problem(_cell(row, marked[0][0]), f"印が {len(marked)} か所にあります（{cells}） — 1 つだけにしてください")
            return None
        return marked[0][1] if marked else INTENT_ORDER[-1]


def _frames(respondents: list[dict], comments: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the two tidy frames with stable columns and dtypes, even when empty."""
    resp = pd.DataFrame(respondents, columns=list(RESPONDENT_COLUMNS))
    comm = pd.DataFrame(comments, columns=list(COMMENT_COLUMNS))
    return _with_dtypes(resp), _with_dtypes(comm)


@dataclass(frozen=True)
class _IdCell:
    fiscal_year: int | None
    respondent_id: str
    problem: Problem  # where the id stands; message filled in when it turns out to be a duplicate


def _duplicate_ids(id_cells: list[_IdCell]) -> list[Problem]:
    """Report every respondent id used again within one fiscal year, naming both cells."""
    first: dict[tuple[int | None, str], Problem] = {}
    problems = []
    for item in id_cells:
        key = (item.fiscal_year, match_key(item.respondent_id))
        if key not in first:
            first[key] = item.problem
            continue
        place = first[key].location
        # Files whose year is unknown are compared with each other, as if of one year.
        within = f" {item.fiscal_year} 年度の中で" if item.fiscal_year is not None else "、年度が分からないファイルの中で"
        problems.append(Problem(
            item.problem.file, item.problem.sheet, item.problem.cell,
            f"回答者ID「{item.respondent_id}」が{within}重複しています（{place} と同じ）",
        ))
    return problems


def _read_book(book: RawBook, year: int | None, vocab: Vocabulary) -> tuple[Survey, list[_IdCell]]:
    name = book.path.name
    problems: list[Problem] = []
    notes: list[str] = []
    readers: list[_SheetReader] = []
    year_sources: list[int] = []
    has_content = False  # anything typed outside the 概要 sheet
    for sheet in book.sheets:
        label = sheet.name or name
        if match_key(sheet.name or "") == match_key(OVERVIEW_SHEET):
            problems.extend(_bad_cell_problems(name, sheet, len(sheet.rows)))
            notes.extend(_cleaned_notes(name, sheet))
            found = _year_in_cells(sheet.rows)
            if found is not None:
                year_sources.append(found)
            continue
        if not any(not is_blank(v) for row in sheet.rows for v in row):
            if sheet.name is None:  # a CSV file holding only a BOM, commas or blank lines
                problems.append(Problem(name, None, None, "ファイルに何も入力されていません — 回答を入力したファイルか確かめてください"))
            elif len(book.sheets) == 1:
                problems.append(Problem(name, sheet.name, None, "シートが空です — 回答を入力したシートか確かめてください"))
            else:
                notes.append(f"{name}: 空のシート「{label}」を読み飛ばしました。")
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
        # Untrustworthy cells in and above the header are reported even if the sheet is not read.
        header_problems = _bad_cell_problems(name, sheet, layout.header_row)
        problems.extend(header_problems)
        if layout.column("intent") is None and len(layout.marks()) < 2:
            problems.extend(_missing_intent(name, sheet, layout, vocab))
            continue
        repeated = _repeated_columns(name, sheet, layout)
        if repeated:
            problems.extend(repeated)
            continue
        if layout.column("group") is None and sheet_group is None:
            problems.append(Problem(name, sheet.name, f"{layout.header_row}行目",
                "区分の列がありません — 見出し「区分」「属性」「立場」「参加区分」のいずれかの列を作るか、"
                "シート名を「市民」「職員」にしてください"))
            continue
        notes.extend(_cleaned_notes(name, sheet))
        found = _year_in_cells(sheet.rows[: layout.header_row - 1])
        if found is not None:
            year_sources.append(found)
        affiliations = layout.columns("affiliation")
        if len(affiliations) > 1:
            cells = "、".join(f"{_cell(layout.header_row, c)}「{_text(layout.headers[c]).strip()}」" for c in affiliations)
            where = f"シート「{sheet.name}」の" if sheet.name else ""
            notes.append(f"{name}: {where}所属の列が {len(affiliations)} つあります（{cells}）。"
                         "すべての値を「／」でつないで所属として読み込みました。")
        reader = _SheetReader(book, sheet, layout, sheet_group, vocab)
        reader.read()
        notes.extend(_unlabelled_columns(name, sheet, layout))
        if sheet.hidden_rows:
            notes.append(f"{name}: シート「{label}」の非表示の行も回答として読み込みました。")
        if not reader.respondents and not reader.problems and not header_problems:
            problems.append(Problem(name, sheet.name, None, "見出し行の下に回答が 1 件もありません"))
        readers.append(reader)
        problems.extend(reader.problems)
        notes.extend(reader.notes)
    if not readers and not problems:
        problems.append(Problem(name, None, None,
            f"回答の見出し行が見つかりません — 各シートの先頭 {HEADER_SEARCH_ROWS} 行に「区分」「協働したいと思いますか」などの見出しが必要です"))
    # A file with nothing in it has no year to find; saying so would only add noise to 空です.
    fiscal_year = _fiscal_year(name, year, year_sources, problems, notes) if has_content else year
    respondents = [dict(r, fiscal_year=fiscal_year) for reader in readers for r in reader.respondents]
    comments = [dict(c, fiscal_year=fiscal_year) for reader in readers for c in reader.comments]
    resp, comm = _frames(respondents, comments)
    id_cells = [_IdCell(fiscal_year, rid, where) for reader in readers for rid, where in reader.id_cells]
    return Survey(resp, comm, problems, notes), id_cells


_ROLE_NAMES = {"group": "区分", "intent": "「協働したいと思いますか」", "respondent_id": "回答者ID"}


def _missing_intent(name: str, sheet: RawSheet, layout: _Layout, vocab: Vocabulary) -> list[Problem]:
    """Say the intent column is missing, naming any header kept out of it by a word such as 理由."""
    near = [(c, v, found[1]) for c, v in layout.headers.items()
            if (found := vocab.near_role(v)) is not None and found[0] == "intent"]
    if near:
        return [Problem(name, sheet.name, _cell(layout.header_row, c),
                        f"「協働したいと思いますか」の列がありません — 見出し「{_text(v).strip()}」は「{word}」を含むため、"
                        f"{word}を書く自由記述の列とみなしました。回答（{_ANSWER_LIST}）の列なら、見出しから「{word}」を外すか、"
                        f"{word}を別の列に分けてください")
                for c, v, word in near]
    return [Problem(name, sheet.name, f"{layout.header_row}行目",
        "「協働したいと思いますか」の列がありません — 見出しに「協働したい」「問1」「Q1」のいずれかを含む列、"
        "または「思う」「思わない」「どちらとも言えない」の 3 列が必要です")]


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
            "どちらで答えたか決められません。回答でない列の見出しを変えてください"))
    for role, cols in layout.repeated_roles().items():
        if role == "affiliation":  # read together, see _SheetReader.affiliation
            continue
        what = _ROLE_NAMES.get(role) or f"「{role.removeprefix('mark:')}」の印"
        problems.append(Problem(name, sheet.name, _cell(layout.header_row, cols[0]),
            f"{what}の列が {len(cols)} つあります（{shown(cols)}） — どの列を読むか決められません。"
            "1 列にまとめるか、回答でない列の見出しを変えてください"))
    return problems


def _unlabelled_columns(name: str, sheet: RawSheet, layout: _Layout) -> list[str]:
    """Say which columns hold values under the header but have no header, and so are not read."""
    found: dict[int, int] = {}  # column -> first row with a value
    for row in range(layout.header_row + 1, len(sheet.rows) + 1):
        for col, value in enumerate(sheet.rows[row - 1]):
            if col not in layout.roles and col not in found and not is_blank(value) and (row, col) not in sheet.merged:
                found[col] = row
    where = f"シート「{sheet.name}」の" if sheet.name else ""
    return [f"{name}: {where}{get_column_letter(col + 1)} 列には値がありますが（{_cell(row, col)} など）、"
            f"見出しがないため読み込んでいません。自由記述なら {_cell(layout.header_row, col)} に見出しを付けてください。"
            for col, row in sorted(found.items())]


def _bad_cell_problems(name: str, sheet: RawSheet, last_row: int) -> list[Problem]:
    """Problems for untrustworthy cells (uncalculated formulas, error values) down to ``last_row``."""
    return [Problem(name, sheet.name, _cell(r, c), message)
            for (r, c), message in sorted(sheet.bad_cells.items()) if r <= last_row]


def _cleaned_notes(name: str, sheet: RawSheet) -> list[str]:
    """A note naming the cells whose invisible control characters were removed."""
    if not sheet.cleaned:
        return []
    cells = "、".join(_cell(r, c) for r, c in sheet.cleaned[:5])
    more = f" ほか {len(sheet.cleaned) - 5} セル" if len(sheet.cleaned) > 5 else ""
    where = f"シート「{sheet.name}」" if sheet.name else "ファイル"
    return [f"{name}: {where}の {cells}{more} から、目に見えない制御文字を取り除きました"
            "（縦タブ・改ページは改行にしました）。"]


def _fiscal_year(name: str, year: int | None, found: list[int], problems: list[Problem],
                 notes: list[str]) -> int | None:
    """Decide the fiscal year: --year, else the workbook's own cells, else the file name."""
    if year is not None:
        return year
    if len(set(found)) > 1:
        years = "・".join(str(y) for y in sorted(set(found)))
        problems.append(Problem(name, None, None, f"ファイルの中で年度が食い違っています（{years}） — --year で指定してください"))
        return None
    if found:
        return found[0]
    return _fiscal_year_from_name(name, problems, notes)


def _fiscal_year_from_name(name: str, problems: list[Problem], notes: list[str]) -> int | None:
    """The fiscal year a file name states; a problem when it states none, or two that disagree.

    A 4-digit year, a date or an era word (2017, 2018年2月, 平成29) is explicit; a bare H/R letter
    (H29, R1) is read only when nothing explicit is there, since in 2017_r2 it means "round 2".
    """
    readings = fiscal_year_readings(Path(name).stem, file_name=True)
    explicit = [r for r in readings if r.explicit]
    chosen = explicit or readings
    years = sorted({r.fiscal_year for r in chosen})
    if len(years) > 1:
        shown = "、".join(f"「{r.text}」は {r.fiscal_year} 年度" for r in chosen)
        problems.append(Problem(name, None, None,
            f"ファイル名から年度を決められません（{shown}） — ファイル名を直すか、"
            "「概要」シートに年度を書くか、--year で指定してください"))
        return None
    if not years:
        problems.append(Problem(name, None, None,
            "年度が分かりません — 「概要」シートか見出しより上の行に年度・開催日を書くか、"
            "ファイル名に年度（例: 2017、H29、R1）を入れるか、--year で指定してください"))
        return None
    ignored = [r.text for r in readings if not r.explicit and r.fiscal_year != years[0]]
    if explicit and ignored:
        used = "・".join(dict.fromkeys(r.text for r in explicit))
        notes.append(f"{name}: ファイル名の「{'」「'.join(ignored)}」は年度とみなさず、「{used}」から {years[0]} 年度としました"
                     "（違うときは --year で指定してください）。")
    return years[0]


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
) -> Survey:
    """Load several questionnaire files (any years) into one Survey.

    A file that cannot be read raises UnreadableFileError, unless a list is passed as
    ``unreadable``: then the error is appended to it and the other files are still loaded.
    ``password`` (text, or a function of the path) opens password-protected workbooks.
    """
    vocab = vocabulary or default_vocabulary()
    books = []
    for path in paths:
        try:
            books.append(_read_book(read_raw(path, password=password), year, vocab))
        except UnreadableFileError as error:
            if unreadable is None:
                raise
            unreadable.append(error)
    parts = [survey for survey, _ in books]
    empty_resp, empty_comm = _frames([], [])
    # Re-applying dtypes after concat keeps them right even for frames that were empty.
    resp = _with_dtypes(pd.concat([empty_resp, *(p.respondents for p in parts)], ignore_index=True))
    comm = _with_dtypes(pd.concat([empty_comm, *(p.comments for p in parts)], ignore_index=True))
    problems = [p for part in parts for p in part.problems]
    problems += _duplicate_ids([item for _, id_cells in books for item in id_cells])
    notes = [n for part in parts for n in part.notes]
    return Survey(resp, comm, problems, notes)


def _with_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    frame["row"] = frame["row"].astype("int64")
    frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
    frame["group"] = pd.Categorical(frame["group"], categories=list(GROUP_ORDER))
    frame["intent"] = pd.Categorical(frame["intent"], categories=list(INTENT_ORDER), ordered=True)
    return frame


PROCESSED_FILES = ("respondents.csv", "comments.csv", "questionnaire.xlsx")


def write_processed(survey: Survey, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write respondents and comments as CSV (UTF-8 with BOM) and one .xlsx, all or nothing.

    Other files in ``out_dir`` (such as .gitkeep) are left alone; if writing any table fails,
    the previous three files stay as they were.
    """
    with atomic_files(out_dir) as staging:
        write_csv(survey.respondents, staging / PROCESSED_FILES[0])
        write_csv(survey.comments, staging / PROCESSED_FILES[1])
        write_xlsx({"回答者": survey.respondents, "自由記述": survey.comments}, staging / PROCESSED_FILES[2])
    return [Path(out_dir) / name for name in PROCESSED_FILES]




# The invented sample files bundled in data/raw/ (see README); real files are named freely.
SAMPLE_PREFIX = "sample_"


def is_sample(path: str | os.PathLike[str]) -> bool:
    """Tell whether a file is one of the bundled invented samples (``sample_*``)."""
    return Path(path).name.startswith(SAMPLE_PREFIX)


# The analyst's theme corrections (kyodo_analysis.corrections) sit beside the questionnaires
# in data/raw/; this name is reserved so a folder scan never reads them as a questionnaire.
CORRECTIONS_FILE_NAME = "theme_corrections.xlsx"


def _questionnaire_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES and not p.name.startswith(("~$", "."))
        and p.name != CORRECTIONS_FILE_NAME
    )


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
            if given.name != CORRECTIONS_FILE_NAME:  # data/raw/*.xlsx names it too
                files.append(given)
            continue
        found, skipped = _select_inputs(given)
        if not found:
            raise UnreadableFileError(given, "フォルダにアンケートのファイル（.xlsx・.csv）がありません。")
        files.extend(found)
        if skipped:
            notes.append(_skipped_note(given, skipped))
    return files, notes


def file_status(survey: Survey, paths: Iterable[str | os.PathLike[str]],
                unreadable: Iterable[UnreadableFileError] = ()) -> pd.DataFrame:
    """One row per input file: its fiscal year, respondents, comments, problems and a status word."""
    failed = {e.path.name: e.message for e in unreadable}
    problems = pd.Series([p.file for p in survey.problems], dtype="object").value_counts()
    rows = []
    for name in (Path(p).name for p in paths):
        mine = survey.respondents[survey.respondents["file"] == name]
        years = sorted(mine["fiscal_year"].dropna().unique())
        count = int(problems.get(name, 0))
        rows.append({
            "file": name,
            "fiscal_year": int(years[0]) if len(years) == 1 else pd.NA,
            "respondents": len(mine),
            "comments": int((survey.comments["file"] == name).sum()),
            "problems": count,
            "status": "読めません: " + failed[name] if name in failed else ("要修正" if count else "OK"),
        })
    frame = pd.DataFrame(rows, columns=["file", "fiscal_year", "respondents", "comments", "problems", "status"])
    frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
    return frame


def problem_table(survey: Survey) -> pd.DataFrame:
    """The problems as a table: where (file sheet!cell) and what."""
    return pd.DataFrame(
        [{"location": p.location, "message": p.message} for p in survey.problems], columns=["location", "message"]
    )
