"""Word-level counts (frequencies, words per comment, co-occurrence): one filtering path, one home.

Every word-level output goes through :func:`comment_words`:

1. personal data is found by the quote masker's own detector
   (:func:`kyodo_analysis.quotes.find_personal_data`) and its tokens are cut out of the
   comment's tokens (read once per run), so names, e-mail addresses, URLs, phone numbers
   and addresses never become words (nor parts of words);
2. a name masked in any comment is also left out wherever else the word occurs;
3. :func:`kyodo_analysis.text.content_words` keeps nouns, verbs and adjectives,
   without symbols, numbers or stopwords.

A word that occurs in fewer than ``min_comments`` comments is not published in the
frequency table (a name mentioned once is most likely a name).
"""
from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from ..quotes import NAME_MASK, default_privacy, find_personal_data, normalise_with_offsets
from .cache import tokenize_many
from .tokens import DEFAULT_EXCLUDE, RawToken, Token, content_word_filter, load_stopwords, normalize, token_offsets

# A word must occur in at least this many comments to be published in a frequency table.
MIN_COMMENTS = 2
# What stands where a personal detail was: punctuation, so the words on either side
# neither join into one compound nor take a part of the detail along.
_CUT: RawToken = ("、", "記号,読点,*,*", "、")


@dataclass(frozen=True)
class CommentWords:
    """The content words of each comment, in order, and the names left out of them."""

    words: list[list[Token]]
    names: frozenset[str]


def without_personal_data(text: str, raw: Sequence[RawToken]) -> tuple[list[RawToken], list[str]]:
    """Return ``text``'s tokens with every personal detail cut out, and the names that were found.

    The tokens are the run's own (read once); a token touching a detail goes, and one
    ``_CUT`` mark stands for each run of removed tokens.
    """
    spans = find_personal_data(text, rules=default_privacy())
    if not spans:
        return list(raw), []
    names = [normalize(text[s:e]).strip() for s, e, mask in spans if mask == NAME_MASK]
    norm, starts, ends = normalise_with_offsets(text)
    kept: list[RawToken] = []
    k = 0
    for (a, b), token in zip(token_offsets(norm, raw), raw):
        first, last = (starts[a], ends[b - 1]) if a < b <= len(norm) else (len(text), len(text))
        while k < len(spans) and spans[k][1] <= first:
            k += 1
        if k < len(spans) and spans[k][0] < last:
            if not kept or kept[-1] is not _CUT:
                kept.append(_CUT)
            continue
        kept.append(token)
    return kept, names


def comment_words(
    texts: Sequence[str],
    *,
    exclude: Iterable[str] = DEFAULT_EXCLUDE,
    compound: bool = False,
    cache: bool = True,
) -> CommentWords:
    """Return each text's content words (base form), with personal data and excluded words left out."""
    texts = [str(t) for t in texts]
    unique = list(dict.fromkeys(texts))  # a comment written twice is read and filtered once
    cleaned: list[list[RawToken]] = []
    names: set[str] = set()
    for text, raw in zip(unique, tokenize_many(unique, cache=cache)):
        kept, found = without_personal_data(text, raw)
        cleaned.append(kept)
        names.update(n for n in found if n)
    stop = load_stopwords()
    # Names go like excluded words: never counted, never inside a compound.
    excluded = [normalize(w) for w in exclude] + sorted(names)
    keep = content_word_filter(stopwords=stop, exclude=excluded, compound=compound)  # built once, not per comment
    words = dict(zip(unique, (keep.raw(raw) for raw in cleaned)))
    return CommentWords([list(words[t]) for t in texts], frozenset(names))


def word_counts(
    texts: Iterable[str],
    *,
    exclude: Iterable[str] = (),
    compound: bool = False,
    cache: bool = True,
    min_comments: int = 1,
) -> dict[tuple[str, str], int]:
    """Count content words (base form, major part of speech) over ``texts``."""
    frame = word_frequencies(pd.DataFrame({"text": list(texts)}), by=None, exclude=exclude,
                             compound=compound, cache=cache, min_comments=min_comments)
    return {(r.word, r.pos): int(r.occurrences) for r in frame.itertuples(index=False)}


def _frequency_table(words: Sequence[list[Token]], keys: Sequence[object], by: str | None,
                     min_comments: int) -> pd.DataFrame:
    occurrences: dict[tuple, int] = {}
    comments: dict[tuple, int] = {}
    spread: dict[tuple[str, str], int] = {}
    for key, tokens in zip(keys, words):
        seen = set()
        for tok in tokens:
            k = (key, tok.base_form, tok.pos)
            occurrences[k] = occurrences.get(k, 0) + 1
            seen.add(k)
        for k in seen:
            comments[k] = comments.get(k, 0) + 1
        for word_pos in {(t.base_form, t.pos) for t in tokens}:
            spread[word_pos] = spread.get(word_pos, 0) + 1
    cols = [by or "group", "word", "pos", "occurrences", "n_comments"]
    rows = [(*k, v, comments[k]) for k, v in occurrences.items() if spread[(k[1], k[2])] >= min_comments]
    return pd.DataFrame(rows, columns=cols)


def word_frequencies(
    comments: pd.DataFrame,
    by: str | None = "group",
    exclude: Iterable[str] = DEFAULT_EXCLUDE,
    *,
    compound: bool = False,
    cache: bool = True,
    min_comments: int = MIN_COMMENTS,
) -> pd.DataFrame:
    """Count content words per ``by`` value: 出現回数 (``occurrences``) and 記述数 (``n_comments``).

    Words found in fewer than ``min_comments`` comments overall are left out.
    """
    found = comment_words([str(t) for t in comments["text"].tolist()], exclude=exclude,
                          compound=compound, cache=cache)
    keys = comments[by].astype(object).tolist() if by else [None] * len(found.words)
    out = _frequency_table(found.words, keys, by, min_comments)
    cols = list(out.columns)
    if by is None:
        out = out.drop(columns=["group"])
        cols = cols[1:]
    order = [c for c in cols if c not in ("occurrences", "n_comments", "word", "pos")]
    out = out.sort_values(order + ["occurrences", "word", "pos"],
                          ascending=[True] * len(order) + [False, True, True], kind="stable")
    if by and isinstance(comments[by].dtype, pd.CategoricalDtype):
        out[by] = out[by].astype(comments[by].dtype)
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class WordData:
    """Word counts by group and the words of each comment, with personal data left out."""

    frequencies: pd.DataFrame
    documents: list[list[str]]
    names: frozenset[str]


def word_data(comments: pd.DataFrame, *, exclude: Sequence[str] = DEFAULT_EXCLUDE,
              min_comments: int = MIN_COMMENTS) -> WordData:
    """Count words by group and list each comment's words for clouds and networks, in one pass."""
    texts = [str(t) for t in comments["text"].tolist()]
    found = comment_words(texts, exclude=exclude)
    keys = comments["group"].astype(object).tolist() if "group" in comments else [None] * len(texts)
    freq = _frequency_table(found.words, keys, "group", min_comments)
    freq = freq.sort_values(["group", "occurrences", "word", "pos"],
                            ascending=[True, False, True, True], kind="stable")
    if "group" in comments and isinstance(comments["group"].dtype, pd.CategoricalDtype):
        freq["group"] = freq["group"].astype(comments["group"].dtype)
    documents = [[t.base_form for t in tokens] for tokens in found.words]
    return WordData(freq.reset_index(drop=True), documents, found.names)


def cooccurrence(
    documents: Iterable[Iterable[str]],
    *,
    top_n: int = 60,
    min_jaccard: float = 0.1,
    min_cooccurrence: int = 2,
) -> pd.DataFrame:
    """Count which frequent words appear in the same comment; keep pairs above a Jaccard threshold."""
    docs = [frozenset(words) for words in documents]
    doc_freq = Counter(word for doc in docs for word in doc)
    top = sorted(doc_freq, key=lambda w: (-doc_freq[w], w))[:top_n]
    keep = set(top)
    pairs: Counter[tuple[str, str]] = Counter()
    for doc in docs:
        pairs.update(itertools.combinations(sorted(doc & keep), 2))
    rows = []
    for (a, b), both in pairs.items():
        jaccard = both / (doc_freq[a] + doc_freq[b] - both)
        if both >= min_cooccurrence and jaccard >= min_jaccard:
            rows.append((a, b, jaccard, both, doc_freq[a], doc_freq[b]))
    columns = ["source", "target", "weight", "cooccurrences", "source_count", "target_count"]
    edges = pd.DataFrame(rows, columns=columns)
    return edges.sort_values(["weight", "source", "target"], ascending=[False, True, True]).reset_index(drop=True)
