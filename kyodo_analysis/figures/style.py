"""Report figures and the shared style: tidy frames in, matplotlib Figures out.

Nothing here saves or shows a figure except :func:`save_figure`, the one export
function, so notebooks and the report share the same drawing code.
"""
from __future__ import annotations

import functools
import importlib.util
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
import pandas as pd
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from ..config import FIGURE_FORMATS
from ..errors import SetupError
from ..input.layout import ANSWERS, CITIZENS, GROUP_ORDER, NO_ANSWER, QUESTION_LABELS, STAFF, TOTAL

SURVEY = "協働のまちづくりワークショップ アンケート"
GROUPS = (CITIZENS, STAFF, TOTAL)
QUESTIONS = QUESTION_LABELS

# The names come from the vocabulary (values.toml); colours, markers and hatches go by position.
# Dark blue / light grey / orange, in the answers' scale order: safe for the common colour-vision
# deficiencies and far apart in lightness, so the answers stay apart when printed in grey.
ANSWER_COLORS = dict(zip(ANSWERS, ("#1B4F8A", "#D9D9D9", "#E69F00"), strict=True))
# Per group in values.toml's order, then the total. Markers and hatches carry the group when
# colour is lost in print. A fourth group needs a fourth entry here.
_GROUP_STYLES = (("#009E73", "o", ""), ("#CC79A7", "s", "//"), ("#8C510A", "^", ".."))
_TOTAL_STYLE = ("#222222", "D", "xx")
_STYLE_OF = {**dict(zip(GROUP_ORDER, _GROUP_STYLES, strict=True)), TOTAL: _TOTAL_STYLE}
GROUP_COLORS = {group: color for group, (color, _, _) in _STYLE_OF.items()}
GROUP_MARKERS = {group: marker for group, (_, marker, _) in _STYLE_OF.items()}
GROUP_HATCHES = {group: hatch for group, (_, _, hatch) in _STYLE_OF.items()}
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
        raise SetupError("matplotlib-fontja が見つかりません。`make setup` で入れ直してください。")
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
        for fmt in FIGURE_FORMATS:
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

