"""The group-worksheet figure: themes groups ask of their partners vs offer themselves (dot and line)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from ..input.worksheets import default_worksheet_rules
from .style import SURVEY, _heading, _new_figure, styled

# Filled circle vs open square in black and grey: told apart in print without colour.
_ASK_STYLE = {"marker": "o", "color": "#1A1A1A", "markerfacecolor": "#1A1A1A"}
_OFFER_STYLE = {"marker": "s", "color": "#6E6E6E", "markerfacecolor": "white"}


@styled
def plot_ask_offer(contrast: pd.DataFrame, *, fiscal_year: int, ax: Axes | None = None,
                   survey: str = SURVEY) -> Axes:
    """Draw, per theme, the share of groups raising it under 相手に求めるもの and under 自分たちができること."""
    table = contrast[contrast["fiscal_year"] == fiscal_year].copy()
    table["_top"] = table[["ask_share", "offer_share"]].max(axis=1)
    table = table[table["_top"] > 0].sort_values(["_top", "ask_share"], ascending=False, kind="stable")
    n = int(table["n_groups"].max()) if len(table) else 0
    ask_label, offer_label = (default_worksheet_rules().question_name(k) for k in ("ask", "offer"))
    if ax is None:
        fig = _new_figure(figsize=(7.5, 1.9 + 0.42 * max(len(table), 1)), layout="constrained")
        ax = fig.subplots()
        _heading(fig, f"グループが挙げたテーマ（{ask_label}・{offer_label}）", [fiscal_year],
                 f"グループ n={n}", survey)
        fig.supxlabel("そのテーマを挙げたグループの割合。1 つのグループが複数のテーマを挙げることがあります。",
                      x=0.02, ha="left", fontsize=8)
    y = np.arange(len(table))[::-1]
    for yi, ask, offer in zip(y, table["ask_share"], table["offer_share"]):
        ax.plot([ask, offer], [yi, yi], color="#B0B0B0", linewidth=1.5, zorder=1)
    # The open square is drawn larger and below, so an equal share shows the dot inside the square.
    ax.plot(table["ask_share"], y, linestyle="none", markersize=6, zorder=3,
            label=f"{ask_label}（n={n}）", **_ASK_STYLE)
    ax.plot(table["offer_share"], y, linestyle="none", markersize=10, zorder=2,
            label=f"{offer_label}（n={n}）", **_OFFER_STYLE)
    ax.set_yticks(y, table["theme"].tolist())
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(-0.03, 1.03)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("そのテーマを挙げたグループの割合")
    ax.grid(axis="x", color="#E0E0E0", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    return ax
