"""`kyodo-analysis codebook` and --codebook: round trip, explicit entries, coded problems with line or cell."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli_runs import run_main
from test_web_forms import MAKERS

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _inputs(tmp_path: Path, which: str) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    if which == "samples":
        for path in RAW.glob("sample_*"):
            shutil.copy(path, folder / path.name)
    else:
        MAKERS[which](folder / which)
    return folder


@pytest.mark.parametrize("which", ["samples", *sorted(MAKERS)])
def test_codebook_saved_and_passed_back_gives_the_same_output(tmp_path: Path, which: str, capsys) -> None:
    folder = _inputs(tmp_path, which)
    code, text, _ = run_main(["codebook", folder], capsys)
    assert code == 0
    saved = tmp_path / "codebook.toml"
    saved.write_text(text, encoding="utf-8")
    assert run_main(["process", folder, "--out", tmp_path / "plain"], capsys)[0] == 0
    assert run_main(["process", folder, "--codebook", saved, "--out", tmp_path / "coded"], capsys)[0] == 0
    assert _tree(tmp_path / "plain") == _tree(tmp_path / "coded")
    # The codebook of the codebook's output is the same text again.
    (folder / "codebook.toml").write_text(text, encoding="utf-8")
    assert run_main(["codebook", folder], capsys)[1] == text


def test_codebook_in_the_input_folder_is_used_and_not_read_as_a_questionnaire(tmp_path: Path, capsys) -> None:
    folder = _inputs(tmp_path, "ms_forms.xlsx")
    text = run_main(["codebook", folder], capsys)[1]
    (folder / "codebook.toml").write_text(text.replace('question = "講演の満足度"', 'question = "講演"'), encoding="utf-8")
    assert run_main(["process", folder, "--out", tmp_path / "out"], capsys)[0] == 0
    choices = (tmp_path / "out" / "choices.csv").read_text(encoding="utf-8-sig")
    assert ",講演,rating," in choices and "講演の満足度" not in choices


def test_unknown_role_is_a_coded_problem_with_its_line(tmp_path: Path, capsys) -> None:
    folder = _inputs(tmp_path, "ms_forms.xlsx")
    book = tmp_path / "cb.toml"
    book.write_text('[[column]]\nheader = "年代"\nrole = "age"\n', encoding="utf-8")
    code, _, err = run_main(["validate", folder, "--codebook", book], capsys)
    assert code == 1
    assert "3行目" in err and "[codebook-unknown-role]" in err and "Traceback" not in err


def test_out_of_scale_value_is_a_coded_problem_with_its_cell(tmp_path: Path, capsys) -> None:
    folder = _inputs(tmp_path, "ms_forms.xlsx")
    book = tmp_path / "cb.toml"
    book.write_text('[[column]]\nheader = "講演の満足度"\nrole = "rating"\n'
                    'options = ["とても満足", "満足", "やや不満", "不満"]\n', encoding="utf-8")
    code, out, err = run_main(["validate", folder, "--codebook", book], capsys)
    assert code == 1
    assert "Sheet1!H3" in out + err  # row 3 answered ふつう, outside the options
    from kyodo_analysis.input.codebook import OUT_OF_OPTIONS, read_codebook
    from kyodo_analysis.input.survey import load_questionnaires

    codebook, _ = read_codebook(book.read_text(encoding="utf-8"), book)
    survey = load_questionnaires([folder / "ms_forms.xlsx"], codebook=codebook)
    assert [(p.code, p.cell) for p in survey.problems] == [(OUT_OF_OPTIONS, "H3")]


def test_codebook_column_that_is_not_there_is_a_problem_with_its_line(tmp_path: Path, capsys) -> None:
    folder = _inputs(tmp_path, "google_forms.csv")
    book = tmp_path / "cb.toml"
    book.write_text('# コメント\n\n[[column]]\nheader = "性別"\nrole = "attribute"\n', encoding="utf-8")
    code, out, err = run_main(["validate", folder, "--codebook", book], capsys)
    assert code == 1
    assert "cb.toml 3行目" in out + err and "[codebook-missing-column]" in out + err
