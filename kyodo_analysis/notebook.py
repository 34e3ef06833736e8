"""What the four notebooks share: their parameters (one file for all) and plain-sentence stops."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import parameters_file
from .errors import KyodoError
from .input.years import fiscal_year_readings

PARAMETERS_FILE = "parameters.toml"
# `make lab YEAR=2018` sets this, so a year can be tried without editing the file.
YEAR_ENV = "KYODO_FISCAL_YEAR"


class NotebookStop(KyodoError):
    """A reason to stop a notebook, in one Japanese sentence; Jupyter shows the sentence, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback."""
        return [str(self)]


@dataclass(frozen=True)
class Parameters:
    """The analyst's choices for every notebook."""

    fiscal_year: int


def _year(text: str, where: str) -> int:
    years = {r.fiscal_year for r in fiscal_year_readings(str(text))}
    if len(years) != 1:
        raise NotebookStop(f"{where} の年度「{text}」を読めません。2018 や R1 のように 1 つの年度を書いてください。")
    return years.pop()


def load_parameters(path: str | os.PathLike[str] | None = None) -> Parameters:
    """Read the notebooks' parameters file; the environment variable KYODO_FISCAL_YEAR overrides its year.

    Without ``path``: the notebook folder's own file (Jupyter starts a notebook in its folder),
    else the project's ``notebooks/parameters.toml`` (config), wherever Python was started.
    """
    if os.environ.get(YEAR_ENV):
        return Parameters(_year(os.environ[YEAR_ENV], f"環境変数 {YEAR_ENV}"))
    if path is None:
        path = PARAMETERS_FILE if Path(PARAMETERS_FILE).is_file() else parameters_file()
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotebookStop(f"パラメータのファイル {path} がありません。notebooks/ にある {PARAMETERS_FILE} を戻してください。") from None
    except tomllib.TOMLDecodeError as error:
        raise NotebookStop(f"パラメータのファイル {path} を読めません（{error}）。fiscal_year = 2018 のように書いてください。") from None
    if "fiscal_year" not in table:
        raise NotebookStop(f"パラメータのファイル {path} に fiscal_year がありません。fiscal_year = 2018 のように書いてください。")
    return Parameters(_year(str(table["fiscal_year"]), str(path)))


def require_year(respondents: pd.DataFrame, fiscal_year: int) -> None:
    """Stop with one sentence naming the years that exist when ``fiscal_year`` has no respondents."""
    years = sorted(int(y) for y in respondents["fiscal_year"].dropna().unique())
    if fiscal_year in years:
        return
    shown = "・".join(f"{y}年度" for y in years) if years else "（どの年度もありません）"
    raise NotebookStop(f"{fiscal_year}年度の回答がありません。データのある年度は {shown} です。"
                       f"notebooks/{PARAMETERS_FILE} の fiscal_year を直してから、もう一度上から実行してください。")
