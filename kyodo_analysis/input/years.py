"""Fiscal years read from dates, Japanese era names, file names and sheet names."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass


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

