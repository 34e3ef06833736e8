"""The vocabulary: answer and group names and spellings, labels, header roles and matching keys.

This is the one module that reads ``values.toml`` and ``headers.toml``; every other module
takes the domain's names (市民, 思う, 無回答, the total label, question labels, header aliases)
from here, so a new spelling, alias or label is a data edit. Normalisation here is for
*matching only*: callers keep the original text.
"""
from __future__ import annotations

import datetime as dt
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

# Roles a header cell can play; "text" is every other non-empty column.
HEADER_ROLES: tuple[str, ...] = ("group", "intent", "respondent_id", "affiliation", "answered_at")
# Header rules used only by the column-role inference in roles.py.
EXTRA_HEADER_ROLES: tuple[str, ...] = ("personal", "metadata", "attribute", "choice")

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
    # Headers to show as examples when the column is missing, as written in the table.
    shown: tuple[str, ...] = ()

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
    # Names shown in tables, figures and messages (values.toml [labels], key orders).
    no_answer: str = ""
    total: str = ""
    group_order: tuple[str, ...] = ()
    answer_choices: tuple[str, ...] = ()
    answer_order: tuple[str, ...] = ()
    compared_groups: tuple[str, ...] = ()

    @property
    def intent_order(self) -> tuple[str, ...]:
        """The answers in scale order, then the no-answer label (the intent column's categories)."""
        return (*self.answer_order, self.no_answer)

    def shown_headers(self, role: str) -> tuple[str, ...]:
        """The header examples that messages about a missing ``role`` column show."""
        return self.headers[role].shown

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
            return self.no_answer
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
        shown=tuple(table.get("shown", [*table.get("exact", []), *table.get("contains", [])])),
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
        no_answer=vals["labels"]["no_answer"],
        total=vals["labels"]["total"],
        group_order=tuple(vals["groups"]),
        answer_choices=tuple(vals["answers"]),
        answer_order=tuple(vals["labels"]["answer_order"]),
        compared_groups=tuple(vals["labels"]["compared_groups"]),
    )


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """Return the packaged vocabulary (cached)."""
    return load_vocabulary()



_DEFAULT = default_vocabulary()
# The packaged names, for the modules that count, draw and write (values.toml).
NO_ANSWER: str = _DEFAULT.no_answer
TOTAL: str = _DEFAULT.total
INTENT_ORDER: tuple[str, ...] = _DEFAULT.intent_order  # scale order, then 無回答
ANSWERS: tuple[str, ...] = _DEFAULT.answer_order  # scale order, no 無回答
ANSWER_CHOICES: tuple[str, ...] = _DEFAULT.answer_choices  # as listed in values.toml: pull-downs, messages
POSITIVE_ANSWER: str = ANSWERS[0]  # the answer whose share the trend and the sentences report
GROUP_ORDER: tuple[str, ...] = _DEFAULT.group_order
CITIZENS, STAFF = _DEFAULT.compared_groups
QUESTION_LABELS: tuple[str, ...] = tuple(label for label, _ in _DEFAULT.questions)


def quoted(words: Iterable[str]) -> str:
    """Words as a message lists them: 「区分」「属性」."""
    return "".join(f"「{w}」" for w in words)
