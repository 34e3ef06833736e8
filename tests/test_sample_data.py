"""The bundled sample files load cleanly and give the counts they were built with."""
import csv
import json
from collections import Counter
from pathlib import Path

from kyodo_analysis.cli import main
from kyodo_analysis.input.survey import load_questionnaires

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "data" / "raw").glob("sample_*"))
SOURCE = ROOT / "tools" / "sample_data"


YEARS = (2015, 2016, 2017, 2018, 2019)
# Source column of tools/sample_data/fy*.csv → question name the loader gives it, per year.
CHOICE_COLUMNS = {
    2018: {"age": "年代", "visits": "参加回数", "lecture_rating": "講演の満足度",
           "workshop_rating": "ワークショップの満足度", "heard": "開催を何で知りましたか",
           "interests": "関心のある分野(複数回答)"},
    2019: {"age": "年代", "visits": "参加は何回目ですか", "lecture_rating": "講演の満足度",
           "workshop_rating": "ワークショップの満足度", "heard": "この催しを何で知りましたか",
           "interests": "関心のある分野を選んでください(複数選択可)"},
}


def _source(year: int) -> list[dict[str, str]]:
    with open(SOURCE / f"fy{year}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_samples_cover_five_years_and_layouts():
    assert [p.name for p in SAMPLES] == ["sample_2016.xlsx", "sample_2017.xlsx", "sample_2018.xlsx",
                                         "sample_2019_forms.xlsx", "sample_2019_worksheet.xlsx", "sample_H27.csv"]
    survey = load_questionnaires(SAMPLES)
    assert survey.ok, [str(p) for p in survey.problems]
    assert sorted(survey.respondents["fiscal_year"].unique()) == list(YEARS)
    assert survey.respondents.groupby("fiscal_year").size().to_dict() == {y: len(_source(y)) for y in YEARS}


def test_summary_json_matches_the_counts_the_samples_were_built_with(capsys, raw_guard):
    assert main(["summary", *map(str, SAMPLES), "--format", "json"]) == 0
    expected = json.loads((SOURCE / "expected_counts.json").read_text("utf-8"))
    assert json.loads(capsys.readouterr().out) == expected


def test_every_source_comment_arrives_with_its_own_text():
    survey = load_questionnaires(SAMPLES)
    for year in YEARS:
        rows = _source(year)
        expected = sorted(r[q].strip() for r in rows for q in ("reason", "lecture", "workshop") if r.get(q, "").strip())
        got = sorted(survey.comments.loc[survey.comments["fiscal_year"] == year, "text"])
        assert got == expected, year


def test_choice_and_rating_answers_are_the_source_tables_recounted():
    survey = load_questionnaires(SAMPLES)
    choices = survey.choices
    assert sorted(choices["fiscal_year"].unique()) == [2018, 2019]
    for year, columns in CHOICE_COLUMNS.items():
        rows = _source(year)
        mine = choices[choices["fiscal_year"] == year]
        assert set(mine["question"]) == set(columns.values())
        for column, question in columns.items():
            answers = [part.strip() for r in rows for part in r[column].replace(";", ", ").split(", ") if part.strip()]
            answers += ["無回答"] * sum(not r[column] for r in rows)
            got = mine.loc[mine["question"] == question, "option"]
            assert Counter(got) == Counter(answers), (year, question)


def test_web_form_sample_leaves_names_addresses_and_times_behind(tmp_path):
    rows = _source(2019)
    secrets = {r["name"] for r in rows if r["name"]} | {r["email"] for r in rows} | {"example.jp"}
    secrets |= {r["started"][:16] for r in rows}
    survey = load_questionnaires([ROOT / "data" / "raw" / "sample_2019_forms.xlsx"])
    assert survey.ok and len(survey.respondents) == len(rows)
    assert any("個人情報" in note for note in survey.notes)
    assert main(["process", str(ROOT / "data" / "raw" / "sample_2019_forms.xlsx"), "--out", str(tmp_path)]) == 0
    written = [p.read_text(encoding="utf-8-sig") for p in sorted(tmp_path.glob("*.csv"))]
    assert len(written) == 3
    for frame in (survey.respondents, survey.comments, survey.choices):
        written.append(frame.to_csv())
    leaks = sorted({s for s in secrets for text in written if s in text or s.replace("-", "/") in text})
    assert leaks == []
