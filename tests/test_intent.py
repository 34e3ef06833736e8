"""Counting the collaboration-intent answer: counts, shares with intervals, the group test, sentences."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from kyodo_analysis.input.layout import GROUP_ORDER, INTENT_ORDER, NO_ANSWER
from kyodo_analysis.intent import (
    TOTAL,
    compare_citizens_staff,
    describe_intent,
    intent_counts,
    intent_shares,
    wilson_interval,
)

CITIZENS, STAFF = GROUP_ORDER[0], GROUP_ORDER[1]
YES, NEUTRAL, NO = INTENT_ORDER[0], INTENT_ORDER[1], INTENT_ORDER[2]


def respondents(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    """Build a respondents frame with the loader's categorical columns."""
    frame = pd.DataFrame(rows, columns=["fiscal_year", "group", "intent"])
    frame["group"] = pd.Categorical(frame["group"], categories=list(GROUP_ORDER))
    frame["intent"] = pd.Categorical(frame["intent"], categories=list(INTENT_ORDER))
    return frame


SAMPLE = respondents(
    [(2018, CITIZENS, YES)] * 3 + [(2018, CITIZENS, NO)] + [(2018, CITIZENS, NO_ANSWER)]
    + [(2018, STAFF, YES)] + [(2018, STAFF, NEUTRAL)] * 2
    + [(2019, CITIZENS, YES)] * 2
)


def test_counts_list_every_answer_including_zeros():
    counts = intent_counts(SAMPLE)
    citizens_2018 = counts[(counts["fiscal_year"] == 2018) & (counts["group"] == CITIZENS)]
    assert dict(zip(citizens_2018["answer"], citizens_2018["count"])) == {YES: 3, NEUTRAL: 0, NO: 1, NO_ANSWER: 1}
    assert counts["count"].sum() == len(SAMPLE)


def test_shares_leave_out_no_answer_and_add_a_total():
    shares = intent_shares(SAMPLE)
    row = shares[(shares["fiscal_year"] == 2018) & (shares["group"] == CITIZENS) & (shares["answer"] == YES)].iloc[0]
    assert (row["count"], row["n"], row["n_missing"]) == (3, 4, 1)
    assert row["share"] == pytest.approx(0.75)
    assert row["ci_low"] < 0.75 < row["ci_high"]
    total = shares[(shares["fiscal_year"] == 2018) & (shares["group"] == TOTAL) & (shares["answer"] == YES)].iloc[0]
    assert (total["count"], total["n"]) == (4, 7)
    assert NO_ANSWER not in set(shares["answer"].astype(str))


def test_wilson_interval_matches_a_known_value_and_is_nan_without_answers():
    low, high = wilson_interval(5, 10)
    assert float(low) == pytest.approx(0.2366, abs=1e-4)
    assert float(high) == pytest.approx(0.7634, abs=1e-4)
    low, high = wilson_interval(0, 0)
    assert math.isnan(float(low)) and math.isnan(float(high))


def test_group_comparison_counts_only_those_who_answered():
    table = compare_citizens_staff(SAMPLE)
    first = table[table["fiscal_year"] == 2018].iloc[0]
    assert (first["citizens_k"], first["citizens_n"], first["staff_k"], first["staff_n"]) == (3, 4, 1, 3)
    assert 0 < first["p_value"] <= 1
    second = table[table["fiscal_year"] == 2019].iloc[0]
    assert second["staff_n"] == 0 and math.isnan(second["p_value"])
    assert not second["indicative"]


def test_sentences_name_each_group_with_its_numbers():
    sentences = describe_intent(intent_shares(SAMPLE), 2018)
    assert len(sentences) == 3  # citizens, staff and the total
    assert sentences[0].startswith(CITIZENS) and "4" in sentences[0] and "3" in sentences[0]
    assert describe_intent(intent_shares(SAMPLE), 2030) == []
