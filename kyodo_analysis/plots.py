"""Report figures and the shared style: tidy frames in, matplotlib Figures out.

Nothing here saves or shows a figure except :func:`save_figure`, the one export
function, so notebooks and the report share the same drawing code.
"""
from __future__ import annotations

import functools
import importlib.util
import io
import itertools
import math
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

SURVEY = "協働のまちづくりワークショップ アンケート"
ANSWERS = ("思う", "どちらとも言えない", "思わない")
NO_ANSWER = "無回答"
TOTAL = "全体"
GROUPS = ("市民", "職員", TOTAL)
QUESTIONS = ("理由", "講演", "ワークショップ")
THEMES = (
    "相互理解", "対等", "目的共有", "信頼関係", "情報共有",
    "対話の場", "役割分担", "自主・自立", "評価・ふりかえり", "資源",
)

# Dark blue / light grey / orange: safe for the common colour-vision deficiencies
# and far apart in lightness, so the answers stay apart when printed in grey.
ANSWER_COLORS = {"思う": "#1B4F8A", "どちらとも言えない": "#D9D9D9", "思わない": "#E69F00"}
GROUP_COLORS = {"市民": "#009E73", "職員": "#CC79A7", "その他": "#8C510A", TOTAL: "#222222"}
# Markers and hatches carry the group when colour is lost in print.
GROUP_MARKERS = {"市民": "o", "職員": "s", "その他": "^", TOTAL: "D"}
GROUP_HATCHES = {"市民": "", "職員": "//", "その他": "..", TOTAL: "xx"}
# Word-cloud colours: neutral greys, so no word borrows the colour of an answer or a
# group, all reaching a WCAG contrast of at least 4.5:1 on white.
WORD_COLORS = ("#1A1A1A", "#404040", "#5C5C5C", "#6E6E6E")

FONT_NAME = "IPAexGothic"
HEATMAP_CMAP = "Blues"
LAYOUT_SEED = 20170401
WORDCLOUD_SEED = 20170401
# Resolution of the PNG export; raster content (the word cloud) is made for it.
SAVE_DPI = 300

STYLE: dict[str, Any] = {
    "font.family": [FONT_NAME, "DejaVu Sans"],
    "axes.unicode_minus": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 13,
    "figure.dpi": 100,
    "savefig.dpi": SAVE_DPI,
    "savefig.facecolor": "white",
    # TrueType (Type 42) embedding: print preflight often rejects Type 3 fonts.
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    # A fixed salt keeps the SVG element ids stable between runs.
    "svg.hashsalt": "kyodo-analysis",
    "svg.fonttype": "path",
}

P = ParamSpec("P")
R = TypeVar("R")


def font_path() -> Path:
    """Return the path of the IPAexGothic font file shipped by matplotlib-fontja."""
    # Importing matplotlib_fontja would rewrite the global rcParams, so only locate it.
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib-fontja が見つかりません。`make setup` で入れ直してください。")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"


@functools.cache
def register_font() -> str:
    """Make IPAexGothic known to matplotlib once and return its family name."""
    path = str(font_path())
    if not any(entry.fname == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    return FONT_NAME


@contextmanager
def style() -> Iterator[None]:
    """Apply the report style (Japanese font, palette defaults) inside a ``with`` block."""
    register_font()
    with mpl.rc_context(STYLE):
        yield


def warm_up() -> None:
    """Load the Japanese font and draw once, so worker processes forked later start warm."""
    with style():
        fig = _new_figure((1.0, 1.0))
        fig.text(0.5, 0.5, "協働 0%")
        # Saving once imports the PNG, SVG and PDF backends as well.
        for fmt in ("png", "svg", "pdf"):
            fig.savefig(io.BytesIO(), format=fmt, dpi=72)
    _font_charset()


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Run a plotting function inside :func:`style` so its text gets the Japanese font."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with style():
            return func(*args, **kwargs)

    return wrapper


@functools.cache
def _font_charset() -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(str(font_path())).get_charmap())


def drawable(text: str) -> str:
    """Replace characters the Japanese font lacks (e.g. 𠮷) with 〓 so no glyph goes missing."""
    charset = _font_charset()
    return "".join(ch if ord(ch) in charset or ch.isspace() else "〓" for ch in text)


def grey_level(color: str) -> float:
    """Return the lightness (0–1) a colour keeps when printed in greyscale (ITU-R 601 luma)."""
    r, g, b = to_rgb(color)
    return 0.299 * r + 0.587 * g + 0.114 * b


def contrast_ratio(color: str, background: str = "white") -> float:
    """Return the WCAG contrast ratio between two colours."""

    def luminance(c: str) -> float:
        channels = [u / 12.92 if u <= 0.03928 else ((u + 0.055) / 1.055) ** 2.4 for u in to_rgb(c)]
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    high, low = sorted((luminance(color), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _text_color(background: str) -> str:
    """Pick black or white text, whichever reads better on ``background``."""
    return "white" if contrast_ratio(background, "white") >= contrast_ratio(background, "black") else "black"


def years_label(years: Iterable[int]) -> str:
    """Format fiscal years for a caption: ``2017年度`` or ``2015〜2017年度``."""
    values = sorted({int(y) for y in years})
    if not values:
        return "年度不明"
    if len(values) == 1:
        return f"{values[0]}年度"
    if values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}〜{values[-1]}年度"
    return "・".join(str(v) for v in values) + "年度"


def _heading(fig: Figure, title: str, years: Iterable[int], n_text: str, survey: str) -> None:
    """Give a figure the title, survey, fiscal years and n it needs to stand alone."""
    fig.suptitle(f"{title}\n{survey}（{years_label(years)}、{n_text}）", fontsize=11)


def _new_figure(figsize: tuple[float, float], **kwargs: Any) -> Figure:
    """Create a figure outside pyplot's registry, with an Agg canvas for measuring text."""
    # Outside pyplot so a long report run never accumulates open figures.
    fig = Figure(figsize=figsize, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


# --- 1. intent by group -----------------------------------------------------------


def _ordered_groups(frame: pd.DataFrame, groups: Sequence[str]) -> list[str]:
    present = set(frame["group"].astype(str))
    return [g for g in groups if g in present]


# Said under a figure whenever a segment's percentage could not be printed anywhere.
OMITTED_NOTE = "数値を省いた区分は表を参照"
# Text colour for segment labels printed outside their (white-backed) segment.
OUTSIDE_LABEL_COLOR = "#1A1A1A"
# Gap (points) between a bar and a label or n printed just above it.
ABOVE_BAR_PT = 1.5
# Least space (points) between a label inside a segment and each end of the segment.
INSIDE_PAD_PT = 2.0


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
        notes.append(f"無回答 {total}人{detail}は割合から除外")
    else:
        notes.append("無回答なし")
    others = [g for g in per_group.index if g not in groups and g != TOTAL and per_group.loc[g, "n"] > 0]
    if TOTAL in groups and TOTAL in per_group.index and others:
        notes.append("全体には" + "、".join(f"{g} {int(per_group.loc[g, 'n'])}人" for g in others) + "を含む")
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
            raise ValueError("年度が複数あります。fiscal_year を指定してください。")
        fiscal_year = int(years[0])
    frame = shares[shares["fiscal_year"] == fiscal_year]
    if frame.empty:
        raise ValueError(f"{fiscal_year}年度のデータがありません。")
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
        raise ValueError("データがありません。")
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
    answer: str = "思う",
    groups: Sequence[str] = GROUPS,
    survey: str = SURVEY,
) -> Figure:
    """Draw the share giving ``answer`` per group and fiscal year with Wilson 95% intervals."""
    frame = shares.assign(group=shares["group"].astype(str), answer=shares["answer"].astype(str))
    frame = frame[frame["answer"] == answer]
    years = sorted(int(y) for y in frame["fiscal_year"].unique())
    if len(years) < 2:
        raise ValueError("推移の図には2年度以上のデータが必要です。")
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
    fig.supxlabel("縦線は95%信頼区間（Wilson法）。n は無回答を除く回答者数。", x=0.02, ha="left", fontsize=8)
    return fig


# --- 3. themes by group -----------------------------------------------------------


def theme_order(themes: pd.Series) -> list[str]:
    """Return the themes present in rule-table order (a categorical's order, else the bundled one)."""
    present = set(themes.astype(str))
    if isinstance(themes.dtype, pd.CategoricalDtype):
        table = [str(t) for t in themes.cat.categories]
    else:
        table = list(THEMES)
    return [t for t in table if t in present] + sorted(present - set(table))


def _by_share(frame: pd.DataFrame, mentions: pd.Series, comments: pd.Series) -> pd.DataFrame:
    """Add ``overall_share`` = mentions / comments and sort by it, highest first, ties in rule-table order."""
    overall = (mentions / comments.replace(0, np.nan)).fillna(0.0)
    order = frame.assign(overall_share=overall)
    rank = {t: i for i, t in enumerate(theme_order(frame["theme"]))}
    order["_canonical"] = order["theme"].astype(str).map(rank)
    return order.sort_values(["overall_share", "_canonical"], ascending=[False, True], kind="stable").drop(
        columns="_canonical"
    ).reset_index(drop=True)


def order_themes_by_share(comparison: pd.DataFrame) -> pd.DataFrame:
    """Sort a ``compare_groups`` frame by the pooled share of comments, highest first."""
    return _by_share(comparison, comparison["citizens_k"] + comparison["staff_k"],
                     comparison["citizens_n"] + comparison["staff_n"])


def themes_by_overall_share(shares: pd.DataFrame) -> list[str]:
    """Order the themes of a ``theme_shares`` frame by their share over all its rows, highest first.

    The same rule as :func:`order_themes_by_share` (ties in rule-table order), applied
    to whatever the frame is split by (e.g. question), pooling its comments.
    """
    # Every comment sits in one cell of the split, so comment counts add up per theme.
    # Grouping on the column itself keeps a categorical's rule-table order for ties.
    pooled = shares.groupby("theme", observed=True, sort=False)[["n_mentions", "n_comments"]].sum()
    table = pd.DataFrame({"theme": pooled.index.to_series(index=range(len(pooled)))})
    ordered = _by_share(table, pd.Series(pooled["n_mentions"].to_numpy(dtype=float)),
                        pd.Series(pooled["n_comments"].to_numpy(dtype=float)))
    return ordered["theme"].astype(str).tolist()


@styled
def plot_themes_by_group(
    comparison: pd.DataFrame,
    *,
    years: Iterable[int],
    survey: str = SURVEY,
) -> Figure:
    """Draw grouped horizontal bars of the share of comments per theme, citizens vs staff."""
    table = order_themes_by_share(comparison)
    fig = _new_figure(figsize=(7.5, 1.8 + 0.45 * len(table)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(table))[::-1]
    height = 0.38
    n_citizens = int(table["citizens_n"].max()) if len(table) else 0
    n_staff = int(table["staff_n"].max()) if len(table) else 0
    for group, column, shift, n in (("市民", "citizens_share", height / 2, n_citizens),
                                    ("職員", "staff_share", -height / 2, n_staff)):
        ax.barh(y + shift, table[column].fillna(0.0), height=height, label=f"{group} (n={n})",
                color=GROUP_COLORS[group], hatch=GROUP_HATCHES[group], edgecolor="white", linewidth=0.5)
    ax.set_yticks(y, table["theme"].tolist())
    ax.tick_params(axis="y", length=0)
    top = max(float(table[["citizens_share", "staff_share"]].max().max() or 0.0), 0.05) if len(table) else 1.0
    ax.set_xlim(0, min(1.0, top * 1.25 + 0.05))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("そのテーマに触れたコメントの割合")
    flagged = table["indicative"].fillna(False).astype(bool).to_numpy() if "indicative" in table else np.zeros(len(table), bool)
    for yi, row_flag, hi in zip(y, flagged, table[["citizens_share", "staff_share"]].fillna(0.0).max(axis=1)):
        if row_flag:
            ax.text(hi + 0.01, yi, "*", va="center", ha="left", fontsize=12)
    ax.legend(loc="lower right", frameon=False)
    _heading(fig, "コメントに現れるテーマ（市民と職員）", years,
             f"コメント n={n_citizens + n_staff}", survey)
    note = "* は市民と職員の差を小標本向けの検定で示唆されたテーマ（件数は表を参照）。" if flagged.any() else \
        "市民と職員の差が検定で示唆されたテーマはありません（件数は表を参照）。"
    fig.supxlabel(note, x=0.02, ha="left", fontsize=8)
    return fig


# --- 4. word clouds ---------------------------------------------------------------


def _word_color(word: str, *args: Any, **kwargs: Any) -> str:
    # A hash of the word, not the random state, so a word keeps its colour across clouds.
    return WORD_COLORS[zlib.crc32(word.encode("utf-8")) % len(WORD_COLORS)]


def word_counts(
    frequencies: pd.DataFrame, *, group: str | None = None, exclude: Iterable[str] = ()
) -> dict[str, int]:
    """Sum a ``words.word_frequencies`` frame into ``{word: occurrences}`` for one group or all groups.

    The frame is already filtered (``kyodo_analysis.words``); this only sums and orders it.
    """
    frame = frequencies
    if group is not None and group != TOTAL and "group" in frame:
        frame = frame[frame["group"].astype(str) == group]
    frame = frame[~frame["word"].isin(set(exclude))]
    counts = frame.groupby("word", observed=True)["occurrences"].sum()
    counts = counts[counts > 0]
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {drawable(word): int(count) for word, count in ordered}


# Word sizes as printed (em size in points, at the figure's own size): the smallest
# words stay legible and the most frequent one cannot swamp the rest.
WORD_MIN_PT = 8.0
WORD_MAX_PT = 48.0
# Space kept clear around every word; Japanese has no spaces, so neighbours on one
# line would otherwise read as one word.
WORD_MARGIN_PT = 6.0
# Below 1, a word's size follows its count only partly, so the top words stay close.
WORD_RELATIVE_SCALING = 0.6
# The layout runs on a canvas this many times smaller than the image, then renders
# at full size: the same look in a fraction of the time.
WORDCLOUD_SCALE = 2


def make_wordcloud(
    counts: dict[str, int],
    *,
    max_words: int = 80,
    size: tuple[int, int] = (1500, 900),
    dpi: int = SAVE_DPI,
) -> Any:
    """Lay out a horizontal-only word cloud for an image of ``size`` pixels shown at ``dpi``.

    ``size`` must be a multiple of :data:`WORDCLOUD_SCALE` in both directions, so the
    rendered array has exactly that size.
    """
    from wordcloud import WordCloud

    width, height = size
    if width % WORDCLOUD_SCALE or height % WORDCLOUD_SCALE:
        raise ValueError(f"size must be a multiple of {WORDCLOUD_SCALE}: {size}")
    # WordCloud sizes fonts in pixels of the layout canvas.
    per_point = dpi / 72 / WORDCLOUD_SCALE
    return WordCloud(
        font_path=str(font_path()), width=width // WORDCLOUD_SCALE, height=height // WORDCLOUD_SCALE,
        scale=WORDCLOUD_SCALE, background_color="white", prefer_horizontal=1.0,
        random_state=WORDCLOUD_SEED, max_words=max_words, color_func=_word_color, collocations=False,
        min_font_size=math.ceil(WORD_MIN_PT * per_point), max_font_size=math.floor(WORD_MAX_PT * per_point),
        relative_scaling=WORD_RELATIVE_SCALING, margin=round(WORD_MARGIN_PT * per_point),
    ).generate_from_frequencies(counts)


def _pin_axes_to_pixels(fig: Figure, ax: Any, *, dpi: int, multiple: int = 1) -> tuple[int, int]:
    """Fix the layout and snap ``ax`` to whole pixels at ``dpi``; return its (width, height) in pixels.

    The axes keeps the box the layout gave it, shrunk to a multiple of ``multiple``
    pixels, so an image of exactly that size is drawn 1:1, without resampling.
    """
    fig.draw_without_rendering()
    # Freezing the layout keeps the box from moving when the figure is drawn again.
    fig.set_layout_engine("none")
    fig_w, fig_h = round(fig.get_figwidth() * dpi), round(fig.get_figheight() * dpi)
    box = ax.get_position()
    spans = []
    for lo, hi, total in ((box.x0, box.x1, fig_w), (box.y0, box.y1, fig_h)):
        start, stop = math.ceil(lo * total), math.floor(hi * total)
        length = (stop - start) // multiple * multiple
        spans.append((start + (stop - start - length) // 2, length))
    (x0, width), (y0, height) = spans
    ax.set_position([x0 / fig_w, y0 / fig_h, width / fig_w, height / fig_h])
    return width, height


@styled
def plot_wordcloud(
    frequencies: pd.DataFrame,
    *,
    group: str | None = None,
    years: Iterable[int],
    n_comments: int,
    exclude: Iterable[str] = (),
    max_words: int = 80,
    survey: str = SURVEY,
) -> Figure:
    """Draw a word cloud for one group (all groups when ``group`` is None or 全体).

    The cloud is rendered at the pixel size the axes has in the 300 dpi PNG, so the
    export shows it 1:1 and SVG/PDF embed it at 300 dpi.
    """
    exclude = tuple(exclude)
    counts = word_counts(frequencies, group=group, exclude=exclude)
    label = group or TOTAL
    fig = _new_figure(figsize=(7.5, 5.0), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    _heading(fig, f"コメントによく出る語（{label}）", years, f"コメント n={n_comments}", survey)
    removed = "・".join(exclude)
    # One line whatever the count, so filling it in later does not move the axes.
    note = fig.supxlabel(" ", x=0.02, ha="left", fontsize=8)
    shown = 0
    if counts:
        size = _pin_axes_to_pixels(fig, ax, dpi=SAVE_DPI, multiple=WORDCLOUD_SCALE)
        cloud = make_wordcloud(counts, max_words=max_words, size=size)
        # The layout stops at the first word that no longer fits at the smallest size.
        shown = len(cloud.layout_)
        ax.imshow(cloud.to_array(), interpolation="none", aspect="auto")
    else:
        ax.text(0.5, 0.5, "描ける語がありません。", ha="center", va="center", transform=ax.transAxes)
    note.set_text(f"文字の大きさは出現回数。上位 {shown} 語。" + (f"「{removed}」は除いています。" if removed else ""))
    return fig


# --- 5. co-occurrence network -----------------------------------------------------


def cooccurrence(
    documents: Iterable[Iterable[str]],
    *,
    top_n: int = 60,
    min_jaccard: float = 0.1,
    min_cooccurrence: int = 2,
) -> pd.DataFrame:
    """Count which frequent words appear in the same comment; keep pairs above a Jaccard threshold."""
    docs = [frozenset(words) for words in documents]
    doc_freq = Counter(word for doc in docs for word in doc)
    top = sorted(doc_freq, key=lambda w: (-doc_freq[w], w))[:top_n]
    keep = set(top)
    pairs: Counter[tuple[str, str]] = Counter()
    for doc in docs:
        pairs.update(itertools.combinations(sorted(doc & keep), 2))
    rows = []
    for (a, b), both in pairs.items():
        jaccard = both / (doc_freq[a] + doc_freq[b] - both)
        if both >= min_cooccurrence and jaccard >= min_jaccard:
            rows.append((a, b, jaccard, both, doc_freq[a], doc_freq[b]))
    columns = ["source", "target", "weight", "cooccurrences", "source_count", "target_count"]
    edges = pd.DataFrame(rows, columns=columns)
    return edges.sort_values(["weight", "source", "target"], ascending=[False, True, True]).reset_index(drop=True)


def _subgraph(graph: nx.Graph, nodes: Sequence[str]) -> nx.Graph:
    """Copy the part of ``graph`` on ``nodes``, keeping the nodes in the order given."""
    # graph.subgraph() of a small part iterates a set of the nodes, whose order follows
    # string hashing (PYTHONHASHSEED): the layout, and so the figure, would change per run.
    sub = nx.Graph()
    sub.add_nodes_from(nodes)
    sub.add_edges_from((u, v, data) for u, v, data in graph.edges(nodes, data=True) if u in sub and v in sub)
    return sub


def network_layout(graph: nx.Graph, *, per_row: int = 5) -> dict[str, np.ndarray]:
    """Place the largest component in the main area and smaller ones in rows beneath it."""
    # One force layout for all components flings the small ones to the corners and
    # squeezes the big one; laying them out separately keeps every label readable.
    components = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c))
    pos: dict[str, np.ndarray] = {}
    main = _subgraph(graph, components[0])
    start = nx.spring_layout(main, seed=LAYOUT_SEED, weight="weight")
    pos.update(nx.kamada_kawai_layout(main, pos=start, weight=None, scale=1.0, center=(0, 0)))
    rest = components[1:]
    # Rows start just under the main network's lowest node: a wide, flat main network
    # would otherwise leave an empty band above them.
    bottom = min(float(pos[n][1]) for n in components[0])
    for index, nodes in enumerate(rest):
        row, col = divmod(index, per_row)
        in_row = min(per_row, len(rest) - row * per_row)
        centre = np.array([(col - (in_row - 1) / 2) * 0.6, bottom - 0.4 - 0.4 * row])
        sub = _subgraph(graph, nodes)
        local = nx.kamada_kawai_layout(sub, weight=None, scale=min(0.1 + 0.02 * len(nodes), 0.25), center=centre)
        pos.update(local)
    return pos


# Node circles: area proportional to the comment count, between bounds that keep a
# two-character label inside the smallest circle and the largest from crowding others.
NODE_MIN_PT = 20.0
NODE_MAX_PT = 40.0
NODE_FILL = "#CFE3F5"
NODE_EDGE = "#1B4F8A"
EDGE_COLOR = "#9E9E9E"
NODE_FONT_PT = 8.5
# Clear space (points) kept around each node's circle and label when spreading them out.
NODE_PAD_PT = 2.0


def node_diameters(counts: Sequence[float] | np.ndarray, *, low: float | None = None,
                   high: float | None = None) -> np.ndarray:
    """Return circle diameters in points: area grows linearly with the count from ``low`` to ``high``."""
    values = np.asarray(counts, dtype=float)
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    fraction = np.clip((values - low) / max(high - low, 1.0), 0.0, 1.0)
    return np.sqrt(NODE_MIN_PT**2 + (NODE_MAX_PT**2 - NODE_MIN_PT**2) * fraction)


def edge_widths(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Return line widths in points for Jaccard coefficients."""
    return 0.5 + 5.0 * np.asarray(weights, dtype=float)


def spread_nodes(
    pos: np.ndarray,
    half: np.ndarray,
    box: tuple[float, float],
    *,
    iterations: int = 400,
) -> np.ndarray:
    """Fit ``pos`` into a ``box`` (width, height) and push apart rectangles that overlap.

    ``half`` holds each node's half width and half height (label or circle, padded), in
    the units of ``box``. Each pass moves every overlapping pair apart along the axis
    where they overlap least, half each, then keeps the nodes inside the box. Plain
    arithmetic in node order, so the result is the same on every run.
    """
    width, height = box
    pos = np.asarray(pos, dtype=float)
    half = np.asarray(half, dtype=float)
    lo = half.copy()
    hi = np.array([width, height]) - half
    # Fill the box: stretch each axis on its own (as networkx's own drawing does).
    span = pos.max(axis=0) - pos.min(axis=0)
    inner = (hi.min(axis=0) - lo.max(axis=0)).clip(min=0.0)
    out = lo.max(axis=0) + (pos - pos.min(axis=0)) / np.where(span > 0, span, 1.0) * inner
    out = np.where(span > 0, out, np.array([width, height]) / 2)
    n = len(out)
    if n < 2:
        return out
    # A fixed tie-breaker for nodes at the same spot: the later one moves right/up.
    order = np.sign(np.arange(n)[None, :] - np.arange(n)[:, None]).astype(float)
    for _ in range(iterations):
        delta = out[None, :, :] - out[:, None, :]  # [i, j] = j - i
        overlap = (half[None, :, :] + half[:, None, :]) - np.abs(delta)
        clash = (overlap > 0).all(axis=2)
        np.fill_diagonal(clash, False)
        if not clash.any():
            break
        # Separate along the axis needing the smaller move.
        axis = np.argmin(overlap, axis=2)
        direction = np.where(delta == 0, order[:, :, None], np.sign(delta))
        push = np.zeros_like(delta)
        for k in (0, 1):
            push[:, :, k] = np.where(clash & (axis == k), overlap[:, :, k] / 2 + 1e-6, 0.0)
        # Node i moves away from every j it clashes with.
        out -= (push * direction).sum(axis=1)
        out = np.clip(out, lo, hi)
    return out


def _size_key(counts: np.ndarray, weights: np.ndarray) -> tuple[list[Any], list[str]]:
    """Legend entries explaining circle size (comment count) and line width (Jaccard), to scale."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    low, high = int(counts.min()), int(counts.max())
    sizes = sorted({low, int(round((low + high) / 2)), high})
    diameters = node_diameters(sizes, low=low, high=high)
    handles: list[Any] = [Circle((0, 0), d / 2, facecolor=NODE_FILL, edgecolor=NODE_EDGE, linewidth=0.8)
                          for d in diameters]
    labels = [f"{c}件" for c in sizes]
    w_low, w_high = float(weights.min()), float(weights.max())
    steps = sorted({round(w, 2) for w in (w_low, (w_low + w_high) / 2, w_high)})
    handles += [Line2D([], [], color=EDGE_COLOR, alpha=0.8, linewidth=w) for w in edge_widths(steps)]
    labels += [f"{w:.2f}" for w in steps]
    return handles, labels


def _key_handlers() -> dict[type, Any]:
    """Legend handlers that draw the key to scale and centred on the row, next to its label."""
    from matplotlib.legend_handler import HandlerBase
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    # The default handlers squeeze patches into a text-sized box and draw lines above
    # the middle of a tall slot; the key must show real sizes, aligned with each other.
    class CircleKey(HandlerBase):
        def create_artists(self, legend, orig_handle, xdescent, ydescent, width, height, fontsize, trans):
            radius = orig_handle.get_radius()
            circle = Circle((width - xdescent - radius, height / 2 - ydescent), radius)
            self.update_prop(circle, orig_handle, legend)
            circle.set_transform(trans)
            return [circle]

    class LineKey(HandlerBase):
        def create_artists(self, legend, orig_handle, xdescent, ydescent, width, height, fontsize, trans):
            y = height / 2 - ydescent
            line = Line2D([width - xdescent - 2.5 * fontsize, width - xdescent], [y, y])
            self.update_prop(line, orig_handle, legend)
            line.set_transform(trans)
            return [line]

    return {Circle: CircleKey(), Line2D: LineKey()}


@styled
def plot_cooccurrence(
    edges: pd.DataFrame,
    *,
    years: Iterable[int],
    n_comments: int,
    max_edges: int = 60,
    min_edges: int = 2,
    survey: str = SURVEY,
) -> Figure:
    """Draw a co-occurrence network from a :func:`cooccurrence` edge table, or a notice if too sparse.

    Circles and labels are placed so that none overlaps another: the layout is fitted
    to the axes in points, with each node's label and circle as a rectangle to keep clear.
    """
    from matplotlib import patheffects

    fig = _new_figure(figsize=(7.5, 6.5), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    top = edges.head(max_edges)
    _heading(fig, "コメントの語の共起ネットワーク", years, f"コメント n={n_comments}", survey)
    if len(top) < min_edges:
        ax.text(0.5, 0.5, "一緒に使われる語が少なすぎるため、\n共起ネットワークは描けません。\n"
                "コメントが増えるか、しきい値を下げると描けるようになります。",
                ha="center", va="center", transform=ax.transAxes, fontsize=11)
        return fig
    graph = nx.Graph()
    counts: dict[str, int] = {}
    for row in top.itertuples(index=False):
        counts[row.source] = int(row.source_count)
        counts[row.target] = int(row.target_count)
    for node in sorted(counts):
        graph.add_node(node)
    for row in top.itertuples(index=False):
        graph.add_edge(row.source, row.target, weight=float(row.weight))
    nodes = list(graph.nodes)
    size = np.array([counts[n] for n in nodes], dtype=float)
    weights = np.array([graph.edges[e]["weight"] for e in graph.edges], dtype=float)
    diameters = node_diameters(size)

    handles, labels = _size_key(size, weights)
    key_font = 8.0
    # A legend slot is key_font * (0.65 * handleheight + 0.245) points high (matplotlib's
    # descent heuristic); make it hold the largest circle with a little air.
    handleheight = ((NODE_MAX_PT + 2) / key_font - 0.245) / 0.65
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False,
               title="円の大きさ＝語を含むコメント数、線の太さ＝Jaccard 係数", title_fontsize=key_font,
               fontsize=key_font, handlelength=(NODE_MAX_PT + 2) / key_font, handleheight=handleheight,
               columnspacing=1.0, handletextpad=0.4, handler_map=_key_handlers())
    # Lay out in points inside the final (frozen) axes box, so text sizes and distances
    # compare: at 72 "dpi" a pixel is a point.
    _pin_axes_to_pixels(fig, ax, dpi=72)
    box = ax.get_position()
    width, height = box.width * fig.get_figwidth() * 72, box.height * fig.get_figheight() * 72
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    texts = [ax.text(0, 0, drawable(n), ha="center", va="center", fontsize=NODE_FONT_PT, color="#1A1A1A",
                     fontfamily=FONT_NAME, path_effects=halo, zorder=3) for n in nodes]
    renderer = fig.canvas.get_renderer()
    points_per_pixel = 72 / fig.dpi
    extents = np.array([[t.get_window_extent(renderer).width, t.get_window_extent(renderer).height]
                        for t in texts]) * points_per_pixel
    half = np.maximum(extents / 2, diameters[:, None] / 2) + NODE_PAD_PT
    layout = network_layout(graph)
    spread = spread_nodes(np.array([layout[n] for n in nodes]), half, (width, height))
    pos = {n: spread[i] for i, n in enumerate(nodes)}
    for text, xy in zip(texts, spread):
        text.set_position(tuple(xy))
    nx.draw_networkx_edges(graph, pos, ax=ax, width=list(edge_widths(weights)), edge_color=EDGE_COLOR, alpha=0.8)
    nx.draw_networkx_nodes(graph, pos, ax=ax, nodelist=nodes, node_size=diameters**2,
                           node_color=NODE_FILL, edgecolors=NODE_EDGE, linewidths=0.8)
    # networkx rescales the limits to the data; keep one data unit equal to one point.
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return fig


# --- 6. themes by question ----------------------------------------------------------


@styled
def plot_themes_by_question(
    shares: pd.DataFrame,
    *,
    years: Iterable[int],
    questions: Sequence[str] = QUESTIONS,
    order: Sequence[str] | None = None,
    survey: str = SURVEY,
) -> Figure:
    """Draw a heatmap of theme shares (rows) by free-text question (columns).

    Rows follow ``order`` (pass ``order_themes_by_share(comparison)["theme"]`` so they
    match the themes-by-group chart exactly); without it, themes are sorted by their
    share over all questions, the same rule applied to this table.
    """
    by_share = themes_by_overall_share(shares)
    if order is None:
        themes = by_share
    else:
        listed = [str(t) for t in order]
        # Themes the order leaves out still get a row, after the listed ones.
        themes = [t for t in listed if t in by_share] + [t for t in by_share if t not in listed]
    frame = shares.assign(question=shares["question"].astype(str), theme=shares["theme"].astype(str))
    present = list(dict.fromkeys(frame["question"]))
    columns = [q for q in questions if q in present] + sorted(q for q in present if q not in questions)
    share = frame.pivot_table(index="theme", columns="question", values="share", aggfunc="sum", observed=True)
    share = share.reindex(index=themes, columns=columns).fillna(0.0)
    mentions = frame.pivot_table(index="theme", columns="question", values="n_mentions", aggfunc="sum",
                                 observed=True).reindex(index=themes, columns=columns).fillna(0).astype(int)
    n = frame.groupby("question", observed=True)["n_comments"].first().reindex(columns).fillna(0).astype(int)
    fig = _new_figure(figsize=(2.4 + 1.6 * len(columns), 1.8 + 0.42 * len(themes)), layout="constrained")
    ax = fig.subplots()
    vmax = max(float(share.to_numpy().max()) if share.size else 0.0, 0.05)
    # Vector cells (not an image) stay sharp in print and need no resampling.
    mesh = ax.pcolormesh(share.to_numpy(), cmap=HEATMAP_CMAP, vmin=0, vmax=vmax,
                         edgecolors="white", linewidth=1.0)
    cmap = mesh.get_cmap()
    for (i, j), value in np.ndenumerate(share.to_numpy()):
        background = mpl.colors.to_hex(cmap(value / vmax))
        ax.text(j + 0.5, i + 0.5, f"{_pct(value)}\n({mentions.iat[i, j]})", ha="center", va="center",
                fontsize=8, color=_text_color(background))
    ax.set_xticks(np.arange(len(columns)) + 0.5, [f"{drawable(q)}\n(n={n[q]})" for q in columns])
    ax.set_yticks(np.arange(len(themes)) + 0.5, themes)
    ax.invert_yaxis()
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(mesh, ax=ax, shrink=0.8, format=PercentFormatter(1.0, decimals=0))
    bar.set_label("テーマに触れたコメントの割合")
    _heading(fig, "設問別にみたテーマ", years, f"コメント n={int(n.sum())}", survey)
    fig.supxlabel("各マスは割合（件数）。n は設問ごとのコメント数。", x=0.02, ha="left", fontsize=8)
    return fig


# --- export ------------------------------------------------------------------------

# Dropping the dates (and the PNG software tag) makes repeated runs byte-identical.
_METADATA = {
    "png": {"Software": None},
    "pdf": {"CreationDate": None, "ModDate": None},
    "svg": {"Date": None},
}


def save_figure(
    fig: Figure,
    path: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ("png", "svg", "pdf"),
    dpi: int = SAVE_DPI,
) -> list[Path]:
    """Write ``fig`` as ``path`` + each suffix in ``formats``, reproducibly; return the paths."""
    stem = Path(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with style():
        for fmt in formats:
            target = stem.with_name(f"{stem.name}.{fmt}")
            fig.savefig(target, format=fmt, dpi=dpi, metadata=_METADATA.get(fmt), facecolor="white")
            written.append(target)
    return written
