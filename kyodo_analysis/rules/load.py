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
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from .expression import RuleError
from .ruleset import RuleSet
from .toml_format import parse_toml_rules
from .kh_coder import load_kh_coder


DEFAULT_RULES_NAME = "themes.toml"


@lru_cache(maxsize=16)
def _load_cached(path: str | None, mtime: float) -> RuleSet:
    if path is None:
        text = (resources.files("kyodo_analysis") / "data" / DEFAULT_RULES_NAME).read_text("utf-8")
        return parse_toml_rules(text, DEFAULT_RULES_NAME)
    p = Path(path)
    if p.suffix.lower() == ".toml":
        return parse_toml_rules(p.read_text("utf-8-sig"), p.name)

    return load_kh_coder(p)


def load_rules(path: str | os.PathLike[str] | None = None) -> RuleSet:
    """Load theme rules: the bundled table, a TOML file, or a KH Coder rule file."""
    if path is None:
        return _load_cached(None, 0.0)
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError as exc:
        raise RuleError(f"テーマ定義ファイルを開けません: {p}") from exc
    return _load_cached(str(p.resolve()), mtime)


def default_theme_names() -> tuple[str, ...]:
    """Return the ten theme names of the bundled table, in order."""
    return load_rules().names


def _resolve(rules: RuleSet | str | os.PathLike[str] | None) -> RuleSet:
    return rules if isinstance(rules, RuleSet) else load_rules(rules)

