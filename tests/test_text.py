"""Tests for the janome text pipeline: dictionary, steps, counting, cache, processes."""
from __future__ import annotations

import io
import re
import sqlite3
import time

import pytest
from janome.tokenizer import Tokenizer

from kyodo_analysis.text import cache as C
from kyodo_analysis.text import tokens as T
from kyodo_analysis.text import words as W


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(C.CACHE_ENV, str(tmp_path / "cache"))


def surfaces(s: str) -> list[str]:
    return [t.surface for t in T.tokenize(s)]


@pytest.mark.parametrize("word", ["協働", "丸投げ", "補助金", "市民活動", "相互理解", "見える化", "縦割り",
                                  "市民活動団体", "まちづくり", "中間支援", "自治会"])
def test_user_dictionary_keeps_domain_words_whole(word):
    text = f"{word}について考えた"
    # Only words plain janome splits show that the user dictionary is in use.
    assert [t.surface for t in Tokenizer().tokenize(text)][0] != word
    assert surfaces(text)[0] == word


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
    assert tokens[2].base_form == "信頼し合える"  # one verb, as IPADIC's own 理解し合う


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
    counts = W.word_counts(["信頼が大事", "信頼される関係"], exclude=["協働"])
    assert counts[("信頼", "名詞")] == 2


def test_forms_include_stem_of_compound_verbs():
    assert "理解" in T.forms(("理解し合う", "動詞,自立,*,*", "理解し合う"))


def test_cache_round_trip_and_no_second_tokenisation(monkeypatch, tmp_path):
    texts = ["情報を共有する", "話し合いの場", "情報を共有する"]
    first = C.tokenize_many(texts)
    assert first[0] == first[2]
    calls = []
    real = T._raw_tokens
    monkeypatch.setattr(T, "_raw_tokens", lambda *a: calls.append(a) or real(*a))
    second = C.tokenize_many(texts)
    assert second == first and calls == []  # everything came from disk
    C.tokenize_many(texts + ["新しい文"])
    assert len(calls) == 1  # only the new text


def test_duplicate_texts_are_tokenised_once_without_cache(monkeypatch):
    calls = []
    real = T._raw_tokens
    monkeypatch.setattr(T, "_raw_tokens", lambda *a: calls.append(a) or real(*a))
    C.tokenize_many(["同じ文"] * 5, cache=False)
    assert len(calls) == 1


def test_cache_key_depends_on_analyzer_fingerprint(tmp_path):
    a = C.TokenCache(tmp_path, fingerprint="a" * 16)
    b = C.TokenCache(tmp_path, fingerprint="b" * 16)
    assert a.key("協働") != b.key("協働")
    a.put_many([(a.key("協働"), (("協働", "名詞,一般,*,*", "協働"),))])
    assert b.get_many([b.key("協働")]) == {}
    a.close()
    b.close()


def test_cache_is_a_sqlite_database_in_the_configured_directory(tmp_path):
    C.tokenize_many(["場"])
    path = tmp_path / "cache" / "tokens.sqlite3"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0] == 1


def test_unusable_cache_directory_falls_back_with_a_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(C.CACHE_ENV, str(blocker / "sub"))
    with pytest.warns(UserWarning, match="キャッシュ"):
        result = C.tokenize_many(["場"])
    assert result[0][0][0] == "場"


def test_processes_give_the_same_tokens_in_the_same_order(monkeypatch):
    monkeypatch.setattr(C, "MIN_TEXTS_PER_PROCESS", 1)
    texts = [f"{i}番目の意見として情報共有が大切だと思う" for i in range(40)]
    assert C.tokenize_many(texts, processes=2, cache=False) == C.tokenize_many(texts, cache=False)


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="協働あい。、！ \n", max_size=900), st.integers(min_value=5, max_value=300))
def test_split_for_tokenizer_never_loses_or_overfills(text, limit):
    pieces = T.split_for_tokenizer(text, limit=limit)
    assert "".join(pieces) == text
    assert all(len(p) <= limit for p in pieces)


def test_two_cache_connections_share_entries(tmp_path):
    writer, reader = C.TokenCache(tmp_path), C.TokenCache(tmp_path)
    key = writer.key("場")
    writer.put_many([(key, (("場", "名詞,一般,*,*", "場"),))])
    assert reader.get_many([key])[key][0][0] == "場"
    writer.close()
    reader.close()


# --- potential verbs, compound verbs, line breaks ------------------------------------


@pytest.mark.parametrize("verb", ["分かれる", "進める", "続ける", "届ける", "伝える", "入れる", "受け付ける"])
def test_verbs_of_their_own_are_not_read_as_potential_forms(verb):
    # 分かれる is not 分かる made potential, though it has that shape.
    assert T.plain_verb(verb) == verb
    assert T.forms((verb, "動詞,自立,*,*", verb)) == (verb,)


@pytest.mark.parametrize("text, plain", [
    ("言える", "言う"), ("話せる", "話す"), ("話し合える", "話し合う"),
    ("分かり合える", "分かり合う"), ("信じ合える", "信じ合う"), ("目指せる", "目指す"),
])
def test_potential_forms_lead_to_their_verb(text, plain):
    (token,) = T.tokenize(text)
    assert plain in T.forms((token.surface, token.part_of_speech, token.base_form))


@pytest.mark.parametrize("text, word", [
    ("何でも言い合える", "言い合える"), ("信じ合う", "信じ合う"), ("分かり合えた", "分かり合え"),
    ("協力し合える", "協力し合える"), ("目指せる", "目指せる"),
])
def test_compound_verbs_janome_splits_are_one_token(text, word):
    assert word in surfaces(text)


def test_joined_compound_has_the_forms_of_a_one_word_compound():
    def verb_forms(text):
        (verb,) = [t for t in T.tokenize(text) if t.pos == "動詞"]
        return T.forms((verb.surface, verb.part_of_speech, verb.base_form))

    # janome joins 理解し合う itself; 協力|し|合える is joined here and gets the same stem.
    assert "理解" in verb_forms("理解し合える") and "協力" in verb_forms("協力し合える")
    assert "信じ合う" in verb_forms("信じ合う") and "信じ合う" in verb_forms("信じ合える")


@pytest.mark.parametrize("text", ["目的が大事\n情報は共有", "目的が大事\r\n情報は共有", "目的が大事\n\n情報は共有"])
def test_a_line_break_is_kept_as_one_sentence_end(text):
    tokens = T.tokenize(text)
    breaks = [t for t in tokens if t.part_of_speech.startswith("記号,句点")]
    assert len(breaks) == 1 and surfaces(text)[-3:] == ["情報", "は", "共有"]


# --- word counts ---------------------------------------------------------------------


def test_word_counts_count_potential_forms_as_their_verb():
    counts = W.word_counts(["話し合える場がほしい", "話し合う場", "何でも言い合える"], cache=False)
    assert counts[("話し合う", "動詞")] == 2 and counts[("言い合う", "動詞")] == 1
    assert not any(word in ("話し合える", "言い合える") for word, _ in counts)


def test_word_counts_keep_verbs_of_their_own():
    counts = W.word_counts(["意見が分かれた", "活動を続ける"], cache=False)
    assert counts[("分かれる", "動詞")] == 1 and counts[("続ける", "動詞")] == 1


def test_excluded_word_does_not_survive_inside_compound_nouns():
    tokens = T.tokenize("市民協働事業の情報公開を進める。協働事業と市民協働")
    words = [t.base_form for t in T.content_words(tokens, exclude=["協働"], compound=True)]
    assert not any("協働" in w for w in words)
    # The words on either side stay apart, as without compounds; others still join.
    assert words == ["市民", "事業", "情報公開", "進める", "事業", "市民"]


def test_a_compound_itself_can_be_excluded():
    tokens = T.tokenize("市民協働の推進")
    assert [t.base_form for t in T.content_words(tokens, exclude=["市民協働"], compound=True)] == ["推進"]


# --- progress bar ----------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_moves_while_texts_are_processed(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    shown_meanwhile: list[str] = []

    def slow(raw):
        time.sleep(0.03)  # longer in all than tqdm's 0.1 s between redraws
        shown_meanwhile.append(terminal.getvalue())
        return raw

    texts = [f"{i}件目の意見" for i in range(20)]
    assert len(list(C.map_tokenized(texts, slow, cache=False, progress=True))) == 20
    counts = {int(n) for n in re.findall(r"(\d+)/20", shown_meanwhile[-1])}
    assert counts & set(range(1, 20)), shown_meanwhile[-1]


# --- cache keys ------------------------------------------------------------------------


@pytest.fixture
def fresh_fingerprint():
    T.analyzer_fingerprint.cache_clear()
    yield
    T.analyzer_fingerprint.cache_clear()


def test_cache_key_changes_with_the_janome_version(monkeypatch, tmp_path, fresh_fingerprint):
    before = C.TokenCache(tmp_path)
    monkeypatch.setattr(T, "JANOME_VERSION", "0.0.0-test")
    T.analyzer_fingerprint.cache_clear()
    after = C.TokenCache(tmp_path)
    assert before.key("協働") != after.key("協働")
    before.put_many([(before.key("協働"), (("協働", "名詞,一般,*,*", "協働"),))])
    assert after.get_many([after.key("協働")]) == {}
    before.close()
    after.close()


def test_cache_key_changes_with_the_user_dictionary(monkeypatch, tmp_path, fresh_fingerprint):
    udic = tmp_path / "userdict.csv"
    udic.write_bytes(open(T.default_user_dictionary(), "rb").read())
    monkeypatch.setattr(T, "default_user_dictionary", lambda: str(udic))
    before = C.TokenCache(tmp_path)
    udic.write_text(udic.read_text("utf-8") + "官民連携,名詞,カンミンレンケイ\n", encoding="utf-8")
    T.analyzer_fingerprint.cache_clear()
    after = C.TokenCache(tmp_path)
    assert before.key("協働") != after.key("協働")
    before.close()
    after.close()


def test_cache_key_changes_with_the_list_of_verbs_of_their_own(monkeypatch, tmp_path, fresh_fingerprint):
    before = C.TokenCache(tmp_path)
    original = T._package_text
    monkeypatch.setattr(T, "_package_text",
                        lambda name: original(name) + ("\n乗り切れる\n" if name == "own_verbs.txt" else ""))
    T.analyzer_fingerprint.cache_clear()
    after = C.TokenCache(tmp_path)
    assert before.key("協働") != after.key("協働")
    before.close()
    after.close()


def test_verbs_of_their_own_come_from_the_editable_list():
    own = T.load_own_verbs()
    assert {"進める", "分かれる", "続ける", "任せる"} <= own
    assert "言える" not in own and not any(w.startswith("#") for w in own)


def test_no_cache_writes_no_cache_file(tmp_path, capsys):
    from kyodo_analysis import rules as TH
    from kyodo_analysis.cli import main

    cache = tmp_path / "cache"  # KYODO_CACHE_DIR, set by the autouse fixture
    comments = tmp_path / "c.txt"
    comments.write_text("話し合いの場がほしい\n", encoding="utf-8")
    C.tokenize_many(["情報を共有する"], cache=False)
    W.word_counts(["情報を共有する"], cache=False)
    TH.tag_texts(["情報を共有する"], cache=False)
    assert main(["themes", "--text-file", str(comments), "--no-cache"]) == 0
    assert not cache.exists()
    assert main(["themes", "--text-file", str(comments)]) == 0
    assert (cache / "tokens.sqlite3").exists()  # the same run with the cache does write it
