"""Measuring rules against hand-labelled comments: precision, recall and F1 per theme."""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from ..errors import KyodoError, OptionError
from .load import _resolve, default_theme_names
from .ruleset import RuleSet
from .tag import tag_texts


# --- evaluation -----------------------------------------------------------------------


class LabelError(KyodoError, ValueError):
    """Gold labels that are not theme names; ``problems`` has one Japanese line per label."""

    code = "unknown-label"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def _unknown_labels(
    gold: Sequence[Iterable[str]], names: Sequence[str], places: Sequence[str] | None = None,
) -> list[str]:
    """Return one message per gold label that is not a theme name (``places`` names each item)."""
    import difflib

    problems = []
    for number, labels in enumerate(gold):
        place = places[number] if places is not None else f"{number + 1} 件目"
        for label in labels:
            if label in names:
                continue
            close = difflib.get_close_matches(label, names, n=1, cutoff=0.5)
            hint = f"（「{close[0]}」の書き間違いですか？）" if close else f"（テーマ: {'／'.join(names)}）"
            problems.append(f"{place}: 「{label}」というテーマはありません{hint}")
    return problems


def evaluate(
    predicted: Sequence[Iterable[str]],
    gold: Sequence[Iterable[str]],
    *,
    themes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return precision, recall and F1 per theme and micro-averaged over all themes.

    A gold label that is not one of ``themes`` raises ``LabelError``: ignoring it would
    quietly count a typo (対話ノ場) as a theme the comment does not have.
    """
    if len(predicted) != len(gold):
        raise OptionError("predicted と gold の件数が違います")
    names = list(themes or default_theme_names())
    gold_sets = [set(g) for g in gold]
    problems = _unknown_labels([sorted(g) for g in gold_sets], names)
    if problems:
        raise LabelError(problems)
    pred_sets = [set(p) for p in predicted]
    rows = []
    totals = [0, 0, 0]
    for name in names:
        tp = sum(name in p and name in g for p, g in zip(pred_sets, gold_sets))
        fp = sum(name in p and name not in g for p, g in zip(pred_sets, gold_sets))
        fn = sum(name not in p and name in g for p, g in zip(pred_sets, gold_sets))
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
        rows.append(_scores(name, tp, fp, fn))
    rows.append(_scores("micro", *totals))
    return pd.DataFrame(rows)


def _scores(name: str, tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return {"theme": name, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn,
            "precision": precision, "recall": recall, "f1": f1}


def load_labelled(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a labelled set (``text`` and ``;``-separated ``themes``) into a frame of tuples."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["gold"] = frame["themes"].map(
        lambda s: tuple(t.strip() for t in s.split(";") if t.strip()))
    return frame


def evaluate_file(
    path: str | os.PathLike[str],
    *,
    rules: RuleSet | str | os.PathLike[str] | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Tag a labelled CSV and return the evaluation table (``LabelError`` names file and line)."""
    ruleset = _resolve(rules, cache=cache)
    frame = load_labelled(path)
    gold = frame["gold"].tolist()
    lines = _record_lines(path)
    if len(lines) != len(frame):  # a file pandas and csv read differently: count records
        lines = list(range(2, len(frame) + 2))
    places = [f"{Path(path).name} {n}行目" for n in lines]
    problems = _unknown_labels(gold, ruleset.names, places)
    if problems:
        raise LabelError(problems)
    predicted = tag_texts(frame["text"].tolist(), rules=ruleset, cache=cache)
    return evaluate(predicted, gold, themes=ruleset.names)


def _record_lines(path: str | os.PathLike[str]) -> list[int]:
    """Return the physical line each data record of a CSV starts on (cells may hold newlines)."""
    import csv

    starts, previous = [], 0
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            for row in reader:
                if row:  # pandas skips blank lines too
                    starts.append(previous + 1)
                previous = reader.line_num
    except (csv.Error, OSError, UnicodeDecodeError):
        return []  # pandas read it; the caller falls back to counting records
    return starts[1:]

