"""Tests for the theme rules, tagging, analyses, evaluation and the themes subcommand."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import fisher_exact
from workbooks import canonical

from kyodo_analysis.text import cache as C
from kyodo_analysis.text import tokens as T
from kyodo_analysis import rules as TH
from kyodo_analysis.text import words as W
from kyodo_analysis.themes_cli import add_themes_arguments, run_themes_command

THEMES = ("相互理解", "対等", "目的共有", "信頼関係", "情報共有", "対話の場", "役割分担",
          "自主・自立", "評価・ふりかえり", "資源")
LABELLED = Path(__file__).parent / "data" / "theme_labelled.csv"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(C.CACHE_ENV, str(tmp_path / "cache"))


def tags(text: str, rules=None) -> tuple[str, ...]:
    return TH.tag_texts([text], rules=rules, cache=False)[0]


# --- default rules ----------------------------------------------------------------


def test_default_table_has_the_ten_themes_in_order():
    assert TH.load_rules().names == THEMES


@pytest.mark.parametrize("text, expected", [
    ("話し合いの場をもっと増やしてほしい。", ("対話の場",)),
    ("行政の立場も分かるが、場合によっては難しい。", ("相互理解",)),
    ("場合によっては協働も必要だ。", ()),
    ("協働したいと思う。", ()),
    ("目的を共有することが一番大切。", ("目的共有",)),
    ("活動の情報を共有する仕組みがほしい。", ("情報共有",)),
    ("お互いを理解し合うことから始めたい。", ("相互理解",)),
    ("市民から信頼される職員でありたい。", ("信頼関係",)),
    ("行政の下請けではなく、対等なパートナーでいたい。", ("対等",)),
    ("予算も人手も足りない。", ("資源",)),
    ("事業の成果をきちんと検証してほしい。", ("評価・ふりかえり",)),
    ("行政に頼りすぎず、自主的に活動したい。", ("自主・自立",)),
    ("それぞれの強みを生かして役割を分担したい。", ("役割分担",)),
    # meaning families (docs/themes.md, テーマの定義と境界)
    ("まずは本音で話せる関係をつくりたい。", ("信頼関係",)),
    ("自ら手を挙げて今日参加した。", ()),
    ("市役所が忙しいのは分かる。", ("相互理解",)),
    ("時間が短く、話が盛り上がってきたところで終わってしまった。", ()),
    ("「同じゴールを見ていれば手段は違ってもいい」という言葉が心に残った。", ("目的共有",)),
    ("自分の苦手な分野の話だったが、分かりやすかった。", ()),
    ("団体が自分の足で立てるようになることが大事だ。", ("自主・自立",)),
    ("市と団体で「何を成功とするか」が違っていた。", ("目的共有",)),
])
def test_default_rules_on_small_tricky_examples(text, expected):
    assert tags(text) == expected


def test_tatachiba_never_triggers_dialogue():
    assert "対話の場" not in tags("立場が違うと考え方も違う。")


def test_several_themes_come_out_in_table_order():
    assert tags("予算は少ないが、対等な関係で話し合いの場を持ちたい。") == ("対等", "対話の場", "資源")


def test_nfkc_applies_to_matching_only():
    tagged = TH.tag_comments(pd.DataFrame({"text": ["ＳＮＳで発信してほしい"]}), cache=False)
    assert tagged["themes"][0] == ("情報共有",)
    assert tagged["text"][0] == "ＳＮＳで発信してほしい"


# Micro F1 recorded for each labelled set after the last rule change (docs/themes.md,
# 「精度の確認」). A rule change may raise these, never lower one: otherwise tuning could
# quietly trade one set for another. theme_blind.csv was frozen as received; it was measured
# blind first (0.728) and has been tuned on since the meaning-family revision (issue 15).
# theme_blind2.csv was written from the definitions by someone who never saw the rules, frozen
# as received and measured once (0.876, 2026-12-04); theme_blind3.csv likewise, by another writer
# (0.765, same day). No rule has been tuned on either.
# theme_train_a/b/c.csv (100 comments each) were written from the definitions by writers who
# never saw the rules and measured before tuning (0.769 / 0.806 / 0.709); the rules were then
# tuned on them by meaning families (見直し 3), so they are tuning sets now.
# After 見直し 3, blind2 and blind3 were measured once more (0.876 / 0.795), and theme_blind4.csv,
# written by yet another writer who never saw the rules and received only after 見直し 3, was
# measured once (0.810). No rule has been tuned on any of the three. After 見直し 4 (tuned on
# train_d/e/f, train_g as validation) all three were measured once more: 0.877 / 0.828 / 0.825.
RECORDED_MICRO_F1 = {
    "theme_labelled.csv": 0.975,
    "theme_dev.csv": 0.972,
    "theme_holdout.csv": 0.980,
    "theme_train_a.csv": 0.953,
    "theme_train_b.csv": 0.985,
    "theme_train_c.csv": 0.962,
    # 見直し 4: train_d/e/f were tuned on (their texts and misses were read); train_g was the
    # validation set for that round: only its scores were looked at, never its texts or misses.
    "theme_train_d.csv": 0.985,
    "theme_train_e.csv": 0.990,
    "theme_train_f.csv": 0.948,
    "theme_train_g.csv": 0.869,
    "theme_blind.csv": 0.983,
    "theme_blind2.csv": 0.877,
    "theme_blind3.csv": 0.828,
    "theme_blind4.csv": 0.825,
}


def test_labelled_set_is_large_enough():
    assert len(TH.load_labelled(LABELLED)) >= 150
    assert len(TH.load_labelled(LABELLED.parent / "theme_blind.csv")) >= 60
    assert len(TH.load_labelled(LABELLED.parent / "theme_blind2.csv")) >= 60
    assert len(TH.load_labelled(LABELLED.parent / "theme_blind3.csv")) >= 60
    assert len(TH.load_labelled(LABELLED.parent / "theme_blind4.csv")) >= 60
    for name in ("theme_train_a.csv", "theme_train_b.csv", "theme_train_c.csv", "theme_train_d.csv",
                 "theme_train_e.csv", "theme_train_f.csv", "theme_train_g.csv"):
        assert len(TH.load_labelled(LABELLED.parent / name)) >= 60


@pytest.mark.parametrize("name, recorded", sorted(RECORDED_MICRO_F1.items()))
def test_every_labelled_set_stays_at_or_above_its_recorded_score(name, recorded):
    table = TH.evaluate_file(LABELLED.parent / name, cache=False)
    micro = table.set_index("theme").loc["micro"]
    assert micro["f1"] >= recorded, table.to_string()


# --- expression engine ------------------------------------------------------------


def doc(text: str) -> TH.Doc:
    return TH.Doc(C.tokenize_many([text], cache=False)[0])


@pytest.mark.parametrize("rule, text, expected", [
    ("場", "話し合いの場", True),
    ("場", "立場の違い", False),
    ("場", "場合による", False),
    ("共有 and 目的", "目的を共有", True),
    ("共有 & 目的", "情報を共有", False),
    ("共有 or 目的", "情報を共有", True),
    ("共有 | 目的", "予算", False),
    ("共有 and not 目的", "目的を共有", False),
    ("共有 & !目的", "情報を共有", True),
    ("(信頼 or 信用) and not 不信", "信頼が大切", True),
    ("お互い+理解", "お互い理解が大切", True),
    ("お互い+理解", "お互いを理解", False),
    ("聞く姿勢", "話を聞く姿勢がある", True),
    ("理解し合う", "理解し合えた", True),
    ("信頼される", "信頼されている", True),
    ("near(共有-目的)[3]", "目的を共有", True),
    ("near(共有-目的)[3]", "共有した目的", True),
    ("near(共有-目的)[1]", "目的をみんなで共有", False),
    ("seq(目的-共有)", "目的を共有", True),
    ("seq(目的-共有)", "共有した目的", False),
    ("near(共有-目的)[b10]", "目的が大事。情報は共有", False),
    ("near(共有-目的)[10]", "目的が大事。情報は共有", True),
    ("near(共有-(目的|目標))", "目標を共有", True),
    ("near(目的|目標-共有)[d]", "目標を共有", True),
])
def test_expression_semantics(rule, text, expected):
    assert TH.parse_expression(rule).matches(doc(text)) is expected


def test_and_binds_tighter_than_or():
    node = TH.parse_expression("予算 or 目的 and 共有")
    assert node.matches(doc("予算"))
    assert not node.matches(doc("目的"))


@pytest.mark.parametrize("rule, message", [
    ("共有 and", "途中で終わって"),
    ("(共有 or 目的", "「)」"),
    ("共有 目的", "and / or"),
    ("near(共有)", "2 つ以上"),
    ("near(共有-目的)[x]", "[x]"),
    ("<>未定義", "未定義"),
])
def test_expression_errors_are_japanese_and_specific(rule, message):
    with pytest.raises(TH.RuleError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        TH.parse_expression(rule)


def test_a_rule_operator_is_one_entry_in_the_operator_table(monkeypatch):
    from kyodo_analysis.rules import expression as E

    def every(term: E.Term) -> E.Node:
        """every(A-B-C): all the slots anywhere in the comment (a made-up operator for this test)."""
        return E.And(tuple(E.Or(tuple(slot.options)) for slot in term.words()))

    with pytest.raises(TH.RuleError):
        TH.parse_expression("every(目的-共有)")
    monkeypatch.setitem(E.OPERATORS, "every", every)  # the only change needed
    rule = TH.parse_expression("every(目的-(共有|予算)) and not 立場")
    assert rule.matches(doc("共有した目的")) and rule.matches(doc("予算の目的"))
    assert not rule.matches(doc("目的")) and not rule.matches(doc("立場を共有した目的"))
    with pytest.raises(TH.RuleError, match="every"):
        TH.parse_expression("every(目的-<>x)")


# --- rule files -------------------------------------------------------------------


TOML = """
[[theme]]
name = "予算"
any = ["予算", "お金"]

[[theme]]
name = "場づくり"
any = ["場", "機会"]
none = ["<>予算"]

[[theme]]
name = "両方"
all = ["<>予算", "near(場-話し合い)[3]"]
"""


def test_custom_toml_file_via_argument(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(TOML, encoding="utf-8")
    rules = TH.load_rules(path)
    assert rules.names == ("予算", "場づくり", "両方")
    assert tags("話し合いの場がほしい", rules=path) == ("場づくり",)
    assert tags("予算を話し合いの場で", rules=str(path)) == ("予算", "両方")


@pytest.mark.parametrize("body, message", [
    ('name = 1\n[[x]]', "[[theme]]"),
    ('[[theme]]\nany = ["a"]', "name"),
    ('[[theme]]\nname = "a"\nwords = ["a"]', "words"),
    ('[[theme]]\nname = "a"\nany = ["a and"]', "テーマ「a」"),
    ('[[theme]]\nname = "a"\n[[theme]]\nname = "a"', "2 回"),
    ('[[theme]\n', "TOML"),
])
def test_toml_errors_name_the_problem(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(TH.RuleError, match=message.replace("[", r"\[")):
        TH.load_rules(path)


# --- tagging frames ---------------------------------------------------------------


def comments_frame() -> pd.DataFrame:
    rows = [
        (2016, "市民", "理由", "f.xlsx", "s", 5, "話し合いの場がほしい"),
        (2016, "市民", "理由", "f.xlsx", "s", 6, "予算が足りない"),
        (2016, "職員", "理由", "f.xlsx", "s", 7, "話し合いの場が大事"),
        (2016, "職員", "講演", "f.xlsx", "s", 7, "協働の意味が分かった"),
        (2017, "市民", "理由", "g.xlsx", "s", 5, "信頼関係が大事。話し合いの機会も"),
    ]
    frame = pd.DataFrame(rows, columns=["fiscal_year", "group", "question", "file", "sheet", "row", "text"])
    frame["group"] = pd.Categorical(frame["group"], categories=["市民", "職員", "その他"])
    frame["cell"] = ["E5", "E6", "E7", "F7", "E5"]
    return frame


def test_tag_comments_returns_a_copy_with_tuples():
    frame = comments_frame()
    tagged = TH.tag_comments(frame, cache=False)
    assert "themes" not in frame
    assert tagged["themes"].tolist() == [("対話の場",), ("資源",), ("対話の場",), (), ("信頼関係", "対話の場")]
    assert tagged.drop(columns="themes").equals(frame)


def test_tag_comments_uses_and_fills_the_disk_cache():
    frame = comments_frame()
    first = TH.tag_comments(frame)
    second = TH.tag_comments(frame)
    assert first["themes"].tolist() == second["themes"].tolist()


def test_theme_shares_counts_every_theme_with_comments_as_denominator():
    shares = TH.theme_shares(TH.tag_comments(comments_frame(), cache=False))
    assert list(shares.columns) == ["fiscal_year", "group", "question", "theme", "n_comments", "n_mentions", "share"]
    assert list(shares["theme"].cat.categories) == list(THEMES) and shares["theme"].cat.ordered
    cell = shares[(shares.fiscal_year == 2016) & (shares.group == "市民") & (shares.question == "理由")]
    assert len(cell) == 10 and set(cell["n_comments"]) == {2}
    row = cell.set_index("theme").loc["対話の場"]
    assert (row.n_mentions, row.share) == (1, 0.5)
    assert cell.set_index("theme").loc["対等", "n_mentions"] == 0


def test_theme_shares_other_groupings():
    shares = TH.theme_shares(TH.tag_comments(comments_frame(), cache=False), by=["group"])
    assert shares.set_index(["group", "theme"]).loc[("市民", "対話の場"), "n_mentions"] == 2


def test_theme_table_is_wide_with_n_in_the_labels_and_the_given_order_first():
    tagged = TH.tag_comments(comments_frame(), cache=False)
    by_group = TH.theme_table(tagged, by="group")
    assert list(by_group.columns) == [("市民（n=3）", "n_mentions"), ("市民（n=3）", "share"),
                                      ("職員（n=2）", "n_mentions"), ("職員（n=2）", "share")]
    assert list(by_group.index) == list(THEMES) and by_group.index.name == "theme"
    assert by_group.loc["対話の場", ("市民（n=3）", "n_mentions")] == 2
    assert by_group.loc["対話の場", ("市民（n=3）", "share")] == pytest.approx(2 / 3)
    assert by_group[("職員（n=2）", "n_mentions")].dtype == "int64"
    by_question = TH.theme_table(tagged, by="question", order=("講演", "ワークショップ", "理由"))
    assert [c[0] for c in by_question.columns[::2]] == ["講演（n=1）", "理由（n=4）"]


def test_compare_groups_uses_fisher_exact_per_comment():
    table = TH.compare_groups(TH.tag_comments(comments_frame(), cache=False))
    assert list(table.columns) == ["theme", "citizens_n", "citizens_k", "citizens_share", "staff_n", "staff_k",
                                   "staff_share", "p_value", "indicative"]
    row = table.set_index("theme").loc["対話の場"]
    assert (row.citizens_n, row.citizens_k, row.staff_n, row.staff_k) == (3, 2, 2, 1)
    assert row.p_value == pytest.approx(fisher_exact([[2, 1], [1, 1]]).pvalue)
    assert not row.indicative


def test_compare_groups_flags_clear_differences_as_indicative():
    frame = pd.DataFrame({"group": ["市民"] * 10 + ["職員"] * 10,
                          "themes": [("資源",)] * 10 + [()] * 10})
    row = TH.compare_groups(frame).set_index("theme").loc["資源"]
    assert row.indicative and row.p_value < 0.001


def test_compare_groups_per_respondent_counts_people_once():
    tagged = TH.tag_comments(comments_frame(), cache=False)
    table = TH.compare_groups(tagged, per="respondent").set_index("theme")
    # Row 7 of f.xlsx wrote two comments: one respondent.
    assert table.loc["対話の場", "staff_n"] == 1


def test_word_frequencies_by_group_exclude_kyodo():
    freq = W.word_frequencies(comments_frame(), cache=False)
    assert list(freq.columns) == ["group", "word", "pos", "occurrences", "n_comments"]
    assert "協働" not in set(freq["word"])
    citizens = freq[freq.group == "市民"].set_index("word")
    assert citizens.loc["話し合い", "occurrences"] == 2 and citizens.loc["話し合い", "pos"] == "名詞"
    with_kyodo = W.word_frequencies(comments_frame(), exclude=(), cache=False, min_comments=1)
    assert "協働" in set(with_kyodo["word"])


def test_kwic_shows_original_characters_around_the_word():
    frame = comments_frame()
    frame.loc[0, "text"] = "ＮＰＯとの話し合いの場がほしい"
    frame.loc[1, "text"] = "立場が違う。場合による。"
    lines = TH.kwic(frame, "場", width=5)
    assert list(lines.columns[:3]) == ["left", "keyword", "right"]
    assert {"group", "fiscal_year", "question"} <= set(lines.columns)
    first = lines.iloc[0]
    assert (first.left, first.keyword, first.right) == ("話し合いの", "場", "がほしい")
    assert len(lines) == 2  # 立場 and 場合 are other words
    assert TH.kwic(frame, "ＮＰＯ").iloc[0]["keyword"] == "ＮＰＯ"


def test_evaluate_counts_per_theme_and_micro():
    table = TH.evaluate([("対等",), ("対等", "資源"), ()], [("対等",), ("資源",), ("資源",)],
                        themes=["対等", "資源"]).set_index("theme")
    assert (table.loc["対等", "tp"], table.loc["対等", "fp"]) == (1, 1)
    assert table.loc["資源", "recall"] == 0.5
    assert table.loc["micro", "f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))


# --- command line -----------------------------------------------------------------


def run_cli(argv, capsys):
    parser = argparse.ArgumentParser()
    add_themes_arguments(parser)
    code = run_themes_command(parser.parse_args([str(a) for a in argv]))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_text_file_json(tmp_path, capsys):
    path = tmp_path / "c.txt"
    path.write_text("話し合いの場がほしい\n\n予算と信頼\n", encoding="utf-8")
    code, out, _ = run_cli(["--text-file", path, "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out) == [
        {"line": 1, "text": "話し合いの場がほしい", "themes": ["対話の場"]},
        {"line": 3, "text": "予算と信頼", "themes": ["信頼関係", "資源"]},
    ]


def test_cli_text_file_csv_is_deterministic(tmp_path, capsys):
    path = tmp_path / "c.txt"
    path.write_text("予算と信頼\n立場\n", encoding="utf-8")
    first = run_cli(["--text-file", path], capsys)[1]
    second = run_cli(["--text-file", path, "--no-cache"], capsys)[1]
    assert first == second == "line,text,themes\n1,予算と信頼,信頼関係;資源\n2,立場,\n"


def test_cli_questionnaire_json(tmp_path, capsys):
    book = canonical(tmp_path / "2017.xlsx", [[1, "NPO", "会", "思う", "予算が足りない。", "話し合いの場が良い"]])
    code, out, _ = run_cli([book, "--format", "json"], capsys)
    assert code == 0
    records = json.loads(out)
    assert records[0] == {"text": "予算が足りない。", "themes": ["資源"], "fiscal_year": 2017, "group": "市民",
                          "question": "理由", "file": "2017.xlsx", "sheet": "回答", "cell": "E4"}
    assert records[1]["themes"] == ["対話の場"] and records[1]["question"] == "講演"


def test_cli_kh_coder_rules(tmp_path, capsys):
    rules = tmp_path / "rules.txt"
    rules.write_text("*お金\n予算 | 資金\n", encoding="utf-8")
    text = tmp_path / "c.txt"
    text.write_text("予算が足りない\n", encoding="utf-8")
    code, out, _ = run_cli(["--text-file", text, "--themes", rules], capsys)
    assert (code, out) == (0, "line,text,themes\n1,予算が足りない,お金\n")


@pytest.mark.parametrize("argv_builder, message", [
    (lambda p: ["--text-file", p / "missing.txt"], "見つかりません"),
    (lambda p: [], "--text-file"),
    (lambda p: ["--text-file", p / "c.txt", "--themes", p / "bad.txt"], "2行目"),
    (lambda p: ["--text-file", p / "sjis.txt"], "UTF-8"),
])
def test_cli_misuse_exits_2_with_a_japanese_message(tmp_path, capsys, argv_builder, message):
    (tmp_path / "c.txt").write_text("場\n", encoding="utf-8")
    (tmp_path / "bad.txt").write_text("*コード\n予算->未然形\n", encoding="utf-8")
    (tmp_path / "sjis.txt").write_bytes("話し合いの場".encode("cp932"))
    code, _, err = run_cli(argv_builder(tmp_path), capsys)
    assert code == 2 and message in err


def test_cli_evaluate_prints_the_table(capsys):
    code, out, _ = run_cli(["--evaluate", LABELLED], capsys)
    assert code == 0 and "micro" in out and "相互理解" in out


def test_stored_tags_follow_the_rule_file(tmp_path):
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text('[[theme]]\nname = "x"\nany = ["場"]\n', encoding="utf-8")
    second.write_text('[[theme]]\nname = "x"\nany = ["予算"]\n', encoding="utf-8")
    texts = ["話し合いの場", "予算"]
    assert TH.tag_texts(texts, rules=first) == [("x",), ()]
    assert TH.tag_texts(texts, rules=first) == [("x",), ()]  # from the stored tags
    assert TH.tag_texts(texts, rules=second) == [(), ("x",)]


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys):
    TH.tag_texts([f"{i}件目の意見" for i in range(50)], cache=False)
    assert capsys.readouterr().err == ""


def test_processes_give_identical_tags(monkeypatch):
    monkeypatch.setattr(C, "MIN_TEXTS_PER_PROCESS", 1)
    texts = TH.load_labelled(LABELLED)["text"].tolist()[:60]
    assert TH.tag_texts(texts, processes=2, cache=False) == TH.tag_texts(texts, cache=False)


def test_phrases_also_match_the_way_janome_cuts_them_in_context():
    # Alone, 何でも is 何/で/も; inside the sentence janome reads 何/でも.
    assert TH.parse_expression("何でも").matches(doc("何でも相談できる"))
    assert not TH.parse_expression("何でも").matches(doc("何で戻る"))


def test_kwic_maps_offsets_back_when_nfkc_changes_the_length():
    frame = pd.DataFrame({"text": ["ﾜｰｸｼｮｯﾌﾟの場がよかった"], "group": ["市民"]})
    line = TH.kwic(frame, "場", width=10).iloc[0]
    assert (line.left, line.keyword, line.right) == ("ﾜｰｸｼｮｯﾌﾟの", "場", "がよかった")


# --- rule words and inflected verbs -------------------------------------------------


def one_word_rules(*words: str) -> TH.RuleSet:
    entries = "".join(f'[[theme]]\nname = "{w}"\nany = ["{w}"]\n' for w in words)
    return TH.parse_toml_rules(entries, "test.toml")


@pytest.mark.parametrize("rule, text", [
    ("言い合う", "何でも言い合える関係がほしい。"),
    ("言い合う", "意見を言い合う場がほしい。"),
    ("信じ合う", "お互いに信じ合える関係。"),
    ("信じ合う", "お互いに信じ合うこと。"),
    ("分かり合う", "市民と職員が分かり合えた。"),
    ("話し合う", "対等に話し合える場。"),
    ("目指す", "同じ目標を目指せる。"),
    ("言う", "本音が言える。"),
])
def test_rule_words_in_dictionary_form_match_compound_and_potential_verbs(rule, text):
    assert TH.tag_texts([text], rules=one_word_rules(rule), cache=False) == [(rule,)]


@pytest.mark.parametrize("rule, text", [
    ("分かる", "市民と職員で意見が分かれた。"),
    ("進む", "事業を進める。"),
    ("続く", "活動を続ける。"),
    ("届く", "書類を届ける。"),
])
def test_verbs_of_their_own_do_not_match_the_verb_they_look_like(rule, text):
    assert TH.tag_texts([text], rules=one_word_rules(rule), cache=False) == [()]


def test_rule_word_compound_verbs_are_one_part_like_the_text():
    assert TH.word_parts("信じ合う") == ("信じ合う",)
    assert TH.word_parts("分かり合う") == ("分かり合う",)
    assert TH.word_parts("言い合う") == ("言い合う",)


def test_a_joined_compound_verb_is_its_own_word():
    # As janome's one-word 話し合う is not 話す: 押し付け合い is not 押し付ける.
    assert TH.parse_expression("押し付け合う").matches(doc("押し付け合いになった"))
    assert not TH.parse_expression("押し付ける").matches(doc("押し付け合いになった"))


@pytest.mark.parametrize("text", ["目的が大事\n情報は共有", "目的が大事\r\n情報は共有"])
def test_a_line_break_in_a_cell_ends_a_sentence(text):
    assert not TH.parse_expression("near(共有-目的)[b10]").matches(doc(text))
    assert TH.parse_expression("near(共有-目的)[10]").matches(doc(text))
    assert not TH.parse_expression("大事+情報").matches(doc(text))


# --- part of speech and compounds ---------------------------------------------------


def _doc(text: str) -> TH.Doc:
    return TH.Doc(tuple((t.surface, t.part_of_speech, t.base_form) for t in T.tokenize(text)))


@pytest.mark.parametrize("rule, text, expected", [
    ("思い-->名詞", "地域への思いを大切にしたい", True),
    ("思い-->名詞", "良いと思います", False),          # the verb 思う in 連用形
    ("思う-->動詞", "良いと思います", True),
    ("思う-->動詞", "地域への思いを大切にしたい", False),
    ("考え-->名詞", "市の考えを知った", True),
    ("考え-->名詞", "考えてみたい", False),
    ("信頼-->サ変名詞", "信頼が大事", True),              # KH Coder's name for 名詞-サ変接続
    ("信頼-->名詞-サ変接続", "信頼が大事", True),
    ("信頼-->動詞", "信頼が大事", False),
    ("near(思い-->名詞-聞く)[5]", "団体の思いを聞いた", True),
    ("near(思い-->名詞-聞く)[5]", "良いと思いますと聞いた", False),
])
def test_part_of_speech_constrained_words(rule, text, expected):
    assert TH.parse_expression(rule).compile()(_doc(text)) is expected
    assert TH.parse_expression(rule).matches(_doc(text)) is expected


@pytest.mark.parametrize("rule, text, expected", [
    ("財政", "財政難で活動が続かない", True),       # 名詞,一般 compound with a one-character rest
    ("上下", "上下水道の整備について", False),       # a longer rest is a word of its own
    ("理解", "相互理解が進んだ", True),              # user-dictionary compound, end
    ("市民", "市民活動団体の話", True),              # user-dictionary compound, start
    ("場", "立場が違う", False),                     # one-character words never match inside
    ("near(団体-理解)[5]", "市民活動団体への理解", True),
    ("予算 | near(市民-理解)[5]", "市民活動団体への理解", True),  # 市民 only inside 市民活動
    ("予算 | near(市民-理解)[5]", "市民活動団体の話", False),
])
def test_rule_nouns_match_inside_compound_tokens_only_where_safe(rule, text, expected):
    assert TH.parse_expression(rule).compile()(_doc(text)) is expected
    assert TH.parse_expression(rule).matches(_doc(text)) is expected


def test_bad_part_of_speech_is_named():
    with pytest.raises(TH.RuleError, match="品詞"):
        TH.parse_expression("予算-->")


def _meets(doc: TH.Doc, condition) -> bool:
    forms, parts = condition
    return not forms.isdisjoint(doc.formset) or not parts.isdisjoint(doc.parts)


def test_indexed_rules_decide_as_the_plain_tree_on_labelled_comments():
    # The compiled Or looks only at children whose trigger a comment meets; every bundled
    # theme must still decide each labelled comment exactly as walking the whole tree does.
    data = Path(__file__).parent / "data"
    texts = pd.concat([pd.read_csv(data / f"theme_{name}.csv")["text"] for name in ("blind2", "train_a", "train_d")])
    docs = [TH.Doc(raw) for raw in C.tokenize_many([str(t) for t in texts.drop_duplicates()], cache=False)]
    assert len(docs) > 250
    rules = TH.load_rules()
    decided = 0
    for theme in rules.themes:
        fast = theme.condition.compile()
        nodes = [theme.condition, *getattr(theme.condition, "children", ())]
        for doc in docs:
            holds = theme.condition.matches(doc)
            assert fast(doc) is holds, (theme.name, doc.raw)
            decided += holds
            for node in nodes if holds else ():  # a node that holds meets its trigger
                condition = node.trigger()
                if condition is not None and node.matches(doc):
                    assert _meets(doc, condition), (theme.name, node)
    assert decided > 150
