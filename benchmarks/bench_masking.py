"""Issue 14's masking target: a 131,072-character comment masked in under a second.

Usage: .venv/bin/python benchmarks/bench_masking.py [--chars 131072] [--repeat 3]

The comment is made of the bundled sample comments (invented, with names, phone numbers
and addresses) joined until it is as long as the documented longest cell. Measured in one
process, medians of ``--repeat`` runs:

- bare janome: the domain tokenizer reading the comment, nothing else (the floor);
- masking alone: ``mask_personal_data`` on a comment whose tokens this run already has
  (what a report pays: tagging has read every comment before quotes and word counts);
- masking from scratch: the same with no tokens yet (janome reads the comment once).

Ratios to bare janome are printed beside the seconds: the machine may be shared.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from kyodo_analysis.input.survey import expand_inputs, load_questionnaires
from kyodo_analysis.quotes import find_personal_data, mask_personal_data
from kyodo_analysis.text.cache import forget_run_tokens, tokenize_many
from kyodo_analysis.text.tokens import get_analyzer

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.0
# Before the fix (issue 14): the masker scanned every token per name cue.
BASELINE_SECONDS = 94.0


def long_comment(chars: int) -> str:
    """Join the sample comments (each once, in file order, then again) to ``chars`` characters."""
    files, _ = expand_inputs([ROOT / "data" / "raw"])
    texts = [str(t) for t in load_questionnaires(files).comments["text"]]
    out, i = [], 0
    while sum(map(len, out)) < chars:
        out.append(texts[i % len(texts)])
        i += 1
    return "\n".join(out)[:chars]


def median_seconds(fn, repeat: int) -> float:
    """Return the median wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=131_072)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = long_comment(args.chars)
    analyzer = get_analyzer()

    def bare() -> None:
        for _ in analyzer.tokenizer.tokenize(text):
            pass

    def alone() -> None:
        mask_personal_data(text, allow=(f"x{time.perf_counter_ns()}",))  # a new allow-list: no result reused

    def scratch() -> None:
        forget_run_tokens()
        mask_personal_data(text, allow=(f"y{time.perf_counter_ns()}",))

    janome = median_seconds(bare, args.repeat)
    tokenize_many([text], cache="memory")  # the run's reading of the comment
    masking = median_seconds(alone, args.repeat)
    whole = median_seconds(scratch, args.repeat)
    spans = find_personal_data(text)
    print(f"comment: {len(text):,} characters, {len(spans)} personal details masked")
    print(f"| measure | seconds | × bare janome | target |")
    print("|---|---|---|---|")
    print(f"| bare janome (floor) | {janome:.2f} | 1.00 | |")
    print(f"| masking, tokens of the run | {masking:.2f} | {masking / janome:.2f} | < {TARGET_SECONDS:.0f} s "
          f"({'met' if masking < TARGET_SECONDS else 'NOT met'}) |")
    print(f"| masking from scratch (janome once + masking) | {whole:.2f} | {whole / janome:.2f} | |")
    print(f"| before the fix (issue 14's measure) | {BASELINE_SECONDS:.0f} | | |")


if __name__ == "__main__":
    main()
