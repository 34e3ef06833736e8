"""Figures of theme shares: by group and by question, with the theme order they share."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ..input.layout import CITIZENS, STAFF
from ..rules.load import default_theme_names

from .style import (
    GROUP_COLORS,
    GROUP_HATCHES,
    HEATMAP_CMAP,
    QUESTIONS,
    SURVEY,
    _heading,
    _new_figure,
    _pct,
    _text_color,
    drawable,
    styled,
)


# The bundled rule table's theme names, in order (themes.toml, read by rules.load).
THEMES: tuple[str, ...] = default_theme_names()

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
    for group, column, shift, n in ((CITIZENS, "citizens_share", height / 2, n_citizens),
                                    (STAFF, "staff_share", -height / 2, n_staff)):
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
    _heading(fig, f"コメントに現れるテーマ（{CITIZENS}と{STAFF}）", years,
             f"コメント n={n_citizens + n_staff}", survey)
    note = f"* は{CITIZENS}と{STAFF}の差を小標本向けの検定で示唆されたテーマ（件数は表を参照）。" if flagged.any() else \
        f"{CITIZENS}と{STAFF}の差が検定で示唆されたテーマはありません（件数は表を参照）。"
    fig.supxlabel(note, x=0.02, ha="left", fontsize=8)
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

