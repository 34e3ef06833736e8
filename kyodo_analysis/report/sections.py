"""The report's figures, declared: each section returns its list of ``FigureSpec`` in page order.

Adding a figure is one ``FigureSpec`` in a section plus its draw function; adding a section
is one function ``(ReportContext) -> list[FigureSpec]`` appended to ``SECTIONS``. The builder
(``report.build``) counts, writes the tables, draws and lists every spec the same way.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import pandas as pd

from .. import figures as plots
from ..choices import (
    association_test, choice_counts, crosstab_with_intent, neutral_option, options_from_answers, rating_sets,
    survey_answers,
)
from ..figures.choices import MULTIPLE_NOTE, plot_question, plot_rating_set, question_title, rating_set_title
from ..input.worksheets import default_worksheet_rules
from ..input.layout import ANSWERS, CITIZENS, GROUP_ORDER, NO_ANSWER, POSITIVE_ANSWER, QUESTION_LABELS, STAFF, quoted
from ..rules.ruleset import RuleSet
from ..figures.group_work import plot_ask_offer
from ..group_work import ask_offer_contrast, group_theme_shares, statements_by_theme, tally_beside_questionnaire
from ..rules.tag import tag_comments, theme_shares
from ..text.words import MIN_COMMENTS
from .specs import (
    contrast_key_numbers,
    tally_lines,
    _CLOUD_NAMES,
    _EDGE_LABELS,
    FigureSpec,
    TableSpec,
    _pct,
    intent_key_numbers,
    network_key_numbers,
    question_key_numbers,
    themes_key_numbers,
    trend_key_numbers,
    words_key_numbers,
)


@dataclass
class ReportContext:
    """Everything the sections count from, loaded and tagged once by the builder."""

    respondents: pd.DataFrame
    comments: pd.DataFrame
    choices: pd.DataFrame
    tagged: pd.DataFrame
    shares: pd.DataFrame  # intent_shares(respondents)
    comparison: pd.DataFrame | None  # compare_groups(tagged), None without comments
    rules: RuleSet
    years: list[int]
    period: str  # 2017 or 2015-2017, the stem of files about every year
    survey_title: str
    exclude: Sequence[str]
    frequencies: pd.DataFrame  # word_frequencies by group
    edges: pd.DataFrame  # co-occurrence edges
    network_words: int
    network_min_jaccard: float
    notes: list[str] = field(default_factory=list)  # sections say here what they left out
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)  # Survey.groups: one row per worksheet group
    statements: pd.DataFrame = field(default_factory=pd.DataFrame)  # Survey.statements, places printable


Section = Callable[[ReportContext], list[FigureSpec]]


# --- 問1: collaboration intent ---------------------------------------------------------


def intent_section(ctx: ReportContext) -> list[FigureSpec]:
    """The intent bars per year, the years side by side and the trend of the positive answer."""
    shares, title = ctx.shares, ctx.survey_title
    specs = [
        FigureSpec(
            f"{fy}_intent_by_group", f"{fy}年度 協働したいと思いますか（区分別）",
            f"「{'／'.join(ANSWERS)}」の割合。割合の分母は{NO_ANSWER}を除いた回答者数です。",
            count=lambda fy=fy: shares[shares["fiscal_year"] == fy],
            draw=partial(plots.plot_intent_by_group, fiscal_year=fy, survey=title),
            key_numbers=intent_key_numbers,
        )
        for fy in ctx.years
    ]
    if len(ctx.years) < 2:
        ctx.notes.append("年度が 1 つだけのため、推移の図と年度別の比較は作っていません。")
        return specs
    years = ctx.years
    specs += [
        FigureSpec(
            f"{ctx.period}_intent_by_group_years", "協働したいと思いますか（年度別の比較）",
            "各年度の区分別の割合を横に並べたものです。",
            count=lambda: shares,
            draw=partial(plots.plot_intent_by_group_years, survey=title),
            key_numbers=lambda data: [f"{fy}年度 {line}" for fy in years
                                      for line in intent_key_numbers(data[data["fiscal_year"] == fy])],
            cost=len(years),
        ),
        FigureSpec(
            f"{ctx.period}_intent_trend", f"「{POSITIVE_ANSWER}」の割合の推移",
            f"年度ごとの「{POSITIVE_ANSWER}」の割合と95%信頼区間（Wilson法）。人数の少ない年度は区間が広くなります。",
            count=lambda: shares[shares["answer"].astype(str) == POSITIVE_ANSWER],
            draw=partial(plots.plot_intent_trend, survey=title),
            key_numbers=trend_key_numbers,
        ),
    ]
    return specs


# --- choice, rating and attribute questions -------------------------------------------

_TEST_NAMES = {"fisher_exact": "Fisherの正確検定", "monte_carlo_chi2": "モンテカルロ法による並べ替え検定", "none": "なし"}
SET_CAPTION = ("同じ尺度で答える評価の設問をまとめた図です。設問ごと・区分ごとに 1 本の帯で、"
               "右が良い評価、左が悪い評価、中間の選択肢は中央の縦線をまたいで描いています"
               f"（{NO_ANSWER}を除く割合）。")


def choice_key_numbers(counts: pd.DataFrame) -> list[str]:
    """One line per 区分: the most chosen option of a question, its share and n."""
    lines = []
    answered = counts[(counts["option"] != NO_ANSWER) & (counts["n"] > 0)]
    for group, part in answered.groupby("group", sort=False, observed=True):
        top = part.sort_values(["count", "order"], ascending=[False, True], kind="stable").iloc[0]
        lines.append(f"{group}: 最も多いのは「{top['option']}」{_pct(top['share'])}（n={int(top['n'])}）")
    return lines


def _question_tables(stem: str, part: pd.DataFrame, answers: pd.DataFrame, intents: pd.DataFrame,
                     question: str) -> tuple[list[TableSpec], list[str]]:
    """A question's tables (by 区分, and its cross-tab with 問1 with the test) and its key numbers."""
    tables = [TableSpec(f"{stem}_by_group", part)]
    lines = choice_key_numbers(part)
    crosstab = crosstab_with_intent(answers, intents, question)
    if crosstab.to_numpy().sum() > 0:
        test = association_test(crosstab)
        frame = crosstab.reset_index().rename(columns={question: "選択肢"})
        frame["検定"] = _TEST_NAMES[test.method]
        frame["p値"] = round(test.p_value, 4) if test.p_value == test.p_value else None
        tables.append(TableSpec(f"{stem}_by_intent", frame))
        if test.p_value == test.p_value:
            lines.append(f"「協働したいと思いますか」との関連: p={test.p_value:.3f}（{_TEST_NAMES[test.method]}、n={test.n}）")
    return tables, lines


def choice_section(ctx: ReportContext) -> list[FigureSpec]:
    """The choice, rating and attribute questions per year: rating questions sharing a scale in one figure.

    Every other question gets its own figure; each question keeps its own tables (counts by
    区分, cross-tab with 問1 and its test).
    """
    if not len(ctx.choices):
        return []
    choices = ctx.choices.dropna(subset=["fiscal_year"])
    answers = survey_answers(choices)
    options = options_from_answers(answers)
    counts = choice_counts(answers, ("fiscal_year", "group"), options=options)
    questions = list(dict.fromkeys(answers.sort_values(["fiscal_year"], kind="stable")["question"]))
    intents = answers[["respondent", "intent"]].drop_duplicates("respondent")
    title, specs = ctx.survey_title, []
    for fy in ctx.years:
        year_counts = counts[counts["fiscal_year"] == fy]
        year_answers = answers[answers["fiscal_year"] == fy]
        sets = rating_sets(options, questions=[q for q in questions if (year_counts["question"] == q).any()])
        in_set = {q: i for i, qs in enumerate(sets) for q in qs}
        set_tables: dict[int, list[TableSpec]] = {i: [] for i in range(len(sets))}
        set_lines: dict[int, list[str]] = {i: [] for i in range(len(sets))}
        for number, question in enumerate(questions, start=1):
            part = year_counts[year_counts["question"] == question]
            if part.empty:
                continue
            role = str(part["role"].iloc[0])
            stem = f"{fy}_question_{number:02d}"
            tables, lines = _question_tables(stem, part, year_answers, intents, question)
            question_options = options.loc[options["question"] == question, "option"].tolist()
            if question in in_set:
                index = in_set[question]
                set_tables[index] += tables
                set_lines[index] += [f"{question} {line}" for line in lines]
                if question != sets[index][-1]:
                    continue
                # In questionnaire order (the counts are sorted by question name).
                together = pd.concat([year_counts[year_counts["question"] == q] for q in sets[index]])
                specs.append(FigureSpec(
                    f"{fy}_question_ratings_{index + 1:02d}", f"{fy}年度 {rating_set_title(sets[index])}", SET_CAPTION,
                    count=lambda together=together: together.drop(columns=["fiscal_year"]),
                    draw=partial(plot_rating_set, neutral=neutral_option(question_options), fiscal_year=fy,
                                 survey=title),
                    key_numbers=lambda _, lines=set_lines[index]: lines,
                    tables=lambda _, tables=set_tables[index]: tables, cost=1.5,
                ))
                continue
            neutral = neutral_option(question_options) if role == "rating" else None
            caption = {
                "rating": f"評価の割合（{NO_ANSWER}を除く）。右が良い評価、左が悪い評価で、中間の選択肢は中央の縦線をまたいで描いています。",
                "multiple_choice": f"それぞれの選択肢を選んだ回答者の割合（{NO_ANSWER}を除く）。{MULTIPLE_NOTE}。",
            }.get(role, f"選択肢の割合（{NO_ANSWER}を除く）。")
            specs.append(FigureSpec(
                stem, f"{fy}年度 {question_title(question, role)}", caption,
                count=lambda part=part: part.drop(columns=["fiscal_year"]),
                draw=partial(plot_question, neutral=neutral, fiscal_year=fy, survey=title),
                key_numbers=lambda _, lines=lines: lines,
                tables=lambda _, tables=tables: tables,
            ))
    return specs


# --- free text: themes and words -------------------------------------------------------


def _others_note(tagged: pd.DataFrame) -> str:
    """Say how many comments fall outside 市民/職員 and so outside the two-group comparison."""
    others = int((~tagged["group"].astype(str).isin(plots.GROUPS)).sum())
    rest = quoted(g for g in GROUP_ORDER if g not in (CITIZENS, STAFF))
    return f"区分が{rest}（見学者など）のコメント {others} 件は、{CITIZENS}と{STAFF}の比較に含めていません。" if others else ""


def with_total(freq: pd.DataFrame) -> pd.DataFrame:
    """Add 全体 rows (all groups summed) to a ``word_frequencies`` frame."""
    total = freq.groupby(["word", "pos"], observed=True, as_index=False)[["occurrences", "n_comments"]].sum()
    total.insert(0, "group", plots.TOTAL)
    total = total.sort_values(["occurrences", "word", "pos"], ascending=[False, True, True], kind="stable")
    return pd.concat([freq.astype({"group": "object"}), total], ignore_index=True)


def text_section(ctx: ReportContext) -> list[FigureSpec]:
    """Themes by group, word clouds, the co-occurrence network and themes by question."""
    if not len(ctx.tagged):
        ctx.notes.append("自由記述がないため、テーマと語の図は作っていません。")
        return []
    tagged, comments, title, years, period = ctx.tagged, ctx.comments, ctx.survey_title, ctx.years, ctx.period
    freq, edges, exclude = ctx.frequencies, ctx.edges, ctx.exclude
    specs = [FigureSpec(
        f"{period}_themes_by_group", f"コメントに現れるテーマ（{CITIZENS}と{STAFF}）",
        "テーマに触れたコメントの割合。* は Fisher の正確検定で p<0.05 のテーマです"
        "（テーマが多く人数も少ないので、差の目安として読んでください）。" + _others_note(tagged),
        count=lambda: ctx.comparison,
        draw=partial(plots.plot_themes_by_group, years=years, survey=title),
        key_numbers=themes_key_numbers,
    )]
    freq_table = TableSpec(f"{period}_word_frequencies", with_total(freq))  # one table for every word cloud
    for group in (CITIZENS, STAFF, plots.TOTAL):
        n = len(comments) if group == plots.TOTAL else int((comments["group"].astype(str) == group).sum())
        if not n:
            continue
        one = None if group == plots.TOTAL else group
        specs.append(FigureSpec(
            f"{period}_wordcloud_{_CLOUD_NAMES[group]}", f"よく出る語（{group}）",
            "文字の大きさが出現回数を表します。" + (f"「{'・'.join(exclude)}」と" if exclude else "")
            + f"ストップワード、記号・数字、人名や連絡先、{MIN_COMMENTS} 件未満の記述にしか出ない語は除いています。",
            count=lambda: freq,
            draw=partial(plots.plot_wordcloud, group=one, years=years, n_comments=n, exclude=exclude, survey=title),
            key_numbers=lambda data, one=one: words_key_numbers(plots.word_counts(data, group=one)),
            tables=lambda _: [freq_table], cost=2.5,
        ))
    max_edges = 60
    specs.append(FigureSpec(
        f"{period}_cooccurrence_network", "語の共起ネットワーク",
        f"同じコメントに出る頻出語（上位 {ctx.network_words} 語）を、Jaccard 係数 "
        f"{ctx.network_min_jaccard} 以上で結んだものです。",
        count=lambda: edges,
        draw=partial(plots.plot_cooccurrence, years=years, n_comments=len(comments), max_edges=max_edges,
                     survey=title),
        key_numbers=lambda data: network_key_numbers(data, max_edges),
        tables=lambda data: [TableSpec(f"{period}_cooccurrence", data, _EDGE_LABELS)],
    ))
    order = plots.order_themes_by_share(ctx.comparison)["theme"].tolist()
    specs.append(FigureSpec(
        f"{period}_themes_by_question", "設問別にみたテーマ",
        f"{quoted(QUESTION_LABELS)}の各設問のコメントに、どのテーマが現れたか。",
        count=lambda: theme_shares(tagged, by=("question",), themes=ctx.rules.names),
        draw=partial(plots.plot_themes_by_question, years=years, order=order, survey=title),
        key_numbers=question_key_numbers,
    ))
    return specs


# The report's sections in page order; a new section is one function added here.
# --- group worksheets ---------------------------------------------------------------------

GROUP_CAPTION = ("各グループがワークシートに書いた意見（箇条書きを 1 件ずつに分けたもの）に、アンケートの自由記述と同じ"
                 "ルールでテーマを付け、そのテーマを挙げたグループの割合を示しています。分母はその年度のワークシートの"
                 "グループ数です。")
TALLY_NOTE = ("ワークシートに書かれた問1の人数は、グループ討議の場での挙手などによるもので、アンケートの回答者とは"
              "別の集計です。アンケートの人数と足し合わせてはいません。")


def group_work_section(ctx: ReportContext) -> list[FigureSpec]:
    """Per year with a worksheet: the share of groups raising each theme, asked of partners vs offered themselves."""
    if not len(ctx.statements):
        return []
    statements = ctx.statements[ctx.statements["fiscal_year"].isin(ctx.years)]
    groups = ctx.groups[ctx.groups["fiscal_year"].isin(ctx.years)]
    if statements.empty:
        return []
    tagged = tag_comments(statements, rules=ctx.rules)
    shares = group_theme_shares(tagged, groups, themes=ctx.rules.names)
    contrast = ask_offer_contrast(shares)
    tally = tally_beside_questionnaire(groups, ctx.respondents)
    tables = [TableSpec(f"{ctx.period}_group_themes", shares), TableSpec(f"{ctx.period}_group_ask_offer", contrast)]
    if tally["worksheet_people"].notna().any():
        tables.append(TableSpec(f"{ctx.period}_group_intent_tally", tally))
    tables.append(TableSpec(f"{ctx.period}_group_statements_by_theme",
                            statements_by_theme(tagged, themes=ctx.rules.names)))
    caption = GROUP_CAPTION + (TALLY_NOTE if tally["worksheet_people"].notna().any() else "")
    title = ctx.survey_title
    ask, offer = (default_worksheet_rules().question_name(k) for k in ("ask", "offer"))
    return [
        FigureSpec(
            f"{fy}_group_ask_offer", f"{fy}年度 グループが挙げたテーマ（{ask}・{offer}）", caption,
            count=lambda fy=fy: contrast[contrast["fiscal_year"] == fy],
            draw=partial(plot_ask_offer, fiscal_year=fy, survey=title),
            key_numbers=lambda data, fy=fy: contrast_key_numbers(data) + tally_lines(tally[tally["fiscal_year"] == fy]),
            tables=lambda _: tables,
        )
        for fy in ctx.years if (contrast["fiscal_year"] == fy).any()
    ]


SECTIONS: tuple[Section, ...] = (intent_section, choice_section, group_work_section, text_section)
