"""Word figures: word clouds and the co-occurrence network."""
from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.transforms import Bbox, IdentityTransform, TransformedBbox

from ..errors import OptionError
from .style import (
    FONT_NAME,
    LAYOUT_SEED,
    SAVE_DPI,
    SURVEY,
    TOTAL,
    WORDCLOUD_SEED,
    WORD_COLORS,
    _heading,
    _new_figure,
    drawable,
    font_path,
    styled,
)


# --- 4. word clouds ---------------------------------------------------------------


def _word_color(word: str, *args: Any, **kwargs: Any) -> str:
    # A hash of the word, not the random state, so a word keeps its colour across clouds.
    return WORD_COLORS[zlib.crc32(word.encode("utf-8")) % len(WORD_COLORS)]


def word_counts(
    frequencies: pd.DataFrame, *, group: str | None = None, exclude: Iterable[str] = ()
) -> dict[str, int]:
    """Sum a ``words.word_frequencies`` frame into ``{word: occurrences}`` for one group or all groups.

    The frame is already filtered (``kyodo_analysis.text.words``); this only sums and orders it.
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
        raise OptionError(f"size must be a multiple of {WORDCLOUD_SCALE}: {size}")
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


class _PixelImage(AxesImage):
    """An RGB image that a raster renderer gets as it is when it is shown one pixel for one.

    matplotlib resamples every image through float RGBA arrays, about 300 MB for a word
    cloud at 300 dpi; at exactly 1:1 that gives back the same pixels, so they are handed
    over directly. Vector output (SVG, PDF) and any other scale take matplotlib's own path.
    """

    def make_image(self, renderer: Any, magnification: float = 1.0, unsampled: bool = False) -> Any:
        """Return the RGBA pixels and their place, skipping resampling when nothing would change."""
        rgb = np.asarray(self.get_array())
        x1, x2, y1, y2 = self.get_extent()
        box = TransformedBbox(Bbox([[x1, y1], [x2, y2]]), self.get_transform())
        clip = self.get_clip_box() or self.axes.bbox
        one_for_one = (
            not unsampled and magnification == 1.0 and self.origin == "upper"
            and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
            and box.xmin == round(box.xmin) and box.ymin == round(box.ymin)
            and (box.xmax - box.xmin, box.ymax - box.ymin) == (rgb.shape[1], rgb.shape[0])
            and clip.xmin <= box.xmin and clip.ymin <= box.ymin
            and clip.xmax >= box.xmax and clip.ymax >= box.ymax
        )
        if not one_for_one:
            return super().make_image(renderer, magnification, unsampled)
        rgba = np.empty((*rgb.shape[:2], 4), np.uint8)
        rgba[..., :3] = rgb[::-1]  # renderers take rows bottom-up
        rgba[..., 3] = 255
        return rgba, box.xmin, box.ymin, IdentityTransform()


def _show_pixels(ax: Any, rgb: np.ndarray) -> AxesImage:
    """Show ``rgb`` filling ``ax`` as ``imshow(interpolation="none", aspect="auto")`` does."""
    ax.set_aspect("auto")
    image = _PixelImage(ax, interpolation="none")
    image.set_data(rgb)
    image.set_clip_path(ax.patch)
    image.set_extent(image.get_extent())  # data limits and autoscaling, as imshow sets them
    ax.add_image(image)
    return image


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
        _show_pixels(ax, cloud.to_array())
    else:
        ax.text(0.5, 0.5, "描ける語がありません。", ha="center", va="center", transform=ax.transAxes)
    note.set_text(f"文字の大きさは出現回数。上位 {shown} 語。" + (f"「{removed}」は除いています。" if removed else ""))
    return fig


# --- 5. co-occurrence network -----------------------------------------------------


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
