"""Structured errors: one base exception, one table of problem codes, documented and used as written."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from pathlib import Path

import pytest

import kyodo_analysis
from kyodo_analysis.errors import CODES, KyodoError
from kyodo_analysis.input.survey import Problem, Survey, problem_table, load_questionnaire

PACKAGE = Path(kyodo_analysis.__file__).parent
DOCS = PACKAGE.parent / "docs" / "input-rules.md"
KEBAB = re.compile(r"[a-z]+(?:-[a-z]+)+")


def _modules() -> list[str]:
    """Every module of the package, as a dotted name."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_codes_are_kebab_case_and_described():
    assert CODES and all(KEBAB.fullmatch(code) for code in CODES)
    assert all(description.strip() for description in CODES.values())


def test_docs_table_is_the_code_table():
    text = DOCS.read_text("utf-8")
    block = text.split("<!-- problem-codes: start -->")[1].split("<!-- problem-codes: end -->")[0]
    rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", block, flags=re.M)
    assert rows == list(CODES.items())


def test_every_exception_class_derives_from_the_base():
    classes = []
    for name in _modules():
        module = importlib.import_module(name)
        classes += [value for value in vars(module).values()
                    if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == name]
    mine = {cls.__qualname__: cls for cls in classes}
    # Terminated turns SIGTERM into an exception that no ``except Exception`` may swallow: not an error.
    mine.pop("Terminated")
    assert {"RuleError", "Refused", "UnreadableFileError", "ReportError", "NotebookStop"} <= set(mine)
    assert [n for n, cls in mine.items() if not issubclass(cls, KyodoError)] == []
    assert all(isinstance(cls.code, str) and cls.code for cls in mine.values())


def test_no_bare_builtin_errors_for_user_input():
    raised = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name):
                if node.exc.func.id in {"ValueError", "RuntimeError", "TypeError", "Exception"}:
                    raised.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    # years.py raises ValueError internally for an impossible date and catches it itself.
    assert [r for r in raised if not r.startswith("input/years.py")] == []


def test_every_code_written_in_the_source_is_in_the_table():
    used = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in {"Problem", "problem", "check_code", "CodebookProblem"}:
                    used |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                             and KEBAB.fullmatch(a.value)}
            if isinstance(node, ast.Tuple) and node.elts and isinstance(node.elts[0], ast.Constant):
                value = node.elts[0].value
                if isinstance(value, str) and value in CODES:
                    used.add(value)
    assert used - set(CODES) == set()
    assert len(used) >= 25  # the scan sees the codes, not just nothing


def test_a_problem_needs_a_known_code():
    with pytest.raises(KeyError):
        Problem("a.csv", None, None, "x", "no-such-code")
    with pytest.raises(TypeError):
        Problem("a.csv", None, None, "x")  # type: ignore[call-arg]


def test_problem_table_has_every_field(tmp_path):
    path = tmp_path / "2017.csv"
    path.write_text("区分,協働したいと思いますか\n市民,思うかも\n", encoding="utf-8")
    survey = load_questionnaire(path)
    table = problem_table(survey)
    fields = {f.name for f in dataclasses.fields(Problem)}
    assert fields <= set(table.columns) and "location" in table.columns
    assert table[["file", "sheet", "cell", "code"]].values.tolist() == [["2017.csv", None, "B2", "unknown-answer"]]
    assert "思うかも" in table.loc[0, "message"]


def test_empty_problem_table_keeps_its_columns():
    empty = Survey(respondents=kyodo_analysis.load_questionnaires([]).respondents,
                   comments=kyodo_analysis.load_questionnaires([]).comments)
    assert list(problem_table(empty).columns) == ["location", "code", "message", "file", "sheet", "cell"]
