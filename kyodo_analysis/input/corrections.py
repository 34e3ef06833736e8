"""Hand corrections of theme tags: a review workbook out, a corrections workbook back in.

The analyst gets every comment with its tags and the words that fired
(``write_review``), marks additions and removals in the 修正 columns, and saves the
workbook as the year's corrections file. Every later run reads it (``read_corrections``)
and applies it (``apply_corrections``) on top of the rules, which it never changes.
A correction is keyed by the comment's file, sheet and cell *and* a hash of its text,
so a correction made for one text is never applied to a different text in that cell.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..export import clean_text, save_workbook
from ..errors import KyodoError
from ..rules.load import default_theme_names
from .survey import CORRECTIONS_FILE_NAME

ADD, REMOVE = "追加", "削除"
MARK = "○"
SHEET = "テーマの確認"
CORRECTION_PREFIX = "修正:"
KEY_COLUMN = "照合キー"
PLACE_COLUMNS = ("ファイル", "シート", "セル")
INFO_COLUMNS = ("年度", "区分", "設問", "記述", "テーマ", "当たった語")
NOTE_COLUMN = "メモ"
APPLIED_COLUMNS = ("file", "sheet", "cell", "theme", "correction")


class CorrectionsError(KyodoError, ValueError):
    """A corrections file that cannot be used; ``problems`` has one Japanese line per cell."""

    code = "corrections"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def text_key(text: object) -> str:
    """Return the short hash of a comment's text that a correction is tied to."""
    return hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:16]


def _place(file: object, sheet: object, cell: object) -> tuple[str, str, str]:
    return tuple("" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).strip()
                 for v in (file, sheet, cell))  # type: ignore[return-value]


@dataclass(frozen=True)
class Correction:
    """One hand correction: add or remove ``theme`` for the comment at a place with a text key."""

    file: str
    sheet: str
    cell: str
    key: str
    theme: str
    action: str
    source: str  # where it was written, e.g. theme_corrections.xlsx テーマの確認!T5


@dataclass
class Applied:
    """The tags after corrections, the corrections applied, and notes on those left out."""

    tagged: pd.DataFrame
    applied: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Return how many tags were changed by hand."""
        return len(self.applied)


def find_corrections(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Return the corrections files (``theme_corrections.xlsx``) in the inputs' folders."""
    found: list[Path] = []
    for given in map(Path, paths):
        folder = given if given.is_dir() else given.parent
        candidate = folder / CORRECTIONS_FILE_NAME
        if candidate.is_file() and candidate.resolve() not in [p.resolve() for p in found]:
            found.append(candidate)
    return found


def write_review(
    tagged: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    themes: Sequence[str],
    corrections: Sequence[Correction] = (),
) -> Path:
    """Write the review workbook: one row per comment, ○ per tagged theme, 修正 drop-downs.

    ``tagged`` needs ``themes`` and ``matched_words`` (see ``themes.with_matched_words``) and
    holds the rules' tags, not corrected ones; corrections already made for the same text
    are filled in, so a new review keeps them.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation


    made = {(c.file, c.sheet, c.cell, c.key, c.theme): c.action for c in corrections}
    header = [*PLACE_COLUMNS, *INFO_COLUMNS, *themes, *(CORRECTION_PREFIX + t for t in themes),
              NOTE_COLUMN, KEY_COLUMN]
    workbook = Workbook()
    ws = workbook.active
    ws.title = SHEET
    ws.append(header)
    for row in tagged.itertuples(index=False):
        file, sheet, cell = _place(getattr(row, "file", ""), getattr(row, "sheet", ""), getattr(row, "cell", ""))
        key = text_key(row.text)
        tags = tuple(row.themes)
        words = getattr(row, "matched_words", {}) or {}
        year = getattr(row, "fiscal_year", None)
        ws.append([
            file, sheet, cell, None if pd.isna(year) else int(year),
            *(None if pd.isna(v) else str(v) for v in (getattr(row, "group", None), getattr(row, "question", None))),
            clean_text(str(row.text)), "・".join(tags),
            " ／ ".join(f"{t}: {words[t]}" for t in tags if words.get(t)),
            *(MARK if t in tags else None for t in themes),
            *(made.get((file, sheet, cell, key, t)) for t in themes),
            None, key,
        ])
    for cells in ws.iter_rows():
        for c in cells:
            if isinstance(c.value, str):
                c.data_type = "s"  # a comment starting with = stays text
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    first_fix = len(PLACE_COLUMNS) + len(INFO_COLUMNS) + len(themes) + 1
    widths = {"記述": 60, "当たった語": 40, "テーマ": 24, NOTE_COLUMN: 30, KEY_COLUMN: 18}
    for number, name in enumerate(header, 1):
        letter = get_column_letter(number)
        ws[f"{letter}1"].font = bold
        ws[f"{letter}1"].alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[letter].width = widths.get(name, 12 if number >= first_fix - len(themes) else 10)
    for cells in ws.iter_rows(min_row=2):
        for c in cells:
            c.alignment = wrap
    fill = PatternFill("solid", fgColor="FFF2CC")
    last = max(ws.max_row, 2)
    if themes:
        validation = DataValidation(type="list", formula1=f'"{ADD},{REMOVE}"', allow_blank=True,
                                    showErrorMessage=True, errorTitle="修正",
                                    error=f"「{ADD}」か「{REMOVE}」を選んでください。")
        start, end = get_column_letter(first_fix), get_column_letter(first_fix + len(themes) - 1)
        validation.add(f"{start}2:{end}{last}")
        ws.add_data_validation(validation)
        for cells in ws.iter_rows(min_row=1, min_col=first_fix, max_col=first_fix + len(themes) - 1):
            for c in cells:
                c.fill = fill
    ws.freeze_panes = "D2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{last}"
    return save_workbook(workbook, path)


def read_corrections(path: str | os.PathLike[str], *, themes: Sequence[str]) -> list[Correction]:
    """Read the corrections an analyst marked in a saved review workbook."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    path = Path(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError as exc:
        raise CorrectionsError([f"{path}: テーマの修正ファイルが見つかりません。"]) from exc
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise CorrectionsError([f"{path.name}: テーマの修正ファイル（.xlsx）として読めません（{type(exc).__name__}）。"]) from exc
    try:
        ws = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = [str(v).strip() if v is not None else "" for v in next(rows, ())]
        missing = [c for c in (*PLACE_COLUMNS, KEY_COLUMN) if c not in header]
        if missing:
            raise CorrectionsError([f"{path.name} {ws.title}!1行目: 列「{'」「'.join(missing)}」がありません"
                                    "（themes --review で作った表を使ってください）。"])
        where = {name: header.index(name) for name in (*PLACE_COLUMNS, KEY_COLUMN)}
        fixes = {i: name[len(CORRECTION_PREFIX):].strip() for i, name in enumerate(header)
                 if name.startswith(CORRECTION_PREFIX)}
        problems, out = [], []
        for i, theme in fixes.items():
            if theme not in themes:
                problems.append(f"{path.name} {ws.title}!{get_column_letter(i + 1)}1: 「{theme}」という"
                                f"テーマはありません（テーマ: {'／'.join(themes)}）")
        for number, values in enumerate(rows, 2):
            values = list(values) + [None] * (len(header) - len(values))
            for i, theme in fixes.items():
                value = values[i]
                if value is None or not str(value).strip():
                    continue
                cell = f"{ws.title}!{get_column_letter(i + 1)}{number}"
                action = str(value).strip()
                if action not in (ADD, REMOVE):
                    problems.append(f"{path.name} {cell}: 「{action}」は修正の値にありません（{ADD}／{REMOVE}）")
                    continue
                file, sheet, place = _place(values[where["ファイル"]], values[where["シート"]], values[where["セル"]])
                key = "" if values[where[KEY_COLUMN]] is None else str(values[where[KEY_COLUMN]]).strip()
                if not file or not place or not key:
                    problems.append(f"{path.name} {ws.title}!A{number}: ファイル・セル・照合キーのどれかが空です")
                    continue
                if theme in themes:
                    out.append(Correction(file, sheet, place, key, theme, action, f"{path.name} {cell}"))
        if problems:
            raise CorrectionsError(problems)
        return out
    finally:
        workbook.close()


def load_corrections(paths: Iterable[str | os.PathLike[str]], *, themes: Sequence[str]) -> list[Correction]:
    """Read several corrections files; all problems are collected before raising."""
    out, problems = [], []
    for path in paths:
        try:
            out.extend(read_corrections(path, themes=themes))
        except CorrectionsError as exc:
            problems.extend(exc.problems)
    if problems:
        raise CorrectionsError(problems)
    return out


def apply_corrections(
    tagged: pd.DataFrame, corrections: Sequence[Correction], *, themes: Sequence[str] | None = None,
) -> Applied:
    """Apply hand corrections to a tagged frame; a comment whose text changed keeps its rule tags.

    Themes stay in the order of the rule table (``themes``, default the bundled one). A correction that changes nothing (adding a theme the
    rules already give) is not counted.
    """
    out = tagged.copy()
    if not corrections or out.empty:
        return Applied(out, pd.DataFrame(columns=list(APPLIED_COLUMNS)))
    by_place: dict[tuple[str, str, str], list[Correction]] = {}
    for c in corrections:
        by_place.setdefault((c.file, c.sheet, c.cell), []).append(c)
    order = {name: i for i, name in enumerate(_theme_order(corrections, out, themes))}
    new_tags, applied, notes = [], [], []
    stale: set[tuple[str, str, str]] = set()
    for row in out.itertuples(index=False):
        tags = tuple(row.themes)
        place = _place(getattr(row, "file", ""), getattr(row, "sheet", ""), getattr(row, "cell", ""))
        mine = by_place.get(place, [])
        if mine:
            key = text_key(row.text)
            current = [c for c in mine if c.key == key]
            if len(current) < len(mine) and place not in stale:
                stale.add(place)
                file, sheet, cell = place
                notes.append(f"{file} {sheet + '!' if sheet else ''}{cell}: 記述が修正ファイルを作ったときと"
                             f"変わっているため、このセルのテーマの手作業の修正は使っていません"
                             f"（{mine[0].source}）。もう一度 --review で確認してください。")
            for c in current:
                if c.action == ADD and c.theme not in tags:
                    tags = tuple(sorted((*tags, c.theme), key=lambda t: order.get(t, len(order))))
                elif c.action == REMOVE and c.theme in tags:
                    tags = tuple(t for t in tags if t != c.theme)
                else:
                    continue
                applied.append({"file": place[0], "sheet": place[1], "cell": place[2],
                                "theme": c.theme, "correction": c.action})
        new_tags.append(tags)
    out["themes"] = pd.Series(new_tags, index=out.index, dtype=object)
    return Applied(out, pd.DataFrame(applied, columns=list(APPLIED_COLUMNS)), notes)


def _theme_order(corrections: Sequence[Correction], tagged: pd.DataFrame,
                 themes: Sequence[str] | None) -> list[str]:

    names = list(themes or default_theme_names())
    for tags in tagged["themes"]:
        names += [t for t in tags if t not in names]
    return names + [c.theme for c in corrections if c.theme not in names]


def corrected_note(count: int) -> str:
    """Say in Japanese how many tags were corrected by hand."""
    return f"テーマの判定のうち {count} 件は、手作業の修正（{CORRECTIONS_FILE_NAME} など）を反映しています。"

