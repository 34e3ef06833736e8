"""The report folder: every file present, identical on a second run, safe tables, atomic."""
from __future__ import annotations

import csv
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kyodo_analysis import figures as plots
from kyodo_analysis.report import build as report
from kyodo_analysis.report.sections import _others_note
from kyodo_analysis.output_folder import GENERATOR, MANIFEST, read_manifest
from workbooks import CANONICAL_HEADER, canonical, write_csv

# Any warning (a missing glyph above all) fails the run, in the workers as well.
pytestmark = pytest.mark.filterwarnings("error")

# Typed by a respondent; a CSV keeps it as text (in .xlsx openpyxl would store a formula).
FORMULA = "=評価とふりかえりの機会を毎年設けてほしい。"


def rows(year_offset: int) -> list[tuple]:
    """Twelve respondents: citizens and staff, a blank answer, comments on all three questions."""
    reasons = [
        "行政と市民がお互いの立場を理解し合うことが大切だと思った。",
        "目的を共有して役割分担をすれば、対等な関係で協働できる。",
        "情報共有の場がもっと必要だと感じた。",
        "信頼関係を築くには時間がかかるが、対話を続けたい。",
        "地域の課題を一緒に考える場があるとよい。",
        "+もう少し具体的な事例を知りたい。",
    ]
    lectures = ["対等な関係とは何かがよくわかった。", "山田さんの事例の紹介がわかりやすかった。", None]
    out = []
    for i in range(12):
        group = "市民" if i % 3 else "職員"
        answer = ("思う", "思う", "どちらとも言えない", "思わない", None)[(i + year_offset) % 5]
        reason = FORMULA if i == 0 and year_offset else reasons[(i + year_offset) % len(reasons)]
        out.append((f"{i + 1}", group, "NPO" if group == "市民" else "市民協働課", answer, reason,
                    lectures[i % len(lectures)]))
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("raw")
    return [
        write_csv(folder / "R&D_2016.csv", [["平成28年度 協働のまちづくりワークショップ"], [], CANONICAL_HEADER, *rows(1)]),
        canonical(folder / "2017.xlsx", rows(0), title="平成29年度 協働のまちづくりワークショップ"),
    ]


@pytest.fixture(scope="module")
def built(inputs, tmp_path_factory) -> tuple[report.ReportResult, report.ReportResult]:
    out = tmp_path_factory.mktemp("out")
    first = report.build_report(inputs, out / "a")
    second = report.build_report(inputs, out / "b")
    return first, second


def all_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_writes_every_figure_in_three_formats_and_its_tables(built):
    result, _ = built
    names = [f.name for f in result.figures]
    assert names == [
        "2016_intent_by_group", "2017_intent_by_group", "2016-2017_intent_by_group_years",
        "2016-2017_intent_trend", "2016-2017_themes_by_group", "2016-2017_wordcloud_citizens",
        "2016-2017_wordcloud_staff", "2016-2017_wordcloud_all", "2016-2017_cooccurrence_network",
        "2016-2017_themes_by_question",
    ]
    for fig in result.figures:
        assert [p.suffix for p in fig.files] == [".png", ".svg", ".pdf"]
        assert all((result.out_dir / p).stat().st_size > 1000 for p in fig.files)
        assert fig.tables and all((result.out_dir / p).exists() for p in fig.tables)
        assert fig.key_numbers
    tables = {p.name for p in result.tables}
    assert {"2016-2017_quotes_by_theme.csv", "2016-2017_quotes_by_theme.xlsx"} <= tables
    # Every file is listed, and the manifest records exactly those.
    assert sorted(all_files(result.out_dir)) == sorted([MANIFEST, *(p.as_posix() for p in result.files)])
    assert sorted(read_manifest(result.out_dir)) == sorted(p.as_posix() for p in result.files)


def test_second_run_gives_byte_identical_files(built):
    first, second = built
    a, b = all_files(first.out_dir), all_files(second.out_dir)
    assert a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []


def test_personal_names_stay_out_of_word_tables_and_quotes(built):
    result, _ = built
    for path in result.out_dir.glob("tables/*.csv"):
        assert "山田" not in path.read_text("utf-8-sig"), path.name
    words = (result.out_dir / "tables" / "2016-2017_word_frequencies.csv").read_text("utf-8-sig")
    assert "事例" in words


def test_csv_tables_have_bom_and_japanese_headers(built):
    result, _ = built
    raw = (result.out_dir / "tables" / "2017_intent_by_group.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:3] == ["年度", "区分", "回答"]


def test_comment_text_is_never_a_formula(built):
    result, _ = built
    quotes = result.out_dir / "tables" / "2016-2017_quotes_by_theme.xlsx"
    texts = [c.value for row in load_workbook(quotes).active.iter_rows() for c in row]
    assert FORMULA in texts  # the comment is quoted, as text
    for path in result.out_dir.glob("tables/*.xlsx"):
        for row in load_workbook(path).active.iter_rows():
            assert all(c.data_type != "f" for c in row), path.name
    for path in result.out_dir.glob("tables/*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for record in csv.reader(handle):
                assert not [v for v in record if v[:1] in ("=", "+", "@")], path.name


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "a":
            self.links.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


def test_index_shows_every_figure_with_relative_links(built):
    result, _ = built
    source = result.index.read_text("utf-8")
    page = _Page()
    page.feed(source)
    assert page.images == [f"figures/{f.name}.png" for f in result.figures]
    local = [h for h in page.links if not h.startswith("#")]
    assert local and all((result.out_dir / h).is_file() for h in local)
    text = "".join(page.text)
    assert '<html lang="ja">' in source
    assert "R&D_2016.csv" in text and "R&amp;D_2016.csv" in source  # escaped in the markup
    for fig in result.figures:
        assert fig.title in text
    assert "市民: 「思う」" in text


def test_timings_cover_each_stage(built):
    result, _ = built
    for stage in ("読み込み", "テーマ判定", "語の集計", "表の書き出し", "index.html"):
        assert result.timings[stage] >= 0
    assert {f"図: {f.name}" for f in result.figures} <= result.timings.keys()


def test_a_failed_run_leaves_the_previous_report_untouched(inputs, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    previous = f'<meta name="generator" content="{GENERATOR}">前回の報告書'
    (out / "index.html").write_text(previous, encoding="utf-8")

    def broken(*args, **kwargs):
        raise RuntimeError("図が描けない")

    # The first figure fails, so the run stops early.
    monkeypatch.setattr(plots, "plot_intent_by_group", broken)
    with pytest.raises(RuntimeError, match="図が描けない"):
        report.build_report(inputs, out, processes=1)
    assert (out / "index.html").read_text("utf-8") == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


@pytest.mark.slow
def test_single_year_skips_the_trend_and_says_so(inputs, tmp_path):
    result = report.build_report(inputs[1:], tmp_path / "one", formats=("png",), processes=1)
    names = [f.name for f in result.figures]
    assert "2017_intent_by_group" in names
    assert not any("trend" in n or "years" in n for n in names)
    assert any("推移" in n for n in result.notes)
    assert "推移の図" in result.index.read_text("utf-8")


@pytest.mark.parametrize("formats", [("svg", "pdf"), ("png", "gif"), ()])
def test_formats_without_png_or_unknown_are_refused_before_anything_is_written(inputs, tmp_path, formats):
    with pytest.raises(report.ReportError) as raised:
        report.build_report(inputs, tmp_path / "reports", formats=formats, processes=1)
    assert raised.value.code == "report"
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_a_report_is_never_replaced(inputs, tmp_path):
    out = tmp_path / "documents"
    out.mkdir()
    (out / "memo.txt").write_text("大事なメモ", encoding="utf-8")
    with pytest.raises(ValueError, match="本ツールの報告書ではないファイル"):
        report.build_report(inputs, out, processes=1)
    assert [p.name for p in out.iterdir()] == ["memo.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents"]


@pytest.mark.slow
def test_report_command_writes_the_folder_and_replaces_its_own_report(built, inputs, tmp_path, capsys):
    from kyodo_analysis.cli import main

    # A report folder written earlier on the same inputs (build_report's, shared with the tests above).
    out = tmp_path / "reports"
    shutil.copytree(built[0].out_dir, out)
    first = all_files(out)
    assert "figures/2017_intent_by_group.pdf" in first and "tables/2016-2017_quotes_by_theme.xlsx" in first
    assert main(["report", *map(str, inputs), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "報告書を書き出しました" in said and "図 10 点（pdf・png・svg）" in said
    assert all_files(out) == first


@pytest.mark.slow
def test_report_command_keeps_kyodo_only_when_asked(built, inputs, tmp_path, capsys):
    from kyodo_analysis.cli import main

    def words(folder: Path) -> set[str]:
        with open(folder / "tables" / "2016-2017_word_frequencies.csv", encoding="utf-8-sig") as f:
            return {row["語"] for row in csv.DictReader(f)}

    # --formats pdf: PNG as well (index.html and the chapter show it), no SVG.
    assert main(["report", *map(str, inputs), "--out", str(tmp_path / "b"), "--keep-kyodo", "--formats", "ＰＤＦ"]) == 0
    assert "図 10 点（pdf・png）" in capsys.readouterr().out
    assert {p.suffix for p in (tmp_path / "b" / "figures").iterdir()} == {".png", ".pdf"}
    assert "協働" not in words(built[0].out_dir)
    assert "協働" in words(tmp_path / "b")


def test_report_command_writes_nothing_when_the_data_has_problems(inputs, tmp_path, capsys):
    from kyodo_analysis.cli import main

    bad = canonical(tmp_path / "2018.xlsx", [("1", "市民", "NPO", "たぶん", "理由", None)])
    out = tmp_path / "reports"
    assert main(["report", str(bad), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "2018.xlsx" in err and "たぶん" in err and "報告書は書き出していません" in err
    assert not out.exists()


def test_report_command_refuses_a_foreign_folder_with_exit_2(inputs, tmp_path, capsys):
    from kyodo_analysis.cli import main

    (tmp_path / "memo.txt").write_text("x", encoding="utf-8")
    assert main(["report", *map(str, inputs), "--out", str(tmp_path)]) == 2
    assert "--out" in capsys.readouterr().err
    assert (tmp_path / "memo.txt").read_text("utf-8") == "x"


def test_the_years_panel_states_its_key_numbers_year_by_year(built):
    result, _ = built
    panel = next(f for f in result.figures if f.name == "2016-2017_intent_by_group_years")
    assert panel.key_numbers and all(line.startswith(("2016年度 ", "2017年度 ")) for line in panel.key_numbers)
    assert any(line.startswith("2016年度 市民: 「思う」") for line in panel.key_numbers)
    assert any(line.startswith("2017年度 市民: 「思う」") for line in panel.key_numbers)


def test_file_table_counts_each_format_per_written_name(built):
    result, _ = built
    table = result.file_table()
    assert list(table.columns) == ["png", "svg", "pdf", "csv", "xlsx", "html", "docx"]
    assert table.loc["figures/2017_intent_by_group", ["png", "svg", "pdf"]].tolist() == [1, 1, 1]
    assert table.loc["tables/2016-2017_quotes_by_theme", ["csv", "xlsx", "png"]].tolist() == [1, 1, 0]
    assert table.loc["index", "html"] == 1
    assert table.loc["report", "docx"] == 1
    assert int(table.to_numpy().sum()) == len(result.files)


def test_word_data_keeps_personal_names_out_of_counts_and_documents():
    import pandas as pd

    comments = pd.DataFrame({
        "group": ["市民", "職員"],
        "text": ["長田さんの話で対等な関係について考えた。", "対等な関係を長田さんと話し合いたい。"],
    })
    words = report.word_data(comments)
    assert "長田" in words.names
    assert "長田" not in set(words.frequencies["word"])
    assert all("長田" not in doc for doc in words.documents)
    assert all("対等" in doc for doc in words.documents)
    assert len(words.documents) == 2


def test_comments_outside_the_two_groups_are_counted_in_a_note():
    import pandas as pd

    tagged = pd.DataFrame({"group": ["市民", "職員", "その他", "その他"]})
    assert "「その他」（見学者など）のコメント 2 件" in _others_note(tagged)
    assert _others_note(tagged.iloc[:2]) == ""
