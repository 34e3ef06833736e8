"""The command line contract, run as a real subprocess (exit codes, output, no traceback)."""
import json
import os
import subprocess
import sys

import pytest
from openpyxl import load_workbook
from workbooks import canonical, write_xlsx

ROWS = [[1, "NPO", "みどりの輪", "思う", "顔が見える関係が大事。", None],
        [2, "職員", "環境政策課", "思わない", "人手が足りない。", None],
        [3, "職員", "道路管理課", None, "まだ分からない。", None]]


def run(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if k != "KYODO_DEBUG"}
    done = subprocess.run([sys.executable, "-m", "kyodo_analysis.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env)
    assert "Traceback" not in done.stderr + done.stdout
    return done


def test_validate_ok_prints_counts_per_file(tmp_path):
    path = canonical(tmp_path / "2017.xlsx", ROWS)
    done = run("validate", path)
    assert done.returncode == 0
    assert done.stdout.strip() == "OK 2017.xlsx: 2017年度 回答 3 件（市民 1・職員 2）"


def test_validate_lists_problems_and_exits_1(tmp_path):
    path = canonical(tmp_path / "2017.xlsx", [[1, "NPO", "a", "思うかも", "x", None], [2, "学生", "b", "思う", "y", None]])
    done = run("validate", path)
    assert done.returncode == 1
    # One line per problem: the place, the stable code, then the message naming the value found.
    lines = done.stdout.splitlines()
    assert [line.split(" ", 2)[:2] for line in lines] == [["2017.xlsx", "回答!D4:"], ["2017.xlsx", "回答!B5:"]]
    assert [line.split(" ", 2)[2].split("] ")[0] for line in lines] == ["[unknown-answer", "[unknown-group"]
    assert "「思うかも」" in lines[0] and "「学生」" in lines[1]


def test_unreadable_file_exits_2_but_other_files_are_still_checked(tmp_path):
    bad = tmp_path / "2016.xlsx"
    bad.write_text("not a workbook", encoding="utf-8")
    good = canonical(tmp_path / "2017.xlsx", ROWS)
    done = run("validate", bad, good)
    assert done.returncode == 2
    assert "2016.xlsx: Excel ブック（.xlsx）ではありません" in done.stdout
    assert "OK" not in done.stdout


def test_misuse_exits_2_in_japanese():
    done = run("summary")
    assert done.returncode == 2
    assert "次の引数が必要です" in done.stderr


def test_summary_json_lists_every_answer_with_zeros(tmp_path):
    done = run("summary", canonical(tmp_path / "2017.xlsx", ROWS), "--format", "json")
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert records[:4] == [
        {"fiscal_year": 2017, "group": "市民", "answer": "思う", "count": 1},
        {"fiscal_year": 2017, "group": "市民", "answer": "思わない", "count": 0},
        {"fiscal_year": 2017, "group": "市民", "answer": "どちらとも言えない", "count": 0},
        {"fiscal_year": 2017, "group": "市民", "answer": "無回答", "count": 0},
    ]
    assert [(r["group"], r["answer"], r["count"]) for r in records[4:]] == [
        ("職員", "思う", 0), ("職員", "思わない", 1), ("職員", "どちらとも言えない", 0), ("職員", "無回答", 1)]


def test_summary_table_and_csv(tmp_path):
    path = canonical(tmp_path / "2017.xlsx", ROWS)
    table = run("summary", path).stdout
    assert "協働したいと思いますか？（人数）" in table and "計" in table
    csv_text = run("summary", path, "--format", "csv").stdout
    assert csv_text.splitlines()[0] == "年度,区分,回答,人数"
    assert "2017,職員,思わない,1" in csv_text.splitlines()


def test_summary_refuses_invalid_data(tmp_path):
    path = canonical(tmp_path / "2017.xlsx", [[1, "学生", "b", "思う", "y", None]])
    done = run("summary", path, "--format", "json")
    assert done.returncode == 1 and done.stdout == ""
    assert "「学生」は区分" in done.stderr


def test_process_writes_nothing_when_invalid(tmp_path):
    bad = canonical(tmp_path / "2017.xlsx", [[1, "学生", "b", "思う", "y", None]])
    out = tmp_path / "processed"
    assert run("process", bad, "--out", out).returncode == 1
    assert not out.exists()
    good = canonical(tmp_path / "2016.xlsx", ROWS, title="平成28年度")
    assert run("process", good, "--out", out).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["comments.csv", "questionnaire.xlsx", "respondents.csv"]


def test_template_has_drop_downs_and_loads_once_filled(tmp_path):
    out = tmp_path / "入力表.xlsx"
    assert run("template", out, "--year", "2018").returncode == 0
    assert run("template", out).returncode == 2  # never overwrites silently
    workbook = load_workbook(out)
    lists = {str(dv.sqref): dv.formula1 for dv in workbook["回答"].data_validations.dataValidation}
    assert lists == {"B4:B153": '"市民,職員,その他"', "D4:D153": '"思う,思わない,どちらとも言えない"'}
    ws = workbook["回答"]
    ws["B4"], ws["C4"], ws["D4"], ws["E4"] = "市民", "みどりの輪", "思う", "対等な関係で進めたい"
    workbook.save(out)
    done = run("validate", out)
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip() == "OK 入力表.xlsx: 2018年度 回答 1 件（市民 1）"


@pytest.mark.parametrize(("given", "formats"), [
    ("pdf", ("png", "pdf")), ("PDF, svg", ("png", "svg", "pdf")), ("png、.svg", ("png", "svg")), ("png", ("png",)),
])
def test_formats_option_always_keeps_png_in_a_fixed_order(given, formats):
    from kyodo_analysis.console import formats_argument

    assert formats_argument(given) == formats


@pytest.mark.parametrize("given", ["gif", "png,jpeg", "", " , "])
def test_an_unknown_figure_format_is_refused_before_anything_is_read(tmp_path, given):
    done = run("report", tmp_path / "nothing-here", "--formats", given, "--out", tmp_path / "out")
    assert done.returncode == 2
    assert f"「{given}」は図の形式として読めません" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["validate", "summary", "process", "themes",
                                     pytest.param("report", marks=pytest.mark.slow), "template"])
def test_commands_never_modify_input_files(tmp_path, command, raw_guard):
    path = canonical(tmp_path / "2017.xlsx", ROWS)
    before = path.read_bytes()
    if command == "template":
        args = [tmp_path / "ひな形.xlsx"]
    else:
        # data/raw/ itself, as make report passes it, beside a file of our own (PNG figures are enough here).
        args = [raw_guard, path, *(["--out", tmp_path / "out"] if command in ("process", "report") else []),
                *(["--formats", "png"] if command == "report" else [])]
    done = run(command, *args)
    assert done.returncode in (0, 1), done.stderr
    assert path.read_bytes() == before


def test_a_folder_reads_the_samples_only_while_no_real_file_is_there(tmp_path):
    canonical(tmp_path / "sample_2016.xlsx", ROWS, title="平成28年度 協働のまちづくりワークショップ")
    done = run("summary", tmp_path, "--format", "json")
    assert done.returncode == 0
    assert {r["fiscal_year"] for r in json.loads(done.stdout)} == {2016}
    assert "サンプル" not in done.stderr

    canonical(tmp_path / "2018.xlsx", ROWS[:2], title="平成30年度 協働のまちづくりワークショップ")
    (tmp_path / "~$2018.xlsx").write_bytes(b"lock file of an open workbook")
    done = run("summary", tmp_path, "--format", "json")
    assert done.returncode == 0
    records = json.loads(done.stdout)
    # Invented sample years must never mix into a real report.
    assert {r["fiscal_year"] for r in records} == {2018}
    assert sum(r["count"] for r in records) == 2
    assert "同梱の架空サンプル 1 件（sample_2016.xlsx）は使いません" in done.stderr


def test_an_explicitly_named_sample_is_read_beside_real_files(tmp_path):
    sample = canonical(tmp_path / "sample_2016.xlsx", ROWS, title="平成28年度 協働のまちづくりワークショップ")
    real = canonical(tmp_path / "2018.xlsx", ROWS[:2], title="平成30年度 協働のまちづくりワークショップ")
    done = run("summary", sample, real, "--format", "json")
    assert {r["fiscal_year"] for r in json.loads(done.stdout)} == {2016, 2018}


def test_a_folder_without_questionnaires_is_refused_with_exit_2(tmp_path):
    done = run("validate", tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"{tmp_path.name}: フォルダにアンケートのファイル（.xlsx・.ods・.csv）がありません。"


def test_a_file_of_another_type_in_the_folder_is_named_not_skipped(tmp_path):
    (tmp_path / "memo.txt").write_text("メモ", encoding="utf-8")
    (tmp_path / ".gitkeep").write_text("", encoding="utf-8")
    done = run("validate", tmp_path)
    assert done.returncode == 2
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["memo.txt"]


def test_an_unreadable_file_gets_one_message_and_no_advice_about_cells(tmp_path):
    path = tmp_path / "2017.xlsx"
    path.write_text("回答者ID,区分\n1,市民\n", encoding="utf-8")
    done = run("validate", path)
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("2017.xlsx: Excel ブック（.xlsx）ではありません")


@pytest.mark.parametrize("command", ["validate", "summary", "process", "themes",
                                     pytest.param("report", marks=pytest.mark.slow), "template"])
def test_help_is_in_japanese(command):
    done = run(command, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("使い方: kyodo-analysis " + command)
    assert "usage:" not in done.stdout and "options:" not in done.stdout and "オプション:" in done.stdout


def test_process_refuses_to_write_into_the_folder_of_its_inputs(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    canonical(raw / "2017.xlsx", ROWS)
    done = run("process", raw, "--out", raw)
    assert done.returncode == 2
    assert "入力ファイルと同じフォルダには書き出せません" in done.stderr
    assert sorted(p.name for p in raw.iterdir()) == ["2017.xlsx"]


def test_an_old_xls_in_a_folder_is_refused_not_replaced_by_the_samples(tmp_path):
    canonical(tmp_path / "sample_2016.xlsx", ROWS, title="平成28年度 協働のまちづくりワークショップ")
    (tmp_path / "2018.xls").write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504)
    done = run("validate", tmp_path)
    assert done.returncode == 2
    assert "2018.xls:" in done.stdout + done.stderr
    assert "sample_2016.xlsx" not in done.stdout


@pytest.mark.parametrize("error, message", [
    (PermissionError(13, "Permission denied", "out/respondents.csv"), "out/respondents.csv: 書き込む権限がありません"),
    (OSError(28, "No space left on device"), "ディスクの空きが足りないため"),
])
def test_write_failures_get_a_plain_message_and_exit_2(tmp_path, capsys, monkeypatch, error, message):
    # Root may write anywhere, so the failure is raised where the tables are written.
    from kyodo_analysis import cli

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(cli, "write_processed", fail)
    code = cli.main(["process", str(canonical(tmp_path / "2017.xlsx", ROWS)), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_other_os_errors_are_reported_as_unexpected_with_exit_3(tmp_path, capsys, monkeypatch):
    from kyodo_analysis import cli

    def fail(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(cli, "write_processed", fail)
    monkeypatch.delenv("KYODO_DEBUG", raising=False)
    code = cli.main(["process", str(canonical(tmp_path / "2017.xlsx", ROWS)), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 3 and "予期しないエラーで止まりました（OSError" in err and "Traceback" not in err


def _files_under(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_all_runs_the_four_commands_of_make_report_in_one_process(tmp_path):
    (tmp_path / "in").mkdir()
    path = canonical(tmp_path / "in" / "2017.xlsx", ROWS)
    one, four = tmp_path / "one", tmp_path / "four"
    steps = [run("validate", path), run("process", path, "--out", four / "processed"), run("summary", path),
             run("report", path, "--out", four / "reports", "--formats", "png")]
    # all passes --formats on to its report step (otherwise the two folders would differ).
    done = run("all", path, "--processed", one / "processed", "--out", one / "reports", "--formats", "png")
    assert [s.returncode for s in steps] == [0, 0, 0, 0] and done.returncode == 0, done.stderr
    assert done.stdout == "".join(s.stdout for s in steps).replace(str(four), str(one))
    assert done.stderr == "".join(s.stderr for s in steps).replace(str(four), str(one))
    assert _files_under(one) == _files_under(four)


def test_all_stops_at_validation_with_its_exit_code_and_writes_nothing(tmp_path):
    path = canonical(tmp_path / "2017.xlsx", [[1, "NPO", "a", "思うかも", "x", None]])
    alone = run("validate", path)
    done = run("all", path, "--processed", tmp_path / "processed", "--out", tmp_path / "reports")
    assert alone.returncode == done.returncode == 1
    assert done.stdout == alone.stdout and done.stderr == alone.stderr
    assert not (tmp_path / "processed").exists() and not (tmp_path / "reports").exists()
