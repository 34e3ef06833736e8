"""Matching keys, answer and group spellings, header roles and fiscal years.

Normalisation here is for *matching only*: callers keep the original text.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

NO_ANSWER = "無回答"
INTENT_ORDER: tuple[str, ...] = ("思う", "どちらとも言えない", "思わない", NO_ANSWER)
GROUP_ORDER: tuple[str, ...] = ("市民", "職員", "その他")
# Roles a header cell can play; "text" is every other non-empty column.
HEADER_ROLES: tuple[str, ...] = ("group", "intent", "respondent_id", "affiliation", "answered_at")
# Header rules used only by the column-role inference in roles.py.
EXTRA_HEADER_ROLES: tuple[str, ...] = ("personal", "metadata", "attribute")

_TRAILING = "。．.！!？?：:、,"


def match_key(value: object) -> str:
    """Return the comparison key of a cell: NFKC, no whitespace, no trailing punctuation, casefolded."""
    text = unicodedata.normalize("NFKC", str(value))
    text = "".join(text.split())
    return text.rstrip(_TRAILING).casefold()


def is_blank(value: object) -> bool:
    """Tell whether a cell value is empty or whitespace only."""
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: object) -> str:
    """Return a cell value as text the way a person reads it (1.0 → "1", dates as ISO)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    return str(value)


@dataclass(frozen=True)
class HeaderRule:
    """How one column role is recognised from its header."""

    exact: frozenset[str] = frozenset()
    contains: tuple[str, ...] = ()
    regex: tuple[re.Pattern[str], ...] = ()
    not_contains: tuple[str, ...] = ()

    def matches(self, key: str) -> bool:
        """Tell whether a normalised header key plays this role."""
        return self.excluded_by(key) is None and self._names(key)

    def excluded_by(self, key: str) -> str | None:
        """The not_contains word that keeps a header which would otherwise match out of this role."""
        if not self._names(key):
            return None
        return next((word for word in self.not_contains if word in key), None)

    def _names(self, key: str) -> bool:
        return (
            key in self.exact
            or any(word in key for word in self.contains)
            or any(pattern.search(key) for pattern in self.regex)
        )


@dataclass(frozen=True)
class Vocabulary:
    """The editable domain tables: header aliases, answer and group spellings, marks."""

    headers: dict[str, HeaderRule]
    questions: tuple[tuple[str, tuple[str, ...]], ...]
    answers: dict[str, str]
    groups: dict[str, str]
    marks: frozenset[str]
    sources: tuple[str, ...] = field(default=())
    # Words in a sheet name that say what the sheet is (overview, legend, notes, tally, group worksheet).
    sheet_words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    footer_exact: frozenset[str] = frozenset()
    footer_prefix: tuple[str, ...] = ()
    # personal / metadata / attribute header rules, and role words found inside long question wording.
    role_rules: dict[str, HeaderRule] = field(default_factory=dict)
    wording: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def sheet_kind(self, name: object) -> str | None:
        """The role a sheet's name gives it ("overview", "legend", "notes", "group_worksheet", "tally"), or None."""
        key = match_key(name)
        if key in self.sheet_words.get("overview", ()):
            return "overview"
        for kind in ("legend", "notes", "group_worksheet", "tally"):
            if any(word in key for word in self.sheet_words.get(kind, ())):
                return kind
        return None

    def is_footer_label(self, value: object) -> bool:
        """Tell whether a cell labels a row of totals or notes under a table (合計, 計, 備考：…)."""
        if is_blank(value) or not isinstance(value, str):
            return False
        key = match_key(value)
        return key in self.footer_exact or key.startswith(self.footer_prefix)

    def header_role(self, header: object) -> str:
        """Return the role of a header cell: one of HEADER_ROLES, "mark:<answer>" or "text"."""
        key = match_key(header)
        for role in HEADER_ROLES:
            if self.headers[role].matches(key):
                return role
        answer = self.answers.get(key)
        if answer is not None:
            return f"mark:{answer}"
        return "text"

    def near_role(self, header: object) -> tuple[str, str] | None:
        """A role the header would play but for a not_contains word: ``("intent", "理由")``, else None.

        Used only to explain a missing column, never to read one.
        """
        key = match_key(header)
        for role in HEADER_ROLES:
            word = self.headers[role].excluded_by(key)
            if word is not None:
                return role, word
        return None

    def question_label(self, header: object) -> str:
        """Return the canonical question name of a free-text header."""
        key = match_key(header)
        for label, words in self.questions:
            if any(word in key for word in words):
                return label
        return " ".join(unicodedata.normalize("NFKC", str(header)).split()).rstrip(_TRAILING)

    def answer(self, value: object) -> str | None:
        """Return the canonical intent answer, 無回答 for blank, or None if unknown."""
        if is_blank(value):
            return NO_ANSWER
        return self.answers.get(match_key(cell_text(value)))

    def group(self, value: object) -> str | None:
        """Return the canonical group of a 区分 value, or None if unknown."""
        return self.groups.get(match_key(cell_text(value)))

    def is_mark(self, value: object) -> bool:
        """Tell whether a cell holds a mark (○, レ, 1, …) in the mark layout."""
        return not is_blank(value) and match_key(cell_text(value)) in self.marks


def _rule(table: dict) -> HeaderRule:
    return HeaderRule(
        exact=frozenset(match_key(w) for w in table.get("exact", [])),
        contains=tuple(match_key(w) for w in table.get("contains", [])),
        regex=tuple(re.compile(p) for p in table.get("regex", [])),
        not_contains=tuple(match_key(w) for w in table.get("not_contains", [])),
    )


def _spellings(table: dict[str, list[str]]) -> dict[str, str]:
    # Canonical names match themselves even if an analyst forgets to list them.
    return {match_key(s): name for name, words in table.items() for s in (name, *words)}


def _read_toml(path: Path | None, default: str) -> tuple[dict, str]:
    if path is None:
        source = resources.files("kyodo_analysis") / "data" / default
        return tomllib.loads(source.read_text(encoding="utf-8")), default
    return tomllib.loads(Path(path).read_text(encoding="utf-8")), str(path)


def load_vocabulary(headers: Path | None = None, values: Path | None = None) -> Vocabulary:
    """Load header aliases and value spellings from TOML (the packaged tables by default)."""
    head, head_src = _read_toml(headers, "headers.toml")
    vals, vals_src = _read_toml(values, "values.toml")
    return Vocabulary(
        headers={role: _rule(head.get(role, {})) for role in HEADER_ROLES},
        questions=tuple(
            (label, tuple(match_key(w) for w in words)) for label, words in head.get("questions", {}).items()
        ),
        answers=_spellings(vals["answers"]),
        groups=_spellings(vals["groups"]),
        marks=frozenset(match_key(m) for m in vals["marks"]["values"]),
        sources=(head_src, vals_src),
        sheet_words={kind: tuple(match_key(w) for w in words) for kind, words in head.get("sheets", {}).items()},
        footer_exact=frozenset(match_key(w) for w in head.get("footer_rows", {}).get("exact", [])),
        footer_prefix=tuple(match_key(w) for w in head.get("footer_rows", {}).get("prefix", [])),
        role_rules={role: _rule(head.get(role, {})) for role in EXTRA_HEADER_ROLES},
        wording={role: tuple(match_key(w) for w in words) for role, words in head.get("wording", {}).items()},
    )


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """Return the packaged vocabulary (cached)."""
    return load_vocabulary()


# --- fiscal years -----------------------------------------------------------
# A Japanese fiscal year runs April–March, so January–March belong to the year before.

_ERA_START = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
_ERA_YEARS = {"明治": 45, "大正": 15, "昭和": 64, "平成": 31, "令和": 99}  # last year of each era
_ERA_LETTER = {"h": "平成", "r": "令和"}
# Bare letters are ambiguous (r2 = round 2, s1 = session 1), so only H and R are read, and only
# in the years a workshop questionnaire can come from.
_LETTER_YEARS = {"h": 31, "r": 20}
_ERA = r"(?<![a-z])(明治|大正|昭和|平成|令和|[hr])\s*(\d{1,2}|元)"
_WESTERN = r"(?<!\d)((?:19|20)\d{2})"
_SEP = r"\s*[年./\-]\s*"
# A month without a day decides the fiscal year as well (平成30年2月 is FY2017). In a file name
# "2018-2" may be "part 2 of 2018", so there only 年…月 and a dot are read as a year-month.
_MONTH = r"(\d{1,2})(?:\s*月|(?![\d.]))"
_MONTH_NAME = r"(?:\s*年\s*(\d{1,2})\s*月|\s*\.\s*(\d{1,2})(?![\d.]))"


@dataclass(frozen=True)
class YearReading:
    """One way a text states a fiscal year, such as 「平成30年2月」 → 2017."""

    fiscal_year: int
    text: str  # the matched text (NFKC, lower case)
    explicit: bool  # False for a bare era letter such as H29, which may mean something else


def _patterns(file_name: bool) -> tuple[tuple[str, re.Pattern[str]], ...]:
    month = _MONTH_NAME if file_name else _SEP + _MONTH
    return (
        ("era_date", re.compile(_ERA + _SEP + r"(\d{1,2})\s*[月./\-]\s*(\d{1,2})(?!\d)")),
        ("date", re.compile(_WESTERN + _SEP + r"(\d{1,2})\s*[月./\-]\s*(\d{1,2})(?!\d)")),
        ("compact_date", re.compile(_WESTERN + r"(0[1-9]|1[0-2])([0-3]\d)(?!\d)")),
        ("era_month", re.compile(_ERA + month)),
        ("month", re.compile(_WESTERN + month)),
        ("era_year", re.compile(_ERA + r"(?![\da-z])")),
        ("year", re.compile(_WESTERN + r"(?!\d)")),
    )


_TEXT_PATTERNS = _patterns(file_name=False)
_NAME_PATTERNS = _patterns(file_name=True)


def fiscal_year_of(date: dt.date) -> int:
    """Return the fiscal year (April–March) a date belongs to."""
    return date.year if date.month >= 4 else date.year - 1


def _western(era: str, number: str) -> int:
    """The calendar year of an era year; ValueError for a year the era never had (H45, R80)."""
    n = 1 if number == "元" else int(number)
    last = _LETTER_YEARS[era] if era in _LETTER_YEARS else _ERA_YEARS[era]
    if not 1 <= n <= last:
        raise ValueError(f"{era}{number}")
    return _ERA_START[_ERA_LETTER.get(era, era)] + n - 1


def _month(match: re.Match[str], first: int) -> int:
    """The month of a year-month match whose month groups start at group ``first``."""
    month = int(next(g for g in match.groups()[first - 1:] if g is not None))
    if not 1 <= month <= 12:
        raise ValueError(month)
    return month


def _reading(kind: str, match: re.Match[str]) -> YearReading:
    """Turn a match into a reading; ValueError for an impossible date such as 2月30日."""
    if kind == "era_date":
        fiscal = fiscal_year_of(dt.date(_western(match[1], match[2]), int(match[3]), int(match[4])))
    elif kind in ("date", "compact_date"):
        fiscal = fiscal_year_of(dt.date(int(match[1]), int(match[2]), int(match[3])))
    elif kind == "era_month":
        fiscal = fiscal_year_of(dt.date(_western(match[1], match[2]), _month(match, 3), 1))
    elif kind == "month":
        fiscal = fiscal_year_of(dt.date(int(match[1]), _month(match, 2), 1))
    elif kind == "era_year":
        fiscal = _western(match[1], match[2])
    else:
        fiscal = int(match[1])
    explicit = not (kind == "era_year" and match[1] in _ERA_LETTER)
    return YearReading(fiscal, match[0].strip(), explicit)


def fiscal_year_readings(text: str, *, file_name: bool = False) -> list[YearReading]:
    """Every fiscal year a text states, in the order written; overlapping readings give way to longer ones.

    ``file_name=True`` reads a file name: no hyphenated year-months (「2018-2」 may be a part number).
    """
    shown = unicodedata.normalize("NFKC", text)
    key = shown.casefold()
    if len(key) != len(shown):  # casefolding changed the length (ß → ss): show the key itself
        shown = key
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, YearReading]] = []
    # The most specific patterns come first; a year inside a date is not read again on its own.
    for kind, pattern in _NAME_PATTERNS if file_name else _TEXT_PATTERNS:
        for match in pattern.finditer(key):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            try:
                reading = _reading(kind, match)
            except ValueError:  # 2月30日, 平成45年: let a looser pattern try the same text
                continue
            taken.append(match.span())
            # Quote the text as written (R2, not r2) in messages.
            found.append((match.start(), dataclasses.replace(reading, text=shown[match.start():match.end()].strip())))
    return [reading for _, reading in sorted(found, key=lambda item: item[0])]


def fiscal_year_from_text(text: str) -> int | None:
    """Find a fiscal year in text such as 平成29年7月25日, 平成30年2月, 令和元年度, R1, H29 or 2017年度.

    The first explicit statement wins; a bare era letter (H29, R1) only when there is none.
    """
    readings = fiscal_year_readings(text)
    best = next((r for r in readings if r.explicit), readings[0] if readings else None)
    return None if best is None else best.fiscal_year


def fiscal_year_from_value(value: object) -> int | None:
    """Return the fiscal year a cell value states (a date cell, a year number or text)."""
    if isinstance(value, dt.datetime | dt.date):
        return fiscal_year_of(value if isinstance(value, dt.date) else value.date())
    if isinstance(value, int | float) and not isinstance(value, bool) and 1900 <= value <= 2200:
        return int(value)
    if isinstance(value, str):
        return fiscal_year_from_text(value)
    return None
