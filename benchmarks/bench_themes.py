"""Throughput of theme tagging against bare janome, on one generated corpus.

Usage: .venv/bin/python benchmarks/bench_themes.py [--n 20000] [--seed 1]

Prints characters per second for: bare janome ``Tokenizer.tokenize`` (with and
without the domain dictionary), our tagging cold (empty cache), warm (cache filled)
and cold with 2 worker processes, plus peak memory, and checks the targets.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from janome.tokenizer import Tokenizer  # noqa: E402

from kyodo_analysis.text import cache as C  # noqa: E402
from kyodo_analysis.text import tokens as T  # noqa: E402
from kyodo_analysis.rules.load import load_rules  # noqa: E402
from kyodo_analysis.rules.toml_format import parse_toml_rules
from kyodo_analysis.rules.tag import tag_texts

SUBJECTS = ["市民活動団体", "行政", "職員", "自治会", "NPO", "地域の団体", "私たち", "市", "企業", "若い世代",
            "町内会", "子育てサークル", "担当課", "中間支援組織", "住民"]
TOPICS = ["情報を共有する仕組み", "お互いの立場", "話し合いの場", "目的や目標", "予算と人手", "役割分担",
          "信頼関係", "活動の成果", "対等な関係", "地域の課題", "自主性", "ふりかえりの機会", "補助金の使い方",
          "防災訓練", "高齢者の見守り", "公園の管理", "子どもの居場所", "広報紙", "意見交換会", "事業の評価"]
VERBS = ["が大切だと思う", "をもっと増やしてほしい", "について考えたい", "が足りないと感じた", "を見直すべきだ",
         "を理解し合うことが必要", "が見えにくい", "を一緒に作っていきたい", "に課題がある", "がよく分かった",
         "を大事にしたい", "が不十分だった", "から始めるとよい", "を話し合えてよかった"]
CONNECT = ["。", "。", "、", "。ただ、", "。また、", "ので、", "が、"]


def make_corpus(n: int, seed: int) -> list[str]:
    """Return ``n`` distinct comments of 50–120 characters, the same for the same seed."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out = []
    while len(out) < n:
        target = rng.randint(50, 120)
        text = ""
        while len(text) < target:
            text += (rng.choice(SUBJECTS) + "と" + rng.choice(SUBJECTS) + "の" + rng.choice(TOPICS)
                     + rng.choice(VERBS) + rng.choice(CONNECT))
        text = text[:target].rstrip("、") + f"（{rng.randint(1, 9999)}）"
        text = text[:120]
        if len(text) >= 50 and text not in seen:
            seen.add(text)
            out.append(text)
    return out


def timed(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peak_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its finished children (MB)."""
    to_mb = 1 / 1024 if sys.platform != "darwin" else 1 / 1024 / 1024
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mb,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mb)


def memory_only(n: int, seed: int) -> int:
    """Tag ``n`` generated comments cold with 2 processes and report peak memory."""
    texts = make_corpus(n, seed)
    tmp = Path(tempfile.mkdtemp(prefix="kyodo-bench-"))
    try:
        os.environ[C.CACHE_ENV] = str(tmp)
        seconds = timed(lambda: tag_texts(texts, processes=2, progress=False))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    self_mb, child_mb = peak_mb()
    chars = sum(map(len, texts))
    print(f"{n:,} comments, {chars:,} characters, cold with 2 processes: {seconds:.1f} s "
          f"({chars / seconds:,.0f} chars/s)")
    print(f"peak memory: this process {self_mb:,.0f} MB, largest worker {child_mb:,.0f} MB")
    ok = max(self_mb, child_mb) < 1024
    print(f"  {'OK ' if ok else 'NG '} peak memory < 1 GB")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="number of comments")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-processes", action="store_true")
    parser.add_argument("--memory-only", action="store_true",
                        help="only tag the corpus once (cold, 2 processes) and report peak memory")
    args = parser.parse_args()
    if args.memory_only:
        return memory_only(args.n, args.seed)

    texts = make_corpus(args.n, args.seed)
    chars = sum(map(len, texts))
    rules = load_rules()
    domain = T.get_tokenizer()
    plain = Tokenizer()
    for tok in (domain, plain):
        list(tok.tokenize("準備"))  # load dictionaries outside the timings
    T.get_analyzer()

    rows: list[tuple[str, float]] = []
    rows.append(("bare janome Tokenizer.tokenize (no user dict)",
                 timed(lambda: [list(plain.tokenize(t)) for t in texts])))
    rows.append(("bare janome Tokenizer.tokenize (domain user dict)",
                 timed(lambda: [list(domain.tokenize(t)) for t in texts])))

    tmp = Path(tempfile.mkdtemp(prefix="kyodo-bench-"))
    try:
        os.environ[C.CACHE_ENV] = str(tmp / "a")
        cold_tags: list = []
        rows.append(("tagging, cold (empty cache, 1 process)",
                     timed(lambda: cold_tags.extend(tag_texts(texts, rules=rules, progress=False)))))
        warm_tags: list = []
        rows.append(("tagging, warm (cache filled)",
                     timed(lambda: warm_tags.extend(tag_texts(texts, rules=rules, progress=False)))))
        assert warm_tags == cold_tags
        # Edited rules cannot reuse stored tags: tokens come from the cache, matching reruns.
        edited = parse_toml_rules(
            (resources.files("kyodo_analysis") / "data" / "themes.toml").read_text("utf-8") + "\n# edited\n")
        retag: list = []
        rows.append(("tagging, warm tokens but edited rules",
                     timed(lambda: retag.extend(tag_texts(texts, rules=edited, progress=False)))))
        assert retag == cold_tags
        if not args.skip_processes:
            os.environ[C.CACHE_ENV] = str(tmp / "b")
            proc_tags: list = []
            rows.append(("tagging, cold, 2 processes",
                         timed(lambda: proc_tags.extend(
                             tag_texts(texts, rules=rules, processes=2, progress=False)))))
            assert proc_tags == cold_tags
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"corpus: {len(texts):,} comments, {chars:,} characters "
          f"(mean {chars / len(texts):.0f}), seed {args.seed}, cpus {os.cpu_count()}")
    print(f"{'measurement':<52}{'seconds':>9}{'chars/s':>11}{'vs bare':>9}")
    base = dict(rows)["bare janome Tokenizer.tokenize (domain user dict)"]
    for name, seconds in rows:
        print(f"{name:<52}{seconds:>9.2f}{chars / seconds:>11,.0f}{base / seconds:>8.2f}x")
    self_mb, child_mb = peak_mb()
    print(f"peak memory: this process {self_mb:,.0f} MB, largest worker {child_mb:,.0f} MB")

    t = dict(rows)
    checks = [
        ("cold >= 0.85x bare janome", base / t["tagging, cold (empty cache, 1 process)"] >= 0.85),
        ("warm >= 20x cold", t["tagging, cold (empty cache, 1 process)"] / t["tagging, warm (cache filled)"] >= 20),
    ]
    if not args.skip_processes:
        checks.append(("2 processes >= 1.6x bare janome", base / t["tagging, cold, 2 processes"] >= 1.6))
    checks.append(("peak memory < 1 GB", max(self_mb, child_mb) < 1024))
    for name, ok in checks:
        print(f"  {'OK ' if ok else 'NG '} {name}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
