"""Tagging comments with themes, and the analyses built on the tags (shares, group comparison)."""
from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from functools import partial

import pandas as pd

from ..errors import OptionError
from ..input.layout import CITIZENS, STAFF
from ..text.cache import map_tokenized, open_cache, source_digest, tokenize_many
from ..text.tokens import RawToken, normalize, token_offsets
from .expression import Doc
from .kwic import KWIC_CONTEXT_COLUMNS, _char_map
from .load import _resolve, default_theme_names
from .ruleset import RuleSet


# --- tagging --------------------------------------------------------------------------


def tag_texts(
    texts: Sequence[str],
    *,
    rules: RuleSet | str | os.PathLike[str] | None = None,
    cache: bool = True,
    processes: int = 1,
    progress: bool | None = None,
) -> list[tuple[str, ...]]:
    """Return the themes of each text, in rule-table order."""
    ruleset = _resolve(rules, cache=cache)
    unique = list(dict.fromkeys(texts))
    store = open_cache() if cache else None
    tags: dict[str, tuple[str, ...]] = {}
    try:
        producer = _producer_id(ruleset) if store is not None else ""
        keys = {t: store.key(t) for t in unique} if store is not None else {}
        if producer:
            tags = store.derived_for(producer, keys, partial(_stored_tags, known=frozenset(ruleset.names)))
        todo = [t for t in unique if t not in tags]
        fresh: list[tuple[bytes, str]] = []
        # Tokens are consumed as they come and dropped, so memory does not grow with the corpus.
        for text, found in map_tokenized(todo, ruleset.tag,
                                         cache=store if store is not None else False,
                                         processes=processes, progress=progress):
            tags[text] = found
            if producer:
                fresh.append((keys[text], _TAG_SEP.join(found)))
        if producer:
            store.put_derived(producer, fresh)
    finally:
        if store is not None:
            store.close()
    return [tags[t] for t in texts]


_TAG_SEP = "\x1f"


def _stored_tags(value: str, _text: str, *, known: frozenset[str]) -> tuple[str, ...] | None:
    # Read back as data: a value naming no theme of these rules is rebuilt.
    names = tuple(n for n in value.split(_TAG_SEP) if n)
    return names if set(names) <= known else None


def _producer_id(ruleset: RuleSet) -> str:
    """Return the cache id of tags made by ``ruleset``; empty when it has no digest."""
    return f"themes:{ruleset.digest}:{source_digest('rules', 'text')}" if ruleset.digest else ""


def tag_comments(
    comments: pd.DataFrame,
    *,
    rules: RuleSet | str | os.PathLike[str] | None = None,
    cache: bool = True,
    processes: int = 1,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Return a copy of the comments frame with a ``themes`` column (tuples, table order)."""
    out = comments.copy()
    texts = [str(t) for t in out["text"].tolist()]
    tags = tag_texts(texts, rules=rules, cache=cache, processes=processes, progress=progress)
    out["themes"] = pd.Series(tags, index=out.index, dtype=object)
    return out


# --- explanation ----------------------------------------------------------------------

EXPLAIN_COLUMNS = ("comment", "theme", "condition", "rule", "word", "matched",
                   "token_start", "token_end", "char_start", "char_end")


def explain(
    comments: pd.DataFrame | Sequence[str],
    *,
    rules: RuleSet | str | os.PathLike[str] | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Return one row per word that fired for each tag: theme, condition, word and positions.

    ``comment`` is the comment's position in ``comments``; a frame's place columns (file,
    sheet, cell …) are copied in front. ``condition`` is ``any[N]``/``all[N]`` in a TOML file
    (N counts from 1) or ``rule[line]`` for a KH Coder code; ``rule`` is its text. Token
    positions count janome tokens from 0 ([start, end)); character positions index the
    comment as written. A condition that holds only through ``not`` has one row with empty word.
    """
    ruleset = _resolve(rules, cache=cache)
    frame = comments if isinstance(comments, pd.DataFrame) else pd.DataFrame({"text": list(comments)})
    return _explain(frame, ruleset, cache=cache)


def _explain(frame: pd.DataFrame, ruleset: RuleSet, *, cache: bool,
             wanted: Sequence[Collection[str]] | None = None) -> pd.DataFrame:
    """:func:`explain`, for the themes in ``wanted[i]`` of comment ``i`` only when given."""
    texts = [str(t) for t in frame["text"].tolist()]
    extra = [c for c in KWIC_CONTEXT_COLUMNS if c in frame.columns]
    records = frame[extra].to_dict("records") if extra else [{} for _ in texts]
    rows = []
    for number, (text, raw, meta) in enumerate(zip(texts, tokenize_many(texts, cache=cache), records)):
        doc = Doc(raw)
        places = None
        for theme in ruleset.themes:
            if wanted is not None and theme.name not in wanted[number]:
                continue
            for condition, hits in theme.explain(doc):
                base = {**meta, "comment": number, "theme": theme.name,
                        "condition": condition.label, "rule": condition.text}
                if not hits:
                    rows.append({**base, "word": "", "matched": ""})
                    continue
                places = places or _places(text, raw)
                seen = set()
                for word, (start, end) in sorted(hits, key=lambda h: (h[1], h[0].text)):
                    if (word.text, start, end) in seen:
                        continue
                    seen.add((word.text, start, end))
                    shown, offsets = places
                    a, b = offsets[start][0], offsets[end - 1][1]
                    rows.append({**base, "word": word.text, "matched": shown[a:b],
                                 "token_start": start, "token_end": end, "char_start": a, "char_end": b})
    out = pd.DataFrame(rows, columns=[*extra, *EXPLAIN_COLUMNS])
    for column in ("token_start", "token_end", "char_start", "char_end"):
        out[column] = out[column].astype("Int64")
    return out


def _places(text: str, raw: Sequence[RawToken]) -> tuple[str, list[tuple[int, int]]]:
    """Return the text shown and each token's character span in it (original characters if possible)."""
    mapped = _char_map(text)
    norm, owners = mapped if mapped else (normalize(text), None)
    offsets = token_offsets(norm, raw)
    if owners is None:
        return norm, offsets
    return text, [(owners[a] if a < len(owners) else len(text),
                   owners[b - 1] + 1 if b > a else (owners[a] if a < len(owners) else len(text)))
                  for a, b in offsets]


def matched_words(explained: pd.DataFrame) -> dict[tuple[int, str], str]:
    """Return, per (comment, theme), the distinct words that fired, joined by 「・」 in text order."""
    out: dict[tuple[int, str], list[str]] = {}
    for comment, theme, matched in explained[["comment", "theme", "matched"]].itertuples(index=False):
        words = out.setdefault((int(comment), str(theme)), [])
        if matched and matched not in words:
            words.append(str(matched))
    return {key: "・".join(words) for key, words in out.items()}


def with_matched_words(
    tagged: pd.DataFrame,
    *,
    rules: RuleSet | str | os.PathLike[str] | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Return a copy of a tagged frame with ``matched_words``: theme → the words that fired."""
    # Only the themes a comment has are explained: the words of no other theme are shown.
    words = matched_words(_explain(tagged, _resolve(rules, cache=cache), cache=cache,
                                   wanted=[set(tags) for tags in tagged["themes"]]))
    out = tagged.copy()
    out["matched_words"] = pd.Series(
        [{theme: words.get((i, theme), MANUAL_WORDS) for theme in tags}
         for i, tags in enumerate(out["themes"])], index=out.index, dtype=object)
    return out


# Shown instead of matched words for a theme that only a hand correction gave a comment.
MANUAL_WORDS = "（手作業で追加）"


# --- analyses -------------------------------------------------------------------------


def _theme_dtype(names: Sequence[str]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(names), ordered=True)


def theme_shares(
    tagged: pd.DataFrame,
    *,
    by: Sequence[str] = ("fiscal_year", "group", "question"),
    themes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Count comments per theme within each ``by`` cell; share = mentions / comments."""
    names = list(themes or default_theme_names())
    by = list(by)
    frame = tagged[by].copy()
    for name in names:
        frame[name] = tagged["themes"].map(lambda tags, n=name: n in tags)
    grouped = frame.groupby(by, observed=True, sort=True, dropna=False)
    n_comments = grouped.size().rename("n_comments")
    mentions = grouped[names].sum()
    long = mentions.melt(ignore_index=False, var_name="theme", value_name="n_mentions")
    long = long.join(n_comments).reset_index()
    long["theme"] = long["theme"].astype(_theme_dtype(names))
    long["n_mentions"] = long["n_mentions"].astype("int64")
    long["n_comments"] = long["n_comments"].astype("int64")
    long["share"] = long["n_mentions"] / long["n_comments"]
    long = long.sort_values([*by, "theme"], kind="stable").reset_index(drop=True)
    return long[[*by, "theme", "n_comments", "n_mentions", "share"]]


def theme_table(
    tagged: pd.DataFrame,
    *,
    by: str = "group",
    order: Sequence[str] = (),
    themes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return one row per theme with mentions and share for each ``by`` value, labelled with its n."""
    shares = theme_shares(tagged, by=(by,), themes=themes)
    present = list(dict.fromkeys(shares[by].astype(str)))
    values = [v for v in order if v in present] + [v for v in present if v not in order]
    columns: dict[tuple[str, str], pd.Series] = {}
    for value in values:
        part = shares[shares[by].astype(str) == value].set_index("theme")
        label = f"{value}（n={int(part['n_comments'].iloc[0])}）"
        columns[(label, "n_mentions")] = part["n_mentions"]
        columns[(label, "share")] = part["share"]
    out = pd.DataFrame(columns)
    out.index.name = "theme"
    return out


def compare_groups(
    tagged: pd.DataFrame,
    *,
    alpha: float = 0.05,
    per: str = "comment",
    themes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Compare citizens and staff per theme with Fisher's exact test (small-n honest).

    The unit is one comment (``per="comment"``): a respondent who wrote two comments
    on a theme counts twice. ``per="respondent"`` counts each respondent once per theme
    (mentioned in any of their comments). ``indicative`` marks p < ``alpha``: with ten
    themes and small groups it is a pointer for reading the comments, not a finding.
    """
    from scipy.stats import fisher_exact

    names = list(themes or default_theme_names())
    frame = tagged
    if per == "respondent":
        keys = ["file", "sheet", "row"]
        frame = (
            tagged.groupby(keys, sort=True, observed=True)
            .agg(group=("group", "first"),
                 themes=("themes", lambda s: frozenset().union(*map(frozenset, s))))
            .reset_index()
        )
    elif per != "comment":
        raise OptionError("per は 'comment' か 'respondent' です")
    group = frame["group"].astype(str)
    rows = []
    for name in names:
        has = frame["themes"].map(lambda tags, n=name: n in tags)
        cn, ck = int((group == CITIZENS).sum()), int((has & (group == CITIZENS)).sum())
        sn, sk = int((group == STAFF).sum()), int((has & (group == STAFF)).sum())
        p = float("nan")
        if cn and sn:
            p = float(fisher_exact([[ck, cn - ck], [sk, sn - sk]]).pvalue)
        rows.append({
            "theme": name,
            "citizens_n": cn, "citizens_k": ck, "citizens_share": ck / cn if cn else float("nan"),
            "staff_n": sn, "staff_k": sk, "staff_share": sk / sn if sn else float("nan"),
            "p_value": p,
            "indicative": bool(p < alpha) if p == p else False,
        })
    out = pd.DataFrame(rows)
    out["theme"] = out["theme"].astype(_theme_dtype(names))
    return out

