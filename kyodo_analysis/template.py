"""A blank input workbook in the canonical layout, with drop-down lists."""
from __future__ import annotations

import os
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation

from .export import save_workbook
from .input.layout import ANSWER_CHOICES, GROUP_ORDER, NO_ANSWER

RESPONSE_SHEET = "回答"
HEADERS = ("回答者ID", "区分", "所属", "問1 協働したいと思いますか？", "その理由", "講演について", "ワークショップについて")
# Enough rows for a year's workshop; pre-numbered IDs are ignored while a row is otherwise empty.
TEMPLATE_ROWS = 150
_FIRST_DATA_ROW = 4


def _list_validation(choices: tuple[str, ...], title: str) -> DataValidation:
    rule = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
    rule.error = f"{'・'.join(choices)} から選んでください（空欄は{NO_ANSWER}）。"
    rule.errorTitle = f"{title}の値"
    rule.showErrorMessage = True
    return rule


def build_template(year: int | None = None) -> Workbook:
    """Build the blank questionnaire workbook (response sheet plus 概要)."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = RESPONSE_SHEET
    ws["A1"] = "協働のまちづくりワークショップ アンケート入力表"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = "1 行に 1 人分。区分と問1 はプルダウンから選んでください。年度と開催日は「概要」シートへ。"
    for col, header in enumerate(HEADERS, start=1):
        cell = ws.cell(row=3, column=col, value=header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    last = _FIRST_DATA_ROW + TEMPLATE_ROWS - 1
    for number, row in enumerate(range(_FIRST_DATA_ROW, last + 1), start=1):
        ws.cell(row=row, column=1, value=number)
    group_rule = _list_validation(GROUP_ORDER, "区分")
    answer_rule = _list_validation(ANSWER_CHOICES, "問1")
    for rule, column in ((group_rule, "B"), (answer_rule, "D")):
        ws.add_data_validation(rule)
        rule.add(f"{column}{_FIRST_DATA_ROW}:{column}{last}")
    for column, width in zip("ABCDEFG", (10, 10, 24, 22, 50, 40, 40)):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = f"A{_FIRST_DATA_ROW}"

    overview = workbook.create_sheet("概要")
    for row, (label, value) in enumerate(
        (("年度", year), ("開催日", None), ("会場", None), ("参加者数", None), ("アンケート回答数", None)), start=1
    ):
        overview.cell(row=row, column=1, value=label).font = Font(bold=True)
        overview.cell(row=row, column=2, value=value)
    # Help text holds no year: a reader must never take an example for the year (B1 left blank).
    overview["D1"] = "← B 列に、年度を西暦か和暦で、開催日を日付で入力してください。"
    overview.column_dimensions["A"].width = 18
    overview.column_dimensions["B"].width = 18
    return workbook


def write_template(path: str | os.PathLike[str], *, year: int | None = None) -> Path:
    """Write the blank input workbook to ``path`` (atomically)."""
    return save_workbook(build_template(year), path)
