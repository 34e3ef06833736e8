"""Broken and hostile files are refused before any parser reads them: one plain message, exit 2, nothing written.

Every file is built for real in a temporary folder (openpyxl, zipfile, msoffcrypto-tool).
The command line runs once over all of them (and once for a valid file, to compare memory),
as subprocesses started together so that the suite stays fast.
"""
from __future__ import annotations

import re
import zipfile

import hostile as H
import openpyxl
import pytest
from cli_runs import clean_env, finish, start
from conftest import RAW, _digest

from kyodo_analysis.input import safety
from kyodo_analysis.input.readers import UnreadableFileError, read_raw
from kyodo_analysis.input.survey import load_questionnaire, load_questionnaires

# case → (how to build the file, a fragment of the message that must name the problem)
CASES = {
    "empty": (lambda d: _write(d / "empty.xlsx", b""), "ファイルが空です（0 バイト）"),
    "text_renamed": (lambda d: _write(d / "text.xlsx", "回答者ID,区分\r\n1,市民\r\n".encode("cp932")),
                     "中身は文字だけのファイル（CSV やテキストなど）です"),
    "truncated": (H.truncated, "ファイルが途中で切れているか壊れています"),
    "old_xls": (H.old_xls, "古い Excel 形式（.xls）のファイルです"),
    "xlsb": (H.xlsb, "Excel バイナリブック（.xlsb）は読めません"),
    "zip_without_workbook": (H.zip_without_workbook, "zip 形式のファイルですが、Excel ブックが入っていません"),
    "damaged_xml": (H.damaged_xml, "ブックの中身（xl/worksheets/sheet1.xml）が壊れています（XML の 1 行目"),
    "entity_bomb_sheet": (H.entity_bomb_sheet, "ブックの中（xl/worksheets/sheet1.xml）に XML の DTD・エンティティ宣言"),
    "entity_bomb_strings": (H.entity_bomb_strings, "ブックの中（xl/sharedStrings.xml）に XML の DTD・エンティティ宣言"),
    "zip_bomb_total": (H.zip_bomb_total, "になり、上限（200 MB）を超えます。圧縮爆弾（zip bomb）"),
    "zip_bomb_ratio": (H.zip_bomb_ratio, "sheet1_pad.bin の圧縮率が異常に高く（1,024 倍。上限は 100 倍）"),
    "too_large": (H.too_large_file, "ファイルが大きすぎます（52,428,801 バイト。上限は 50 MB"),
    "too_many_rows": (H.too_many_rows, "シート「回答」の行が多すぎます（100,001 行。上限は 100,000 行）"),
    "too_many_cells": (H.too_many_cells, "セルが多すぎます（ブック全体で 500,010 個。上限は 500,000 個）"),
    "sparse_cells": (H.sparse_cells, "シート「回答」で使われている範囲が広すぎます（A1 から 20,000 行 × 16,384 列 = "
                                     "327,680,000 セル分。上限はブック全体で 500,000 セル分）。XFD20000 に値があります"),
    "sparse_corner": (H.sparse_corner, "（A1 から 1,048,576 行 × 16,384 列 = 17,179,869,184 セル分"),
    "merged_bomb": (H.merged_bomb, "シート「回答」の結合セルが広すぎます（結合された範囲がブック全体で 17,179,869,184 セル分。"
                                   "上限は 500,000 セル分。いちばん広いのは A1:XFD1048576）"),
    "merged_rows": (H.merged_rows, "結合された範囲がブック全体で 144,179,200 セル分"),
    "many_sheets_rows": (H.many_sheets_rows, "ブック全体の行が多すぎます（3 シートで合わせて 150,006 行。"
                                             "上限はブック全体で 150,000 行）"),
    "cut_off_csv": (H.cut_off_csv, "ファイルが途中で切れているようです（3 行目の「\"」で囲まれた値が閉じられないまま"),
    "xlsb_extension": (H.real_xlsb, "Excel バイナリブック（.xlsb）は読めません"),
}


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Build every hostile file once: case → path."""
    folder = tmp_path_factory.mktemp("hostile")
    scratch = tmp_path_factory.mktemp("hostile_sources")
    files = {}
    for case, (build, _) in CASES.items():
        made = build(scratch)
        files[case] = made.rename(folder / made.name)
    return files


@pytest.fixture(scope="module")
def cli(hostile, tmp_path_factory):
    """Run validate and process over every hostile file, a valid file, and an unsafe XML set-up, together."""
    logs = tmp_path_factory.mktemp("logs")
    valid = H.valid(tmp_path_factory.mktemp("valid") / "2017.xlsx")
    out = tmp_path_factory.mktemp("out") / "processed"
    folder = next(iter(hostile.values())).parent
    raw_before, folder_before = _digest(RAW), sorted(p.name for p in folder.iterdir())
    files = list(hostile.values())
    runs = {
        "validate": start(["validate", *files], logs, "validate"),
        "process": start(["process", *files, "--out", out], logs, "process"),
        "baseline": start(["validate", valid], logs, "baseline"),
        "unsafe_xml": start(["validate", valid], logs, "unsafe", env=clean_env(OPENPYXL_DEFUSEDXML="False")),
    }
    done = {name: finish(run) for name, run in runs.items()}
    assert _digest(RAW) == raw_before, "data/raw/ が変更されました"
    assert sorted(p.name for p in folder.iterdir()) == folder_before  # nothing written beside the inputs
    done["out"] = out
    return done


# --- the library ----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_library_refuses_with_a_plain_message(hostile, case):
    path = hostile[case]
    with pytest.raises(UnreadableFileError) as refused:
        read_raw(path)
    assert CASES[case][1] in refused.value.message
    assert refused.value.path == path
    assert "ください" in refused.value.message  # every message says what to do, too


def test_the_loader_collects_unreadable_files_and_reads_the_rest(hostile, tmp_path):
    unreadable: list = []
    bad = [hostile[case] for case in ("empty", "truncated", "old_xls", "entity_bomb_strings", "zip_bomb_ratio")]
    good = H.valid(tmp_path / "2017.xlsx")
    survey = load_questionnaires([bad[0], good, *bad[1:]], unreadable=unreadable)
    assert [e.path for e in unreadable] == bad
    assert len(survey.respondents) == 2 and survey.ok


def test_openpyxl_itself_parses_through_defusedxml(hostile):
    """The second line of defence: even without the byte scan, the bomb is not expanded."""
    from defusedxml import EntitiesForbidden

    assert safety.xml_parser_is_defused()
    for case in ("entity_bomb_sheet", "entity_bomb_strings"):
        with pytest.raises(Exception) as raised:
            openpyxl.load_workbook(hostile[case])
        chain, error = [], raised.value
        while error is not None:
            chain.append(type(error))
            error = error.__cause__ or error.__context__
        assert EntitiesForbidden in chain, case


def test_the_shared_strings_fixture_is_a_real_workbook_when_harmless(tmp_path):
    """The bomb above is refused for its DTD, not because the shared-strings wiring is broken."""
    path = H.with_shared_strings(H.valid(tmp_path / "src.xlsx"), tmp_path / "2017.xlsx",
                                 H.shared_strings_xml("平成29年度 協働のまちづくりワークショップ"))
    assert read_raw(path).sheets[0].rows[0][0] == "平成29年度 協働のまちづくりワークショップ"
    assert load_questionnaire(path).ok


def test_limits_let_a_sheet_at_the_limit_through(tmp_path):
    """Exactly 100,000 rows pass the checks (the limits are not off by one)."""
    rows = H.too_many_rows(tmp_path, rows=safety.MAX_ROWS_PER_SHEET)
    checked = safety.check_package(rows.read_bytes())
    assert [(s.title, s.rows, s.cells) for s in checked.sheets] == [("回答", 100_000, 100_000)]


def test_broken_ole_container_and_other_office_files(tmp_path):
    broken = _write(tmp_path / "2017.xlsx", bytes.fromhex("D0CF11E0A1B11AE1") + bytes(512))
    with pytest.raises(UnreadableFileError, match="中身を読み取れません"):
        read_raw(broken)
    docx = tmp_path / "report.xlsx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    with pytest.raises(UnreadableFileError, match="Excel ブックが入っていません（Word の文書です）"):
        read_raw(docx)


def test_extension_and_content_disagree(tmp_path):
    workbook_as_csv = H.valid(tmp_path / "src.xlsx").rename(tmp_path / "2017.csv")
    with pytest.raises(UnreadableFileError, match="中身は Excel ブックです。拡張子を .xlsx に"):
        read_raw(workbook_as_csv)
    workbook_as_xls = H.valid(tmp_path / "src2.xlsx").rename(tmp_path / "2017.xls")
    assert load_questionnaire(workbook_as_xls).ok  # an .xlsx renamed .xls is simply read
    with pytest.raises(UnreadableFileError, match="対応していない形式です（.tsv）"):
        read_raw(_write(tmp_path / "2017.tsv", b"a\tb\n"))
    with pytest.raises(UnreadableFileError, match="ファイルが途中で切れているか壊れています"):
        read_raw(_write(tmp_path / "2017.ods", b"PK\x03\x04"))


def test_csv_limits_and_damage(tmp_path):
    rows = "回答者ID,区分,協働したいと思いますか\r\n" + "1,市民,思う\r\n" * safety.MAX_ROWS_PER_SHEET
    with pytest.raises(UnreadableFileError, match="行が多すぎます（上限は 100,000 行）"):
        read_raw(_write(tmp_path / "2017.csv", rows.encode()))
    huge_field = '回答者ID,理由\r\n1,"' + "あ" * 200_000 + '"\r\n'
    with pytest.raises(UnreadableFileError, match="2 行目 のセルが長すぎます"):
        read_raw(_write(tmp_path / "2016.csv", huge_field.encode()))


# --- the command line -------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_validate_exits_2_with_one_message_per_file(cli, hostile, case, raw_guard):
    done = cli["validate"]
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(f"{hostile[case].name}: ")]
    assert len(lines) == 1, done.stdout
    assert CASES[case][1] in lines[0]


@pytest.mark.parametrize("case", CASES)
def test_process_says_it_on_stderr_and_writes_nothing(cli, hostile, case, raw_guard):
    done = cli["process"]
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr
    assert f"{hostile[case].name}: " in done.stderr and CASES[case][1] in done.stderr
    assert "何も書き出していません" in done.stderr
    assert not cli["out"].exists()


def test_refusing_every_file_needs_little_memory(cli, raw_guard):
    """Every hostile file (bombs included) in one run: hardly more memory than a valid file.

    Speed is not asserted here (a shared machine makes wall-clock limits flaky); the run's
    subprocess timeout still fails the test if a bomb makes it hang.
    """
    done, baseline = cli["validate"], cli["baseline"]
    assert baseline.returncode == 0, baseline.stdout + baseline.stderr
    growth = done.max_rss_mb - baseline.max_rss_mb
    assert growth < 150, (done.max_rss_mb, baseline.max_rss_mb)


def test_refuses_to_run_when_openpyxl_would_not_use_defusedxml(cli, raw_guard):
    done = cli["unsafe_xml"]
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert "安全な XML の読み込み（defusedxml）が有効になっていないため、実行を止めました" in done.stderr
    assert "OPENPYXL_DEFUSEDXML" in done.stderr


@pytest.mark.parametrize("part", ["_rels/.rels", "[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                                  "xl/styles.xml"])
def test_a_dtd_in_any_part_is_refused_before_parsing(tmp_path, part):
    def add_dtd(name, data):
        if name != part:
            return data
        body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
        return b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x [<!ENTITY e "e">]>' + body

    path = H.rezip(H.valid(tmp_path / "src.xlsx"), tmp_path / "2017.xlsx", add_dtd)
    assert b"<!DOCTYPE" in zipfile.ZipFile(path).read(part)
    with pytest.raises(UnreadableFileError, match=re.escape(f"ブックの中（{part}）に XML の DTD")):
        read_raw(path)


# --- sheet extent, merged ranges and rows of the whole workbook -------------------------


def test_formatting_and_a_merged_title_do_not_count_as_used_area(tmp_path):
    """Column-wide styles and styled empty cells hold nothing to read: the grid stays the table's size."""
    from openpyxl.styles import Font

    path = H.valid(tmp_path / "src.xlsx")
    workbook = openpyxl.load_workbook(path)
    ws = workbook.active
    ws.column_dimensions["E"].font = Font(bold=True)  # a whole column formatted: no cells in the file
    ws["XFD60000"].font = Font(bold=True)  # a styled empty cell far away: a cell, but no value
    ws.merge_cells("A1:XFD1")  # the title merged over the whole first row
    workbook.save(path)
    sheet = read_raw(path).sheets[0]
    assert len(sheet.rows) == 5 and {len(row) for row in sheet.rows} == {16_384}
    assert sheet.rows[0][16_383] == "平成29年度 協働のまちづくりワークショップ"
    assert load_questionnaire(path).ok


def test_used_area_at_the_limit_is_read(tmp_path):
    path = H.sparse_cells(tmp_path, corner="J50000", name="2017.xlsx")  # 50,000 rows × 10 columns
    sheet = read_raw(path).sheets[0]
    assert (len(sheet.rows), len(sheet.rows[0])) == (50_000, 10) and sheet.rows[-1][-1] == "x"
    over = H.sparse_cells(tmp_path, corner="K50000", name="2016.xlsx")
    with pytest.raises(UnreadableFileError, match="50,000 行 × 11 列 = 550,000 セル分"):
        read_raw(over)


def test_merged_area_at_the_limit_passes(tmp_path):
    at_limit = H._with_sheet_xml(tmp_path, "2017.xlsx", lambda d: H._add_merges(d, ["A10:E100009"]))
    assert safety.check_package(at_limit.read_bytes()).sheets[0].merged_cells == 500_000
    over = H._with_sheet_xml(tmp_path, "2016.xlsx", lambda d: H._add_merges(d, ["A10:E100009", "G1:G2"]))
    with pytest.raises(safety.Refused, match="500,002 セル分"):
        safety.check_package(over.read_bytes())


@pytest.mark.parametrize("ref, area", [("B3", 1), ("$A$1:$c$2", 6), ("C:D", 2 * 1_048_576), ("2:3", 2 * 16_384),
                                       ("D4:B2", 9)])
def test_merged_range_forms(ref, area):
    assert safety.merged_area(ref) == area


@pytest.mark.parametrize("tag", [
    '<mergeCell x=\' ref="A1:A2"\' ref="A1:XFD1048576"/>',  # a decoy ref inside another attribute
    '<mergeCell x=">" ref="A1:XFD1048576"/>',  # a ">" inside an attribute value
    '<x:mergeCell xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ref="A1:XFD1048576"/>',
])
def test_merged_ranges_cannot_hide_from_the_scan(tmp_path, tag):
    path = H._with_sheet_xml(tmp_path, "2017.xlsx", lambda d: d.replace(
        b"</sheetData>", f"</sheetData><mergeCells>{tag}</mergeCells>".encode()))
    with pytest.raises(UnreadableFileError, match="17,179,869,184 セル分"):
        read_raw(path)


def test_a_merged_range_the_scan_cannot_read_is_refused(tmp_path):
    path = H._with_sheet_xml(tmp_path, "2017.xlsx", lambda d: H._add_merges(d, ["A1:&#88;FD1048576"]))
    with pytest.raises(UnreadableFileError, match="結合セルの範囲「A1:&#88;FD1048576」を読めません"):
        read_raw(path)


def test_a_sheet_not_in_utf8_is_refused(tmp_path):
    """The byte scan reads UTF-8 tags; a UTF-16 sheet would hide its rows and merges from it."""
    def to_utf16(data: bytes) -> bytes:
        text = H._add_merges(data, ["A1:XFD1048576"]).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
        return text.encode("utf-16")

    path = H._with_sheet_xml(tmp_path, "2017.xlsx", to_utf16)
    with pytest.raises(UnreadableFileError, match="Excel の使わない文字コード（UTF-8 以外）"):
        read_raw(path)


def test_rows_of_the_whole_workbook_at_the_limit_pass(tmp_path):
    path = H.many_sheets_rows(tmp_path, rows=74_998)  # 2 × 74,998 + the 4 rows of the answer sheet
    checked = safety.check_package(path.read_bytes())
    assert sum(s.rows for s in checked.sheets) == safety.MAX_ROWS_TOTAL


def test_csv_quotes(tmp_path):
    ends_quoted = _write(tmp_path / "2017.csv", '回答者ID,理由\r\n1,"顔が見える\r\n関係"'.encode())
    assert read_raw(ends_quoted).sheets[0].rows[1] == ["1", "顔が見える\n関係"]
    text_after_quote = _write(tmp_path / "2016.csv", '回答者ID,理由\r\n1,"顔が"見える\r\n'.encode())
    with pytest.raises(UnreadableFileError, match="CSV として読めません（2 行目"):
        read_raw(text_after_quote)
