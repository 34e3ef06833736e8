"""Theme tagging of free-text comments, and the analyses built on the tags.

Rules are boolean expressions over *tokens* (janome base forms), never raw substrings,
so 「場」 matches 「話し合いの場」 but not 「立場」 or 「場合」. One expression language
serves both the bundled TOML rule file and KH Coder coding-rule files (``kh_coder``):

    word            a word; written in any inflection, it is compared by base form
    A+B             words in immediate succession (a phrase)
    A and B / A & B, A or B / A | B, not A / !A, ( ... )
    near(A-B)[N]    A and B within N tokens of each other, either order (default 10)
    seq(A-B)[N]     A, then B within N tokens (default 10)
    [bN] / [b]      ... and in the same sentence; ``(A|B)`` inside near/seq lists alternatives
    <>name, <*name> another theme defined earlier in the same file (``<*name>`` is KH Coder's form)
"""
from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from .text import DEFAULT_EXCLUDE, RawToken, forms, map_tokenized, normalize, open_cache, tokenize, tokenize_many
# Word counts have one home, shared with the report (personal data and symbols left out).
from .words import word_frequencies  # noqa: F401

DEFAULT_DISTANCE = 10
# Tokens that end a sentence, for the [b] (same sentence) option.
_SENTENCE_END_POS = ("記号,句点",)
_SENTENCE_END_SURFACES = frozenset("。．.！!？?")


class RuleError(ValueError):
    """A theme rule that cannot be read; the message (Japanese) names the place."""


# --- documents ------------------------------------------------------------------------


class Doc:
    """A tokenised comment prepared for matching: forms per token, index, sentence ids."""

    __slots__ = ("raw", "forms", "formset", "parts", "_index", "_sentence")

    def __init__(self, raw: Sequence[RawToken]) -> None:
        self.raw = raw
        self.forms: list[tuple[str, ...]] = [forms(token) for token in raw]
        self.formset: set[str] = set().union(*self.forms)
        # Noun parts of compound tokens (see compound_parts): part → token positions.
        self.parts: dict[str, list[int]] = {}
        for i, token in enumerate(raw):
            for part in compound_parts(token):
                self.parts.setdefault(part, []).append(i)
        self._index: dict[str, list[int]] | None = None
        self._sentence: list[int] | None = None

    @property
    def index(self) -> dict[str, list[int]]:
        """Return form → token positions (built on first use; most documents never need it)."""
        if self._index is None:
            index: dict[str, list[int]] = {}
            for i, fs in enumerate(self.forms):
                for f in fs:
                    index.setdefault(f, []).append(i)
            self._index = index
        return self._index

    @property
    def sentence(self) -> list[int]:
        """Return the sentence number of each token."""
        if self._sentence is None:
            ids, current = [], 0
            for surface, pos, _ in self.raw:
                ids.append(current)
                if surface in _SENTENCE_END_SURFACES or pos.startswith(_SENTENCE_END_POS):
                    current += 1
            self._sentence = ids
        return self._sentence


Span = tuple[int, int]  # token positions [start, end)
Hit = tuple["Word", Span]  # a rule word and where it fired

# Compound matching. janome keeps some compounds as one noun token: IPADIC has 財政難 and
# 上下水道, the user dictionary adds 相互理解 and 市民活動. A rule noun inside such a token
# matches it only where that is safe:
# - user-dictionary words (chosen for this domain) match at their start or end,
#   with at least two characters on each side (相互理解 holds 理解, 市民活動 holds 市民);
# - other 名詞,一般 tokens match at their start only, when one character is left
#   (財政難 holds 財政), because a longer rest is usually a word of its own that
#   changes the meaning (上下水道 is not about 上下 relations).
MIN_PART = 2


@lru_cache(maxsize=1)
def _user_words() -> frozenset[str]:
    """Return the user dictionary's words as janome loaded them (not re-reading the file)."""
    from .text import get_tokenizer

    entries = getattr(get_tokenizer().user_dic, "entries", {})
    return frozenset(normalize(str(e[0])).lower() for e in entries.values())


@lru_cache(maxsize=65536)
def compound_parts(raw: RawToken) -> tuple[str, ...]:
    """Return the rule words that may match inside one compound noun token (see above)."""
    surface, pos, _ = raw
    word = surface.lower()
    if not pos.startswith("名詞") or len(word) <= MIN_PART:
        return ()
    if word in _user_words():
        heads = (word[:k] for k in range(MIN_PART, len(word) - MIN_PART + 1))
        tails = (word[k:] for k in range(MIN_PART, len(word) - MIN_PART + 1))
        return tuple(dict.fromkeys((*heads, *tails)))
    if pos.startswith("名詞,一般"):
        return (word[:-1],)
    return ()


# --- expression tree ------------------------------------------------------------------


class Node:
    """A rule expression; ``matches`` decides it for one document."""

    def matches(self, doc: Doc) -> bool:  # pragma: no cover - abstract
        """Return whether the expression holds for ``doc``."""
        raise NotImplementedError

    def compile(self) -> Callable[[Doc], bool]:
        """Return a fast predicate equivalent to ``matches``."""
        return self.matches

    def words(self) -> Iterable["Word"]:
        """Yield the word leaves of the expression."""
        return ()

    def hits(self, doc: Doc) -> list[Hit]:
        """Return the words (and token spans) that make the expression hold; [] if it fails."""
        return []


# KH Coder's part-of-speech names, as janome (IPADIC) part-of-speech prefixes.
POS_NAMES = {
    "サ変名詞": "名詞,サ変接続", "形容動詞": "名詞,形容動詞語幹", "固有名詞": "名詞,固有名詞",
    "人名": "名詞,固有名詞,人名", "地名": "名詞,固有名詞,地域", "組織名": "名詞,固有名詞,組織",
    "副詞可能": "名詞,副詞可能", "ナイ形容": "名詞,ナイ形容詞語幹",
}


def pos_prefix(name: str) -> str:
    """Return the janome part-of-speech prefix a ``-->品詞`` name stands for."""
    name = name.strip().replace("-", ",")
    return POS_NAMES.get(name, name)


@dataclass(frozen=True)
class Word(Node):
    """One word or phrase: a run of base forms that must appear on consecutive tokens.

    A multi-token word also matches a run of whole tokens whose surfaces spell it,
    because janome may cut a phrase differently alone than inside a sentence
    (「何でも」 is 何/で/も alone but 何/でも in 「何でも相談」).
    """

    text: str
    parts: tuple[str, ...]
    spelling: str = ""
    pos: str = ""  # janome part-of-speech prefix (``語-->品詞``); "" for any
    compound: bool = False  # a noun that also matches inside compound tokens
    literal: str = ""  # the word as written, matched too when a part of speech is given

    @cached_property
    def firsts(self) -> frozenset[str]:
        """Return the forms one of which must be in a document for the word to occur."""
        if self.literal:
            return frozenset((self.parts[0], self.literal))
        if len(self.parts) == 1 or not self.spelling:
            return frozenset(self.parts[:1])
        prefixes = (self.spelling[:k] for k in range(1, len(self.spelling) + 1))
        return frozenset((self.parts[0], *prefixes))

    @property
    def plain(self) -> bool:
        """Whether a set test on token forms decides the word (one token, no extras)."""
        return len(self.parts) == 1 and not self.pos and not self.compound

    def _present(self, doc: Doc) -> bool:
        if not self.firsts.isdisjoint(doc.formset):
            return True
        return self.compound and self.parts[0] in doc.parts

    def spans(self, doc: Doc) -> list[Span]:
        """Return every place the word occurs in ``doc``."""
        n = len(self.parts)
        if self.pos:
            # The constraint applies to the head token (the last one of a phrase).
            found = set()
            for first in self.firsts:
                for i in doc.index.get(first, ()):
                    if i + n <= len(doc.raw) and doc.raw[i + n - 1][1].startswith(self.pos) and all(
                            self.parts[k] in doc.forms[i + k] for k in range(1, n)):
                        found.add((i, i + n))
            return sorted(found)
        starts = doc.index.get(self.parts[0], ())
        if n == 1:
            if self.compound and self.parts[0] in doc.parts:
                return sorted({*((i, i + 1) for i in starts), *((i, i + 1) for i in doc.parts[self.parts[0]])})
            return [(i, i + 1) for i in starts]
        doc_forms = doc.forms
        limit = len(doc_forms) - n
        found = {
            (i, i + n) for i in starts
            if i <= limit and all(self.parts[k] in doc_forms[i + k] for k in range(1, n))
        }
        if self.spelling:
            found.update(self._spelled(doc))
        return sorted(found)

    def _spelled(self, doc: Doc) -> Iterable[Span]:
        target = self.spelling
        raw = doc.raw
        for k in range(1, len(target) + 1):
            for i in doc.index.get(target[:k], ()):
                acc, j = "", i
                while j < len(raw) and len(acc) < len(target):
                    acc += raw[j][0].lower()
                    j += 1
                if acc == target:
                    yield (i, j)

    def matches(self, doc: Doc) -> bool:
        """Return whether the word occurs in ``doc``."""
        if not self._present(doc):
            return False
        return (len(self.parts) == 1 and not self.pos) or bool(self.spans(doc))

    def compile(self) -> Callable[[Doc], bool]:
        """Return a set-membership test for one-token words."""
        first = self.parts[0]
        if self.plain:
            return lambda doc: first in doc.formset
        if self.single_compound:
            return lambda doc: first in doc.formset or first in doc.parts
        return self.matches

    @property
    def single_compound(self) -> bool:
        """Whether the word is one noun that set tests on forms and compound parts decide."""
        return len(self.parts) == 1 and self.compound and not self.pos

    def words(self) -> Iterable["Word"]:
        """Yield this word."""
        yield self

    def hits(self, doc: Doc) -> list[Hit]:
        """Return every occurrence of the word."""
        return [(self, span) for span in self.spans(doc)] if self._present(doc) else []


@dataclass(frozen=True)
class Alternatives:
    """Words any of which may fill one slot of near/seq."""

    options: tuple[Word, ...]

    def spans(self, doc: Doc) -> list[Span]:
        """Return the occurrences of any option, in text order."""
        if len(self.options) == 1:
            return self.options[0].spans(doc)
        return sorted(s for w in self.options for s in w.spans(doc))


@dataclass(frozen=True)
class Near(Node):
    """All slots occur within ``distance`` tokens of the first slot's occurrence."""

    slots: tuple[Alternatives, ...]
    distance: int = DEFAULT_DISTANCE
    same_sentence: bool = False
    ordered: bool = False  # True makes it KH Coder's seq()

    def compile(self) -> Callable[[Doc], bool]:
        """Return a predicate that rejects on missing words before locating spans."""
        needed = [frozenset().union(*(w.firsts for w in slot.options)) for slot in self.slots]
        inside = [frozenset(w.parts[0] for w in slot.options if w.compound) for slot in self.slots]
        plain = [n for n, parts in zip(needed, inside) if not parts]
        mixed = [(n, parts) for n, parts in zip(needed, inside) if parts]

        def near(doc: Doc) -> bool:
            found = doc.formset
            for n in plain:  # plain loops: this runs for every slot of every document
                if n.isdisjoint(found):
                    return False
            for n, parts in mixed:
                if n.isdisjoint(found) and parts.isdisjoint(doc.parts):
                    return False
            return self.matches(doc)

        return near

    def matches(self, doc: Doc) -> bool:
        """Return whether the slots occur close together (in order for seq)."""
        spans = [slot.spans(doc) for slot in self.slots]
        if not all(spans):
            return False
        return any(self._fits(doc, first, spans[1:]) for first in spans[0])

    def _fits(self, doc: Doc, prev: Span, rest: list[list[Span]]) -> bool:
        """Tell whether the remaining slots fit after ``prev`` (``hits`` finds which ones)."""
        if not rest:
            return True
        for cand in rest[0]:
            if self._close(doc, prev, cand) and self._fits(doc, cand if self.ordered else prev, rest[1:]):
                return True
        return False

    def _close(self, doc: Doc, prev: Span, cand: Span) -> bool:
        if self.ordered:
            if cand[0] < prev[1]:
                return False
            gap = cand[0] - (prev[1] - 1)
        else:
            gap = max(cand[0] - (prev[1] - 1), prev[0] - (cand[1] - 1), 0)
        if gap > self.distance:
            return False
        return not self.same_sentence or doc.sentence[cand[0]] == doc.sentence[prev[0]]

    def hits(self, doc: Doc) -> list[Hit]:
        """Return the first set of slot occurrences (in text order) that fits together."""
        spans = [[(w, s) for w in slot.options for s in w.spans(doc)] for slot in self.slots]
        if not all(spans):
            return []
        for group in spans:
            group.sort(key=lambda hit: hit[1])
        for first in spans[0]:
            chain = self._rest_fits(doc, first, spans[1:])
            if chain is not None:
                return [first, *chain]
        return []

    def _rest_fits(self, doc: Doc, prev_hit: Hit, rest: list[list[Hit]]) -> list[Hit] | None:
        if not rest:
            return []
        for hit in rest[0]:
            if not self._close(doc, prev_hit[1], hit[1]):
                continue
            # seq chains from the previous slot; near measures every slot from the first.
            chain = self._rest_fits(doc, hit if self.ordered else prev_hit, rest[1:])
            if chain is not None:
                return [hit, *chain]
        return None

    def words(self) -> Iterable[Word]:
        """Yield the words of every slot."""
        for slot in self.slots:
            yield from slot.options


@dataclass(frozen=True)
class And(Node):
    """Every child holds."""

    children: tuple[Node, ...]

    def matches(self, doc: Doc) -> bool:
        """Return whether all children hold."""
        return all(c.matches(doc) for c in self.children)

    def compile(self) -> Callable[[Doc], bool]:
        """Return the conjunction of the compiled children."""
        parts = [c.compile() for c in self.children]

        def all_of(doc: Doc) -> bool:
            for p in parts:
                if not p(doc):
                    return False
            return True

        return all_of

    def words(self) -> Iterable[Word]:
        """Yield the words of all children."""
        for c in self.children:
            yield from c.words()

    def hits(self, doc: Doc) -> list[Hit]:
        """Return the children's hits when every child holds (a ``not`` child adds none)."""
        if not self.matches(doc):
            return []
        return [hit for c in self.children for hit in c.hits(doc)]


@dataclass(frozen=True)
class Or(Node):
    """At least one child holds."""

    children: tuple[Node, ...]

    def matches(self, doc: Doc) -> bool:
        """Return whether any child holds."""
        return any(c.matches(doc) for c in self.children)

    def compile(self) -> Callable[[Doc], bool]:
        """Return one set test for all one-token words, then the other children."""
        words = [c for c in self.children if isinstance(c, Word)]
        simple = frozenset(w.parts[0] for w in words if w.plain)
        inside = frozenset(w.parts[0] for w in words if w.single_compound)
        either = simple | inside
        others = [c.compile() for c in self.children
                  if not (isinstance(c, Word) and (c.plain or c.single_compound))]

        def any_of(doc: Doc) -> bool:
            if not either.isdisjoint(doc.formset):
                return True
            if inside and doc.parts and not inside.isdisjoint(doc.parts):
                return True
            for p in others:
                if p(doc):
                    return True
            return False

        return any_of

    def words(self) -> Iterable[Word]:
        """Yield the words of all children."""
        for c in self.children:
            yield from c.words()

    def hits(self, doc: Doc) -> list[Hit]:
        """Return the hits of every child that holds."""
        return [hit for c in self.children if c.matches(doc) for hit in c.hits(doc)]


@dataclass(frozen=True)
class Not(Node):
    """The child does not hold."""

    child: Node

    def matches(self, doc: Doc) -> bool:
        """Return whether the child fails."""
        return not self.child.matches(doc)

    def compile(self) -> Callable[[Doc], bool]:
        """Return the negated compiled child."""
        inner = self.child.compile()
        return lambda doc: not inner(doc)

    def words(self) -> Iterable[Word]:
        """Yield the child's words."""
        return self.child.words()


@dataclass(frozen=True)
class Never(Node):
    """An empty condition: matches nothing."""

    def matches(self, doc: Doc) -> bool:
        """Return False."""
        return False


# --- parsing --------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def word_parts(text: str) -> tuple[str, ...]:
    """Return the base forms a rule word stands for (``A+B`` joins phrases)."""
    parts: list[str] = []
    for piece in text.split("+"):
        piece = piece.strip()
        if not piece:
            raise RuleError(f"「{text}」の「+」の前後に語がありません")
        # The comments' own tokenizer, so compound verbs are joined the same way on both sides.
        parts.extend(token.base_form.lower() for token in tokenize(piece))
    if not parts:
        raise RuleError(f"「{text}」から語を取り出せません")
    return tuple(parts)


@lru_cache(maxsize=4096)
def _is_noun(text: str) -> bool:
    """Whether a rule word is one noun token (so it may match inside compounds)."""
    tokens = tokenize(text)
    return len(tokens) == 1 and tokens[0].part_of_speech.startswith("名詞")


POS_MARK = "-->"


def make_word(text: str) -> Word:
    """Compile one rule word, ``A+B`` phrase or ``語-->品詞`` (a word of one part of speech)."""
    word, _, pos_name = normalize(text).partition(POS_MARK)
    parts = word_parts(word)
    spelling = word.replace("+", "").replace(" ", "").lower() if len(parts) > 1 else ""
    if pos_name:
        pos = pos_prefix(pos_name)
        # The word as written is matched too: 思い-->名詞 is the noun 思い, which janome
        # reads as the verb 思う when it stands alone.
        literal = word.replace("+", "").strip().lower() if len(parts) == 1 else ""
        return Word(text, parts, spelling, pos=pos, literal=literal)
    compound = len(parts) == 1 and len(parts[0]) >= MIN_PART and _is_noun(word)
    return Word(text, parts, spelling, compound=compound)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<near>(?:near|seq)\((?P<slots>[^()]*(?:\([^()]*\)[^()]*)*)\)(?:\[(?P<opt>[^\]]*)\])?)
      | (?P<ref><\*[^\s()&|!<>]+>|<>[^\s()&|!]+)
      | (?P<op>\(|\)|&|\||!)
      | (?P<word>[^\s()&|!]+)
    )""",
    re.VERBOSE | re.IGNORECASE,
)

# KH Coder conditions this reader does not evaluate, with the name used in messages.
UNSUPPORTED = (
    (re.compile(r"^<>.*-->"), "外部変数の指定（<>…-->…）"),
    (re.compile(r"^<>(見出し|heading)", re.IGNORECASE), "見出しの指定"),
    (re.compile(r"->|=>"), "活用形の指定（-> / =>）"),
    (re.compile(r"^'|'$"), "文字列の指定（'…'）"),
    (re.compile(r"^(lw|lc|no)(\s*[<>=]|$)", re.IGNORECASE), "文書の長さ・番号の指定"),
    (re.compile(r"^(<=|>=|==|=|<|>)(\d|$)"), "出現回数・比較の指定"),
)
# Rule syntax and quotes: inside a word they mean a typo, and the word would never match.
_NOT_IN_WORDS = re.compile(r"""[<>*"'\[\]()「」『』“”‘’]""")


def _check_supported(word: str, where: str) -> None:
    # KH Coder quotes a heading or variable value that has spaces: "<>見出し1-->…".
    inner = word[1:-1] if len(word) > 1 and word[0] == word[-1] == '"' else word
    if not inner.startswith("<"):
        inner, mark, pos_name = inner.partition(POS_MARK)
        if mark and not _POS_NAME.fullmatch(pos_name):
            raise RuleError(f"{where}: 「{word}」の品詞の指定を読めません（「語-->名詞」の形で書きます）")
    for pattern, label in UNSUPPORTED:
        if pattern.search(inner):
            raise RuleError(f"{where}: {label}には対応していません（「{word}」）")


# A part-of-speech name after -->: 名詞, サ変名詞, or a janome path such as 名詞-サ変接続.
_POS_NAME = re.compile(r"[^\s\-<>*()]+(?:[-,][^\s\-<>*(),]+)*")


def _check_word(word: str, where: str) -> None:
    """Stop on a word that is KH Coder syntax this reader lacks, or that holds rule syntax."""
    _check_supported(word, where)
    bad = _NOT_IN_WORDS.search(word.partition(POS_MARK)[0] if not word.startswith("<") else word)
    if bad:
        hint = "。他のコードを使うときは <*コード名> と書きます" if word.startswith("<") else ""
        raise RuleError(f"{where}: 「{word}」は語として読めません"
                        f"（「{bad.group()}」は語に使えない文字です{hint}）")


class _Parser:
    """Recursive-descent parser: or < and < not < atom.

    Words, references and near/seq terms are checked and built while lexing, so a
    line of a multi-line KH Coder condition can be checked on its own (``check_words``).
    """

    def __init__(self, text: str, where: str, codes: dict[str, Node]) -> None:
        self.where = where
        self.codes = codes
        self.items = self._lex(normalize(text))
        self.i = 0

    def _lex(self, text: str) -> list[tuple[str, str, Node | None]]:
        items: list[tuple[str, str, Node | None]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise RuleError(f"{self.where}: 「{text[pos:]}」を読めません")
            pos = m.end()
            # lastgroup can name a group nested in near(...), so test the outer ones.
            kind = next(k for k in ("near", "ref", "op", "word") if m.group(k))
            value = m.group(kind).strip()
            node: Node | None = None
            if kind == "word":
                low = value.lower()
                if low in ("and", "or", "not"):
                    kind, value = "op", {"and": "&", "or": "|", "not": "!"}[low]
                elif low in ("near", "seq") and text.startswith("(", pos):
                    # The near/seq pattern allows one level of (A|B) only.
                    raise RuleError(f"{self.where}: 「{text[m.start(kind):]}」を読めません"
                                    f"（{low}() の閉じかっこがないか、{low}() の中に {low}() や"
                                    "かっこを入れ子にしています）")
                else:
                    _check_word(value, self.where)
            elif kind == "ref":
                _check_supported(value, self.where)
                node = self._reference(value)
            elif kind == "near":
                node = self._near(m)
            items.append((kind, value, node))
        return items

    def _reference(self, ref: str) -> Node:
        """Return the condition of the earlier code that ``<>name`` or ``<*name>`` names."""
        name = ref[2:-1] if ref.startswith("<*") else ref[2:]
        if name in self.codes:
            return self.codes[name]
        # Names in a TOML file are not normalised; the rule text is.
        for known, node in self.codes.items():
            if normalize(known) == name:
                return node
        raise RuleError(f"{self.where}: {ref} の「{name}」というコード（テーマ）は、これより前にありません")

    def peek(self) -> tuple[str, str] | None:
        if self.i < len(self.items):
            kind, value, _ = self.items[self.i]
            return kind, value
        return None

    def parse(self) -> Node:
        if not self.items:
            raise RuleError(f"{self.where}: 条件が空です")
        node = self.parse_or()
        if self.i != len(self.items):
            rest = self.items[self.i][1]
            raise RuleError(f"{self.where}: 「{rest}」の前に and / or がありません")
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek() == ("op", "|"):
            self.i += 1
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_not()]
        while self.peek() == ("op", "&"):
            self.i += 1
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_not(self) -> Node:
        if self.peek() == ("op", "!"):
            self.i += 1
            return Not(self.parse_not())
        return self.parse_atom()

    def parse_atom(self) -> Node:
        item = self.peek()
        if item is None:
            raise RuleError(f"{self.where}: 式が途中で終わっています")
        kind, value = item
        built = self.items[self.i][2]
        self.i += 1
        if kind == "op" and value == "(":
            node = self.parse_or()
            if self.peek() != ("op", ")"):
                raise RuleError(f"{self.where}: 「(」に対応する「)」がありません")
            self.i += 1
            return node
        if kind == "op":
            raise RuleError(f"{self.where}: 「{value}」の位置が正しくありません")
        if built is not None:
            return built
        return make_word(value)

    def _near(self, m: re.Match) -> Near:
        whole = m.group("near")
        ordered = whole[:3].lower() == "seq"
        slots = []
        for slot in _split_slots(m.group("slots")):
            slot = slot.strip()
            if slot.startswith("(") and slot.endswith(")"):
                slot = slot[1:-1]
            options = [w.strip() for w in slot.split("|") if w.strip()]
            if not options:
                raise RuleError(f"{self.where}: 「{whole}」に空の語があります")
            for w in options:
                if "(" in w or ")" in w:
                    raise RuleError(f"{self.where}: 「{whole}」は読めません（near()・seq() の中に "
                                    "near()・seq() やかっこは入れ子にできません。(A|B) の形だけ使えます）")
                if w.startswith("<"):
                    raise RuleError(f"{self.where}: 「{whole}」は読めません（near()・seq() の中では"
                                    f"コードを使えません: 「{w}」）")
                _check_word(w, self.where)
            slots.append(Alternatives(tuple(make_word(w) for w in options)))
        if len(slots) < 2:
            raise RuleError(f"{self.where}: 「{whole}」には「-」で区切った語が 2 つ以上必要です")
        distance, same_sentence = DEFAULT_DISTANCE, False
        opt = (m.group("opt") or "").strip().lower()
        if opt:
            om = re.fullmatch(r"([bd]?)(\d*)", opt)
            if not om or not (om.group(1) or om.group(2)):
                raise RuleError(f"{self.where}: 「{whole}」の [{opt}] は読めません（[10] や [b5] の形）")
            same_sentence = om.group(1) == "b"
            # [d] (same paragraph) holds trivially: one comment is one paragraph.
            if om.group(2):
                distance = int(om.group(2))
        return Near(tuple(slots), distance, same_sentence, ordered)


def _split_slots(text: str) -> list[str]:
    """Split near/seq contents at '-' outside parentheses (not at the dashes of ``-->``)."""
    text = text.replace(POS_MARK, "\0")
    out, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "-" and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [part.replace("\0", POS_MARK) for part in out]


def parse_expression(text: str, *, where: str = "条件", codes: dict[str, Node] | None = None) -> Node:
    """Parse one rule expression (shared syntax of the TOML file and KH Coder)."""
    return _Parser(text, where, codes or {}).parse()


def check_words(text: str, *, where: str = "条件", codes: dict[str, Node] | None = None) -> None:
    """Check the words, references and near/seq terms of a piece of an expression."""
    _Parser(text, where, codes or {})


# --- rule sets ------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One condition of a theme as written: ``any``/``all`` (or ``rule`` for KH Coder), its number and text."""

    key: str
    number: int
    text: str
    node: Node

    @property
    def label(self) -> str:
        """Return where the condition is, e.g. ``any[3]`` (1-based)."""
        return f"{self.key}[{self.number}]"


@dataclass(frozen=True)
class Theme:
    """A named theme, its compiled condition, and the conditions that can make it hold."""

    name: str
    condition: Node
    description: str = ""
    conditions: tuple[Condition, ...] = ()

    def explain(self, doc: Doc) -> list[tuple[Condition, list[Hit]]]:
        """Return each positive condition that holds for ``doc`` with the words that fired."""
        if not self.condition.matches(doc):
            return []
        if not self.conditions:
            return [(Condition("rule", 1, "", self.condition), self.condition.hits(doc))]
        return [(c, c.node.hits(doc)) for c in self.conditions if c.node.matches(doc)]


@dataclass(frozen=True)
class RuleSet:
    """Themes in their canonical order, with where they came from."""

    themes: tuple[Theme, ...]
    source: str = ""
    digest: str = field(default="", compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Return the theme names in order."""
        return tuple(t.name for t in self.themes)

    def __post_init__(self) -> None:
        compiled = tuple((t.name, t.condition.compile()) for t in self.themes)
        object.__setattr__(self, "_compiled", compiled)

    def __getstate__(self) -> dict:
        # Compiled predicates are closures; workers started by spawn rebuild them.
        return {"themes": self.themes, "source": self.source, "digest": self.digest}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    def tag(self, raw: Sequence[RawToken]) -> tuple[str, ...]:
        """Return the themes whose condition holds for one tokenised comment."""
        doc = Doc(raw)
        return tuple(name for name, holds in self._compiled if holds(doc))


def _combine(any_: list[Node], all_: list[Node], none: list[Node]) -> Node:
    parts: list[Node] = []
    if any_:
        parts.append(any_[0] if len(any_) == 1 else Or(tuple(any_)))
    parts.extend(all_)
    if not parts:
        return Never()
    parts.extend(Not(n) for n in none)
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def parse_toml_rules(text: str, source: str = "") -> RuleSet:
    """Parse the native TOML rule format (see docs/themes.md)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source or 'テーマ定義'}: TOML として読めません: {exc}") from exc
    entries = data.get("theme")
    if not isinstance(entries, list) or not entries:
        raise RuleError(f"{source or 'テーマ定義'}: [[theme]] がありません")
    themes: list[Theme] = []
    codes: dict[str, Node] = {}
    for number, entry in enumerate(entries, 1):
        name = str(entry.get("name", "")).strip()
        if not name:
            raise RuleError(f"{source}: {number} 番目の [[theme]] に name がありません")
        if name in codes:
            raise RuleError(f"{source}: テーマ「{name}」が 2 回定義されています")
        unknown = set(entry) - {"name", "description", "any", "all", "none"}
        if unknown:
            raise RuleError(f"{source}: テーマ「{name}」の {', '.join(sorted(unknown))} は使えない項目です")
        compiled = {}
        for key in ("any", "all", "none"):
            values = entry.get(key, [])
            if isinstance(values, str):
                values = [values]
            compiled[key] = [
                parse_expression(v, where=f"{source} テーマ「{name}」の {key}", codes=codes)
                for v in values
            ]
        condition = _combine(compiled["any"], compiled["all"], compiled["none"])
        codes[name] = condition
        written = {k: [entry[k]] if isinstance(entry.get(k), str) else entry.get(k, []) for k in ("any", "all")}
        conditions = tuple(Condition(key, number, str(text), node)
                           for key in ("any", "all")
                           for number, (text, node) in enumerate(zip(written[key], compiled[key]), 1))
        themes.append(Theme(name, condition, str(entry.get("description", "")), conditions))
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return RuleSet(tuple(themes), source, digest)


DEFAULT_RULES_NAME = "themes.toml"


@lru_cache(maxsize=16)
def _load_cached(path: str | None, mtime: float) -> RuleSet:
    if path is None:
        text = (resources.files("kyodo_analysis") / "data" / DEFAULT_RULES_NAME).read_text("utf-8")
        return parse_toml_rules(text, DEFAULT_RULES_NAME)
    p = Path(path)
    if p.suffix.lower() == ".toml":
        return parse_toml_rules(p.read_text("utf-8-sig"), p.name)
    from .kh_coder import load_kh_coder

    return load_kh_coder(p)


def load_rules(path: str | os.PathLike[str] | None = None) -> RuleSet:
    """Load theme rules: the bundled table, a TOML file, or a KH Coder rule file."""
    if path is None:
        return _load_cached(None, 0.0)
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError as exc:
        raise RuleError(f"テーマ定義ファイルを開けません: {p}") from exc
    return _load_cached(str(p.resolve()), mtime)


def default_theme_names() -> tuple[str, ...]:
    """Return the ten theme names of the bundled table, in order."""
    return load_rules().names


def _resolve(rules: RuleSet | str | os.PathLike[str] | None) -> RuleSet:
    return rules if isinstance(rules, RuleSet) else load_rules(rules)


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
    ruleset = _resolve(rules)
    unique = list(dict.fromkeys(texts))
    store = open_cache() if cache else None
    tags: dict[str, tuple[str, ...]] = {}
    try:
        producer = _producer_id(ruleset) if store is not None else ""
        keys = {t: store.key(t) for t in unique} if store is not None else {}
        if producer:
            stored = store.get_derived(producer, list(keys.values()))
            known = set(ruleset.names)
            for text, key in keys.items():
                if key in stored:
                    names = tuple(n for n in stored[key].split(_TAG_SEP) if n)
                    # Read back as data: a value naming no theme of these rules is rebuilt.
                    if set(names) <= known:
                        tags[text] = names
                    else:
                        store.rejected += 1
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


@lru_cache(maxsize=1)
def _engine_digest() -> str:
    """Return an id of the matching code, so a changed engine never reuses old tags."""
    h = hashlib.sha256()
    for module in ("themes.py", "text.py", "kh_coder.py"):
        h.update((resources.files("kyodo_analysis") / module).read_bytes())
    return h.hexdigest()[:16]


def _producer_id(ruleset: RuleSet) -> str:
    """Return the cache id of tags made by ``ruleset``; empty when it has no digest."""
    return f"themes:{ruleset.digest}:{_engine_digest()}" if ruleset.digest else ""


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
    ruleset = _resolve(rules)
    frame = comments if isinstance(comments, pd.DataFrame) else pd.DataFrame({"text": list(comments)})
    texts = [str(t) for t in frame["text"].tolist()]
    extra = [c for c in KWIC_CONTEXT_COLUMNS if c in frame.columns]
    records = frame[extra].to_dict("records") if extra else [{} for _ in texts]
    rows = []
    for number, (text, raw, meta) in enumerate(zip(texts, tokenize_many(texts, cache=cache), records)):
        doc = Doc(raw)
        places = None
        for theme in ruleset.themes:
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
    offsets = _token_offsets(norm, raw)
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
    words = matched_words(explain(tagged, rules=rules, cache=cache))
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
    by: Sequence[str] = ("fiscal_year", "group", "question"),
    *,
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
    by: str = "group",
    *,
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


CITIZENS = "市民"
STAFF = "職員"


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
        raise ValueError("per は 'comment' か 'respondent' です")
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


def _token_offsets(norm: str, raw: Sequence[RawToken]) -> list[tuple[int, int]]:
    offsets, pos = [], 0
    for surface, _, _ in raw:
        start = norm.find(surface, pos)
        if start < 0:
            start = pos
        pos = start + len(surface)
        offsets.append((start, pos))
    return offsets


KWIC_CONTEXT_COLUMNS = ("group", "fiscal_year", "question", "file", "sheet", "row", "cell",
                        "respondent_id")


def kwic(comments: pd.DataFrame, word: str, width: int = 20, *, cache: bool = True) -> pd.DataFrame:
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
        offsets = _token_offsets(norm, raw)
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


# --- evaluation -----------------------------------------------------------------------


class LabelError(ValueError):
    """Gold labels that are not theme names; ``problems`` has one Japanese line per label."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def _unknown_labels(
    gold: Sequence[Iterable[str]], names: Sequence[str], places: Sequence[str] | None = None,
) -> list[str]:
    """Return one message per gold label that is not a theme name (``places`` names each item)."""
    import difflib

    problems = []
    for number, labels in enumerate(gold):
        place = places[number] if places is not None else f"{number + 1} 件目"
        for label in labels:
            if label in names:
                continue
            close = difflib.get_close_matches(label, names, n=1, cutoff=0.5)
            hint = f"（「{close[0]}」の書き間違いですか？）" if close else f"（テーマ: {'／'.join(names)}）"
            problems.append(f"{place}: 「{label}」というテーマはありません{hint}")
    return problems


def evaluate(
    predicted: Sequence[Iterable[str]],
    gold: Sequence[Iterable[str]],
    *,
    themes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return precision, recall and F1 per theme and micro-averaged over all themes.

    A gold label that is not one of ``themes`` raises ``LabelError``: ignoring it would
    quietly count a typo (対話ノ場) as a theme the comment does not have.
    """
    if len(predicted) != len(gold):
        raise ValueError("predicted と gold の件数が違います")
    names = list(themes or default_theme_names())
    gold_sets = [set(g) for g in gold]
    problems = _unknown_labels([sorted(g) for g in gold_sets], names)
    if problems:
        raise LabelError(problems)
    pred_sets = [set(p) for p in predicted]
    rows = []
    totals = [0, 0, 0]
    for name in names:
        tp = sum(name in p and name in g for p, g in zip(pred_sets, gold_sets))
        fp = sum(name in p and name not in g for p, g in zip(pred_sets, gold_sets))
        fn = sum(name not in p and name in g for p, g in zip(pred_sets, gold_sets))
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
        rows.append(_scores(name, tp, fp, fn))
    rows.append(_scores("micro", *totals))
    return pd.DataFrame(rows)


def _scores(name: str, tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return {"theme": name, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn,
            "precision": precision, "recall": recall, "f1": f1}


def load_labelled(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a labelled set (``text`` and ``;``-separated ``themes``) into a frame of tuples."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["gold"] = frame["themes"].map(
        lambda s: tuple(t.strip() for t in s.split(";") if t.strip()))
    return frame


def evaluate_file(
    path: str | os.PathLike[str],
    *,
    rules: RuleSet | str | os.PathLike[str] | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Tag a labelled CSV and return the evaluation table (``LabelError`` names file and line)."""
    ruleset = _resolve(rules)
    frame = load_labelled(path)
    gold = frame["gold"].tolist()
    lines = _record_lines(path)
    if len(lines) != len(frame):  # a file pandas and csv read differently: count records
        lines = list(range(2, len(frame) + 2))
    places = [f"{Path(path).name} {n}行目" for n in lines]
    problems = _unknown_labels(gold, ruleset.names, places)
    if problems:
        raise LabelError(problems)
    predicted = tag_texts(frame["text"].tolist(), rules=ruleset, cache=cache)
    return evaluate(predicted, gold, themes=ruleset.names)


def _record_lines(path: str | os.PathLike[str]) -> list[int]:
    """Return the physical line each data record of a CSV starts on (cells may hold newlines)."""
    import csv

    starts, previous = [], 0
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            for row in reader:
                if row:  # pandas skips blank lines too
                    starts.append(previous + 1)
                previous = reader.line_num
    except (csv.Error, OSError, UnicodeDecodeError):
        return []  # pandas read it; the caller falls back to counting records
    return starts[1:]
