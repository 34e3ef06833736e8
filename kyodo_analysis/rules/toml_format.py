"""Reading theme rules from the bundled TOML format."""
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

