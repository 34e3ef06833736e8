"""Each text goes through janome at most once per run; rule words are tokenised once per rule file."""
from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from kyodo_analysis.input.survey import expand_inputs, load_questionnaires
from kyodo_analysis.report.build import build_report
from kyodo_analysis.rules import expression, load
from kyodo_analysis.text import cache as C
from kyodo_analysis.text import tokens as T
from kyodo_analysis.text.words import without_personal_data

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


@pytest.fixture
def janome_calls(monkeypatch, fresh_token_cache):
    """Every text janome reads in this process, with an empty token cache and no rules loaded yet."""
    for cached in (load._load_cached, expression.word_parts, expression._is_noun):
        cached.cache_clear()
    calls: Counter[str] = Counter()
    real = T._raw_tokens
    monkeypatch.setattr(T, "_raw_tokens", lambda text, analyzer: calls.update([text]) or real(text, analyzer))
    yield calls
    for cached in (load._load_cached, expression.word_parts, expression._is_noun):
        cached.cache_clear()


@pytest.mark.slow
def test_a_report_run_tokenises_each_comment_at_most_once(janome_calls, tmp_path):
    files, _ = expand_inputs([RAW])
    texts = [str(t) for t in load_questionnaires(files).comments["text"]]
    unique = set(texts)
    # Word counts read the comment with personal details cut out: a text of its own only where one was found.
    cut = {without_personal_data(t)[0] for t in unique} - unique
    build_report(files, tmp_path / "reports", processes=1)
    comment_calls = {text: n for text, n in janome_calls.items() if text in unique | cut}
    assert set(comment_calls) == unique | cut
    assert max(comment_calls.values()) == 1
    assert sum(n for text, n in comment_calls.items() if text in unique) <= len(unique)
    assert len(cut) <= 5  # the sample comments naming a person


def test_rule_words_are_tokenised_once_and_read_back_from_the_cache(janome_calls):
    first = load.load_rules()
    words = sum(janome_calls.values())
    assert words > 500
    for cached in (load._load_cached, expression.word_parts, expression._is_noun):
        cached.cache_clear()
    janome_calls.clear()
    again = load.load_rules()
    assert sum(janome_calls.values()) == 0
    assert again == first and again.digest == first.digest


def test_damaged_stored_rule_words_are_rebuilt(janome_calls):
    first = load.load_rules()
    words = sum(janome_calls.values())
    with sqlite3.connect(C.cache_dir() / C.CACHE_FILE) as db:
        db.execute("UPDATE derived SET value = '{\"対話\": [[\"x\", \"名詞\", \"x\"]]}' WHERE producer LIKE 'rule-words:%'")
    for cached in (load._load_cached, expression.word_parts, expression._is_noun):
        cached.cache_clear()
    janome_calls.clear()
    with pytest.warns(UserWarning):
        again = load.load_rules()
    assert sum(janome_calls.values()) == words
    assert again == first
