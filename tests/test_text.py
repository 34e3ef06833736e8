"""Tests for the janome text pipeline: dictionary, steps, counting, cache, processes."""
from __future__ import annotations

import sqlite3

import pytest

from kyodo_analysis import text as T


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(T.CACHE_ENV, str(tmp_path / "cache"))


def surfaces(s: str) -> list[str]:
    return [t.surface for t in T.tokenize(s)]


@pytest.mark.parametrize("word", ["協働", "市民活動団体", "相互理解", "見える化", "縦割り", "ワークショップ",
                                  "まちづくり", "中間支援", "自治会"])
def test_user_dictionary_keeps_domain_words_whole(word):
    assert surfaces(f"{word}について考えた")[0] == word


def test_user_dictionary_does_not_disturb_neighbours():
    # janome's plain simpledic loader made と a filler here; the noun context ids keep it a particle.
    tokens = T.tokenize("見える化と縦割り")
    assert [(t.surface, t.pos) for t in tokens] == [("見える化", "名詞"), ("と", "助詞"), ("縦割り", "名詞")]


def test_get_tokenizer_is_shared_and_splits_kyodo_as_one_token():
    assert T.get_tokenizer() is T.get_tokenizer()
    assert [t.surface for t in T.get_tokenizer().tokenize("協働する")][:1] == ["協働"]


def test_normalize_is_nfkc():
    assert T.normalize("ＮＰＯ　ｶﾞｲﾄﾞ１２３") == "NPO ガイド123"


def test_tokens_come_from_nfkc_text_and_give_base_forms():
    tokens = T.tokenize("ＮＰＯと信頼し合えた")
    assert tokens[0].surface == "NPO"
    assert any(t.base_form == "信頼" for t in tokens)


def test_split_for_tokenizer_prefers_sentence_ends_and_keeps_every_character():
    text = "あ" * 300 + "。" + "い" * 300 + "！" + "う" * 50
    pieces = T.split_for_tokenizer(text, limit=400)
    assert "".join(pieces) == text
    assert pieces[0].endswith("。") and all(len(p) <= 400 for p in pieces)


def test_split_for_tokenizer_cuts_unpunctuated_text_at_the_limit():
    text = "協働" * 1500
    pieces = T.split_for_tokenizer(text, limit=400)
    assert "".join(pieces) == text and max(map(len, pieces)) == 400


def test_long_text_without_punctuation_is_tokenised_whole():
    text = "協働" * 700  # 1,400 characters: janome alone would cut at 1,024 mid-lattice
    assert "".join(surfaces(text)) == text


def test_content_words_keep_nouns_verbs_adjectives_in_base_form_without_stopwords():
    words = [t.base_form for t in T.content_words(T.tokenize("話し合いの場がほしいと思いました。楽しかったです。"))]
    assert words == ["話し合い", "場", "ほしい", "楽しい"]


def test_content_words_can_drop_kyodo_and_join_compound_nouns():
    tokens = T.tokenize("協働事業の情報公開を進める")
    assert "協働" in [t.base_form for t in T.content_words(tokens)]
    assert "協働" not in [t.base_form for t in T.content_words(tokens, exclude=["協働"])]
    assert "情報公開" in [t.base_form for t in T.content_words(tokens, compound=True)]


def test_stopwords_are_package_data():
    stop = T.load_stopwords()
    assert {"する", "ある", "いる", "なる", "こと", "もの", "よう", "思う"} <= stop


def test_stopword_file_can_be_replaced(tmp_path):
    path = tmp_path / "stop.txt"
    path.write_text("# 自分用\n場  # コメント\n", encoding="utf-8")
    words = T.content_words(T.tokenize("話し合いの場"), stopwords=T.load_stopwords(path))
    assert [t.base_form for t in words] == ["話し合い"]


def test_word_counts_count_base_forms():
    counts = T.word_counts(["信頼が大事", "信頼される関係"], exclude=["協働"])
    assert counts[("信頼", "名詞")] == 2


def test_forms_include_stem_of_compound_verbs():
    assert "理解" in T.forms(("理解し合う", "動詞,自立,*,*", "理解し合う"))


def test_cache_round_trip_and_no_second_tokenisation(monkeypatch, tmp_path):
    texts = ["情報を共有する", "話し合いの場", "情報を共有する"]
    first = T.tokenize_many(texts)
    assert first[0] == first[2]
    calls = []
    real = T._raw_tokens
    monkeypatch.setattr(T, "_raw_tokens", lambda *a: calls.append(a) or real(*a))
    second = T.tokenize_many(texts)
    assert second == first and calls == []  # everything came from disk
    T.tokenize_many(texts + ["新しい文"])
    assert len(calls) == 1  # only the new text


def test_duplicate_texts_are_tokenised_once_without_cache(monkeypatch):
    calls = []
    real = T._raw_tokens
    monkeypatch.setattr(T, "_raw_tokens", lambda *a: calls.append(a) or real(*a))
    T.tokenize_many(["同じ文"] * 5, cache=False)
    assert len(calls) == 1


def test_cache_key_depends_on_analyzer_fingerprint(tmp_path):
    a = T.TokenCache(tmp_path, fingerprint="a" * 16)
    b = T.TokenCache(tmp_path, fingerprint="b" * 16)
    assert a.key("協働") != b.key("協働")
    a.put_many([(a.key("協働"), (("協働", "名詞,一般,*,*", "協働"),))])
    assert b.get_many([b.key("協働")]) == {}
    a.close()
    b.close()


def test_cache_is_a_sqlite_database_in_the_configured_directory(tmp_path):
    T.tokenize_many(["場"])
    path = tmp_path / "cache" / "tokens.sqlite3"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0] == 1


def test_unusable_cache_directory_falls_back_with_a_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(T.CACHE_ENV, str(blocker / "sub"))
    with pytest.warns(UserWarning, match="キャッシュ"):
        result = T.tokenize_many(["場"])
    assert result[0][0][0] == "場"


def test_processes_give_the_same_tokens_in_the_same_order(monkeypatch):
    monkeypatch.setattr(T, "MIN_TEXTS_PER_PROCESS", 1)
    texts = [f"{i}番目の意見として情報共有が大切だと思う" for i in range(40)]
    assert T.tokenize_many(texts, processes=2, cache=False) == T.tokenize_many(texts, cache=False)


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="協働あい。、！ \n", max_size=900), st.integers(min_value=5, max_value=300))
def test_split_for_tokenizer_never_loses_or_overfills(text, limit):
    pieces = T.split_for_tokenizer(text, limit=limit)
    assert "".join(pieces) == text
    assert all(len(p) <= limit for p in pieces)


def test_two_cache_connections_share_entries(tmp_path):
    writer, reader = T.TokenCache(tmp_path), T.TokenCache(tmp_path)
    key = writer.key("場")
    writer.put_many([(key, (("場", "名詞,一般,*,*", "場"),))])
    assert reader.get_many([key])[key][0][0] == "場"
    writer.close()
    reader.close()
