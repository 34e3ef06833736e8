"""Theme tagging of free-text comments, and the analyses built on the tags.

Rules are boolean expressions over *tokens* (janome base forms), never raw substrings,
so 「場」 matches 「話し合いの場」 but not 「立場」 or 「場合」. One expression language
serves both the bundled TOML rule file and KH Coder coding-rule files (``kh_coder``):

    word            a word; written in any inflection, it is compared by base form
    A+B             words in immediate succession (a phrase)
    A and B / A & B, A or B / A | B, not A / !A, ( ... )
    near(A-B)[N]    A and B within N tokens of each other, either order (default 10)
    seq(A-B)[N]     A, then B within N tokens (default 10)
    [bN] / [b]      ... and in the same sentence; ``(A|B)`` inside near/seq lists alternatives
    <>name, <*name> another theme defined earlier in the same file (``<*name>`` is KH Coder's form)
"""
from __future__ import annotations
import hashlib
import tomllib
from .expression import Condition, Node, RuleError, parse_expression
from .ruleset import RuleSet, Theme, _combine


def parse_toml_rules(text: str, source: str = "") -> RuleSet:
    """Parse the native TOML rule format (see docs/themes.md)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source or 'テーマ定義'}: TOML として読めません: {exc}") from exc
    entries = data.get("theme")
    if not isinstance(entries, list) or not entries:
        raise RuleError(f"{source or 'テーマ定義'}: [[theme]] がありません")
    themes: list[Theme] = []
    codes: dict[str, Node] = {}
    for number, entry in enumerate(entries, 1):
        name = str(entry.get("name", "")).strip()
        if not name:
            raise RuleError(f"{source}: {number} 番目の [[theme]] に name がありません")
        if name in codes:
            raise RuleError(f"{source}: テーマ「{name}」が 2 回定義されています")
        unknown = set(entry) - {"name", "description", "any", "all", "none"}
        if unknown:
            raise RuleError(f"{source}: テーマ「{name}」の {', '.join(sorted(unknown))} は使えない項目です")
        compiled = {}
        for key in ("any", "all", "none"):
            values = entry.get(key, [])
            if isinstance(values, str):
                values = [values]
            compiled[key] = [
                parse_expression(v, where=f"{source} テーマ「{name}」の {key}", codes=codes)
                for v in values
            ]
        condition = _combine(compiled["any"], compiled["all"], compiled["none"])
        codes[name] = condition
        written = {k: [entry[k]] if isinstance(entry.get(k), str) else entry.get(k, []) for k in ("any", "all")}
        conditions = tuple(Condition(key, number, str(text), node)
                           for key in ("any", "all")
                           for number, (text, node) in enumerate(zip(written[key], compiled[key]), 1))
        themes.append(Theme(name, condition, str(entry.get("description", "")), conditions))
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return RuleSet(tuple(themes), source, digest)

