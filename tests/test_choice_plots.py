"""Charts of rating, single-choice and multiple-choice questions (real matplotlib)."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle

from kyodo_analysis.figures.choices import (
    MULTIPLE_NOTE, draw_choice_shares, draw_multiple_choice, draw_rating, draw_rating_set, plot_question,
    plot_rating_set, rating_colors,
)
from kyodo_analysis.choices import choice_answers, choice_counts, option_table, options_from_answers, rating_sets
from kyodo_analysis.figures.style import grey_level, style
from kyodo_analysis.input.roles import infer_roles

HEADERS = ["講演の満足度", "何で知りましたか", "年代"]


@pytest.fixture
def counts() -> pd.DataFrame:
    respondents = pd.DataFrame({
        "respondent": range(1, 9),
        "fiscal_year": [2019] * 8,
        "group": ["市民", "市民", "市民", "職員", "職員", "職員", "市民", "職員"],
        "講演の満足度": ["満足", "不満", "ふつう", "とても満足", "満足", None, "とても満足", "ふつう"],
        "何で知りましたか": ["広報, チラシ", "チラシ", "知人;広報", "広報", "チラシ", "広報", "知人", None],
        "年代": ["20代", "30代", "20代", "20代", "40代", "30代", "20代", "30代"],
    })
    roles = infer_roles(HEADERS, [respondents[h].tolist() for h in HEADERS])
    return choice_counts(choice_answers(respondents, roles), ("group",), options=option_table(roles))


def _question(counts: pd.DataFrame, name: str) -> pd.DataFrame:
    return counts[counts["question"] == name]


def _bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0]


def test_rating_is_centred_on_the_neutral_option(counts) -> None:
    with style():
        ax = draw_rating(_question(counts, "講演の満足度"), neutral="ふつう")
    # Each bar's neutral segment straddles 0 exactly in the middle.
    container = next(c for c in ax.containers if c.get_label() == "ふつう")
    drawn = [patch for patch in container if patch.get_width() > 0]
    assert len(drawn) == 2
    for patch in drawn:
        assert patch.get_x() == pytest.approx(-patch.get_width() / 2)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["市民（n=4）", "職員（n=3）"]
    assert "無回答" in ax.get_xlabel() and "職員 1人" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["とても満足", "満足", "ふつう", "やや不満", "不満"]


def test_rating_bars_add_up_to_one_hundred_percent(counts) -> None:
    with style():
        ax = draw_rating(_question(counts, "講演の満足度"), neutral="ふつう")
    for group_y in {round(p.get_y(), 3) for p in _bars(ax)}:
        total = sum(p.get_width() for p in _bars(ax) if round(p.get_y(), 3) == group_y)
        assert total == pytest.approx(1.0)


def test_rating_colours_are_distinct_in_greyscale() -> None:
    colors = rating_colors(["とても満足", "満足", "ふつう", "やや不満", "不満"], "ふつう")
    levels = sorted(grey_level(c) for c in colors)
    assert min(np.diff(levels)) > 0.05


def test_single_choice_stacks_to_one_hundred_percent_with_n(counts) -> None:
    with style():
        ax = draw_choice_shares(_question(counts, "年代"))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["市民（n=4）", "職員（n=4）"]
    for group_y in {round(p.get_y(), 3) for p in _bars(ax)}:
        assert sum(p.get_width() for p in _bars(ax) if round(p.get_y(), 3) == group_y) == pytest.approx(1.0)


def test_multiple_choice_shares_are_of_respondents_and_noted(counts) -> None:
    with style():
        ax = draw_multiple_choice(_question(counts, "何で知りましたか"))
    assert MULTIPLE_NOTE in ax.get_xlabel()
    citizens = next(c for c in ax.containers if c.get_label().startswith("市民"))
    assert sum(p.get_width() for p in citizens) > 1.0
    assert [t.get_text() for t in ax.get_yticklabels()] == ["広報", "チラシ", "知人"]


def test_draw_uses_the_given_axes(counts) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    assert draw_choice_shares(_question(counts, "年代"), ax=ax) is ax


def test_figures_are_byte_identical_between_runs(counts) -> None:
    def svg() -> bytes:
        fig = plot_question(_question(counts, "講演の満足度"), neutral="ふつう")
        buffer = io.BytesIO()
        with style():
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        return buffer.getvalue()

    assert svg() == svg()


def _two_ratings() -> tuple[pd.DataFrame, pd.DataFrame]:
    headers = ["講演の満足度", "ワークショップの満足度", "会場の満足度"]
    respondents = pd.DataFrame({
        "respondent": range(1, 7),
        "fiscal_year": [2018] * 6,
        "group": ["市民", "市民", "市民", "職員", "職員", "職員"],
        "講演の満足度": ["満足", "不満", "ふつう", "とても満足", "満足", None],
        "ワークショップの満足度": ["とても満足", "満足", "満足", "ふつう", "やや不満", "満足"],
        # Another scale: never drawn with the two above.
        "会場の満足度": ["満足", "やや満足", "どちらともいえない", "満足", "不満", "満足"],
    })
    roles = infer_roles(headers, [respondents[h].tolist() for h in headers])
    answers = choice_answers(respondents, roles)
    return answers, choice_counts(answers, ("group",), options=option_table(roles))


def test_rating_questions_sharing_a_scale_are_drawn_together_one_bar_per_question_and_group() -> None:
    answers, counts = _two_ratings()
    options = options_from_answers(answers)
    assert rating_sets(options, questions=["講演の満足度", "ワークショップの満足度", "会場の満足度"]) == [
        ["講演の満足度", "ワークショップの満足度"]]
    assert rating_sets(options, questions=["講演の満足度", "会場の満足度"]) == []
    pair = pd.concat([counts[counts["question"] == q] for q in ("講演の満足度", "ワークショップの満足度")])
    with style():
        ax = draw_rating_set(pair, neutral="ふつう")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["講演の満足度　市民（n=3）", "講演の満足度　職員（n=2）",
                      "ワークショップの満足度　市民（n=3）", "ワークショップの満足度　職員（n=3）"]
    # Every bar is 100% wide, the neutral option straddles 0.
    widths = np.zeros(4)
    for container in ax.containers:
        widths += [patch.get_width() for patch in container]
        if container.get_label() == "ふつう":
            for patch in (p for p in container if p.get_width() > 0):
                assert patch.get_x() == pytest.approx(-patch.get_width() / 2)
    assert widths == pytest.approx([1, 1, 1, 1])
    assert "講演の満足度: 職員 1人" in ax.get_xlabel()


def test_choice_figures_carry_the_survey_year_and_n_heading(counts) -> None:
    fig = plot_question(_question(counts, "何で知りましたか"), fiscal_year=2019, survey="調査")
    title = fig.get_suptitle()
    assert "何で知りましたか" in title and "2019年度" in title and "調査" in title and "n=8" in title
    answers, ratings = _two_ratings()
    pair = ratings[ratings["question"].isin(["講演の満足度", "ワークショップの満足度"])]
    title = plot_rating_set(pair, neutral="ふつう", fiscal_year=2018, survey="調査").get_suptitle()
    assert "講演の満足度" in title and "ワークショップの満足度" in title and "2018年度" in title and "n=6" in title
