"""nbval guards the committed notebook numbers: a changed answer in the raw data must fail it."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _copy_project(tmp_path: Path) -> Path:
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "02-collaboration-intent.ipynb", tmp_path / "notebooks")
    shutil.copy(ROOT / "notebooks" / "sanitize.cfg", tmp_path / "notebooks")
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    for sample in (ROOT / "data" / "raw").glob("sample_*"):
        shutil.copy(sample, raw)
    return tmp_path


def _nbval(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "notebooks",
         "--nbval-sanitize-with", "notebooks/sanitize.cfg", "-q"],
        cwd=project, capture_output=True, text=True,
    )


def test_nbval_passes_on_the_data_and_fails_when_one_answer_changes(tmp_path):
    project = _copy_project(tmp_path)
    assert _nbval(project).returncode == 0
    # One 2017 citizen's 「思う」 becomes 「思わない」: 19 → 18 in the committed count table.
    workbook_path = project / "data" / "raw" / "sample_2017.xlsx"
    workbook = load_workbook(workbook_path)
    sheet = workbook["回答"]
    row = next(r for r in range(4, sheet.max_row + 1) if sheet[f"B{r}"].value == "NPO" and sheet[f"D{r}"].value == "思う")
    sheet[f"D{row}"] = "思わない"
    workbook.save(workbook_path)
    failed = _nbval(project)
    assert failed.returncode != 0
    report = re.sub(r"\x1b\[[0-9;]*m", "", failed.stdout)
    assert "02-collaboration-intent.ipynb::Cell 3" in report and "Cell outputs differ" in report
    assert "-      <td>18</td>" in report and "+      <td>19</td>" in report


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_executed_and_portable(path):
    notebook = nbformat.read(path, as_version=4)
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    text = path.read_text("utf-8")
    for leak in ("/work/", "/home/", "/root/", "/tmp/", "\\\\Users\\\\"):
        assert leak not in text
    assert path.stat().st_size < 2_000_000
    assert all(o.output_type != "error" for c in code for o in c.outputs)
