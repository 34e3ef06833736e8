"""The activity report's questionnaire chapter 「アンケート結果」 as an editable Word document.

The wording lives in ``data/chapter.toml`` (read only here); the numbers come from the same
tables the report writes, so a number in the document cannot drift from the data.
"""
from __future__ import annotations

import datetime as dt
import io
import tomllib
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from .errors import KyodoError
from .input.layout import GROUP_ORDER, INTENT_ORDER
from .intent import TOTAL as _TOTAL
from .quotes import mask_personal_data

DOCX_NAME = "report.docx"
DEFAULT_PER_QUESTION = 10
# Fixed document properties and archive timestamps: the same input gives the same bytes.
_FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# The two compared groups and the answer whose share the chapter states, from the one vocabulary.
_GROUPS = GROUP_ORDER[:2]
_POSITIVE = INTENT_ORDER[0]


class ChapterError(KyodoError, ValueError):
    """The chapter cannot be written for this input; ``code`` is stable, the message Japanese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code


@dataclass
class ExtraSection:
    """One further question (rating, choice) shown as a figure with one sentence."""

    title: str
    sentence: str
    figure: Path | None = None


@dataclass
class GroupWorkSection:
    """The group worksheets of the year: the ask-vs-offer figure, one sentence, and each group's statements."""

    title: str
    sentence: str
    figure: Path | None
    groups: list[tuple[str, list[tuple[str, list[str]]]]]  # group label -> [(question, [statements, masked])]


@dataclass
class ChapterData:
    """Everything the chapter shows, for one fiscal year."""

    fiscal_year: int
    years: list[int]
    respondents: pd.DataFrame  # tidy: group, group_detail, n
    intent: pd.DataFrame  # intent_shares rows of this year: group, answer, count, n, share, n_missing
    themes: pd.DataFrame | None = None  # compare_groups: theme, citizens_k, staff_k, indicative, ...
    trend: pd.DataFrame | None = None  # 思う share per year (intent_shares rows)
    figures: dict[str, Path] = field(default_factory=dict)  # intent / themes / trend → PNG
    figure_titles: dict[str, str] = field(default_factory=dict)
    quotes: dict[str, list[str]] = field(default_factory=dict)  # question → masked comments
    workshop: str | None = None
    workshop_date: str | None = None
    extra_sections: list[ExtraSection] = field(default_factory=list)
    group_work: GroupWorkSection | None = None


def load_wording(path: str | Path | None = None) -> dict[str, Any]:
    """Read the chapter's headings and sentences (``data/chapter.toml`` unless ``path``)."""
    if path is None:
        text = resources.files("kyodo_analysis").joinpath("data/chapter.toml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return tomllib.loads(text)


def chapter_year(years: Sequence[int], wanted: int | None) -> int:
    """Return the year the chapter is about: ``wanted`` if loaded, else the latest loaded year."""
    if not years:
        raise ChapterError("chapter-no-year", "回答者のいる年度がないため、Word の章を作れません。")
    if wanted is None:
        return max(years)
    if wanted not in years:
        shown = "・".join(f"{y}年度" for y in sorted(years))
        raise ChapterError("chapter-year",
                           f"--chapter-year: {wanted}年度 の回答がありません（読み込んだ年度: {shown}）。")
    return int(wanted)


def respondent_counts(respondents: pd.DataFrame, year: int) -> pd.DataFrame:
    """Count respondents of ``year`` by 区分 and finer group (group_detail, blank when unknown)."""
    frame = respondents[respondents["fiscal_year"] == year]
    detail = frame["group_detail"] if "group_detail" in frame.columns else pd.Series("", index=frame.index)
    tidy = pd.DataFrame({"group": frame["group"].astype(str),
                         "group_detail": detail.astype("string").fillna("").astype(str)})
    order = {g: i for i, g in enumerate(_GROUPS)}
    counts = tidy.value_counts(["group", "group_detail"]).rename("n").reset_index()
    counts["_o"] = counts["group"].map(lambda g: order.get(g, len(order)))
    counts = counts.sort_values(["_o", "group", "group_detail"], kind="stable").drop(columns="_o")
    return counts.reset_index(drop=True)


def _normalise(text: str) -> str:
    """Strip trailing spaces of every line and blank lines at both ends; full-width punctuation is kept."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines()).strip()


def choose_quotes(comments: pd.DataFrame, year: int, *, per_question: int = DEFAULT_PER_QUESTION,
                  questions: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Pick at most ``per_question`` whole, masked comments per free-text question, covering its themes.

    Themes are visited in turn (most frequent first) and each gives its next comment,
    so the selection spans the themes present instead of the first rows; comments with
    no theme fill what is left.
    """
    frame = comments[comments["fiscal_year"] == year]
    names = list(questions) if questions is not None else []
    names += [q for q in frame["question"].astype(str).unique() if q not in names]
    chosen: dict[str, list[str]] = {}
    for question in names:
        part = frame[frame["question"].astype(str) == question]
        texts = [_normalise(mask_personal_data(str(t))) for t in part["text"]]
        tags = [tuple(v) if isinstance(v, (tuple, list)) else () for v in
                (part["themes"] if "themes" in part.columns else [()] * len(part))]
        by_theme: dict[str, list[int]] = {}
        for i, row_tags in enumerate(tags):
            for tag in row_tags:
                by_theme.setdefault(tag, []).append(i)
        theme_order = sorted(by_theme, key=lambda t: (-len(by_theme[t]), t))
        picked: list[int] = []
        seen: set[str] = set()
        while len(picked) < per_question and any(by_theme[t] for t in theme_order):
            for theme in theme_order:
                while by_theme[theme] and (by_theme[theme][0] in picked or texts[by_theme[theme][0]] in seen):
                    by_theme[theme].pop(0)
                if by_theme[theme] and len(picked) < per_question:
                    i = by_theme[theme].pop(0)
                    picked.append(i)
                    seen.add(texts[i])
        for i, text in enumerate(texts):
            if len(picked) >= per_question:
                break
            if i not in picked and text and text not in seen:
                picked.append(i)
                seen.add(text)
        chosen[question] = [texts[i] for i in sorted(picked) if texts[i]]
    return chosen


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _year_label(year: int, wording: Mapping[str, Any]) -> str:
    return wording["document"]["year_label"].format(year=year, reiwa=year - 2018)


def _set_fonts(doc: DocumentObject, wording: Mapping[str, Any]) -> None:
    """Set the Latin and East Asian fonts in the styles' run properties."""
    settings = wording["document"]
    for style in doc.styles:
        if style.type != 1 and style.type != 3:  # paragraph and table styles carry run properties
            continue
        heading = style.name.startswith("Heading") or style.name == "Title"
        east = settings["heading_font_east_asia"] if heading else settings["font_east_asia"]
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            rpr.insert(0, fonts)
        for attr in ("w:ascii", "w:hAnsi"):
            fonts.set(qn(attr), settings["font_latin"])
        fonts.set(qn("w:eastAsia"), east)
        for theme_attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(theme_attr), None)
    doc.styles["Normal"].font.size = Pt(float(settings["font_size_pt"]))


def _page(doc: DocumentObject) -> Mm:
    """A4 portrait with the usual Japanese Word margins; return the text width."""
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(35), Mm(30)
    section.left_margin, section.right_margin = Mm(30), Mm(30)
    return Mm(210 - 60)


def _table(doc: DocumentObject, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Add a Word table whose first row is a repeated header row."""
    table = doc.add_table(rows=1, cols=len(header))
    table.style = doc.styles["Table Grid"]
    first = table.rows[0]
    first._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for cell, text in zip(first.cells, header):
        cell.text = ""
        cell.paragraphs[0].add_run(str(text)).bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = str(value)


class _Figures:
    """Numbered figure captions 「図N …」 from 1, in document order."""

    def __init__(self, doc: DocumentObject, width: Mm, wording: Mapping[str, Any]) -> None:
        self.doc, self.width, self.wording, self.number = doc, width, wording, 0

    def add(self, png: Path | None, title: str) -> None:
        if png is None or not Path(png).is_file():
            return
        self.doc.add_picture(str(png), width=self.width)
        self.number += 1
        caption = self.wording["sentences"]["figure_caption"].format(number=self.number, title=title)
        self.doc.add_paragraph(caption, style="Caption")


def intent_sentences(intent: pd.DataFrame, wording: Mapping[str, Any]) -> list[str]:
    """The 思う shares and counts by 区分, and the 無回答 rule once."""
    words = wording["sentences"]
    rows = intent[intent["answer"].astype(str) == _POSITIVE]
    parts = [words["intent_part"].format(group=str(r.group), share=_pct(float(r.share)), count=int(r["count"]),
                                         n=int(r.n))
             for _, r in rows.iterrows() if int(r.n) and str(r.group) in (*_GROUPS, _TOTAL)]
    if not parts:
        return []
    missing = intent.groupby(intent["group"].astype(str))["n_missing"].first()
    total_missing = int(missing.get(_TOTAL, missing.sum()))
    return [words["intent"].format(parts="、".join(parts)), words["missing_rule"].format(missing=total_missing)]


def themes_sentences(themes: pd.DataFrame, wording: Mapping[str, Any], top: int = 3, *, period: str = "") -> list[str]:
    """Name the most frequent themes and any the test flags, with the notebooks' caution."""
    words = wording["sentences"]
    frame = themes.assign(_k=themes["citizens_k"] + themes["staff_k"])
    frame = frame[frame["_k"] > 0].sort_values(["_k"], ascending=False, kind="stable")
    if frame.empty:
        return []
    # The period is said because the themes figure pools every loaded year, not only the chapter's.
    lines = [words["themes_top"].format(themes="、".join(f"「{t}」" for t in frame["theme"].astype(str)[:top]),
                                        period=period)]
    flagged = frame[frame["indicative"].astype(bool)]["theme"].astype(str).tolist()
    lines.append(words["themes_flagged"].format(themes="、".join(f"「{t}」" for t in flagged)) if flagged
                 else words["themes_none_flagged"])
    return lines


def _period_label(years: Sequence[int]) -> str:
    """The loaded years as 2015〜2017年度 (or one year)."""
    values = sorted(set(years))
    return f"{values[0]}年度" if len(values) == 1 else f"{values[0]}〜{values[-1]}年度"


def _trend_steps(trend: pd.DataFrame | None) -> str:
    """The total's share per year: 2015年度 56% → 2016年度 61%."""
    if trend is None:
        return ""
    total = trend[trend["group"].astype(str) == _TOTAL].sort_values("fiscal_year")
    return " → ".join(f"{int(r.fiscal_year)}年度 {_pct(r.share)}" for r in total.itertuples(index=False) if int(r.n))


def build_chapter(data: ChapterData, wording: Mapping[str, Any] | None = None) -> DocumentObject:
    """Return the chapter as a python-docx Document (not saved)."""
    wording = load_wording() if wording is None else wording
    heads, words, labels = wording["headings"], wording["sentences"], wording["tables"]
    doc = Document()
    _set_fonts(doc, wording)
    figures = _Figures(doc, _page(doc), wording)
    year_label = _year_label(data.fiscal_year, wording)
    centre = wording["document"]["centre"]

    title = (heads["chapter"] if data.workshop else heads["chapter_no_workshop"]).format(
        year_label=year_label, workshop=data.workshop or "")
    doc.add_heading(title, level=1)
    if data.workshop:
        doc.add_paragraph(words["opening"].format(centre=centre, workshop=data.workshop))
    if data.workshop_date:
        doc.add_paragraph(words["workshop_date"].format(date=data.workshop_date))

    doc.add_heading(heads["respondents"], level=2)
    counts = data.respondents
    by_group = counts.groupby("group", sort=False)["n"].sum()
    parts = "、".join(words["respondents_part"].format(group=g, n=int(n)) for g, n in by_group.items())
    doc.add_paragraph(words["respondents"].format(total=int(counts["n"].sum()), parts=parts))
    _table(doc, [labels["respondents_group"], labels["respondents_detail"], labels["respondents_n"]],
           [*[(r.group, r.group_detail, int(r.n)) for r in counts.itertuples(index=False)],
            (labels["total"], "", int(counts["n"].sum()))])

    doc.add_heading(heads["intent"], level=2)
    figures.add(data.figures.get("intent"), data.figure_titles.get("intent", heads["intent"]))
    for line in intent_sentences(data.intent, wording):
        doc.add_paragraph(line)

    if data.extra_sections:
        doc.add_heading(heads["other_questions"], level=2)
        for extra in data.extra_sections:
            doc.add_heading(extra.title, level=3)
            figures.add(extra.figure, extra.title)
            doc.add_paragraph(extra.sentence)

    if data.themes is not None and len(data.themes):
        doc.add_heading(heads["themes"], level=2)
        figures.add(data.figures.get("themes"), data.figure_titles.get("themes", heads["themes"]))
        for line in themes_sentences(data.themes, wording, period=_period_label(data.years)):
            doc.add_paragraph(line)

    if data.group_work is not None:
        work = data.group_work
        doc.add_heading(heads["group_work"], level=2)
        figures.add(work.figure, work.title)
        if work.sentence:
            doc.add_paragraph(work.sentence)
        doc.add_paragraph(words["group_work"])
        doc.add_heading(heads["group_statements"], level=3)
        for label, questions in work.groups:
            doc.add_paragraph(words["group_label"].format(group=label)).runs[0].bold = True
            for question, statements in questions:
                doc.add_paragraph(f"{question}:")
                for statement in statements:
                    doc.add_paragraph(statement, style="List Bullet")

    if len(data.years) >= 2:
        doc.add_heading(heads["trend"], level=2)
        figures.add(data.figures.get("trend"), data.figure_titles.get("trend", heads["trend"]))
        doc.add_paragraph(words["trend"].format(years="・".join(f"{y}年度" for y in data.years),
                                                steps=_trend_steps(data.trend)))

    doc.add_heading(heads["quotes"], level=2)
    doc.add_paragraph(words["quotes_intro"])
    names = wording.get("quotes", {}).get("questions", {})
    for question, texts in data.quotes.items():
        doc.add_heading(names.get(question, question), level=3)
        if not texts:
            doc.add_paragraph(words["no_quotes"])
        for text in texts:
            doc.add_paragraph(text, style="List Bullet")

    core = doc.core_properties
    core.title = title
    core.author = core.last_modified_by = wording["document"]["author"]
    core.created = core.modified = core.last_printed = _FIXED_TIME.replace(tzinfo=None)
    core.revision = 1
    return doc


def _fixed_zip(raw: bytes) -> bytes:
    """Rewrite the .docx archive with fixed timestamps and permissions, entries in the same order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(item.filename))
    return out.getvalue()


def write_chapter(path: str | Path, data: ChapterData, *, wording: Mapping[str, Any] | None = None) -> Path:
    """Write the chapter to ``path`` (byte-identical for the same data) and return the path."""
    buffer = io.BytesIO()
    build_chapter(data, wording).save(buffer)
    path = Path(path)
    path.write_bytes(_fixed_zip(buffer.getvalue()))
    return path


def chapter_from_report(*, respondents: pd.DataFrame, tagged: pd.DataFrame, shares: pd.DataFrame,
                        comparison: pd.DataFrame | None, figure_files: Mapping[str, Path], years: Sequence[int],
                        year: int | None, workshop: str | None, per_question: int | None = None,
                        wording: Mapping[str, Any] | None = None) -> ChapterData:
    """Assemble ChapterData from what the report has counted (one place: the report's hook)."""
    wording = load_wording() if wording is None else wording
    fy = chapter_year([int(y) for y in years], year)
    per = int(wording.get("quotes", {}).get("per_question", DEFAULT_PER_QUESTION)) if per_question is None \
        else per_question
    trend = shares[shares["answer"].astype(str) == _POSITIVE] if len(years) >= 2 else None
    return ChapterData(
        fiscal_year=fy, years=sorted(int(y) for y in years),
        respondents=respondent_counts(respondents, fy),
        intent=shares[shares["fiscal_year"] == fy],
        themes=comparison, trend=trend, figures=dict(figure_files),
        quotes=choose_quotes(tagged, fy, per_question=per,
                             questions=wording.get("quotes", {}).get("questions", {}).keys()),
        workshop=workshop,
    )
