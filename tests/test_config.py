"""Default paths come from config, not from the folder a command or notebook is started in."""
from __future__ import annotations

from pathlib import Path

import kyodo_analysis
from kyodo_analysis import config
from kyodo_analysis.cli import build_parser
from kyodo_analysis.notebook import load_parameters

ROOT = Path(kyodo_analysis.__file__).resolve().parent.parent


def test_the_project_folder_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(config.PROJECT_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert config.project_dir() == ROOT
    assert config.raw_dir() == ROOT / "data" / "raw" and config.raw_dir().is_dir()
    assert config.processed_dir() == ROOT / "data" / "processed"
    assert config.reports_dir() == ROOT / "reports"
    assert config.parameters_file() == ROOT / "notebooks" / "parameters.toml"


def test_the_project_folder_can_be_set(tmp_path, monkeypatch):
    monkeypatch.setenv(config.PROJECT_ENV, str(tmp_path))
    assert config.reports_dir() == tmp_path.resolve() / "reports"


def test_the_cache_folder_is_absolute_or_set(tmp_path, monkeypatch):
    from kyodo_analysis.text import cache as tokens

    monkeypatch.delenv(config.CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert config.cache_dir().is_absolute() and config.cache_dir() == tokens.cache_dir()
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "c"))
    assert config.cache_dir() == tmp_path / "c" == tokens.cache_dir()


def test_command_defaults_are_the_project_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    parser = build_parser()
    assert Path(parser.parse_args(["process", "x.csv"]).out) == ROOT / "data" / "processed"
    assert Path(parser.parse_args(["report", "x.csv"]).out) == ROOT / "reports"


def test_notebook_parameters_are_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("KYODO_FISCAL_YEAR", raising=False)
    monkeypatch.chdir(tmp_path)
    expected = load_parameters(ROOT / "notebooks" / "parameters.toml")
    assert load_parameters() == expected
    (tmp_path / "parameters.toml").write_text("fiscal_year = 2016\n", encoding="utf-8")
    assert load_parameters().fiscal_year == 2016  # the notebook folder's own file comes first
