"""Counts and shares of the answer to 「協働したいと思いますか？」."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .input.layout import CITIZENS, GROUP_ORDER, INTENT_ORDER, NO_ANSWER, POSITIVE_ANSWER, STAFF, TOTAL

ANSWERED = INTENT_ORDER[:-1]


def intent_counts(respondents: pd.DataFrame, *, by: Sequence[str] = ("fiscal_year", "group")) -> pd.DataFrame:
    """Count answers per ``by`` cell, all four answers included (zeros too), groups present only."""
    by = list(by)
    counts = (
        respondents.groupby(by, observed=True)["intent"]
        .value_counts()
        .rename("count")
        .reset_index()
        .rename(columns={"intent": "answer"})
    )
    # value_counts on a categorical lists every answer, so zeros are already there.
    counts["count"] = counts["count"].astype("int64")
    return counts.sort_values([*by, "answer"], kind="stable", ignore_index=True)


def wilson_interval(k: np.ndarray | int, n: np.ndarray | int, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Return the Wilson score interval for k successes out of n (NaN where n is 0)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    from scipy.stats import norm  # scipy.stats costs ~0.6 s to import: only the commands that test pay it

    z = norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def intent_shares(
    respondents: pd.DataFrame,
    *,
    by: Sequence[str] = ("fiscal_year", "group"),
    include_total: bool = True,
) -> pd.DataFrame:
    """Share of each answer among those who answered (無回答 excluded), with a Wilson 95% interval."""
    by = list(by)
    frame = respondents
    if include_total and "group" in by:
        total = respondents.assign(group=TOTAL)
        frame = pd.concat([respondents.astype({"group": "object"}), total], ignore_index=True)
        frame["group"] = pd.Categorical(frame["group"], categories=[*GROUP_ORDER, TOTAL])
    counts = intent_counts(frame, by=by)
    keys = [counts[c] for c in by]
    answered = counts["answer"] != NO_ANSWER
    counts["n"] = counts["count"].where(answered, 0).groupby(keys, observed=True).transform("sum")
    counts["n_missing"] = counts["count"].where(~answered, 0).groupby(keys, observed=True).transform("sum")
    shares = counts[answered].copy()
    shares["answer"] = pd.Categorical(shares["answer"].astype(str), categories=list(ANSWERED), ordered=True)
    shares["share"] = shares["count"] / shares["n"].where(shares["n"] > 0)
    shares["ci_low"], shares["ci_high"] = wilson_interval(shares["count"], shares["n"])
    return shares.reset_index(drop=True)


def _fisher_p(table: list[list[int]]) -> float:
    """Return Fisher's exact test p-value (scipy imported here, not by every command)."""
    from scipy.stats import fisher_exact

    return fisher_exact(table).pvalue


def compare_citizens_staff(respondents: pd.DataFrame, *, answer: str = POSITIVE_ANSWER, alpha: float = 0.05) -> pd.DataFrame:
    """Per fiscal year, test whether citizens and staff differ in answering ``answer`` (Fisher's exact test).

    Only those who answered count; with a few dozen people a year the result is indicative only.
    """
    rows = []
    answered = respondents[respondents["intent"] != NO_ANSWER]
    for year, frame in answered.groupby("fiscal_year", sort=True):
        cells = {}
        for group in (CITIZENS, STAFF):
            members = frame[frame["group"] == group]
            cells[group] = (int((members["intent"] == answer).sum()), len(members))
        (ck, cn), (sk, sn) = cells[CITIZENS], cells[STAFF]
        p_value = _fisher_p([[ck, cn - ck], [sk, sn - sk]]) if cn and sn else np.nan
        rows.append({
            "fiscal_year": year, "answer": answer,
            "citizens_k": ck, "citizens_n": cn, "citizens_share": ck / cn if cn else np.nan,
            "staff_k": sk, "staff_n": sn, "staff_share": sk / sn if sn else np.nan,
            "p_value": p_value, "indicative": bool(p_value < alpha),
        })
    return pd.DataFrame(rows)


def describe_intent(shares: pd.DataFrame, fiscal_year: int) -> list[str]:
    """Write plain Japanese sentences about one year's shares, hedged by their interval."""
    year = shares[(shares["fiscal_year"] == fiscal_year) & (shares["answer"] == POSITIVE_ANSWER)]
    sentences = []
    for row in year.itertuples():
        if not row.n:
            continue
        sentences.append(
            f"{row.group}: 回答した {row.n} 人のうち {row.count} 人（{row.share:.0%}）が「{POSITIVE_ANSWER}」と答えました"
            f"（95% 信頼区間 {row.ci_low:.0%}〜{row.ci_high:.0%}"
            + (f"、{NO_ANSWER} {row.n_missing} 人は除く" if row.n_missing else "")
            + "）。"
        )
    return sentences
