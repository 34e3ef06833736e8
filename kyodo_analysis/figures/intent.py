"""Figures of the collaboration-intent question: by group, by group and year, and the trend."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ..errors import NoDataError
from ..input.layout import NO_ANSWER, POSITIVE_ANSWER
from .style import (
    ABOVE_BAR_PT,
    ANSWERS,
    ANSWER_COLORS,
    GROUPS,
    GROUP_COLORS,
    GROUP_MARKERS,
    INSIDE_PAD_PT,
    OMITTED_NOTE,
    OUTSIDE_LABEL_COLOR,
    SURVEY,
    TOTAL,
    _heading,
    _new_figure,
    _ordered_groups,
    _pct,
    _text_color,
    styled,
)


def _draw_intent_bars(
    ax: Any,
    shares: pd.DataFrame,
    groups: Sequence[str],
    *,
    rows: Sequence[str] | None = None,
    fontsize: float = 9,
    n_in_ticks: bool = True,
) -> list[tuple[Any, Any]]:
    """Draw 100% stacked bars on ``ax`` for one fiscal year; return (label, segment) pairs.

    ``rows`` fixes the groups shown (so panels of several years line up); with
    ``n_in_ticks`` False the tick labels carry only the group and each bar gets its n
    printed just above its left end instead, so the ticks can be shared between panels.
    """
    rows = list(rows) if rows is not None else _ordered_groups(shares, groups)
    frame = shares.assign(group=shares["group"].astype(str), answer=shares["answer"].astype(str))
    table = frame[frame["answer"].isin(ANSWERS)].pivot_table(
        index="group", columns="answer", values="share", aggfunc="sum", observed=True
    ).reindex(index=rows, columns=list(ANSWERS)).fillna(0.0)
    n = frame.groupby("group", observed=True)["n"].first().reindex(rows)
    counts = [int(n[g]) if pd.notna(n[g]) else 0 for g in rows]
    # Top to bottom in the given order reads like the table beside it.
    y = np.arange(len(rows))[::-1]
    height = 0.6
    left = np.zeros(len(rows))
    labels = []
    for answer in ANSWERS:
        widths = table[answer].to_numpy()
        color = ANSWER_COLORS[answer]
        bars = ax.barh(y, widths, left=left, color=color, label=answer,
                       edgecolor="white", linewidth=0.8, height=height)
        for bar, width in zip(bars, widths):
            if width > 0:
                text = ax.text(
                    bar.get_x() + width / 2, bar.get_y() + bar.get_height() / 2, _pct(width),
                    ha="center", va="center", fontsize=fontsize, color=_text_color(color),
                )
                labels.append((text, bar))
        left += widths
    if n_in_ticks:
        ax.set_yticks(y, [f"{g} (n={c})" for g, c in zip(rows, counts)])
    else:
        ax.set_yticks(y, list(rows))
        # Clear of the axis line at 0%.
        above = ax.transData + _points_up(ax, ABOVE_BAR_PT, right=1.5)
        for yi, c in zip(y, counts):
            ax.text(0, yi + height / 2, f"n={c}", ha="left", va="bottom", fontsize=fontsize - 0.5,
                    color="#404040", transform=above)
    # Room above the top bar for a label moved out of a narrow segment.
    ax.set_ylim(-0.5, len(rows) - 1 + height / 2 + 0.45)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.tick_params(axis="y", length=0)
    return labels


def _points_up(ax: Any, points: float, right: float = 0.0) -> Any:
    """An offset of ``points`` upwards (and ``right`` points to the right), to add to a data transform."""
    from matplotlib.transforms import ScaledTranslation

    return ScaledTranslation(right / 72, points / 72, ax.figure.dpi_scale_trans)


def _place_segment_labels(fig: Figure, labels: Sequence[tuple[Any, Any]]) -> int:
    """Put each percentage inside its segment, else just above the bar; return how many fit nowhere.

    A label moved above its bar stays over its own segment (centred, or flush with the
    segment's right or left end) and must clear every other label, the n texts and the
    bars. Labels that fit nowhere are hidden (:func:`_label_segments` removes them once settled).
    """
    # Layout first: constrained layout moves the axes, which changes segment widths.
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    pad = fig.dpi / 72  # one point of air between labels
    mine = {id(label) for label, _ in labels}
    taken: dict[int, list[Any]] = {}
    for ax in {id(label.axes): label.axes for label, _ in labels}.values():
        others = [t for t in ax.texts if id(t) not in mine and t.get_visible() and t.get_text()]
        taken[id(ax)] = [t.get_window_extent(renderer) for t in others]
        taken[id(ax)] += [p.get_window_extent(renderer) for p in ax.patches]
    outside = []
    for label, segment in labels:
        ax = label.axes
        label.set_visible(True)
        label.set_transform(ax.transData)
        label.set_position((segment.get_x() + segment.get_width() / 2, segment.get_y() + segment.get_height() / 2))
        label.set_horizontalalignment("center")
        label.set_verticalalignment("center")
        label.set_color(_text_color(mpl.colors.to_hex(segment.get_facecolor())))
        box = label.get_window_extent(renderer)
        seg = segment.get_window_extent(renderer)
        if box.width + 2 * INSIDE_PAD_PT * fig.dpi / 72 <= seg.width and box.height <= seg.height:
            taken[id(ax)].append(box)
        else:
            outside.append((label, segment))
    dropped = 0
    for label, segment in outside:
        ax = label.axes
        frame = ax.get_window_extent(renderer)
        start, stop = segment.get_x(), segment.get_x() + segment.get_width()
        top = segment.get_y() + segment.get_height()
        label.set_transform(ax.transData + _points_up(ax, ABOVE_BAR_PT))
        label.set_verticalalignment("bottom")
        label.set_color(OUTSIDE_LABEL_COLOR)
        for x, ha in (((start + stop) / 2, "center"), (stop, "right"), (start, "left")):
            label.set_position((x, top))
            label.set_horizontalalignment(ha)
            box = label.get_window_extent(renderer)
            inside_frame = frame.x0 <= box.x0 and box.x1 <= frame.x1 and box.y1 <= frame.y1
            if inside_frame and not any(box.padded(pad).overlaps(other) for other in taken[id(ax)]):
                taken[id(ax)].append(box)
                break
        else:
            label.set_visible(False)
            dropped += 1
    return dropped


def _label_segments(fig: Figure, labels: Sequence[tuple[Any, Any]], note: Any) -> int:
    """Place segment labels and say under the figure when some had to be left out; return that count."""
    # The note takes height from the axes, so place again after adding or removing it.
    for _ in range(3):
        dropped = _place_segment_labels(fig, labels)
        wanted = OMITTED_NOTE if dropped else ""
        if note.get_text() == wanted:
            break
        note.set_text(wanted)
    for label, _ in labels:
        if not label.get_visible():
            label.remove()
    return dropped


def _missing_note(shares: pd.DataFrame, groups: Sequence[str]) -> str:
    """Say how many did not answer (excluded from shares) and who else 全体 includes."""
    frame = shares.assign(group=shares["group"].astype(str))
    per_group = frame.groupby("group", observed=True)[["n", "n_missing"]].first()
    missing = per_group["n_missing"]
    shown = [g for g in groups if g != TOTAL and g in per_group.index]
    parts = [f"{g} {int(missing[g])}人" for g in shown if missing[g] > 0]
    total = int(missing.get(TOTAL, missing.sum()))
    notes = []
    if total:
        detail = f"（{'、'.join(parts)}）" if parts else ""
        notes.append(f"{NO_ANSWER} {total}人{detail}は割合から除外")
    else:
        notes.append(f"{NO_ANSWER}なし")
    others = [g for g in per_group.index if g not in groups and g != TOTAL and per_group.loc[g, "n"] > 0]
    if TOTAL in groups and TOTAL in per_group.index and others:
        notes.append(f"{TOTAL}には" + "、".join(f"{g} {int(per_group.loc[g, 'n'])}人" for g in others) + "を含む")
    return "。".join(notes)


def _respondent_text(shares: pd.DataFrame) -> str:
    """Describe n for a caption, from the 全体 rows when present."""
    frame = shares.assign(group=shares["group"].astype(str))
    per_group = frame.groupby(["fiscal_year", "group"], observed=True)[["n", "n_missing"]].first().reset_index()
    if (per_group["group"] == TOTAL).any():
        per_group = per_group[per_group["group"] == TOTAL]
    total = int((per_group["n"] + per_group["n_missing"]).sum())
    return f"回答者 n={total}"


@styled
def plot_intent_by_group(
    shares: pd.DataFrame,
    *,
    fiscal_year: int | None = None,
    groups: Sequence[str] = GROUPS,
    survey: str = SURVEY,
) -> Figure:
    """Draw 100% stacked bars of the intent answer by group for one fiscal year."""
    if fiscal_year is None:
        years = sorted(shares["fiscal_year"].unique())
        if len(years) != 1:
            raise NoDataError("年度が複数あります。fiscal_year を指定してください。")
        fiscal_year = int(years[0])
    frame = shares[shares["fiscal_year"] == fiscal_year]
    if frame.empty:
        raise NoDataError(f"{fiscal_year}年度のデータがありません。")
    fig = _new_figure(figsize=(7.5, 1.2 + 0.55 * len(_ordered_groups(frame, groups)) + 1.2), layout="constrained")
    ax = fig.subplots()
    labels = _draw_intent_bars(ax, frame, groups)
    ax.set_xlabel(_missing_note(frame, groups), fontsize=8)
    # Legend below the axes: above it, constrained layout lets it collide with the title.
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=len(ANSWERS), frameon=False)
    _heading(fig, "協働したいと思いますか（区分別）", [fiscal_year], _respondent_text(frame), survey)
    _label_segments(fig, labels, fig.supxlabel("", x=0.02, ha="left", fontsize=8))
    return fig


@styled
def plot_intent_by_group_years(
    shares: pd.DataFrame,
    *,
    groups: Sequence[str] = GROUPS,
    max_columns: int = 4,
    survey: str = SURVEY,
) -> Figure:
    """Draw the intent bars of every fiscal year as side-by-side panels."""
    years = sorted(int(y) for y in shares["fiscal_year"].unique())
    if not years:
        raise NoDataError("データがありません。")
    rows = len(_ordered_groups(shares, groups))
    # Wrap after a few years so ten years stay readable on an A4 page.
    ncols = min(len(years), max_columns)
    nrows = -(-len(years) // ncols)
    fig = _new_figure(figsize=(max(7.5, 3.3 * ncols), (0.8 + 0.55 * rows + 0.9) * nrows + 0.9), layout="constrained")
    # Shared rows: group names only on the left, which leaves the panels wider for labels.
    grid = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False, sharey=True))
    axes = grid.ravel()
    shown = _ordered_groups(shares, groups)
    labels: list[tuple[Any, Any]] = []
    for index, (ax, year) in enumerate(zip(axes, years)):
        frame = shares[shares["fiscal_year"] == year]
        labels += _draw_intent_bars(ax, frame, groups, rows=shown, fontsize=8, n_in_ticks=False)
        ax.set_title(f"{year}年度")
        ax.set_xlabel(_missing_note(frame, groups), fontsize=8)
        ax.tick_params(axis="y", labelleft=index % ncols == 0)
    for ax in axes[len(years):]:
        ax.set_visible(False)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=len(ANSWERS), frameon=False)
    _heading(fig, "協働したいと思いますか（区分別・年度別）", years, _respondent_text(shares), survey)
    _label_segments(fig, labels, fig.supxlabel("", x=0.02, ha="left", fontsize=8))
    return fig


# --- 2. trend across years --------------------------------------------------------


@styled
def plot_intent_trend(
    shares: pd.DataFrame,
    *,
    answer: str = POSITIVE_ANSWER,
    groups: Sequence[str] = GROUPS,
    survey: str = SURVEY,
) -> Figure:
    """Draw the share giving ``answer`` per group and fiscal year with Wilson 95% intervals."""
    frame = shares.assign(group=shares["group"].astype(str), answer=shares["answer"].astype(str))
    frame = frame[frame["answer"] == answer]
    years = sorted(int(y) for y in frame["fiscal_year"].unique())
    if len(years) < 2:
        raise NoDataError("推移の図には2年度以上のデータが必要です。")
    rows = _ordered_groups(frame, groups)
    fig = _new_figure(figsize=(7.5, 4.8), layout="constrained")
    ax = fig.subplots()
    # Small sideways offsets keep the intervals of different groups from hiding each other.
    offsets = np.linspace(-0.12, 0.12, len(rows)) if len(rows) > 1 else [0.0]
    for offset, group in zip(offsets, rows):
        part = frame[frame["group"] == group].sort_values("fiscal_year")
        part = part[part["n"] > 0]
        x = part["fiscal_year"].to_numpy(dtype=float) + offset
        share = part["share"].to_numpy(dtype=float)
        err = np.vstack([share - part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float) - share])
        ax.errorbar(
            x, share, yerr=err, label=group, color=GROUP_COLORS.get(group, "#555555"),
            marker=GROUP_MARKERS.get(group, "o"), linestyle="--" if group == TOTAL else "-",
            capsize=3, linewidth=1.5, markersize=5,
        )
    totals = frame.groupby(["fiscal_year", "group"], observed=True)["n"].first().unstack()
    tick_n = totals[TOTAL] if TOTAL in totals else totals.sum(axis=1)
    ax.set_xticks(years, [f"{y}年度\n(n={int(tick_n.get(y, 0))})" for y in years])
    ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel(f"「{answer}」と答えた割合")
    ax.grid(axis="y", color="#E0E0E0", linewidth=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    n_text = _respondent_text(shares[shares["fiscal_year"].isin(years)])
    _heading(fig, f"協働したいと思いますか:「{answer}」の割合の推移", years, n_text, survey)
    fig.supxlabel(f"縦線は95%信頼区間（Wilson法）。n は{NO_ANSWER}を除く回答者数。", x=0.02, ha="left", fontsize=8)
    return fig

