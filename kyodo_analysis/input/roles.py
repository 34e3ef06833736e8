"""Column roles: decide, for every column of a sheet, what it holds.

A role comes from the header first (aliases in ``headers.toml``, numbered headers such as
``1. …`` or ``Q3.``, long wording that contains a role word), then from the values
(contact details → personal, date-times → metadata, a known ordered scale → rating,
cells joined by ``, `` or ``;`` → multiple choice, a small repeated set → single choice,
anything else → free text). Every column gets exactly one role.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from ..quotes import ADDRESS_MASK, EMAIL_MASK, PHONE_MASK, find_personal_data
from .layout import Vocabulary, cell_text, default_vocabulary, is_blank, match_key

ROLES: tuple[str, ...] = (
    "id", "group", "affiliation", "intent", "free_text",
    "single_choice", "multiple_choice", "rating", "attribute",
    "personal", "metadata",
)
# Roles whose answers are options from a closed list (counted, charted, never text-analysed).
CHOICE_ROLES: tuple[str, ...] = ("single_choice", "multiple_choice", "rating", "attribute")
# Roles that never leave the loader.
DROPPED_ROLES: tuple[str, ...] = ("personal",)

# The role names of normalize.HEADER_ROLES in the vocabulary of this module.
_HEADER_ROLE = {
    "group": "group", "intent": "intent", "respondent_id": "id",
    "affiliation": "affiliation", "answered_at": "metadata",
}
# 「1. 」「1) 」「Q3.」「問3」「設問3：」 at the start of a header (after NFKC, spaces removed, casefolded).
_NUMBER_PREFIX = re.compile(r"^(?:設問|問|q)?[0-9]{1,2}(?:[.:)、]|(?=[^0-9.]))")
_MULTI_SEPARATORS = (", ", ";")
_CONTACT_MASKS = frozenset({EMAIL_MASK, PHONE_MASK, ADDRESS_MASK})
_DATETIME_TEXT = re.compile(r"^(?:19|20)[0-9]{2}[-/.][0-9]{1,2}[-/.][0-9]{1,2}[ t][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?")
# Value thresholds: a column is personal/metadata when at least this share of its answers look so.
_SHARE = 0.5
_MAX_OPTIONS = 12
_MAX_OPTION_LENGTH = 20
_SENTENCE_MARKS = ("。", "！", "!", "？", "?")


@dataclass(frozen=True)
class Scale:
    """An ordered answer scale, best option first."""

    name: str
    options: tuple[str, ...]
    neutral: str | None = None
    numeric: bool = False

    def key_map(self) -> dict[str, str]:
        """Map each option's matching key to the option as written in the scale."""
        return {match_key(o): o for o in self.options}


@dataclass(frozen=True)
class Scales:
    """The ordered scales and attribute orders from ``scales.toml``."""

    scales: tuple[Scale, ...]
    orders: dict[str, tuple[str, ...]]
    rating_words: tuple[str, ...]

    def find(self, name: str) -> Scale | None:
        """Return the scale called ``name``, or None."""
        return next((s for s in self.scales if s.name == name), None)


@lru_cache(maxsize=1)
def default_scales() -> Scales:
    """Read the packaged ``scales.toml`` (the one place it is read)."""
    text = (resources.files("kyodo_analysis") / "data" / "scales.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)
    scales = tuple(
        Scale(name, tuple(entry["options"]), entry.get("neutral"), bool(entry.get("numeric", False)))
        for name, entry in table.items()
        if name not in ("orders", "rating_words")
    )
    orders = {name: tuple(options) for name, options in table.get("orders", {}).items()}
    words = tuple(match_key(w) for w in table.get("rating_words", {}).get("words", []))
    return Scales(scales, orders, words)


@dataclass(frozen=True)
class ColumnRole:
    """The role of one column, how it was decided, and its options when it has some."""

    header: str
    role: str
    question: str
    options: tuple[str, ...] = ()
    scale: str | None = None
    source: str = "header"  # "header", "values" or "codebook"


def header_key(header: object) -> str:
    """Return the matching key of a header with any leading question number removed."""
    key = match_key(header)
    stripped = _NUMBER_PREFIX.sub("", key, count=1)
    return stripped or key


def question_name(header: object) -> str:
    """Return the name a question gets in charts: the header without its number, spaces tidied."""
    text = " ".join(unicodedata.normalize("NFKC", str(header)).split())
    text = re.sub(r"^(?:設問|問|Q|q)?[0-9]{1,2}(?:[.:)、]\s*|\s+)", "", text, count=1) or text
    return text.rstrip("。．.！!？?：:、,")


def _header_role(header: object, vocab: Vocabulary) -> str | None:
    """The role a header alone gives, or None when only the values can tell."""
    for key in dict.fromkeys((match_key(header), header_key(header))):
        for role in ("personal", "metadata"):
            rule = vocab.role_rules.get(role)
            if rule is not None and rule.matches(key):
                return role
        for role, name in _HEADER_ROLE.items():
            if vocab.headers[role].matches(key):
                return name
        rule = vocab.role_rules.get("attribute")
        if rule is not None and rule.matches(key):
            return "attribute"
        for role, words in vocab.wording.items():
            if any(word in key for word in words) and not vocab.headers["intent"].excluded_by(key):
                return _HEADER_ROLE.get(role, role)
    return None


def is_missing(value: object) -> bool:
    """Tell whether a value is no answer: empty, whitespace only, NaN or pandas NA."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return is_blank(value)


def _texts(values: Sequence[object]) -> list[str]:
    return [cell_text(v).strip() for v in values if not is_missing(v)]


def _is_datetime(value: object) -> bool:
    if isinstance(value, (dt.datetime, dt.date)):
        return True
    return isinstance(value, str) and bool(_DATETIME_TEXT.match(value.strip().lower()))


def _has_contact(text: str) -> bool:
    return any(mask in _CONTACT_MASKS for _, _, mask in find_personal_data(text))


def _scale_of(texts: list[str], header: object, scales: Scales) -> Scale | None:
    keys = {match_key(t) for t in texts}
    if len(keys) < 2:
        return None
    key = header_key(header)
    for scale in scales.scales:
        if keys <= set(scale.key_map()):
            if scale.numeric and not any(word in key for word in scales.rating_words):
                continue
            return scale
    return None


def split_multiple(text: str) -> list[str]:
    """Split a multiple-choice cell as Google Forms (``, ``) and Microsoft Forms (``;``) join it."""
    parts = [text]
    for sep in _MULTI_SEPARATORS:
        parts = [piece for part in parts for piece in part.split(sep)]
    return [p.strip() for p in parts if p.strip()]


def _ordered(options: list[str], header: object, scales: Scales) -> tuple[str, ...]:
    """Order options: by a known attribute order when one covers them, else by first appearance."""
    keys = [match_key(o) for o in options]
    for order in scales.orders.values():
        rank = {match_key(o): i for i, o in enumerate(order)}
        if all(k in rank for k in keys):
            return tuple(o for _, o in sorted(zip((rank[k] for k in keys), options)))
    return tuple(options)


def _names_free_text(header: object, vocab: Vocabulary) -> bool:
    """Tell whether a header names one of the free-text questions of headers.toml ([questions])."""
    key = header_key(header)
    return any(word in key for _, words in vocab.questions for word in words)


def _asks_to_choose(header: object, vocab: Vocabulary) -> bool:
    """Tell whether a header asks to pick an option (何で知りましたか): then the values decide, not the question name."""
    rule = vocab.role_rules.get("choice")
    return rule is not None and any(rule.matches(key) for key in dict.fromkeys((match_key(header), header_key(header))))


def _closed_set(texts: list[str]) -> list[str] | None:
    """The options of a small repeated set of short answers, in first-seen order, or None."""
    distinct = list(dict.fromkeys(texts))
    if not distinct or len(distinct) > _MAX_OPTIONS or any(len(t) > _MAX_OPTION_LENGTH for t in distinct):
        return None
    if any(mark in t for t in distinct for mark in _SENTENCE_MARKS):
        return None  # sentences are comments, not options
    if len(distinct) >= len(texts) and len(texts) > 1:
        return None  # every answer different: not a closed set
    if len(texts) < 2:
        return None
    return distinct


def infer_role(
    header: object,
    values: Sequence[object],
    *,
    vocab: Vocabulary | None = None,
    scales: Scales | None = None,
) -> ColumnRole:
    """Infer the role of one column from its header and its values."""
    vocab = vocab or default_vocabulary()
    scales = scales or default_scales()
    texts = _texts(values)
    name = question_name(header)
    role = _header_role(header, vocab)
    if role in ("personal", "metadata", "id", "group", "affiliation", "intent"):
        return ColumnRole(str(header), role, name)
    scale = _scale_of(texts, header, scales)
    if scale is not None and role is None:
        return ColumnRole(str(header), "rating", name, scale.options, scale.name, "values")
    if role is None and _names_free_text(header, vocab) and not _asks_to_choose(header, vocab):
        # 理由・講演・ワークショップ: comments, even when a few repeat word for word or hold a date or a phone number.
        return ColumnRole(str(header), "free_text", vocab.question_label(header), source="header")
    if texts and role is None:
        if sum(_has_contact(t) for t in texts) >= _SHARE * len(texts):
            return ColumnRole(str(header), "personal", name, source="values")
        raw = [v for v in values if not is_missing(v)]
        if sum(_is_datetime(v) for v in raw) >= _SHARE * len(raw) and all(len(t) <= 25 for t in texts):
            return ColumnRole(str(header), "metadata", name, source="values")
    source = "header" if role else "values"
    if any(sep in t for t in texts for sep in _MULTI_SEPARATORS):
        parts = [p for t in texts for p in split_multiple(t)]
        options = _closed_set(parts)
        if options is not None and len(options) < len(parts):
            return ColumnRole(str(header), role or "multiple_choice", name,
                              _ordered(options, header, scales), None, source)
    options = _closed_set(texts)
    if role == "attribute":
        return ColumnRole(str(header), "attribute", name,
                          _ordered(list(dict.fromkeys(texts)), header, scales), None, "header")
    if options is not None:
        return ColumnRole(str(header), "single_choice", name, _ordered(options, header, scales), None, source)
    return ColumnRole(str(header), "free_text", vocab.question_label(header), source=source)


def infer_roles(
    headers: Sequence[object],
    columns: Sequence[Sequence[object]],
    *,
    vocab: Vocabulary | None = None,
    scales: Scales | None = None,
) -> list[ColumnRole]:
    """Infer one role per column; ``columns[i]`` holds the answers under ``headers[i]``."""
    return [infer_role(h, c, vocab=vocab, scales=scales) for h, c in zip(headers, columns, strict=True)]


# Loader role names (normalize.HEADER_ROLES plus the roles this module adds) of each column role.
LOADER_ROLE = {
    "id": "respondent_id", "group": "group", "affiliation": "affiliation", "intent": "intent",
    "free_text": "text", "personal": "personal", "metadata": "metadata", "attribute": "attribute",
    "single_choice": "single_choice", "multiple_choice": "multiple_choice", "rating": "rating",
}


def column_role_of(loader_role: str) -> str:
    """The column role (one of ROLES) of a loader role: respondent_id → id, answered_at → metadata, mark:… → intent."""
    if loader_role.startswith("mark:"):
        return "intent"
    return {"respondent_id": "id", "answered_at": "metadata", "text": "free_text"}.get(loader_role, loader_role)


def loader_header_role(header: object, vocab: Vocabulary) -> str:
    """The loader's role of a header cell: the vocabulary's, else the one this module reads from the header.

    Headers the vocabulary already knows keep their role, so older layouts read as before.
    """
    role = vocab.header_role(header)
    if role != "text":
        return role
    found = _header_role(header, vocab)
    return LOADER_ROLE[found] if found is not None else "text"
