"""Japanese text pipeline built on janome: normalise, tokenise, filter, count.

The pipeline is a chain of small steps, each usable alone:

1. ``normalize``          NFKC, for matching only (stored text keeps its characters)
2. ``split_for_tokenizer`` cut long texts at sentence ends so janome never cuts a word
3. ``tokenize``           janome ``Analyzer`` with the domain user dictionary
4. token filters          janome ``TokenFilter`` subclasses applied to ``Token`` lists:
                          part of speech, base forms, compound nouns, stopwords

:func:`_raw_tokens` is the one place janome reads a text. The on-disk cache and batch
tokenisation (``tokenize_many``, ``map_tokenized``) are in :mod:`kyodo_analysis.text.cache`.
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from janome.analyzer import Analyzer
from janome.charfilter import CharFilter, UnicodeNormalizeCharFilter
from janome.dic import RAMDictionary, UserDictionary
from janome.fst import Matcher
from janome.lattice import NodeType
from janome.sysdic import connections
from janome.tokenfilter import CompoundNounFilter, POSKeepFilter, POSStopFilter, TokenFilter
from janome.tokenizer import Tokenizer
from janome.version import JANOME_VERSION

# Bump when the way tokens are produced or stored changes, so old cache entries are ignored.
PIPELINE_VERSION = "4"
# janome cuts its lattice at 1,024 characters wherever it is; cutting earlier at a
# sentence end (or a comma) keeps words whole.
MAX_PIECE = 400
# In nearly every comment of a 協働 workshop, so it would swamp every word chart.
DEFAULT_EXCLUDE = ("協働",)

# A raw token as stored in the cache: (surface, part_of_speech, base_form).
RawToken = tuple[str, str, str]
# A word janome did not find in its dictionaries carries this as a fifth part-of-speech
# field, so the flag survives the cache's plain lists; the name masker distrusts such readings.
UNKNOWN_POS = "未知語"

_SENTENCE_END = re.compile(r"(?<=[。．！？!?\n])")
_SOFT_BREAK = re.compile(r"(?<=[、，,・ 　])")
_WHITESPACE_POS = "記号,空白"
# A line break inside a cell (Alt+Enter) ends a sentence as a full stop does, so it is
# kept as one for same-sentence rules ([b]) and phrases.
_LINE_BREAK_POS = "記号,句点,*,*"
# Verbs made of tokens janome splits only in some inflections; named like janome's 名詞,複合.
COMPOUND_VERB_POS = "動詞,複合,*,*"


# Context ids of 名詞,一般 in janome's IPADIC. janome's own simpledic loader gives user
# words id 0 (the sentence-boundary context), which garbles the words around them
# (e.g. 「見える化と」 made と a filler); real noun ids keep neighbours intact.
_NOUN_CONTEXT_ID = 1285
_USER_WORD_COST = -100000


class DomainUserDictionary(UserDictionary):
    """janome user dictionary in the 3-column simpledic CSV, entered as common nouns."""

    def __init__(self, path: str) -> None:
        # janome's own __init__ calls UserDictionary.build_dic by name, which would
        # bypass the entry conversion below.
        fst_data, entries = type(self).build_dic(path, "utf8", "simpledic", None)
        RAMDictionary.__init__(self, entries, connections)
        self.compiledFST = [fst_data]
        self.matcher = Matcher([fst_data])

    @classmethod
    def line_to_entry_simpledic(cls, line: str) -> tuple:
        """Turn ``surface,品詞,読み`` into a dictionary entry with noun context ids."""
        surface, pos_major, reading = (part.strip() for part in line.split(","))
        pos = "名詞,一般,*,*" if pos_major == "名詞" else ",".join([pos_major, "*", "*", "*"])
        return (surface, _NOUN_CONTEXT_ID, _NOUN_CONTEXT_ID, _USER_WORD_COST,
                pos, "*", "*", surface, reading, reading)


def default_user_dictionary() -> str:
    """Return the path of the bundled domain user dictionary (``data/userdict.csv``)."""
    return str(resources.files("kyodo_analysis") / "data" / "userdict.csv")


def get_tokenizer(user_dictionary: str | None = None) -> Tokenizer:
    """Return a janome Tokenizer loaded with the domain user dictionary (one per dictionary file)."""
    return _tokenizer_for(default_user_dictionary() if user_dictionary is None else str(user_dictionary))


@lru_cache(maxsize=None)
def _tokenizer_for(user_dictionary: str) -> Tokenizer:
    # Keyed by the file itself: get_tokenizer() and get_tokenizer(None) are one tokenizer,
    # not two copies of the dictionary (~15 MiB each, copied again into every forked worker).
    tokenizer = Tokenizer()
    tokenizer.user_dic = DomainUserDictionary(user_dictionary)
    return tokenizer


# janome reads ASCII brackets and colons as unknown nouns and then mis-tags the word inside
# (私(岡本) → 岡本/組織). NFKC makes full-width ones ASCII, so janome is shown their
# full-width twins, one character for one; tokens keep the NFKC characters.
_TOKENIZER_PUNCT = str.maketrans("()[]{}:;!?", "（）［］｛｝：；！？")


class FullWidthPunctuationCharFilter(CharFilter):
    """Show janome full-width brackets, colons and marks (one character for one)."""

    def apply(self, text: str) -> str:
        """Return ``text`` with ASCII brackets and punctuation made full-width."""
        return text.translate(_TOKENIZER_PUNCT)


@lru_cache(maxsize=None)
def get_analyzer(user_dictionary: str | None = None) -> Analyzer:
    """Return the janome Analyzer used everywhere: NFKC, full-width punctuation, the domain tokenizer."""
    return Analyzer(
        char_filters=[UnicodeNormalizeCharFilter("NFKC"), FullWidthPunctuationCharFilter()],
        tokenizer=get_tokenizer(user_dictionary),
    )


def normalize(text: str) -> str:
    """Return ``text`` in NFKC form (full-width ASCII → half-width, half-width kana → full)."""
    return unicodedata.normalize("NFKC", text)


def split_for_tokenizer(text: str, limit: int = MAX_PIECE) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, preferring sentence ends."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        pieces.extend(_split_long_sentence(sentence, limit))
    return [p for p in pieces if p]


def _split_long_sentence(sentence: str, limit: int) -> Iterator[str]:
    """Cut one over-long sentence at commas or spaces, else at ``limit`` characters."""
    if len(sentence) <= limit:
        yield sentence
        return
    current = ""
    for part in _SOFT_BREAK.split(sentence):
        while len(part) > limit:
            if current:
                yield current
                current = ""
            yield part[:limit]
            part = part[limit:]
        if len(current) + len(part) > limit:
            yield current
            current = ""
        current += part
    if current:
        yield current


def _raw_tokens(text: str, analyzer: Analyzer) -> tuple[RawToken, ...]:
    """Tokenise one text without cache: the single place janome reads a text."""
    out: list[RawToken] = []
    for piece in split_for_tokenizer(text):
        shown = normalize(piece)  # what the tokens spell: the analyzer's text before the punctuation filter
        cursor = 0
        tokens: list[RawToken] = []
        append = tokens.append
        for token in analyzer.analyze(piece):
            node = token.node
            # Reading node/extra directly skips janome's per-attribute __getattr__.
            extra = token.extra
            if extra:
                pos, base = extra[0], extra[3]
            else:
                pos, base = node.part_of_speech, node.base_form
            if node.node_type == NodeType.UNKNOWN:
                pos = f"{pos},{UNKNOWN_POS}"
            surface = node.surface
            end = cursor + len(surface)
            if shown[cursor:end] != surface:  # a full-width twin: keep the character of the text
                base = shown[cursor:end] if base in ("*", surface) else base
                surface = shown[cursor:end]
            cursor = end
            if pos.startswith("記号") and surface.splitlines() != [surface]:
                # "\r\n" comes as two tokens; one break is enough.
                if not tokens or tokens[-1][1] != _LINE_BREAK_POS:
                    append((surface, _LINE_BREAK_POS, surface))
                continue
            if pos.startswith(_WHITESPACE_POS):
                continue
            append((surface, pos, surface if base == "*" else base))
        out.extend(join_compound_verbs(tokens))
    return tuple(out)


_SPACES = re.compile(r"\s*")


def token_offsets(norm: str, raw: Sequence[RawToken]) -> list[tuple[int, int]]:
    """Return each token's ``(start, end)`` in ``norm``, the NFKC text it was read from.

    Whitespace between tokens is skipped; a token that is not where expected is looked
    for a little further on, else placed at the cursor, so the walk stays linear.
    """
    offsets, pos = [], 0
    for surface, *_ in raw:
        start = pos if norm.startswith(surface, pos) else _SPACES.match(norm, pos).end()
        if not norm.startswith(surface, start):
            found = norm.find(surface, pos, start + len(surface) + 64)
            start = found if found >= 0 else pos
        pos = start + len(surface)
        offsets.append((start, pos))
    return offsets


def tokenize(text: str, *, user_dictionary: str | None = None) -> list[Token]:
    """Tokenise one text (NFKC, user dictionary, long-text splitting) into ``Token`` objects."""
    return [Token(*raw) for raw in _raw_tokens(text, get_analyzer(user_dictionary))]


@dataclass(slots=True)
class Token:
    """A token that janome's token filters accept (they read and join these attributes)."""

    surface: str
    part_of_speech: str
    base_form: str
    reading: str = ""
    phonetic: str = ""

    @property
    def pos(self) -> str:
        """Return the major part of speech, e.g. 名詞."""
        return self.part_of_speech.split(",", 1)[0]


# --- token filters (janome TokenFilter steps) --------------------------------------

CONTENT_POS = ("名詞", "動詞", "形容詞")
# Subclasses that carry no topic: pronouns, numbers, suffixes, dependent words.
NON_CONTENT_POS = (
    "名詞,代名詞", "名詞,数", "名詞,接尾", "名詞,非自立", "名詞,特殊",
    "名詞,副詞可能", "動詞,非自立", "動詞,接尾", "形容詞,非自立", "形容詞,接尾",
)


class BaseFormFilter(TokenFilter):
    """Replace each token's surface with its base form (思った → 思う)."""

    def apply(self, tokens: Iterable[Token]) -> Iterator[Token]:
        """Yield copies of ``tokens`` whose surface is the base form."""
        for token in tokens:
            yield Token(token.base_form, token.part_of_speech, token.base_form)


class BaseFormStopFilter(TokenFilter):
    """Drop tokens whose NFKC base form is a stopword."""

    def __init__(self, stopwords: Iterable[str]) -> None:
        self.stopwords = frozenset(normalize(w) for w in stopwords)

    def apply(self, tokens: Iterable[Token]) -> Iterator[Token]:
        """Yield the tokens that are not stopwords."""
        for token in tokens:
            if token.base_form not in self.stopwords:
                yield token


class PlainVerbFilter(TokenFilter):
    """Give potential verbs the base form of the verb they come from (話し合える → 話し合う)."""

    def apply(self, tokens: Iterable[Token]) -> Iterator[Token]:
        """Yield ``tokens`` with potential verbs in their plain verb's base form."""
        for token in tokens:
            if token.part_of_speech.startswith(("動詞,自立", COMPOUND_VERB_POS)):
                plain = plain_verb(token.base_form)
                if plain != token.base_form:
                    token = Token(token.surface, token.part_of_speech, plain)
            yield token


class SymbolNumberFilter(TokenFilter):
    """Turn tokens that are no words into breaks: symbols, numbers, pieces holding digits.

    janome tags ASCII symbols such as ``-``, ``:`` and ``@`` as nouns; as breaks they are
    dropped by POSKeepFilter and never join a compound noun.
    """

    def apply(self, tokens: Iterable[Token]) -> Iterator[Token]:
        """Yield ``tokens`` with every token that holds no letter, or a digit, made a break."""
        for token in tokens:
            if _no_word(token.base_form):
                token = Token(token.surface, ExcludeFilter.BREAK_POS, token.base_form)
            yield token


@lru_cache(maxsize=65536)
def _no_word(word: str) -> bool:
    """Whether ``word`` holds no letter, holds a digit, or is one ASCII character (decided once per word)."""
    return (not any(c.isalpha() for c in word) or any(c.isdigit() for c in word)
            or (len(word) == 1 and word.isascii()))


class ExcludeFilter(TokenFilter):
    """Put a break in place of each excluded word, so it is dropped and never joins a compound."""

    # Not a noun, so CompoundNounFilter does not join across it; POSKeepFilter drops it.
    BREAK_POS = "記号,一般,*,*"

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(normalize(w) for w in words)

    def apply(self, tokens: Iterable[Token]) -> Iterator[Token]:
        """Yield ``tokens`` with excluded words turned into breaks."""
        for token in tokens:
            if token.base_form in self.words:
                token = Token(token.surface, self.BREAK_POS, token.base_form)
            yield token


def content_words(
    tokens: Iterable[Token],
    *,
    stopwords: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    compound: bool = False,
) -> list[Token]:
    """Return the nouns, verbs and adjectives of ``tokens`` in base form, minus stopwords.

    Symbols, numbers and tokens holding a digit are never words here.

    Potential verbs count as their verb (話し合える as 話し合う). Words in ``exclude`` are
    removed before compound nouns are joined: with ``compound=True`` 協働事業 counts as 事業 and
    市民協働 as 市民, so an excluded word never survives inside a compound, and the words
    on either side of it are not joined into one.
    """
    return content_word_filter(stopwords=stopwords, exclude=exclude, compound=compound)(tokens)


class ContentWordFilter:
    """:func:`content_words` with its janome filters built once, for many comments.

    Without compound nouns every step keeps, drops or rewrites a token on its own, so
    the chain runs once per distinct token of the corpus and its answer is reused
    (a 10,000-respondent survey has ~550,000 tokens but ~13,000 distinct ones). With
    ``compound=True`` neighbours join, and the chain runs over each comment.
    """

    def __init__(self, steps: Sequence[TokenFilter], *, per_token: bool) -> None:
        self.steps = list(steps)
        self.per_token = per_token
        self._decided: dict[RawToken, Token | None] = {}

    def _chain(self, tokens: Iterable[Token]) -> list[Token]:
        # CompoundNounFilter mutates the tokens it joins, so it gets copies.
        stream: Iterable[Token] = (Token(t.surface, t.part_of_speech, t.base_form) for t in tokens)
        for step in self.steps:
            stream = step(stream)
        return list(stream)

    def __call__(self, tokens: Iterable[Token]) -> list[Token]:
        """Return the content words of ``tokens`` (``Token`` objects)."""
        if not self.per_token:
            return self._chain(tokens)
        return self.raw((t.surface, t.part_of_speech, t.base_form) for t in tokens)

    def raw(self, tokens: Iterable[RawToken]) -> list[Token]:
        """Return the content words of raw ``(surface, part_of_speech, base_form)`` tokens."""
        if not self.per_token:
            return self._chain(Token(*t) for t in tokens)
        decided = self._decided
        out = []
        for token in tokens:
            try:
                word = decided[token]
            except KeyError:
                kept = self._chain([Token(*token)])
                word = decided[token] = kept[0] if kept else None
            if word is not None:
                out.append(word)
        return out


def content_word_filter(
    *,
    stopwords: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    compound: bool = False,
) -> ContentWordFilter:
    """Return :func:`content_words` with its filters built once, for many comments."""
    if stopwords is None:
        stopwords = load_stopwords()
    exclude = list(exclude)
    steps: list[TokenFilter] = [PlainVerbFilter(), ExcludeFilter(exclude), SymbolNumberFilter()]
    if compound:
        # Only plain nouns are joined; joining numbers or suffixes would make rare junk words.
        steps.append(POSStopFilter(list(NON_CONTENT_POS)))
        steps.append(CompoundNounFilter())
    steps += [
        POSKeepFilter(list(CONTENT_POS)),
        POSStopFilter(list(NON_CONTENT_POS)),
        BaseFormFilter(),
        BaseFormStopFilter([*stopwords, *exclude]),
    ]
    return ContentWordFilter(steps, per_token=not compound)


def _word_list(text: str) -> frozenset[str]:
    """Words of a one-word-a-line list, ``#`` starting a comment."""
    words = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(normalize(w) for w in words if w)


def _package_text(name: str) -> str:
    return (resources.files("kyodo_analysis") / "data" / name).read_text("utf-8")


@lru_cache(maxsize=None)
def _stopwords_cached(path: str | None) -> frozenset[str]:
    return _word_list(_package_text("stopwords.txt") if path is None else Path(path).read_text("utf-8"))


@lru_cache(maxsize=None)
def load_own_verbs() -> frozenset[str]:
    """Return the verbs that look like a potential form but are verbs of their own (``own_verbs.txt``)."""
    return _word_list(_package_text("own_verbs.txt"))


def load_stopwords(path: str | os.PathLike[str] | None = None) -> frozenset[str]:
    """Return the stopword list (package data ``stopwords.txt`` unless ``path`` is given)."""
    return _stopwords_cached(None if path is None else str(path))


# --- fingerprint of the analyzer (the token cache's key) ----------------------------


@lru_cache(maxsize=None)
def analyzer_fingerprint(user_dictionary: str | None = None) -> str:
    """Return a short id of everything that changes tokens: janome, dictionary, pipeline."""
    udic = Path(user_dictionary or default_user_dictionary()).read_bytes()
    h = hashlib.sha256()
    for part in (JANOME_VERSION, PIPELINE_VERSION, str(MAX_PIECE), "NFKC"):
        h.update(part.encode() + b"\0")
    h.update(udic)
    h.update(_package_text("own_verbs.txt").encode())  # it changes which verb a token is read as
    return h.hexdigest()[:16]


# --- verbs: potential forms and compounds ----------------------------------------------

# Potential verbs (話せる, 言える) have their own base form in IPADIC; swapping the e-row
# ending back gives the plain verb a rule is written with.
_POTENTIAL_ENDINGS = {"せる": "す", "える": "う", "ける": "く", "める": "む", "れる": "る",
                      "てる": "つ", "べる": "ぶ", "げる": "ぐ", "ねる": "ぬ"}
_MUTUAL_SUFFIXES = ("し合う", "しあう")
# 合う after a verb's 連用形 ("each other"); 合える is only ever its potential.
_MUTUAL_VERBS = {"合う": "合う", "合える": "合う", "あう": "あう", "あえる": "あう"}

# IPADIC lists real potential verbs (言える, 話し合える) as plain ichidan verbs, exactly like
# the verbs of their own that share their form (進める is not 進む made potential, nor
# 分かれる 分かる), and nothing in janome's dictionary tells the two apart. The verbs of
# their own are listed in data/own_verbs.txt and matched as word endings, so compounds
# follow (受け付ける, 取り入れる). A verb missing there is merged with the wrong verb; one
# listed needlessly only keeps its own form.


@lru_cache(maxsize=8192)
def _is_godan_verb(word: str) -> bool:
    """Return whether janome's dictionary has ``word`` as one godan verb in dictionary form."""
    tokens = list(get_tokenizer().tokenize(word))
    if len(tokens) != 1:
        return False
    token = tokens[0]
    return (token.part_of_speech.startswith("動詞") and token.infl_type.startswith("五段")
            and token.base_form == word)


@lru_cache(maxsize=65536)
def plain_verb(base: str) -> str:
    """Return the verb a potential verb is formed from (言える → 言う), else ``base`` itself."""
    for potential, plain in _MUTUAL_VERBS.items():
        if base.endswith(potential) and len(base) > len(potential):
            return base[: -len(potential)] + plain
    if len(base) < 3 or base[-2:] not in _POTENTIAL_ENDINGS:
        return base
    own = load_own_verbs()
    if any(base[i:] in own for i in range(len(base) - 2)):
        return base
    plain = base[:-2] + _POTENTIAL_ENDINGS[base[-2:]]
    return plain if _is_godan_verb(plain) else base


def join_compound_verbs(tokens: Sequence[RawToken]) -> list[RawToken]:
    """Join compound verbs janome splits in some inflections only into one token.

    janome reads 信じ合える as one word but 信じ|合う as two, 言い合う as one but 言い|合える
    as two, and 目指せる as 目|指せる. Joined, each is one ``COMPOUND_VERB_POS`` token whose
    base form leads to the dictionary form (信じ合う, 言い合う, 目指す) as the one-word
    readings do, so rules and counts see the same word however it is inflected.
    """
    out: list[RawToken] = []
    for token in tokens:
        surface, pos, base = token
        if out and pos.startswith("動詞"):
            head = out[-1]
            if base in _MUTUAL_VERBS and head[1].startswith("動詞"):
                stem = out.pop()[0]
                # A サ変 noun belongs to the verb: 協力|し|合える is one word like 理解し合う.
                if head[2] == "する" and out and out[-1][1].startswith("名詞,サ変接続"):
                    stem = out.pop()[0] + stem
                out.append((stem + surface, COMPOUND_VERB_POS, stem + base))
                continue
            if head[1].startswith("名詞"):
                plain = plain_verb(base)
                if plain != base and _is_godan_verb(head[0] + plain):
                    out[-1] = (head[0] + surface, COMPOUND_VERB_POS, head[0] + base)
                    continue
        out.append(token)
    return out


@lru_cache(maxsize=65536)
def forms(raw: RawToken) -> tuple[str, ...]:
    """Return the lower-cased forms a rule word may match: base form, surface, stems."""
    surface, pos, base = raw
    out = [base.lower()]
    if surface.lower() != out[0]:
        out.append(surface.lower())
    if pos.startswith(("動詞,自立", COMPOUND_VERB_POS)):
        plain = plain_verb(out[0])
        out.append(plain)
        # IPADIC has compound verbs such as 理解し合う/協力し合う; the stem is the topic word.
        for suffix in _MUTUAL_SUFFIXES:
            if plain.endswith(suffix) and len(plain) > len(suffix):
                out.append(plain[: -len(suffix)])
    return tuple(dict.fromkeys(out))

