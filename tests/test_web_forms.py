"""Web-form exports (Microsoft Forms .xlsx, Google Forms .csv): personal and timestamp columns never leave the loader."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cli_runs import run_main
from kyodo_analysis.input.survey import load_questionnaire
from workbooks import write_csv, write_xlsx

NAMES = ["鈴木 太郎", "Taro Suzuki", "佐藤 花子", "田中 一郎"]
MAILS = ["suzuki.taro@example.jp", "sato@example.jp", "tanaka-ichiro@example.co.jp", "info@example.org"]
REASONS = ["地域の課題を一緒に考えたい", "行政と市民の距離が近づいた", "忙しくて時間がとれない", "また参加したいと思った"]
SECRETS = [*NAMES, *MAILS, "suzuki", "Suzuki", "taro", "example", "10:03", "10:07", "2019-06-01 10", "2019/06/01 10"]


def _ms_forms(path: Path) -> Path:
    rows: list[list[object]] = [["ID", "開始時刻", "完了時刻", "メール", "名前", "区分", "協働したいと思いますか",
                                  "講演の満足度", "年代", "その理由"]]
    for i in range(4):
        start = dt.datetime(2019, 6, 1, 10, 3 + i)
        rows.append([i + 1, start, start + dt.timedelta(minutes=4), MAILS[i], NAMES[i],
                     ["市民", "職員"][i % 2], ["思う", "思わない"][i // 3], ["満足", "ふつう", "とても満足", "不満"][i],
                     ["20代", "30代", "20代", "40代"][i], REASONS[i]])
    return write_xlsx(path, {"Sheet1": rows})


def _google_forms(path: Path) -> Path:
    rows: list[list[object]] = [["タイムスタンプ", "メールアドレス", "1. あなたの区分を教えてください",
                                  "2. 協働したいと思いますか？", "3. 講演の満足度", "4. 何で知りましたか", "5. その理由",
                                  "6. お名前"]]
    for i in range(4):
        rows.append([f"2019/06/01 10:0{3 + i}:00", MAILS[i], ["市民", "職員"][i % 2], ["思う", "思わない"][i // 3],
                     ["満足", "ふつう", "とても満足", "不満"][i], ["広報, チラシ", "チラシ", "知人", "広報"][i],
                     REASONS[i], NAMES[i]])
    return write_csv(path, rows)


MAKERS = {"ms_forms.xlsx": _ms_forms, "google_forms.csv": _google_forms}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_web_form_loads_with_the_right_counts(tmp_path: Path, name: str) -> None:
    survey = load_questionnaire(MAKERS[name](tmp_path / name))
    assert survey.ok, [str(p) for p in survey.problems]
    assert len(survey.respondents) == 4
    assert survey.respondents["fiscal_year"].tolist() == [2019] * 4
    assert survey.respondents["intent"].astype(str).tolist() == ["思う", "思う", "思う", "思わない"]
    # Only the reason is free text: no rating, attribute, choice, personal or time column.
    assert set(survey.comments["text"]) == set(REASONS)
    assert any("個人情報" in note for note in survey.notes)


def _texts(folder: Path) -> list[tuple[Path, str]]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".csv", ".html", ".svg", ".md", ".txt", ".json"):
            found.append((path, path.read_text(encoding="utf-8-sig", errors="replace")))
        elif path.suffix == ".xlsx":
            book = load_workbook(path, read_only=True)
            cells = [str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
                     if v is not None]
            found.append((path, "\n".join(cells)))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_no_name_address_or_timestamp_in_any_output(tmp_path: Path, name: str, capsys) -> None:
    source = MAKERS[name](tmp_path / name)
    processed, reports = tmp_path / "processed", tmp_path / "reports"
    assert run_main(["process", source, "--out", processed], capsys)[0] == 0
    assert run_main(["report", source, "--out", reports], capsys)[0] == 0
    outputs = _texts(processed) + _texts(reports)
    assert any(p.suffix == ".svg" for p, _ in outputs) and any(p.suffix == ".xlsx" for p, _ in outputs)
    leaks = [(p.name, s) for p, text in outputs for s in SECRETS if s in text]
    assert leaks == []
