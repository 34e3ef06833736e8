"""Representative quotes per theme, with personal names and contact details masked.

Masking works on the NFKC form of a comment (so full-width digits, half-width kana and
``＠`` match the same patterns) but rewrites the original characters: every span found
in the normalised text is mapped back to the original by character offsets.

A name is found three ways:

* janome tags the token 名詞,固有名詞,人名 (長田, 優子) — unless a place/organisation word
  follows directly (さくら会, みなみ地区センター) or the word is in ``common_words``;
* the word(s) just before an honorific (さん・様・氏・君・ちゃん…) or a job title
  (課長・係長・センター長・先生…) — janome often cuts unknown kana names apart
  (はなこさん → はな|こさ|ん), so the run is rebuilt from the tokens around the suffix;
* a kanji word signed right after a phone number or address (…5432宮下へ);
* any other occurrence, in the same comment, of a name already found, and a reading
  written in brackets right after one (佐藤（さとう）).

janome runs once per comment; words whose reading the sentence context may have bent
(前田まで → 地域) are looked up once more on their own, through a cache.

Roles and organisations before a suffix (企業さん, お客様, 自治会長, 総務課長, 講師の先生)
are left alone; the word lists live in ``data/privacy.toml``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from .text.cache import open_cache, source_digest, spelling, tokenize_many
from .text.tokens import UNKNOWN_POS, RawToken, get_tokenizer, token_offsets
from .rules.load import default_theme_names
from .rules.ruleset import RuleSet
from .rules.tag import with_matched_words

NAME_MASK = "〇〇"
PHONE_MASK = "[電話番号]"
EMAIL_MASK = "[メール]"

QUOTE_COLUMNS = ("theme", "rank", "fiscal_year", "group", "question", "text", "matched_words", "source")

URL_MASK = "[URL]"
ADDRESS_MASK = "[住所]"
NUMBER_MASK = "[番号]"
HANDLE_MASK = "[アカウント]"

# "@" also written out, as people do to keep addresses from robots: name (at) example.jp.
_AT = r"(?:@|\s*[(\[<]\s*at\s*[)\]>]\s*|\s*アットマーク\s*|\s*あっと\s*)"
_DOT = r"(?:\.|\s*[(\[<]\s*dot\s*[)\]>]\s*)"
_EMAIL = re.compile(rf"[A-Za-z0-9._%+\-]+{_AT}[A-Za-z0-9\-]+(?:{_DOT}[A-Za-z0-9\-]+)+", re.IGNORECASE)
# A whole URL goes: its path often holds a name (example.jp/~yamada, /users/taro).
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'「」『』、。（）()]+"
    r"|(?<![A-Za-z0-9@.\-])[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.(?:jp|com|net|org|info|biz|io|me|tv)"
    r"(?:/[^\s<>\"'「」『』、。（）()]*)?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?"
# Separators people type between digit groups; NFKC leaves ‐ − ー 〜 and friends alone.
_SEP = r"[\-‐‑‒–—―−ー〜~\s.()]{0,2}"
_PHONE = re.compile(rf"(?<![0-9])(?:\+81|\(0[0-9]{{1,4}}\)|0[0-9]{{0,4}})(?:{_SEP}[0-9]{{1,4}}){{1,3}}(?![0-9])")
# 0 9 0 1 2 3 4 … : one separator after every digit.
_SPACED_PHONE = re.compile(r"(?<![0-9])0(?:[\s\-‐−ー〜~.]?[0-9]){9,11}(?![0-9])")
_PHONE_DIGITS = range(10, 13)


@lru_cache(maxsize=8)
def _local_phone(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """A number without area code is a phone number only when the text says so (電話 1234-5678)."""
    if not words:
        return None
    return re.compile(
        rf"(?:{'|'.join(re.escape(w) for w in words)})[^0-9\n]{{0,6}}?"
        r"(?P<number>(?<![0-9])[0-9]{2,4}[\-‐−ー〜~ ]?[0-9]{3,4}(?![0-9]))",
        re.IGNORECASE,
    )
# マイナンバー (12 digits), spaced or hyphenated in fours.
_INDIVIDUAL_NUMBER = re.compile(r"(?<![0-9])[0-9]{4}[\s\-‐−]?[0-9]{4}[\s\-‐−]?[0-9]{4}(?![0-9])")
_POSTAL = re.compile(r"(?:〒\s*|郵便番号\s*:?\s*)?(?P<number>(?<![0-9\-])[0-9]{3}[\-‐−ー][0-9]{4}(?![0-9\-]))|〒\s*(?P<bare>[0-9]{7})")
# Street numbers after a place name: 美しが丘3-15-7, 本町2丁目5番地12号, 三丁目4番.
_STREET_NUMBER = re.compile(
    r"(?<=[\u3041-\u30ff\u3005\u4e00-\u9fff])(?P<number>[0-9]{1,4}(?:[\-‐−ー][0-9]{1,4}){1,3}"
    r"(?![0-9\-]|[人名回件個年月日時分秒歳才割%％位番号班組つ期部章])"
    r"|[0-9一二三四五六七八九十]{1,3}丁目(?:\s*[0-9]{1,4}(?:番地?|[\-‐−ー]))?(?:\s*[0-9]{1,4}号?)?"
    r"|[0-9]{1,4}番地(?:\s*[0-9]{1,4}号?)?)"
)
_DATE = re.compile(r"(?:19|20)[0-9]{2}[\-‐−ー/.][0-9]{1,2}[\-‐−ー/.][0-9]{1,2}")
# @handle of an SNS account (an e-mail address has text before its @ and is found first).
_HANDLE = re.compile(r"(?<![A-Za-z0-9._%+\-])@[A-Za-z0-9_]{2,30}(?![A-Za-z0-9_@])")
_KANJI_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")

_KANA = re.compile(r"^[\u3041-\u309f\u30a1-\u30ffー・]+$")
_HIRAGANA = re.compile(r"^[\u3041-\u309fー]+$")
_KANJI_ONLY = re.compile(r"^[\u3005\u4e00-\u9fff\uf900-\ufaff]+$")
_KANJI_CHAR = re.compile(r"[\u3005\u4e00-\u9fff\uf900-\ufaff]")
_READING = re.compile(r"[(（]\s*[\u3041-\u309f\u30a1-\u30ffー・ 　]+\s*[)）]")
_NAME_JOINERS = frozenset("・=")
# A name before a suffix is never longer than this many tokens; the walk back stops there,
# so each suffix costs a bounded number of token visits.
_MAX_NAME_TOKENS = 8
# A kana name that janome cut into fragments is rarely longer than this.
_MAX_LOOSE_KANA = 5
# Parts of speech that are whole dictionary words, never leftovers of a cut-up name.
_NEVER_FRAGMENT = ("記号", "副詞", "接続詞", "感動詞", "連体詞", "接頭詞", "フィラー")
# What janome reads the first kana of a hiragana name as (お|さだ|さん, おお|た|さん).
_KANA_NAME_HEADS = ("接頭詞", "感動詞")


@dataclass(frozen=True)
class PrivacyRules:
    """Word lists that steer masking (all NFKC)."""

    allow: frozenset[str]
    honorifics: tuple[str, ...]
    titles: tuple[str, ...]
    roles: frozenset[str]
    place_endings: tuple[str, ...]
    common_words: frozenset[str]
    english_titles: tuple[str, ...] = ()
    latin_honorifics: tuple[str, ...] = ()
    phone_words: tuple[str, ...] = ()
    hiding_marks: str = ""

    def is_allowed(self, name: str) -> bool:
        """Return True if ``name`` is a whole name on the allow-list (spaces inside ignored).

        Part of an entry is not enough: allowing 山田花子 must not keep every other 山田.
        """
        return _without_spaces(name) in self._allowed_whole

    @cached_property
    def _allowed_whole(self) -> frozenset[str]:
        # Asked for every name-like token of every comment: build the set once.
        return frozenset(_without_spaces(a) for a in self.allow)


def _without_spaces(name: str) -> str:
    return re.sub(r"\s+", "", name)


def _allowed_spans(norm: str, rules: PrivacyRules) -> list[tuple[int, int]]:
    """Return where allow-listed names stand in the text, spaced as in 山田 花子 or not."""
    spans = []
    for name in rules.allow:
        letters = _without_spaces(name)
        if letters:
            pattern = r"\s*".join(re.escape(c) for c in letters)
            spans.extend(m.span() for m in re.finditer(pattern, norm))
    return spans


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _words(table: dict, section: str, key: str) -> list[str]:
    return [_nfkc(str(w)).strip() for w in table.get(section, {}).get(key, []) if str(w).strip()]


def load_privacy(path: str | Path | None = None) -> PrivacyRules:
    """Load masking rules from ``privacy.toml`` (the bundled one when ``path`` is None)."""
    if path is None:
        text = (resources.files("kyodo_analysis") / "data" / "privacy.toml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8-sig")
    table = tomllib.loads(text)
    by_length = lambda words: tuple(sorted(set(words), key=lambda w: (-len(w), w)))  # noqa: E731
    return PrivacyRules(
        allow=frozenset(_words(table, "allow", "names")),
        honorifics=by_length(_words(table, "honorifics", "words")),
        titles=by_length(_words(table, "titles", "words")),
        roles=frozenset(_words(table, "roles", "words")),
        place_endings=by_length(_words(table, "places", "endings")),
        common_words=frozenset(_words(table, "common_words", "words")),
        english_titles=by_length(_words(table, "english_titles", "words")),
        latin_honorifics=by_length(_words(table, "latin_honorifics", "words")),
        phone_words=by_length(_words(table, "phone_words", "words")),
        hiding_marks="".join(sorted(set("".join(_words(table, "hiding_marks", "marks"))))),
    )


@lru_cache(maxsize=1)
def default_privacy() -> PrivacyRules:
    """Return the bundled masking rules (cached)."""
    return load_privacy()


# --- normalised text with a way back to the original ----------------------------------


def normalise_with_offsets(text: str) -> tuple[str, list[int], list[int]]:
    """Return NFKC text and, per normalised character, the original span it came from."""
    if unicodedata.is_normalized("NFKC", text) and not any(map(unicodedata.combining, text)):
        return text, list(range(len(text))), list(range(1, len(text) + 1))  # most comments: one for one
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        # Keep combining marks (incl. half-width ﾞﾟ) with their base so ｶﾞ becomes ガ.
        while j < n and any(unicodedata.combining(c) for c in _nfkc(text[j])):
            j += 1
        piece = _nfkc(text[i:j])
        parts.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return "".join(parts), starts, ends


_PERSON_POS = ("名詞", "固有名詞", "人名")


class _Tok(NamedTuple):
    # A tuple, not a dataclass: the masker builds one per token of every comment.
    start: int
    end: int
    surface: str
    pos: tuple[str, ...]
    unknown: bool

    @property
    def is_person(self) -> bool:
        return self.pos[:3] == _PERSON_POS

    @property
    def is_noun(self) -> bool:
        return self.pos[0] == "名詞"


class _Tokens(list):
    """The tokens of one text with their start offsets, for lookups by position in O(log n)."""

    def __init__(self, tokens: Iterable[_Tok]) -> None:
        super().__init__(tokens)
        self.starts = [t.start for t in self]

    def at(self, pos: int) -> int | None:
        """Return the index of the token covering character ``pos``, if any."""
        k = bisect_right(self.starts, pos) - 1
        return k if k >= 0 and self[k].start <= pos < self[k].end else None

    def first_from(self, pos: int) -> int:
        """Return the index of the first token starting at or after ``pos``."""
        return bisect_left(self.starts, pos)


def _run_tokens(text: str, norm: str) -> tuple[tuple[RawToken, ...], list[tuple[int, int]]]:
    """Return the run's tokens of ``text`` (janome reads it once per run) and their offsets in ``norm``.

    Only the run's memory is used, never the disk cache: the masker also reads cells that
    are dropped at load (names, e-mail addresses of web forms), which must not be stored.
    """
    raw = tokenize_many([text], cache="memory")[0]
    offsets = token_offsets(norm, raw)
    if any(norm[s:e] != t[0] for (s, e), t in zip(offsets, raw)):
        # The tokens do not spell this normalisation (a rare composition across pieces):
        # read the normalised text itself, which they always spell.
        raw = tokenize_many([norm], cache="memory")[0]
        offsets = token_offsets(norm, raw)
    return raw, offsets


def _as_toks(raw: Sequence[RawToken], offsets: Sequence[tuple[int, int]]) -> _Tokens:
    return _Tokens(_Tok(start, end, surface, *_pos_fields(pos))
                   for (start, end), (surface, pos, _) in zip(offsets, raw))


@lru_cache(maxsize=4096)
def _pos_fields(pos: str) -> tuple[tuple[str, ...], bool]:
    """Split a part of speech once per distinct string: its fields, and whether janome guessed the word."""
    parts = tuple(pos.split(","))
    unknown = parts[-1] == UNKNOWN_POS
    return (parts[:-1] if unknown else parts), unknown


@lru_cache(maxsize=4096)
def _is_person_word(word: str, *, with_honorific: bool = False) -> bool:
    """Ask janome whether ``word`` reads as a personal name (alone, or before さん).

    The sentence context can make janome pick another reading of a surname
    (前田まで → 地域, 黒田会長 → 一般); a cached look at the word itself settles it.
    """
    tokens = list(get_tokenizer().tokenize(word + ("さん" if with_honorific else "")))
    head = tokens[0] if tokens else None
    return (head is not None and head.surface == word
            and head.part_of_speech.startswith("名詞,固有名詞,人名"))


# --- name finding ----------------------------------------------------------------------


def _ends_with_place(word: str, rules: PrivacyRules) -> bool:
    return any(word.endswith(e) for e in rules.place_endings)


def _strict_name_part(tok: _Tok, personal: bool, rules: PrivacyRules) -> bool:
    """True if the token can be (part of) a name right before a suffix."""
    if not tok.is_noun or tok.surface in rules.roles:
        return False
    kind = tok.pos[1]
    if kind == "固有名詞":
        if not personal and tok.pos[2] == "地域":
            # 横浜市長, 港北区長: a place before a title, unless it is also a surname (千葉).
            return _is_person_word(tok.surface) or _is_person_word(tok.surface, with_honorific=True)
        return True
    if tok.unknown:
        return kind != "数" and any(c.isalpha() for c in tok.surface)
    if kind == "一般":
        # A plain kana or one-kanji noun before さん is a name often enough (さくらさん,
        # 東さん; roles are listed). A longer kanji noun is a role or a body (消防さん,
        # 総務課長, 自治会長) unless janome reads it as a surname on its own (黒田会長).
        if personal and (_KANA.match(tok.surface) or len(tok.surface) == 1):
            return True
        return _is_person_word(tok.surface)
    if personal and not _KANA.match(tok.surface):
        # 四月一日さん: numerals and counters only make sense as a name here.
        return kind in ("数", "副詞可能") or tok.pos[1:3] == ("接尾", "助数詞")
    return False


def _loose_fragment(tok: _Tok, *, next_to_suffix: bool) -> bool:
    """True if the token looks like a piece of a kana name janome cut apart."""
    if not _KANA.match(tok.surface) or tok.pos[0] in _NEVER_FRAGMENT:
        return False
    if tok.pos[:2] in (("名詞", "接尾"), ("名詞", "一般")):
        return False  # whole words (まちづくり) and their endings (子ども|たち) are no name pieces
    # A particle cannot stand right before an honorific, so there it is a name's tail (かずや君).
    return tok.pos[0] != "助詞" or next_to_suffix


def _name_before(norm: str, tokens: Sequence[_Tok], k: int, start: int, end: int,
                 personal: bool, crossed: bool, rules: PrivacyRules) -> tuple[int, int] | None:
    """Walk back from token ``k`` collecting the name that ends at ``end``.

    ``start`` < ``end`` when janome glued part of the name to the suffix's token.
    """
    loose_seen = False
    strict_seen = False
    loose_ok = personal or crossed or (k >= 0 and tokens[k].is_noun)
    stop = k - _MAX_NAME_TOKENS
    while k >= 0 and k > stop:
        tok = tokens[k]
        if tok.end != start:
            break
        if _strict_name_part(tok, personal, rules) and not (loose_seen and not _KANA.match(tok.surface)):
            strict_seen = True
        elif (tok.surface in _NAME_JOINERS and start < end and k > 0
              and _strict_name_part(tokens[k - 1], personal, rules)):
            pass
        elif (loose_ok and not strict_seen
              and _KANA.match(norm[start:end] or "ア")
              and end - tok.start <= _MAX_LOOSE_KANA
              and tok.surface not in rules.roles
              and _loose_fragment(tok, next_to_suffix=tok.end == end)):
            loose_seen = True
        elif ((loose_seen or strict_seen or start < end) and tok.pos[0] in _KANA_NAME_HEADS
              and _HIRAGANA.match(norm[tok.start:end]) and end - tok.start <= _MAX_LOOSE_KANA):
            # A prefix or interjection only starts a word, so the name starts here:
            # in おさださん the name is おさだ, not just さだ.
            start = tok.start
            break
        else:
            break
        start = tok.start
        k -= 1
    if end - start == 1 and strict_seen and not loose_seen and _KANJI_ONLY.match(norm[start:end]):
        # 小鳥|遊さん: a one-kanji "name" glued to a kanji noun is the end of a longer surname.
        head = tokens[k] if k >= 0 else None
        if (head is not None and head.end == start and head.pos[:2] == ("名詞", "一般")
                and _KANJI_ONLY.match(head.surface) and len(head.surface) <= 3
                and head.surface not in rules.roles and not _ends_with_place(head.surface, rules)):
            start = head.start
    if start >= end or (loose_seen and not strict_seen and end - start < 2):
        return None  # one stray kana (人|が|ちゃん|と) is no name
    return start, end


def _split_surname_before(tokens: Sequence[_Tok], k: int, rules: PrivacyRules) -> tuple[int, int] | None:
    """Find a kanji surname janome misread right before token ``k`` (三|好センター長, 三好/一般)."""
    for width in (3, 2, 1):
        first = k - width
        if first < 0:
            continue
        pieces = tokens[first:k]
        if any(b.start != a.end for a, b in zip(pieces, pieces[1:])) or pieces[-1].end != tokens[k].start:
            continue
        if pieces[-1].pos[:2] == ("名詞", "接尾"):
            break  # 自治会|長さん: the word before is an ending, not a surname
        word = "".join(t.surface for t in pieces)
        if (len(word) <= 4 and _KANJI_ONLY.match(word) and word not in rules.roles
                and _is_person_word(word, with_honorific=True)):
            return pieces[0].start, pieces[-1].end
    return None


def _misread_inflection(tokens: Sequence[_Tok], k: int, suffix_end: int) -> bool:
    """True if janome read a kana name's tail plus its suffix as one word.

    はる|なさん and しょ|う|たくん became verbs; あや|かさん became a noun (加算). Real words
    ending in a suffix (たくさん, みなさん) are adverbial nouns or pronouns, and a noun
    only counts when a kana fragment sticks to its front.
    """
    tok = tokens[k]
    if tok.end != suffix_end or not _KANA.match(tok.surface):
        return False
    if tok.pos[0] in ("動詞", "助動詞", "形容詞"):
        return True
    previous = tokens[k - 1] if k > 0 else None
    return (tok.is_noun and tok.pos[1] not in ("副詞可能", "代名詞")
            and previous is not None and previous.end == tok.start
            and _loose_fragment(previous, next_to_suffix=False))


@lru_cache(maxsize=8)
def _suffix_pattern(rules: PrivacyRules) -> tuple[re.Pattern[str] | None, dict[str, bool]]:
    """Return the honorifics and titles as one pattern (longest first), and which are honorifics."""
    markers = [(w, True) for w in rules.honorifics] + [(w, False) for w in rules.titles]
    markers.sort(key=lambda m: (-len(m[0]), m[0]))
    pattern = re.compile("|".join(re.escape(w) for w, _ in markers)) if markers else None
    return pattern, dict(markers)


def _suffix_names(norm: str, tokens: _Tokens, rules: PrivacyRules) -> list[tuple[int, int]]:
    """Find names written right before an honorific or a job title."""
    pattern, personal_of = _suffix_pattern(rules)
    spans: list[tuple[int, int]] = []
    if pattern is None:
        return spans
    for match in pattern.finditer(norm):
        s, e = match.span()
        personal = personal_of[match.group()]
        k = tokens.at(s)
        if k is None:
            continue
        tok = tokens[k]
        if tok.start == s and tok.end > e and not tok.unknown:
            continue  # the suffix only begins a longer word: 様子, 氏名, さんま
        last = tokens.at(e - 1)
        if tok.start == s and last is not None and tokens[last].end > e and not tokens[last].unknown:
            continue  # the suffix ends inside the next word: 緑|区|長津田 is no 区長
        if not personal and tok.start == s and _given_name_before(tokens, k, rules):
            personal = True  # めぐみ先生, 東先生: a word standing alone before a title is a name
        if tok.start == s:
            found = _name_before(norm, tokens, k - 1, s, s, personal, False, rules)
        elif not tok.unknown and not _misread_inflection(tokens, k, e) and (e <= tok.end or tok.is_noun):
            # The suffix is inside an ordinary word (たくさん, 皆さん, 様々, ちゃんと) or
            # starts inside a noun (自治会|長 is not 自治 + 会長).
            continue
        elif not tok.unknown and _KANJI_CHAR.search(norm[tok.start:s]) and not _is_person_word(norm[tok.start:s]):
            continue  # a verb cut across the suffix: 許さ|ん is 許さん, not 許 + さん
        else:
            # janome glued the suffix to the name (髙橋様) or cut across it (関さ|ん).
            found = _name_before(norm, tokens, k - 1, tok.start, s, personal, True, rules)
        if found is None and tok.start == s:
            found = _split_surname_before(tokens, k, rules)
        if found is None:
            continue
        found = _across_line_break(norm, found)
        name = norm[found[0]:found[1]].strip("・=")
        if not name or name in rules.roles:
            continue
        last_k = tokens.at(found[1] - 1)
        last = tokens[last_k] if last_k is not None else None
        if _ends_with_place(name, rules) and not (last and last.is_person):
            continue
        offset = norm.index(name, found[0])
        spans.append((offset, offset + len(name)))
    return spans


def _given_name_before(tokens: Sequence[_Tok], k: int, rules: PrivacyRules) -> bool:
    """True if the word before token ``k`` is a kana or one-kanji noun standing on its own.

    Such a word before a title is a given name (さくら先生, 東先生) even though it is also an
    ordinary word; inside a compound (子ども|会|長) or after a prefix it is not.
    """
    if k < 1:
        return False
    word = tokens[k - 1]
    if (word.end != tokens[k].start or word.pos[:2] != ("名詞", "一般") or word.surface in rules.roles
            or not ((_KANA.match(word.surface) and len(word.surface) <= 4)
                    or (len(word.surface) == 1 and _KANJI_ONLY.match(word.surface)))):
        return False
    before = tokens[k - 2] if k >= 2 and tokens[k - 2].end == word.start else None
    return before is None or not (before.is_noun or before.pos[0] == "接頭詞")


def _across_line_break(norm: str, span: tuple[int, int]) -> tuple[int, int]:
    """Extend a name back over a line break typed inside it (山⏎田さん), if the whole reads as a surname."""
    start, end = span
    brk = start
    while brk > 0 and norm[brk - 1] in "\r\n":
        brk -= 1
    if brk == start or brk == 0:
        return span
    head = brk
    while head > 0 and brk - head < 3 and _KANJI_ONLY.match(norm[head - 1]):
        head -= 1
    for first in range(head, brk):
        word = norm[first:brk] + norm[start:end]
        if len(word) <= 4 and _KANJI_ONLY.match(word) and (
                _is_person_word(word) or _is_person_word(word, with_honorific=True)):
            return first, end
    return span


def _followed_by_place(tokens: Sequence[_Tok], k: int, rules: PrivacyRules) -> bool:
    """True if the nouns right after token ``k`` end in a place/organisation word."""
    compound = ""
    j = k + 1
    while j < len(tokens) and tokens[j].is_noun and tokens[j].start == tokens[j - 1].end:
        if tokens[j].is_person or tokens[j].pos[1:3] == ("接尾", "人名"):
            return False
        compound += tokens[j].surface
        after = tokens[j + 1] if j + 1 < len(tokens) and tokens[j + 1].start == tokens[j].end else None
        # 緑|区|長津田, 本郷|町|3丁目: a place ending that closes a word, or one before a number.
        if _ends_with_place(compound, rules) and (
                tokens[j].pos[1] == "接尾" or after is None or not after.is_noun or after.pos[1] == "数"):
            return True
        j += 1
    return False


def _reads_as_person(tok: _Tok) -> bool:
    """Whether ``tok`` reads as a person's name (decided once per distinct word, see ``_person_reading``)."""
    return _person_reading(tok.surface, tok.pos, tok.unknown)


@lru_cache(maxsize=65536)
def _person_reading(surface: str, pos: tuple[str, ...], unknown: bool) -> bool:
    """True for a 人名 token, or a kanji word that janome reads as a surname elsewhere.

    In context janome tags many surnames as places, organisations or plain nouns
    (前田まで, 金子と, 千葉から, 受付で山田に); masking a place that doubles as a surname
    is the cheaper mistake. Kana words (みどりの風, ひかり), countries and one-kanji
    plain nouns (森, 林) are left alone.
    """
    if pos[:3] == _PERSON_POS:
        return True
    if unknown or not _KANJI_ONLY.match(surface):
        return False
    if pos[1] == "固有名詞" and pos[3:4] != ("国",):
        return _is_person_word(surface) or (len(surface) >= 2 and _is_person_word(surface, with_honorific=True))
    return pos[1] == "一般" and len(surface) >= 2 and _is_person_word(surface)


def _tagged_names(tokens: Sequence[_Tok], rules: PrivacyRules) -> list[tuple[int, int]]:
    """Find runs of tokens janome tags as personal names."""
    spans: list[tuple[int, int]] = []
    k = 0
    while k < len(tokens):
        if not _reads_as_person(tokens[k]):
            k += 1
            continue
        first = k
        while (k + 1 < len(tokens) and _reads_as_person(tokens[k + 1])
               and tokens[k + 1].start == tokens[k].end):
            k += 1
        # はな|こ: a kana name janome read as a shorter name plus a stray kana.
        while (k + 1 < len(tokens) and tokens[k + 1].start == tokens[k].end
               and len(tokens[k + 1].surface) == 1 and _KANA.match(tokens[k + 1].surface)
               and _KANA.match(tokens[k].surface) and tokens[k + 1].pos[0] in ("名詞", "動詞", "助動詞")
               and tokens[k + 1].end - tokens[first].start <= _MAX_LOOSE_KANA):
            k += 1
        run = "".join(t.surface for t in tokens[first:k + 1])
        before = tokens[first - 1] if first > 0 and tokens[first - 1].end == tokens[first].start else None
        # A role janome split into a name: 八百屋, ケア|マネ.
        is_role = run in rules.roles or (before is not None and before.surface + run in rules.roles)
        if not is_role and run not in rules.common_words and not _followed_by_place(tokens, k, rules):
            spans.append((tokens[first].start, tokens[k].end))
        k += 1
    return spans


def _other_occurrences(norm: str, tokens: Sequence[_Tok], names: Iterable[str],
                       rules: PrivacyRules) -> list[tuple[int, int]]:
    """Find further occurrences of names already found in the same text."""
    starts = {t.start: i for i, t in enumerate(tokens)}
    ends = {t.end: i for i, t in enumerate(tokens)}
    spans: list[tuple[int, int]] = []
    by_length: dict[int, set[str]] = {}
    for name in names:
        if name:
            by_length.setdefault(len(name), set()).add(name)
    # One pass over the text per name length (a handful), however many names were found:
    # a pattern with thousands of alternatives would be tried at every position.
    for length, group in by_length.items():
        for s in range(len(norm) - length + 1):
            if norm[s:s + length] not in group:
                continue
            e = s + length
            if length < 2 and not (s in starts and e in ends):
                continue  # one character is too easily part of another word
            if e in ends and _followed_by_place(tokens, ends[e], rules):
                continue
            spans.append((s, e))
    return spans


# A word of Japanese romaji (Hepburn or kunrei): Yamada, Taro, Yuuko, Satou, Hattori, Ohno.
_ROMAJI_WORD = re.compile(
    r"(?:(?:sh|ch|ts|[kgsztdnhbpmrjfwv]y?|y)?[aiueo]h?|n(?![aiueoy])|([kgsztdhbpmcf])(?=\1|ch))+",
    re.IGNORECASE,
)
_LATIN_NAME = r"[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?"
_LATIN_PAIR = re.compile(rf"(?<![A-Za-z])(?P<name>{_LATIN_NAME}\s+{_LATIN_NAME})(?![A-Za-z])")


@lru_cache(maxsize=8)
def _latin_patterns(titles: tuple[str, ...], honorifics: tuple[str, ...]) -> list[re.Pattern[str]]:
    """"Mr. Suzuki" (a capitalised word after an English title) and "Yamada-san"."""
    patterns = []
    if titles:
        patterns.append(re.compile(
            rf"\b(?:{'|'.join(re.escape(t) for t in titles)})(?:\.\s*|\s+)(?P<name>{_LATIN_NAME}(?:\s+{_LATIN_NAME})?)"))
    if honorifics:
        patterns.append(re.compile(
            rf"(?<![A-Za-z])(?P<name>{_LATIN_NAME})(?:-|\s)(?:{'|'.join(re.escape(h) for h in honorifics)})\b",
            re.IGNORECASE))
    return patterns


def _is_romaji(word: str) -> bool:
    return len(word) >= 2 and _ROMAJI_WORD.fullmatch(word) is not None


def _romaji_names(norm: str, rules: PrivacyRules) -> list[tuple[int, int]]:
    """Find names written in Latin letters: "Mr. Suzuki", "Taro Yamada", "Yamada-san".

    Two capitalised words are a name only when both read as Japanese romaji, so
    "New York" and "Google Maps" stay.
    """
    spans = [m.span("name") for pattern in _latin_patterns(rules.english_titles, rules.latin_honorifics)
             for m in pattern.finditer(norm)]
    for m in _LATIN_PAIR.finditer(norm):
        if all(_is_romaji(w) for w in re.split(r"[\s\-]+", m.group("name"))):
            spans.append(m.span("name"))
    return spans


_HEAD_CHAR = r"[A-Za-z.\u30a1-\u30ff\u3005\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"


@lru_cache(maxsize=8)
def _partly_masked_pattern(rules: PrivacyRules) -> re.Pattern[str] | None:
    """Return the pattern of a name partly hidden by marks right before an honorific or title."""
    markers = sorted({*rules.honorifics, *rules.titles}, key=lambda w: (-len(w), w))
    if not markers or not rules.hiding_marks:
        return None
    hiding = re.escape(rules.hiding_marks)
    return re.compile(rf"(?P<name>{_HEAD_CHAR}{{1,3}}[{hiding}]+{_HEAD_CHAR}{{0,2}}|[{hiding}]+{_HEAD_CHAR}{{1,2}})"
                      rf"(?=(?:{'|'.join(re.escape(m) for m in markers)}))")


def _partly_masked_names(norm: str, rules: PrivacyRules) -> list[tuple[int, int]]:
    """Find names masked only in part before a suffix, so what is left of them goes too."""
    pattern = _partly_masked_pattern(rules)
    if pattern is None:
        return []
    spans = []
    for m in pattern.finditer(norm):
        head = m.group("name").strip(rules.hiding_marks)
        if head and head not in rules.roles and not _ends_with_place(head, rules):
            spans.append(m.span("name"))
    return spans


def _readings_after(norm: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Find a reading written in brackets right after a name: 佐藤（さとう）."""
    found = []
    for _, end in spans:
        match = _READING.match(norm, end)
        if match:
            found.append((match.start() + 1, match.end() - 1))
    return found


def _names_after_contacts(tokens: _Tokens, contacts: Sequence[tuple[int, int, str]],
                          rules: PrivacyRules) -> list[tuple[int, int]]:
    """Find the name people sign right after a phone number or address (…5432宮下へ)."""
    spans: list[tuple[int, int]] = []
    for _, end, _ in contacts:
        k = tokens.first_from(end)
        while k < len(tokens) and not tokens[k].surface.strip():
            k += 1
        first = k
        while (k < len(tokens) and tokens[k].is_noun and _KANJI_ONLY.match(tokens[k].surface)
               and (k == first or tokens[k].start == tokens[k - 1].end)):
            k += 1
        word = "".join(t.surface for t in tokens[first:k])
        if word and word not in rules.roles and _is_person_word(word, with_honorific=True):
            spans.append((tokens[first].start, tokens[k - 1].end))
    return spans


def _contact_spans(norm: str, rules: PrivacyRules) -> list[tuple[int, int, str]]:
    """Find contact details in ``norm``: e-mail, URL, phone, postal code, street number, ID, handle.

    Earlier kinds win where matches overlap (an e-mail's domain is no URL of its own).
    """
    # Kanji digits become ASCII ones, one character for one, so offsets stay valid.
    digits = norm.translate(_KANJI_DIGITS)
    taken = bytearray(len(norm))
    spans: list[tuple[int, int, str]] = []

    def add(start: int, end: int, mask: str) -> None:
        if start < end and not any(taken[start:end]):
            taken[start:end] = b"\x01" * (end - start)
            spans.append((start, end, mask))

    for m in _EMAIL.finditer(norm):
        add(m.start(), m.end(), EMAIL_MASK)
    for m in _URL.finditer(norm):
        add(m.start(), m.start() + len(m.group().rstrip(_URL_TRAILING)), URL_MASK)
    for pattern in (_PHONE, _SPACED_PHONE):
        for m in pattern.finditer(digits):
            if sum(c.isdigit() for c in m.group()) in _PHONE_DIGITS:
                add(m.start(), m.end(), PHONE_MASK)
    local = _local_phone(rules.phone_words)
    for m in local.finditer(digits) if local is not None else ():
        add(m.start("number"), m.end("number"), PHONE_MASK)
    for m in _INDIVIDUAL_NUMBER.finditer(digits):
        add(m.start(), m.end(), NUMBER_MASK)
    for pattern in (_POSTAL, _STREET_NUMBER):
        for m in pattern.finditer(digits):
            group = next(g for g, v in m.groupdict().items() if v is not None)
            if not _DATE.fullmatch(m.group(group)):
                add(m.start(group), m.end(group), ADDRESS_MASK)
    for m in _HANDLE.finditer(norm):
        add(m.start(), m.end(), HANDLE_MASK)
    return sorted(spans)


def _merge(contacts: list[tuple[int, int, str]], names: list[tuple[int, int]], size: int) -> list[tuple[int, int, str]]:
    """Combine spans: contacts win over names; overlapping or touching names become one."""
    taken = bytearray(size)
    for cs, ce, _ in contacts:
        taken[cs:ce] = b"\x01" * (ce - cs)
    out = sorted(contacts)
    merged: list[list[int]] = []
    for s, e in sorted(set(names)):
        if any(taken[s:e]):
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out.extend((s, e, NAME_MASK) for s, e in merged)
    return sorted(out)


def _inside_allowed(spans: list[tuple[int, int]], allowed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop the spans that lie within an allowed name's span (sorted lookup, not pairwise)."""
    if not allowed:
        return spans
    allowed = sorted(allowed)
    starts = [a for a, _ in allowed]
    reach: list[int] = []
    for _, b in allowed:
        reach.append(max(b, reach[-1]) if reach else b)
    kept = []
    for s, e in spans:
        k = bisect_right(starts, s) - 1
        if k < 0 or reach[k] < e:
            kept.append((s, e))
    return kept


def _with_rules(allow: Iterable[str] | None, rules: PrivacyRules | None) -> PrivacyRules:
    rules = rules or default_privacy()
    if allow is not None:
        rules = dataclasses.replace(rules, allow=frozenset(_nfkc(a).strip() for a in allow if str(a).strip()))
    return rules


def find_personal_data(text: str, *, allow: Iterable[str] | None = None,
                       rules: PrivacyRules | None = None) -> list[tuple[int, int, str]]:
    """Return ``(start, end, mask)`` for every personal detail in ``text`` (offsets in ``text``).

    This is the one detector: quotes replace the spans with their mask, and the word
    counts leave them out before tokenising. ``allow`` is as in :func:`mask_personal_data`.
    """
    if not text:
        return []
    return list(_find_cached(text, _with_rules(allow, rules)))


@lru_cache(maxsize=65536)
def _find_cached(text: str, rules: PrivacyRules) -> tuple[tuple[int, int, str], ...]:
    # Word counts and quotes ask about the same comments: each is examined once per run.
    norm, starts, ends = normalise_with_offsets(text)
    raw = tokenize_many([text], cache="memory")[0]
    contacts = _contact_spans(norm, rules)
    suffixes, _ = _suffix_pattern(rules)
    tokens: _Tokens | None = None
    # The token-based finders can find something only after an honorific or title, a
    # contact, or at a word that reads as a name; most comments have none of these, and
    # their tokens are never placed in the text.
    if (contacts or (suffixes is not None and suffixes.search(norm))
            or any(_person_reading(surface, *_pos_fields(pos)) for surface, pos, _ in raw)
            or spelling(t[0] for t in raw) != spelling([norm])):
        tokens = _as_toks(*_run_tokens(text, norm))
        found = _suffix_names(norm, tokens, rules) + _tagged_names(tokens, rules) + _names_after_contacts(
            tokens, contacts, rules)
    else:
        found = []
    found += _romaji_names(norm, rules) + _partly_masked_names(norm, rules)
    names = {norm[s:e] for s, e in found}
    masked_names = {n for n in names if not rules.is_allowed(n)}
    spans = [(s, e) for s, e in found if norm[s:e] in masked_names]
    if masked_names:
        spans += _other_occurrences(norm, tokens if tokens is not None else _as_toks(*_run_tokens(text, norm)),
                                    masked_names, rules)
    # janome reads 山田花子 as 山田 + 花子: the parts of an allowed name stay with it.
    spans = _inside_allowed(spans, _allowed_spans(norm, rules))
    spans += _readings_after(norm, spans)
    out: list[tuple[int, int, str]] = []
    cursor = 0
    for s, e, mask in _merge(contacts, spans, len(norm)):
        o_start, o_end = starts[s], ends[e - 1]
        if o_start < cursor:
            continue
        out.append((o_start, o_end, mask))
        cursor = o_end
    return tuple(out)


def mask_personal_data(text: str, *, allow: Iterable[str] | None = None,
                       rules: PrivacyRules | None = None) -> str:
    """Return ``text`` with personal names and contact details masked.

    Names become 〇〇; phone numbers, e-mail addresses, URLs, postal codes and street
    numbers, 12-digit individual numbers and SNS handles their own bracketed mark.
    ``allow`` lists names that may stay, each as a whole (山田花子 keeps 山田花子 and
    山田 花子, not a bare 山田); None uses the allow-list of ``privacy.toml``, any other
    value replaces it (pass ``()`` to mask every name).
    """
    return _apply_masks(text, find_personal_data(text, allow=allow, rules=rules))


def _apply_masks(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    pieces: list[str] = []
    cursor = 0
    for start, end, mask in spans:
        pieces.append(text[cursor:start])
        pieces.append(mask)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


# Comments examined per batch: their tokens are loaded together, and the run's memory holds a batch.
_MASK_BATCH = 2000
_MASKS = frozenset((NAME_MASK, PHONE_MASK, EMAIL_MASK, URL_MASK, ADDRESS_MASK, NUMBER_MASK, HANDLE_MASK))


def personal_data_of_comments(texts: Sequence[str], *, allow: Iterable[str] | None = None,
                              rules: PrivacyRules | None = None,
                              cache: bool = True) -> dict[str, tuple[tuple[int, int, str], ...]]:
    """Return :func:`find_personal_data` of each distinct comment, kept in the token cache.

    For analysed comments only (word counts, quotes): their tokens are already on disk, and
    where each detail stands (offsets and its mask, no text) is stored beside them, so a
    later run neither tokenises nor examines them again. Cells dropped at load go through
    :func:`find_personal_data`, which stores nothing. Tokens are read a batch at a time,
    from the run's memory or the disk cache, never written here.
    """
    rules = _with_rules(allow, rules)
    unique = [t for t in dict.fromkeys(texts) if t]
    found: dict[str, tuple[tuple[int, int, str], ...]] = {}
    store = open_cache() if cache else None
    try:
        producer = f"mask:{privacy_digest(rules)}:{source_digest('text', 'quotes.py')}" if store is not None else ""
        keys = {t: store.key(t) for t in unique} if store is not None else {}
        if producer:
            found = store.derived_for(producer, keys, lambda value, text: _decode_spans(value, len(text)))
        todo = [t for t in unique if t not in found]
        fresh: list[tuple[bytes, str]] = []
        for start in range(0, len(todo), _MASK_BATCH):
            batch = todo[start:start + _MASK_BATCH]
            tokenize_many(batch, cache="read" if cache else False)
            for text in batch:
                found[text] = _find_cached(text, rules)
                if producer:
                    fresh.append((keys[text], json.dumps(found[text], ensure_ascii=False, separators=(",", ":"))))
        if producer:
            store.put_derived(producer, fresh)
    finally:
        if store is not None:
            store.close()
    return {"": (), **found} if "" in texts else found


def _decode_spans(value: str, size: int) -> tuple[tuple[int, int, str], ...] | None:
    """Parse stored spans as data: ordered, inside the text, each with a known mask; else None."""
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if type(data) is not list:
        return None
    spans = []
    cursor = 0
    for item in data:
        if (type(item) is not list or len(item) != 3 or type(item[0]) is not int or type(item[1]) is not int
                or not cursor <= item[0] < item[1] <= size or item[2] not in _MASKS):
            return None
        spans.append((item[0], item[1], item[2]))
        cursor = item[1]
    return tuple(spans)


def privacy_digest(rules: PrivacyRules) -> str:
    """Return a short id of masking rules, for results stored under them."""
    fields = {f.name: sorted(v) if isinstance(v, frozenset) else v
              for f in dataclasses.fields(rules) for v in [getattr(rules, f.name)]}
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()[:16]


# --- quotes for the report ---------------------------------------------------------------


def _tag_tuple(value: object) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else ()


def _theme_order(tagged: pd.DataFrame) -> list[str]:
    """Canonical theme order: the bundled table first, then any other names as met."""
    seen: list[str] = []
    for tags in tagged["themes"] if "themes" in tagged.columns else ():
        for name in _tag_tuple(tags):
            if name not in seen:
                seen.append(name)
    try:

        canonical = list(default_theme_names())
    except (ImportError, OSError, ValueError):
        # Without a readable rule table the tags' own order (table order per comment) will do.
        canonical = []
    return canonical + [n for n in seen if n not in canonical]


def quote_source(file: object, sheet: object, cell: object) -> str:
    """Return where a comment came from, e.g. ``sample_2017.xlsx 回答!E7``."""
    file_text = "" if pd.isna(file) else str(file)
    sheet_text = "" if pd.isna(sheet) else str(sheet)
    cell_text = "" if pd.isna(cell) else str(cell)
    place = f"{sheet_text}!{cell_text}" if sheet_text else cell_text
    return f"{file_text} {place}".strip()


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series(pd.NA, index=frame.index, dtype=object)


def _interleave_groups(candidates: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Take ``limit`` rows from ranked candidates, alternating between groups."""
    queues: list[list[int]] = []
    for _, positions in candidates.groupby("_group_key", sort=False, dropna=False).indices.items():
        queues.append(sorted(positions))
    queues.sort(key=lambda q: q[0])  # the group with the best candidate goes first
    picked: list[int] = []
    while len(picked) < limit and any(queues):
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return candidates.iloc[picked]


def _empty_quotes(order: Sequence[str]) -> pd.DataFrame:
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in QUOTE_COLUMNS})
    empty["theme"] = pd.Categorical([], categories=list(order), ordered=True)
    empty["rank"] = pd.Series(dtype="int64")
    return empty


def select_quotes(
    tagged: pd.DataFrame,
    *,
    per_theme: int = 3,
    min_chars: int = 15,
    max_chars: int = 120,
    allow: Iterable[str] | None = None,
    theme_rules: RuleSet | None = None,
) -> pd.DataFrame:
    """Pick up to ``per_theme`` representative, masked comments for each theme.

    The choice is deterministic. For a theme, its comments are ranked by
    (1) readable length first: masked text of ``min_chars``–``max_chars`` characters;
    (2) focus: fewer other themes on the same comment (it is *about* this theme);
    (3) length closest to the middle of that range;
    (4) newer fiscal year, then file, sheet and row.
    The same text is quoted once per theme. Citizens and staff are then balanced by
    taking the ranked candidates of each group in turn, starting with the group whose
    best comment ranks highest; comments outside the length range only fill places
    left empty. ``allow`` is passed to :func:`mask_personal_data`. The words that fired
    come from a ``matched_words`` column (``with_matched_words``), else, with ``theme_rules``,
    are found for the chosen comments only.
    """
    order = _theme_order(tagged)
    tagged = tagged[tagged["themes"].map(lambda v: bool(_tag_tuple(v)))] if "themes" in tagged.columns else tagged.iloc[0:0]
    if tagged.empty or per_theme <= 0:
        return _empty_quotes(order)
    texts = ["" if pd.isna(t) else str(t) for t in tagged["text"]]
    spans = personal_data_of_comments(texts, allow=allow)
    masked = {t: _apply_masks(t, found) for t, found in spans.items()}
    base = pd.DataFrame({
        "fiscal_year": _column(tagged, "fiscal_year"),
        "group": _column(tagged, "group"),
        "question": _column(tagged, "question"),
        "text": [masked[t] for t in texts],
        "source": [quote_source(f, s, c) for f, s, c in zip(
            _column(tagged, "file"), _column(tagged, "sheet"), _column(tagged, "cell"))],
        "_themes": tagged["themes"].map(_tag_tuple),
        "_words": _column(tagged, "matched_words"),
        "_file": _column(tagged, "file").astype("string").fillna(""),
        "_sheet": _column(tagged, "sheet").astype("string").fillna(""),
        "_row": pd.to_numeric(_column(tagged, "row"), errors="coerce").fillna(-1),
        "_order": range(len(tagged)),
    })
    length = base["text"].str.len()
    middle = (min_chars + max_chars) / 2
    base["_out_of_range"] = ~length.between(min_chars, max_chars)
    base["_others"] = base["_themes"].map(len) - 1
    base["_distance"] = (length - middle).abs()
    base["_year"] = -pd.to_numeric(base["fiscal_year"], errors="coerce").fillna(-1)
    base["_group_key"] = base["group"].astype("string").fillna("")
    keys = ["_out_of_range", "_others", "_distance", "_year", "_file", "_sheet", "_row", "_order"]

    pieces: list[pd.DataFrame] = []
    for theme in order:
        candidates = base[base["_themes"].map(lambda tags, t=theme: t in tags)]
        if candidates.empty:
            continue
        candidates = candidates.sort_values(keys, kind="stable").drop_duplicates("text")
        readable = candidates[~candidates["_out_of_range"]]
        chosen = _interleave_groups(readable, per_theme)
        if len(chosen) < per_theme:  # too few of readable length: fill up with the rest
            rest = _interleave_groups(candidates[candidates["_out_of_range"]], per_theme - len(chosen))
            chosen = rest if chosen.empty else pd.concat([chosen, rest]) if not rest.empty else chosen
        chosen = chosen.copy()
        chosen["theme"] = theme
        chosen["rank"] = range(1, len(chosen) + 1)
        pieces.append(chosen)
    if not pieces:
        return _empty_quotes(order)
    out = pd.concat(pieces, ignore_index=True)
    if theme_rules is not None and "matched_words" not in tagged.columns:
        # Explaining costs a second match per tag: only the few quoted comments need it.
        rows = sorted(set(out["_order"]))
        found = with_matched_words(tagged.iloc[rows], rules=theme_rules)["matched_words"]
        out["_words"] = out["_order"].map(dict(zip(rows, found)))
    # Why the comment illustrates the theme: the words that fired.
    out["matched_words"] = [words.get(theme, "") if isinstance(words, dict) else ""
                            for words, theme in zip(out["_words"], out["theme"])]
    out = out[list(QUOTE_COLUMNS)]
    out["theme"] = pd.Categorical(out["theme"], categories=order, ordered=True)
    out["rank"] = out["rank"].astype("int64")
    return out.reset_index(drop=True)
