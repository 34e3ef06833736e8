"""Matching keys, answer and group spellings, header roles and fiscal years.

Normalisation here is for *matching only*: callers keep the original text.
"""
from __future__ import annotations

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
HEADER_ROLES: tuple[str, ...] = ("group", "intent", "respondent_id", "affiliation")

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
        if any(word in key for word in self.not_contains):
            return False
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
    )


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """Return the packaged vocabulary (cached)."""
    return load_vocabulary()


# --- fiscal years -----------------------------------------------------------
# A Japanese fiscal year runs April–March, so January–March belong to the year before.

_ERA_START = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
_ERA_LETTER = {"m": "明治", "t": "大正", "s": "昭和", "h": "平成", "r": "令和"}
_ERA = r"(?<![a-z])(明治|大正|昭和|平成|令和|[mtshr])\s*(\d{1,2}|元)"
_SEP = r"\s*[年./\-]\s*"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("era_date", re.compile(_ERA + _SEP + r"(\d{1,2})\s*[月./\-]\s*(\d{1,2})")),
    ("date", re.compile(r"(?<!\d)((?:19|20)\d{2})" + _SEP + r"(\d{1,2})\s*[月./\-]\s*(\d{1,2})")),
    ("era_year", re.compile(_ERA + r"(?!\d)")),
    ("year", re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")),
)


def fiscal_year_of(date: dt.date) -> int:
    """Return the fiscal year (April–March) a date belongs to."""
    return date.year if date.month >= 4 else date.year - 1


def _western(era: str, number: str) -> int:
    name = _ERA_LETTER.get(era, era)
    return _ERA_START[name] + (1 if number == "元" else int(number)) - 1


def fiscal_year_from_text(text: str) -> int | None:
    """Find a fiscal year in text such as 平成29年7月25日, 令和元年度, R1, H29 or 2017年度."""
    key = unicodedata.normalize("NFKC", text).casefold()
    for kind, pattern in _PATTERNS:
        match = pattern.search(key)
        if match is None:
            continue
        try:
            if kind == "era_date":
                year = _western(match[1], match[2])
                return fiscal_year_of(dt.date(year, int(match[3]), int(match[4])))
            if kind == "date":
                return fiscal_year_of(dt.date(int(match[1]), int(match[2]), int(match[3])))
            if kind == "era_year":
                return _western(match[1], match[2])
            return int(match[1])
        except ValueError:  # an impossible date such as 2月30日: try the looser patterns
            continue
    return None


def fiscal_year_from_value(value: object) -> int | None:
    """Return the fiscal year a cell value states (a date cell, a year number or text)."""
    if isinstance(value, dt.datetime | dt.date):
        return fiscal_year_of(value if isinstance(value, dt.date) else value.date())
    if isinstance(value, int | float) and not isinstance(value, bool) and 1900 <= value <= 2200:
        return int(value)
    if isinstance(value, str):
        return fiscal_year_from_text(value)
    return None
