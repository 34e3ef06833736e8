"""Excel's 「Unicode テキスト」: UTF-16 with a BOM, tab-separated, as .txt or .csv."""
from __future__ import annotations

from pathlib import Path

import pytest

from kyodo_analysis.input.readers import UnreadableFileError, read_raw
from kyodo_analysis.input.survey import load_questionnaire

ROWS = ["回答者ID\t区分\t協働したいと思いますか\t理由", "1\t市民\t思う\t楽しい", "2\t職員\t思わない\t忙しい, 余裕がない"]


@pytest.mark.parametrize("suffix", [".txt", ".csv"])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_tab_separated_text_loads(tmp_path: Path, suffix: str, encoding: str) -> None:
    path = tmp_path / f"2019{suffix}"
    body = "\r\n".join(ROWS) + "\r\n"
    data = body.encode(encoding) if encoding == "utf-16" else b"\xfe\xff" + body.encode(encoding)
    path.write_bytes(data)
    book = read_raw(path)
    assert book.sheets[0].rows[2] == ["2", "職員", "思わない", "忙しい, 余裕がない"]
    survey = load_questionnaire(path)
    assert survey.ok
    assert survey.respondents["intent"].astype(str).tolist() == ["思う", "思わない"]


def test_plain_text_file_is_still_not_a_questionnaire(tmp_path: Path) -> None:
    path = tmp_path / "memo.txt"
    path.write_text("区分\t協働したいと思いますか\n市民\t思う\n", encoding="utf-8")
    with pytest.raises(UnreadableFileError):
        read_raw(path)
