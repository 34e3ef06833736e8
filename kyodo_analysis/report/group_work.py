"""The report's section of group worksheets: the ask-vs-offer figure, its tables, and the chapter's group list."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..figures.group_work import ASK_LABEL, OFFER_LABEL, plot_ask_offer
from ..group_work import (
    ask_offer_contrast,
    group_statements,
    group_theme_shares,
    statements_by_theme,
    tally_beside_questionnaire,
)
from ..rules.ruleset import RuleSet
from ..rules.tag import tag_comments
from .questions import Writer
from .specs import _pct

CAPTION = ("各グループがワークシートに書いた意見（箇条書きを 1 件ずつに分けたもの）に、アンケートの自由記述と同じ"
           "ルールでテーマを付け、そのテーマを挙げたグループの割合を示しています。分母はその年度のワークシートの"
           "グループ数です。")
TALLY_NOTE = ("ワークシートに書かれた問1の人数は、グループ討議の場での挙手などによるもので、アンケートの回答者とは"
              "別の集計です。アンケートの人数と足し合わせてはいません。")


@dataclass
class GroupWorkResult:
    """What the section found for the Word chapter: the figure's name and each group's statements per year."""

    figure_names: dict[int, str] = field(default_factory=dict)
    statements: dict[int, list[tuple[str, list[tuple[str, list[str]]]]]] = field(default_factory=dict)
    sentences: dict[int, str] = field(default_factory=dict)


def contrast_key_numbers(contrast: pd.DataFrame) -> list[str]:
    """The themes groups most asked of partners and most offered themselves, with n."""
    if contrast.empty:
        return []
    n = int(contrast["n_groups"].max())
    lines = []
    for column, label in (("ask", ASK_LABEL), ("offer", OFFER_LABEL)):
        top = contrast.sort_values([f"{column}_groups", "theme"], ascending=[False, True], kind="stable").iloc[0]
        if top[f"{column}_groups"] > 0:
            lines.append(f"{label}で最も多いテーマ: {top['theme']} {_pct(top[f'{column}_share'])}"
                         f"（{int(top[f'{column}_groups'])}/{n} グループ）")
    return lines


def tally_sentence(tally: pd.DataFrame) -> str:
    """One sentence of the worksheets' 問1 head counts beside the questionnaire's, or "" when none were written."""
    written = tally.dropna(subset=["worksheet_people"])
    if written.empty:
        return ""
    sheet = "、".join(f"{r.answer}{int(r.worksheet_people)}人" for r in written.itertuples())
    asked = "、".join(f"{r.answer}{int(r.questionnaire_people)}人" for r in written.itertuples())
    return (f"ワークシートに書かれた問1の人数（{int(written['worksheet_groups'].iloc[0])} グループ）は{sheet}で、"
            f"アンケートでは{asked}でした（別の集計のため、足し合わせていません）。")


def group_work_section(out: Writer, statements: pd.DataFrame, groups: pd.DataFrame, respondents: pd.DataFrame,
                       *, rules: RuleSet, years: Sequence[int], survey_title: str, period: str) -> GroupWorkResult:
    """Queue the ask-vs-offer figure per year and write the worksheet tables (no worksheet: nothing)."""
    result = GroupWorkResult()
    statements = statements[statements["fiscal_year"].isin(years)]
    if statements.empty:
        return result
    tagged = tag_comments(statements, rules=rules)
    shares = group_theme_shares(tagged, groups[groups["fiscal_year"].isin(years)], themes=rules.names)
    contrast = ask_offer_contrast(shares)
    tables = out.table(shares, f"{period}_group_themes")
    tables += out.table(contrast, f"{period}_group_ask_offer")
    tally = tally_beside_questionnaire(groups[groups["fiscal_year"].isin(years)], respondents)
    if tally["worksheet_people"].notna().any():
        tables += out.table(tally, f"{period}_group_intent_tally")
    quotes = statements_by_theme(tagged, themes=rules.names)
    tables += out.table(quotes, f"{period}_group_statements_by_theme")
    for fy in years:
        part = contrast[contrast["fiscal_year"] == fy]
        if part.empty:
            continue
        name = f"{fy}_group_ask_offer"
        key_numbers = contrast_key_numbers(part)
        caption = CAPTION + (TALLY_NOTE if tally["worksheet_people"].notna().any() else "")
        out.figure(name, f"{fy}年度 グループが挙げたテーマ（相手に求めるもの・自分たちができること）", caption,
                   lambda fy=fy: plot_ask_offer(contrast, fiscal_year=fy, survey=survey_title).figure,
                   key_numbers, tables)
        result.figure_names[fy] = name
        result.statements[fy] = group_statements(statements, fy)
        result.sentences[fy] = ("。".join(key_numbers) + "。" if key_numbers else "") + tally_sentence(
            tally[tally["fiscal_year"] == fy])
    return result
