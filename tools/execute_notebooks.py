"""Re-run notebooks top to bottom in a fresh kernel and save them with stable metadata.

Running this twice on unchanged code and data leaves the files byte-identical, so a
diff of a notebook shows only what the analysis itself changed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
TIMEOUT_SECONDS = 600


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


def execute(path: Path) -> None:
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


def main(paths: list[str]) -> int:
    """Execute every notebook given on the command line, in order."""
    for name in paths:
        print(f"実行中: {name}", flush=True)
        execute(Path(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
