"""Reading questionnaire files and writing outputs atomically and deterministically."""
from __future__ import annotations

import contextlib
import csv
import io as io_module
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

# A fixed timestamp makes the same content give byte-identical .xlsx files.
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
# openpyxl stamps "modified" with the clock at save time, whatever the workbook says.
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _atomic_target(path: Path) -> Path:
    """Return a temporary path beside ``path`` so a rename can move it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp makes the file private (0600); an output file should get the usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return Path(tmp)


def normalise_zip(path: Path) -> None:
    """Rewrite a zip container with fixed entry timestamps and a stable entry order."""
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _MODIFIED.sub(rb"\g<1>1980-01-01T00:00:00Z\g<2>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIMESTAMP)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, data)


def save_workbook(workbook: Workbook, path: str | os.PathLike[str]) -> Path:
    """Save an openpyxl workbook atomically, byte-identical for identical content."""
    import datetime as dt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime(*FIXED_TIMESTAMP)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.creator = "kyodo-analysis"
    workbook.properties.lastModifiedBy = None
    tmp = _atomic_target(path)
    try:
        workbook.save(tmp)
        normalise_zip(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class UnreadableFileError(Exception):
    """A file that cannot be read as a questionnaire at all (exit code 2)."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"{self.path.name}: {message}")


@dataclass
class RawSheet:
    """The cell values of one sheet, as typed; ``rows[i][j]`` is row i+1, column j+1."""

    name: str | None  # None for a CSV file, which has no sheets
    rows: list[list[object]]
    hidden: bool = False
    hidden_rows: frozenset[int] = frozenset()


@dataclass
class RawBook:
    """All sheets of one questionnaire file."""

    path: Path
    sheets: list[RawSheet] = field(default_factory=list)


CSV_ENCODINGS = ("utf-8-sig", "cp932")


def decode_csv(path: Path, data: bytes) -> str:
    """Decode CSV bytes as UTF-8 (with or without BOM) or, failing that, as Excel's Shift_JIS (cp932)."""
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


def read_csv_sheet(path: Path) -> RawBook:
    """Read a CSV file into a single sheet without interpreting any value."""
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFileError(path, "ファイルが空です。")
    text = decode_csv(path, data)
    rows = [list(row) for row in csv.reader(io_module.StringIO(text, newline=""))]
    return RawBook(path, [RawSheet(None, [[v if v != "" else None for v in row] for row in rows])])


def _sheet_grid(ws) -> list[list[object]]:
    grid = [list(row) for row in ws.iter_rows(values_only=True)]
    # A merged block shows its value in the top-left cell only; a person reads it in every cell.
    for merged in ws.merged_cells.ranges:
        value = grid[merged.min_row - 1][merged.min_col - 1] if merged.min_row <= len(grid) else None
        for r in range(merged.min_row, min(merged.max_row, len(grid)) + 1):
            for c in range(merged.min_col, merged.max_col + 1):
                if c <= len(grid[r - 1]):
                    grid[r - 1][c - 1] = value
    return grid


def read_xlsx_book(path: Path) -> RawBook:
    """Read every worksheet of an .xlsx workbook (cached formula values, merged cells filled)."""
    try:
        workbook = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files; classify() explains them
        raise UnreadableFileError(path, classify_failure(path, exc)) from exc
    sheets = []
    for ws in workbook.worksheets:
        hidden_rows = frozenset(r for r, dim in ws.row_dimensions.items() if dim.hidden)
        sheets.append(RawSheet(ws.title, _sheet_grid(ws), ws.sheet_state != "visible", hidden_rows))
    return RawBook(path, sheets)


_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def classify_failure(path: Path, exc: Exception) -> str:
    """Explain in Japanese why a workbook could not be opened, and what to do."""
    head = path.read_bytes()[:8] if path.exists() else b""
    if head.startswith(_OLE2_MAGIC):
        return (
            "パスワードで保護されたファイルか、古い Excel 形式（.xls）です。"
            "Excel で開き、パスワードを外して「Excel ブック（.xlsx）」として保存し直してください。"
        )
    if not head.startswith(b"PK"):
        return "Excel ブック（.xlsx）ではありません。中身が別の形式のファイルに .xlsx の名前が付いています。"
    return (
        f"Excel ブックとして読めません（壊れているか、途中までしか保存されていません: {type(exc).__name__}）。"
        "元のファイルを Excel で開けるか確かめ、保存し直してください。"
    )


def read_raw(path: str | os.PathLike[str]) -> RawBook:
    """Read a questionnaire file (.xlsx or .csv) into raw sheets, or raise UnreadableFileError."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFileError(path, "ファイルが見つかりません。パスを確かめてください。")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv_sheet(path)
    if suffix in (".xlsx", ".xlsm"):
        if path.stat().st_size == 0:
            raise UnreadableFileError(path, "ファイルが空です。")
        return read_xlsx_book(path)
    if suffix == ".xls":
        raise UnreadableFileError(
            path, "古い Excel 形式（.xls）は読めません。Excel で開き「Excel ブック（.xlsx）」として保存し直してください。"
        )
    raise UnreadableFileError(path, f"対応していない形式です（{path.suffix or '拡張子なし'}）。.xlsx か .csv を指定してください。")


# --- writing tables -----------------------------------------------------------
# Spreadsheet programs run a cell that starts with one of these as a formula
# (OWASP "CSV injection"); full-width forms count because Excel accepts them too.
_FORMULA_START = tuple("=+-@\t\r\n＝＋－＠")


def is_formula_like(text: str) -> bool:
    """Tell whether a spreadsheet would treat this text as a formula."""
    return text.startswith(_FORMULA_START)


def clean_text(text: str) -> str:
    """Remove control characters that .xlsx cannot hold (tab and line breaks are kept)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _csv_value(value: object) -> object:
    if isinstance(value, str):
        value = clean_text(value)
        return "'" + value if is_formula_like(value) else value
    return value


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a table as CSV in UTF-8 with BOM (Excel reads Japanese right), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].astype(object).map(_csv_value)
    tmp = _atomic_target(path)
    try:
        safe.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _xlsx_value(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, tuple | list):
        return "・".join(map(str, value))
    return value


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | os.PathLike[str]) -> Path:
    """Write tables to one .xlsx (a sheet each) where every text cell stays text, atomically."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, frame in sheets.items():
        ws = workbook.create_sheet(name)
        ws.append([str(c) for c in frame.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for record in frame.itertuples(index=False):
            ws.append([_xlsx_value(v) for v in record])
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # openpyxl would store "=…" as a formula otherwise
        ws.freeze_panes = "A2"
    return save_workbook(workbook, path)


def write_table(frame: pd.DataFrame, stem: str | os.PathLike[str], *, sheet: str = "表") -> list[Path]:
    """Write one table as ``stem.csv`` and ``stem.xlsx``."""
    stem = Path(stem)
    return [write_csv(frame, stem.with_suffix(".csv")), write_xlsx({sheet: frame}, stem.with_suffix(".xlsx"))]


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh staging folder that replaces ``target`` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    backup = target.with_name(f".{target.name}.old")
    shutil.rmtree(backup, ignore_errors=True)
    if target.exists():
        os.replace(target, backup)
    os.replace(staging, target)
    shutil.rmtree(backup, ignore_errors=True)
