"""Tests for ``kyodo-analysis themes`` run through the real entry point, main()."""
from __future__ import annotations

import json

import pytest

from kyodo_analysis import rules as TH

from cli_runs import run_main as run


pytestmark = pytest.mark.usefixtures("fresh_token_cache")


# --- --text-file ----------------------------------------------------------------------


def test_text_file_lines_are_numbered_as_an_editor_shows_them(tmp_path, capsys):
    path = tmp_path / "c.txt"
    # \x0b, \x85 and \u2028 are inside lines (splitlines() broke at them); \r\n and \n end lines.
    path.write_bytes("予算が\x0b足りない\r\n\r\n  話し合いの場\u2028がほしい \n信頼\x85関係\n".encode())
    code, out, err = run(["themes", "--text-file", path, "--format", "json", "--no-cache"], capsys)
    assert (code, err) == (0, "")
    records = json.loads(out)
    assert [(r["line"], r["text"]) for r in records] == [
        (1, "予算が\x0b足りない"),
        (3, "  話し合いの場\u2028がほしい "),
        (4, "信頼\x85関係"),
    ]
    assert "資源" in records[0]["themes"]


def test_text_file_with_a_bom_and_no_final_newline(tmp_path, capsys):
    path = tmp_path / "c.txt"
    path.write_bytes("\ufeff\n予算\r\n　\n立場".encode())
    code, out, _ = run(["themes", "--text-file", path, "--no-cache"], capsys)
    assert code == 0
    assert out.splitlines()[1:] == ["2,予算,資源", "4,立場,"]


# --- --evaluate -----------------------------------------------------------------------


def test_evaluate_reports_labels_that_are_not_themes_with_their_line(tmp_path, capsys):
    path = tmp_path / "labelled.csv"
    path.write_text(
        "id,text,themes\n"
        "L1,話し合いの場がほしい,対話の場\n"
        "L2,\"予算が足りない。\n人手も足りない。\",資源;対話ノ場\n"  # the cell spans lines 3-4
        "\n"
        "L3,お互いを理解したい,相互理解 ; 信頼 \n",
        encoding="utf-8",
    )
    code, out, err = run(["themes", "--evaluate", path, "--no-cache"], capsys)
    assert code == 1 and out == ""
    assert "Traceback" not in err
    assert "labelled.csv 3行目: 「対話ノ場」というテーマはありません" in err
    assert "「対話の場」の書き間違いですか" in err
    assert "labelled.csv 6行目: 「信頼」というテーマはありません" in err
    assert "「資源」" not in err and "「相互理解」というテーマ" not in err


def test_evaluate_with_valid_labels_still_prints_the_table(tmp_path, capsys):
    path = tmp_path / "labelled.csv"
    path.write_text("text,themes\n予算が足りない,資源\n立場が違う,\n", encoding="utf-8")
    code, out, _ = run(["themes", "--evaluate", path, "--no-cache"], capsys)
    assert code == 0 and "micro" in out and "資源" in out


def test_evaluate_function_rejects_unknown_gold_labels():
    with pytest.raises(TH.LabelError) as info:
        TH.evaluate([("対等",), ()], [("対等",), ("対話ノ場",)], themes=["対等", "対話の場"])
    assert info.value.problems == ["2 件目: 「対話ノ場」というテーマはありません（「対話の場」の書き間違いですか？）"]


def test_csv_output_never_lets_a_comment_run_as_a_formula(tmp_path, capsys):
    import csv
    import io

    path = tmp_path / "c.txt"
    path.write_text("=1+1 予算が足りない\n@SUM(1+1)\n-1+2 信頼\n＋全角の話し合いの場\n対話の場は大切\n", encoding="utf-8")
    code, out, _ = run(["themes", "--text-file", path, "--no-cache"], capsys)
    assert code == 0
    texts = [row["text"] for row in csv.DictReader(io.StringIO(out))]
    assert texts == ["'=1+1 予算が足りない", "'@SUM(1+1)", "'-1+2 信頼", "'＋全角の話し合いの場", "対話の場は大切"]
