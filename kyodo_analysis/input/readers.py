"""Reading questionnaire files (xlsx, xlsm, ods, csv) into raw sheets, within the safety limits."""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io as io_module
import os
import re
import zipfile
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from ..errors import KyodoError
from .safety import (
    MAX_CELL_CHARS,
    MAX_CELLS,
    MAX_ROWS_PER_SHEET,
    MAX_USED_AREA,
    Password,
    Refused,
    check_file_size,
    check_ods_package,
    check_package,
    content_kind,
    decrypt_workbook,
    explain_load_failure,
    refuse_non_workbook,
    too_long_message,
    require_defused_xml,
    used_area_message,
)


class UnreadableFileError(KyodoError):
    """A file that cannot be read as a questionnaire at all (exit code 2)."""

    code = "unreadable-file"

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"{printable(self.path.name)}: {message}")


Cell = tuple[int, int]  # (1-based row, 0-based column), the way RawSheet.rows is indexed


@dataclass
class RawSheet:
    """The cell values of one sheet, as typed; ``rows[i][j]`` is row i+1, column j+1.

    ``merged`` holds the cells of merged blocks other than the top-left one (their value is
    copied from it), ``bad_cells`` a problem code and Japanese reason for every cell whose value cannot be
    trusted (a formula never calculated, an error value), ``cleaned`` the cells whose
    invisible control characters were removed.
    """

    name: str | None  # None for a CSV file, which has no sheets
    rows: list[list[object]]
    hidden: bool = False
    hidden_rows: frozenset[int] = frozenset()
    merged: frozenset[Cell] = frozenset()
    bad_cells: dict[Cell, tuple[str, str]] = field(default_factory=dict)
    cleaned: tuple[Cell, ...] = ()
    formulas: bool = False  # the sheet holds formulas (a tally sheet usually does)


@dataclass
class RawBook:
    """All sheets of one questionnaire file; ``digest`` is the SHA-256 of its bytes (to spot copies)."""

    path: Path
    sheets: list[RawSheet] = field(default_factory=list)
    digest: str = ""


# Characters that move the cursor, recolour the terminal or reorder text: a file or sheet
# name holding one could forge an "OK …" line, so names are shown with them escaped.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def printable(text: str) -> str:
    """Return ``text`` with control characters shown escaped (``\\x1b``, ``\\n``), for messages."""
    return _UNPRINTABLE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def _cell_name(row: int, column: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column + 1)}{row}"


# --- passwords -----------------------------------------------------------------
# The command line sets the password once for the whole command, so that every
# reader it triggers (also the report's own second pass) can open protected files.
_PASSWORD: ContextVar[Password] = ContextVar("kyodo_analysis_password", default=None)


@contextlib.contextmanager
def password_scope(password: Password) -> Iterator[None]:
    """Use ``password`` (text, or a function of the path) for protected workbooks read in the block."""
    token = _PASSWORD.set(password)
    try:
        yield
    finally:
        _PASSWORD.reset(token)


@contextlib.contextmanager
def _refusals(path: Path) -> Iterator[None]:
    """Turn a refusal from the safety checks into UnreadableFileError naming the file."""
    try:
        yield
    except Refused as refusal:
        raise UnreadableFileError(path, refusal.message) from None


# --- cell text -----------------------------------------------------------------
# Excel writes characters XML cannot hold as _xHHHH_ (and a literal "_x" as _x005F_x);
# openpyxl leaves them encoded, so "_x000D_" would otherwise show up in comments.
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Soft line breaks pasted from PowerPoint/Word (vertical tab, form feed, NEL, U+2028/9)
# become ordinary line breaks; CR LF and lone CR become LF.
_LINE_BREAK = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_SOFT_BREAK = re.compile(r"[\x0b\x0c\x85\u2028\u2029]")
# Other control characters are invisible garbage from copy and paste: removed.
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def _unescape_excel(match: re.Match[str]) -> str:
    return chr(int(match[1], 16))


def clean_cell_text(text: str, *, excel_escapes: bool = False) -> tuple[str, bool]:
    """Return a cell's text without control characters, and whether any was removed or replaced."""
    if excel_escapes and "_x" in text:
        text = _EXCEL_ESCAPE.sub(_unescape_excel, text)
    changed = bool(_INVISIBLE.search(text) or _SOFT_BREAK.search(text))
    if changed:
        text = _INVISIBLE.sub("", text)
    if "\r" in text or changed:
        text = _LINE_BREAK.sub("\n", text)
    return text, changed


CSV_ENCODINGS = ("utf-8-sig", "cp932")


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def is_utf16_text(data: bytes) -> bool:
    """Tell whether bytes are Excel's 「Unicode テキスト」: UTF-16 with a byte-order mark."""
    return data[:2] in _UTF16_BOMS


def decode_csv(path: Path, data: bytes) -> str:
    """Decode CSV bytes as UTF-16 with a BOM, UTF-8 (with or without BOM) or Excel's Shift_JIS (cp932)."""
    if is_utf16_text(data):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise UnreadableFileError(path, "UTF-16 のテキストとして読めません。Excel で開き「CSV UTF-8」形式で保存し直してください。") from error
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFileError(
        path,
        "文字コードを判別できません（UTF-8 でも Shift_JIS でもありません）。"
        "Excel で開き「CSV UTF-8」形式で保存し直してください。",
    )


def read_csv_sheet(path: Path, data: bytes | None = None) -> RawBook:
    """Read a CSV file into a single sheet without interpreting any value (control characters removed)."""
    data = path.read_bytes() if data is None else data
    if not data.strip():
        raise UnreadableFileError(path, "ファイルが空です。回答を入力したファイルか確かめてください。")
    if content_kind(data) in ("zip", "ole"):
        raise UnreadableFileError(
            path, "拡張子は .csv ですが、中身は Excel ブックです。拡張子を .xlsx に直してから指定してください。"
        )
    text = decode_csv(path, data)
    # Excel's 「Unicode テキスト」 (UTF-16, .txt or .csv) separates values by tabs.
    delimiter = "\t" if is_utf16_text(data) else ","
    rows: list[list[object]] = []
    cleaned: list[Cell] = []
    cells = 0
    record_line = 1  # the line the record being read starts on
    with _refusals(path):
        # strict: a download cut inside a quoted value must not pass as a complete file.
        reader = csv.reader(io_module.StringIO(text, newline=""), strict=True, delimiter=delimiter)
        try:
            for r, row in enumerate(reader, start=1):
                record_line = reader.line_num + 1
                if r > MAX_ROWS_PER_SHEET:
                    raise Refused(f"行が多すぎます（上限は {MAX_ROWS_PER_SHEET:,} 行）。"
                                  "回答のない行を削除するか、ファイルを分けてください。")
                cells += len(row)
                if cells > MAX_CELLS:
                    raise Refused(f"セルが多すぎます（上限は {MAX_CELLS:,} 個）。不要な列や行を削除するか、ファイルを分けてください。")
                values: list[object] = []
                for c, value in enumerate(row):
                    if len(value) > MAX_CELL_CHARS:
                        raise Refused(too_long_message(_cell_name(r, c), len(value)))
                    value, changed = clean_cell_text(value)
                    if changed:
                        cleaned.append((r, c))
                    values.append(value if value != "" else None)
                rows.append(values)
        except csv.Error as error:
            if str(error) == "unexpected end of data":
                raise Refused(
                    f"ファイルが途中で切れているようです（{record_line} 行目の「\"」で囲まれた値が閉じられないまま、"
                    "ファイルが終わっています）。ダウンロードや保存が途中で止まった可能性があります。"
                    "元のファイルをもう一度ダウンロードするか、Excel で開き「CSV UTF-8」形式で保存し直してください。"
                ) from error
            if str(error).startswith("field larger than field limit"):
                raise Refused(too_long_message(f"{record_line} 行目", csv.field_size_limit())) from error
            raise Refused(
                f"CSV として読めません（{reader.line_num} 行目: {_csv_reason(error)}）。"
                "Excel で開き「CSV UTF-8」形式で保存し直してください。"
            ) from error
    return RawBook(path, [RawSheet(None, rows, cleaned=tuple(cleaned))])


# The csv module's reasons, in the words of this tool's users.
_CSV_REASONS = (
    ("new-line character seen in unquoted field", "「\"」で囲まれていない値の中に改行があります"),
    ("line contains NUL", "NUL 文字（0x00）が入っています"),
    ("',' expected after '\"'", "閉じた「\"」のすぐ後に区切り（,）以外の文字があります"),
)


def _csv_reason(error: csv.Error) -> str:
    text = str(error)
    return next((japanese for english, japanese in _CSV_REASONS if text.startswith(english)), "形式が正しくありません")


def _used_extent(ws) -> tuple[int, int, str]:
    """Rows and columns from A1 to the farthest cell holding a value (merged blocks included), and where that is.

    Cells that only carry a style (Excel writes them for formatted ranges) hold nothing to read
    and are left out, so formatting does not make the grid larger.
    """
    from openpyxl.utils import get_column_letter

    cells = ws._cells
    bottom = right = (1, 1)
    for (r, c), cell in cells.items():
        if cell.value is not None:
            bottom = max(bottom, (r, c))
            right = max(right, (c, r))
    rows, columns = bottom[0], right[0]
    far = [f"{get_column_letter(bottom[1])}{bottom[0]}", f"{get_column_letter(right[0])}{right[1]}"]
    for block in ws.merged_cells.ranges:
        anchor = cells.get((block.min_row, block.min_col))
        if anchor is not None and anchor.value is not None and (block.max_row > rows or block.max_col > columns):
            rows, columns = max(rows, block.max_row), max(columns, block.max_col)
            far.append(f"結合セル {block.coord}")
    return rows, columns, "・".join(dict.fromkeys(far))


def _sheet_grid(ws, rows: int, columns: int) -> tuple[list[list[object]], frozenset[Cell], dict[Cell, tuple[str, str]], tuple[Cell, ...]]:
    """Values of a sheet (merged blocks filled, text cleaned), merged cells, error cells, cleaned cells.

    Only the cells openpyxl holds are visited: ws.iter_rows() would create a cell object for
    every empty position of the rectangle, which is what a few far-away cells turn into gigabytes.
    """
    grid: list[list[object]] = [[None] * columns for _ in range(rows)]
    errors: dict[Cell, tuple[str, str]] = {}
    cleaned: list[Cell] = []
    for (r, c), cell in sorted(ws._cells.items()):
        value = cell.value
        if value is None or r > rows or c > columns:
            continue
        if cell.data_type == "e":
            errors[(r, c - 1)] = ("error-value", f"「{value}」はエラー値です — 数式か値を直して保存し直してください")
            value = None
        elif isinstance(value, str):
            if len(value) > MAX_CELL_CHARS:
                raise Refused(too_long_message(f"{ws.title}!{_cell_name(r, c - 1)}", len(value)))
            value, changed = clean_cell_text(value, excel_escapes=True)
            if changed:
                cleaned.append((r, c - 1))
        grid[r - 1][c - 1] = value
    merged: set[Cell] = set()
    # A merged block shows its value in the top-left cell only; a person reads it in every cell.
    for block in ws.merged_cells.ranges:
        if block.min_row > rows or block.min_col > columns:
            continue
        value = grid[block.min_row - 1][block.min_col - 1]
        for r in range(block.min_row, min(block.max_row, rows) + 1):
            for c in range(block.min_col, min(block.max_col, columns) + 1):
                if (r, c) != (block.min_row, block.min_col):
                    grid[r - 1][c - 1] = value
                    merged.add((r, c - 1))
    return grid, frozenset(merged), errors, tuple(cleaned)


def uncached_formulas(data: bytes, part: str) -> dict[Cell, tuple[str, str]]:
    """Cells of one worksheet part whose formula has no calculated value saved (never opened in Excel)."""
    from defusedxml.ElementTree import iterparse
    from openpyxl.utils.cell import coordinate_to_tuple

    found: dict[Cell, tuple[str, str]] = {}
    row_number, column = 0, 0
    with zipfile.ZipFile(io_module.BytesIO(data)) as archive, archive.open(part) as stream:
        for event, element in iterparse(stream, events=("start", "end")):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "row":
                if event == "start":  # r is optional on rows and cells: then they follow the previous one
                    row_number = int(element.get("r") or row_number + 1)
                    column = 0
                else:
                    element.clear()
                continue
            if tag != "c" or event == "start":
                continue
            ref = element.get("r")
            if ref:
                row_number, column = coordinate_to_tuple(ref)
            else:
                column += 1
            formula = value = None
            for child in element:
                name = child.tag.rsplit("}", 1)[-1]
                if name == "f":
                    formula = child
                elif name == "v":
                    value = child
            # An empty <v/> is a saved empty text only when the cell says its result is text.
            cached = value is not None and (bool(value.text) or element.get("t") == "str")
            if formula is not None and not cached:
                shown = f"={formula.text}" if formula.text else "（共有の数式）"
                found[(row_number, column - 1)] = (
                    "uncalculated-formula",
                    f"数式 {shown} の計算結果がファイルに保存されていません — 空欄とはみなしません。"
                    "Excel で開いて上書き保存してから、もう一度読み込んでください"
                )
            element.clear()
    return found


def read_xlsx_book(path: Path, data: bytes | None = None, *, password: Password = None) -> RawBook:
    """Read every worksheet of a checked .xlsx workbook (cached formula values, merged cells filled)."""
    require_defused_xml()
    data = path.read_bytes() if data is None else data
    with _refusals(path):
        kind = content_kind(data)
        if kind == "ole":
            data = decrypt_workbook(data, path, password)
        elif kind != "zip":
            refuse_non_workbook(kind)
        package = check_package(data)
        try:
            workbook = openpyxl.load_workbook(io_module.BytesIO(data), data_only=True)
        except Exception as exc:  # openpyxl raises many types for damaged files; explain them
            raise Refused(explain_load_failure(data, exc)) from exc
        try:
            uncached = {title: uncached_formulas(data, part) for title, part in package.formula_sheets().items()}
        except Exception as exc:  # openpyxl could read it, so this is hardly possible: say it is damaged
            raise Refused(explain_load_failure(data, exc)) from exc
        # openpyxl held only the cells in the file; the grids below cost one slot per position.
        extents = [_used_extent(ws) for ws in workbook.worksheets]
        total = sum(rows * columns for rows, columns, _ in extents)
        if total > MAX_USED_AREA:
            (rows, columns, far), ws = max(zip(extents, workbook.worksheets), key=lambda pair: pair[0][0] * pair[0][1])
            raise Refused(used_area_message(ws.title, rows, columns, total, far))
    sheets = []
    with_formulas = set(package.formula_sheets())
    for ws, (rows, columns, _) in zip(workbook.worksheets, extents):
        hidden_rows = frozenset(r for r, dim in ws.row_dimensions.items() if dim.hidden)
        with _refusals(path):
            grid, merged, bad, cleaned = _sheet_grid(ws, rows, columns)
        bad.update(uncached.get(ws.title, {}))
        sheets.append(RawSheet(ws.title, grid, ws.sheet_state != "visible", hidden_rows, merged, bad, cleaned,
                               ws.title in with_formulas))
    return RawBook(path, sheets)


def read_ods_book(path: Path, data: bytes | None = None) -> RawBook:
    """Read every sheet of an OpenDocument spreadsheet (.ods, LibreOffice's own format) with pandas and odfpy.

    The same limits as for .xlsx apply; odfpy gives no hidden or merged state, so every
    sheet is read as shown.
    """
    data = path.read_bytes() if data is None else data
    with _refusals(path):
        if content_kind(data) != "zip":
            refuse_non_workbook(content_kind(data))
        check_ods_package(data)
        try:
            frames = pd.read_excel(io_module.BytesIO(data), sheet_name=None, header=None, engine="odf", dtype=object)
        except Exception as exc:  # odfpy raises many types for damaged files
            raise Refused("OpenDocument スプレッドシート（.ods）として読めません（ファイルが壊れている可能性があります）。"
                          "LibreOffice Calc で開き、保存し直してください。") from exc
        cells = sum(frame.size for frame in frames.values())
        if cells > MAX_CELLS:
            raise Refused(f"セルが多すぎます（ブック全体で {cells:,} 個。上限は {MAX_CELLS:,} 個）。"
                          "不要なシート・行・列を削除して保存し直すか、ファイルを分けてください。")
        sheets = []
        for title, frame in frames.items():
            if len(frame) > MAX_ROWS_PER_SHEET:
                raise Refused(f"シート「{title}」の行が多すぎます（{len(frame):,} 行。上限は {MAX_ROWS_PER_SHEET:,} 行）。"
                              "回答のない行を削除するか、ファイルを分けて保存し直してください。")
            rows: list[list[object]] = []
            cleaned: list[Cell] = []
            for r, record in enumerate(frame.itertuples(index=False), start=1):
                values: list[object] = []
                for c, value in enumerate(record):
                    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
                        value = None
                    elif isinstance(value, pd.Timestamp):
                        value = value.to_pydatetime()
                    elif isinstance(value, np.generic):
                        value = value.item()
                    if isinstance(value, str):
                        if len(value) > MAX_CELL_CHARS:
                            raise Refused(too_long_message(f"{title}!{_cell_name(r, c)}", len(value)))
                        value, changed = clean_cell_text(value)
                        if changed:
                            cleaned.append((r, c))
                    values.append(value)
                rows.append(values)
            sheets.append(RawSheet(str(title), rows, cleaned=tuple(cleaned)))
    return RawBook(path, sheets)


# What read_raw accepts by name: .xls and .xlsb too, so a real one gets its own advice.
INPUT_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".ods", ".xls", ".xlsb")
# Read only when it is Excel's 「Unicode テキスト」 (UTF-16 with a BOM, tab-separated).
UNICODE_TEXT_SUFFIX = ".txt"


def _starts_utf16(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return is_utf16_text(handle.read(2))
    except OSError:
        return False


def read_raw(path: str | os.PathLike[str], *, password: Password = None) -> RawBook:
    """Read a questionnaire file (.xlsx or .csv) into raw sheets, or raise UnreadableFileError.

    ``password`` opens a password-protected workbook (decrypted in memory only); without it,
    the one set by ``password_scope`` is used.
    """
    path = Path(path)
    if path.is_symlink():
        # A link out of its folder (x.csv -> /etc/passwd) would read a file nobody put there.
        target = path.resolve()
        if not target.is_relative_to(path.parent.resolve()) or target.is_dir():
            raise UnreadableFileError(
                path, "シンボリックリンク（ショートカット）で、リンク先がこのフォルダの外かフォルダなので読みません。"
                "ファイルそのものをフォルダにコピーしてください。")
    if path.is_dir():
        raise UnreadableFileError(path, "フォルダです。アンケートのファイルを指定してください。")
    if not path.is_file():
        raise UnreadableFileError(path, "ファイルが見つかりません。パスを確かめてください。")
    suffix = path.suffix.lower()
    if suffix not in INPUT_SUFFIXES and not (suffix == UNICODE_TEXT_SUFFIX and _starts_utf16(path)):
        raise UnreadableFileError(path, f"対応していない形式です（{path.suffix or '拡張子なし'}）。アンケートのファイルなら .xlsx・.ods・.csv で保存し直し、"
            "そうでなければ入力フォルダの外に移してください。")
    try:
        size = path.stat().st_size
        with _refusals(path):
            check_file_size(size)
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableFileError(
            path, f"ファイルを開けません（{error.strerror}）。読み取りの権限があるか、他のアプリが使っていないか確かめてください。"
        ) from error
    if suffix in (".csv", UNICODE_TEXT_SUFFIX):
        book = read_csv_sheet(path, data)
    elif suffix == ".ods":
        book = read_ods_book(path, data)
    else:
        # .xls and .xlsb too: an .xlsx renamed is read, a real .xls or .xlsb gets its own advice.
        book = read_xlsx_book(path, data, password=password if password is not None else _PASSWORD.get())
    book.digest = hashlib.sha256(data).hexdigest()
    return book

