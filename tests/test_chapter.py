"""The Word chapter report.docx: outline, captions, numbers equal to the tables, masked quotes, same bytes."""
from __future__ import annotations

import csv
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pandas as pd
import pytest
from docx.oxml.ns import qn

from kyodo_analysis import chapter
from kyodo_analysis.report import build as report
from cli_runs import run_main
from workbooks import CANONICAL_HEADER, canonical, write_xlsx

NAMES = ("山田", "鈴木花子")


def rows(offset: int) -> list[tuple]:
    """Twelve respondents with reasons on several themes and lecture comments naming people."""
    reasons = [
        "行政と市民がお互いの立場を理解し合うことが大切だと思った。",
        "目的を共有して役割分担をすれば、対等な関係で協働できる。  ",
        "情報共有の場がもっと必要だと感じた。",
        "信頼関係を築くには時間がかかるが、対話を続けたい。",
        "地域の課題を一緒に考える場があるとよい。",
        "鈴木花子さん（090-1234-5678）に相談したい。",
    ]
    lectures = ["対等な関係とは何かがよくわかった。", "山田さんの事例の紹介がわかりやすかった。", None]
    out = []
    for i in range(12):
        group = "市民" if i % 3 else "職員"
        answer = ("思う", "思う", "どちらとも言えない", "思わない", None)[(i + offset) % 5]
        out.append((f"{i + 1}", group, "NPO" if group == "市民" else "市民協働課", answer,
                    reasons[(i + offset) % len(reasons)], lectures[i % len(lectures)]))
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("raw")
    return [canonical(folder / "2016.xlsx", rows(1), title="平成28年度 協働のまちづくりワークショップ"),
            canonical(folder / "2017.xlsx", rows(0), title="平成29年度 協働のまちづくりワークショップ")]


@pytest.fixture(scope="module")
def built(inputs, tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("out")
    first = report.build_report(inputs, out / "a", formats=("png",), processes=1)
    second = report.build_report(inputs, out / "b", formats=("png",), processes=1)
    return first.out_dir, second.out_dir


def _document(folder: Path) -> docx.document.Document:
    return docx.Document(str(folder / chapter.DOCX_NAME))


def test_headings_use_word_heading_styles(built):
    doc = _document(built[0])
    headings = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name.startswith("Heading")]
    wording = chapter.load_wording()["headings"]
    assert headings[0][0] == "Heading 1" and "2017" in headings[0][1]
    level2 = [text for style, text in headings if style == "Heading 2"]
    assert level2 == [wording["respondents"], wording["intent"], wording["themes"], wording["trend"],
                      wording["quotes"]]


def test_one_caption_per_figure_numbered_from_one(built):
    doc = _document(built[0])
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert [int(re.match(r"図(\d+) ", c).group(1)) for c in captions] == list(range(1, len(captions) + 1))
    assert len(captions) == len(doc.inline_shapes) == 3


def test_intent_numbers_equal_the_table(built):
    doc = _document(built[0])
    text = "\n".join(p.text for p in doc.paragraphs)
    with open(built[0] / "tables" / "2017_intent_by_group.csv", encoding="utf-8-sig") as handle:
        table = [r for r in csv.DictReader(handle) if r["回答"] == "思う"]
    assert table
    for row in table:
        share = f"{float(row['割合']) * 100:.0f}%"
        assert f"{row['区分']}が{share}（{row['人数']}/{row['回答者数（無回答を除く）']}人）" in text


def test_trend_and_theme_sentences_state_the_tables_numbers_and_period(built):
    text = "\n".join(p.text for p in _document(built[0]).paragraphs)
    with open(built[0] / "tables" / "2016-2017_intent_trend.csv", encoding="utf-8-sig") as handle:
        total = [r for r in csv.DictReader(handle) if r["区分"] == "全体"]
    steps = " → ".join(f"{r['年度']}年度 {float(r['割合']) * 100:.0f}%" for r in sorted(total, key=lambda r: r["年度"]))
    assert len(total) == 2 and steps in text
    # The themes figure pools both years, and the sentence says so rather than implying 2017 alone.
    assert "2016〜2017年度の自由記述で" in text


def test_respondent_table_has_header_row_and_total(built, inputs):
    doc = _document(built[0])
    table = doc.tables[0]
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert table.rows[-1].cells[-1].text == "12"
    assert sum(int(r.cells[-1].text) for r in table.rows[1:-1]) == 12


def test_quote_section_per_question_without_names(built):
    doc = _document(built[0])
    paragraphs = doc.paragraphs
    start = next(i for i, p in enumerate(paragraphs) if p.text == chapter.load_wording()["headings"]["quotes"])
    sections = [p.text for p in paragraphs[start:] if p.style.name == "Heading 3"]
    assert sections == list(chapter.load_wording()["quotes"]["questions"].values())
    bullets = [p.text for p in paragraphs[start:] if p.style.name == "List Bullet"]
    assert bullets and all(b == b.strip() for b in bullets)
    body = "\n".join(p.text for p in paragraphs)
    assert not any(name in body for name in NAMES)
    assert "090-1234-5678" not in body


def test_quotes_cover_themes_and_respect_limit():
    comments = pd.DataFrame({
        "fiscal_year": [2017] * 6, "question": ["理由"] * 6,
        "text": ["a1", "a2", "a3", "b1", "c1", "n1"],
        "themes": [("A",), ("A",), ("A",), ("B",), ("C",), ()],
    })
    chosen = chapter.choose_quotes(comments, 2017, per_question=3)["理由"]
    assert sorted(chosen) == ["a1", "b1", "c1"]


def test_east_asian_font_in_styles(built):
    doc = _document(built[0])
    fonts = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == chapter.load_wording()["document"]["font_east_asia"]
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)


def test_two_runs_give_identical_bytes(built):
    a, b = (folder / chapter.DOCX_NAME for folder in built)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_index_links_the_document(built):
    assert f'href="{chapter.DOCX_NAME}"' in (built[0] / "index.html").read_text("utf-8")


def test_unknown_chapter_year_is_refused(inputs, tmp_path, capsys):
    code, _, err = run_main(["report", *inputs, "--out", tmp_path / "r", "--chapter-year", "2010"], capsys)
    assert code == 2
    assert "[chapter-year]" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_chapter_year_picks_an_earlier_year(inputs, tmp_path):
    out = report.build_report(inputs, tmp_path / "r", formats=("png",), processes=1, chapter_year=2016)
    assert "2016" in _document(out.out_dir).paragraphs[0].text


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) がないため PDF 変換を確かめられません")
def test_converts_to_pdf_with_libreoffice(built, tmp_path):
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(built[0] / chapter.DOCX_NAME)],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")


def test_a_rating_question_gets_its_own_section_with_figure_and_key_numbers(tmp_path):
    scale = ["とても満足", "満足", "ふつう", "やや不満", "不満"]
    header = (*CANONICAL_HEADER, "講演の満足度")
    data = [(*row, scale[i % len(scale)]) for i, row in enumerate(rows(0))]
    path = write_xlsx(tmp_path / "2017.xlsx", {"回答": [header, *data]})
    result = report.build_report([path], tmp_path / "out", formats=("png",), processes=1)
    paragraphs = _document(result.out_dir).paragraphs
    headings = [p.text for p in paragraphs if p.style.name.startswith("Heading")]
    assert any("講演の満足度" in h for h in headings), headings
    at = next(i for i, p in enumerate(paragraphs) if p.style.name.startswith("Heading") and "講演の満足度" in p.text)
    following = [p.text for p in paragraphs[at + 1:at + 6]]
    assert any(t.startswith("図") and "講演の満足度" in t for t in following), following
    assert any("最も多いのは" in t for t in following), following
    # The rating is never text: its options are not quoted.
    quoted = [p.text for p in paragraphs if p.style.name.startswith("List")]
    assert not set(quoted) & set(scale)
