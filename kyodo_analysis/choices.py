"""Choice and rating answers: the tidy table, counts by 区分 and year, and the cross-tab with 問1."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .input.layout import INTENT_ORDER, NO_ANSWER, cell_text, match_key
from .input.roles import CHOICE_ROLES, ColumnRole, Scales, default_scales, is_missing, split_multiple

ANSWER_COLUMNS = ("respondent", "fiscal_year", "group", "question", "role", "option", "order")
COUNT_COLUMNS = ("question", "role", "option", "order", "count", "n", "n_missing", "share")
MONTE_CARLO_SEED = 20170401
MONTE_CARLO_DRAWS = 9999


def choice_answers(respondents: pd.DataFrame, roles: Sequence[ColumnRole]) -> pd.DataFrame:
    """One row per respondent × question (× chosen option for multiple choice), with the option's order.

    ``respondents`` holds ``respondent``, ``fiscal_year``, ``group`` and one column per header
    in ``roles``. A blank answer is 無回答, ordered after every option.
    """
    rows: list[tuple] = []
    for column in roles:
        if column.role not in CHOICE_ROLES or column.header not in respondents:
            continue
        rank = {match_key(o): i for i, o in enumerate(column.options)}
        spelled = {match_key(o): o for o in column.options}
        missing = len(column.options)
        for respondent, year, group, value in zip(
            respondents["respondent"], respondents["fiscal_year"], respondents["group"], respondents[column.header]
        ):
            head = (respondent, year, group, column.question, column.role)
            if is_missing(value):
                rows.append((*head, NO_ANSWER, missing))
                continue
            text = cell_text(value).strip()
            parts = split_multiple(text) if column.role == "multiple_choice" else [text]
            for part in dict.fromkeys(match_key(p) for p in parts):
                # Values outside the options are problems found by codebook.check_values before this.
                if part in rank:
                    rows.append((*head, spelled[part], rank[part]))
    frame = pd.DataFrame(rows, columns=list(ANSWER_COLUMNS))
    return frame.astype({"order": "int64"})


def survey_answers(choices: pd.DataFrame) -> pd.DataFrame:
    """The loader's ``Survey.choices`` with a ``respondent`` key (file, sheet, row) as choice_counts wants it."""
    frame = choices.copy()
    frame["respondent"] = frame["file"].astype(str) + "\t" + frame["sheet"].astype(str) + "\t" + frame["row"].astype(str)
    return frame


def options_from_answers(answers: pd.DataFrame, scales: Scales | None = None) -> pd.DataFrame:
    """Options per question as the answers show them; a rating question gets its whole scale (unchosen options too)."""
    scales = scales or default_scales()
    rows = []
    for (question, role), part in answers.groupby(["question", "role"], sort=True, observed=True):
        seen = part.drop_duplicates("option").sort_values("order", kind="stable")
        options = [o for o in seen["option"] if o != NO_ANSWER]
        if role == "rating":
            keys = {match_key(o) for o in options}
            scale = next((s for s in scales.scales if keys <= set(s.key_map())), None)
            if scale is not None:
                options = list(scale.options)
        rows += [(question, role, option, i) for i, option in enumerate((*options, NO_ANSWER))]
    return pd.DataFrame(rows, columns=["question", "role", "option", "order"]).astype({"order": "int64"})


def neutral_option(options: Sequence[str], scales: Scales | None = None) -> str | None:
    """The neutral option of the scale these options are, or None (an even scale, or no known scale)."""
    scales = scales or default_scales()
    keys = {match_key(o) for o in options if o != NO_ANSWER}
    scale = next((s for s in scales.scales if keys <= set(s.key_map())), None)
    return scale.neutral if scale is not None else None


def option_table(roles: Sequence[ColumnRole]) -> pd.DataFrame:
    """Every option of every choice and rating question, 無回答 last: question, role, option, order."""
    rows = [
        (c.question, c.role, option, i)
        for c in roles if c.role in CHOICE_ROLES
        for i, option in enumerate((*c.options, NO_ANSWER))
    ]
    return pd.DataFrame(rows, columns=["question", "role", "option", "order"]).astype({"order": "int64"})


def choice_counts(
    answers: pd.DataFrame,
    by: Sequence[str] = ("fiscal_year", "group"),
    *,
    options: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Respondents choosing each option per question × ``by`` (zeros included), with n and share.

    ``n`` is the number of respondents who answered the question; 無回答 is counted apart
    (``n_missing``) and has no share. For multiple choice, shares may sum past 1.
    ``options`` (from :func:`option_table`) lists options nobody chose as well.
    """
    by = list(by)
    columns = [*by, *COUNT_COLUMNS]
    if answers.empty:
        return pd.DataFrame(columns=columns)
    keys = ["question", *by]
    seen = answers[["question", "role", "option", "order"]]
    if options is not None:
        seen = pd.concat([options[options["question"].isin(answers["question"])], seen])
    options = seen.drop_duplicates(["question", "option"])
    cells = answers[keys].drop_duplicates()
    grid = cells.merge(options, on="question")
    chosen = answers.groupby([*keys, "option"], observed=True)["respondent"].nunique().rename("count")
    out = grid.merge(chosen.reset_index(), on=[*keys, "option"], how="left")
    out["count"] = out["count"].fillna(0).astype("int64")
    answered = answers[answers["option"] != NO_ANSWER]
    n = answered.groupby(keys, observed=True)["respondent"].nunique().rename("n")
    out = out.merge(n.reset_index(), on=keys, how="left")
    out["n"] = out["n"].fillna(0).astype("int64")
    missing = answers[answers["option"] == NO_ANSWER].groupby(keys, observed=True)["respondent"].nunique()
    out = out.merge(missing.rename("n_missing").reset_index(), on=keys, how="left")
    out["n_missing"] = out["n_missing"].fillna(0).astype("int64")
    is_answer = out["option"] != NO_ANSWER
    out["share"] = np.where(is_answer & (out["n"] > 0), out["count"] / out["n"].where(out["n"] > 0, 1), np.nan)
    out = out[columns].sort_values(["question", *by, "order"], kind="stable", ignore_index=True)
    return out


def question_counts(choices: pd.DataFrame, *, by: Sequence[str] = ("fiscal_year", "group")) -> pd.DataFrame:
    """Counts of the loader's ``Survey.choices`` per question × ``by``, every option of a rating scale included.

    Questions come in the order the questionnaires ask them (first appearance), not by name.
    """
    answers = survey_answers(choices)
    counts = choice_counts(answers, by, options=options_from_answers(answers))
    if counts.empty:
        return counts
    rank = {q: i for i, q in enumerate(dict.fromkeys(answers["question"]))}
    return counts.sort_values("question", key=lambda q: q.map(rank), kind="stable", ignore_index=True)


def rating_sets(table: pd.DataFrame, *, questions: Sequence[str] | None = None) -> list[list[str]]:
    """Rating questions that share one scale (same options, same order), in groups of two or more.

    ``table`` is a counts or options table (question, role, option, order); ``questions``
    limits and orders the questions considered (default: the order of ``table``).
    """
    ratings = table[table["role"] == "rating"]
    questions = list(questions) if questions is not None else list(dict.fromkeys(ratings["question"]))
    by_scale: dict[tuple[str, ...], list[str]] = {}
    for question in questions:
        rows = ratings[ratings["question"] == question].drop_duplicates("option")
        if len(rows):
            scale = tuple(o for o in rows.sort_values("order", kind="stable")["option"] if o != NO_ANSWER)
            by_scale.setdefault(scale, []).append(question)
    return [qs for qs in by_scale.values() if len(qs) >= 2]


def crosstab_with_intent(
    answers: pd.DataFrame, intents: pd.DataFrame, question: str, *, options: Sequence[str] | None = None
) -> pd.DataFrame:
    """Respondents per option of ``question`` × answer to 問1 (無回答 on either side left out).

    ``intents`` holds ``respondent`` and ``intent``. Rows follow the option order, columns
    思う／どちらとも言えない／思わない.
    """
    rows = answers[(answers["question"] == question) & (answers["option"] != NO_ANSWER)]
    joined = rows.drop(columns=["intent"], errors="ignore").merge(intents[["respondent", "intent"]], on="respondent")
    joined = joined[joined["intent"].astype(str) != NO_ANSWER]
    order = list(options) if options is not None else (
        rows.drop_duplicates("option").sort_values("order", kind="stable")["option"].tolist()
    )
    table = pd.crosstab(joined["option"], joined["intent"].astype(str))
    table = table.reindex(index=order, columns=list(INTENT_ORDER[:-1]), fill_value=0).astype("int64")
    table.index.name = question
    table.columns.name = "問1"
    return table


@dataclass(frozen=True)
class TestResult:
    """The outcome of a test of association in a cross-tab."""

    method: str
    statistic: float
    p_value: float
    n: int


# Permuted label arrays counted at once by association_test (about 16 MB of int64).
_PERMUTATION_CELLS = 2_000_000


def _chi_square(table: np.ndarray) -> float:
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        cells = np.where(expected > 0, (table - expected) ** 2 / expected, 0.0)
    return float(cells.sum())


def association_test(table: pd.DataFrame, *, seed: int = MONTE_CARLO_SEED, draws: int = MONTE_CARLO_DRAWS) -> TestResult:
    """Test independence: Fisher's exact test for 2×2, else a fixed-seed Monte Carlo permutation test.

    Rows and columns with no respondents are dropped first. Deterministic for a given seed.
    """
    values = table.to_numpy(dtype="int64")
    values = values[values.sum(1) > 0][:, values.sum(0) > 0]
    n = int(values.sum())
    if values.shape[0] < 2 or values.shape[1] < 2:
        return TestResult("none", float("nan"), float("nan"), n)
    if values.shape == (2, 2):
        from scipy.stats import fisher_exact  # ~0.6 s to import: paid only when a 2×2 table is tested

        odds, p = fisher_exact(values)
        return TestResult("fisher_exact", float(odds), float(p), n)
    observed = _chi_square(values)
    rows = np.repeat(np.arange(values.shape[0]), values.sum(1))
    cols = np.concatenate([np.repeat(np.arange(values.shape[1]), r) for r in values])
    rng = np.random.default_rng(seed)
    n_rows, n_cols = values.shape
    # Permuting the column labels keeps both margins, so the expected counts never change.
    expected = (values.sum(1, keepdims=True) * values.sum(0, keepdims=True) / values.sum()).ravel()
    used = expected > 0
    at_least = 0
    # Draws are counted in blocks, so memory stays near _PERMUTATION_CELLS whatever n is.
    block = max(1, _PERMUTATION_CELLS // max(n, 1))
    for first in range(0, draws, block):
        size = min(block, draws - first)
        # The same random stream as one permutation per draw, so p-values do not change.
        permuted = np.stack([rng.permutation(cols) for _ in range(size)])
        cells = rows * n_cols + permuted + (np.arange(size) * (n_rows * n_cols))[:, None]
        counts = np.bincount(cells.ravel(), minlength=size * n_rows * n_cols).reshape(size, n_rows * n_cols)
        terms = np.where(used, (counts - expected) ** 2 / np.where(used, expected, 1.0), 0.0)
        at_least += int((terms.sum(axis=1) >= observed - 1e-12).sum())
    return TestResult("monte_carlo_chi2", observed, (at_least + 1) / (draws + 1), n)
