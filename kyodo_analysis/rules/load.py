"""Loading a rule set from the bundled file, a TOML file or a KH Coder file."""
from __future__ import annotations

import contextlib
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..text.cache import stored_rule_words
from .expression import RuleError
from .kh_coder import load_kh_coder
from .ruleset import RuleSet
from .toml_format import parse_toml_rules


DEFAULT_RULES_NAME = "themes.toml"


@lru_cache(maxsize=16)
def _load_cached(path: str | None, mtime: float, cache: bool = True) -> RuleSet:
    # The rule words are tokenised once per rule file and stored with it in the token cache.
    if path is None:
        bundled = resources.files("kyodo_analysis") / "data" / DEFAULT_RULES_NAME
        with stored_rule_words(bundled.read_bytes()) if cache else contextlib.nullcontext():
            return parse_toml_rules(bundled.read_text("utf-8"), DEFAULT_RULES_NAME)
    p = Path(path)
    with stored_rule_words(p.read_bytes()) if cache else contextlib.nullcontext():
        if p.suffix.lower() == ".toml":
            return parse_toml_rules(p.read_text("utf-8-sig"), p.name)
        return load_kh_coder(p)


def load_rules(path: str | os.PathLike[str] | None = None, *, cache: bool = True) -> RuleSet:
    """Load theme rules: the bundled table, a TOML file, or a KH Coder rule file.

    With ``cache`` the tokens of the rule words are read from (and stored in) the token cache.
    """
    if path is None:
        return _load_cached(None, 0.0, cache)
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError as exc:
        raise RuleError(f"テーマ定義ファイルを開けません: {p}") from exc
    return _load_cached(str(p.resolve()), mtime, cache)


def default_theme_names() -> tuple[str, ...]:
    """Return the ten theme names of the bundled table, in order."""
    return load_rules().names


def _resolve(rules: RuleSet | str | os.PathLike[str] | None, *, cache: bool = True) -> RuleSet:
    return rules if isinstance(rules, RuleSet) else load_rules(rules, cache=cache)

