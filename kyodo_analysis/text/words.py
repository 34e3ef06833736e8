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

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from ..quotes import NAME_MASK, default_privacy, find_personal_data, normalise_with_offsets, privacy_digest
from .cache import open_cache, source_digest, tokenize_many
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
    stop = load_stopwords()
    excluded = [normalize(w) for w in exclude]
    if compound:
        found = _compound_words(unique, stop, excluded, cache)
    else:
        found = _plain_words(unique, stop, excluded, cache)
    names = frozenset(n for _, found_names in found.values() for n in found_names if n)
    # A name found in any comment is left out of every comment, as an excluded word would be:
    # without compounds, leaving a word out afterwards is the same as excluding it up front.
    words = {t: [w for w in ws if w.base_form not in names] for t, (ws, _) in found.items()}
    return CommentWords([list(words[t]) for t in texts], names)


def _compound_words(unique: Sequence[str], stop: frozenset[str], excluded: list[str],
                    cache: bool) -> dict[str, tuple[list[Token], list[str]]]:
    cleaned: list[list[RawToken]] = []
    found_names: list[list[str]] = []
    for text, raw in zip(unique, tokenize_many(unique, cache=cache)):
        kept, found = without_personal_data(text, raw)
        cleaned.append(kept)
        found_names.append(found)
    # Names go like excluded words: never counted, never inside a compound (joined words
    # depend on their neighbours, so here they are excluded before joining).
    names = sorted({n for found in found_names for n in found if n})
    keep = content_word_filter(stopwords=stop, exclude=excluded + names, compound=True)
    return {text: (keep.raw(kept), found) for text, kept, found in zip(unique, cleaned, found_names)}


def _plain_words(unique: Sequence[str], stop: frozenset[str], excluded: list[str],
                 cache: bool) -> dict[str, tuple[list[Token], list[str]]]:
    """Each text's content words and the names found in it, kept in the cache's derived table."""
    keep = content_word_filter(stopwords=stop, exclude=excluded)  # built once, not per comment
    found: dict[str, tuple[list[Token], list[str]]] = {}
    store = open_cache() if cache is True else None
    try:
        producer = _words_producer(stop, excluded) if store is not None else ""
        keys = {t: store.key(t) for t in unique} if store is not None else {}
        if producer:
            found = store.derived_for(producer, keys, lambda value, _: _decode_words(value))
        todo = [t for t in unique if t not in found]
        fresh: list[tuple[bytes, str]] = []
        for text, raw in zip(todo, tokenize_many(todo, cache=store if store is not None else cache)):
            kept, names = without_personal_data(text, raw)
            found[text] = (keep.raw(kept), names)
            if producer:
                fresh.append((keys[text], _encode_words(*found[text])))
        if producer:
            store.put_derived(producer, fresh)
    finally:
        if store is not None:
            store.close()
    return found


def _words_producer(stop: frozenset[str], excluded: Sequence[str]) -> str:
    """Return the cache id of word lists made with these stopwords, exclusions and masking rules."""
    setup = json.dumps([sorted(stop), sorted(set(excluded)), privacy_digest(default_privacy())], ensure_ascii=False)
    digest = hashlib.sha256(setup.encode()).hexdigest()[:16]
    return f"words:{digest}:{source_digest('text', 'quotes.py')}"


def _encode_words(words: Sequence[Token], names: Sequence[str]) -> str:
    return json.dumps([[[w.base_form, w.part_of_speech] for w in words], list(names)],
                      ensure_ascii=False, separators=(",", ":"))


def _decode_words(value: str) -> tuple[list[Token], list[str]] | None:
    """Parse a stored word list as data, or return None if it is not one (damaged, foreign)."""
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if type(data) is not list or len(data) != 2 or type(data[0]) is not list or type(data[1]) is not list:
        return None
    words = []
    for item in data[0]:
        if type(item) is not list or len(item) != 2 or type(item[0]) is not str or type(item[1]) is not str:
            return None
        words.append(Token(item[0], item[1], item[0]))
    if not all(type(n) is str for n in data[1]):
        return None
    return words, data[1]


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
