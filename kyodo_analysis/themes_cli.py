"""The ``kyodo-analysis themes`` subcommand: tag comments with themes, print CSV or JSON."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from .io import spreadsheet_safe
from .themes import LabelError, RuleError, RuleSet, evaluate_file, load_rules, tag_comments, tag_texts

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
QUESTIONNAIRE_FIELDS = ("fiscal_year", "group", "question", "file", "sheet", "cell")


def add_themes_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``kyodo-analysis themes`` to ``parser``."""
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="アンケートのファイル（.xlsx または .csv）。複数可")
    parser.add_argument("--text-file", metavar="PATH",
                        help="1 行に 1 件の自由記述を書いた UTF-8 のテキストファイル（FILE の代わりに）")
    parser.add_argument("--themes", metavar="PATH",
                        help="テーマ定義ファイル（TOML または KH Coder のコーディングルール）。"
                             "既定は同梱の 10 テーマ")
    parser.add_argument("--format", choices=("csv", "json"), default="csv",
                        help="出力形式（既定: csv）")
    parser.add_argument("--year", type=int, metavar="年度",
                        help="年度を西暦で指定する（例: 2017）。ファイルから読み取った年度より優先")
    parser.add_argument("--no-cache", action="store_true",
                        help="形態素解析のキャッシュ（場所は kyodo-analysis cache で表示）を使わない")
    parser.add_argument("--processes", type=int, default=1, metavar="N",
                        help="形態素解析に使うプロセス数（既定: 1）。件数が多いときに速くなる")
    parser.add_argument("--evaluate", metavar="LABELLED.csv",
                        help="正解付きの CSV（text と themes 列）でテーマ判定の精度を表示する")
    from .cli import add_password_option  # cli imports this module only inside build_parser

    add_password_option(parser)


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _print_records(records: list[dict], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return
    frame = pd.DataFrame(records)
    if "themes" in frame:
        frame["themes"] = frame["themes"].map(";".join)
    # The CSV is meant to be opened in Excel: a comment must never run as a formula there.
    sys.stdout.write(spreadsheet_safe(frame).to_csv(index=False, lineterminator="\n"))


def _text_records(path: Path, rules: RuleSet, args: argparse.Namespace) -> list[dict] | None:
    try:
        # Bytes, not read_text: text mode would also break lines at a lone \r.
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        _err(f"{path}: ファイルが見つかりません。")
        return None
    except UnicodeDecodeError:
        _err(f"{path.name}: UTF-8 のテキストとして読めません。UTF-8 で保存し直してください。")
        return None
    except OSError as exc:
        _err(f"{path.name}: 読めません（{exc.strerror}）。")
        return None
    # Only \n ends a line: splitlines() would also break at \x0b, \x85 and \u2028 and so
    # number the lines differently from an editor. The text stays as typed.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    tags = tag_texts([t for _, t in numbered], rules=rules, cache=not args.no_cache,
                     processes=args.processes)
    return [{"line": n, "text": t, "themes": list(th)} for (n, t), th in zip(numbered, tags)]


def _questionnaire_records(args: argparse.Namespace, rules: RuleSet) -> tuple[list[dict], int]:
    from .cli import load_or_report

    survey, code = load_or_report(args.files, args.year)
    if code != EXIT_OK:
        return [], code
    tagged = tag_comments(survey.comments, rules=rules, cache=not args.no_cache,
                          processes=args.processes)
    records = []
    for row in tagged.itertuples(index=False):
        record = {"text": row.text, "themes": list(row.themes)}
        for name in QUESTIONNAIRE_FIELDS:
            value = getattr(row, name)
            if name == "fiscal_year":
                value = None if pd.isna(value) else int(value)
            elif pd.isna(value):
                value = None
            else:
                value = str(value)
            record[name] = value
        records.append(record)
    return records, EXIT_OK


def run_themes_command(args: argparse.Namespace) -> int:
    """Run ``kyodo-analysis themes`` and return its exit code."""
    try:
        rules = load_rules(args.themes)
    except RuleError as exc:
        _err(f"テーマ定義を読めません: {exc}")
        return EXIT_UNREADABLE
    except (OSError, UnicodeDecodeError) as exc:
        _err(f"テーマ定義ファイルを読めません: {args.themes}（{exc}）")
        return EXIT_UNREADABLE
    if args.processes < 1:
        _err("--processes には 1 以上の整数を指定してください。")
        return EXIT_UNREADABLE
    if args.evaluate:
        try:
            table = evaluate_file(args.evaluate, rules=rules, cache=not args.no_cache)
        except LabelError as exc:
            # The file was read; its labels are wrong. Like validate: list all, exit 1.
            for problem in exc.problems:
                _err(problem)
            _err("正解のテーマ名を直してから、もう一度実行してください。")
            return EXIT_INVALID
        except (OSError, KeyError, ValueError) as exc:
            _err(f"{args.evaluate}: 正解付きの CSV として読めません（{exc}）。")
            return EXIT_UNREADABLE
        with pd.option_context("display.unicode.east_asian_width", True, "display.width", 200):
            print(table.round(3).to_string(index=False))
        return EXIT_OK
    if args.text_file and args.files:
        _err("FILE と --text-file は同時に指定できません。どちらか一方にしてください。")
        return EXIT_UNREADABLE
    if args.text_file:
        records = _text_records(Path(args.text_file), rules, args)
        if records is None:
            return EXIT_UNREADABLE
        _print_records(records, args.format)
        return EXIT_OK
    if not args.files:
        _err("アンケートのファイル（FILE）か --text-file を指定してください。")
        return EXIT_UNREADABLE
    records, code = _questionnaire_records(args, rules)
    if code != EXIT_OK:
        return code
    _print_records(records, args.format)
    return EXIT_OK

