"""Japanese names for the columns of the tidy tables, for display and export."""
from __future__ import annotations

import pandas as pd

from .input.layout import CITIZENS, NO_ANSWER, STAFF

COLUMN_LABELS: dict[str, str] = {
    "file": "ファイル",
    "sheet": "シート",
    "row": "行",
    "cell": "セル",
    "fiscal_year": "年度",
    "respondent_id": "回答者ID",
    "group": "区分",
    "group_detail": "区分（入力どおり）",
    "affiliation": "所属",
    "intent": "協働したいと思うか",
    "question": "設問",
    "header": "見出し",
    "text": "記述",
    "answer": "回答",
    "count": "人数",
    "n": f"回答者数（{NO_ANSWER}を除く）",
    "n_missing": NO_ANSWER,
    "share": "割合",
    "ci_low": "95%信頼区間（下限）",
    "ci_high": "95%信頼区間（上限）",
    "theme": "テーマ",
    "themes": "テーマ",
    "n_comments": "記述数",
    "n_mentions": "言及した記述数",
    "citizens_k": f"{CITIZENS}（該当）",
    "citizens_n": f"{CITIZENS}（全体）",
    "citizens_share": f"{CITIZENS}（割合）",
    "staff_k": f"{STAFF}（該当）",
    "staff_n": f"{STAFF}（全体）",
    "staff_share": f"{STAFF}（割合）",
    "p_value": "p値（Fisherの正確検定）",
    "indicative": "差あり（参考）",
    "respondents": "回答者数",
    "comments": "自由記述数",
    "problems": "問題数",
    "status": "状態",
    "location": "場所",
    "message": "内容",
    "code": "コード",
    "word": "語",
    "occurrences": "出現回数",
    "pos": "品詞",
    "rank": "順位",
    "source": "出典",
    "matched_words": "当たった語",
    "correction": "手作業の修正",
    "role": "設問の種類",
    "option": "選択肢",
    "order": "選択肢の順番",
}


def to_japanese(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with Japanese column names (unknown columns keep their name)."""
    return frame.rename(columns=COLUMN_LABELS)
