"""The package's errors: one base exception and the one table of stable problem codes.

Every exception the package raises on purpose derives from :class:`KyodoError`, and
every problem found in the input (``Problem.code``) uses a code of :data:`CODES`, so
tests, notebooks and scripts can tell problems apart without reading Japanese text.
``docs/input-rules.md`` lists the same table (``tests/test_errors.py`` checks it).
"""
from __future__ import annotations

# Stable kebab-case code -> what it means (Japanese, as shown in docs/input-rules.md).
# Add a row here for a new kind of problem; never rename a code (notebooks filter on them).
CODES: dict[str, str] = {
    # cells
    "unknown-answer": "問1 の回答が選択肢（`values.toml` の `[answers]`）にない",
    "unknown-group": "区分の値が `values.toml` の `[groups]` のどれとしても読めない",
    "blank-group": "区分が空欄",
    "unreadable-mark": "印の列に印として読めない値がある",
    "several-marks": "印が 1 行に 2 つ以上ある",
    "uncalculated-formula": "数式の計算結果がファイルに保存されていない",
    "error-value": "セルがエラー値（#N/A など）",
    "duplicate-id": "回答者ID がシートの中で重複している",
    # sheets and columns
    "empty-file": "ファイルに何も入力されていない",
    "empty-sheet": "ただ 1 つのシートが空",
    "no-answers": "見出し行の下に回答が 1 件もない",
    "no-answer-sheet": "回答のシートが 1 つもない（すべて回答ではないシート）",
    "no-header": "回答の見出し行が見つからない",
    "missing-intent-column": "「協働したいと思いますか」の列がない",
    "missing-group-column": "区分の列がなく、シート名も区分でない",
    "intent-and-marks": "問1 の列と印の列の両方がある",
    "repeated-column": "同じ役割の列が 2 つ以上ある",
    # years
    "year-conflict": "年度の手がかりが食い違っている",
    "year-unknown": "年度が分からない",
    "year-unknown-sheet": "シートごとに年度のあるブックで、年度の分からないシートがある",
    "year-ambiguous-name": "ファイル名に食い違う年度が 2 つある",
    # copies
    "copied-file": "別のファイルと中身がまったく同じ",
    "copied-rows": "別のファイルと同じ回答の行がある",
    # codebook (設問表)
    "codebook-syntax": "設問表が TOML として読めない",
    "codebook-unknown-role": "設問表の役割（role）が使えないもの",
    "codebook-missing-column": "設問表の見出しの列がどのファイルにもない",
    "codebook-unknown-option": "回答が設問表の選択肢にない",
    "codebook-bad-entry": "設問表の項目の書き方が違う",
    # group worksheets (ワークシート)
    "worksheet-missing-group": "ワークシートの行にグループ番号がない",
    "worksheet-duplicate-group": "ワークシートの同じシートに同じグループ番号の行が 2 つある",
    "worksheet-count-not-number": "ワークシートの人数の欄が 0 以上の整数でない",
    "worksheet-empty": "ワークシートの見出し行の下にグループが 1 つもない",
}


class KyodoError(Exception):
    """Base of every exception the package raises on purpose; ``code`` is stable, the message Japanese."""

    code: str = "kyodo-error"


class OptionError(KyodoError, ValueError):
    """An argument of a public function is out of its range (a user's mistake, not a bug)."""

    code = "bad-option"


class NoDataError(KyodoError, ValueError):
    """The data holds nothing to count or draw for what was asked (a year without answers)."""

    code = "no-data"


class SetupError(KyodoError, RuntimeError):
    """The installation lacks something the package needs (reinstall with ``make setup``)."""

    code = "setup"


def check_code(code: str) -> str:
    """Return ``code`` if it is in :data:`CODES`; raise ``KeyError`` for a code nobody documented."""
    if code not in CODES:
        raise KeyError(f"problem code {code!r} is not in kyodo_analysis.errors.CODES")
    return code
