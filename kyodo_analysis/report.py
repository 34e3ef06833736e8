"""Build the activity-report directory: figures, the tables behind them, and index.html.

Everything is written into a staging folder beside the target and moved into place
only when the whole report succeeded (``io.atomic_directory``).
"""
from __future__ import annotations

import html
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from . import plots
from .corrections import apply_corrections, find_corrections, load_corrections
from .intent import intent_shares
from .io import atomic_directory, write_table
from .labels import to_japanese
from .output_folder import GENERATOR, check_replaceable, check_target, output_lock, shown, write_manifest
from .questionnaire import Problem, Survey, is_sample, load_questionnaires
from .quotes import select_quotes
from .text import DEFAULT_EXCLUDE
from .themes import RuleSet, compare_groups, load_rules, tag_comments, theme_shares, with_matched_words
from .words import MIN_COMMENTS, WordData, word_data  # noqa: F401  (WordData is part of this module's API)

SAMPLE_BANNER = "架空のサンプルデータによる集計です"

FIGURES = "figures"
TABLES = "tables"
INDEX = "index.html"
# Column names of the tables only this module makes (the rest come from labels.py).
_EDGE_LABELS = {
    "source": "語1", "target": "語2", "weight": "Jaccard係数", "cooccurrences": "共起したコメント数",
    "source_count": "語1を含むコメント数", "target_count": "語2を含むコメント数",
}
_CLOUD_NAMES = {"市民": "citizens", "職員": "staff", plots.TOTAL: "all"}


class ReportError(ValueError):
    """The report cannot be made from this input or into this folder; the message says why, in Japanese."""


@dataclass
class ReportFigure:
    """One figure of the report with its files (relative to the report folder)."""

    name: str
    title: str
    caption: str
    key_numbers: list[str]
    files: list[Path]
    tables: list[Path]


@dataclass
class ReportResult:
    """What ``build_report`` wrote, what it found wrong in the input, and how long it took."""

    out_dir: Path
    index: Path
    figures: list[ReportFigure]
    tables: list[Path]
    problems: list[Problem]
    notes: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def files(self) -> list[Path]:
        """Return every file written, relative to ``out_dir``."""
        return sorted({p for f in self.figures for p in f.files} | set(self.tables) | {Path(INDEX)})

    def file_table(self) -> pd.DataFrame:
        """Return one row per written name (folder/stem) and how many files of each format it has."""
        written = pd.DataFrame({"name": [(p.parent / p.stem).as_posix() for p in self.files],
                                "format": [p.suffix.lstrip(".") for p in self.files]})
        formats = [f for f in ("png", "svg", "pdf", "csv", "xlsx", "html") if f in set(written["format"])]
        return pd.crosstab(written["name"], written["format"]).reindex(columns=formats, fill_value=0)


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


def period_stem(years: Sequence[int]) -> str:
    """Name the span of fiscal years for file names: ``2017`` or ``2015-2017``."""
    values = sorted(set(years))
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def _pct(value: float) -> str:
    return "—" if pd.isna(value) else f"{value * 100:.0f}%"


# --- key numbers shown beside each figure --------------------------------------------


def intent_key_numbers(shares: pd.DataFrame) -> list[str]:
    """Describe the 思う share per group: ``市民: 思う 74%（20/27人）``."""
    frame = shares[(shares["answer"].astype(str) == "思う") & shares["group"].astype(str).isin(plots.GROUPS)]
    lines = []
    for row in frame.itertuples(index=False):
        if int(row.n):
            lines.append(f"{row.group}: 「思う」{_pct(row.share)}（{int(row.count)}/{int(row.n)}人）")
    missing = shares.groupby("group", observed=True)["n_missing"].first()
    if plots.TOTAL in missing and int(missing[plots.TOTAL]):
        lines.append(f"無回答 {int(missing[plots.TOTAL])}人（割合から除外）")
    return lines


def trend_key_numbers(shares: pd.DataFrame) -> list[str]:
    """Describe the yearly 思う share of each group with its interval."""
    frame = shares[(shares["answer"].astype(str) == "思う") & shares["group"].astype(str).isin(plots.GROUPS)]
    lines = []
    for group, part in frame.groupby("group", observed=True, sort=True):
        steps = [f"{int(r.fiscal_year)}年度 {_pct(r.share)}（{_pct(r.ci_low)}〜{_pct(r.ci_high)}）"
                 for r in part.sort_values("fiscal_year").itertuples(index=False) if int(r.n)]
        lines.append(f"{group}: " + " → ".join(steps))
    return lines


def themes_key_numbers(comparison: pd.DataFrame, top: int = 3) -> list[str]:
    """Name the most frequent themes and those whose group difference the test flags."""
    ordered = plots.order_themes_by_share(comparison)
    lines = [
        f"{r.theme}: 市民 {_pct(r.citizens_share)}（{r.citizens_k}/{r.citizens_n}件）、"
        f"職員 {_pct(r.staff_share)}（{r.staff_k}/{r.staff_n}件）"
        for r in ordered.head(top).itertuples(index=False)
    ]
    flagged = ordered[ordered["indicative"].fillna(False).astype(bool)]
    if len(flagged):
        lines.append("差が示唆されたテーマ: " + "、".join(
            f"{r.theme}（p={r.p_value:.3f}）" for r in flagged.itertuples(index=False)))
    else:
        lines.append("市民と職員の差が示唆されたテーマはありません。")
    return lines


def words_key_numbers(counts: dict[str, int], top: int = 8) -> list[str]:
    """List the most frequent words with their counts."""
    if not counts:
        return ["語がありません。"]
    return ["よく出る語: " + "、".join(f"{w}（{c}）" for w, c in list(counts.items())[:top])]


def network_key_numbers(edges: pd.DataFrame, max_edges: int, top: int = 5) -> list[str]:
    """Summarise the network: words, links and the strongest pairs."""
    shown = edges.head(max_edges)
    if shown.empty:
        return ["共起する語の組み合わせが少ないため、ネットワークは描いていません。"]
    words = set(shown["source"]) | set(shown["target"])
    strongest = "、".join(f"{r.source}–{r.target}（{r.weight:.2f}）" for r in shown.head(top).itertuples(index=False))
    return [f"語 {len(words)} 個、つながり {len(shown)} 本", f"強い組み合わせ: {strongest}"]


def question_key_numbers(shares: pd.DataFrame) -> list[str]:
    """Name the most frequent theme of each question."""
    lines = []
    present = list(dict.fromkeys(shares["question"].astype(str)))
    order = [q for q in plots.QUESTIONS if q in present] + [q for q in present if q not in plots.QUESTIONS]
    for question in order:
        part = shares[shares["question"].astype(str) == question]
        best = part.sort_values(["share", "theme"], ascending=[False, True], kind="stable").iloc[0]
        if best["n_mentions"]:
            lines.append(f"{question}: 最多は「{best['theme']}」{_pct(best['share'])}"
                         f"（{int(best['n_mentions'])}/{int(best['n_comments'])}件）")
    return lines


# --- the page --------------------------------------------------------------------------

_STYLE = """
body { font-family: "Hiragino Sans", "Yu Gothic", "Meiryo", "IPAexGothic", sans-serif;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.6; }
figure { margin: 2.5rem 0; padding-top: 1rem; border-top: 1px solid #ccc; }
img { max-width: 100%; height: auto; }
figcaption h2 { font-size: 1.1rem; margin: 0.5rem 0; }
.files { font-size: 0.9rem; }
.note { background: #fff4e0; padding: 0.5rem 1rem; border-left: 4px solid #E69F00; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _link(path: Path, label: str) -> str:
    return f'<a href="{_e(path.as_posix())}">{_e(label)}</a>'


def render_index(
    figures: Sequence[ReportFigure],
    *,
    title: str,
    sources: Sequence[str],
    counts: str,
    notes: Sequence[str],
    problems: Sequence[Problem],
    extra_tables: Sequence[tuple[str, list[Path]]],
    invented: bool = False,
) -> str:
    """Return the self-contained Japanese index page (relative links only); ``invented`` marks sample data at the top."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="ja">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{GENERATOR}">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style></head>",
        "<body>",
        *([f'<p class="note"><strong>{SAMPLE_BANNER}</strong>（同梱の架空のサンプルだけから作りました。'
           "本番の集計ではありません）</p>"] if invented else []),
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(counts)}</p>",
        "<p>読み込んだファイル: " + "、".join(_e(s) for s in sources) + "</p>",
    ]
    if problems:
        parts.append('<div class="note"><p>入力データに問題があります（図表はそのまま作成しています）:</p><ul>')
        parts += [f"<li>{_e(p)}</li>" for p in problems]
        parts.append("</ul></div>")
    if notes:
        parts.append('<div class="note"><ul>' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul></div>")
    parts.append("<h2>目次</h2><ol>")
    parts += [f'<li><a href="#{_e(f.name)}">{_e(f.title)}</a></li>' for f in figures]
    parts.append("</ol>")
    for fig in figures:
        png = next((p for p in fig.files if p.suffix == ".png"), fig.files[0])
        downloads = " ".join(_link(p, p.suffix[1:].upper()) for p in fig.files)
        tables = " ".join(_link(p, p.name) for p in fig.tables)
        parts += [
            f'<figure id="{_e(fig.name)}">',
            f'<a href="{_e(png.as_posix())}"><img src="{_e(png.as_posix())}" alt="{_e(fig.title)}" loading="lazy"></a>',
            f"<figcaption><h2>{_e(fig.title)}</h2><p>{_e(fig.caption)}</p>",
            "<ul>" + "".join(f"<li>{_e(k)}</li>" for k in fig.key_numbers) + "</ul>",
            f'<p class="files">図: {downloads}' + (f"／表: {tables}" if tables else "") + "</p>",
            "</figcaption></figure>",
        ]
    if extra_tables:
        parts.append("<h2>そのほかの表</h2><ul>")
        for label, paths in extra_tables:
            parts.append(f"<li>{_e(label)}: " + " ".join(_link(p, p.name) for p in paths) + "</li>")
        parts.append("</ul>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


# --- building ------------------------------------------------------------------------------


@dataclass
class _FigureJob:
    name: str
    title: str
    caption: str
    make: Callable[[], Figure]
    key_numbers: list[str]
    tables: list[Path]
    cost: float = 1.0


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
            corrections=corrections)


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

    with watch.stage("テーマ判定"):
        tagged = tag_comments(comments, rules=rules)
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
        out.render(default_processes() if processes is None else processes)
        with watch.stage("index.html"):
            counts = (f"{plots.years_label(years)}・回答者 {len(respondents)}人・"
                      f"自由記述 {len(comments)}件・手作業で修正したテーマ {fixed.count}件")
            page = render_index(
                out.figures, title=f"{survey_title} 集計結果（{plots.years_label(years)}）",
                sources=[shown(p.name) for p in paths], counts=counts, notes=notes,
                problems=survey.problems, extra_tables=extra, invented=all(is_sample(p) for p in paths),
            )
            # A name that is not UTF-8 (in a problem message) is written escaped, never a crash.
            (root / INDEX).write_text(page, encoding="utf-8", errors="backslashreplace")
        figures, tables = out.figures, out.tables
        # What this run wrote, so the next run knows what it may replace.
        write_manifest(root, sorted({p for f in figures for p in f.files} | set(tables) | {Path(INDEX)}))
        check_replaceable(out_dir)  # nothing added to the old folder while this run worked
    return ReportResult(out_dir, out_dir / INDEX, figures, tables, list(survey.problems), notes, watch.timings)


_TEST_NAMES = {"fisher_exact": "Fisherの正確検定", "monte_carlo_chi2": "モンテカルロ法による並べ替え検定", "none": "なし"}
_ROLE_TITLES = {"rating": "評価", "single_choice": "選択", "attribute": "属性", "multiple_choice": "複数回答"}


def choice_key_numbers(counts: pd.DataFrame) -> list[str]:
    """One line per 区分: the most chosen option of a question, its share and n."""
    lines = []
    answered = counts[(counts["option"] != "無回答") & (counts["n"] > 0)]
    for group, part in answered.groupby("group", sort=False, observed=True):
        top = part.sort_values(["count", "order"], ascending=[False, True], kind="stable").iloc[0]
        lines.append(f"{group}: 最も多いのは「{top['option']}」{_pct(top['share'])}（n={int(top['n'])}）")
    return lines


def _choice_section(out: _Writer, choices: pd.DataFrame, respondents: pd.DataFrame, years: Sequence[int],
                    survey_title: str) -> None:
    """Figures and tables of the choice, rating and attribute questions, and their cross-tabs with 問1."""
    from .choice_plots import MULTIPLE_NOTE, plot_question
    from .choices import (
        association_test, choice_counts, crosstab_with_intent, neutral_option, options_from_answers, survey_answers,
    )

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
