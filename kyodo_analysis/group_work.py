"""Group worksheets counted: which themes groups raise, asked of partners vs offered themselves.

The unit is the group (n = groups on that year's worksheet), never the respondent: a group
raises a theme under a question when any of its statements there carries the theme. The
groups' 問1 tallies are a different population from the questionnaire and are only shown
beside its counts, never added to them.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .input.layout import INTENT_ORDER, NO_ANSWER
from .quotes import mask_personal_data

ASK, OFFER = "ask", "offer"
QUESTION_KEYS: tuple[str, ...] = ("intent", ASK, OFFER)


def group_theme_shares(tagged: pd.DataFrame, groups: pd.DataFrame, *, themes: Sequence[str]) -> pd.DataFrame:
    """Per year × question × theme: how many groups raised the theme, of how many groups (share = raised / n)."""
    n_groups = groups.groupby("fiscal_year").size().rename("n_groups")
    rows = []
    for (fy, key, question), part in tagged.groupby(["fiscal_year", "question_key", "question"], sort=False):
        for theme in themes:
            raised = part.loc[part["themes"].map(lambda tags, t=theme: t in tags), "work_group"].nunique()
            rows.append({"fiscal_year": fy, "question_key": key, "question": question, "theme": theme,
                         "groups": int(raised), "n_groups": int(n_groups.get(fy, 0))})
    frame = pd.DataFrame(rows, columns=["fiscal_year", "question_key", "question", "theme", "groups", "n_groups"])
    frame["share"] = (frame["groups"] / frame["n_groups"]).where(frame["n_groups"] > 0)
    order = {k: i for i, k in enumerate(QUESTION_KEYS)}
    frame["_q"] = frame["question_key"].map(order)
    frame["_t"] = frame["theme"].map({t: i for i, t in enumerate(themes)})
    return frame.sort_values(["fiscal_year", "_q", "_t"]).drop(columns=["_q", "_t"]).reset_index(drop=True)


def ask_offer_contrast(shares: pd.DataFrame) -> pd.DataFrame:
    """Per year × theme: the share of groups raising it under 相手に求めるもの and under 自分たちができること."""
    wide = []
    for fy, part in shares.groupby("fiscal_year", sort=True):
        ask = part[part["question_key"] == ASK].set_index("theme")
        offer = part[part["question_key"] == OFFER].set_index("theme")
        themes = list(dict.fromkeys([*ask.index, *offer.index]))
        n = int(part["n_groups"].max())
        for theme in themes:
            row = {"fiscal_year": fy, "theme": theme, "n_groups": n,
                   "ask_groups": int(ask["groups"].get(theme, 0)), "offer_groups": int(offer["groups"].get(theme, 0))}
            wide.append(row)
    frame = pd.DataFrame(wide, columns=["fiscal_year", "theme", "n_groups", "ask_groups", "offer_groups"])
    frame["ask_share"] = (frame["ask_groups"] / frame["n_groups"]).where(frame["n_groups"] > 0)
    frame["offer_share"] = (frame["offer_groups"] / frame["n_groups"]).where(frame["n_groups"] > 0)
    frame["difference"] = frame["ask_share"] - frame["offer_share"]
    return frame


def tally_beside_questionnaire(groups: pd.DataFrame, respondents: pd.DataFrame) -> pd.DataFrame:
    """Per year × 問1 answer: the groups' summed tally beside the questionnaire's own count (two populations)."""
    rows = []
    tally_columns = {a: f"tally_{a}" for a in INTENT_ORDER if f"tally_{a}" in groups.columns}
    for fy in sorted(set(groups["fiscal_year"].dropna())):
        part = groups[groups["fiscal_year"] == fy]
        asked = respondents[respondents["fiscal_year"] == fy]
        tallied = part[list(tally_columns.values())].notna().any(axis=1).sum() if tally_columns else 0
        for answer in (a for a in INTENT_ORDER if a != NO_ANSWER):
            column = tally_columns.get(answer)
            worksheet = int(part[column].sum()) if column is not None and part[column].notna().any() else None
            rows.append({"fiscal_year": fy, "answer": answer, "worksheet_people": worksheet,
                         "worksheet_groups": int(tallied),
                         "questionnaire_people": int((asked["intent"].astype(str) == answer).sum()),
                         "questionnaire_n": int(len(asked))})
    return pd.DataFrame(rows, columns=["fiscal_year", "answer", "worksheet_people", "worksheet_groups",
                                       "questionnaire_people", "questionnaire_n"]).astype(
        {"worksheet_people": "Int64"})


def statements_by_theme(tagged: pd.DataFrame, *, themes: Sequence[str]) -> pd.DataFrame:
    """One row per statement × theme, the statement masked by the privacy detector (for quoting)."""
    rows = []
    for _, row in tagged.iterrows():
        masked = mask_personal_data(str(row["text"]))
        for theme in (t for t in themes if t in row["themes"]):
            rows.append({"fiscal_year": row["fiscal_year"], "theme": theme, "question": row["question"],
                         "work_group": row["work_group"], "text": masked, "file": row["file"],
                         "sheet": row["sheet"], "cell": row["cell"]})
    return pd.DataFrame(rows, columns=["fiscal_year", "theme", "question", "work_group", "text", "file", "sheet", "cell"])


def group_statements(statements: pd.DataFrame, fiscal_year: int) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """Each group's statements of a year, question by question and masked, the way reports list them."""
    part = statements[statements["fiscal_year"] == fiscal_year]
    out = []
    for label, group in part.groupby("work_group", sort=False):
        questions = [(question, [mask_personal_data(str(t)) for t in rows["text"]])
                     for question, rows in group.groupby("question", sort=False)]
        out.append((str(label), questions))
    return out
