"""Build the invented sample questionnaires in data/raw/ from the tables beside this script."""
from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook

from kyodo_analysis.export import save_workbook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RAW = ROOT / "data" / "raw"

GROUPS = ("市民", "職員", "その他")
ANSWERS = ("思う", "思わない", "どちらとも言えない", "無回答")
MARK_COLUMNS = ("思う", "どちらとも言えない", "思わない")

Row = dict[str, str]


# The rating questions of 2018 and 2019 share one 5-point scale (scales.toml: satisfaction5).
SATISFACTION = ("とても満足", "満足", "ふつう", "やや不満", "不満")
RATINGS = ("lecture_rating", "workshop_rating")


def read_table(fiscal_year: int) -> list[Row]:
    """Read one source table and reject values the loader could never see in a real file."""
    with open(HERE / f"fy{fiscal_year}.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        assert row["group"] in GROUPS, row
        assert row["intent"] in ANSWERS[:3] or row["intent"] == "", row
        assert all(row.get(r, "") in (*SATISFACTION, "") for r in RATINGS), row
        # Real files come out of Excel on Japanese Windows, so cp932 bounds what they can hold.
        for value in row.values():
            value.encode("cp932")
    assert [int(r["no"]) for r in rows] == list(range(1, len(rows) + 1)), fiscal_year
    return rows


def build_2017(rows: list[Row], path: Path) -> None:
    """Write the canonical layout: one 回答 sheet with a 区分 column, plus a 概要 sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "回答"
    ws["A1"] = "平成29年度 協働のまちづくりワークショップ アンケート集計（サンプル）"
    ws.append([])
    ws.append(["回答者ID", "区分", "所属", "問１　協働したいと思いますか？", "その理由", "講演について", "ワークショップについて"])
    for r in rows:
        texts = (r["intent_as_typed"], r["reason"], r["lecture"], r["workshop"])
        ws.append([int(r["no"]), r["group_as_typed"], r["affiliation"], *(t or None for t in texts)])
    for column, width in zip("ABCDEFG", (10, 16, 30, 14, 60, 40, 40)):
        ws.column_dimensions[column].width = width

    add_overview(wb, (("年度", "平成29年度"), ("開催日", dt.date(2017, 7, 25)),
                      ("会場", "市民活動センター 多目的ホール"), ("参加者数", 61), ("アンケート回答数", 52)))
    wb.active = 0
    save_workbook(wb, path)


def add_overview(wb: Workbook, items: Sequence[tuple[str, object]]) -> None:
    """Add the 概要 sheet offices keep beside the answers: label and value per row, the date second."""
    info = wb.create_sheet("概要")
    for label, value in items:
        info.append([label, value])
    info["B2"].number_format = "yyyy/m/d"
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 30


def build_2016(rows: list[Row], path: Path) -> None:
    """Write the mark layout: a sheet per group, each answer a mark in one of three columns."""
    wb = Workbook()
    wb.remove(wb.active)
    for group in ("市民", "職員"):
        ws = wb.create_sheet(group)
        ws["A1"] = "協働のまちづくりワークショップ　アンケート（サンプル）"
        ws["A2"] = "開催日：平成28年8月6日"
        ws.append([])
        ws.append(["No.", "所属", *MARK_COLUMNS, "理由", "ワークショップについて"])
        for r in (r for r in rows if r["group_as_typed"] == group):
            typed = r["intent_as_typed"]
            # Whoever keyed in the forms sometimes typed the digit 1; Excel stores that as a number.
            mark = int(typed) if typed.isdigit() else typed
            marks = [mark if r["intent"] == answer else None for answer in MARK_COLUMNS]
            texts = (r["reason"], r["workshop"])
            ws.append([int(r["no"]), r["affiliation"], *marks, *(t or None for t in texts)])
        for column, width in zip("ABCDEFG", (6, 30, 8, 10, 8, 60, 40)):
            ws.column_dimensions[column].width = width
    memo = wb.create_sheet("メモ")
    memo["A1"] = "入力メモ：回収した用紙を8月10日に入力。"
    memo["A3"] = "職員の1枚は問１に印がなかったため空欄のまま。"
    memo["A4"] = "講演の感想欄はこの年の用紙にはなし。"
    wb.active = 0
    save_workbook(wb, path)


def build_2015(rows: list[Row], path: Path) -> None:
    """Write the CSV layout as Excel saves it on Japanese Windows: cp932, CRLF, no title rows."""
    with open(path, "w", encoding="cp932", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["番号", "属性", "団体名", "協働したいと思いますか", "理由", "講演について"])
        for r in rows:
            writer.writerow([r["no"], r["group_as_typed"], r["affiliation"], r["intent_as_typed"],
                             r["reason"], r["lecture"]])


def build_2018(rows: list[Row], path: Path) -> None:
    """Write a whole questionnaire: attributes, 問1 and its reason, two ratings on one scale, comments,
    a single-choice and a multiple-choice question (joined with ``, `` as Google Forms does)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "回答"
    ws["A1"] = "平成30年度 協働のまちづくりワークショップ アンケート入力表（サンプル・架空のデータ）"
    ws.append([])
    ws.append(["回答者ID", "区分", "所属", "年代", "参加回数", "問１　協働したいと思いますか？", "その理由",
               "講演の満足度", "講演について", "ワークショップの満足度", "ワークショップについて",
               "開催を何で知りましたか", "関心のある分野（複数回答）"])
    for r in rows:
        values = (r["affiliation"], r["age"], r["visits"], r["intent_as_typed"], r["reason"], r["lecture_rating"],
                  r["lecture"], r["workshop_rating"], r["workshop"], r["heard"], r["interests"])
        ws.append([int(r["no"]), r["group_as_typed"], *(v or None for v in values)])
    for column, width in zip("ABCDEFGHIJKLM", (10, 12, 26, 8, 10, 14, 60, 12, 40, 12, 40, 18, 30)):
        ws.column_dimensions[column].width = width

    add_overview(wb, (("年度", "平成30年度"), ("開催日", dt.date(2018, 7, 28)),
                      ("テーマ", "災害に強いまちを一緒につくる"), ("会場", "市民活動センター 多目的ホール"),
                      ("参加者数", 57), ("アンケート回答数", len(rows))))
    wb.active = 0
    save_workbook(wb, path)


def build_2019_forms(rows: list[Row], path: Path) -> None:
    """Write a Microsoft Forms export: ID, 開始時刻, 完了時刻, メール, 名前, then the questions on Sheet1.

    Names and e-mail addresses are invented (example.jp) and show that the loader drops them;
    anonymous answers carry ``anonymous`` and no name, as Forms writes them. Multiple choices are
    joined with ``;`` and end with one, as Forms writes them.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["ID", "開始時刻", "完了時刻", "メール", "名前", "あなたの区分を教えてください", "年代",
               "参加は何回目ですか", "協働したいと思いますか？", "その理由を教えてください", "講演の満足度",
               "ワークショップの満足度", "ワークショップの感想をお聞かせください",
               "この催しを何で知りましたか", "関心のある分野を選んでください（複数選択可）"])
    for r in rows:
        started = dt.datetime.fromisoformat(r["started"])
        finished = started + dt.timedelta(minutes=int(r["minutes"]), seconds=17 * (int(r["no"]) % 3))
        values = (r["group_as_typed"], r["age"], r["visits"], r["intent_as_typed"], r["reason"], r["lecture_rating"],
                  r["workshop_rating"], r["workshop"], r["heard"], r["interests"])
        ws.append([int(r["no"]), started, finished, r["email"], r["name"] or None, *(v or None for v in values)])
    for row in ws.iter_rows(min_row=2, min_col=2, max_col=3):
        for cell in row:
            cell.number_format = "yyyy/m/d h:mm:ss"
    for column, width in zip("ABCDEFGHIJKLMNO", (6, 18, 18, 28, 14, 14, 8, 12, 14, 60, 12, 12, 40, 18, 30)):
        ws.column_dimensions[column].width = width
    save_workbook(wb, path)


def expected_counts(tables: dict[int, list[Row]]) -> list[dict[str, object]]:
    """Count answers per fiscal year and group, zeros included, in report order."""
    counts = []
    for year, rows in sorted(tables.items()):
        tally = Counter((r["group"], r["intent"] or "無回答") for r in rows)
        present = {r["group"] for r in rows}
        for group in (g for g in GROUPS if g in present):
            for answer in ANSWERS:
                counts.append({"fiscal_year": year, "group": group, "answer": answer,
                               "count": tally[group, answer]})
    return counts


def main() -> None:
    """Rebuild all five sample files and the expected counts."""
    tables = {year: read_table(year) for year in (2015, 2016, 2017, 2018, 2019)}
    RAW.mkdir(parents=True, exist_ok=True)
    build_2017(tables[2017], RAW / "sample_2017.xlsx")
    build_2016(tables[2016], RAW / "sample_2016.xlsx")
    build_2015(tables[2015], RAW / "sample_H27.csv")
    build_2018(tables[2018], RAW / "sample_2018.xlsx")
    build_2019_forms(tables[2019], RAW / "sample_2019_forms.xlsx")
    text = json.dumps(expected_counts(tables), ensure_ascii=False, indent=2) + "\n"
    (HERE / "expected_counts.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
