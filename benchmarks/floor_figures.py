"""The draw-and-save floor: only draw and save the report's figures, in the same formats and font.

Usage: python benchmarks/floor_figures.py [FILE_OR_FOLDER ...]   (default: data/raw)

Prints one JSON line: ``floor_cpu`` is the CPU seconds of a process that starts Python, imports
the plotting code, and draws and saves the same figures a ``report`` run makes, one after
another; computing the data the figures show is left out (it is measured, not counted).
The report's own CPU seconds are compared with this in ``bench_issue18.py``.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import kyodo_analysis  # noqa: F401  (first: keeps openpyxl off lxml, as in the real runs)
from kyodo_analysis import figures as plots

plots.warm_up()  # the Japanese font, as every figure needs it
START_CPU = time.process_time()  # interpreter start-up and plotting imports: part of the floor

from kyodo_analysis.input.survey import expand_inputs  # noqa: E402
from kyodo_analysis.report import build  # noqa: E402


def main(argv: list[str]) -> int:
    """Collect the report's figure jobs without drawing them, then draw and save them all."""
    files, _ = expand_inputs(argv or ["data/raw"])
    jobs: list = []

    def keep_jobs(self, workers: object) -> None:  # replaces _Writer.render: no drawing here
        jobs.extend((job, self.formats) for job in self.jobs)

    build._Writer.render = keep_jobs
    with tempfile.TemporaryDirectory(prefix="kyodo-floor-") as tmp:
        build.build_report(files, Path(tmp) / "report", processes=1)
        before = time.process_time()
        for job, formats in jobs:
            # A queued job holds its draw function and table (older checkouts: a closure).
            fig = job.make() if hasattr(job, "make") else build._figure_of(job.draw(job.data))
            plots.save_figure(fig, Path(tmp) / "figures" / job.name, formats=formats)
            fig.clear()
        drawn = time.process_time() - before
    print(json.dumps({"figures": len(jobs), "formats": list(jobs[0][1]) if jobs else [],
                      "floor_cpu": START_CPU + drawn, "start_cpu": START_CPU, "draw_cpu": drawn}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
