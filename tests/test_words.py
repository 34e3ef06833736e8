"""Word-level outputs count content words only, through one path, without personal data."""
from __future__ import annotations

import pandas as pd
import pytest
from workbooks import canonical

from kyodo_analysis import figures as plots
from kyodo_analysis.text import words as W
from kyodo_analysis.quotes import mask_personal_data

CONTACTS = [
    "連絡は yamada.taro@example.jp まで。10:30から対話の場があります。",
    "対話の場は 〒231-0017 中区港町1-1、電話045-123-4567 です。",
    "詳しくは https://example.jp/kyodo/yamada をご覧ください。対話が大事。",
    "対話の場で @minato_kyodo の活動を知った。2018-11-17 に開催。",
]


def _frame(texts: list[str], groups: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"group": groups or ["市民"] * len(texts), "text": texts})


def test_symbols_numbers_and_parts_of_contacts_are_never_words():
    counts = W.word_counts(CONTACTS, cache=False)
    found = {word for word, _ in counts}
    assert ("対話", "名詞") in counts and counts[("対話", "名詞")] == 4
    for piece in ("-", ":", ".", "/", "@", "yamada", "taro", "example", "jp", "https", "kyodo",
                  "minato_kyodo", "minato", "中区", "港町", "10", "30", "045", "2018", "231"):
        assert piece not in found, piece
    assert all(any(c.isalpha() for c in w) and not any(c.isdigit() for c in w) for w in found)


def test_every_name_the_quote_masker_masks_is_left_out_of_every_word_output():
    texts = [
        "千葉先生の講演で、対話の大切さを知った。",
        "千葉先生の話を聞いて、対話の場に参加したい。",
        "千葉先生と一緒に、地域の対話を続けたい。",
        "千葉から来た人と対話した。",
    ]
    assert all("千葉" not in mask_personal_data(t) for t in texts[:3])
    data = W.word_data(_frame(texts))
    assert "千葉" in data.names
    assert "千葉" not in set(data.frequencies["word"])
    assert all("千葉" not in doc for doc in data.documents)
    edges = plots.cooccurrence(data.documents, min_jaccard=0.0)
    assert "千葉" not in set(edges["source"]) | set(edges["target"])
    assert "対話" in set(data.frequencies["word"])


def test_a_word_in_one_comment_only_is_not_published_by_default():
    texts = ["対話の場がほしい。ユニークな発想。", "対話を続けたい。", "対話の機会。"]
    freq = W.word_frequencies(_frame(texts), cache=False)
    assert "対話" in set(freq["word"])
    assert "発想" not in set(freq["word"]) and "ユニーク" not in set(freq["word"])
    every = W.word_frequencies(_frame(texts), cache=False, min_comments=1)
    assert "発想" in set(every["word"])


def test_count_columns_say_what_they_hold():
    texts = ["対話、対話、対話の場。", "対話の場。"]
    freq = W.word_frequencies(_frame(texts), cache=False).set_index("word")
    assert freq.loc["対話", "occurrences"] == 4 and freq.loc["対話", "n_comments"] == 2
    from kyodo_analysis.labels import to_japanese

    assert {"出現回数", "記述数"} <= set(to_japanese(freq.reset_index()).columns)
    assert "人数" not in set(to_japanese(freq.reset_index()).columns)


@pytest.mark.slow
def test_the_report_shows_no_symbols_names_or_one_off_words(tmp_path):
    from kyodo_analysis.report.build import build_report

    rows = []
    for i in range(8):
        rows.append([i + 1, "市民" if i % 2 else "職員", "自治会", "思う",
                     f"千葉先生の講演がよかった。連絡は chiba{i}@example.jp まで。対話の場 - 10:{i}0 から。", None])
    rows.append([9, "市民", "自治会", "思う", "珍妙な意見も出た。対話の場。", None])
    book = canonical(tmp_path / "2017.xlsx", rows)
    result = build_report([book], tmp_path / "out", formats=("png",), processes=1)
    table = pd.read_csv(result.out_dir / "tables" / "2017_word_frequencies.csv", encoding="utf-8-sig")
    assert {"出現回数", "記述数"} <= set(table.columns) and "人数" not in table.columns
    words = set(table["語"])
    assert "対話" in words
    assert not words & {"千葉", "-", ":", "example", "jp", "珍妙"}
    page = (result.out_dir / "index.html").read_text("utf-8")
    key_lines = [line for line in page.splitlines() if "よく出る語" in line or "強い組み合わせ" in line]
    assert key_lines and not any("千葉" in line or "-（" in line or "example" in line for line in key_lines)


# --- word lists kept in the cache's derived table ----------------------------------------

_CACHED_COMMENTS = [
    "市民と職員が対等に話し合える場が大切だと思いました。",
    "受付の山田さんに相談して、情報共有の仕組みを作りたい。",
    "山田さんの説明で協働の目的がよく分かりました。",
    "連絡は090-1234-5678まで。地域の課題を一緒に考えたい。",
]


def _forget_run():
    from kyodo_analysis import quotes
    from kyodo_analysis.text.cache import forget_run_tokens

    forget_run_tokens()
    quotes._find_cached.cache_clear()


def test_a_second_run_reads_its_word_lists_from_the_cache_with_the_same_words(fresh_token_cache, monkeypatch):
    first = W.comment_words(_CACHED_COMMENTS)
    _forget_run()  # a new run: nothing in memory
    looked_at = []
    real = W.without_personal_data
    monkeypatch.setattr(W, "without_personal_data", lambda text, raw: looked_at.append(text) or real(text, raw))
    second = W.comment_words(_CACHED_COMMENTS)
    assert looked_at == []  # neither janome nor the masker was asked again
    assert [[(t.base_form, t.part_of_speech) for t in ws] for ws in second.words] == \
        [[(t.base_form, t.part_of_speech) for t in ws] for ws in first.words]
    assert second.names == first.names == {"山田"}
    assert all("山田" not in [t.base_form for t in ws] for ws in second.words)


def test_cached_word_lists_follow_the_exclusions_and_a_damaged_one_is_rebuilt(fresh_token_cache):
    from kyodo_analysis.text.cache import open_cache

    with_kyodo = W.comment_words(_CACHED_COMMENTS, exclude=())
    without = W.comment_words(_CACHED_COMMENTS, exclude=("協働",))
    assert "協働" in [t.base_form for t in with_kyodo.words[2]]
    assert "協働" not in [t.base_form for t in without.words[2]]
    store = open_cache()
    rows = store._db.execute("SELECT producer, key FROM derived WHERE producer LIKE 'words:%'").fetchall()
    assert len({producer for producer, _ in rows}) == 2  # one list per set of exclusions
    store._db.execute("UPDATE derived SET value = '[[[\"偽\", 1]], []]' WHERE producer LIKE 'words:%'")
    store.close()
    _forget_run()
    with pytest.warns(UserWarning, match="読めない項目"):
        again = W.comment_words(_CACHED_COMMENTS, exclude=("協働",))
    assert [[t.base_form for t in ws] for ws in again.words] == [[t.base_form for t in ws] for ws in without.words]
