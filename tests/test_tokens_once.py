"""Each text goes through janome at most once per run; rule words are tokenised once per rule file."""
from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from janome.tokenizer import Tokenizer

from kyodo_analysis.input.survey import expand_inputs, load_questionnaires
from kyodo_analysis.report.build import build_report
from kyodo_analysis.rules import expression, load
from kyodo_analysis.text import cache as C
from kyodo_analysis.text import tokens as T
from kyodo_analysis.quotes import mask_personal_data

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


@pytest.fixture
def janome_reads(monkeypatch, fresh_token_cache):
    """Every text janome's tokenizer reads in this process, however it is called."""
    reads: Counter[str] = Counter()
    real = Tokenizer.tokenize

    def counting(self, text, *args, **kwargs):
        reads.update([text])
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Tokenizer, "tokenize", counting)
    return reads


def _pieces(text: str) -> set[str]:
    """What janome is shown of one comment: its pieces, normalised, brackets full-width."""
    return {T.FullWidthPunctuationCharFilter().apply(T.normalize(p)) for p in T.split_for_tokenizer(text)}


@pytest.mark.slow
def test_a_report_run_reads_each_comment_through_janome_at_most_once(janome_reads, tmp_path):
    files, _ = expand_inputs([RAW])
    survey = load_questionnaires(files)
    # The comments, and the statements of the group worksheets (tagged with the same rules).
    texts = {str(t) for t in survey.comments["text"]} | {str(t) for t in survey.statements["text"]}
    janome_reads.clear()  # what loading read (column roles) is not part of the run's analysis
    build_report(files, tmp_path / "reports", formats=("png",), processes=1, survey=survey)
    # Tagging, word counts, masking and quotes all share one reading of each comment.
    expected = Counter(p for t in texts for p in _pieces(t))
    assert set(expected) <= set(janome_reads)
    over = {p: janome_reads[p] for p in expected if janome_reads[p] > expected[p]}
    assert not over
    # The masker does read single words on their own (is 「宮下」 a name?), never whole comments.
    others = [t for t in janome_reads if t not in expected]
    assert all(len(t) <= 12 for t in others), [t for t in others if len(t) > 12][:5]


def test_masking_reuses_the_tokens_of_the_run(janome_reads):
    text = "市役所の山田さんと話し合い、お互いの立場を理解できた。" * 20
    C.tokenize_many([text])
    janome_reads.clear()
    masked = mask_personal_data(text)
    assert "山田" not in masked
    assert not [t for t in janome_reads if len(t) > 12]


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
