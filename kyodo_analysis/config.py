"""Where things are (the project's data, processed and report folders, the token cache) and how many workers.

Every default path of the package comes from here, so a command or notebook finds the
same folders wherever it is started. The project folder is ``$KYODO_PROJECT_DIR`` when
set, else the checkout this package was installed from (the folder holding
``pyproject.toml`` next to ``kyodo_analysis/``), else the current folder (a package
installed without its project has no other place to look).
"""
from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from platformdirs import user_cache_dir

APP_NAME = "kyodo-analysis"
PROJECT_ENV = "KYODO_PROJECT_DIR"
CACHE_ENV = "KYODO_CACHE_DIR"

RAW_DIR = Path("data", "raw")
PROCESSED_DIR = Path("data", "processed")
REPORTS_DIR = Path("reports")
PARAMETERS_FILE = Path("notebooks", "parameters.toml")
# The report's figure files. PNG comes first and is always written: index.html and the
# Word chapter show it; SVG and PDF are for print.
FIGURE_FORMATS = ("png", "svg", "pdf")


def project_dir() -> Path:
    """Return the project folder: ``$KYODO_PROJECT_DIR``, else the source checkout, else the current folder."""
    override = os.environ.get(PROJECT_ENV)
    if override:
        return Path(override).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout
    return Path.cwd().resolve()


def raw_dir() -> Path:
    """Return the folder of the input questionnaires (``data/raw``)."""
    return project_dir() / RAW_DIR


def processed_dir() -> Path:
    """Return the folder of the tidy tables (``data/processed``)."""
    return project_dir() / PROCESSED_DIR


def reports_dir() -> Path:
    """Return the folder the report is written to (``reports``)."""
    return project_dir() / REPORTS_DIR


def parameters_file() -> Path:
    """Return the notebooks' parameters file (``notebooks/parameters.toml``)."""
    return project_dir() / PARAMETERS_FILE


def cache_dir() -> Path:
    """Return the token cache folder: ``$KYODO_CACHE_DIR``, else the user's cache folder (absolute)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return Path(user_cache_dir(APP_NAME, appauthor=False))


def default_processes() -> int:
    """Return how many worker processes a command uses: up to two, where fork exists.

    Figures and the tokenising of new comments are independent per item, so they spread
    over workers; without fork each worker would import and load everything again.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(2, os.cpu_count() or 1))
