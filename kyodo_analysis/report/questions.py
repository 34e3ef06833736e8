"""The report's section of choice, rating and attribute questions: figures, tables and key numbers.

Rating questions of a year that share one scale get one diverging chart together (one bar per
question × 区分); every other question gets its own chart. Each question keeps its own tables
(counts by 区分, cross-tab with 問1 and its test).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd
from matplotlib.figure import Figure

from ..choices import (
    association_test, choice_counts, crosstab_with_intent, neutral_option, options_from_answers, rating_sets,
    survey_answers,
)
from ..figures.choices import MULTIPLE_NOTE, plot_question, plot_rating_set, question_title, rating_set_title
from ..input.layout import NO_ANSWER
from .specs import _pct



class Writer(Protocol):
    """What this section needs of the report's writer (report.build._Writer)."""

    def table(self, frame: pd.DataFrame, name: str, labels: dict[str, str] | None = None) -> list[Path]:
        """Write a table; return its files."""

    def figure(self, name: str, title: str, caption: str, make: Callable[[], Figure],
               key_numbers: list[str], tables: list[Path], *, cost: float = 1.0) -> None:
        """Queue a figure."""

_TEST_NAMES = {"fisher_exact": "Fisherの正確検定", "monte_carlo_chi2": "モンテカルロ法による並べ替え検定", "none": "なし"}
_CAPTIONS = {
    "rating": "評価の割合（無回答を除く）。右が良い評価、左が悪い評価で、中間の選択肢は中央の縦線をまたいで描いています。",
    "multiple_choice": f"それぞれの選択肢を選んだ回答者の割合（無回答を除く）。{MULTIPLE_NOTE}。",
}
SET_CAPTION = ("同じ尺度で答える評価の設問をまとめた図です。設問ごと・区分ごとに 1 本の帯で、"
               "右が良い評価、左が悪い評価、中間の選択肢は中央の縦線をまたいで描いています（無回答を除く割合）。")


def choice_key_numbers(counts: pd.DataFrame) -> list[str]:
    """One line per 区分: the most chosen option of a question, its share and n."""
    lines = []
    answered = counts[(counts["option"] != NO_ANSWER) & (counts["n"] > 0)]
    for group, part in answered.groupby("group", sort=False, observed=True):
        top = part.sort_values(["count", "order"], ascending=[False, True], kind="stable").iloc[0]
        lines.append(f"{group}: 最も多いのは「{top['option']}」{_pct(top['share'])}（n={int(top['n'])}）")
    return lines


def question_section(out: Writer, choices: pd.DataFrame, years: Sequence[int], survey_title: str) -> None:
    """Queue the figures and write the tables of every choice, rating and attribute question, per year (none: nothing)."""
    if choices.empty:
        return
    choices = choices.dropna(subset=["fiscal_year"])
    answers = survey_answers(choices)
    options = options_from_answers(answers)
    counts = choice_counts(answers, ("fiscal_year", "group"), options=options)
    questions = list(dict.fromkeys(answers.sort_values(["fiscal_year"], kind="stable")["question"]))
    intents = answers[["respondent", "intent"]].drop_duplicates("respondent")
    for fy in years:
        year_counts = counts[counts["fiscal_year"] == fy]
        asked = [q for q in questions if (year_counts["question"] == q).any()]
        sets = rating_sets(options, asked)
        in_set = {q: i for i, qs in enumerate(sets) for q in qs}
        set_tables: dict[int, list[Path]] = {i: [] for i in range(len(sets))}
        set_numbers: dict[int, list[str]] = {i: [] for i in range(len(sets))}
        year_answers = answers[answers["fiscal_year"] == fy]
        for number, question in enumerate(questions, start=1):
            part = year_counts[year_counts["question"] == question]
            if part.empty:
                continue
            role = str(part["role"].iloc[0])
            stem = f"{fy}_question_{number:02d}"
            table = out.table(part, f"{stem}_by_group")
            key_numbers = choice_key_numbers(part)
            crosstab = crosstab_with_intent(year_answers, intents, question)
            if crosstab.to_numpy().sum() > 0:
                test = association_test(crosstab)
                frame = crosstab.reset_index().rename(columns={question: "選択肢"})
                frame["検定"] = _TEST_NAMES[test.method]
                frame["p値"] = round(test.p_value, 4) if test.p_value == test.p_value else None
                table = table + out.table(frame, f"{stem}_by_intent")
                if test.p_value == test.p_value:
                    key_numbers.append(f"「協働したいと思いますか」との関連: p={test.p_value:.3f}"
                                       f"（{_TEST_NAMES[test.method]}、n={test.n}）")
            if question in in_set:
                index = in_set[question]
                set_tables[index] += table
                set_numbers[index] += [f"{question} {line}" for line in key_numbers]
                if question != sets[index][-1]:
                    continue
                # In questionnaire order (the counts are sorted by question name).
                together = pd.concat([year_counts[year_counts["question"] == q] for q in sets[index]])
                together = together.drop(columns=["fiscal_year"])
                neutral = neutral_option(options.loc[options["question"] == question, "option"].tolist())
                out.figure(
                    f"{fy}_question_ratings_{index + 1:02d}", f"{fy}年度 {rating_set_title(sets[index])}", SET_CAPTION,
                    lambda together=together, neutral=neutral, fy=fy: plot_rating_set(
                        together, neutral=neutral, fiscal_year=fy, survey=survey_title),
                    set_numbers[index], set_tables[index], cost=1.5,
                )
                continue
            neutral = neutral_option(options.loc[options["question"] == question, "option"].tolist()) \
                if role == "rating" else None
            out.figure(
                stem, f"{fy}年度 {question_title(question, role)}", _CAPTIONS.get(role, "選択肢の割合（無回答を除く）。"),
                lambda part=part.drop(columns=["fiscal_year"]), neutral=neutral, fy=fy: plot_question(
                    part, neutral=neutral, fiscal_year=fy, survey=survey_title),
                key_numbers, table,
            )
