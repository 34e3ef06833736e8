"""Tests for reading KH Coder coding-rule files into the shared rule engine."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from kyodo_analysis.text import cache as C
from kyodo_analysis import rules as TH
from kyodo_analysis.rules.kh_coder import load_kh_coder, parse_kh_coder, toml_to_kh_coder

LABELLED = Path(__file__).parent / "data" / "theme_labelled.csv"

KH_RULES = """\
# 協働アンケート用のコーディングルール（KH Coder 形式）
*お金
予算 | 資金 | お金

＊話す場
(話し合い or 対話) and 場
or near(意見-交換)[3]

*目的の共有
seq(目的-共有)[b5] | near(目標-共有)
*お金以外の場
<>話す場 & !<>お金
*お互い
お互い+理解 or 相互理解
"""


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(C.CACHE_ENV, str(tmp_path / "cache"))


def tag(text: str, rules: TH.RuleSet) -> tuple[str, ...]:
    return TH.tag_texts([text], rules=rules, cache=False)[0]


def test_codes_keep_file_order_and_accept_multiline_conditions():
    rules = parse_kh_coder(KH_RULES, "r.txt")
    assert rules.names == ("お金", "話す場", "目的の共有", "お金以外の場", "お互い")
    assert tag("話し合いの場で意見を交換した", rules) == ("話す場", "お金以外の場")
    assert tag("予算を話し合いの場で決める", rules) == ("お金", "話す場")
    assert tag("目的を共有する", rules) == ("目的の共有",)
    assert tag("目的は大事。共有も", rules) == ()  # [b]: not in the same sentence
    assert tag("お互い理解する", rules) == ("お互い",)
    assert tag("立場が違う", rules) == ()


def test_same_rules_tag_identically_in_toml_and_kh_coder_form(tmp_path):
    toml_text = (resources.files("kyodo_analysis") / "data" / "themes.toml").read_text("utf-8")
    kh_path = tmp_path / "default_rules.txt"
    kh_path.write_text(toml_to_kh_coder(toml_text), encoding="utf-8")
    native, kh = TH.load_rules(), TH.load_rules(kh_path)
    assert kh.names == native.names
    texts = TH.load_labelled(LABELLED)["text"].tolist()
    assert TH.tag_texts(texts, rules=kh, cache=False) == TH.tag_texts(texts, rules=native, cache=False)


def test_shift_jis_files_are_read(tmp_path):
    path = tmp_path / "sjis.txt"
    path.write_bytes("*お金\n予算 or 資金\n".encode("cp932"))
    assert load_kh_coder(path).names == ("お金",)


@pytest.mark.parametrize("body, line, what", [
    ("*a\n予算\n*b\n予算-->\n", "4行目", "品詞"),
    ("*a\n買う->未然形\n", "2行目", "活用形"),
    ("*a\n'多ければ'\n", "2行目", "文字列"),
    ("*a\n<>性別-->女性\n", "2行目", "外部変数"),
    ("*a\nlw >= 5\n", "2行目", "長さ"),
    ("*a\n予算 and\n", "2行目", "途中"),
    ("予算\n", "1行目", "*コード名"),
    ("*a\n\n*b\n予算\n", "1行目", "条件がありません"),
    ("*a\nnear(予算-資金)[z]\n", "2行目", "[z]"),
    # KH Coder's code reference must name a code defined above it
    ("*a\n予算\n*b\n<*未定義>\n", "4行目", "「未定義」というコード"),
    ("*a\n<*b>\n*b\n予算\n", "2行目", "「b」というコード"),
    ("*a\n<*a> or 予算\n", "2行目", "「a」というコード"),
    ("*a\n予算\n*b\n資金 or\n<>未定義\n", "5行目", "「未定義」というコード"),
    # rule syntax or quotes inside a word: a typo that would silently never match
    ('*a\n"予算"\n', "2行目", "語として読めません"),
    ("*a\n予算 or 「資金」\n", "2行目", "「"),
    ("*a\n<お金>\n", "2行目", "<*コード名>"),
    ("*a\n<*お金\n", "2行目", "語として読めません"),
    ("*a\n予算[b]\n", "2行目", "["),
    ("*a\n予*算\n", "2行目", "*"),
    ("*a\n(予算 or\n資金) and \"場\"\n", "3行目", "語として読めません"),
    # near/seq nest neither in each other nor hold code references
    ("*a\nnear(seq(予算-資金)-信頼)\n", "2行目", "入れ子"),
    ("*a\nnear(予算-(資金|(お金)))\n", "2行目", "入れ子"),
    ("*a\nnear(seq(a-near(b-c))-d)\n", "2行目", "入れ子"),
    ("*a\n予算\n*b\nnear(資金-<*a>)\n", "4行目", "コードを使えません"),
])
def test_unsupported_or_broken_lines_are_named(body, line, what):
    with pytest.raises(TH.RuleError) as info:
        parse_kh_coder(body, "r.txt")
    message = str(info.value)
    assert "r.txt" in message and line in message and what in message


def test_code_references_in_kh_coder_and_native_form():
    rules = parse_kh_coder(
        "*お金\n予算 | 資金\n"
        "*half\n<*お金> and 場\n"       # KH Coder's own form
        "*full\n<＊お金> and 場\n"      # with a full-width asterisk
        "*native\n<>お金 and 場\n"      # the TOML format's form
        "*multi\n話し合い or\n(<*お金>\nand 場)\n",
        "r.txt",
    )
    assert tag("予算を話し合う場", rules) == ("お金", "half", "full", "native", "multi")
    assert tag("話し合いの場", rules) == ("multi",)
    assert tag("予算が足りない", rules) == ("お金",)


def test_references_written_for_kh_coder_use_its_syntax():
    toml_text = '[[theme]]\nname = "お金"\nany = ["予算"]\n[[theme]]\nname = "話"\nall = ["<>お金", "場"]\n'
    kh_text = toml_to_kh_coder(toml_text)
    assert "<*お金>" in kh_text and "<>" not in kh_text
    rules = parse_kh_coder(kh_text, "r.txt")
    assert tag("予算を話し合う場", rules) == ("お金", "話")
    assert tag("話し合う場", rules) == ()


def test_part_of_speech_constraints_are_read_and_written_back():
    body = "*思い\n思い-->名詞 and not 思う-->動詞\n*聞く思い\nnear(思い-->名詞-聞く)[b5]\n"
    rules = parse_kh_coder(body, "r.txt")
    assert tag("地域への思いを聞いた", rules) == ("思い", "聞く思い")
    assert tag("良いと思います", rules) == ()
    toml_text = '[[theme]]\nname = "思い"\nany = ["思い-->名詞", "near(考え-->名詞-聞く)[5]"]\n'
    kh_text = toml_to_kh_coder(toml_text)
    assert "思い-->名詞" in kh_text and "考え-->名詞" in kh_text
    assert tag("考えを聞く", parse_kh_coder(kh_text, "r.txt")) == ("思い",)
    assert tag("考えて聞く", parse_kh_coder(kh_text, "r.txt")) == ()
