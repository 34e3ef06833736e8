"""Write real questionnaire files for tests: .xlsx through openpyxl, .csv in a chosen encoding."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook

CANONICAL_HEADER = ("回答者ID", "区分", "所属", "問１　協働したいと思いますか？", "その理由", "講演について")
MARK_HEADER = ("No.", "所属", "思う", "どちらとも言えない", "思わない", "理由")

Rows = Sequence[Sequence[object]]


def write_xlsx(path: Path, sheets: dict[str, Rows]) -> Path:
    """Write each sheet's rows from A1 down (None leaves a cell empty)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        ws = workbook.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: Rows, encoding: str = "utf-8-sig") -> Path:
    """Write rows as CSV in the given encoding with Excel's CRLF line ends."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows([["" if v is None else v for v in row] for row in rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def canonical(path: Path, data: Rows, *, title: str | None = "平成29年度 協働のまちづくりワークショップ",
              sheet: str = "回答", overview_date: dt.date | None = None) -> Path:
    """A workbook in the canonical layout: title row, blank row, header on row 3."""
    rows: list[Sequence[object]] = [[title], []] if title else []
    rows += [CANONICAL_HEADER, *data]
    sheets: dict[str, Rows] = {sheet: rows}
    if overview_date is not None:
        sheets["概要"] = [["開催日", dt.datetime.combine(overview_date, dt.time())]]
    return write_xlsx(path, sheets)
