"""A theme rule set: conditions, themes and the rule set that combines them."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..text.tokens import RawToken
from .expression import And, Condition, Doc, Hit, Never, Node, Not, Or


@dataclass(frozen=True)
class Theme:
    """A named theme, its compiled condition, and the conditions that can make it hold."""

    name: str
    condition: Node
    description: str = ""
    conditions: tuple[Condition, ...] = ()

    def explain(self, doc: Doc) -> list[tuple[Condition, list[Hit]]]:
        """Return each positive condition that holds for ``doc`` with the words that fired."""
        if not self.condition.matches(doc):
            return []
        if not self.conditions:
            return [(Condition("rule", 1, "", self.condition), self.condition.hits(doc))]
        return [(c, c.node.hits(doc)) for c in self.conditions if c.node.matches(doc)]


@dataclass(frozen=True)
class RuleSet:
    """Themes in their canonical order, with where they came from."""

    themes: tuple[Theme, ...]
    source: str = ""
    digest: str = field(default="", compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Return the theme names in order."""
        return tuple(t.name for t in self.themes)

    def __post_init__(self) -> None:
        compiled = tuple((t.name, t.condition.compile()) for t in self.themes)
        object.__setattr__(self, "_compiled", compiled)

    def __getstate__(self) -> dict:
        # Compiled predicates are closures; workers started by spawn rebuild them.
        return {"themes": self.themes, "source": self.source, "digest": self.digest}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    def tag(self, raw: Sequence[RawToken]) -> tuple[str, ...]:
        """Return the themes whose condition holds for one tokenised comment."""
        doc = Doc(raw)
        return tuple(name for name, holds in self._compiled if holds(doc))


def _combine(any_: list[Node], all_: list[Node], none: list[Node]) -> Node:
    parts: list[Node] = []
    if any_:
        parts.append(any_[0] if len(any_) == 1 else Or(tuple(any_)))
    parts.extend(all_)
    if not parts:
        return Never()
    parts.extend(Not(n) for n in none)
    return parts[0] if len(parts) == 1 else And(tuple(parts))

