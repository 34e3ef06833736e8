"""The ``kyodo-analysis themes`` subcommand: tag comments with themes, print CSV or JSON."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from .input.corrections import Applied, CorrectionsError, apply_corrections, find_corrections, load_corrections, write_review
from .config import default_processes
from .export import spreadsheet_safe
from .input.survey import CORRECTIONS_FILE_NAME
from .rules.evaluate import LabelError, evaluate_file
from .rules.expression import RuleError
from .rules.ruleset import RuleSet
from .rules.tag import explain, tag_comments, tag_texts, with_matched_words
from .rules.load import load_rules
from .console import add_password_option
from .console import load_or_report

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
    parser.add_argument("--processes", type=int, default=None, metavar="N",
                        help="形態素解析に使うプロセス数（既定: CPU のコア数、最大 2）。1 にすると 1 つのプロセスだけで解析する")
    parser.add_argument("--evaluate", metavar="LABELLED.csv",
                        help="正解付きの CSV（text と themes 列）でテーマ判定の精度を表示する")
    parser.add_argument("--explain", action="store_true",
                        help="テーマごとに、当たった条件（any[番号] と条件の式）と語・位置を 1 行ずつ表示する")
    parser.add_argument("--review", metavar="OUT.xlsx",
                        help="すべての記述とテーマ・当たった語を、修正の欄つきの Excel に書き出す（確認・修正用）")
    parser.add_argument("--corrections", metavar="PATH",
                        help="テーマの手作業の修正ファイル（--review で作って修正したもの）。"
                             f"既定は入力と同じフォルダの {CORRECTIONS_FILE_NAME}")

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
    _print_csv(frame)


def _print_csv(frame: pd.DataFrame) -> None:
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
    if args.explain:
        frame = explain([t for _, t in numbered], rules=rules, cache=not args.no_cache)
        frame.insert(0, "line", [numbered[i][0] for i in frame["comment"]])
        return _explain_records(frame.drop(columns=["comment"]))
    tags = tag_texts([t for _, t in numbered], rules=rules, cache=not args.no_cache,
                     processes=args.processes)
    return [{"line": n, "text": t, "themes": list(th)} for (n, t), th in zip(numbered, tags)]


def _explain_records(frame: pd.DataFrame) -> list[dict]:
    """Turn an explanation frame into JSON-ready records (no NaN, plain ints)."""
    return [{k: (None if pd.isna(v) else int(v) if hasattr(v, "item") and not isinstance(v, str) else v)
             for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def _corrections(args: argparse.Namespace, rules: RuleSet, tagged: pd.DataFrame) -> Applied | None:
    """Apply the corrections file given or found beside the inputs; None after printing problems."""
    paths = [Path(args.corrections)] if args.corrections else find_corrections(args.files)
    try:
        found = load_corrections(paths, themes=rules.names)
    except CorrectionsError as exc:
        for problem in exc.problems:
            _err(problem)
        return None
    applied = apply_corrections(tagged, found, themes=rules.names)
    for note in applied.notes:
        _err(f"メモ: {note}")
    if applied.count:
        _err(f"メモ: テーマの手作業の修正 {applied.count} 件を反映しました（{'・'.join(p.name for p in paths)}）。")
    return applied


def _questionnaire_records(args: argparse.Namespace, rules: RuleSet) -> tuple[list[dict], int]:

    survey, code = load_or_report(args.files, args.year)
    if code != EXIT_OK:
        return [], code
    tagged = tag_comments(survey.comments, rules=rules, cache=not args.no_cache,
                          processes=args.processes)
    if args.review:
        return _write_review(args, rules, tagged)
    fixed = _corrections(args, rules, tagged)
    if fixed is None:
        return [], EXIT_INVALID
    if args.explain:
        frame = explain(survey.comments, rules=rules, cache=not args.no_cache).drop(columns=["comment"])
        hand = fixed.applied.assign(condition=CORRECTED + fixed.applied["correction"]).drop(columns=["correction"])
        frame = pd.concat([frame, hand], ignore_index=True) if len(hand) else frame
        return _explain_records(frame), EXIT_OK
    tagged = fixed.tagged
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


# The condition column of a tag changed by hand, e.g. 修正:追加.
CORRECTED = "修正:"


def _write_review(args: argparse.Namespace, rules: RuleSet, tagged: pd.DataFrame) -> tuple[list[dict], int]:
    """Write the review workbook (rule tags, matched words, corrections already made)."""
    out = Path(args.review)
    paths = [Path(args.corrections)] if args.corrections else find_corrections(args.files)
    if out.suffix.lower() != ".xlsx":
        _err(f"{out.name}: 確認用の表は .xlsx で書き出します（例: --review 確認.xlsx）。")
        return [], EXIT_UNREADABLE
    if out.name == CORRECTIONS_FILE_NAME or any(out.resolve() == p.resolve() for p in paths):
        _err(f"{out}: 修正ファイルを上書きしないよう、別の名前で書き出してください"
             f"（確認してから {CORRECTIONS_FILE_NAME} として保存します）。")
        return [], EXIT_UNREADABLE
    try:
        made = load_corrections(paths, themes=rules.names)
    except CorrectionsError as exc:
        for problem in exc.problems:
            _err(problem)
        return [], EXIT_INVALID
    words = with_matched_words(tagged, rules=rules, cache=not args.no_cache)
    write_review(words, out, themes=rules.names, corrections=made)
    _err(f"確認用の表を書き出しました: {out}（{len(tagged)} 件）。修正の欄に「追加」「削除」を選び、"
         f"{CORRECTIONS_FILE_NAME} として入力のフォルダに保存すると、次から反映されます。")
    return [], EXIT_OK


def run_themes_command(args: argparse.Namespace) -> int:
    """Run ``kyodo-analysis themes`` and return its exit code."""
    try:
        rules = load_rules(args.themes, cache=not args.no_cache)
    except RuleError as exc:
        _err(f"テーマ定義を読めません: {exc}")
        return EXIT_UNREADABLE
    except (OSError, UnicodeDecodeError) as exc:
        _err(f"テーマ定義ファイルを読めません: {args.themes}（{exc}）")
        return EXIT_UNREADABLE
    if args.processes is None:
        args.processes = default_processes()
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
    if args.corrections and not Path(args.corrections).is_file():
        _err(f"{args.corrections}: テーマの修正ファイルが見つかりません（--corrections）。")
        return EXIT_UNREADABLE
    if args.text_file and (args.review or args.corrections):
        _err("--review と --corrections はアンケートのファイル（FILE）に使います（--text-file には使えません）。")
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
    if code != EXIT_OK or args.review:
        return code
    _print_records(records, args.format)
    return EXIT_OK

