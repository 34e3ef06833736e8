"""The vocabulary lives in the data files and one module: no copies in the code, data edits need no code."""
from __future__ import annotations

import ast
import re
from importlib import resources
from pathlib import Path

from workbooks import write_csv

import kyodo_analysis
from kyodo_analysis.input import layout
from kyodo_analysis.input.layout import default_vocabulary, load_vocabulary
from kyodo_analysis.input.survey import load_questionnaire
from kyodo_analysis.rules.load import default_theme_names

PACKAGE = Path(kyodo_analysis.__file__).parent
VOCABULARY_MODULE = PACKAGE / "input" / "layout.py"
HIRAGANA = "\u3041-\u309f"


def _values_text() -> str:
    return (resources.files("kyodo_analysis") / "data" / "values.toml").read_text(encoding="utf-8")


def _headers_text() -> str:
    return (resources.files("kyodo_analysis") / "data" / "headers.toml").read_text(encoding="utf-8")


def _string_constants(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module (f-string parts included), docstrings left out."""
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def _copies(text: str) -> list[str]:
    """The domain names a string literal spells out instead of taking them from the vocabulary."""
    vocab = default_vocabulary()
    answers = (*vocab.answer_choices,)
    names = {*vocab.group_order, *answers, vocab.no_answer, vocab.total, *layout.QUESTION_LABELS,
             *default_theme_names()}
    aliases = {*vocab.shown_headers("group"), *vocab.shown_headers("intent")}
    found = [n for n in names if text == n]  # a name on its own: 市民, 思う, 全体, 理由, 相互理解
    found += [n for n in names | aliases if f"「{n}」" in text]  # quoted in a sentence: 「思う」, 「区分」
    found += [g for g in vocab.group_order if g in text]  # a group in a sentence: 市民と職員
    # An answer in a sentence, not part of a longer word (協働したいと思うか is a column label).
    found += [a for a in answers if re.search(rf"(?<![{HIRAGANA}]){a}(?![{HIRAGANA}])", text)]
    found += [vocab.no_answer] if vocab.no_answer in text else []
    return sorted(set(found))


def test_no_module_but_the_vocabulary_spells_out_a_domain_name():
    copies = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == VOCABULARY_MODULE:
            continue
        for line, text in _string_constants(path):
            if found := _copies(text):
                copies.append(f"{path.relative_to(PACKAGE)}:{line}: {found} in {text[:40]!r}")
    assert copies == []


def test_the_scan_finds_a_copy():
    assert _copies("市民") == ["市民"]
    assert _copies("コメントに現れるテーマ（市民と職員）") == ["市民", "職員"]
    assert _copies("「思う」の割合の推移") == ["思う"]
    assert _copies("見出し「区分」「属性」の列") == ["区分", "属性"]
    assert _copies("協働したいと思うか") == []


def test_the_names_come_from_the_data_files():
    vocab = default_vocabulary()
    assert layout.GROUP_ORDER == vocab.group_order and layout.GROUP_ORDER[:2] == (layout.CITIZENS, layout.STAFF)
    assert layout.INTENT_ORDER == (*vocab.answer_order, vocab.no_answer)
    assert set(vocab.answer_order) == set(vocab.answer_choices)
    assert {layout.NO_ANSWER, layout.TOTAL} == {vocab.no_answer, vocab.total}
    for name in (*layout.GROUP_ORDER, *layout.ANSWER_CHOICES, layout.NO_ANSWER, layout.TOTAL):
        assert f'"{name}"' in _values_text()


def test_a_new_answer_spelling_and_group_alias_are_a_data_edit(tmp_path):
    path = write_csv(tmp_path / "2017.csv", [["区分", "協働したいと思いますか"], ["学生", "賛成"], ["市民", "思う"]])
    before = load_questionnaire(path)
    assert [(p.cell, p.code) for p in before.problems] == [("A2", "unknown-group"), ("B2", "unknown-answer")]

    values = tmp_path / "values.toml"
    text = _values_text()
    text = text.replace('"思う" = ["思う", ', '"思う" = ["思う", "賛成", ', 1)
    text = text.replace('"その他" = ["見学者", ', '"その他" = ["見学者", "学生", ', 1)
    values.write_text(text, encoding="utf-8")
    after = load_questionnaire(path, vocabulary=load_vocabulary(values=values))
    assert after.ok, [str(p) for p in after.problems]
    assert after.respondents[["group", "group_detail", "intent"]].astype(str).values.tolist() == [
        ["その他", "学生", "思う"], ["市民", "市民", "思う"]]


def test_messages_list_the_header_aliases_of_the_data_file(tmp_path):
    path = write_csv(tmp_path / "2017.csv", [["回答者ID", "協働したいですか"], [1, "思う"]])
    headers = tmp_path / "headers.toml"
    headers.write_text(_headers_text().replace('exact = ["区分", ', 'exact = ["参加者の種別", "区分", ', 1),
                       encoding="utf-8")
    default = load_questionnaire(path)
    edited = load_questionnaire(path, vocabulary=load_vocabulary(headers=headers))
    assert [p.code for p in default.problems] == [p.code for p in edited.problems] == ["missing-group-column"]
    assert "「参加者の種別」" not in default.problems[0].message
    assert "「参加者の種別」「区分」" in edited.problems[0].message
