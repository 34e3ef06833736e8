"""The report is a declared list of figures: a new figure is one FigureSpec plus its draw function."""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from workbooks import CANONICAL_HEADER, write_csv

from kyodo_analysis import figures as plots
from kyodo_analysis.report import build, sections
from kyodo_analysis.report.specs import FigureSpec, TableSpec


def respondent_counts(respondents: pd.DataFrame) -> pd.DataFrame:
    """Count respondents per fiscal year and group (the example figure's numbers)."""
    return (respondents.groupby(["fiscal_year", "group"], observed=True).size()
            .rename("count").reset_index())


@plots.styled
def draw_respondents(counts: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Draw respondents per group as bars (axes-level: draws on ``ax`` or a new figure's)."""
    if ax is None:
        ax = _new_axes()
    ax.bar(counts["group"].astype(str), counts["count"], color=[plots.GROUP_COLORS[g] for g in counts["group"]])
    ax.set_ylabel("回答者数")
    return ax


def _new_axes() -> Axes:
    return Figure(figsize=(4, 3)).subplots()


def respondents_section(ctx: sections.ReportContext) -> list[FigureSpec]:
    """The example section: one figure per year of how many answered, per group."""
    return [FigureSpec(
        f"{fy}_respondents", f"{fy}年度 回答者数（区分別）", "区分ごとの回答者数です。",
        count=lambda fy=fy: respondent_counts(ctx.respondents[ctx.respondents["fiscal_year"] == fy]),
        draw=draw_respondents,
        key_numbers=lambda data: [f"{r.group}: {r.count}人" for r in data.itertuples(index=False)],
    ) for fy in ctx.years]


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("raw")
    rows = [(i, "市民" if i % 3 else "職員", "団体", ("思う", "思わない")[i % 2], f"対話の場が大切だと思った {i}", None)
            for i in range(1, 10)]
    return [write_csv(folder / "2017.csv", [CANONICAL_HEADER, *rows])]


def test_a_section_of_specs_adds_its_figures_tables_and_key_numbers(raw, tmp_path, monkeypatch):
    monkeypatch.setattr(build, "SECTIONS", (*sections.SECTIONS, respondents_section))  # the only change
    result = build.build_report(raw, tmp_path / "out", formats=("png",), processes=1)
    figure = result.figures[-1]
    assert (figure.name, figure.title) == ("2017_respondents", "2017年度 回答者数（区分別）")
    assert figure.key_numbers == ["市民: 6人", "職員: 3人"]
    assert [p.as_posix() for p in figure.files] == ["figures/2017_respondents.png"]
    assert (tmp_path / "out" / figure.files[0]).read_bytes().startswith(b"\x89PNG")
    table = next(p for p in figure.tables if p.suffix == ".csv")
    with open(tmp_path / "out" / table, encoding="utf-8-sig", newline="") as f:
        assert [row[1:] for row in csv.reader(f)] == [["区分", "人数"], ["市民", "6"], ["職員", "3"]]
    assert "2017年度 回答者数（区分別）" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


def test_every_figure_of_the_report_is_a_spec_of_a_section(raw, tmp_path):
    result = build.build_report(raw, tmp_path / "out", formats=("png",), processes=1)
    names = [f.name for f in result.figures]
    assert names[0] == "2017_intent_by_group" and "2017_themes_by_group" in names
    # The sections' specs for the same inputs: the report draws exactly those, in order.
    ctx = _context(raw)
    assert [spec.name for section in sections.SECTIONS for spec in section(ctx)] == names


def test_a_table_shared_by_figures_is_written_once(raw, tmp_path):
    result = build.build_report(raw, tmp_path / "out", formats=("png",), processes=1)
    clouds = [f for f in result.figures if "_wordcloud_" in f.name]
    assert len(clouds) >= 2 and all(f.tables == clouds[0].tables for f in clouds)
    assert len(result.tables) == len(set(result.tables))


def test_a_spec_lists_its_counted_numbers_as_its_table_by_default():
    data = pd.DataFrame({"x": [1]})
    spec = FigureSpec("n", "t", "c", count=lambda: data, draw=lambda d: _new_axes())
    [table] = spec.tables_of(data)
    assert isinstance(table, TableSpec) and table.name == "n" and table.frame is data
    assert spec.key_numbers(data) == []


def _context(raw: list[Path]) -> sections.ReportContext:
    """The sections' input for ``raw``, counted the way build_report counts it."""
    from kyodo_analysis import intent_shares, load_questionnaires, load_rules, tag_comments, word_data
    from kyodo_analysis.rules.tag import compare_groups

    survey = load_questionnaires(raw)
    rules = load_rules()
    tagged = tag_comments(survey.comments, rules=rules)
    words = word_data(survey.comments)
    return sections.ReportContext(
        respondents=survey.respondents, comments=survey.comments, choices=survey.choices, tagged=tagged,
        shares=intent_shares(survey.respondents), comparison=compare_groups(tagged, themes=rules.names),
        rules=rules, years=[2017], period="2017", survey_title=plots.SURVEY, exclude=("協働",),
        frequencies=words.frequencies, edges=plots.cooccurrence(words.documents), network_words=60,
        network_min_jaccard=0.1)


def draw_and_note_what_the_worker_holds(counts: pd.DataFrame, *, note: str) -> Axes:
    """Draw the example figure, and write down which process drew it and what that process holds."""
    import json
    import os

    from kyodo_analysis.text import cache

    Path(note).write_text(json.dumps({"pid": os.getpid(), "tokens_in_memory": len(cache._memo)}), "utf-8")
    return draw_respondents(counts)


def test_figure_workers_are_forked_before_the_analysis_and_get_picklable_draws(raw, tmp_path, monkeypatch):
    # A worker forked at the end would be a copy of the whole analysis (the run's tokens,
    # janome, scipy): forked first, it holds none of it, and its figure still comes out whole.
    import json
    import os
    from functools import partial

    note = tmp_path / "worker.json"

    def noted_section(ctx: sections.ReportContext) -> list[FigureSpec]:
        return [FigureSpec("noted", "回答者数", "区分ごとの回答者数です。",
                           count=lambda: respondent_counts(ctx.respondents),
                           draw=partial(draw_and_note_what_the_worker_holds, note=str(note)))]

    monkeypatch.setattr(build, "SECTIONS", (*sections.SECTIONS, noted_section))
    result = build.build_report(raw, tmp_path / "out", formats=("png",), processes=2)
    seen = json.loads(note.read_text("utf-8"))
    assert seen["pid"] != os.getpid()
    assert seen["tokens_in_memory"] == 0
    from kyodo_analysis.text import cache
    assert len(cache._memo) > 0  # the parent read the comments' tokens after the workers were forked
    assert (tmp_path / "out" / result.figures[-1].files[0]).read_bytes().startswith(b"\x89PNG")


def test_a_draw_that_cannot_be_pickled_is_drawn_in_the_main_process(raw, tmp_path, monkeypatch):
    def lambda_section(ctx: sections.ReportContext) -> list[FigureSpec]:
        return [FigureSpec("by_lambda", "回答者数", "区分ごとの回答者数です。",
                           count=lambda: respondent_counts(ctx.respondents),
                           draw=lambda counts: draw_respondents(counts))]

    monkeypatch.setattr(build, "SECTIONS", (*sections.SECTIONS, lambda_section))
    result = build.build_report(raw, tmp_path / "out", formats=("png",), processes=2)
    assert result.figures[-1].name == "by_lambda"
    assert (tmp_path / "out" / result.figures[-1].files[0]).read_bytes().startswith(b"\x89PNG")
