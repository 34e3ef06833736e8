"""The codebook: every column's role, question name and options, as TOML the analyst can edit.

``codebook_text`` writes the inferred roles; ``read_codebook`` reads an edited file back
(problems carry the codebook line); ``apply_codebook`` lets explicit entries win over inference
and checks the answers against each question's options (problems carry the sheet cell).
"""
from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from openpyxl.utils import get_column_letter

from ..errors import check_code
from .layout import cell_text, match_key
from .roles import CHOICE_ROLES, ROLES, ColumnRole, is_missing, split_multiple

DEFAULT_NAME = "codebook.toml"

# Stable problem codes (documented in errors.CODES).
SYNTAX = check_code("codebook-syntax")
UNKNOWN_ROLE = check_code("codebook-unknown-role")
MISSING_COLUMN = check_code("codebook-missing-column")
OUT_OF_OPTIONS = check_code("codebook-unknown-option")
BAD_ENTRY = check_code("codebook-bad-entry")

_ENTRY_KEYS = ("header", "role", "question", "options", "scale")
_HEADER = """\
# 設問表（コードブック）。kyodo-analysis codebook が列の見出しと値から推定したものです。
# 書き換えて data/raw/codebook.toml に置くか、--codebook で渡すと、推定より優先されます。
# role に書けるもの: {roles}
# options は選択肢（評価の尺度は良い方から順に）。ここにない値の回答は誤りとして知らせます。
"""


@dataclass(frozen=True, order=True)
class CodebookProblem:
    """One thing wrong with a codebook or with an answer it rules out, with a stable code."""

    code: str
    file: str
    message: str
    sheet: str | None = None
    cell: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            where = f"{self.file} {self.line}行目"
        elif self.sheet and self.cell:
            where = f"{self.file} {self.sheet}!{self.cell}"
        else:
            where = self.file
        return f"{where}: [{self.code}] {self.message}"


@dataclass(frozen=True)
class Entry:
    """One ``[[column]]`` of a codebook, with the line it starts on."""

    header: str
    role: str
    question: str | None
    options: tuple[str, ...] | None
    scale: str | None
    line: int


@dataclass(frozen=True)
class Codebook:
    """A read codebook: its entries by header key, and where it came from."""

    path: str
    entries: dict[str, Entry]


def _string(text: str) -> str:
    # A JSON string without ASCII escaping is a valid TOML basic string.
    return json.dumps(text, ensure_ascii=False)


def merge_roles(per_sheet: Iterable[Sequence[ColumnRole]]) -> list[ColumnRole]:
    """One role per header across sheets: the first seen wins, options are the union in first-seen order."""
    merged: dict[str, ColumnRole] = {}
    for roles in per_sheet:
        for column in roles:
            key = match_key(column.header)
            seen = merged.get(key)
            if seen is None:
                merged[key] = column
            elif seen.role == column.role and seen.scale is None and column.options:
                options = tuple(dict.fromkeys((*seen.options, *column.options)))
                merged[key] = replace(seen, options=options)
    return list(merged.values())


def codebook_text(roles: Sequence[ColumnRole]) -> str:
    """Write roles as codebook TOML (deterministic: the same roles give the same bytes)."""
    lines = [_HEADER.format(roles=" / ".join(ROLES))]
    for column in roles:
        lines.append("[[column]]")
        lines.append(f"header = {_string(column.header)}")
        lines.append(f"role = {_string(column.role)}")
        lines.append(f"question = {_string(column.question)}")
        if column.scale:
            lines.append(f"scale = {_string(column.scale)}")
        if column.role in CHOICE_ROLES:
            lines.append(f"options = [{', '.join(_string(o) for o in column.options)}]")
        lines.append("")
    return "\n".join(lines)


_ERROR_LINE = re.compile(r"at line (\d+)")


def _entry_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """For each ``[[column]]``: its line number and the line of each key inside it."""
    found: list[tuple[int, dict[str, int]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.replace(" ", "") == "[[column]]":
            found.append((number, {}))
        elif found and (m := re.match(r"^([A-Za-z_]+)\s*=", stripped)):
            found[-1][1].setdefault(m.group(1), number)
    return found


def read_codebook(text: str, path: str | Path) -> tuple[Codebook, list[CodebookProblem]]:
    """Read codebook TOML; every problem names the codebook line."""
    name = str(path)
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        m = _ERROR_LINE.search(str(error))
        line = int(m.group(1)) if m else None
        return Codebook(name, {}), [CodebookProblem(SYNTAX, name, "TOML として読めません。", line=line)]
    problems: list[CodebookProblem] = []
    for key in table:
        if key != "column":
            problems.append(CodebookProblem(BAD_ENTRY, name, f"知らない項目「{key}」があります（使えるのは [[column]] だけです）。"))
    columns = table.get("column", [])
    if not isinstance(columns, list):
        columns = []
        problems.append(CodebookProblem(BAD_ENTRY, name, "column は [[column]] の形で書いてください。"))
    lines = _entry_lines(text)
    entries: dict[str, Entry] = {}
    for index, item in enumerate(columns):
        start, keys = lines[index] if index < len(lines) else (None, {})

        def problem(code: str, message: str, key: str | None = None) -> None:
            problems.append(CodebookProblem(code, name, message, line=keys.get(key, start) if key else start))

        for key in item:
            if key not in _ENTRY_KEYS:
                problem(BAD_ENTRY, f"知らない項目「{key}」です（使えるのは {' / '.join(_ENTRY_KEYS)}）。", key)
        header, role = item.get("header"), item.get("role")
        if not isinstance(header, str) or not header.strip():
            problem(BAD_ENTRY, "header（列の見出し）がありません。", "header")
            continue
        if role not in ROLES:
            problem(UNKNOWN_ROLE, f"役割「{role}」は使えません。使えるのは {' / '.join(ROLES)} です。", "role")
            continue
        options = item.get("options")
        if options is not None and (not isinstance(options, list) or not all(isinstance(o, str) for o in options)):
            problem(BAD_ENTRY, "options は文字列の並び（[\"満足\", \"不満\"]）で書いてください。", "options")
            continue
        question = item.get("question")
        if question is not None and not isinstance(question, str):
            problem(BAD_ENTRY, "question は文字列で書いてください。", "question")
            continue
        key = match_key(header)
        if key in entries:
            problem(BAD_ENTRY, f"見出し「{header}」が {entries[key].line}行目 にもあります。", "header")
            continue
        scale = item.get("scale")
        entries[key] = Entry(header, role, question, tuple(options) if options is not None else None,
                             scale if isinstance(scale, str) else None, start or 0)
    return Codebook(name, entries), problems


def load_codebook(path: str | Path) -> tuple[Codebook, list[CodebookProblem]]:
    """Read a codebook file (UTF-8, a BOM allowed)."""
    return read_codebook(Path(path).read_text(encoding="utf-8-sig"), path)


def apply_codebook(inferred: Sequence[ColumnRole], codebook: Codebook | None) -> list[ColumnRole]:
    """Return the roles with the codebook's explicit entries winning over inference."""
    if codebook is None:
        return list(inferred)
    out = []
    for column in inferred:
        entry = codebook.entries.get(match_key(column.header))
        if entry is None:
            out.append(column)
            continue
        same_role = entry.role == column.role
        options = entry.options if entry.options is not None else (column.options if same_role else ())
        out.append(ColumnRole(
            column.header, entry.role,
            entry.question if entry.question is not None else column.question,
            options if entry.role in CHOICE_ROLES else (),
            entry.scale if entry.scale is not None else (column.scale if same_role else None),
            "codebook",
        ))
    return out


def missing_columns(codebook: Codebook, headers: Iterable[object]) -> list[CodebookProblem]:
    """Codebook entries whose column is in none of the files read (one problem each, with its line)."""
    present = {match_key(h) for h in headers}
    return [
        CodebookProblem(MISSING_COLUMN, codebook.path, f"見出し「{entry.header}」の列がどのファイルにもありません。",
                        line=entry.line)
        for key, entry in codebook.entries.items() if key not in present
    ]


def check_values(
    column: ColumnRole,
    values: Sequence[object],
    *,
    file: str,
    sheet: str,
    column_number: int,
    first_row: int,
) -> list[CodebookProblem]:
    """Answers outside a choice or rating question's options, each with its cell (1-based column and row)."""
    if column.role not in CHOICE_ROLES or not column.options:
        return []
    allowed = {match_key(o) for o in column.options}
    letter = get_column_letter(column_number)
    problems = []
    for offset, value in enumerate(values):
        if is_missing(value):
            continue
        text = cell_text(value).strip()
        parts = split_multiple(text) if column.role == "multiple_choice" else [text]
        bad = [p for p in parts if match_key(p) not in allowed]
        if bad:
            problems.append(CodebookProblem(
                OUT_OF_OPTIONS, file,
                f"「{column.question}」の答え「{'、'.join(bad)}」は選択肢（{'／'.join(column.options)}）にありません。",
                sheet=sheet, cell=f"{letter}{first_row + offset}",
            ))
    return problems
