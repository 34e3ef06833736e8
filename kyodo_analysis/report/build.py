"""Build the activity-report directory: figures, the tables behind them, and index.html.

Everything is written into a staging folder beside the target and moved into place
only when the whole report succeeded (``io.atomic_directory``).
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from .. import chapter
from ..choices import (
    association_test, choice_counts, crosstab_with_intent, neutral_option, options_from_answers, survey_answers,
)
from .. import figures as plots
from ..export import atomic_directory, write_table
from ..figures.choices import MULTIPLE_NOTE, plot_question
from ..input.corrections import apply_corrections, find_corrections, load_corrections
from ..input.layout import NO_ANSWER
from ..input.survey import Survey, is_sample, load_questionnaires
from ..intent import intent_shares
from ..labels import to_japanese
from ..output_folder import check_replaceable, check_target, output_lock, shown, write_manifest
from ..quotes import select_quotes
from ..rules.load import load_rules
from ..rules.ruleset import RuleSet
from ..rules.tag import compare_groups, tag_comments, theme_shares, with_matched_words
from ..text.tokens import DEFAULT_EXCLUDE
from ..text.words import MIN_COMMENTS, WordData, word_data  # noqa: F401  (WordData is part of this module's API)
from .html import _FigureJob, render_index
from .specs import (
    FIGURES,
    INDEX,
    ReportError,
    ReportFigure,
    ReportResult,
    TABLES,
    _CLOUD_NAMES,
    _EDGE_LABELS,
    _pct,
    intent_key_numbers,
    network_key_numbers,
    period_stem,
    question_key_numbers,
    themes_key_numbers,
    trend_key_numbers,
    words_key_numbers,
)


class Stopwatch:
    """Collect wall-clock seconds per named stage, in the order the stages ran."""

    def __init__(self, report: Callable[[str, float], None] | None = None) -> None:
        self.timings: dict[str, float] = {}
        self._report = report

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as stage ``name`` (added up if run again)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.timings[name] = self.timings.get(name, 0.0) + elapsed
            if self._report:
                self._report(name, elapsed)


# Jobs hold closures, which cannot be pickled: forked workers inherit this list instead.
_JOBS: list[tuple[_FigureJob, Path, tuple[str, ...]]] = []


def _render(index: int) -> tuple[list[Path], float]:
    """Draw, save and close job ``index`` of ``_JOBS``; return its files and seconds taken."""
    job, stem, formats = _JOBS[index]
    start = time.perf_counter()
    fig = job.make()
    try:
        written = plots.save_figure(fig, stem, formats=formats)
    finally:
        fig.clear()
    return written, time.perf_counter() - start


def default_processes() -> int:
    """Use up to two worker processes where fork exists (figures are independent)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def _default_sigterm() -> None:
    """Give a forked worker the default SIGTERM again.

    The CLI turns SIGTERM into an exception in its own process; a worker that inherited
    that Python-level handler cannot run it while blocked in C on the pool's queue, so
    ``Pool.terminate()`` (called on every pool exit) would wait on it forever.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class _Writer:
    """Write tables at once and figures in one batch into the staging folder."""

    def __init__(self, root: Path, formats: Sequence[str], watch: Stopwatch) -> None:
        self.root = root
        self.formats = tuple(formats)
        self.watch = watch
        self.jobs: list[_FigureJob] = []
        self.figures: list[ReportFigure] = []
        self.tables: list[Path] = []

    def table(self, frame: pd.DataFrame, name: str, labels: dict[str, str] | None = None) -> list[Path]:
        """Write ``frame`` with Japanese column names as CSV and .xlsx; return relative paths."""
        with self.watch.stage("表の書き出し"):
            japanese = to_japanese(frame.rename(columns=labels or {}))
            written = write_table(japanese, self.root / TABLES / name)
        rel = sorted(p.relative_to(self.root) for p in written)
        self.tables += rel
        return rel

    def figure(self, name: str, title: str, caption: str, make: Callable[[], Figure],
               key_numbers: list[str], tables: list[Path], *, cost: float = 1.0) -> None:
        """Queue one figure (``cost``: rough relative drawing time); ``render`` draws them all."""
        self.jobs.append(_FigureJob(name, title, caption, make, key_numbers, tables, cost))

    def render(self, processes: int) -> None:
        """Draw and save every queued figure, in worker processes when allowed."""
        global _JOBS
        _JOBS = [(job, self.root / FIGURES / job.name, self.formats) for job in self.jobs]
        try:
            with self.watch.stage("図（全体の経過時間）"):
                if processes > 1 and len(_JOBS) > 1:
                    plots.warm_up()  # each worker would otherwise parse the 4 MB font itself
                    # Costliest first, so no worker is left alone with a big figure at the end.
                    order = sorted(range(len(_JOBS)), key=lambda i: -self.jobs[i].cost)
                    with multiprocessing.get_context("fork").Pool(processes, initializer=_default_sigterm) as pool:
                        done = dict(zip(order, pool.imap(_render, order, chunksize=1)))
                    results = [done[i] for i in range(len(_JOBS))]
                else:
                    results = [_render(i) for i in range(len(_JOBS))]
        finally:
            _JOBS = []
        for job, (written, seconds) in zip(self.jobs, results):
            self.watch.timings[f"図: {job.name}"] = seconds
            self.figures.append(ReportFigure(job.name, job.title, job.caption, job.key_numbers,
                                             [p.relative_to(self.root) for p in written], job.tables))


def build_report(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    year: int | None = None,
    themes: RuleSet | str | os.PathLike[str] | None = None,
    exclude_words: Sequence[str] = DEFAULT_EXCLUDE,
    formats: Sequence[str] = ("png", "svg", "pdf"),
    survey_title: str = plots.SURVEY,
    network_words: int = 60,
    network_min_jaccard: float = 0.1,
    processes: int | None = None,
    on_stage: Callable[[str, float], None] | None = None,
    survey: Survey | None = None,
    corrections: Sequence[str | os.PathLike[str]] | None = None,
    chapter_year: int | None = None,
) -> ReportResult:
    """Load questionnaires and write the whole report folder (figures, tables, index.html).

    ``survey`` is the already loaded ``paths``, so a caller that validated them first
    (the ``report`` command) does not read and decrypt every file twice. ``corrections``
    lists theme corrections files; ``None`` uses ``theme_corrections.xlsx`` beside the inputs.
    """
    out_dir = Path(out_dir)
    check_target(out_dir)
    # One run at a time per folder: a second one is refused plainly, never half-written.
    with output_lock(out_dir):
        return _build_report(
            [Path(p) for p in paths], out_dir, year=year, themes=themes, exclude_words=exclude_words,
            formats=formats, survey_title=survey_title, network_words=network_words,
            network_min_jaccard=network_min_jaccard, processes=processes, on_stage=on_stage, survey=survey,
            corrections=corrections, chapter_year=chapter_year)


def _build_report(
    paths: list[Path],
    out_dir: Path,
    *,
    year: int | None,
    themes: RuleSet | str | os.PathLike[str] | None,
    exclude_words: Sequence[str],
    formats: Sequence[str],
    survey_title: str,
    network_words: int,
    network_min_jaccard: float,
    processes: int | None,
    on_stage: Callable[[str, float], None] | None,
    survey: Survey | None,
    corrections: Sequence[str | os.PathLike[str]] | None,
    chapter_year: int | None = None,
) -> ReportResult:
    check_replaceable(out_dir)
    watch = Stopwatch(on_stage)
    with watch.stage("読み込み"):
        survey = load_questionnaires(paths, year=year) if survey is None else survey
        rules = themes if isinstance(themes, RuleSet) else load_rules(themes)
    respondents = survey.respondents.dropna(subset=["fiscal_year"])
    comments = _printable_places(survey.comments.dropna(subset=["fiscal_year"]))
    years = sorted(int(y) for y in respondents["fiscal_year"].unique())
    if not years:
        raise ReportError("回答者が 1 人もいないため、報告書を作れません。")
    period = period_stem(years)
    notes = list(survey.notes)
    # --chapter-year must be loaded; else --year when it is, else the latest year.
    chapter_fy = chapter.chapter_year(years, chapter_year if chapter_year is not None
                                      else year if year in years else None)

    workers = default_processes() if processes is None else processes
    with watch.stage("テーマ判定"):
        # Comments not yet in the token cache are tokenised and tagged on every core.
        tagged = tag_comments(comments, rules=rules, processes=workers)
        fixed = apply_corrections(
            tagged, load_corrections(find_corrections(paths) if corrections is None else corrections,
                                     themes=rules.names), themes=rules.names)
        tagged = fixed.tagged
        notes += fixed.notes
    with watch.stage("語の集計"):
        words = word_data(comments, exclude=exclude_words)
        freq = words.frequencies
        edges = plots.cooccurrence(words.documents, top_n=network_words, min_jaccard=network_min_jaccard)

    with atomic_directory(out_dir) as root:
        out = _Writer(root, formats, watch)
        shares = intent_shares(respondents)
        for fy in years:
            part = shares[shares["fiscal_year"] == fy]
            out.figure(
                f"{fy}_intent_by_group", f"{fy}年度 協働したいと思いますか（区分別）",
                "「思う／どちらとも言えない／思わない」の割合。割合の分母は無回答を除いた回答者数です。",
                lambda part=part, fy=fy: plots.plot_intent_by_group(part, fiscal_year=fy, survey=survey_title),
                intent_key_numbers(part), out.table(part, f"{fy}_intent_by_group"),
            )
        if len(years) >= 2:
            out.figure(
                f"{period}_intent_by_group_years", "協働したいと思いますか（年度別の比較）",
                "各年度の区分別の割合を横に並べたものです。",
                lambda: plots.plot_intent_by_group_years(shares, survey=survey_title),
                [f"{fy}年度 {line}" for fy in years for line in intent_key_numbers(shares[shares["fiscal_year"] == fy])],
                out.table(shares, f"{period}_intent_by_group_years"), cost=len(years),
            )
            trend = shares[shares["answer"].astype(str) == "思う"]
            out.figure(
                f"{period}_intent_trend", "「思う」の割合の推移",
                "年度ごとの「思う」の割合と95%信頼区間（Wilson法）。人数の少ない年度は区間が広くなります。",
                lambda: plots.plot_intent_trend(shares, survey=survey_title),
                trend_key_numbers(trend), out.table(trend, f"{period}_intent_trend"),
            )
        else:
            notes.append("年度が 1 つだけのため、推移の図と年度別の比較は作っていません。")

        if len(survey.choices):
            _choice_section(out, survey.choices.dropna(subset=["fiscal_year"]), respondents, years, survey_title)

        comparison = None
        if len(tagged):
            comparison = compare_groups(tagged, themes=rules.names)
            out.figure(
                f"{period}_themes_by_group", "コメントに現れるテーマ（市民と職員）",
                "テーマに触れたコメントの割合。* は Fisher の正確検定で p<0.05 のテーマです"
                "（テーマが多く人数も少ないので、差の目安として読んでください）。" + _others_note(tagged),
                lambda: plots.plot_themes_by_group(comparison, years=years, survey=survey_title),
                themes_key_numbers(comparison), out.table(comparison, f"{period}_themes_by_group"),
            )
            freq_table = out.table(_with_total(freq), f"{period}_word_frequencies")
            for group in ("市民", "職員", plots.TOTAL):
                n = len(comments) if group == plots.TOTAL else int((comments["group"].astype(str) == group).sum())
                if not n:
                    continue
                out.figure(
                    f"{period}_wordcloud_{_CLOUD_NAMES[group]}", f"よく出る語（{group}）",
                    "文字の大きさが出現回数を表します。" + (f"「{'・'.join(exclude_words)}」と" if exclude_words else "")
                    + f"ストップワード、記号・数字、人名や連絡先、{MIN_COMMENTS} 件未満の記述にしか出ない語は除いています。",
                    lambda group=group, n=n: plots.plot_wordcloud(
                        freq, group=None if group == plots.TOTAL else group, years=years, n_comments=n,
                        exclude=exclude_words, survey=survey_title),
                    words_key_numbers(plots.word_counts(freq, group=None if group == plots.TOTAL else group)),
                    freq_table, cost=2.5,
                )
            max_edges = 60
            out.figure(
                f"{period}_cooccurrence_network", "語の共起ネットワーク",
                f"同じコメントに出る頻出語（上位 {network_words} 語）を、Jaccard 係数 "
                f"{network_min_jaccard} 以上で結んだものです。",
                lambda: plots.plot_cooccurrence(edges, years=years, n_comments=len(comments),
                                                max_edges=max_edges, survey=survey_title),
                network_key_numbers(edges, max_edges), out.table(edges, f"{period}_cooccurrence", _EDGE_LABELS),
            )
            by_question = theme_shares(tagged, by=("question",), themes=rules.names)
            out.figure(
                f"{period}_themes_by_question", "設問別にみたテーマ",
                "「理由」「講演」「ワークショップ」の各設問のコメントに、どのテーマが現れたか。",
                lambda: plots.plot_themes_by_question(
                    by_question, years=years, order=plots.order_themes_by_share(comparison)["theme"].tolist(),
                    survey=survey_title),
                question_key_numbers(by_question), out.table(by_question, f"{period}_themes_by_question"),
            )
        else:
            notes.append("自由記述がないため、テーマと語の図は作っていません。")

        extra = _quotes_table(out, with_matched_words(tagged, rules=rules), period)
        if fixed.count:
            extra.append(("テーマの手作業の修正", out.table(fixed.applied, f"{period}_theme_corrections")))
        out.render(workers)
        with watch.stage("Word"):
            _write_chapter(root, out.figures, respondents=respondents, tagged=tagged, shares=shares,
                           comparison=comparison, years=years, year=chapter_fy, workshop=survey_title, period=period)
        with watch.stage("index.html"):
            counts = (f"{plots.years_label(years)}・回答者 {len(respondents)}人・"
                      f"自由記述 {len(comments)}件・手作業で修正したテーマ {fixed.count}件")
            page = render_index(
                out.figures, title=f"{survey_title} 集計結果（{plots.years_label(years)}）",
                sources=[shown(p.name) for p in paths], counts=counts, notes=notes,
                problems=survey.problems, extra_tables=extra, invented=all(is_sample(p) for p in paths),
                document=chapter.DOCX_NAME,
            )
            # A name that is not UTF-8 (in a problem message) is written escaped, never a crash.
            (root / INDEX).write_text(page, encoding="utf-8", errors="backslashreplace")
        figures, tables = out.figures, out.tables
        # What this run wrote, so the next run knows what it may replace.
        write_manifest(root, sorted({p for f in figures for p in f.files} | set(tables)
                                    | {Path(INDEX), Path(chapter.DOCX_NAME)}))
        check_replaceable(out_dir)  # nothing added to the old folder while this run worked
    return ReportResult(out_dir, out_dir / INDEX, figures, tables, list(survey.problems), notes, watch.timings,
                        document=Path(chapter.DOCX_NAME))


def _write_chapter(root: Path, figures: Sequence[object], *, respondents: pd.DataFrame, tagged: pd.DataFrame,
                   shares: pd.DataFrame, comparison: pd.DataFrame | None, years: list[int], year: int,
                   workshop: str, period: str) -> Path:
    """The report's one hook into the Word chapter: write ``report.docx`` from what was counted."""
    pngs = {f.name: root / p for f in figures for p in f.files if p.suffix == ".png"}
    wanted = {"intent": f"{year}_intent_by_group", "themes": f"{period}_themes_by_group",
              "trend": f"{period}_intent_trend"}
    files = {role: pngs[name] for role, name in wanted.items() if name in pngs}
    titles = {role: f.title for f in figures for role, name in wanted.items() if f.name == name}
    data = chapter.chapter_from_report(respondents=respondents, tagged=tagged, shares=shares,
                                       comparison=comparison, figure_files=files, years=years, year=year,
                                       workshop=workshop)
    data.figure_titles = titles
    # The codebook's rating and choice questions of that year: each figure with its key numbers.
    data.extra_sections = [
        chapter.ExtraSection(f.title, "。".join(f.key_numbers) + "。" if f.key_numbers else "", pngs.get(f.name))
        for f in figures if f.name.startswith(f"{year}_question_")]
    return chapter.write_chapter(root / chapter.DOCX_NAME, data)


_TEST_NAMES = {"fisher_exact": "Fisherの正確検定", "monte_carlo_chi2": "モンテカルロ法による並べ替え検定", "none": "なし"}
_ROLE_TITLES = {"rating": "評価", "single_choice": "選択", "attribute": "属性", "multiple_choice": "複数回答"}


def choice_key_numbers(counts: pd.DataFrame) -> list[str]:
    """One line per 区分: the most chosen option of a question, its share and n."""
    lines = []
    answered = counts[(counts["option"] != NO_ANSWER) & (counts["n"] > 0)]
    for group, part in answered.groupby("group", sort=False, observed=True):
        top = part.sort_values(["count", "order"], ascending=[False, True], kind="stable").iloc[0]
        lines.append(f"{group}: 最も多いのは「{top['option']}」{_pct(top['share'])}（n={int(top['n'])}）")
    return lines


def _choice_section(out: _Writer, choices: pd.DataFrame, respondents: pd.DataFrame, years: Sequence[int],
                    survey_title: str) -> None:
    """Figures and tables of the choice, rating and attribute questions, and their cross-tabs with 問1."""
    answers = survey_answers(choices)
    options = options_from_answers(answers)
    counts = choice_counts(answers, ("fiscal_year", "group"), options=options)
    questions = list(dict.fromkeys(answers.sort_values(["fiscal_year"], kind="stable")["question"]))
    intents = answers[["respondent", "intent"]].drop_duplicates("respondent")
    for fy in years:
        for number, question in enumerate(questions, start=1):
            part = counts[(counts["fiscal_year"] == fy) & (counts["question"] == question)]
            if part.empty:
                continue
            role = str(part["role"].iloc[0])
            stem = f"{fy}_question_{number:02d}"
            table = out.table(part, f"{stem}_by_group")
            question_options = options.loc[options["question"] == question, "option"].tolist()
            neutral = neutral_option(question_options) if role == "rating" else None
            caption = {
                "rating": "評価の割合（無回答を除く）。右が良い評価、左が悪い評価で、中間の選択肢は中央の縦線をまたいで描いています。",
                "multiple_choice": f"それぞれの選択肢を選んだ回答者の割合（無回答を除く）。{MULTIPLE_NOTE}。",
            }.get(role, "選択肢の割合（無回答を除く）。")
            year_answers = answers[answers["fiscal_year"] == fy]
            crosstab = crosstab_with_intent(year_answers, intents, question)
            key_numbers = choice_key_numbers(part)
            if crosstab.to_numpy().sum() > 0:
                test = association_test(crosstab)
                frame = crosstab.reset_index().rename(columns={question: "選択肢"})
                frame["検定"] = _TEST_NAMES[test.method]
                frame["p値"] = round(test.p_value, 4) if test.p_value == test.p_value else None
                table = table + out.table(frame, f"{stem}_by_intent")
                if test.p_value == test.p_value:
                    key_numbers.append(f"「協働したいと思いますか」との関連: p={test.p_value:.3f}（{_TEST_NAMES[test.method]}、n={test.n}）")
            out.figure(
                stem, f"{fy}年度 {question}（{_ROLE_TITLES.get(role, '選択')}・区分別）", caption,
                lambda part=part.drop(columns=["fiscal_year"]), neutral=neutral: plot_question(part, neutral=neutral),
                key_numbers, table,
            )


def _printable_places(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with file and sheet names escaped (bytes that are not UTF-8, control characters).

    They reach the quote table's 出典 column, and a CSV cannot hold a name that is not text.
    """
    frame = frame.copy()
    for column in ("file", "sheet"):
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: v if pd.isna(v) else shown(v))
    return frame


def _others_note(tagged: pd.DataFrame) -> str:
    """Say how many comments fall outside 市民/職員 and so outside the two-group comparison."""
    others = int((~tagged["group"].astype(str).isin(plots.GROUPS)).sum())
    return f"区分が「その他」（見学者など）のコメント {others} 件は、市民と職員の比較に含めていません。" if others else ""


def _with_total(freq: pd.DataFrame) -> pd.DataFrame:
    """Add 全体 rows (all groups summed) to a ``word_frequencies`` frame."""
    total = freq.groupby(["word", "pos"], observed=True, as_index=False)[["occurrences", "n_comments"]].sum()
    total.insert(0, "group", plots.TOTAL)
    total = total.sort_values(["occurrences", "word", "pos"], ascending=[False, True, True], kind="stable")
    return pd.concat([freq.astype({"group": "object"}), total], ignore_index=True)


def _quotes_table(out: _Writer, tagged: pd.DataFrame, period: str) -> list[tuple[str, list[Path]]]:
    """Write the representative quotes by theme (names masked by ``select_quotes``)."""
    with out.watch.stage("引用の選定"):
        chosen = select_quotes(tagged)
    return [("テーマ別の引用（氏名は伏せ字）", out.table(chosen, f"{period}_quotes_by_theme"))]

