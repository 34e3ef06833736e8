"""nbval guards the committed notebook numbers: a changed answer in the raw data must fail it."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import run_notebooks  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = ["01-load-and-validate.ipynb", "02-collaboration-intent.ipynb",
            "03-free-text-themes.ipynb", "04-report-export.ipynb", "05-question-types.ipynb",
            "06-group-worksheets.ipynb"]
# Absolute paths (POSIX, Windows drives and UNC shares) and this machine's own folders.
LEAK = re.compile("|".join([
    r"/(?:work|home|root|tmp|Users|private|var/folders)/", r"\b[A-Za-z]:[\\/]", r"\\\\[A-Za-z0-9_.-]+\\",
    r"\\Users\\",
    *(re.escape(str(folder)) for folder in (ROOT, Path.home()) if len(folder.parts) > 1),
]))
MEMORY_ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]{6,}")
TIMESTAMP = re.compile(r"\b20\d\d-\d\d-\d\d[ T]\d\d:\d\d")


def _nbval(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "notebooks",
         "--nbval-sanitize-with", "notebooks/sanitize.cfg", "-q"],
        cwd=project, capture_output=True, text=True,
    )


@pytest.mark.slow
def test_nbval_passes_on_the_data_and_fails_when_one_answer_changes(tmp_path):
    project = run_notebooks.copy_sample_project(tmp_path, names=["02-collaboration-intent.ipynb"])
    assert _nbval(project).returncode == 0
    # One citizen's 「思う」 in the notebooks' year (parameters.toml: 2018) becomes 「思わない」: 19 → 18
    # in the committed count table (tools/sample_data/fy2018.csv: 19 citizens answered 思う).
    workbook_path = project / "data" / "raw" / "sample_2018.xlsx"
    workbook = load_workbook(workbook_path)
    sheet = workbook["回答"]
    row = next(r for r in range(4, sheet.max_row + 1) if sheet[f"B{r}"].value == "NPO" and sheet[f"F{r}"].value == "思う")
    sheet[f"F{row}"] = "思わない"
    workbook.save(workbook_path)
    failed = _nbval(project)
    assert failed.returncode != 0
    report = re.sub(r"\x1b\[[0-9;]*m", "", failed.stdout)
    assert "02-collaboration-intent.ipynb::Cell 3" in report and "Cell outputs differ" in report
    assert "-      <td>18</td>" in report and "+      <td>19</td>" in report


def _output_texts(notebook: nbformat.NotebookNode) -> list[str]:
    """Every text an output shows (streams, text/plain, HTML…), leaving out base64 images."""
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                texts.append(output.text)
            for mime, value in output.get("data", {}).items():
                if not mime.startswith("image/"):
                    texts.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return texts


def test_all_six_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_executed_and_portable(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    for name in ("FISCAL_YEAR", "RAW_DIR"):
        assert re.search(rf"^{name} = ", code[0].source, re.MULTILINE), name
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert all(o.output_type != "error" for c in code for o in c.outputs)
    texts = _output_texts(notebook)
    assert texts, "保存された出力がありません。make notebooks で実行してから保存してください"
    # Base64 images are left out: by chance they can contain a string such as "/tmp/".
    for text in texts + [c.source for c in notebook.cells] + [json.dumps(notebook.metadata)]:
        found = LEAK.search(text)
        assert not found, f"絶対パスが含まれています: {found.group()}"
    for text in texts:
        assert not MEMORY_ADDRESS.search(text) and not TIMESTAMP.search(text), text[:200]
    assert path.stat().st_size < 2_000_000


def test_the_notebook_sandbox_holds_the_samples_and_never_a_real_questionnaire(tmp_path):
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "notebooks" / "01-a.ipynb").write_text("{}", encoding="utf-8")
    (root / "notebooks" / "sanitize.cfg").write_text("", encoding="utf-8")
    (root / "data" / "raw").mkdir(parents=True)
    for name in ("sample_2016.xlsx", "sample_H27.csv", "2018.xlsx", "R1_アンケート.csv"):
        (root / "data" / "raw" / name).write_bytes(b"x")
    copy = run_notebooks.copy_sample_project(tmp_path / "copy", root)
    assert sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()) == [
        "data/raw/sample_2016.xlsx", "data/raw/sample_H27.csv", "notebooks/01-a.ipynb", "notebooks/sanitize.cfg",
    ]
    assert (copy / "data" / "processed").is_dir()
