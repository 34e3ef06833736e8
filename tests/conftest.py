"""Shared pytest fixtures."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import kyodo_analysis  # noqa: F401  (first: it keeps openpyxl off lxml, so .xlsx bytes match the real runs)

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(autouse=True)
def _private_token_cache(tmp_path_factory, monkeypatch):
    """Keep every test's token cache out of the user's own cache folder."""
    from kyodo_analysis.input import safety
    from kyodo_analysis.text.cache import forget_run_tokens

    if "KYODO_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("KYODO_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "token-cache"))
    # Decrypting a protected workbook switches the cache off for the rest of the process.
    monkeypatch.setattr(safety, "_DECRYPTED_IN_PROCESS", False)
    # Each test starts a run of its own: no tokens held in memory from an earlier test.
    forget_run_tokens()


@pytest.fixture
def fresh_token_cache(tmp_path, monkeypatch):
    """Give one test a token cache of its own, so no earlier test's entries are reused."""
    monkeypatch.setenv("KYODO_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def raw_guard():
    """Fail the test if any file in data/raw/ changed while it ran."""
    before = _digest(RAW)
    yield RAW
    assert _digest(RAW) == before, "data/raw/ が変更されました"


# --- figures (figures/ / report/) ------------------------------------------------
# Figures from kyodo_analysis.figures live outside pyplot, so nothing closes them for us.


@pytest.fixture
def figures():
    """Track figures a test makes (``fig = figures(make())``) and close them all afterwards."""
    import matplotlib.pyplot as plt

    opened = []

    def keep(fig):
        opened.append(fig)
        return fig

    yield keep
    for fig in opened:
        fig.clear()
    plt.close("all")


# --- end figures -------------------------------------------------------------------
