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

from kyodo_analysis import plots
from kyodo_analysis.intent import intent_shares
from kyodo_analysis.normalize import GROUP_ORDER, INTENT_ORDER

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


def test_segment_labels_show_percentages_and_never_overlap(figures):
    # One 思わない among many: its segment is too thin for a label.
    shares = intent_shares(respondents({
        (2017, "市民"): {"思う": 40, "どちらとも言えない": 18, "思わない": 1},
        (2017, "職員"): {"思う": 10, "どちらとも言えない": 0, "思わない": 10},
    }))
    fig = figures(plots.plot_intent_by_group(shares))
    ax = fig.axes[0]
    fig.canvas.draw()
    labels = [t for t in ax.texts if t.get_text().endswith("%")]
    shown = {t.get_text() for t in labels}
    assert {"68%", "31%", "50%"} <= shown
    assert "2%" not in shown  # 1/59 citizens: dropped, not squeezed in
    boxes = [t.get_window_extent() for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    segments = [b.get_window_extent() for b in stacked_bars(ax)]
    for box in boxes:
        assert any(s.x0 <= box.x0 and box.x1 <= s.x1 for s in segments)


def test_one_panel_per_year_side_by_side(figures, shares_two_years):
    fig = figures(plots.plot_intent_by_group_years(shares_two_years))
    assert [ax.get_title() for ax in fig.axes] == ["2016年度", "2017年度"]
    lefts = [ax.get_position().x0 for ax in fig.axes]
    assert lefts == sorted(lefts)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0] == "市民 (n=20)"
    assert "2016〜2017年度" in fig.get_suptitle()


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
    return pd.DataFrame(rows, columns=["group", "word", "pos", "count"])


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
    assert [t.get_text() for t in ax.get_yticklabels()] == list(plots.THEMES)
    data = np.asarray(ax.collections[0].get_array()).reshape(len(plots.THEMES), 3)
    expected = shares.pivot(index="theme", columns="question", values="share").loc[
        list(plots.THEMES), ["理由", "講演", "ワークショップ"]]
    assert np.allclose(data, expected.to_numpy())
    assert "2016〜2017年度" in fig.get_suptitle() and "n=33" in fig.get_suptitle()


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


def test_network_layout_does_not_depend_on_string_hashing():
    # Each run of the report (and each notebook kernel) gets its own PYTHONHASHSEED.
    import os
    import subprocess
    import sys

    script = (
        "import networkx as nx\n"
        "from kyodo_analysis.plots import network_layout\n"
        "g = nx.Graph([('対話', '信頼'), ('信頼', '地域'), ('地域', '課題'), ('予算', '人手'),"
        " ('人手', '時間'), ('時間', '資金'), ('言葉', '住民'), ('住民', '合わせる')])\n"
        "print(sorted((n, p.round(6).tolist()) for n, p in network_layout(g).items()))\n"
    )
    runs = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(runs) == 1


def test_words_with_characters_missing_from_the_font_still_draw(figures):
    docs = [["\U00020BB7田", "対話"], ["\U00020BB7田", "対話"], ["対話", "信頼"], ["対話", "信頼"]]
    fig = figures(plots.plot_cooccurrence(plots.cooccurrence(docs), years=[2017], n_comments=4))
    fig.canvas.draw()  # a missing glyph would raise here (see pytestmark)
    assert "〓田" in {t.get_text() for t in fig.axes[0].texts}


def test_custom_theme_tables_keep_their_own_order(figures):
    names = ["連携", "人材", "広報"]
    shares = pd.DataFrame({"question": "理由", "theme": pd.Categorical(names, categories=names, ordered=True),
                           "n_comments": 10, "n_mentions": [1, 2, 3]})
    shares["share"] = shares["n_mentions"] / shares["n_comments"]
    fig = figures(plots.plot_themes_by_question(shares, years=[2017]))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == names
