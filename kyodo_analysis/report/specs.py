"""What the report shows: its result types and the key numbers quoted beside each figure."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import figures as plots
from ..errors import KyodoError
from ..input.layout import CITIZENS, NO_ANSWER, POSITIVE_ANSWER, STAFF
from ..input.survey import Problem
from ..input.worksheets import default_worksheet_rules

SAMPLE_BANNER = "架空のサンプルデータによる集計です"

FIGURES = "figures"
TABLES = "tables"
INDEX = "index.html"
# Column names of the tables only this module makes (the rest come from labels.py).
_EDGE_LABELS = {
    "source": "語1", "target": "語2", "weight": "Jaccard係数", "cooccurrences": "共起したコメント数",
    "source_count": "語1を含むコメント数", "target_count": "語2を含むコメント数",
}
_CLOUD_NAMES = {CITIZENS: "citizens", STAFF: "staff", plots.TOTAL: "all"}


class ReportError(KyodoError, ValueError):
    """The report cannot be made from this input or into this folder; the message says why, in Japanese."""

    code = "report"


@dataclass(frozen=True)
class TableSpec:
    """One table behind a figure: written as ``tables/<name>.csv`` and ``.xlsx`` with Japanese columns."""

    name: str
    frame: pd.DataFrame
    labels: Mapping[str, str] | None = None  # column names beyond labels.COLUMN_LABELS


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report, declared: adding a figure is one of these plus its draw function.

    ``count`` returns the tidy numbers the figure shows; ``draw`` draws exactly those numbers,
    either axes-level (``draw_x(data, *, ax=None) -> Axes``) or as a whole Figure; ``key_numbers``
    turns them into the lines shown beside the figure; ``tables`` lists the tables written with
    it (by default the counted numbers under the figure's name). ``cost`` is the rough relative
    drawing time, so the slowest figures start first. ``draw`` is sent to a worker process
    pickled, so a module-level function or a ``functools.partial`` of one is drawn in
    parallel; any other callable (a lambda) is drawn in the main process.
    """

    name: str  # file stem: 2017_intent_by_group
    title: str
    caption: str
    count: Callable[[], pd.DataFrame]
    draw: Callable[[pd.DataFrame], Figure | Axes]
    key_numbers: Callable[[pd.DataFrame], list[str]] = lambda data: []
    tables: Callable[[pd.DataFrame], Sequence[TableSpec]] | None = None
    cost: float = 1.0

    def tables_of(self, data: pd.DataFrame) -> Sequence[TableSpec]:
        """The tables written with the figure, given its counted numbers."""
        return self.tables(data) if self.tables is not None else [TableSpec(self.name, data)]


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
    document: Path | None = None  # the Word chapter, relative to out_dir

    @property
    def files(self) -> list[Path]:
        """Return every file written, relative to ``out_dir``."""
        return sorted({p for f in self.figures for p in f.files} | set(self.tables) | {Path(INDEX)}
                      | ({self.document} if self.document else set()))

    def file_table(self) -> pd.DataFrame:
        """Return one row per written name (folder/stem) and how many files of each format it has."""
        written = pd.DataFrame({"name": [(p.parent / p.stem).as_posix() for p in self.files],
                                "format": [p.suffix.lstrip(".") for p in self.files]})
        formats = [f for f in ("png", "svg", "pdf", "csv", "xlsx", "html", "docx") if f in set(written["format"])]
        return pd.crosstab(written["name"], written["format"]).reindex(columns=formats, fill_value=0)


def period_stem(years: Sequence[int]) -> str:
    """Name the span of fiscal years for file names: ``2017`` or ``2015-2017``."""
    values = sorted(set(years))
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def _pct(value: float) -> str:
    return "—" if pd.isna(value) else f"{value * 100:.0f}%"


# --- key numbers shown beside each figure --------------------------------------------


def intent_key_numbers(shares: pd.DataFrame) -> list[str]:
    """Describe the 思う share per group: ``市民: 思う 74%（20/27人）``."""
    frame = shares[(shares["answer"].astype(str) == POSITIVE_ANSWER) & shares["group"].astype(str).isin(plots.GROUPS)]
    lines = []
    for row in frame.itertuples(index=False):
        if int(row.n):
            lines.append(f"{row.group}: 「{POSITIVE_ANSWER}」{_pct(row.share)}（{int(row.count)}/{int(row.n)}人）")
    missing = shares.groupby("group", observed=True)["n_missing"].first()
    if plots.TOTAL in missing and int(missing[plots.TOTAL]):
        lines.append(f"{NO_ANSWER} {int(missing[plots.TOTAL])}人（割合から除外）")
    return lines


def trend_key_numbers(shares: pd.DataFrame) -> list[str]:
    """Describe the yearly 思う share of each group with its interval."""
    frame = shares[(shares["answer"].astype(str) == POSITIVE_ANSWER) & shares["group"].astype(str).isin(plots.GROUPS)]
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
        f"{r.theme}: {CITIZENS} {_pct(r.citizens_share)}（{r.citizens_k}/{r.citizens_n}件）、"
        f"{STAFF} {_pct(r.staff_share)}（{r.staff_k}/{r.staff_n}件）"
        for r in ordered.head(top).itertuples(index=False)
    ]
    flagged = ordered[ordered["indicative"].fillna(False).astype(bool)]
    if len(flagged):
        lines.append("差が示唆されたテーマ: " + "、".join(
            f"{r.theme}（p={r.p_value:.3f}）" for r in flagged.itertuples(index=False)))
    else:
        lines.append(f"{CITIZENS}と{STAFF}の差が示唆されたテーマはありません。")
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



def contrast_key_numbers(contrast: pd.DataFrame) -> list[str]:
    """The themes groups most asked of partners and most offered themselves, with n groups."""
    if contrast.empty:
        return []
    n = int(contrast["n_groups"].max())
    lines = []
    for column in ("ask", "offer"):
        label = default_worksheet_rules().question_name(column)
        top = contrast.sort_values([f"{column}_groups", "theme"], ascending=[False, True], kind="stable").iloc[0]
        if top[f"{column}_groups"] > 0:
            lines.append(f"{label}で最も多いテーマ: {top['theme']} {_pct(top[f'{column}_share'])}"
                         f"（{int(top[f'{column}_groups'])}/{n} グループ）")
    return lines


def tally_lines(tally: pd.DataFrame) -> list[str]:
    """The worksheets' 問1 head counts beside the questionnaire's, as one line (none when no tally was written)."""
    written = tally.dropna(subset=["worksheet_people"])
    if written.empty:
        return []
    sheet = "、".join(f"{r.answer}{int(r.worksheet_people)}人" for r in written.itertuples())
    asked = "、".join(f"{r.answer}{int(r.questionnaire_people)}人" for r in written.itertuples())
    return [f"ワークシートに書かれた問1の人数（{int(written['worksheet_groups'].iloc[0])} グループ）は{sheet}で、"
            f"アンケートでは{asked}でした（別の集計のため、足し合わせていません）"]
