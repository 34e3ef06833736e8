"""Terminal helpers shared by every command: Japanese help text, messages, loading, passwords."""
from __future__ import annotations

import argparse
import contextvars
import getpass
import os
import re
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from .config import FIGURE_FORMATS
from .input.codebook import DEFAULT_NAME as CODEBOOK_NAME
from .input.codebook import Codebook, load_codebook
from .input.readers import UnreadableFileError, printable
from .input.safety import PASSWORD_ENV, Password
from .input.survey import Survey, load_questionnaires
from .input.years import fiscal_year_readings

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


# argparse's own error texts, in the words a user of this tool reads.
_ARGPARSE_MESSAGES = (
    ("the following arguments are required:", "次の引数が必要です:"),
    ("unrecognized arguments:", "知らない引数です:"),
    ("invalid choice:", "選べない値です:"),
    ("choose from", "選べるのは"),
    ("invalid int value:", "整数ではありません:"),
    ("expected one argument", "値を 1 つ指定してください"),
    ("argument ", "引数 "),
)


# Japanese has no spaces: a help line may break only after punctuation or at a space.
_BREAK_AFTER = re.compile(r".+?(?:[、。，．）)」』／・:：]+|\s+|$)")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap_japanese(text: str, width: int) -> list[str]:
    """Wrap text to ``width`` columns (full-width characters count two), breaking only after punctuation or spaces."""
    lines: list[str] = []
    current = ""
    for piece in _BREAK_AFTER.findall(" ".join(text.split())):
        if current and _width(current + piece.rstrip()) > width:
            lines.append(current.rstrip())
            current = piece.lstrip()
        else:
            current += piece
    if current.strip():
        lines.append(current.rstrip())
    return lines


class _JapaneseHelpFormatter(argparse.HelpFormatter):
    """argparse's help layout with the usage line headed in Japanese and lines that never break inside a word."""

    def add_usage(self, usage, actions, groups, prefix=None) -> None:  # type: ignore[override]
        super().add_usage(usage, actions, groups, "使い方: " if prefix is None else prefix)

    def _split_lines(self, text: str, width: int) -> list[str]:  # type: ignore[override]
        return wrap_japanese(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:  # type: ignore[override]
        return "\n".join(indent + line for line in wrap_japanese(text, width - len(indent)))


class JapaneseArgumentParser(argparse.ArgumentParser):
    """argparse with Japanese section titles and a Japanese usage error (exit 2)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("add_help", False)
        kwargs.setdefault("formatter_class", _JapaneseHelpFormatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "引数"
        self._optionals.title = "オプション"
        self.add_argument("-h", "--help", action="help", help="この説明を表示して終わる")

    def error(self, message: str) -> None:  # type: ignore[override]
        for english, japanese in _ARGPARSE_MESSAGES:
            message = message.replace(english, japanese)
        self.print_usage(sys.stderr)
        self.exit(EXIT_UNREADABLE, f"{self.prog}: 指定の誤り: {message}\n「{self.prog} --help」で使い方を表示します。\n")


# Characters a Windows (cp932) console or file cannot show, and the nearest it can.
_CP932_STAND_INS = str.maketrans({"—": "―", "✓": "レ", "✔": "レ", "–": "－"})


def _say(*lines: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("_", "-")
    for line in lines:
        if not encoding.startswith("utf"):
            # A cp932 console (Windows) cannot encode every character: show a stand-in, never stop.
            line = line.translate(_CP932_STAND_INS).encode(encoding, errors="replace").decode(encoding)
        print(line, file=stream)


# The codebook of this run (--codebook, or codebook.toml in an input folder), set once per run by read_codebook.
_CODEBOOK: contextvars.ContextVar[Codebook | None] = contextvars.ContextVar("codebook", default=None)


def load_or_report(paths: Sequence[str], year: int | None, *, to_stdout: bool = False) -> tuple[Survey, int]:
    """Load files, print every problem, and return the survey with the exit code it deserves."""
    unreadable: list[UnreadableFileError] = []
    survey = load_questionnaires(paths, year=year, unreadable=unreadable, codebook=_CODEBOOK.get())
    err = not to_stdout
    for error in unreadable:
        _say(f"{printable(error.path.name)}: {error.message}", err=err)
    for problem in survey.problems:
        # A cell value quoted in a message may hold a line break: one problem stays one line.
        _say(printable(str(problem)), err=err)
    for note in survey.notes:
        _say(f"メモ: {printable(note)}", err=True)
    if unreadable:
        return survey, EXIT_UNREADABLE
    return survey, EXIT_INVALID if survey.problems else EXIT_OK


def add_password_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--password`` for password-protected workbooks."""
    parser.add_argument("--password", metavar="PASSWORD",
                        help=f"パスワード付きブックのパスワード（環境変数 {PASSWORD_ENV} でも指定できる。"
                             "どちらもなく端末から実行したときは入力を求める）")


def year_argument(text: str) -> int:
    """Read --year: a fiscal year in Western (2018) or Japanese era form (H30, R1, 平成30, 令和元年度)."""
    readings = fiscal_year_readings(text)
    if len({r.fiscal_year for r in readings}) != 1 or not re.fullmatch(
            r"\s*(?:(?:19|20)\d{2}|(?:[HRhr]|平成|令和)\s*(?:\d{1,2}|元))\s*(?:年度?)?\s*", unicodedata.normalize("NFKC", text)):
        raise argparse.ArgumentTypeError(f"「{text}」は年度として読めません（例: 2018、H30、R1、令和元年度）")
    return readings[0].fiscal_year


def formats_argument(text: str) -> tuple[str, ...]:
    """Read --formats: figure formats such as ``png,pdf``; PNG is always added, the order is fixed."""
    asked = {part.strip().lstrip(".").lower() for part in re.split(r"[,、，\s]+", unicodedata.normalize("NFKC", text))}
    asked.discard("")
    unknown = sorted(asked - set(FIGURE_FORMATS))
    if unknown or not asked:
        raise argparse.ArgumentTypeError(
            f"「{text}」は図の形式として読めません（{'・'.join(FIGURE_FORMATS)} をカンマ区切りで。例: png,pdf）")
    return tuple(f for f in FIGURE_FORMATS if f in asked or f == FIGURE_FORMATS[0])


def _files_and_year(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="アンケートのファイル（.xlsx・.ods・.csv）かフォルダ。複数可。フォルダなら中の全ファイル"
                             "（サブフォルダも。本番のファイルがあれば同梱サンプル sample_* は除く）")
    parser.add_argument("--year", type=year_argument, metavar="年度",
                        help="年度（例: 2018、H30、R1）。年度の書かれていないファイルにだけ使い、"
                             "ファイルの年度と違えば問題として報告する")
    parser.add_argument("--codebook", metavar="PATH",
                        help=f"設問表（コードブック）の TOML。既定は入力フォルダの {CODEBOOK_NAME}（あれば）")
    add_password_option(parser)


class TerminalPasswordPrompt:
    """Ask for a workbook's password on the terminal without echo, once per file."""

    def __init__(self) -> None:
        self._given: dict[Path, str | None] = {}

    def __call__(self, path: Path) -> str | None:
        """Return the password typed for ``path`` (asked only the first time), or None."""
        key = Path(path).resolve()
        if key not in self._given:
            try:
                self._given[key] = getpass.getpass(f"{Path(path).name} のパスワード（入力は表示されません）: ") or None
            except EOFError:
                self._given[key] = None
        return self._given[key]


def _codebook_path(args: argparse.Namespace) -> Path | None:
    """The codebook given with --codebook, else codebook.toml in a given input folder, else None."""
    if getattr(args, "codebook", None):
        return Path(args.codebook)
    found = [Path(g) / CODEBOOK_NAME for g in getattr(args, "given", ()) if (Path(g) / CODEBOOK_NAME).is_file()]
    return found[0] if found else None


def read_codebook(args: argparse.Namespace) -> int | None:
    """Read this run's codebook for load_or_report; an exit code if it cannot be used, else None."""
    _CODEBOOK.set(None)  # main() may run more than once in a process (tests, notebooks)
    path = _codebook_path(args)
    if path is None:
        return None
    if not path.is_file():
        _say(f"{path}: 設問表（コードブック）が見つかりません（--codebook）。", err=True)
        return EXIT_UNREADABLE
    try:
        codebook, problems = load_codebook(path)
    except (OSError, UnicodeDecodeError):
        _say(f"{path}: 設問表（コードブック）を UTF-8 のテキストとして読めません。", err=True)
        return EXIT_UNREADABLE
    for problem in problems:
        _say(printable(str(problem)), err=True)
    if problems:
        return EXIT_INVALID
    _CODEBOOK.set(codebook)
    return None


def password_source(args: argparse.Namespace) -> Password:
    """The password for this command: --password, else KYODO_PASSWORD, else a prompt on a terminal."""
    given = getattr(args, "password", None)
    if given:
        return given
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    # Only a person at a terminal can answer; a script or pipe gets the plain message instead.
    if sys.stdin is not None and sys.stdin.isatty():
        return TerminalPasswordPrompt()
    return None

