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

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from ..errors import KyodoError
from ..text.cache import rule_word_tokens
from ..text.tokens import RawToken, forms, normalize
from ..text.tokens import get_tokenizer

DEFAULT_DISTANCE = 10
# Tokens that end a sentence, for the [b] (same sentence) option.
_SENTENCE_END_POS = ("記号,句点",)
_SENTENCE_END_SURFACES = frozenset("。．.！!？?")


class RuleError(KyodoError, ValueError):
    """A theme rule that cannot be read; the message (Japanese) names the place."""

    code = "rule-syntax"


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
# (forms, compound parts): a document meets it when it holds one of the forms among its
# tokens' forms or one of the parts inside a compound token (see Node.trigger).
Trigger = tuple[frozenset[str], frozenset[str]]
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

    def trigger(self) -> Trigger | None:
        """Return forms and compound parts one of which a document needs for the expression to hold.

        ``None`` when there is no such condition (``not A`` holds without any word).
        """
        return None


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

    def trigger(self) -> Trigger:
        """Return the word's first forms (and its noun inside compounds): what ``_present`` tests."""
        return self.firsts, frozenset(self.parts[:1] if self.compound else ())


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

    def trigger(self) -> Trigger:
        """Return the condition of the slot with the fewest forms: every slot must be present."""
        return min((_union(w.trigger() for w in slot.options) for slot in self.slots), key=_size)


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

    def trigger(self) -> Trigger | None:
        """Return the narrowest condition of a child: every child must hold."""
        known = [t for t in (c.trigger() for c in self.children) if t is not None]
        return min(known, key=_size) if known else None

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
        """Return one set test for all one-token words, then only the children a document can meet.

        Each other child is filed under the forms and compound parts of its trigger, so a
        comment evaluates the few children whose words it holds, not every near() of a theme.
        """
        words = [c for c in self.children if isinstance(c, Word)]
        simple = frozenset(w.parts[0] for w in words if w.plain)
        inside = frozenset(w.parts[0] for w in words if w.single_compound)
        either = simple | inside
        rest = [c for c in self.children if not (isinstance(c, Word) and (c.plain or c.single_compound))]
        others = [c.compile() for c in rest]
        always: list[int] = []
        by_form: dict[str, list[int]] = {}
        by_part: dict[str, list[int]] = {}
        for k, child in enumerate(rest):
            condition = child.trigger()
            if condition is None:
                always.append(k)
                continue
            for form in condition[0]:
                by_form.setdefault(form, []).append(k)
            for part in condition[1]:
                by_part.setdefault(part, []).append(k)
        form_keys, part_keys = frozenset(by_form), frozenset(by_part)

        def any_of(doc: Doc) -> bool:
            if not either.isdisjoint(doc.formset):
                return True
            if inside and doc.parts and not inside.isdisjoint(doc.parts):
                return True
            candidates = set(always)
            for form in form_keys.intersection(doc.formset):
                candidates.update(by_form[form])
            if doc.parts:
                for part in part_keys.intersection(doc.parts):
                    candidates.update(by_part[part])
            for k in sorted(candidates):
                if others[k](doc):
                    return True
            return False

        return any_of

    def trigger(self) -> Trigger | None:
        """Return the union of the children's conditions (none when a child has none)."""
        conditions = [c.trigger() for c in self.children]
        return None if any(t is None for t in conditions) else _union(conditions)

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

    def trigger(self) -> Trigger:
        """Return a condition no document meets."""
        return frozenset(), frozenset()


def _union(conditions: Iterable[Trigger | None]) -> Trigger:
    forms: set[str] = set()
    parts: set[str] = set()
    for condition in conditions:
        assert condition is not None
        forms.update(condition[0])
        parts.update(condition[1])
    return frozenset(forms), frozenset(parts)


def _size(condition: Trigger) -> int:
    return len(condition[0]) + len(condition[1])


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
        parts.extend(token.base_form.lower() for token in rule_word_tokens(piece))
    if not parts:
        raise RuleError(f"「{text}」から語を取り出せません")
    return tuple(parts)


@lru_cache(maxsize=4096)
def _is_noun(text: str) -> bool:
    """Whether a rule word is one noun token (so it may match inside compounds)."""
    tokens = rule_word_tokens(text)
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
            m = _token_pattern(tuple(OPERATORS)).match(text, pos)
            if not m or m.end() == pos:
                raise RuleError(f"{self.where}: 「{text[pos:]}」を読めません")
            pos = m.end()
            # lastgroup can name a group nested in a term, so test the outer ones.
            kind = next(k for k in ("term", "ref", "op", "word") if m.group(k))
            value = m.group(kind).strip()
            node: Node | None = None
            if kind == "word":
                low = value.lower()
                if low in WORD_OPERATORS:
                    kind, value = "op", WORD_OPERATORS[low]
                elif low in OPERATORS and text.startswith("(", pos):
                    # A term's pattern allows one level of (A|B) only.
                    raise RuleError(f"{self.where}: 「{text[m.start(kind):]}」を読めません"
                                    f"（{low}() の閉じかっこがないか、{low}() の中に {low}() や"
                                    "かっこを入れ子にしています）")
                else:
                    _check_word(value, self.where)
            elif kind == "ref":
                _check_supported(value, self.where)
                node = self._reference(value)
            elif kind == "term":
                name = m.group("name").lower()
                node = OPERATORS[name](Term(name, value, m.group("slots"), (m.group("opt") or "").strip().lower(),
                                            self.where))
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


@dataclass(frozen=True)
class Term:
    """A function-like term as written, ``near(A-B)[b5]``, split for the operator that reads it."""

    name: str  # near
    whole: str  # near(A-B)[b5], for messages
    slots: str  # A-B
    option: str  # b5 (lower case, may be empty)
    where: str  # the place named in messages

    def words(self) -> list[Alternatives]:
        """The '-'-separated slots, each a word or ``(A|B)`` alternatives, checked as rule words."""
        slots = []
        for slot in _split_slots(self.slots):
            slot = slot.strip()
            if slot.startswith("(") and slot.endswith(")"):
                slot = slot[1:-1]
            options = [w.strip() for w in slot.split("|") if w.strip()]
            if not options:
                raise RuleError(f"{self.where}: 「{self.whole}」に空の語があります")
            for w in options:
                if "(" in w or ")" in w:
                    raise RuleError(f"{self.where}: 「{self.whole}」は読めません（{_term_names()} の中に "
                                    f"{_term_names()} やかっこは入れ子にできません。(A|B) の形だけ使えます）")
                if w.startswith("<"):
                    raise RuleError(f"{self.where}: 「{self.whole}」は読めません（{_term_names()} の中では"
                                    f"コードを使えません: 「{w}」）")
                _check_word(w, self.where)
            slots.append(Alternatives(tuple(make_word(w) for w in options)))
        return slots


def _near_term(term: Term) -> Node:
    """``near(A-B)[N]`` / ``seq(A-B)[N]``: words within N tokens (seq: in order), ``[b]`` same sentence."""
    slots = term.words()
    if len(slots) < 2:
        raise RuleError(f"{term.where}: 「{term.whole}」には「-」で区切った語が 2 つ以上必要です")
    distance, same_sentence = DEFAULT_DISTANCE, False
    if term.option:
        om = re.fullmatch(r"([bd]?)(\d*)", term.option)
        if not om or not (om.group(1) or om.group(2)):
            raise RuleError(f"{term.where}: 「{term.whole}」の [{term.option}] は読めません（[10] や [b5] の形）")
        same_sentence = om.group(1) == "b"
        # [d] (same paragraph) holds trivially: one comment is one paragraph.
        if om.group(2):
            distance = int(om.group(2))
    return Near(tuple(slots), distance, same_sentence, ordered=term.name == "seq")


# The rule operators: the one table to extend. Function-like terms name(A-B)[option], by name,
# with the function that turns the written term into a Node (its own Node class if it needs one);
# the lexer's pattern, the messages and the nesting check all follow this table.
OPERATORS: dict[str, Callable[[Term], Node]] = {
    "near": _near_term,
    "seq": _near_term,
}
# Boolean operators written as words, and the symbol each stands for.
WORD_OPERATORS: dict[str, str] = {"and": "&", "or": "|", "not": "!"}


def _term_names() -> str:
    """The term operators as messages name them: near()・seq()."""
    return "・".join(f"{name}()" for name in OPERATORS)


@lru_cache(maxsize=8)
def _token_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """The lexer's pattern for the term operators ``names`` (built from OPERATORS)."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(
        rf"""\s*(?:
            (?P<term>(?P<name>{alternatives})\((?P<slots>[^()]*(?:\([^()]*\)[^()]*)*)\)(?:\[(?P<opt>[^\]]*)\])?)
          | (?P<ref><\*[^\s()&|!<>]+>|<>[^\s()&|!]+)
          | (?P<op>\(|\)|&|\||!)
          | (?P<word>[^\s()&|!]+)
        )""",
        re.VERBOSE | re.IGNORECASE,
    )


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

