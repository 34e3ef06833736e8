"""The bundled sample files load cleanly and give the counts they were built with."""
import csv
import json
from pathlib import Path

from kyodo_analysis.cli import main
from kyodo_analysis.input.survey import load_questionnaires

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "data" / "raw").glob("sample_*"))
SOURCE = ROOT / "tools" / "sample_data"


def test_samples_cover_three_years_and_layouts():
    assert [p.name for p in SAMPLES] == ["sample_2016.xlsx", "sample_2017.xlsx", "sample_H27.csv"]
    survey = load_questionnaires(SAMPLES)
    assert survey.ok, [str(p) for p in survey.problems]
    assert sorted(survey.respondents["fiscal_year"].unique()) == [2015, 2016, 2017]


def test_summary_json_matches_the_counts_the_samples_were_built_with(capsys, raw_guard):
    assert main(["summary", *map(str, SAMPLES), "--format", "json"]) == 0
    expected = json.loads((SOURCE / "expected_counts.json").read_text("utf-8"))
    assert json.loads(capsys.readouterr().out) == expected


def test_every_source_comment_arrives_with_its_own_text():
    survey = load_questionnaires(SAMPLES)
    for year in (2015, 2016, 2017):
        with open(SOURCE / f"fy{year}.csv", encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        expected = sorted(r[q].strip() for r in rows for q in ("reason", "lecture", "workshop") if r.get(q, "").strip())
        got = sorted(survey.comments.loc[survey.comments["fiscal_year"] == year, "text"])
        assert got == expected, year
