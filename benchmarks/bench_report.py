"""Time ``report.build_report`` stage by stage on the sample data and on a generated data set.

Usage: .venv/bin/python benchmarks/bench_report.py [--years 10] [--per-year 200] [--seed 1]
                                                  [--processes N] [--skip-large]

For each data set the report is built twice with a fresh token cache: the first run
tokenises every comment (cold), the second reuses the cache (warm, the usual case
after set-up). Prints each stage (load, theme tagging, word counts, each figure,
tables, index) and checks the target: the sample report in under 10 seconds.
"""
from __future__ import annotations

import argparse
import atexit
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# A private cache, so "cold" really starts empty and the user's cache is left alone.
os.environ["KYODO_CACHE_DIR"] = tempfile.mkdtemp(prefix="kyodo-bench-cache-")
atexit.register(shutil.rmtree, os.environ["KYODO_CACHE_DIR"], ignore_errors=True)

import kyodo_analysis  # noqa: E402,F401  (first: keeps openpyxl off lxml, as in the real runs)
from openpyxl import Workbook  # noqa: E402

from kyodo_analysis.report import build as report  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - START
TARGET_SECONDS = 10.0

HEADER = ("回答者ID", "区分", "所属", "問１　協働したいと思いますか？", "その理由", "講演について", "ワークショップについて")
GROUPS = ["NPO", "市民活動団体", "自治会", "企業", "職員", "職員", "市職員", "見学者"]
ANSWERS = ["思う", "思う", "思う", "どちらとも言えない", "どちらとも言えない", "思わない", None]
WHO = ["行政", "市民", "NPO", "自治会", "担当課", "地域の団体", "企業", "住民", "職員", "若い人"]
WHAT = ["お互いの立場", "活動の目的", "情報", "話し合いの場", "役割分担", "信頼関係", "予算や人手",
        "ふりかえりの機会", "対等な関係", "地域の課題", "自主性", "事業の成果", "子どもの居場所", "防災の取り組み"]
HOW = ["を理解し合うことが大切だと思った", "をもっと共有したい", "が足りないと感じた", "を一緒に考えたい",
       "を続けていくことが必要だ", "がよく分かった", "を見直すきっかけになった", "について率直に話せた"]
TAIL = ["。", "。", "。また、", "。ただ、", "ので、"]


def comment(rng: random.Random) -> str:
    """Return one invented comment of one to three clauses."""
    text = ""
    for _ in range(rng.randint(1, 3)):
        text += f"{rng.choice(WHO)}と{rng.choice(WHO)}の{rng.choice(WHAT)}{rng.choice(HOW)}{rng.choice(TAIL)}"
    return text.rstrip("、また、ただ、ので") + ("" if text.endswith("。") else "。")


def generate(folder: Path, years: int, per_year: int, seed: int) -> list[Path]:
    """Write one .xlsx per fiscal year (2008 onwards) with ``per_year`` respondents each."""
    rng = random.Random(seed)
    paths = []
    for offset in range(years):
        fy = 2008 + offset
        wb = Workbook()
        ws = wb.active
        ws.title = "回答"
        ws.append([f"{fy}年度 協働のまちづくりワークショップ"])
        ws.append([])
        ws.append(list(HEADER))
        for i in range(per_year):
            ws.append([
                str(i + 1), rng.choice(GROUPS), None, rng.choice(ANSWERS),
                comment(rng) if rng.random() < 0.8 else None,
                comment(rng) if rng.random() < 0.5 else None,
                comment(rng) if rng.random() < 0.5 else None,
            ])
        path = folder / f"generated_{fy}.xlsx"
        wb.save(path)
        paths.append(path)
    return paths


def run(label: str, paths: list[Path], processes: int | None) -> float:
    """Build the report twice (cold then warm cache) and print every stage; return warm seconds."""
    walls = []
    for attempt in ("cold", "warm"):
        with tempfile.TemporaryDirectory(prefix="kyodo-bench-") as tmp:
            start = time.perf_counter()
            result = report.build_report(paths, Path(tmp) / "report", processes=processes)
            wall = time.perf_counter() - start
        walls.append(wall)
        print(f"\n== {label} ({attempt} token cache): {wall:.2f} s, {len(result.figures)} figures, "
              f"{len(result.tables)} table files")
        for stage, seconds in result.timings.items():
            indent = "    " if stage.startswith("図: ") else "  "
            print(f"{indent}{seconds:7.2f} s  {stage}")
    return walls[1]


def main() -> int:
    """Run the benchmark; exit 1 when the sample report misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--per-year", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=None, help="worker processes (default: report's own choice)")
    parser.add_argument("--skip-large", action="store_true", help="only the sample data")
    args = parser.parse_args()

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"processes={args.processes or report.default_processes()}")
    print(f"import kyodo_analysis.report.build: {IMPORT_SECONDS:.2f} s")
    sample = sorted(p for p in (ROOT / "data" / "raw").iterdir() if p.suffix in (".xlsx", ".csv"))
    warm = run("sample data (" + ", ".join(p.name for p in sample) + ")", sample, args.processes)
    if not args.skip_large:
        with tempfile.TemporaryDirectory(prefix="kyodo-bench-data-") as tmp:
            start = time.perf_counter()
            paths = generate(Path(tmp), args.years, args.per_year, args.seed)
            print(f"\ngenerated {args.years} years x {args.per_year} respondents in "
                  f"{time.perf_counter() - start:.2f} s")
            run(f"generated data ({args.years * args.per_year} respondents)", paths, args.processes)
    total = warm + IMPORT_SECONDS
    verdict = "OK" if total < TARGET_SECONDS else "TOO SLOW"
    print(f"\nsample report, warm cache, import included: {total:.2f} s "
          f"(target < {TARGET_SECONDS:.0f} s) {verdict}")
    return 0 if total < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
