"""Read KH Coder coding-rule files into the same rule sets as the TOML format.

Supported subset: ``*コード名`` lines, words (base forms), ``A+B`` phrases,
``and``/``or``/``not`` and ``&``/``|``/``!``, parentheses, ``near(A-B)`` and
``seq(A-B)`` with an optional ``[N]``/``[bN]``/``[dN]``, references to an earlier code
(KH Coder's ``<*コード名>``, and ``<>コード名`` as in the TOML format), and ``#`` comment
lines. Anything else stops with a message naming the line.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ..text.tokens import normalize
from .expression import Condition, Node, RuleError, check_words, parse_expression
from .ruleset import RuleSet, Theme


def parse_kh_coder(text: str, source: str = "") -> RuleSet:
    """Parse the text of a KH Coder coding-rule file."""
    where = source or "コーディングルール"
    codes: dict[str, Node] = {}
    themes: list[Theme] = []
    current: tuple[str, int, list[tuple[int, str]]] | None = None

    def finish() -> None:
        if current is None:
            return
        name, line_no, body = current
        if not body:
            raise RuleError(f"{where} {line_no}行目: コード「{name}」に条件がありません")
        first, last = body[0][0], body[-1][0]
        span = f"{first}行目" if first == last else f"{first}〜{last}行目"
        text = " ".join(b for _, b in body)
        node = parse_expression(text, where=f"{where} {span}", codes=codes)
        codes[name] = node
        themes.append(Theme(name, node, conditions=(Condition("rule", line_no, text, node),)))

    for number, line in enumerate(text.splitlines(), 1):
        stripped = normalize(line).strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("*"):
            finish()
            name = stripped[1:].strip()
            if not name:
                raise RuleError(f"{where} {number}行目: 「*」の後にコード名がありません")
            if name in codes or (current and current[0] == name):
                raise RuleError(f"{where} {number}行目: コード「{name}」が 2 回定義されています")
            current = (name, number, [])
            continue
        if current is None:
            raise RuleError(f"{where} {number}行目: 「*コード名」の行より前に条件があります")
        # Each line is checked (or, if it looks complete, parsed) alone first, so an error
        # names that line; the code's whole condition is parsed when the code ends.
        if _balanced(stripped):
            parse_expression(stripped, where=f"{where} {number}行目", codes=codes)
        else:
            check_words(stripped, where=f"{where} {number}行目", codes=codes)
        current[2].append((number, stripped))
    finish()
    if not themes:
        raise RuleError(f"{where}: 「*コード名」の行がありません")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return RuleSet(tuple(themes), source, digest)


def _balanced(line: str) -> bool:
    """Whether a line is a complete expression on its own (so errors can name it)."""
    depth = 0
    for ch in line:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    stripped = line.strip().lower()
    dangling = ("and", "or", "not", "&", "|", "!")
    ends = stripped.split()
    return depth == 0 and ends[0] not in dangling[:2] + ("&", "|") and ends[-1] not in dangling


def load_kh_coder(path: str | os.PathLike[str]) -> RuleSet:
    """Read a KH Coder coding-rule file (UTF-8, with or without BOM, or Shift_JIS)."""
    p = Path(path)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # KH Coder on Windows saves rule files in Shift_JIS.
        try:
            text = data.decode("cp932")
        except UnicodeDecodeError as exc:
            raise RuleError(f"{p.name}: UTF-8 でも Shift_JIS でも読めません") from exc
    return parse_kh_coder(text, p.name)


_NATIVE_REFERENCE = re.compile(r"<>([^\s()&|!]+)")


def toml_to_kh_coder(text: str) -> str:
    """Write a TOML theme table in KH Coder rule syntax (``*name`` + one condition line).

    ``<>name`` references become ``<*name>``: to KH Coder ``<>`` starts a heading or
    variable condition. near/seq slots with alternatives, ``(A|B)``, are this tool's
    extension; KH Coder itself needs them spelled out as near() terms joined with ``or``.
    """
    import tomllib

    lines = []
    for entry in tomllib.loads(text)["theme"]:
        def group(key: str) -> list[str]:
            values = entry.get(key, [])
            values = [values] if isinstance(values, str) else list(values)
            return [_NATIVE_REFERENCE.sub(r"<*\1>", v) for v in values]

        parts = []
        if group("any"):
            parts.append("(" + " or ".join(f"({v})" for v in group("any")) + ")")
        parts += [f"({v})" for v in group("all")]
        parts += [f"not ({v})" for v in group("none")]
        lines += [f"*{entry['name']}", " and ".join(parts) if parts else "", ""]
    return "\n".join(lines)

