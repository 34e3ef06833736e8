"""The ``kyodo-analysis`` command: validate, summarise and export questionnaire data.

Exit codes: 0 all valid, 1 the data has problems (all listed), 2 a file cannot be read
or the command is misused.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from .console import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNREADABLE,
    JapaneseArgumentParser,
    _files_and_year,
    _say,
    add_password_option,
    formats_argument,
    load_or_report,
    password_source,
    read_codebook,
    year_argument,
)
from .config import FIGURE_FORMATS, processed_dir, reports_dir
from .input.layout import ANSWER_CHOICES, NO_ANSWER
from .input.codebook import codebook_text, merge_roles
from .input.readers import UnreadableFileError, password_scope, printable
from .input.safety import UnsafeParserError, require_defused_xml
from .input.survey import Survey, expand_inputs, infer_columns, write_processed
from .intent import intent_counts
# The order the summary lists answers in, as the published JSON contract says.
SUMMARY_ANSWERS = (*ANSWER_CHOICES, NO_ANSWER)


def _describe_counts(survey: Survey) -> list[str]:
    lines = []
    for (file, year), rows in survey.respondents.groupby(["file", "fiscal_year"], sort=True, dropna=False):
        groups = rows["group"].value_counts(sort=False)
        parts = "・".join(f"{g} {n}" for g, n in groups.items() if n)
        lines.append(f"OK {file}: {year}年度 回答 {len(rows)} 件（{parts}）")
    for (file, year), groups in survey.groups.groupby(["file", "fiscal_year"], sort=True, dropna=False):
        statements = int((survey.statements["file"] == file).sum())
        lines.append(f"OK {file}: {year}年度 ワークシート {len(groups)} グループ（意見 {statements} 件）")
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
    from .input.corrections import CorrectionsError
    from .output_folder import OutputFolderError, check_replaceable, shown
    from .chapter import ChapterError
    from .report.specs import ReportError
    from .report.build import build_report
    from .text.tokens import DEFAULT_EXCLUDE
    from .rules.expression import RuleError
    from .rules.load import load_rules

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
        result = build_report(args.files, args.out, year=args.year, rules=rules, exclude=exclude, survey=survey,
                              corrections=[args.corrections] if args.corrections else None,
                              chapter_year=args.chapter_year, formats=args.formats)
    except CorrectionsError as error:
        for problem in error.problems:
            _say(problem, err=True)
        return EXIT_INVALID
    except (ReportError, OutputFolderError, ChapterError) as error:
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


def cmd_all(args: argparse.Namespace) -> int:
    """Run validate, process, summary and report in turn in this one process, stopping at the first failure."""
    common = [*args.files, *(["--year", str(args.year)] if args.year is not None else []),
              *(["--codebook", args.codebook] if getattr(args, "codebook", None) else []),
              *(["--password", args.password] if getattr(args, "password", None) else [])]
    steps = [
        ["validate", *common],
        ["process", *common, "--out", args.processed],
        ["summary", *common],
        ["report", *common, *(["--chapter-year", str(args.chapter_year)] if args.chapter_year is not None else []),
         "--formats", ",".join(args.formats), "--out", args.out],
    ]
    for step in steps:
        code = _main(step)
        if code != EXIT_OK:
            return code
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
    from .text.cache import CACHE_FILE, cache_dir, clear_cache

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


def cmd_codebook(args: argparse.Namespace) -> int:
    """Print the inferred codebook (every column's role, question name and options) as TOML."""
    columns = merge_roles(infer_columns(args.files))
    if not columns:
        _say("見出し行のあるシートが見つからないため、設問表を作れません。", err=True)
        return EXIT_INVALID
    sys.stdout.write(codebook_text(columns))
    return EXIT_OK


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kyodo-analysis")
    except PackageNotFoundError:  # run from a source folder that was never installed
        return "（不明）"


def _formats_option(parser: argparse.ArgumentParser) -> None:
    default = ",".join(FIGURE_FORMATS)
    parser.add_argument("--formats", type=formats_argument, default=FIGURE_FORMATS, metavar=default,
                        help=f"図の形式（既定: {default}）。PNG は index.html と Word の章が使うので常に書き出す")


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
    process.add_argument("--out", default=str(processed_dir()), metavar="DIR",
                         help="書き出し先フォルダ（既定: プロジェクトの data/processed）")
    from .themes_cli import add_themes_arguments, run_themes_command

    add_themes_arguments(add("themes", run_themes_command, "自由記述のテーマ（themes.toml のテーマ）を判定して一覧にする"))
    report = add("report", cmd_report, "報告書用の図（PNG・SVG・PDF）と表（Excel・CSV）と index.html を書き出す")
    _files_and_year(report)
    report.add_argument("--out", default=str(reports_dir()), metavar="DIR",
                        help="書き出し先フォルダ（既定: プロジェクトの reports）。丸ごと置き換える")
    report.add_argument("--themes", metavar="PATH", help="テーマ定義ファイル（TOML または KH Coder のコーディングルール）")
    report.add_argument("--chapter-year", type=year_argument, metavar="年度",
                        help="Word の章（report.docx）の年度（既定: --year、なければ最新の年度）")
    _formats_option(report)
    report.add_argument("--keep-kyodo", action="store_true", help="ワードクラウドなどで「協働」を除かずに残す")
    report.add_argument("--corrections", metavar="PATH",
                        help="テーマの手作業の修正ファイル（既定は入力と同じフォルダの theme_corrections.xlsx）")
    every = add("all", cmd_all, "validate・process・summary・report を 1 回の起動で順に実行する（make report が使う）")
    _files_and_year(every)
    every.add_argument("--processed", default="data/processed", metavar="DIR",
                       help="整えたデータの書き出し先（既定: data/processed）")
    every.add_argument("--out", default="reports", metavar="DIR", help="報告書の書き出し先（既定: reports）")
    _formats_option(every)
    every.add_argument("--chapter-year", type=year_argument, metavar="年度",
                       help="Word の章（report.docx）の年度（既定: --year、なければ最新の年度）")
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
    if args.handler is cmd_all:  # each step reads its inputs, codebook and password itself
        return cmd_all(args)
    try:
        if getattr(args, "files", None):
            args.given = list(args.files)
            args.files, notes = expand_inputs(args.files)
            for note in notes:
                _say(f"メモ: {note}", err=True)
            code = read_codebook(args)
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

