"""Build the activity-report directory: figures, the tables behind them, and index.html.

Everything is written into a staging folder beside the target and moved into place
only when the whole report succeeded (``io.atomic_directory``).
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.pool import Pool
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import chapter
from .. import figures as plots
from ..config import FIGURE_FORMATS, default_processes  # noqa: F401  (report.build.default_processes is used by callers)
from ..export import atomic_directory, write_table
from ..input.corrections import apply_corrections, find_corrections, load_corrections
from ..input.survey import Survey, is_sample, load_questionnaires
from ..intent import intent_shares
from ..labels import to_japanese
from ..output_folder import check_replaceable, check_target, output_lock, shown, write_manifest
from ..quotes import select_quotes
from ..rules.load import load_rules
from ..rules.ruleset import RuleSet
from ..rules.tag import compare_groups, tag_comments
from ..text.tokens import DEFAULT_EXCLUDE
from ..text.words import WordData, word_data  # noqa: F401  (WordData is part of this module's API)
from .html import render_index
from ..group_work import group_statements
from .sections import SECTIONS, ReportContext
from .specs import (
    FIGURES,
    INDEX,
    FigureSpec,
    ReportError,
    ReportFigure,
    ReportResult,
    TABLES,
    period_stem,
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


@dataclass
class _FigureJob:
    """One queued figure: what to draw it from, and what index.html says beside it."""

    name: str
    title: str
    caption: str
    draw: Callable[[pd.DataFrame], Figure | Axes]  # picklable: a module function or a partial of one
    data: pd.DataFrame
    key_numbers: list[str]
    tables: list[Path]
    cost: float = 1.0


def _render(draw: Callable[[pd.DataFrame], Figure | Axes], data: pd.DataFrame, stem: Path,
            formats: tuple[str, ...]) -> tuple[list[Path], float]:
    """Draw, save and close one figure; return its files and the seconds taken."""
    start = time.perf_counter()
    fig = _figure_of(draw(data))
    try:
        written = plots.save_figure(fig, stem, formats=formats)
    finally:
        fig.clear()
    return written, time.perf_counter() - start


def _render_job(args: tuple) -> tuple[list[Path], float]:
    return _render(*args)


def _picklable(draw: object) -> bool:
    try:
        pickle.dumps(draw)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def _figure_of(drawn: Figure | Axes) -> Figure:
    """The Figure to save: a figure-level plot's own, or the one an axes-level draw function drew on."""
    return drawn if isinstance(drawn, Figure) else drawn.get_figure()


@contextmanager
def _figure_workers(processes: int) -> Iterator[Pool | None]:
    """Fork the figure workers now, while this process holds little more than its imports.

    Each worker is a copy of this process at the moment it is forked: forked before the
    questionnaires, janome and scipy are loaded, a worker drawing a 300-dpi word cloud
    stays far below what it would reach as a copy of the finished analysis. Jobs reach
    the workers pickled (a draw function and its table). All are forked here, from the
    calling thread: a pool that replaced workers (maxtasksperchild) would fork from its
    handler thread, which can hang when another thread holds a lock.
    """
    if processes <= 1:
        yield None
        return
    plots.warm_up()  # the workers inherit the parsed font instead of each parsing it
    with multiprocessing.get_context("fork").Pool(processes, initializer=_default_sigterm) as pool:
        yield pool


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
        self._written: dict[str, list[Path]] = {}

    def add(self, spec: FigureSpec) -> None:
        """Count one declared figure, write its tables (each name once) and queue its drawing."""
        data = spec.count()
        tables = [p for t in spec.tables_of(data) for p in self.table(t.frame, t.name, t.labels)]
        self.figure(spec.name, spec.title, spec.caption, spec.draw, data, spec.key_numbers(data), tables,
                    cost=spec.cost)

    def table(self, frame: pd.DataFrame, name: str, labels: Mapping[str, str] | None = None) -> list[Path]:
        """Write ``frame`` with Japanese column names as CSV and .xlsx; return relative paths.

        A table several figures share (the word frequencies) is written once, by the first.
        """
        if name in self._written:
            return self._written[name]
        with self.watch.stage("表の書き出し"):
            japanese = to_japanese(frame.rename(columns=labels or {}))
            written = write_table(japanese, self.root / TABLES / name)
        rel = sorted(p.relative_to(self.root) for p in written)
        self.tables += rel
        self._written[name] = rel
        return rel

    def figure(self, name: str, title: str, caption: str, draw: Callable[[pd.DataFrame], Figure | Axes],
               data: pd.DataFrame, key_numbers: list[str], tables: list[Path], *, cost: float = 1.0) -> None:
        """Queue one figure (``cost``: rough relative drawing time); ``render`` draws them all."""
        self.jobs.append(_FigureJob(name, title, caption, draw, data, key_numbers, tables, cost))

    def render(self, pool: Pool | None) -> None:
        """Draw and save every queued figure, in the worker processes of ``pool`` when there is one."""
        work = [(job.draw, job.data, self.root / FIGURES / job.name, self.formats) for job in self.jobs]
        with self.watch.stage("図（全体の経過時間）"):
            # Costliest first, so no worker is left alone with a big figure at the end. A draw
            # function that cannot be pickled (a lambda of a user's own section) is drawn here.
            sent = ([] if pool is None or len(work) < 2 else
                    sorted((i for i in range(len(work)) if _picklable(work[i][0])), key=lambda i: -self.jobs[i].cost))
            done = dict(zip(sent, pool.imap(_render_job, [work[i] for i in sent], chunksize=1))) if sent else {}
            done.update((i, _render(*work[i])) for i in range(len(work)) if i not in done)
            results = [done[i] for i in range(len(work))]
        for job, (written, seconds) in zip(self.jobs, results):
            self.watch.timings[f"図: {job.name}"] = seconds
            self.figures.append(ReportFigure(job.name, job.title, job.caption, job.key_numbers,
                                             [p.relative_to(self.root) for p in written], job.tables))


def build_report(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    year: int | None = None,
    rules: RuleSet | str | os.PathLike[str] | None = None,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    formats: Sequence[str] = FIGURE_FORMATS,
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
    if FIGURE_FORMATS[0] not in formats or not set(formats) <= set(FIGURE_FORMATS):
        # index.html and the Word chapter show the PNG of each figure.
        raise ReportError(f"図の形式 {'・'.join(formats) or '（なし）'} は使えません。"
                          f"{'・'.join(FIGURE_FORMATS)} から選び、{FIGURE_FORMATS[0]} は必ず含めてください。")
    out_dir = Path(out_dir)
    check_target(out_dir)
    # One run at a time per folder: a second one is refused plainly, never half-written.
    with output_lock(out_dir):
        return _build_report(
            [Path(p) for p in paths], out_dir, year=year, rules=rules, exclude=exclude,
            formats=formats, survey_title=survey_title, network_words=network_words,
            network_min_jaccard=network_min_jaccard, processes=processes, on_stage=on_stage, survey=survey,
            corrections=corrections, chapter_year=chapter_year)


def _build_report(
    paths: list[Path],
    out_dir: Path,
    *,
    year: int | None,
    rules: RuleSet | str | os.PathLike[str] | None,
    exclude: Sequence[str],
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
    workers = default_processes() if processes is None else processes
    with _figure_workers(workers) as figure_pool:
        with watch.stage("読み込み"):
            survey = load_questionnaires(paths, year=year) if survey is None else survey
            rules = rules if isinstance(rules, RuleSet) else load_rules(rules)
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

        with watch.stage("テーマ判定"):
            # Comments not yet in the token cache are tokenised and tagged on every core.
            tagged = tag_comments(comments, rules=rules, processes=workers)
            fixed = apply_corrections(
                tagged, load_corrections(find_corrections(paths) if corrections is None else corrections,
                                         themes=rules.names), themes=rules.names)
            tagged = fixed.tagged
            notes += fixed.notes
        with watch.stage("語の集計"):
            words = word_data(comments, exclude=exclude)
            edges = plots.cooccurrence(words.documents, top_n=network_words, min_jaccard=network_min_jaccard)
        shares = intent_shares(respondents)
        comparison = compare_groups(tagged, themes=rules.names) if len(tagged) else None

        with atomic_directory(out_dir) as root:
            out = _Writer(root, formats, watch)
            ctx = ReportContext(
                respondents=respondents, comments=comments, choices=survey.choices, tagged=tagged, shares=shares,
                comparison=comparison, rules=rules, years=years, period=period, survey_title=survey_title,
                exclude=exclude, frequencies=words.frequencies, edges=edges, network_words=network_words,
                network_min_jaccard=network_min_jaccard, notes=notes, groups=survey.groups,
                statements=_printable_places(survey.statements))
            for section in SECTIONS:
                for spec in section(ctx):
                    out.add(spec)

            extra = _quotes_table(out, tagged, rules, period)
            if fixed.count:
                extra.append(("テーマの手作業の修正", out.table(fixed.applied, f"{period}_theme_corrections")))
            out.render(figure_pool)
            with watch.stage("Word"):
                _write_chapter(root, out.figures, respondents=respondents, tagged=tagged, shares=shares,
                               comparison=comparison, years=years, year=chapter_fy, workshop=survey_title, period=period,
                               statements=survey.statements)
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
                   workshop: str, period: str, statements: pd.DataFrame) -> Path:
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
    # The year's group worksheets: their figure, its key numbers, and every group's statements (masked).
    work = next((f for f in figures if f.name == f"{year}_group_ask_offer"), None)
    if work is not None:
        data.group_work = chapter.GroupWorkSection(work.title, "。".join(work.key_numbers) + "。", pngs.get(work.name),
                                                   group_statements(statements, year))
    return chapter.write_chapter(root / chapter.DOCX_NAME, data)


def _printable_places(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with file and sheet names escaped (bytes that are not UTF-8, control characters).

    They reach the quote table's 出典 column, and a CSV cannot hold a name that is not text.
    """
    frame = frame.copy()
    for column in ("file", "sheet"):
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: v if pd.isna(v) else shown(v))
    return frame


def _quotes_table(out: _Writer, tagged: pd.DataFrame, rules: RuleSet, period: str) -> list[tuple[str, list[Path]]]:
    """Write the representative quotes by theme (names masked by ``select_quotes``)."""
    with out.watch.stage("引用の選定"):
        chosen = select_quotes(tagged, theme_rules=rules)
    return [("テーマ別の引用（氏名は伏せ字）", out.table(chosen, f"{period}_quotes_by_theme"))]

