"""Tidy choice answers, counts by 区分 and year, and the cross-tab with 問1."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kyodo_analysis.choices import (
    association_test, choice_answers, choice_counts, crosstab_with_intent, option_table,
)
from kyodo_analysis.input.roles import infer_roles

HEADERS = ["講演の満足度", "何で知りましたか", "年代"]


@pytest.fixture
def survey() -> tuple[pd.DataFrame, list]:
    respondents = pd.DataFrame({
        "respondent": [1, 2, 3, 4, 5],
        "fiscal_year": [2019] * 5,
        "group": ["市民", "市民", "職員", "職員", "市民"],
        "intent": ["思う", "思わない", "思う", "無回答", "思う"],
        "講演の満足度": ["満足", "不満", "満足", None, "とても満足"],
        "何で知りましたか": ["広報, チラシ", "チラシ", "知人;広報", None, "広報"],
        "年代": ["20代", "30代", "20代", "20代", "40代"],
    })
    roles = infer_roles(HEADERS, [respondents[h].tolist() for h in HEADERS])
    return respondents, roles


def test_answers_are_one_row_per_respondent_and_question(survey) -> None:
    respondents, roles = survey
    answers = choice_answers(respondents, roles)
    rating = answers[answers["question"] == "講演の満足度"]
    assert len(rating) == 5
    assert rating.set_index("respondent").loc[4, "option"] == "無回答"
    assert rating.set_index("respondent").loc[5, "order"] == 0
    multi = answers[answers["question"] == "何で知りましたか"]
    assert sorted(multi[multi["respondent"] == 3]["option"]) == ["広報", "知人"]


def test_counts_include_zeros_and_shares_of_respondents(survey) -> None:
    respondents, roles = survey
    answers = choice_answers(respondents, roles)
    counts = choice_counts(answers, ("group",), options=option_table(roles))
    rating = counts[(counts["question"] == "講演の満足度") & (counts["group"] == "市民")]
    assert rating["option"].tolist() == ["とても満足", "満足", "ふつう", "やや不満", "不満", "無回答"]
    assert rating["count"].tolist() == [1, 1, 0, 0, 1, 0]
    assert set(rating["n"]) == {3}
    staff = counts[(counts["question"] == "講演の満足度") & (counts["group"] == "職員")]
    assert set(staff["n"]) == {1} and set(staff["n_missing"]) == {1}
    multi = counts[(counts["question"] == "何で知りましたか") & (counts["group"] == "市民")]
    shares = dict(zip(multi["option"], multi["share"]))
    assert shares["広報"] == pytest.approx(2 / 3)
    assert multi["share"].sum() > 1  # several answers per respondent


def test_counts_are_deterministic(survey) -> None:
    respondents, roles = survey
    answers = choice_answers(respondents, roles)
    first = choice_counts(answers, options=option_table(roles)).to_csv(index=False)
    assert choice_counts(answers, options=option_table(roles)).to_csv(index=False) == first


def test_crosstab_with_intent_leaves_out_no_answer(survey) -> None:
    respondents, roles = survey
    answers = choice_answers(respondents, roles)
    table = crosstab_with_intent(answers, respondents, "講演の満足度")
    assert table.index.tolist() == ["とても満足", "満足", "不満"]
    assert table.columns.tolist() == ["思う", "どちらとも言えない", "思わない"]
    assert int(table.to_numpy().sum()) == 4
    assert table.loc["不満", "思わない"] == 1


def test_two_by_two_uses_fisher() -> None:
    table = pd.DataFrame([[8, 2], [1, 5]], index=["満足", "不満"], columns=["思う", "思わない"])
    result = association_test(table)
    assert result.method == "fisher_exact"
    assert result.p_value == pytest.approx(0.03497, abs=1e-4)


def test_larger_table_uses_seeded_monte_carlo() -> None:
    table = pd.DataFrame([[6, 1, 0], [2, 3, 1], [0, 1, 5]])
    first = association_test(table, draws=999)
    assert first.method == "monte_carlo_chi2"
    assert first == association_test(table, draws=999)
    assert 0 < first.p_value < 0.05
    independent = pd.DataFrame(np.full((3, 3), 4))
    assert association_test(independent, draws=199).p_value == 1.0


def test_question_counts_keep_the_questionnaire_order_and_find_rating_sets() -> None:
    from kyodo_analysis.choices import question_counts, rating_sets

    rows = []
    for i, (lecture, workshop) in enumerate([("満足", "とても満足"), ("ふつう", "満足"), ("不満", None)], start=1):
        for question, option, order in (("講演の満足度", lecture, 1), ("ワークショップの満足度", workshop, 0),
                                        ("年代", "20代", 0)):
            rows.append({"file": "a.xlsx", "sheet": "回答", "row": i, "fiscal_year": 2018, "group": "市民",
                         "intent": "思う", "question": question,
                         "role": "attribute" if question == "年代" else "rating",
                         "option": option or "無回答", "order": order if option else 5})
    counts = question_counts(pd.DataFrame(rows), by=("group",))
    assert list(dict.fromkeys(counts["question"])) == ["講演の満足度", "ワークショップの満足度", "年代"]
    assert rating_sets(counts) == [["講演の満足度", "ワークショップの満足度"]]
    lecture = counts[counts["question"] == "講演の満足度"]
    assert lecture["option"].tolist() == ["とても満足", "満足", "ふつう", "やや不満", "不満", "無回答"]
    assert lecture["count"].tolist() == [0, 1, 1, 0, 1, 0]
