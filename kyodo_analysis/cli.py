"""The ``kyodo-analysis`` command: validate, summarise and export questionnaire data.

Exit codes: 0 all valid, 1 the data has problems (all listed), 2 a file cannot be read
or the command is misused.
"""
from __future__ import annotations

import argparse
import contextlib
import contextvars
import errno
import getpass
import json
import os
import re
import signal
import sys
import traceback
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from .intent import intent_counts
from .io import UnreadableFileError, password_scope, printable
from .normalize import INTENT_ORDER, fiscal_year_readings
from .codebook import DEFAULT_NAME as CODEBOOK_NAME
from .codebook import Codebook, codebook_text, load_codebook, merge_roles
from .questionnaire import Survey, expand_inputs, infer_columns, load_questionnaires, write_processed
from .safety import PASSWORD_ENV, Password, UnsafeParserError, require_defused_xml

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
# The order the summary lists answers in, as the published JSON contract says.
SUMMARY_ANSWERS = ("思う", "思わない", "どちらとも言えない", INTENT_ORDER[-1])


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


# The codebook of this run (--codebook, or codebook.toml in an input folder), set once in _main.
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


def _describe_counts(survey: Survey) -> list[str]:
    lines = []
    for (file, year), rows in survey.respondents.groupby(["file", "fiscal_year"], sort=True, dropna=False):
        groups = rows["group"].value_counts(sort=False)
        parts = "・".join(f"{g} {n}" for g, n in groups.items() if n)
        lines.append(f"OK {file}: {year}年度 回答 {len(rows)} 件（{parts}）")
    return lines


def cmd_validate(args: argparse.Namespace) -> int:
    """Check files and list every problem."""
    survey, code = load_or_report(args.files, args.year, to_stdout=True)
    if code == EXIT_OK:
        _say(*_describe_counts(survey))
    elif survey.problems:
        _say(f"問題が {len(survey.problems)} 件見つかりました。上の一覧のセルを直してから、もう一度実行してください。", err=True)
    return code


def summary_table(survey: Survey) -> pd.DataFrame:
    """Counts of intent by fiscal year × group, every answer listed (zeros too)."""
    counts = intent_counts(survey.respondents)
    counts["answer"] = counts["answer"].astype(str)
    order = {a: i for i, a in enumerate(SUMMARY_ANSWERS)}
    counts = counts.sort_values(
        ["fiscal_year", "group", "answer"], key=lambda s: s.map(order) if s.name == "answer" else s, ignore_index=True
    )
    counts["group"] = counts["group"].astype(str)
    counts["fiscal_year"] = counts["fiscal_year"].astype(int)
    return counts


def cmd_summary(args: argparse.Namespace) -> int:
    """Print intent counts by fiscal year × group."""
    survey, code = load_or_report(args.files, args.year)
    if code != EXIT_OK:
        return code
    counts = summary_table(survey)
    if args.format == "json":
        _say(json.dumps(counts.to_dict(orient="records"), ensure_ascii=False, indent=2))
    elif args.format == "csv":
        sys.stdout.write(counts.rename(columns={"fiscal_year": "年度", "group": "区分", "answer": "回答", "count": "人数"})
                         .to_csv(index=False))
    else:
        table = counts.pivot(index=["fiscal_year", "group"], columns="answer", values="count")
        table = table.loc[counts.set_index(["fiscal_year", "group"]).index.unique(), list(SUMMARY_ANSWERS)]
        table["計"] = table.sum(axis=1)
        table.index.names = ["年度", "区分"]
        table.columns.name = None
        with pd.option_context("display.unicode.east_asian_width", True):
            _say("協働したいと思いますか？（人数）", table.to_string())
    return EXIT_OK


def cmd_process(args: argparse.Namespace) -> int:
    """Write the tidy tables to data/processed/ (nothing is written if the data has problems)."""
    out = Path(args.out).resolve()
    # Both the folder a link sits in and the folder it points to count as beside the inputs.
    beside = {place for f in args.files for place in (Path(f).resolve().parent, Path(os.path.abspath(f)).parent.resolve())}
    folders = [Path(f).resolve() for f in getattr(args, "given", ()) if Path(f).is_dir()]
    # Inside an input folder, the outputs would be read back as questionnaires by the next folder scan.
    if out in beside or any(out.is_relative_to(folder) for folder in folders):
        # The outputs would be read back as questionnaires next time, and raw files must stay untouched.
        _say(f"{args.out}: 入力ファイルと同じフォルダには書き出せません。--out に別のフォルダ（既定: data/processed）を指定してください。",
             err=True)
        return EXIT_UNREADABLE
    survey, code = load_or_report(args.files, args.year)
    if code != EXIT_OK:
        _say("データに問題があるため、何も書き出していません。", err=True)
        return code
    for path in write_processed(survey, args.out):
        _say(f"書き出しました: {path}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write every figure and table of the activity report (nothing is written if the data has problems)."""
    from .corrections import CorrectionsError
    from .output_folder import OutputFolderError, check_replaceable, shown
    from .report import ReportError, build_report
    from .text import DEFAULT_EXCLUDE
    from .themes import RuleError, load_rules

    try:
        check_replaceable(Path(args.out))  # before the slow part: the folder is checked again when written
    except OutputFolderError as error:
        _say(str(error), err=True)
        return EXIT_UNREADABLE
    try:
        rules = load_rules(args.themes)
    except (RuleError, OSError, UnicodeDecodeError) as error:
        _say(f"テーマ定義を読めません: {error}", err=True)
        return EXIT_UNREADABLE
    if args.corrections and not Path(args.corrections).is_file():
        _say(f"{args.corrections}: テーマの修正ファイルが見つかりません（--corrections）。", err=True)
        return EXIT_UNREADABLE
    survey, code = load_or_report(args.files, args.year)
    if code != EXIT_OK:
        _say("データに問題があるため、報告書は書き出していません（前回の報告書はそのまま残っています）。", err=True)
        return code
    exclude = () if args.keep_kyodo else DEFAULT_EXCLUDE
    try:
        result = build_report(args.files, args.out, year=args.year, themes=rules, exclude_words=exclude, survey=survey,
                              corrections=[args.corrections] if args.corrections else None)
    except CorrectionsError as error:
        for problem in error.problems:
            _say(problem, err=True)
        return EXIT_INVALID
    except (ReportError, OutputFolderError) as error:
        _say(str(error), err=True)
        return EXIT_UNREADABLE
    for note in result.notes:
        if note not in survey.notes:  # the loader's notes were printed already
            _say(f"メモ: {note}", err=True)
    formats = sorted({p.suffix.lstrip(".") for f in result.figures for p in f.files})
    _say(f"報告書を書き出しました: {shown(result.index)}",
         f"  図 {len(result.figures)} 点（{'・'.join(formats)}）: {shown(result.out_dir / 'figures')}",
         f"  表 {len(result.tables)} ファイル: {shown(result.out_dir / 'tables')}")
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    """Write a blank input workbook with drop-down lists."""
    from .template import write_template

    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        _say(f"{out.name}: 書き出し先は .xlsx のファイル名にしてください。", err=True)
        return EXIT_UNREADABLE
    if out.exists() and not args.force:
        _say(f"{out}: すでにあります。上書きするときは --force を付けてください。", err=True)
        return EXIT_UNREADABLE
    write_template(out, year=args.year)
    _say(f"入力用のひな形を書き出しました: {out}")
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    """Show where the token cache is, or delete it."""
    from .text import CACHE_FILE, cache_dir, clear_cache

    folder = cache_dir()
    if args.action == "clear":
        removed = clear_cache()
        if removed:
            _say(f"キャッシュを消しました: {folder}")
        else:
            _say(f"消すキャッシュはありません: {folder}")
    else:
        _say(str(folder / CACHE_FILE))
    return EXIT_OK


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


def _codebook_path(args: argparse.Namespace) -> Path | None:
    """The codebook given with --codebook, else codebook.toml in a given input folder, else None."""
    if getattr(args, "codebook", None):
        return Path(args.codebook)
    found = [Path(g) / CODEBOOK_NAME for g in getattr(args, "given", ()) if (Path(g) / CODEBOOK_NAME).is_file()]
    return found[0] if found else None


def _read_codebook(args: argparse.Namespace) -> int | None:
    """Read this run's codebook into _CODEBOOK; an exit code if it cannot be used, else None."""
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


def cmd_codebook(args: argparse.Namespace) -> int:
    """Print the inferred codebook (every column's role, question name and options) as TOML."""
    columns = merge_roles(infer_columns(args.files))
    if not columns:
        _say("見出し行のあるシートが見つからないため、設問表を作れません。", err=True)
        return EXIT_INVALID
    sys.stdout.write(codebook_text(columns))
    return EXIT_OK


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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kyodo-analysis")
    except PackageNotFoundError:  # run from a source folder that was never installed
        return "（不明）"


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = JapaneseArgumentParser(
        prog="kyodo-analysis",
        description="協働のまちづくりワークショップのアンケートを検証・集計し、報告書用の図表を作ります。",
        epilog="終了コード: 0 正常 / 1 データに問題あり（すべて表示） / 2 読めないファイル・指定の誤り",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help="バージョンを表示して終わる")
    commands = parser.add_subparsers(title="コマンド", dest="command", metavar="COMMAND", parser_class=JapaneseArgumentParser)

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    _files_and_year(add("validate", cmd_validate, "ファイルを検証し、問題のあるセルをすべて表示する"))
    summary = add("summary", cmd_summary, "「協働したいと思いますか」の回答数を年度×区分で集計する")
    _files_and_year(summary)
    summary.add_argument("--format", choices=("table", "csv", "json"), default="table", help="出力形式（既定: table）")
    process = add("process", cmd_process, "整えたデータを data/processed/ などに書き出す（CSV と Excel）")
    _files_and_year(process)
    process.add_argument("--out", default="data/processed", metavar="DIR", help="書き出し先フォルダ（既定: data/processed）")
    from .themes_cli import add_themes_arguments, run_themes_command

    add_themes_arguments(add("themes", run_themes_command, "自由記述のテーマ（相互理解・対等など 10 テーマ）を判定して一覧にする"))
    report = add("report", cmd_report, "報告書用の図（PNG・SVG・PDF）と表（Excel・CSV）と index.html を書き出す")
    _files_and_year(report)
    report.add_argument("--out", default="reports", metavar="DIR", help="書き出し先フォルダ（既定: reports）。丸ごと置き換える")
    report.add_argument("--themes", metavar="PATH", help="テーマ定義ファイル（TOML または KH Coder のコーディングルール）")
    report.add_argument("--keep-kyodo", action="store_true", help="ワードクラウドなどで「協働」を除かずに残す")
    report.add_argument("--corrections", metavar="PATH",
                        help="テーマの手作業の修正ファイル（既定は入力と同じフォルダの theme_corrections.xlsx）")
    cache = add("cache", cmd_cache, "形態素解析のキャッシュの場所を表示する（clear で消す）")
    cache.add_argument("action", choices=("path", "clear"), nargs="?", default="path",
                       help="path: 場所を表示する（既定）／ clear: キャッシュを消す")
    codebook = add("codebook", cmd_codebook, "列の役割・設問名・選択肢を推定し、設問表（コードブック）の TOML を表示する")
    codebook.add_argument("files", nargs="+", metavar="FILE", help="アンケートのファイルかフォルダ。複数可")
    add_password_option(codebook)
    template = add("template", cmd_template, "入力用の空の Excel ブック（プルダウン付き）を作る")
    template.add_argument("out", metavar="OUT.xlsx", help="作るファイル名")
    template.add_argument("--year", type=year_argument, metavar="年度", help="概要シートに入れておく年度（例: 2018、H30、R1）")
    template.add_argument("--force", action="store_true", help="同名のファイルがあっても上書きする")
    return parser


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl+C, so staging folders and locks are removed."""


@contextlib.contextmanager
def _terminate_like_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` in this process (forked workers keep the default)."""
    main_pid = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != main_pid:  # a forked worker: die the ordinary way
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _notes_for_our_warnings() -> Iterator[None]:
    """Show this package's warnings (e.g. a cache entry rebuilt) as one plain メモ line each."""
    package = str(Path(__file__).resolve().parent)
    with warnings.catch_warnings():
        original = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
            if str(filename).startswith(package):
                _say(f"メモ: {message}", err=True)
            else:
                original(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (never a traceback for bad input)."""
    try:
        with _terminate_like_interrupt(), _notes_for_our_warnings():
            return _main(argv)
    except BrokenPipeError:
        return _pipe_closed()


def _pipe_closed() -> int:
    """The reader of our output went away (``… | head``): not an error; stop quietly with 0."""
    # Python would complain again when it flushes stdout at exit; point it at nowhere first.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_OK


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_UNREADABLE
    try:
        require_defused_xml()
    except UnsafeParserError as error:
        _say(str(error), err=True)
        return EXIT_UNREADABLE
    try:
        if getattr(args, "files", None):
            args.given = list(args.files)
            args.files, notes = expand_inputs(args.files)
            for note in notes:
                _say(f"メモ: {note}", err=True)
            code = _read_codebook(args)
            if code is not None:
                return code
        with password_scope(password_source(args)):
            return args.handler(args)
    except UnreadableFileError as error:
        _say(f"{printable(error.path.name)}: {error.message}", err=True)
        return EXIT_UNREADABLE
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:
        _say("中断しました。書きかけのファイルは残していません。", err=True)
        return 130
    except Terminated:
        _say("終了の指示（SIGTERM）を受けて止まりました。書きかけのファイルは残していません。", err=True)
        return 128 + signal.SIGTERM
    except PermissionError as error:
        _say(f"{error.filename or ''}: 書き込む権限がありません。書き出し先のフォルダ（--out）を確かめてください。"
             "書きかけのファイルは残していません。", err=True)
        return EXIT_UNREADABLE
    except OSError as error:
        if error.errno == errno.ENOSPC:
            _say("ディスクの空きが足りないため、書き出せませんでした。書きかけのファイルは残していません。", err=True)
            return EXIT_UNREADABLE
        return _unexpected(error)
    except Exception as error:  # a bug, not bad input: say so briefly; the trace is one variable away
        return _unexpected(error)


def _unexpected(error: Exception) -> int:
    """Report an error that is a bug, not bad input, in one line (the trace with KYODO_DEBUG=1)."""
    if os.environ.get("KYODO_DEBUG"):
        traceback.print_exception(error)
    _say(f"予期しないエラーで止まりました（{type(error).__name__}: {error}）。"
         "KYODO_DEBUG=1 を付けて実行すると詳細を表示します。", err=True)
    return 3


if __name__ == "__main__":
    sys.exit(main())
