"""Writing outputs: CSV and xlsx tables written atomically, deterministically and spreadsheet-safe."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

# A fixed timestamp makes the same content give byte-identical .xlsx files.
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
# openpyxl stamps "modified" with the clock at save time, whatever the workbook says.
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _atomic_target(path: Path) -> Path:
    """Return a temporary path beside ``path`` so a rename can move it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp makes the file private (0600); an output file should get the usual permissions.
    os.chmod(tmp, 0o666 & ~_umask())
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


_TEMPDIR_LOCK = threading.Lock()


@contextlib.contextmanager
def _library_temp_files_in(folder: Path) -> Iterator[None]:
    """Make tempfile users (openpyxl writes each sheet to a temp file first) write inside ``folder``.

    The sheet holds what the output file will hold, so it stays beside the output, in a
    private folder removed afterwards, instead of the shared system temp folder.
    """
    with _TEMPDIR_LOCK:
        private = tempfile.mkdtemp(prefix=".tmp.", dir=folder)
        previous = tempfile.tempdir
        tempfile.tempdir = private
        try:
            yield
        finally:
            tempfile.tempdir = previous
            shutil.rmtree(private, ignore_errors=True)


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
        with _library_temp_files_in(path.parent):
            workbook.save(tmp)
        normalise_zip(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


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


def spreadsheet_text(value: object) -> object:
    """Make a value safe for a CSV cell: illegal control characters removed, formula-like text prefixed with '."""
    if isinstance(value, str):
        value = clean_text(value)
        return "'" + value if is_formula_like(value) else value
    return value


def _csv_header(name: object) -> str:
    return str(spreadsheet_text(str(name)))


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells and column names a spreadsheet can never run as formulas."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].astype(object).map(spreadsheet_text)
    # Column names can come from the data (a header text, a theme name): same treatment.
    safe.columns = [_csv_header(c) for c in safe.columns]
    return safe


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a table as CSV in UTF-8 with BOM (Excel reads Japanese right), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = spreadsheet_safe(frame)
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
        ws.append([clean_text(str(c)) for c in frame.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for record in frame.itertuples(index=False):
            ws.append([_xlsx_value(v) for v in record])
        for row in ws.iter_rows():
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
def atomic_files(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging folder whose files move into ``target`` only if the block succeeds.

    Unlike atomic_directory, files already in ``target`` that the block does not write stay.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging.", dir=target))
    try:
        yield staging
        # Every file is complete before the first one replaces an old one.
        for path in sorted(staging.iterdir()):
            os.replace(path, target / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
    # mkdtemp makes the folder private (0700); the output folder gets the usual permissions.
    os.chmod(staging, 0o777 & ~_umask())
    backup = target.with_name(f".{target.name}.old")
    shutil.rmtree(backup, ignore_errors=True)
    if target.exists():
        os.replace(target, backup)
    os.replace(staging, target)
    shutil.rmtree(backup, ignore_errors=True)

