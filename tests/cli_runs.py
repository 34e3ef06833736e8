"""Run ``kyodo-analysis`` as real subprocesses, several at once, measuring time and peak memory."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Done:
    """The outcome of one command line run."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float  # peak resident memory of the process (Linux reports ru_maxrss in KB)


@dataclass
class _Running:
    process: subprocess.Popen
    out: Path
    err: Path
    started: float


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the variables that change how the command behaves."""
    env = {k: v for k, v in os.environ.items() if k not in ("KYODO_DEBUG", "KYODO_PASSWORD", "OPENPYXL_DEFUSEDXML")}
    env.update(extra)
    return env


def start(args: list[object], logs: Path, name: str, env: dict[str, str] | None = None) -> _Running:
    """Start ``python -m kyodo_analysis.cli ARGS`` with output to files under ``logs``."""
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / f"{name}.out", logs / f"{name}.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "kyodo_analysis.cli", *map(str, args)],
                                   stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                                   env=env if env is not None else clean_env())
    return _Running(process, out, err, time.monotonic())


def finish(run: _Running, timeout: float = 60) -> Done:
    """Wait for a started run and collect its exit code, output, time and peak memory."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(run.process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            run.process.kill()
            run.process.wait()
            raise AssertionError(f"did not finish within {timeout} s: {run.process.args}")
        time.sleep(0.02)
    seconds = time.monotonic() - run.started
    run.process.returncode = os.waitstatus_to_exitcode(status)
    return Done(run.process.returncode, run.out.read_text("utf-8"), run.err.read_text("utf-8"),
                seconds, usage.ru_maxrss / 1024)


def run_main(argv: list[object], capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """Run the CLI in this process; return its exit code, standard output and standard error."""
    from kyodo_analysis.cli import main

    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err
