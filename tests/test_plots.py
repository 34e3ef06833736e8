"""Figures: inspected through the matplotlib objects, not pixels."""
from __future__ import annotations

import itertools
import re

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import Rectangle
from PIL import Image

from kyodo_analysis import figures as plots
from kyodo_analysis.intent import intent_shares
from kyodo_analysis.input.layout import GROUP_ORDER, INTENT_ORDER

# A missing Japanese glyph must fail the test, whichever module triggers the warning.
pytestmark = pytest.mark.filterwarnings("error:Glyph:UserWarning")


def respondents(counts: dict[tuple[int, str], dict[str, int]]) -> pd.DataFrame:
    """Build a respondents frame with ``counts[(year, group)][answer]`` rows."""
    rows = [
        {"fiscal_year": year, "group": group, "intent": answer}
        for (year, group), answers in counts.items()
        for answer, k in answers.items()
        for _ in range(k)
    ]
    frame = pd.DataFrame(rows)
    frame["group"] = pd.Categorical(frame["group"], categories=list(GROUP_ORDER))
    frame["intent"] = pd.Categorical(frame["intent"], categories=list(INTENT_ORDER), ordered=True)
    return frame


COUNTS_2017 = {
    (2017, "市民"): {"思う": 20, "どちらとも言えない": 5, "思わない": 2, "無回答": 2},
    (2017, "職員"): {"思う": 8, "どちらとも言えない": 6, "思わない": 2, "無回答": 1},
}
COUNTS_2016 = {
    (2016, "市民"): {"思う": 15, "どちらとも言えない": 4, "思わない": 1},
    (2016, "職員"): {"思う": 9, "どちらとも言えない": 9, "思わない": 2},
}


@pytest.fixture
def shares_2017() -> pd.DataFrame:
    return intent_shares(respondents(COUNTS_2017))


@pytest.fixture
def shares_two_years() -> pd.DataFrame:
    return intent_shares(respondents({**COUNTS_2016, **COUNTS_2017}))


def stacked_bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(mpl.text.Text) if t.get_text()]


# --- style --------------------------------------------------------------------------


def test_answer_colours_stay_apart_in_greyscale():
    levels = [plots.grey_level(plots.ANSWER_COLORS[a]) for a in plots.ANSWERS]
    for a, b in itertools.combinations(levels, 2):
        assert abs(a - b) >= 0.2


def test_group_colours_stay_apart_in_greyscale_for_the_compared_groups():
    assert abs(plots.grey_level(plots.GROUP_COLORS["市民"]) - plots.grey_level(plots.GROUP_COLORS["職員"])) >= 0.15


def test_rendered_answer_segments_differ_in_grey(figures, shares_2017):
    fig = figures(plots.plot_intent_by_group(shares_2017))
    fig.canvas.draw()
    grey = np.asarray(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("L"), dtype=float)
    ax = fig.axes[0]
    height = grey.shape[0]
    levels = {}
    for bar in stacked_bars(ax)[:3]:  # first group's three segments, one per answer
        box = bar.get_window_extent()
        x, y = int(box.x0 + 3), int(height - box.y1 + 3)  # a pixel inside, clear of the label
        levels[bar.get_label() or len(levels)] = grey[y, x]
    values = sorted(levels.values())
    assert all(b - a >= 40 for a, b in itertools.pairwise(values))


def test_word_colours_have_enough_contrast_on_white():
    assert all(plots.contrast_ratio(c) >= 4.5 for c in plots.WORD_COLORS)


def test_word_colours_are_neutral_and_borrow_no_meaning_colour():
    meaning = {mpl.colors.to_hex(c) for c in [*plots.ANSWER_COLORS.values(), *plots.GROUP_COLORS.values()]}
    for color in plots.WORD_COLORS:
        r, g, b = mpl.colors.to_rgb(color)
        assert max(r, g, b) - min(r, g, b) < 0.02, color  # grey: no hue to mistake for an answer or group
        assert mpl.colors.to_hex(color) not in meaning


def test_plotting_does_not_change_global_settings(figures, shares_2017):
    before = list(mpl.rcParams["font.family"])
    figures(plots.plot_intent_by_group(shares_2017))
    assert list(mpl.rcParams["font.family"]) == before


def test_missing_glyph_is_an_error(figures):
    fig = figures(mpl.figure.Figure())
    FigureCanvasAgg(fig)
    with plots.style():
        fig.text(0.5, 0.5, "\U00020BB7")  # 𠮷 (tsuchi-yoshi): in neither IPAexGothic nor DejaVu Sans
        with pytest.raises(UserWarning, match="Glyph"):
            fig.canvas.draw()


def test_japanese_renders_without_glyph_warning_even_when_drawn_later(figures, shares_two_years):
    # A notebook draws after the plotting call has returned, outside the style context.
    fig = figures(plots.plot_intent_by_group_years(shares_two_years))
    fig.canvas.draw()
    assert "協働したいと思いますか" in fig.get_suptitle()


# --- 1. intent by group -----------------------------------------------------------


def test_intent_bars_have_widths_equal_to_shares(figures, shares_2017):
    fig = figures(plots.plot_intent_by_group(shares_2017, fiscal_year=2017))
    ax = fig.axes[0]
    bars = stacked_bars(ax)
    assert len(bars) == 3 * 3  # three answers x (市民, 職員, 全体)
    expected = shares_2017.set_index(["group", "answer"])["share"]
    groups = ["市民", "職員", "全体"]
    for i, answer in enumerate(plots.ANSWERS):
        for j, group in enumerate(groups):
            assert bars[i * 3 + j].get_width() == pytest.approx(expected[(group, answer)])
    # Each bar adds up to 100% of those who answered.
    ends = [max(b.get_x() + b.get_width() for b in bars if b.get_y() == y) for y in {b.get_y() for b in bars}]
    assert ends == pytest.approx([1.0] * 3)


def test_intent_bars_label_groups_with_n_and_legend_in_answer_order(figures, shares_2017):
    fig = figures(plots.plot_intent_by_group(shares_2017))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["市民 (n=27)", "職員 (n=16)", "全体 (n=43)"]
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == list(plots.ANSWERS)
    assert [h.get_facecolor() for h in legend.legend_handles] == [
        mpl.colors.to_rgba(plots.ANSWER_COLORS[a]) for a in plots.ANSWERS
    ]


def test_intent_bars_state_missing_answers_in_a_note(figures, shares_2017):
    fig = figures(plots.plot_intent_by_group(shares_2017))
    note = fig.axes[0].get_xlabel()
    assert "無回答 3人" in note and "市民 2人" in note and "職員 1人" in note
    assert "無回答" not in [t.get_text() for t in fig.legends[0].get_texts()]


def test_intent_figure_stands_alone_with_title_year_and_n(figures, shares_2017):
    title = figures(plots.plot_intent_by_group(shares_2017)).get_suptitle()
    assert "協働したいと思いますか" in title
    assert "2017年度" in title
    assert "n=46" in title  # 43 who answered + 3 無回答
    assert plots.SURVEY in title


def _segment_of(label, bars):
    """The bar segment a percentage label belongs to, and whether the label sits inside it.

    Inside: the label's box lies within the segment. Otherwise the label must sit just
    above its bar (within a few points) and over the segment whose share it shows.
    """
    box = label.get_window_extent()
    for bar in bars:
        seg = bar.get_window_extent()
        if seg.x0 <= box.x0 and box.x1 <= seg.x1 and seg.y0 <= box.y0 and box.y1 <= seg.y1:
            return bar, True
    for bar in bars:
        seg = bar.get_window_extent()
        above = box.x0 < seg.x1 and seg.x0 < box.x1 and 0 <= box.y0 - seg.y1 <= 4
        if above and label.get_text() == f"{bar.get_width() * 100:.0f}%":
            return bar, False
    return None, False


def assert_labels_readable(fig):
    """Every percentage belongs to one segment, shows its share, and no two texts overlap."""
    fig.canvas.draw()
    for ax in fig.axes:
        bars = stacked_bars(ax)
        labels = [t for t in ax.texts if t.get_text().endswith("%")]
        for label in labels:
            bar, _ = _segment_of(label, bars)
            assert bar is not None, label.get_text()
            assert label.get_text() == f"{bar.get_width() * 100:.0f}%"
        boxes = [t.get_window_extent() for t in ax.texts if t.get_visible()]
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b)


def test_segment_labels_show_percentages_and_never_overlap(figures):
    # One 思わない among many: its segment is too thin for a label, which moves above the bar.
    shares = intent_shares(respondents({
        (2017, "市民"): {"思う": 40, "どちらとも言えない": 18, "思わない": 1},
        (2017, "職員"): {"思う": 10, "どちらとも言えない": 0, "思わない": 10},
    }))
    fig = figures(plots.plot_intent_by_group(shares))
    ax = fig.axes[0]
    assert_labels_readable(fig)
    labels = {t.get_text(): t for t in ax.texts if t.get_text().endswith("%")}
    assert {"68%", "31%", "50%", "2%"} <= set(labels)
    assert _segment_of(labels["68%"], stacked_bars(ax))[1]  # wide segments keep their label inside
    assert not _segment_of(labels["2%"], stacked_bars(ax))[1]  # 1/59 citizens: above the bar, not squeezed in
    assert plots.OMITTED_NOTE not in fig.get_supxlabel()


def test_one_panel_per_year_side_by_side(figures, shares_two_years):
    fig = figures(plots.plot_intent_by_group_years(shares_two_years))
    assert [ax.get_title() for ax in fig.axes] == ["2016年度", "2017年度"]
    lefts = [ax.get_position().x0 for ax in fig.axes]
    assert lefts == sorted(lefts)
    # Group names once, on the left; each panel gives its own n above each bar.
    fig.canvas.draw()
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0] == "市民"
    assert not any(t.get_visible() and t.get_text() for t in fig.axes[1].get_yticklabels())
    assert [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("n=")] == ["n=20", "n=20", "n=40"]
    assert [t.get_text() for t in fig.axes[1].texts if t.get_text().startswith("n=")] == ["n=27", "n=16", "n=43"]
    assert "2016〜2017年度" in fig.get_suptitle()


# The sample data's three years: the 思わない segments are 4-13%.
COUNTS_SAMPLE = {
    (2015, "市民"): {"思う": 10, "どちらとも言えない": 6, "思わない": 2},
    (2015, "職員"): {"思う": 8, "どちらとも言えない": 5, "思わない": 2, "無回答": 1},
    (2015, "その他"): {"思う": 1},
    (2016, "市民"): {"思う": 14, "どちらとも言えない": 6, "思わない": 2},
    (2016, "職員"): {"思う": 11, "どちらとも言えない": 7, "思わない": 1, "無回答": 1},
    (2017, "市民"): {"思う": 19, "どちらとも言えない": 6, "思わない": 1, "無回答": 1},
    (2017, "職員"): {"思う": 15, "どちらとも言えない": 8, "思わない": 1, "無回答": 1},
}


def test_year_panels_label_every_segment_of_five_percent_or_more(figures):
    shares = intent_shares(respondents(COUNTS_SAMPLE))
    fig = figures(plots.plot_intent_by_group_years(shares))
    assert_labels_readable(fig)
    for ax in fig.axes:
        bars = stacked_bars(ax)
        owners = {id(_segment_of(t, bars)[0]) for t in ax.texts if t.get_text().endswith("%")}
        for bar in bars:
            if bar.get_width() >= 0.05:
                assert id(bar) in owners, (ax.get_title(), bar.get_width())
    assert plots.OMITTED_NOTE not in fig.get_supxlabel()


def test_year_panels_say_when_a_percentage_had_to_be_left_out(figures):
    # Two 2% segments side by side at the end of every bar: only one label fits above.
    counts = {(y, g): {"思う": 46, "どちらとも言えない": 1, "思わない": 1} for y in (2016, 2017, 2018)
              for g in ("市民", "職員")}
    fig = figures(plots.plot_intent_by_group_years(intent_shares(respondents(counts))))
    assert_labels_readable(fig)
    shown = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_text().endswith("%")]
    assert shown.count("2%") < 2 * 3 * 3  # some 2% left out ...
    assert plots.OMITTED_NOTE in fig.get_supxlabel()  # ... and the figure says so
    assert all(t.get_visible() for ax in fig.axes for t in ax.texts)  # left out, not hidden in the file


def test_intent_by_group_needs_a_year_when_several(shares_two_years):
    with pytest.raises(ValueError, match="年度"):
        plots.plot_intent_by_group(shares_two_years)


# --- 2. trend -----------------------------------------------------------------------


def test_trend_plots_share_with_wilson_interval(figures, shares_two_years):
    fig = figures(plots.plot_intent_trend(shares_two_years))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["市民", "職員", "全体"]
    expected = shares_two_years[shares_two_years["answer"] == "思う"].set_index(["group", "fiscal_year"])
    for container, group in zip(ax.containers, ["市民", "職員", "全体"]):
        line, _, (bars,) = container
        assert line.get_ydata() == pytest.approx(expected.loc[group, "share"].to_numpy())
        segments = bars.get_segments()
        assert [s[0][1] for s in segments] == pytest.approx(expected.loc[group, "ci_low"].to_numpy())
        assert [s[1][1] for s in segments] == pytest.approx(expected.loc[group, "ci_high"].to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2016年度\n(n=40)", "2017年度\n(n=43)"]
    assert "Wilson" in fig.get_supxlabel()


def test_trend_needs_two_years(shares_2017):
    with pytest.raises(ValueError, match="2年度以上"):
        plots.plot_intent_trend(shares_2017)


# --- 3. themes by group ---------------------------------------------------------------


@pytest.fixture
def comparison() -> pd.DataFrame:
    k_citizens = [5, 0, 12, 3, 1, 9, 0, 2, 0, 4]
    k_staff = [1, 0, 2, 8, 1, 3, 0, 0, 1, 2]
    frame = pd.DataFrame({"theme": list(plots.THEMES), "citizens_n": 40, "citizens_k": k_citizens,
                          "staff_n": 20, "staff_k": k_staff})
    frame["citizens_share"] = frame["citizens_k"] / frame["citizens_n"]
    frame["staff_share"] = frame["staff_k"] / frame["staff_n"]
    frame["p_value"] = 0.5
    frame["indicative"] = frame["theme"].isin(["信頼関係"])
    return frame


def test_themes_sorted_by_overall_share_with_grouped_bars(figures, comparison):
    fig = figures(plots.plot_themes_by_group(comparison, years=[2017]))
    ax = fig.axes[0]
    order = [t.get_text() for t in ax.get_yticklabels()]
    # Top of the chart first: y ticks go bottom-up, so reverse.
    top_down = order[::-1] if ax.get_yticks()[0] < ax.get_yticks()[-1] else order
    ordered = plots.order_themes_by_share(comparison)
    assert top_down[:3] == ["目的共有", "対話の場", "信頼関係"]
    assert list(ordered["theme"]) == sorted(ordered["theme"], key=lambda t: -float(
        ordered.set_index("theme").loc[t, "overall_share"]))
    citizens, staff = ax.containers
    assert [b.get_width() for b in citizens] == pytest.approx(ordered["citizens_share"].to_list())
    assert [b.get_width() for b in staff] == pytest.approx(ordered["staff_share"].to_list())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["市民 (n=40)", "職員 (n=20)"]
    assert [t.get_text() for t in ax.texts].count("*") == 1
    assert "2017年度" in fig.get_suptitle() and "n=60" in fig.get_suptitle()


# --- 4. word clouds -------------------------------------------------------------------


@pytest.fixture
def frequencies() -> pd.DataFrame:
    words = ["市民", "行政", "対話", "信頼", "協働", "地域", "課題", "情報", "共有", "参加"]
    rows = [(g, w, "名詞", 3 + (i * 7 + len(g)) % 11) for g in ("市民", "職員") for i, w in enumerate(words)]
    return pd.DataFrame(rows, columns=["group", "word", "pos", "occurrences"])


def test_word_counts_sum_groups_and_drop_excluded(frequencies):
    overall = plots.word_counts(frequencies, exclude=("協働",))
    assert "協働" not in overall
    citizens = plots.word_counts(frequencies, group="市民")
    assert overall["対話"] == citizens["対話"] + plots.word_counts(frequencies, group="職員")["対話"]
    assert list(overall.values()) == sorted(overall.values(), reverse=True)


def test_word_cloud_is_horizontal_and_identical_on_every_run(frequencies):
    counts = plots.word_counts(frequencies, group="市民")
    first, second = plots.make_wordcloud(counts), plots.make_wordcloud(counts)
    assert all(orientation is None for *_, orientation, _ in first.layout_)
    assert np.array_equal(first.to_array(), second.to_array())
    assert first.font_path == str(plots.font_path())


def test_word_cloud_figure_has_title_and_n(figures, frequencies):
    fig = figures(plots.plot_wordcloud(frequencies, group="職員", years=[2017], n_comments=12, exclude=("協働",)))
    assert "職員" in fig.get_suptitle() and "n=12" in fig.get_suptitle()
    assert len(fig.axes[0].images) == 1
    assert "協働" in fig.get_supxlabel()
    assert "上位 9 語" in fig.get_supxlabel()  # the words actually drawn: 10 less 協働


def skewed_counts() -> dict[str, int]:
    """Like the sample: two words far ahead (市 40, 話 37), then a long tail."""
    words = ("団体 地域 市民 一緒 参加 活動 聞く 職員 事業 必要 情報 行政 自治会 企業 住民 班 言葉 場 課題 関係 "
             "担当 子ども 支援 先生 松浦 計画 変わる 声 知る 現場 理解 業務 合わせる 大事 高齢 入る").split()
    counts = {"市": 40, "話": 37}
    counts.update({w: max(33 - 2 * i, 4) for i, w in enumerate(words)})
    return counts


def test_word_sizes_are_capped_and_legible_when_printed():
    cloud = plots.make_wordcloud(skewed_counts())
    # Font sizes are the em size on the layout canvas; the image is WORDCLOUD_SCALE times larger, at 300 dpi.
    points = {word: size * plots.WORDCLOUD_SCALE * 72 / plots.SAVE_DPI for (word, _), size, *_ in cloud.layout_}
    assert max(points.values()) <= plots.WORD_MAX_PT
    assert min(points.values()) >= plots.WORD_MIN_PT >= 7.5
    # The top word leads without swamping: a third word of 33 (vs 40) is drawn at least two thirds as big.
    assert points["団体"] >= 2 / 3 * points["市"]


def test_word_cloud_is_drawn_one_to_one_at_the_printed_size(tmp_path, figures, frequencies):
    fig = figures(plots.plot_wordcloud(frequencies, years=[2017], n_comments=12))
    ax = fig.axes[0]
    (image,) = ax.images
    pixels = np.asarray(image.get_array())
    width, height = fig.get_figwidth() * plots.SAVE_DPI, fig.get_figheight() * plots.SAVE_DPI
    box = ax.get_position()
    # The axes covers whole pixels of the 300 dpi export, exactly as many as the image has.
    corners = np.array([box.x0 * width, box.x1 * width, box.y0 * height, box.y1 * height])
    assert corners == pytest.approx(corners.round(), abs=1e-6)
    assert pixels.shape[:2] == (round(box.height * height), round(box.width * width))
    assert pixels.shape[1] > 0.9 * width  # made for the printed size, not a small canvas stretched
    assert image.get_interpolation() == "none"
    # And the PNG carries those pixels unchanged: no resampling on export.
    (png,) = plots.save_figure(fig, tmp_path / "cloud", formats=("png",))
    with Image.open(png) as saved:
        rgb = np.asarray(saved.convert("RGB"))
    top, left = round(height - box.y1 * height), round(box.x0 * width)
    assert np.array_equal(rgb[top:top + pixels.shape[0], left:left + pixels.shape[1]], pixels)


def test_word_cloud_figure_is_the_same_on_every_run(tmp_path, figures, frequencies):
    first = plots.save_figure(figures(plots.plot_wordcloud(frequencies, years=[2017], n_comments=12)),
                              tmp_path / "a" / "cloud")
    second = plots.save_figure(figures(plots.plot_wordcloud(frequencies, years=[2017], n_comments=12)),
                               tmp_path / "b" / "cloud")
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_word_cloud_pixels_handed_over_directly_match_matplotlib_resampling(tmp_path, figures, frequencies,
                                                                             monkeypatch):
    from kyodo_analysis.figures import words

    direct = plots.save_figure(figures(plots.plot_wordcloud(frequencies, years=[2017], n_comments=12)),
                               tmp_path / "direct" / "cloud")
    monkeypatch.setattr(words, "_show_pixels",
                        lambda ax, rgb: ax.imshow(rgb, interpolation="none", aspect="auto"))
    resampled = plots.save_figure(figures(plots.plot_wordcloud(frequencies, years=[2017], n_comments=12)),
                                  tmp_path / "resampled" / "cloud")
    for a, b in zip(direct, resampled):
        assert a.read_bytes() == b.read_bytes(), a.name


# --- 5. co-occurrence --------------------------------------------------------------------


def test_cooccurrence_uses_jaccard_over_comments():
    docs = [["対話", "信頼"], ["対話", "信頼", "地域"], ["対話"], ["地域", "課題"], ["地域", "課題"]]
    edges = plots.cooccurrence(docs, min_jaccard=0.3, min_cooccurrence=2)
    as_dict = {(r.source, r.target): r.weight for r in edges.itertuples()}
    assert as_dict == {("信頼", "対話"): pytest.approx(2 / 3), ("地域", "課題"): pytest.approx(2 / 3)}


def test_cooccurrence_network_draws_nodes_and_edges(figures):
    docs = [["対話", "信頼", "地域"], ["対話", "信頼"], ["地域", "課題", "対話"], ["地域", "課題"]] * 3
    edges = plots.cooccurrence(docs, min_jaccard=0.1)
    fig = figures(plots.plot_cooccurrence(edges, years=[2017], n_comments=12))
    ax = fig.axes[0]
    labels = {t.get_text() for t in ax.texts}
    assert labels == {"対話", "信頼", "地域", "課題"}
    assert "n=12" in fig.get_suptitle()


# The sample data's 60 strongest pairs: "word word together count_a count_b".
SAMPLE_PAIRS = """
先生 松浦 7 7 7, 子育て 支援 4 6 7, 担当 関わる 4 9 6, 力 声 3 6 10, データ 持つ 2 5 6, 市 活動 9 39 14
公園 方々 2 6 6, 力 子育て 2 6 6, 力 難しい 2 6 6, 業務 理解 2 6 6, 力 行政 3 6 13, 子育て 行政 3 6 13
NPO 違う 2 6 7, 入る 高齢 2 6 7, 力 子ども 2 6 7, 合わせる 大事 2 7 6, 変わる 関わる 2 7 6
事業 変わる 3 13 7, 活動 続ける 3 14 6, 団体 地域 9 33 29, 場 関係 3 9 12, 変わる 高齢 2 7 7
活動 知る 3 14 8, 住民 合わせる 2 8 7, 公園 計画 2 6 9, 大きい 担当 2 6 9, 一緒 市 8 22 39
活動 計画 3 14 9, 地域 課題 5 29 10, お互い 団体 5 7 33, 出る 声 2 6 10, 力 課題 2 6 10
場 聞く 3 9 15, 声 子育て 2 10 6, 声 方々 2 10 6, 変わる 担当 2 7 9, 持つ 課題 2 6 10, 市 情報 6 39 11
聞く 課題 3 15 10, 声 現場 2 10 7, 子ども 課題 2 7 10, 情報 持つ 2 11 6, 現場 課題 2 7 10
地域 活動 5 29 14, 聞く 話 6 15 37, 一緒 事業 4 22 13, 先生 話 5 7 37, 松浦 話 5 7 37
つく 事業 2 5 13, 一緒 市民 5 22 23, 事業 必要 3 13 14, 住民 言葉 2 8 10, 出る 班 2 6 12
情報 支援 2 11 7, 担当 計画 2 9 9, 説明 関係 2 6 12, 地域 知る 4 29 8, データ 市民 3 5 23
一緒 公園 3 22 6, NPO 行政 2 6 13
"""


@pytest.fixture
def sample_edges() -> pd.DataFrame:
    rows = []
    for item in SAMPLE_PAIRS.replace("\n", ",").split(","):
        if item.strip():
            a, b, both, na, nb = item.split()
            both, na, nb = int(both), int(na), int(nb)
            rows.append((a, b, both / (na + nb - both), both, na, nb))
    columns = ["source", "target", "weight", "cooccurrences", "source_count", "target_count"]
    return pd.DataFrame(rows, columns=columns).sort_values("weight", ascending=False, kind="stable")


def test_network_labels_and_circles_never_overlap_on_the_sample_graph(figures, sample_edges):
    fig = figures(plots.plot_cooccurrence(sample_edges, years=[2015, 2016, 2017], n_comments=211))
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = ax.texts
    assert len(labels) == len(set(sample_edges["source"]) | set(sample_edges["target"]))
    boxes = [t.get_window_extent() for t in labels]
    for (a, box_a), (b, box_b) in itertools.combinations(zip(labels, boxes), 2):
        assert not box_a.overlaps(box_b), (a.get_text(), b.get_text())
    frame = ax.get_window_extent()
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in boxes)
    # Circles keep apart too, so no link (e.g. 子育て–支援) hides under its own nodes.
    nodes = ax.collections[-1]
    centres = ax.transData.transform(nodes.get_offsets())
    radii = np.sqrt(nodes.get_sizes()) / 2 * fig.dpi / 72
    for i, j in itertools.combinations(range(len(centres)), 2):
        assert np.hypot(*(centres[i] - centres[j])) > radii[i] + radii[j]


def test_network_labels_have_a_white_halo_and_fit_the_smallest_circle(figures, sample_edges):
    fig = figures(plots.plot_cooccurrence(sample_edges, years=[2017], n_comments=211))
    fig.canvas.draw()
    label = fig.axes[0].texts[0]
    (halo,) = label.get_path_effects()
    assert mpl.colors.to_hex(halo._gc["foreground"]) == "#ffffff"
    # A two-character word fits inside the smallest circle.
    two = next(t for t in fig.axes[0].texts if len(t.get_text()) == 2)
    assert two.get_window_extent().width * 72 / fig.dpi < plots.NODE_MIN_PT
    sizes = np.sqrt(fig.axes[0].collections[-1].get_sizes())
    assert sizes.min() == pytest.approx(plots.NODE_MIN_PT) and sizes.max() == pytest.approx(plots.NODE_MAX_PT)


def test_network_has_a_key_for_circle_size_and_line_width(figures, sample_edges):
    fig = figures(plots.plot_cooccurrence(sample_edges, years=[2017], n_comments=211))
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[:3] == ["5件", "22件", "39件"]  # smallest, middle and largest comment counts
    assert texts[3:] == ["0.12", "0.56", "1.00"]  # Jaccard, weakest to strongest drawn
    circles, lines = legend.legend_handles[:3], legend.legend_handles[3:]
    # Drawn to the same scale as the network.
    assert [c.get_radius() * 2 for c in circles] == pytest.approx(list(plots.node_diameters([5, 22, 39])))
    assert [ln.get_linewidth() for ln in lines] == pytest.approx(list(plots.edge_widths([0.12, 0.56, 1.0])))
    assert "Jaccard" in legend.get_title().get_text()


def test_spread_nodes_separates_overlapping_boxes_inside_the_area():
    pos = np.array([[0.0, 0.0], [0.01, 0.0], [0.0, 0.01], [1.0, 1.0]])
    half = np.full((4, 2), 10.0)
    out = plots.spread_nodes(pos, half, (200.0, 100.0))
    assert np.array_equal(out, plots.spread_nodes(pos, half, (200.0, 100.0)))
    for i, j in itertools.combinations(range(4), 2):
        assert (np.abs(out[i] - out[j]) >= 20 - 1e-6).any()
    assert (out >= 10 - 1e-9).all() and (out[:, 0] <= 190 + 1e-9).all() and (out[:, 1] <= 90 + 1e-9).all()


def test_cooccurrence_gives_a_message_when_too_few_words(figures):
    edges = plots.cooccurrence([["対話"], ["信頼"]])
    assert edges.empty
    fig = figures(plots.plot_cooccurrence(edges, years=[2017], n_comments=2))
    assert any("描けません" in t for t in texts(fig))


# --- 6. themes by question --------------------------------------------------------------


def test_heatmap_cells_are_theme_shares_by_question(figures):
    rows = [(q, t, 10 + j, (i + j) % 4) for j, q in enumerate(["講演", "理由", "ワークショップ"])
            for i, t in enumerate(plots.THEMES)]
    shares = pd.DataFrame(rows, columns=["question", "theme", "n_comments", "n_mentions"])
    shares["share"] = shares["n_mentions"] / shares["n_comments"]
    fig = figures(plots.plot_themes_by_question(shares, years=[2016, 2017]))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["理由\n(n=11)", "講演\n(n=10)", "ワークショップ\n(n=12)"]
    # Rows by the share over all questions (mentions 3+0+1, 0+1+2, ...), ties in rule-table order.
    pooled = shares.groupby("theme")["n_mentions"].sum()
    order = sorted(plots.THEMES, key=lambda t: (-pooled[t], plots.THEMES.index(t)))
    assert [t.get_text() for t in ax.get_yticklabels()] == order
    data = np.asarray(ax.collections[0].get_array()).reshape(len(plots.THEMES), 3)
    expected = shares.pivot(index="theme", columns="question", values="share").loc[
        order, ["理由", "講演", "ワークショップ"]]
    assert np.allclose(data, expected.to_numpy())
    assert "2016〜2017年度" in fig.get_suptitle() and "n=33" in fig.get_suptitle()


def test_heatmap_rows_follow_the_themes_by_group_order(figures, comparison):
    # The report passes the bar chart's order, so both figures list the themes alike.
    rows = [(q, t, 20, k % 5) for q in ("理由", "講演") for k, t in enumerate(plots.THEMES)]
    shares = pd.DataFrame(rows, columns=["question", "theme", "n_comments", "n_mentions"])
    shares["share"] = shares["n_mentions"] / shares["n_comments"]
    order = plots.order_themes_by_share(comparison)["theme"].tolist()
    fig = figures(plots.plot_themes_by_question(shares, years=[2017], order=order))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == order
    bars = figures(plots.plot_themes_by_group(comparison, years=[2017])).axes[0]
    top_down = sorted(zip(bars.get_yticks(), (t.get_text() for t in bars.get_yticklabels())), reverse=True)
    assert [name for _, name in top_down] == order
    # A theme the order leaves out still gets a row, at the end.
    fig = figures(plots.plot_themes_by_question(shares, years=[2017], order=order[1:]))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == order[1:] + order[:1]


# --- export -----------------------------------------------------------------------------


def test_save_figure_writes_identical_files_twice(tmp_path, figures, shares_2017):
    fig = figures(plots.plot_intent_by_group(shares_2017))
    first = plots.save_figure(fig, tmp_path / "a" / "2017_intent_by_group")
    second = plots.save_figure(fig, tmp_path / "b" / "2017_intent_by_group")
    assert [p.name for p in first] == ["2017_intent_by_group.png", "2017_intent_by_group.svg",
                                        "2017_intent_by_group.pdf"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    with Image.open(first[0]) as png:
        assert png.info["dpi"] == pytest.approx((300, 300), abs=0.1)
        assert "Software" not in png.info
    assert b"CreationDate" not in first[2].read_bytes()
    assert not re.search(rb"<dc:date>", first[1].read_bytes())


def test_pdf_embeds_truetype_not_type3(tmp_path, figures, shares_2017):
    # Print preflight often rejects Type 3 fonts.
    fig = figures(plots.plot_intent_by_group(shares_2017))
    (pdf,) = plots.save_figure(fig, tmp_path / "intent", formats=("pdf",))
    data = pdf.read_bytes()
    assert b"/Type3" not in data
    assert b"/CIDFontType2" in data and b"/FontFile2" in data  # TrueType outlines, subset into the file
    assert b"IPAexGothic" in data


def test_many_years_wrap_into_rows(figures):
    counts = {(y, g): {"思う": 5 + y % 3, "思わない": 2} for y in range(2011, 2017) for g in ("市民", "職員")}
    fig = figures(plots.plot_intent_by_group_years(intent_shares(respondents(counts)), max_columns=4))
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == [f"{y}年度" for y in range(2011, 2017)]
    assert shown[4].get_position().y0 < shown[0].get_position().y0  # 2015 starts a second row


def test_network_layout_is_fixed_and_keeps_small_components_apart():
    import networkx as nx

    graph = nx.Graph([("対話", "信頼"), ("信頼", "地域"), ("地域", "対話"), ("地域", "課題"), ("予算", "人手")])
    first, second = plots.network_layout(graph), plots.network_layout(graph)
    assert {n: tuple(p) for n, p in first.items()} == {n: tuple(p) for n, p in second.items()}
    main_lowest = min(first[n][1] for n in ("対話", "信頼", "地域", "課題"))
    assert max(first["予算"][1], first["人手"][1]) < main_lowest  # the pair sits below the main network


@pytest.mark.slow
def test_network_layout_does_not_depend_on_string_hashing():
    # Each run of the report (and each notebook kernel) gets its own PYTHONHASHSEED.
    import contextlib
    import io
    import os
    import subprocess
    import sys

    script = (
        "import networkx as nx\n"
        "from kyodo_analysis.figures import network_layout\n"
        "g = nx.Graph([('対話', '信頼'), ('信頼', '地域'), ('地域', '課題'), ('予算', '人手'),"
        " ('人手', '時間'), ('時間', '資金'), ('言葉', '住民'), ('住民', '合わせる')])\n"
        "print(sorted((n, p.round(6).tolist()) for n, p in network_layout(g).items()))\n"
    )
    # Three string hashings: two fixed seeds in their own processes, and this process's own.
    here = io.StringIO()
    with contextlib.redirect_stdout(here):
        exec(script, {})
    runs = {here.getvalue()} | {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1


def test_words_with_characters_missing_from_the_font_still_draw(figures):
    docs = [["\U00020BB7田", "対話"], ["\U00020BB7田", "対話"], ["対話", "信頼"], ["対話", "信頼"]]
    fig = figures(plots.plot_cooccurrence(plots.cooccurrence(docs), years=[2017], n_comments=4))
    fig.canvas.draw()  # a missing glyph would raise here (see pytestmark)
    assert "〓田" in {t.get_text() for t in fig.axes[0].texts}


def test_custom_theme_tables_keep_their_own_order_for_ties(figures):
    names = ["連携", "人材", "広報", "予算"]
    shares = pd.DataFrame({"question": "理由", "theme": pd.Categorical(names, categories=names, ordered=True),
                           "n_comments": 10, "n_mentions": [2, 2, 3, 2]})
    shares["share"] = shares["n_mentions"] / shares["n_comments"]
    fig = figures(plots.plot_themes_by_question(shares, years=[2017]))
    # 広報 leads; the tie keeps the custom table's order, not the bundled or alphabetical one.
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["広報", "連携", "人材", "予算"]
