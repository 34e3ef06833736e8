"""Keyword in context: where a word occurs in each comment, with the text either side."""
from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from ..text.cache import tokenize_many
from ..text.tokens import RawToken, normalize, token_offsets
from .expression import Doc, make_word


_CLUSTER = re.compile(r".[\uFF9E\uFF9F\u3099\u309A\u0300-\u036F]*", re.DOTALL)


def _char_map(original: str) -> tuple[str, list[int]] | None:
    """Return the NFKC text and, per NFKC character, its index in ``original``."""
    norm_parts, owners = [], []
    # Voicing marks (ｶﾞ, ﾌﾟ) and combining marks merge with the character before them.
    for m in _CLUSTER.finditer(original):
        n = normalize(m.group())
        norm_parts.append(n)
        owners.extend([m.start()] * len(n))
        if n and m.end() - m.start() > 1:
            owners[-1] = m.end() - 1
    norm = "".join(norm_parts)
    return (norm, owners) if norm == normalize(original) else None


KWIC_CONTEXT_COLUMNS = ("group", "fiscal_year", "question", "file", "sheet", "row", "cell",
                        "respondent_id")


def kwic(comments: pd.DataFrame, word: str, *, width: int = 20, cache: bool = True) -> pd.DataFrame:
    """Return keyword-in-context lines for ``word`` (matched by base form) in the comments."""
    target = make_word(word)
    texts = [str(t) for t in comments["text"].tolist()]
    raws = tokenize_many(texts, cache=cache)
    extra = [c for c in KWIC_CONTEXT_COLUMNS if c in comments.columns]
    records = comments[extra].to_dict("records") if extra else [{} for _ in texts]
    rows = []
    for text, raw, meta in zip(texts, raws, records):
        spans = target.spans(Doc(raw))
        if not spans:
            continue
        mapped = _char_map(text)
        # Tokens come from the NFKC text; map their offsets back so lines show the
        # original characters. In the rare case that fails, show the NFKC text.
        norm, owners = mapped if mapped else (normalize(text), None)
        shown = text if owners is not None else norm
        offsets = token_offsets(norm, raw)
        for start, end in spans:
            a, b = offsets[start][0], offsets[end - 1][1]
            if owners is not None:
                a, b = owners[a], owners[b - 1] + 1
            rows.append({
                "left": shown[max(0, a - width):a],
                "keyword": shown[a:b],
                "right": shown[b:b + width],
                **meta,
            })
    return pd.DataFrame(rows, columns=["left", "keyword", "right", *extra])

