"""Execute or check the notebooks on the bundled samples, in a throw-away copy of the project.

The committed notebook outputs are those of the invented samples. Executing or checking
them inside the real project would read whatever real questionnaires sit in data/raw/
(and could save their comments into tracked notebooks) and would overwrite the
analyst's data/processed/ and reports/. A copy holding only the notebooks and the
samples avoids all three. Executing twice on unchanged code and data leaves the
notebook files byte-identical, so a diff shows only what the analysis itself changed.

Usage: python tools/run_notebooks.py check [PYTEST-ARGS]    nbval over every notebook (make test)
       python tools/run_notebooks.py execute [NOTEBOOK...]  re-execute and save (make notebooks)
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from kyodo_analysis.config import default_processes

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = "notebooks"
RAW = Path("data") / "raw"
USAGE = "使い方: python tools/run_notebooks.py check | execute [ノートブック...]"
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
TIMEOUT_SECONDS = 600
PARAMETERS = "parameters.toml"


def _stable(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what changes from machine to machine or run to run (versions, timings, ids)."""
    notebook.metadata = nbformat.from_dict({
        "kernelspec": KERNEL,
        "language_info": {"name": "python"},
    })
    for index, cell in enumerate(notebook.cells, start=1):
        cell["id"] = f"cell-{index:02d}"
        tags = cell.get("metadata", {}).get("tags")
        cell["metadata"] = nbformat.from_dict({"tags": tags} if tags else {})
    return notebook


def execute_in_place(path: Path) -> None:
    """Execute one notebook in its own folder and write it back in place."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = NotebookClient(
        notebook, timeout=TIMEOUT_SECONDS, kernel_name=KERNEL["name"],
        resources={"metadata": {"path": str(path.parent)}}, record_timing=False,
    )
    client.execute()
    nbformat.validate(_stable(notebook))
    text = nbformat.writes(notebook) + "\n"
    path.write_text(text, encoding="utf-8")


def copy_sample_project(dest: Path, root: Path = ROOT, names: Sequence[str] = ()) -> Path:
    """Copy the notebooks (all, or ``names``), sanitize.cfg, parameters.toml and only the bundled samples into ``dest``."""
    from kyodo_analysis.input.survey import is_sample

    (dest / NOTEBOOKS).mkdir(parents=True)
    chosen = list(names) or sorted(p.name for p in (root / NOTEBOOKS).glob("*.ipynb"))
    for name in [*chosen, "sanitize.cfg"]:
        shutil.copy2(root / NOTEBOOKS / name, dest / NOTEBOOKS / name)
    # The one place the notebooks read their fiscal year from.
    if (root / NOTEBOOKS / PARAMETERS).is_file():
        shutil.copy2(root / NOTEBOOKS / PARAMETERS, dest / NOTEBOOKS / PARAMETERS)
    (dest / RAW).mkdir(parents=True)
    (dest / "data" / "processed").mkdir()
    for path in sorted((root / RAW).iterdir()):
        if path.is_file() and is_sample(path):
            shutil.copy2(path, dest / RAW / path.name)
    return dest


@contextlib.contextmanager
def sample_project(root: Path = ROOT, names: Sequence[str] = ()) -> Iterator[Path]:
    """A temporary copy of the project's notebooks and samples, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="kyodo-notebooks-") as tmp:
        yield copy_sample_project(Path(tmp), root, names)


def _keep_token_cache_warm() -> None:
    # The cache is keyed by text, dictionary and janome version, so sharing it is safe.
    os.environ.setdefault("KYODO_CACHE_DIR", str(ROOT / ".cache" / "kyodo-analysis"))


def check(extra: list[str]) -> int:
    """Run nbval over every notebook of a sample copy; return pytest's exit code."""
    import pytest

    _keep_token_cache_warm()
    with sample_project() as project:
        previous = Path.cwd()
        os.chdir(project)
        try:
            # One notebook per worker, its cells in order in one kernel; only 01 writes
            # data/processed and only 04 writes reports/, so no two notebooks share an output.
            workers = ["-n", str(default_processes()), "--dist", "loadfile"] if default_processes() > 1 else []
            return int(pytest.main(["-p", "no:cacheprovider", *workers, "--nbval", NOTEBOOKS,
                                    "--nbval-sanitize-with", f"{NOTEBOOKS}/sanitize.cfg", *extra]))
        finally:
            os.chdir(previous)


def execute(names: list[str]) -> int:
    """Re-execute notebooks in a sample copy and save them back into notebooks/."""
    _keep_token_cache_warm()
    chosen = [Path(n).name for n in names] or sorted(p.name for p in (ROOT / NOTEBOOKS).glob("*.ipynb"))
    with sample_project(names=chosen) as project:
        for name in chosen:
            print(f"実行中: {NOTEBOOKS}/{name}", flush=True)
            execute_in_place(project / NOTEBOOKS / name)
            # Through a temporary file beside it: an interrupted run never leaves a truncated notebook.
            staged = ROOT / NOTEBOOKS / f".{name}.tmp"
            shutil.copyfile(project / NOTEBOOKS / name, staged)
            os.replace(staged, ROOT / NOTEBOOKS / name)
    return 0


def main(argv: list[str]) -> int:
    """Dispatch ``check`` or ``execute``."""
    if not argv or argv[0] not in ("check", "execute"):
        print(USAGE, file=sys.stderr)
        return 2
    return check(argv[1:]) if argv[0] == "check" else execute(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
