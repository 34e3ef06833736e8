"""Charts of choice and rating questions, drawn from the counts of :mod:`kyodo_analysis.choices`.

Each ``draw_*`` takes the counts of ONE question by 区分 (``choice_counts(answers, ("group",))``
filtered to the question) and an optional Axes; it returns the Axes and never saves or shows.
``draw_rating_set`` takes several rating questions that share one scale, one bar per question × 区分.
The ``plot_*`` functions give the figure the survey, fiscal year and n heading of the other figures.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..choices import neutral_option
from ..input.layout import GROUP_ORDER, NO_ANSWER
from .style import GROUP_COLORS, GROUP_HATCHES, SURVEY, TOTAL, _heading, grey_level, styled

# Diverging, grayscale-safe: the good side dark blue → light, the bad side light → dark orange-brown.
# Levels alternate between the sides so that all five of a 5-point scale differ in greyscale,
# and the bad side is hatched as well.
_GOOD = ("#08306B", "#2171B5", "#6BAED6")
_BAD = ("#FDAE6B", "#E6550D", "#7F2704")
BAD_HATCH = "//"
NEUTRAL_COLOR = "#D9D9D9"
_HATCHES = ("", "//", "..", "xx", "\\\\", "--", "++", "oo", "||", "**", "OO", "//..")
MULTIPLE_NOTE = "複数回答のため、割合の合計は100%を超えることがあります"


def _axes(ax: Axes | None, height: float) -> Axes:
    if ax is not None:
        return ax
    fig = Figure(figsize=(7.5, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig.subplots()


def _groups(data: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(data["group"].astype(str)))
    known = [g for g in (*GROUP_ORDER, TOTAL) if g in present]
    return known + [g for g in present if g not in known]


def _options(data: pd.DataFrame) -> list[str]:
    rows = data[data["option"] != NO_ANSWER].drop_duplicates("option").sort_values("order", kind="stable")
    return rows["option"].astype(str).tolist()


def _group_label(data: pd.DataFrame, group: str) -> str:
    n = int(data.loc[data["group"].astype(str) == group, "n"].max())
    return f"{group}（n={n}）"


def _missing_text(data: pd.DataFrame, groups: Sequence[str]) -> str:
    parts = []
    for group in groups:
        missing = int(data.loc[data["group"].astype(str) == group, "n_missing"].max())
        if missing:
            parts.append(f"{group} {missing}人")
    return f"{NO_ANSWER}（割合から除外）: " + "、".join(parts) if parts else ""


def _share_matrix(data: pd.DataFrame, groups: Sequence[str], options: Sequence[str]) -> np.ndarray:
    table = data[data["option"] != NO_ANSWER].pivot_table(
        index="group", columns="option", values="share", aggfunc="first", observed=True
    )
    table.index = table.index.astype(str)
    return table.reindex(index=list(groups), columns=list(options)).fillna(0.0).to_numpy(dtype=float)


def _spread(palette: Sequence[str], count: int) -> list[str]:
    """``count`` colours spread evenly over ``palette`` (its first and last included)."""
    if count <= 0:
        return []
    if count == 1:
        return [palette[0]]
    return [palette[int(round(i))] for i in np.linspace(0, len(palette) - 1, count)]


def rating_colors(options: Sequence[str], neutral: str | None) -> list[str]:
    """Colours of a scale's options, best first: dark to light blue, grey for neutral, light to dark orange."""
    k = len(options)
    middle = options.index(neutral) if neutral in options else None
    good = middle if middle is not None else k // 2
    bad = k - good - (1 if middle is not None else 0)
    colors = _spread(_GOOD, good) + ([NEUTRAL_COLOR] if middle is not None else []) + _spread(_BAD, bad)
    return [to_hex(c) for c in colors]


def _label_color(color: str) -> str:
    return "white" if grey_level(color) < 0.5 else "#1A1A1A"


def _draw_diverging(ax: Axes, shares: np.ndarray, labels: Sequence[str], options: Sequence[str],
                    neutral: str | None) -> None:
    """Diverging stacked bars, one per row of ``shares`` (top to bottom), centred on the neutral option."""
    colors = rating_colors(options, neutral)
    k = len(options)
    middle = options.index(neutral) if neutral in options else None
    good = middle if middle is not None else k // 2
    # Left edge of each bar: everything worse than neutral, plus half the neutral share, lies left of 0.
    left = -(shares[:, good + (1 if middle is not None else 0):].sum(axis=1))
    if middle is not None:
        left = left - shares[:, middle] / 2
    y = np.arange(len(labels))[::-1]
    for j in reversed(range(k)):  # worst option first, from the left
        widths = shares[:, j]
        worse = j > good or (middle is None and j >= good)
        ax.barh(y, widths, left=left, color=colors[j], edgecolor="white", linewidth=0.6,
                hatch=BAD_HATCH if worse else "", label=options[j])
        for yi, w, x0 in zip(y, widths, left):
            if w >= 0.08:
                ax.text(x0 + w / 2, yi, f"{w * 100:.0f}%", ha="center", va="center", fontsize=8,
                        color=_label_color(colors[j]))
        left = left + widths
    ax.axvline(0, color="#404040", linewidth=0.8)
    ax.set_yticks(y, list(labels))
    ax.set_xlim(-1, 1)
    ticks = np.linspace(-1, 1, 5)
    ax.set_xticks(ticks, [f"{abs(t) * 100:.0f}%" for t in ticks])
    handles, names = ax.get_legend_handles_labels()
    order = [names.index(o) for o in options]
    ax.legend([handles[i] for i in order], list(options), loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncols=min(k, 5), frameon=False, fontsize=8)


def draw_rating(data: pd.DataFrame, *, neutral: str | None = None, ax: Axes | None = None) -> Axes:
    """Diverging stacked bars of a rating question by 区分, centred on the neutral option, n per bar."""
    groups, options = _groups(data), _options(data)
    ax = _axes(ax, 1.6 + 0.5 * len(groups))
    _draw_diverging(ax, _share_matrix(data, groups, options), [_group_label(data, g) for g in groups],
                    options, neutral)
    ax.set_xlabel(_missing_text(data, groups), fontsize=8)
    question = str(data["question"].iloc[0]) if len(data) else ""
    ax.set_title(question, pad=24)
    return ax


def _questions(data: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(data["question"].astype(str)))


def draw_rating_set(data: pd.DataFrame, *, neutral: str | None = None, ax: Axes | None = None) -> Axes:
    """Diverging stacked bars of several rating questions sharing one scale: one bar per question × 区分."""
    questions = _questions(data)
    options = _options(data)
    ax = _axes(ax, 1.6 + 0.45 * len(data[["question", "group"]].drop_duplicates()))
    blocks, labels, notes = [], [], []
    for question in questions:
        part = data[data["question"].astype(str) == question]
        groups = _groups(part)
        blocks.append(_share_matrix(part, groups, options))
        labels += [f"{question}　{_group_label(part, g)}" for g in groups]
        missing = _missing_text(part, groups)
        if missing:
            notes.append(f"{question}: " + missing.split(": ", 1)[1])
    shares = np.vstack(blocks) if blocks else np.zeros((0, len(options)))
    _draw_diverging(ax, shares, labels, options, neutral)
    # A thin line between questions, so each question's bars read as one block.
    edge = len(labels)
    for block in blocks[:-1]:
        edge -= len(block)
        ax.axhline(edge - 0.5, color="#808080", linewidth=0.6)
    ax.set_xlabel(f"{NO_ANSWER}（割合から除外）: " + "／".join(notes) if notes else "", fontsize=8)
    return ax


def draw_choice_shares(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """100% stacked bars of a single-choice or attribute question by 区分, with n per bar."""
    groups, options = _groups(data), _options(data)
    ax = _axes(ax, 1.6 + 0.5 * len(groups))
    shares = _share_matrix(data, groups, options)
    y = np.arange(len(groups))[::-1]
    left = np.zeros(len(groups))
    greys = np.linspace(0.15, 0.85, max(len(options), 2))
    for j, option in enumerate(options):
        level = greys[j] if len(options) > 1 else 0.5
        color = to_hex((level * 0.85, level * 0.9, level))
        ax.barh(y, shares[:, j], left=left, color=color, edgecolor="white", linewidth=0.6,
                hatch=_HATCHES[j % len(_HATCHES)], label=option)
        for yi, w, x0 in zip(y, shares[:, j], left):
            if w >= 0.08:
                ax.text(x0 + w / 2, yi, f"{w * 100:.0f}%", ha="center", va="center", fontsize=8,
                        color=_label_color(color), bbox={"facecolor": color, "edgecolor": "none", "pad": 0.5})
        left = left + shares[:, j]
    ax.set_yticks(y, [_group_label(data, g) for g in groups])
    ax.set_xlim(0, 1)
    ax.set_xticks(np.linspace(0, 1, 5), [f"{t:.0f}%" for t in np.linspace(0, 100, 5)])
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=min(len(options), 5), frameon=False, fontsize=8)
    ax.set_xlabel(_missing_text(data, groups), fontsize=8)
    ax.set_title(str(data["question"].iloc[0]) if len(data) else "", pad=24)
    return ax


def draw_multiple_choice(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Share of respondents choosing each option of a multiple-choice question, one bar per 区分."""
    groups, options = _groups(data), _options(data)
    ax = _axes(ax, 1.4 + 0.35 * len(options) * max(len(groups), 1))
    shares = _share_matrix(data, groups, options)
    height = 0.8 / max(len(groups), 1)
    base = np.arange(len(options))[::-1]
    for i, group in enumerate(groups):
        y = base + 0.4 - height * (i + 0.5)
        ax.barh(y, shares[i], height=height, color=GROUP_COLORS.get(group, "#404040"),
                hatch=GROUP_HATCHES.get(group, ""), edgecolor="white", linewidth=0.6,
                label=_group_label(data, group))
        for yi, w in zip(y, shares[i]):
            ax.text(w + 0.01, yi, f"{w * 100:.0f}%", va="center", fontsize=7, color="#1A1A1A")
    ax.set_yticks(base, options)
    ax.set_xlim(0, 1.1)
    ax.set_xticks(np.linspace(0, 1, 5), [f"{t:.0f}%" for t in np.linspace(0, 100, 5)])
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    note = _missing_text(data, groups)
    ax.set_xlabel(MULTIPLE_NOTE + (f"\n{note}" if note else ""), fontsize=8)
    ax.set_title(str(data["question"].iloc[0]) if len(data) else "")
    return ax


def respondent_count(data: pd.DataFrame) -> int:
    """Respondents behind one question's counts by 区分 (answered plus 無回答; 全体 rows when present)."""
    per_group = data.assign(group=data["group"].astype(str)).groupby("group", observed=True)[["n", "n_missing"]].first()
    if TOTAL in per_group.index:
        per_group = per_group.loc[[TOTAL]]
    return int((per_group["n"] + per_group["n_missing"]).sum())


_ROLE_TITLES = {"rating": "評価", "single_choice": "選択", "attribute": "属性", "multiple_choice": "複数回答"}


def question_title(question: str, role: str) -> str:
    """The title of a question's figure: the question, its kind and 区分別."""
    return f"{question}（{_ROLE_TITLES.get(role, '選択')}・区分別）"


@styled
def plot_question(data: pd.DataFrame, *, neutral: str | None = None, fiscal_year: int | None = None,
                  survey: str = SURVEY) -> Figure:
    """Draw one question's chart by its role in the report style, with the survey/year/n heading.

    ``neutral`` defaults to the neutral option of the known scale the rating's options are.
    """
    role = str(data["role"].iloc[0])
    if role == "rating":
        ax = draw_rating(data, neutral=neutral if neutral is not None else neutral_option(_options(data)))
    elif role == "multiple_choice":
        ax = draw_multiple_choice(data)
    else:
        ax = draw_choice_shares(data)
    if fiscal_year is not None:
        ax.set_title("")  # the heading names the question
        _heading(ax.figure, question_title(str(data["question"].iloc[0]), role), [fiscal_year],
                 f"回答者 n={respondent_count(data)}", survey)
    return ax.figure


def rating_set_title(questions: Sequence[str]) -> str:
    """The title of a figure of several rating questions on one scale."""
    return "・".join(questions) + "（評価・区分別）"


@styled
def plot_rating_set(data: pd.DataFrame, *, neutral: str | None = None, fiscal_year: int,
                    survey: str = SURVEY) -> Figure:
    """Draw several rating questions that share a scale in one diverging chart, with the heading.

    ``neutral`` defaults to the neutral option of the known scale the options are.
    """
    ax = draw_rating_set(data, neutral=neutral if neutral is not None else neutral_option(_options(data)))
    n = max(respondent_count(data[data["question"].astype(str) == q]) for q in _questions(data))
    _heading(ax.figure, rating_set_title(_questions(data)), [fiscal_year], f"回答者 n={n}", survey)
    return ax.figure
