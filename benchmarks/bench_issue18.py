"""Issue 18's table: each speed target beside its baseline, measured in the same run.

Usage: .venv/bin/python benchmarks/bench_issue18.py [--respondents 10000] [--lines 6000]
           [--compare NAME=PYTHON:ROOT ...] [--skip-large] [--tests]

Every measure is a whole process started here (``python -m kyodo_analysis.cli`` and small
scripts) with a private token cache, so the user's cache is left alone. ``--compare`` runs
the same measures against another checkout (e.g. ``before=/tmp/basevenv/bin/python:/tmp/base``
for main in a ``git worktree``), one column each; this checkout is always the last column.
Ratios, not seconds, are compared with the targets: the machine may be shared.

It is heavy (a 10,000-respondent report cold and warm per checkout): run it on purpose only.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Bare janome on one core: the domain dictionary of the checkout, nothing else.
BARE_JANOME = """
import json, sys, time
from kyodo_analysis.text.tokens import get_tokenizer
texts = json.load(open(sys.argv[1], encoding="utf-8"))
tokenizer = get_tokenizer()
for text in texts:
    for _ in tokenizer.tokenize(text):
        pass
"""

# In one process: a warm report's stage timings.
WARM_STAGES = """
import json, sys, time
import kyodo_analysis
from kyodo_analysis.input.survey import expand_inputs
from kyodo_analysis.report.build import build_report
files, _ = expand_inputs([sys.argv[1]])
start = time.perf_counter()
result = build_report(files, sys.argv[2])
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "quotes": result.timings.get("引用の選定", 0.0)}))
"""

# Word data in a process of its own with the disk cache warm: nothing this process read
# before (no tokens in memory, no masker results) helps it.
WARM_WORD_DATA = """
import json, sys, time
import kyodo_analysis
from kyodo_analysis.input.survey import expand_inputs, load_questionnaires
from kyodo_analysis.text.words import word_data
files, _ = expand_inputs([sys.argv[1]])
comments = load_questionnaires(files).comments.dropna(subset=["fiscal_year"])
cpu = time.process_time()
word_data(comments)
print(json.dumps({"word_data_cpu": time.process_time() - cpu}))
"""

UNIQUE_COMMENTS = """
import json, sys
import kyodo_analysis
from kyodo_analysis.input.survey import expand_inputs, load_questionnaires
files, _ = expand_inputs([sys.argv[1]])
texts = [str(t) for t in load_questionnaires(files).comments["text"]]
json.dump(list(dict.fromkeys(texts)), open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
"""


@dataclass
class Checkout:
    """A checkout to measure: its Python (with its dependencies) and its folder."""

    name: str
    python: str
    root: Path
    results: dict[str, tuple[float, float]] = field(default_factory=dict)  # measure → (value, baseline)


def run(checkout: Checkout, args: list[str], cache: Path, *, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> tuple[float, float, str, float]:
    """Run one process; return its wall and CPU seconds, stdout and peak memory (MiB).

    CPU seconds and the peak cover its waited-for children too (the figure workers):
    the peak is the largest resident set of any one of them, as /usr/bin/time reports it.
    """
    environment = {**os.environ, "KYODO_CACHE_DIR": str(cache), **(env or {})}
    environment.pop("KYODO_DEBUG", None)
    out = tempfile.TemporaryFile()
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd or checkout.root, env=environment, stdout=out,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    out.seek(0)
    text = out.read().decode("utf-8", "replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{checkout.name}: {' '.join(map(str, args))} failed:\n{text[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, text, usage.ru_maxrss / 1024


def cli(checkout: Checkout, *args: object) -> list[str]:
    return [checkout.python, "-m", "kyodo_analysis.cli", *map(str, args)]


def generate(folder: Path, respondents: int) -> Path:
    """Invented questionnaires (bench_report's generator): ten years of ``respondents / 10`` each."""
    sys.path.insert(0, str(HERE))
    from bench_report import generate as write_years

    folder.mkdir(parents=True, exist_ok=True)
    write_years(folder, 10, respondents // 10, 1)
    return folder


def measure(checkout: Checkout, work: Path, large: Path | None, lines: int) -> None:
    """Fill ``checkout.results``: each issue-18 measure and its baseline."""
    cache = work / f"cache-{checkout.name}"
    raw = checkout.root / "data" / "raw"
    out = work / f"reports-{checkout.name}"
    say = lambda text: print(f"  [{checkout.name}] {text}", file=sys.stderr, flush=True)  # noqa: E731

    say("sample report (cache warmed first)")
    run(checkout, cli(checkout, "report", raw, "--out", out), cache)
    wall_report, cpu_report, _, _ = min((run(checkout, cli(checkout, "report", raw, "--out", out), cache)
                                         for _ in range(2)), key=lambda r: r[1])
    _, _, floor, _ = run(checkout, [checkout.python, str(HERE / "floor_figures.py"), raw], cache)
    checkout.results["sample report CPU / draw-and-save floor"] = (cpu_report, json.loads(floor)["floor_cpu"])
    # The largest resident set of any one process of the run (the parent or a figure worker).
    peak = min(run(checkout, cli(checkout, "report", raw, "--out", out), cache)[3] for _ in range(2))
    checkout.results["sample report peak memory, MiB (target < 400)"] = (peak, 400.0)

    say("make report")
    venv = Path(checkout.python).parent.parent
    wall_make, *_ = run(checkout, ["make", "report", f"VENV={venv}"], cache)
    checkout.results["make report wall / one report wall"] = (wall_make, wall_report)

    if large is not None:
        unique = work / f"unique-{checkout.name}.json"
        run(checkout, [checkout.python, "-c", UNIQUE_COMMENTS, large, unique], cache)
        say("bare janome on the large data's unique comments")
        wall_janome, *_ = run(checkout, [checkout.python, "-c", BARE_JANOME, unique], cache)
        say("large report, cold cache")
        cold = work / f"cache-cold-{checkout.name}"
        wall_cold, *_ = run(checkout, cli(checkout, "report", large, "--out", out), cold)
        checkout.results["large cold report wall (2 cores) / bare janome (1 core)"] = (wall_cold, wall_janome)
        say("large report, warm cache, stage timings")
        _, _, stages, _ = run(checkout, [checkout.python, "-c", WARM_STAGES, large, out], cold)
        timing = json.loads(stages.strip().splitlines()[-1])
        checkout.results["quote selection / warm large report"] = (timing["quotes"], timing["wall"])
        words = min(json.loads(run(checkout, [checkout.python, "-c", WARM_WORD_DATA, large], cold)[2]
                               .strip().splitlines()[-1])["word_data_cpu"] for _ in range(2))
        checkout.results["word data CPU s, warm cache, own process, large (target ≤ 1 s)"] = (words, 1.0)

        texts = json.loads(unique.read_text("utf-8"))[:lines]
        text_file = work / f"lines-{checkout.name}.txt"
        text_file.write_text("\n".join(t.replace("\n", " ").replace("\r", " ") for t in texts) + "\n", "utf-8")
        json_file = work / f"lines-{checkout.name}.json"
        json_file.write_text(json.dumps([t.replace("\n", " ").replace("\r", " ") for t in texts],
                                        ensure_ascii=False), "utf-8")
        say(f"themes --no-cache on {len(texts)} lines, and bare janome on them")
        wall_themes, *_ = run(checkout, cli(checkout, "themes", "--text-file", text_file, "--no-cache"), cache)
        wall_bare, *_ = run(checkout, [checkout.python, "-c", BARE_JANOME, json_file], cache)
        checkout.results["themes --no-cache wall / bare janome wall"] = (wall_themes, wall_bare)


def measure_tests(checkout: Checkout, work: Path) -> None:
    """``make test`` of the checkout (unit tests and notebooks), wall seconds; its venv is taken as installed."""
    venv = Path(checkout.python).parent.parent
    print(f"  [{checkout.name}] make test", file=sys.stderr, flush=True)
    wall, *_ = run(checkout, ["make", "-o", str(venv / ".installed"), "test", f"VENV={venv}"],
                   work / f"cache-tests-{checkout.name}")
    checkout.results["make test wall, s (target ≤ half of before)"] = (wall, 1.0)


TARGETS = {
    "sample report CPU / draw-and-save floor": "≤ 1.3×",
    "make report wall / one report wall": "≤ 1.5×",
    "large cold report wall (2 cores) / bare janome (1 core)": "≤ 1.2×",
    "quote selection / warm large report": "≤ 3 %",
    "word data CPU s, warm cache, own process, large (target ≤ 1 s)": "≤ 1 s",
    "themes --no-cache wall / bare janome wall": "≤ 1.1×",
    "sample report peak memory, MiB (target < 400)": "< 400 MiB",
    "make test wall, s (target ≤ half of before)": "≤ ½ before",
}


def cell(measure: str, value: float, baseline: float) -> str:
    if measure.startswith("word data"):
        return f"{value:.2f} s"
    if measure.startswith("sample report peak"):
        return f"{value:.0f} MiB"
    if measure.startswith("make test"):
        return f"{value:.0f} s"
    if measure.startswith("quote"):
        return f"{100 * value / baseline:.1f} % ({value:.1f}/{baseline:.1f} s)"
    return f"{value / baseline:.2f}× ({value:.1f}/{baseline:.1f} s)"


def main() -> int:
    """Measure every checkout and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=10000)
    parser.add_argument("--lines", type=int, default=6000, help="lines for themes --no-cache")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=PYTHON:ROOT")
    parser.add_argument("--skip-large", action="store_true", help="only the sample data")
    parser.add_argument("--tests", action="store_true", help="also time make test (minutes per checkout)")
    args = parser.parse_args()
    checkouts = []
    for spec in args.compare:
        name, _, rest = spec.partition("=")
        python, _, root = rest.partition(":")
        checkouts.append(Checkout(name, python, Path(root).resolve()))
    checkouts.append(Checkout("this", str(ROOT / ".venv" / "bin" / "python"), ROOT))
    work = Path(tempfile.mkdtemp(prefix="kyodo-bench18-"))
    try:
        large = None if args.skip_large else generate(work / "large", args.respondents)
        for checkout in checkouts:
            measure(checkout, work, large, args.lines)
            if args.tests:
                measure_tests(checkout, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{os.cpu_count()} CPUs; large data = {args.respondents} generated respondents; value (measure/baseline)")
    print("| measure | target | " + " | ".join(c.name for c in checkouts) + " |")
    print("|---|---|" + "---|" * len(checkouts))
    for measure_name, target in TARGETS.items():
        cells = [cell(measure_name, *c.results[measure_name]) if measure_name in c.results else "–" for c in checkouts]
        print(f"| {measure_name} | {target} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
