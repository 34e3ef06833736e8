"""Group worksheets: one row per workshop group, its answers split into statements.

A worksheet is told from a questionnaire by its header: a group-number column and at least
one worksheet question, and no 区分 column (its rows are groups, not respondents). Header
words, question names and bullet marks live in ``data/worksheets.toml``.
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter

from .layout import GROUP_ORDER, INTENT_ORDER, Vocabulary, cell_text, is_blank, match_key
from .readers import RawSheet, printable

# Stable problem codes of worksheets.
MISSING_GROUP = "worksheet-missing-group"
DUPLICATE_GROUP = "worksheet-duplicate-group"
BAD_COUNT = "worksheet-count-not-number"
EMPTY_WORKSHEET = "worksheet-empty"

STATEMENT_COLUMNS = ["file", "sheet", "row", "cell", "fiscal_year", "work_group", "group_order",
                     "question_key", "question", "item", "text"]
_SEARCH_ROWS = 20
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
# 「②の意見が多い」: a circled number followed by a particle refers to an item; it does not start one.
_PARTICLES = "のがはをとにもや"
# 「1.」「1)」「(1)」「１．」 at the start of a line, but not 「1.5倍」.
_NUMBERED = re.compile(r"^\s*(?:[(（]\s*[0-9０-９]{1,2}\s*[)）]|[0-9０-９]{1,2}\s*[.．)）、](?![0-9０-９]))\s*")


@dataclass(frozen=True)
class WorksheetRules:
    """How to read a worksheet: header words, question names and bullet marks (``worksheets.toml``)."""

    group_headers: frozenset[str]
    label_prefix: tuple[str, ...]
    label_suffix: tuple[str, ...]
    questions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (key, name, header words)
    members: dict[str, frozenset[str]]  # 市民/職員 -> header keys
    tally_strip: tuple[str, ...]
    bullets: tuple[str, ...]
    sheet_words: tuple[str, ...]

    def question_of(self, header: object) -> tuple[str, str] | None:
        """Return (key, name) of the worksheet question a header asks, or None."""
        key = match_key(header)
        for qkey, name, words in self.questions:
            if any(word in key for word in words):
                return qkey, name
        return None

    def question_name(self, key: str) -> str:
        """Return the name charts and tables use for a worksheet question (ask → 相手に求めるもの)."""
        return next(name for qkey, name, _ in self.questions if qkey == key)

    def members_of(self, header: object) -> str | None:
        """Return the 区分 whose head count a header holds (市民人数 → 市民), or None."""
        key = match_key(header)
        return next((group for group, keys in self.members.items() if key in keys), None)

    def tally_of(self, header: object, vocab: Vocabulary) -> str | None:
        """Return the 問1 answer whose head count a header holds (思う人数 → 思う), or None."""
        key = match_key(header)
        for word in self.tally_strip:
            if key.endswith(word) and len(key) > len(word):
                answer = vocab.answers.get(key[: -len(word)])
                if answer is not None:
                    return answer
        return vocab.answers.get(key)

    def label(self, value: object) -> str:
        """Return a group number as a short label: 第3班, グループ3, G3 and ３ all give 3."""
        text = "".join(unicodedata.normalize("NFKC", cell_text(value)).split())
        for word in self.label_prefix:
            if text.startswith(word) and len(text) > len(word):
                text = text[len(word):]
                break
        for word in self.label_suffix:
            if text.endswith(word) and len(text) > len(word):
                text = text[: -len(word)]
                break
        return text


def load_worksheet_rules(path: str | Path | None = None) -> WorksheetRules:
    """Read the worksheet rules from a TOML file (the bundled ``worksheets.toml`` by default)."""
    if path is None:
        table = tomllib.loads(resources.files("kyodo_analysis").joinpath("data/worksheets.toml").read_text("utf-8"))
    else:
        table = tomllib.loads(Path(path).read_text("utf-8"))
    keys = lambda words: tuple(match_key(w) for w in words)  # noqa: E731 - one-line key mapper
    return WorksheetRules(
        group_headers=frozenset(keys(table["group_number"]["exact"])),
        label_prefix=tuple(unicodedata.normalize("NFKC", w) for w in table["group_label"].get("prefix", [])),
        label_suffix=tuple(unicodedata.normalize("NFKC", w) for w in table["group_label"].get("suffix", [])),
        questions=tuple((q["key"], q["name"], keys(q["contains"])) for q in table["questions"]),
        members={group: frozenset(keys(words)) for group, words in table["members"].items()},
        tally_strip=keys(table["tally"]["strip"]),
        bullets=tuple(table["bullets"]["marks"]),
        sheet_words=keys(table["sheets"]["contains"]),
    )


@lru_cache(maxsize=1)
def default_worksheet_rules() -> WorksheetRules:
    """The bundled worksheet rules, read once."""
    return load_worksheet_rules()


def split_statements(text: str, *, bullets: Sequence[str] | None = None) -> list[str]:
    """Split a worksheet cell into statements: one per bullet (・, ●, 1., ①…) or, unbulleted, per line.

    A line without a mark that follows a bulleted line continues that statement (a wrapped line).
    """
    marks = tuple(bullets if bullets is not None else default_worksheet_rules().bullets)
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    # Circled numbers start a statement even in the middle of a line (①…②…); so does a bullet after a space.
    text = re.sub(f"(?<=\\S)\\s*(?=[{_CIRCLED}](?![{_PARTICLES}]))", "\n", text)
    spaced = "".join(re.escape(m) for m in marks if m in "・●○◯◆◇■□▪•☆★")
    if spaced:
        text = re.sub(f"[ \u3000]+(?=[{spaced}])", "\n", text)
    statements: list[str] = []
    continuing = False
    for line in text.split("\n"):
        stripped = line.strip(" \u3000\t")
        if not stripped:
            continue
        body, marked = _without_mark(stripped, marks)
        if not body:
            continue
        if not marked and continuing and statements:
            statements[-1] += body
            continue
        statements.append(body)
        continuing = marked or continuing
    return statements


def _without_mark(line: str, marks: Sequence[str]) -> tuple[str, bool]:
    if line[0] in _CIRCLED and line[1:2] not in tuple(_PARTICLES):
        return line[1:].strip(" \u3000"), True
    for mark in marks:
        if line.startswith(mark):
            return line[len(mark):].strip(" \u3000"), True
    numbered = _NUMBERED.match(line)
    if numbered:
        return line[numbered.end():].strip(" \u3000"), True
    return line, False


@dataclass
class WorksheetLayout:
    """Where a worksheet's header is and what each of its columns holds."""

    header_row: int  # 1-based
    group_col: int
    questions: dict[int, tuple[str, str]]  # column -> (key, name)
    members: dict[int, str]  # column -> 市民/職員
    tallies: dict[int, str]  # column -> 問1 answer
    headers: dict[int, object] = field(default_factory=dict)


def find_worksheet_header(sheet: RawSheet, vocab: Vocabulary,
                          rules: WorksheetRules | None = None) -> WorksheetLayout | None:
    """Return the worksheet layout of a sheet, or None when the sheet is not a group worksheet."""
    rules = rules or default_worksheet_rules()
    if sheet.name and vocab.group(sheet.name) is not None:
        return None  # a sheet named 市民 or 職員 holds respondents of that group
    named = bool(sheet.name) and any(word in match_key(sheet.name) for word in rules.sheet_words)
    for r, values in enumerate(sheet.rows[:_SEARCH_ROWS], start=1):
        keys = {c: match_key(v) for c, v in enumerate(values) if not is_blank(v)}
        # No. and 番号 also head a respondent-ID column: they make a worksheet only on a sheet named for one.
        group_cols = [c for c, k in keys.items() if k in rules.group_headers
                      and (named or vocab.header_role(values[c]) != "respondent_id")]
        if not group_cols or any(vocab.header_role(values[c]) == "group" for c in keys):
            continue
        questions: dict[int, tuple[str, str]] = {}
        members: dict[int, str] = {}
        tallies: dict[int, str] = {}
        for c in keys:
            if c == group_cols[0]:
                continue
            member = rules.members_of(values[c])
            tally = None if member else rules.tally_of(values[c], vocab)
            if member:
                members[c] = member
            elif tally:
                tallies[c] = tally
            else:
                question = rules.question_of(values[c])
                if question:
                    questions[c] = question
        if any(key in ("ask", "offer") for key, _ in questions.values()):
            return WorksheetLayout(r, group_cols[0], questions, members, tallies,
                                   {c: values[c] for c in keys})
    return None


@dataclass
class WorksheetPart:
    """What one worksheet sheet holds: its groups, their statements, and what was wrong."""

    groups: list[dict] = field(default_factory=list)
    statements: list[dict] = field(default_factory=list)
    problems: list[tuple[str | None, str, str]] = field(default_factory=list)  # (cell, message, code)
    notes: list[str] = field(default_factory=list)


def read_worksheet(name: str, sheet: RawSheet, layout: WorksheetLayout, vocab: Vocabulary,
                   rules: WorksheetRules | None = None) -> WorksheetPart:
    """Read every group row of a worksheet; problems carry the cell, notes say what was not counted."""
    rules = rules or default_worksheet_rules()
    part = WorksheetPart()
    label = printable(sheet.name or name)
    seen: dict[str, str] = {}  # group label -> cell of its number
    current: dict | None = None
    items: dict[tuple[str, str], int] = {}
    for r in range(layout.header_row + 1, len(sheet.rows) + 1):
        values = sheet.rows[r - 1]
        filled = [c for c, v in enumerate(values) if not is_blank(v)]
        if not filled:
            continue
        if vocab.is_footer_label(values[filled[0]]):
            part.notes.append(f"{name} {label}!{r}行目: 「{printable(cell_text(values[filled[0]]))}」の行は"
                              "表の下の合計・備考の行とみなし、グループとして数えていません。")
            continue
        group_cell = f"{get_column_letter(layout.group_col + 1)}{r}"
        number = values[layout.group_col] if layout.group_col < len(values) else None
        if (r, layout.group_col) in sheet.merged and current is not None:
            group = current  # a group number merged over several rows: the rows belong to one group
        elif is_blank(number):
            part.problems.append((group_cell, "グループ番号がありません — この行の意見がどのグループのものか分かりません。"
                                  "グループ番号を入れてください（前の行と同じグループなら同じ番号を）", MISSING_GROUP))
            current = None
            continue
        else:
            key = rules.label(number)
            if key in seen:
                part.problems.append((group_cell, f"グループ番号「{printable(cell_text(number))}」が {seen[key]} と重なっています"
                                      " — 1 つのグループは 1 行（または結合したセル）にまとめてください", DUPLICATE_GROUP))
                current = None
                continue
            seen[key] = group_cell
            group = current = {"file": name, "sheet": sheet.name or "", "row": r, "work_group": key}
            group.update(_counts(part, r, values, layout))
            part.groups.append(group)
        for c, (qkey, qname) in sorted(layout.questions.items()):
            if c >= len(values) or is_blank(values[c]) or (r, c) in sheet.merged:
                continue
            for text in split_statements(cell_text(values[c]), bullets=rules.bullets):
                n = items[(group["work_group"], qkey)] = items.get((group["work_group"], qkey), 0) + 1
                part.statements.append({"file": name, "sheet": sheet.name or "", "row": r,
                                        "cell": f"{get_column_letter(c + 1)}{r}", "work_group": group["work_group"],
                                        "question_key": qkey, "question": qname, "item": n, "text": text})
    for group in part.groups:
        members, tally = group["members"], group["tally_total"]
        if members is not None and tally is not None and members != tally:
            part.notes.append(f"{name} {label}!{group['row']}行目: グループ {group['work_group']} の問1の人数の合計"
                              f"（{tally} 人）が、グループの人数（{members} 人）と合いません。そのまま数えています。")
    return part


def _counts(part: WorksheetPart, r: int, values: list[object], layout: WorksheetLayout) -> dict:
    """Read the group's make-up and 問1 tally; a cell that is not a whole number is a problem."""
    out: dict = {}
    for columns, prefix in ((layout.members, "members_"), (layout.tallies, "tally_")):
        for c, what in sorted(columns.items()):
            value = values[c] if c < len(values) else None
            number = _whole_number(value)
            if number is None and not is_blank(value):
                cell = f"{get_column_letter(c + 1)}{r}"
                header = printable(cell_text(layout.headers[c])).strip()
                part.problems.append((cell, f"「{header}」の値「{printable(cell_text(value))}」が人数（0 以上の整数）ではありません"
                                      " — 数字だけを入れてください", BAD_COUNT))
            out[prefix + what] = number
    members = [out[k] for k in out if k.startswith("members_") and out[k] is not None]
    tallies = [out[k] for k in out if k.startswith("tally_") and out[k] is not None]
    out["members"] = sum(members) if members else None
    out["tally_total"] = sum(tallies) if tallies else None
    return out


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool) or is_blank(value):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return int(text) if text.isdigit() else None


def group_frame(rows: list[dict]) -> pd.DataFrame:
    """Return the groups table: one row per group, its make-up and 問1 tally (counts as nullable ints)."""
    frame = pd.DataFrame(rows)
    for column in ("file", "sheet", "row", "fiscal_year", "work_group"):
        if column not in frame:
            frame[column] = pd.Series(dtype=object)
    wanted = [*(f"members_{g}" for g in GROUP_ORDER), "members", *(f"tally_{a}" for a in INTENT_ORDER), "tally_total"]
    present = [c for c in frame.columns if c.startswith(("members", "tally"))]
    counts = [c for c in wanted if c in present] + sorted(c for c in present if c not in wanted)
    for column in counts:
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    frame["group_order"] = group_order(frame["work_group"])
    frame = frame.sort_values(["fiscal_year", "group_order", "file", "sheet"], kind="stable")
    base = ["file", "sheet", "row", "fiscal_year", "work_group", "group_order"]
    return frame[base + counts].reset_index(drop=True)


def statement_frame(rows: list[dict]) -> pd.DataFrame:
    """Return the statements table: one row per statement with its group, question and cell."""
    frame = pd.DataFrame(rows, columns=[c for c in STATEMENT_COLUMNS if c != "group_order"])
    frame["group_order"] = group_order(frame["work_group"])
    frame["item"] = frame["item"].astype("int64")
    frame = frame.sort_values(["fiscal_year", "group_order", "file", "sheet", "row", "cell", "item"], kind="stable")
    return frame[STATEMENT_COLUMNS].reset_index(drop=True)


def group_order(labels: pd.Series) -> list[int]:
    """Rank group labels for display: numbers in numeric order first, then other labels (A, B…) by text."""
    def key(label: str) -> tuple[int, int, str]:
        return (0, int(label), "") if label.isdigit() else (1, 0, label)
    ranked = {label: i for i, label in enumerate(sorted({str(v) for v in labels}, key=key))}
    return [ranked[str(v)] for v in labels]
