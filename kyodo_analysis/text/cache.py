"""The on-disk token cache and batch tokenisation: each distinct text goes through janome once.

Tokens are stored in sqlite as JSON text, keyed by the text and the analyzer's
fingerprint (:func:`kyodo_analysis.text.tokens.analyzer_fingerprint`), in the user's
private cache folder. :func:`map_tokenized` reads what is cached, sends the rest
through :func:`kyodo_analysis.text.tokens._raw_tokens` (the one place janome reads a
text), optionally in worker processes, and writes the new tokens back.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import sqlite3
import sys
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal, TypeVar

from ..config import CACHE_ENV, cache_dir
from ..input.safety import holds_decrypted_text
from . import tokens as _tokens
from .tokens import RawToken, analyzer_fingerprint, normalize, split_for_tokenizer

CACHE_FILE = "tokens.sqlite3"
R = TypeVar("R")



def _private_directory(path: Path) -> None:
    """Create ``path`` readable by its owner only, or raise OSError if it is not ours."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        info = path.stat()
        if info.st_uid != os.getuid():
            raise OSError(f"{path} は別のユーザーのフォルダです")
        if info.st_mode & 0o077:
            os.chmod(path, 0o700)


def _private_file(path: Path) -> None:
    """Create ``path`` (if missing) with owner-only permissions before sqlite opens it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    if os.name == "posix":
        # sqlite gives its -wal and -shm files the permissions of the database file.
        os.chmod(path, 0o600)


def clear_cache(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Delete the token cache files in ``directory`` (default: ``cache_dir()``); return what was removed."""
    folder = Path(directory) if directory is not None else cache_dir()
    removed = []
    for name in (CACHE_FILE, CACHE_FILE + "-wal", CACHE_FILE + "-shm", CACHE_FILE + "-journal"):
        path = folder / name
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    if directory is None and os.environ.get(CACHE_ENV) is None and folder.is_dir():
        # The default folder is ours alone; an overriding folder may hold the user's files.
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def encode_tokens(tokens: Sequence[RawToken]) -> str:
    """Return tokens as plain JSON text, the only form the cache stores."""
    return json.dumps([list(t) for t in tokens], ensure_ascii=False, separators=(",", ":"))


def decode_tokens(value: object, text: str | None = None) -> tuple[RawToken, ...] | None:
    """Parse a stored JSON token list, or return None if it is not one (damaged, foreign, tampered).

    With ``text``, the tokens must also spell that text (whitespace aside), so an entry
    planted under another comment's key is not taken for this one.
    """
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, list):
        return None
    out: list[RawToken] = []
    append = out.append
    for item in data:  # exact types, tested inline: a warm run checks every token of every comment
        if type(item) is not list or len(item) != 3:
            return None
        surface, pos, base = item
        if type(surface) is not str or type(pos) is not str or type(base) is not str or not pos:
            return None
        append((surface, pos, base))
    if text is not None and spelling(t[0] for t in out) != spelling(
            normalize(piece) for piece in split_for_tokenizer(text)):
        return None
    return tuple(out)


_ANY_SPACE = re.compile(r"\s+")


def spelling(parts: Iterable[str]) -> str:
    """Return the letters of ``parts`` joined, whitespace left out (what tokens of a text must spell)."""
    return _ANY_SPACE.sub("", "".join(parts))


class TokenCache:
    """Token lists on disk in sqlite, keyed by text and analyzer fingerprint.

    Values are JSON text and are parsed as data, never run: an entry that does not
    parse, or does not spell the text it is filed under, is ignored and rebuilt.
    sqlite gives atomic commits (a killed process leaves the old state) and WAL mode
    lets readers run while another process writes. The folder is private (0700) and
    the database file owner-only (0600).
    """

    _BATCH = 500

    def __init__(self, directory: str | os.PathLike[str] | None = None,
                 fingerprint: str | None = None) -> None:
        self.fingerprint = fingerprint or analyzer_fingerprint()
        folder = Path(directory) if directory is not None else cache_dir()
        _private_directory(folder)
        self.path = folder / CACHE_FILE
        _private_file(self.path)
        self.rejected = 0
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS tokens (key BLOB PRIMARY KEY, value BLOB NOT NULL)"
                " WITHOUT ROWID"
            )
            # Results derived from tokens (theme tags), keyed by the text key and an id of
            # whatever produced them (rule file and engine), so re-runs skip matching too.
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS derived (producer TEXT NOT NULL, key BLOB NOT NULL,"
                " value TEXT NOT NULL, PRIMARY KEY (producer, key)) WITHOUT ROWID"
            )
        except sqlite3.Error:
            self._db.close()
            raise

    def key(self, text: str) -> bytes:
        """Return the cache key of ``text`` under this analyzer configuration."""
        return hashlib.blake2b(
            text.encode("utf-8"), digest_size=16, person=self.fingerprint.encode()[:16]
        ).digest()

    def get_many(self, keys: Sequence[bytes],
                 texts: dict[bytes, str] | None = None) -> dict[bytes, tuple[RawToken, ...]]:
        """Return the cached token tuples of those ``keys`` that are present and valid.

        ``texts`` (key → text) lets each entry be checked against the text it stands for.
        """
        found: dict[bytes, tuple[RawToken, ...]] = {}
        for start in range(0, len(keys), self._BATCH):
            batch = keys[start:start + self._BATCH]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(f"SELECT key, value FROM tokens WHERE key IN ({marks})", batch)
            for key, value in rows:
                tokens = decode_tokens(value, None if texts is None else texts.get(key))
                if tokens is None:
                    self.rejected += 1
                else:
                    found[key] = tokens
        return found

    def present(self, keys: Sequence[bytes]) -> set[bytes]:
        """Return which of ``keys`` are stored (without reading their values)."""
        found: set[bytes] = set()
        for start in range(0, len(keys), self._BATCH):
            batch = keys[start:start + self._BATCH]
            marks = ",".join("?" * len(batch))
            found.update(k for (k,) in self._db.execute(
                f"SELECT key FROM tokens WHERE key IN ({marks})", batch))
        return found

    def put_many(self, items: Iterable[tuple[bytes, tuple[RawToken, ...]]]) -> None:
        """Store token tuples in one transaction."""
        self.put_encoded([(k, encode_tokens(v)) for k, v in items])

    def put_encoded(self, rows: Sequence[tuple[bytes, str]]) -> None:
        """Store already encoded (``encode_tokens``) token lists in one transaction."""
        if not rows:
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?)", rows)

    def get_derived(self, producer: str, keys: Sequence[bytes]) -> dict[bytes, str]:
        """Return stored derived values of ``producer`` for those ``keys`` that have one (text only)."""
        found: dict[bytes, str] = {}
        for start in range(0, len(keys), self._BATCH):
            batch = keys[start:start + self._BATCH]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT key, value FROM derived WHERE producer = ? AND key IN ({marks})",
                [producer, *batch])
            for key, value in rows:
                if isinstance(value, str):
                    found[key] = value
                else:
                    self.rejected += 1
        return found

    def derived_for(self, producer: str, keys: Mapping[str, bytes],
                    parse: Callable[[str, str], R | None]) -> dict[str, R]:
        """Return the stored values of ``producer`` per text (``keys``: text → key), read as data.

        ``parse(value, text)`` returns None for a value that is not one of its kind (damaged,
        foreign, tampered): it is counted as rejected, and the caller makes it again.
        """
        stored = self.get_derived(producer, list(keys.values()))
        found: dict[str, R] = {}
        for text, key in keys.items():
            if key in stored:
                value = parse(stored[key], text)
                if value is None:
                    self.rejected += 1
                else:
                    found[text] = value
        return found

    def put_derived(self, producer: str, items: Iterable[tuple[bytes, str]]) -> None:
        """Store derived values of ``producer`` in one transaction."""
        rows = [(producer, k, v) for k, v in items]
        if not rows:
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO derived VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        """Close the database connection, with one note if entries had to be rebuilt."""
        self._db.close()
        if self.rejected:
            warnings.warn(
                f"キャッシュ（{self.path}）に読めない項目が {self.rejected} 件あったため、無視して解析し直しました。",
                stacklevel=2,
            )
            self.rejected = 0


@lru_cache(maxsize=None)
def source_digest(*names: str) -> str:
    """Return an id of the package's code under ``names`` (folders or modules), for derived values.

    A result stored in the ``derived`` table names the code that made it, so changed code
    never reuses an old result. Every source file of a folder counts, whatever its name,
    so moving code between modules (or adding one) can never leave a stale value in use.
    """
    h = hashlib.sha256()
    package = resources.files("kyodo_analysis")
    for name in names:
        entry = package / name
        modules = ([entry] if not entry.is_dir() else
                   sorted((m for m in entry.iterdir() if m.name.endswith(".py")), key=lambda m: m.name))
        for module in modules:
            h.update(f"{name}/{module.name}\0".encode())
            h.update(module.read_bytes())
    return h.hexdigest()[:16]


# Where tokens may come from and go to: True (memory and disk), "read" (memory, and the disk
# without writing to it), "memory", False, or a store.
CacheMode = bool | Literal["memory", "read"] | TokenCache


def open_cache() -> TokenCache | None:
    """Open the default cache, or run without one (warning if it cannot be used).

    Once a password-protected workbook has been decrypted in this process, nothing is
    cached: its comments must never reach the disk.
    """

    if holds_decrypted_text():
        return None
    try:
        return TokenCache()
    except sqlite3.OperationalError as exc:  # locked, read-only, full: leave it to its owner
        warnings.warn(f"キャッシュを使えないため、キャッシュなしで処理します: {exc}", stacklevel=3)
        return None
    except sqlite3.DatabaseError as exc:
        # Not a database at all (damaged or replaced): the cache is ours to rebuild.
        try:
            clear_cache(cache_dir())
            store = TokenCache()
        except (OSError, sqlite3.Error):
            warnings.warn(f"キャッシュを使えないため、キャッシュなしで処理します: {exc}", stacklevel=3)
            return None
        warnings.warn(f"キャッシュのファイルが壊れていたため、作り直しました（{store.path}）。", stacklevel=3)
        return store
    except (OSError, sqlite3.Error) as exc:
        warnings.warn(f"キャッシュを使えないため、キャッシュなしで処理します: {exc}", stacklevel=3)
        return None


def _progress_bar(total: int, progress: bool | None):
    from tqdm import tqdm

    # disable=None lets tqdm hide itself when stderr is not a terminal;
    # delay keeps short runs quiet.
    return tqdm(
        total=total,
        file=sys.stderr,
        disable=None if progress is None else not progress,
        delay=0 if progress else 2.0,
        unit="件",
        desc="形態素解析",
        leave=False,
    )


# Below this many new texts, starting worker processes costs more than it saves.
MIN_TEXTS_PER_PROCESS = 200
# Texts are looked up, tokenised and written in batches of this size, so memory stays
# bounded by the batch, not the corpus, when the caller consumes results as they come.
BATCH = 2000


# What worker processes apply to each token tuple; installed by the pool initializer.
_worker_fn: Callable[[tuple[RawToken, ...]], object] | None = None


def _install_worker(fn: Callable[[tuple[RawToken, ...]], object]) -> None:
    global _worker_fn
    _worker_fn = fn
    # A forked worker must not run the command line's SIGTERM handler (see report.build._default_sigterm):
    # blocked in C on the pool's queue it could not, and Pool.terminate() would wait for it forever.
    with contextlib.suppress(ValueError, OSError, AttributeError):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _worker_map(text: str) -> tuple[str, object]:
    """Tokenise in a worker and apply the installed function there, next to the tokens."""
    raw = _tokens._raw_tokens(text, _tokens.get_analyzer())
    assert _worker_fn is not None
    return encode_tokens(raw), _worker_fn(raw)


def _identity(raw: tuple[RawToken, ...]) -> tuple[RawToken, ...]:
    return raw


# --- tokens of this run, in memory ---------------------------------------------------------

# Everything that reads a comment in one run (tagging, word counts, masking, quotes) shares
# its tokens through this memo, so janome reads each text once even when there is no disk
# cache (a password-protected workbook). Bounded by the characters of the texts it holds.
MEMO_CHARS = 2_000_000
_memo: OrderedDict[str, tuple[RawToken, ...]] = OrderedDict()
_memo_state = {"fingerprint": "", "chars": 0}


def _memo_fingerprint() -> None:
    """Forget the memo when the analyzer changed (another user dictionary, in tests)."""
    fingerprint = analyzer_fingerprint()
    if fingerprint != _memo_state["fingerprint"]:
        forget_run_tokens()
        _memo_state["fingerprint"] = fingerprint


def _memo_put(text: str, tokens: tuple[RawToken, ...]) -> None:
    if text in _memo or len(text) > MEMO_CHARS:
        return
    _memo[text] = tokens
    _memo_state["chars"] += len(text)
    while _memo_state["chars"] > MEMO_CHARS:
        old, _ = _memo.popitem(last=False)
        _memo_state["chars"] -= len(old)


def forget_run_tokens() -> None:
    """Drop the tokens held in memory (the disk cache is left as it is)."""
    _memo.clear()
    _memo_state["chars"] = 0


def map_tokenized(
    texts: Sequence[str],
    fn: Callable[[tuple[RawToken, ...]], R],
    *,
    cache: CacheMode = True,
    processes: int = 1,
    progress: bool | None = None,
) -> Iterator[tuple[str, R]]:
    """Yield ``(text, fn(tokens))`` for each distinct text in first-seen order.

    Texts this run has already read come from memory, cached ones from disk; the others
    go through janome exactly once and are written back in batches. ``cache`` is True
    (memory and disk), ``"read"`` (memory and disk, never written), ``"memory"`` (this
    run's memory only), False (neither) or a store to use. With ``processes`` > 1, new
    texts are tokenised in worker processes and ``fn`` runs there too, so the tokens
    never travel back (``fn`` must be picklable where the platform cannot fork). Memory
    is bounded by the batch size when the caller consumes results as they come.
    """
    unique = list(dict.fromkeys(texts))
    remember = cache is not False
    if remember:
        _memo_fingerprint()
    held = {t: _memo[t] for t in unique if t in _memo} if remember else {}
    rest = [t for t in unique if t not in held]
    if not rest:  # all read earlier in this run: no store, no progress bar
        for text in unique:
            yield text, fn(held[text])
        return
    store: TokenCache | None
    if not rest:
        store = None
    elif isinstance(cache, TokenCache):
        store = cache
    else:
        store = open_cache() if cache is True or cache == "read" else None
    keys = {t: store.key(t) for t in rest} if store is not None else {}
    cached: set[bytes] = store.present(list(keys.values())) if store is not None else set()
    missing = [t for t in rest if keys.get(t) not in cached]
    pool = None
    bar = _progress_bar(len(unique), progress)
    try:
        analyzer = _tokens.get_analyzer()  # loaded before forking so workers inherit it
        if processes > 1 and len(missing) >= MIN_TEXTS_PER_PROCESS:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
            pool = ctx.Pool(processes, initializer=_install_worker, initargs=(fn,))
            # imap keeps input order, so output does not depend on scheduling; its feeder
            # thread keeps the workers busy while this process handles earlier results.
            fresh: Iterator[tuple[str | None, object]] = pool.imap(_worker_map, missing, chunksize=32)
        else:
            fresh = ((None, _tokens._raw_tokens(t, analyzer)) for t in missing)
        for start in range(0, len(unique), BATCH):
            batch = unique[start:start + BATCH]
            if store is not None:
                wanted = {keys[t]: t for t in batch if t in keys and keys[t] in cached}
                hits = store.get_many(list(wanted), wanted)
            else:
                hits = {}
            blobs: list[tuple[bytes, str]] = []
            out = []
            for text in batch:
                key = keys.get(text)
                if text in held:
                    out.append((text, fn(held[text])))
                elif key is not None and key in hits:
                    if remember:
                        _memo_put(text, hits[key])
                    out.append((text, fn(hits[key])))
                else:
                    if key is not None and key in cached:
                        # Stored but unusable (damaged or tampered): janome runs here after all.
                        blob, value = None, _tokens._raw_tokens(text, analyzer)
                    else:
                        blob, value = next(fresh)
                    if blob is None:  # tokenised here: value is the token tuple
                        if key is not None:
                            blobs.append((key, encode_tokens(value)))
                        if remember:
                            _memo_put(text, value)
                        value = fn(value)
                    else:
                        if key is not None:
                            blobs.append((key, blob))
                        tokens = decode_tokens(blob) if remember else None
                        if tokens is not None:
                            _memo_put(text, tokens)
                    out.append((text, value))
                # Per text: a batch can take minutes; tqdm's mininterval limits the redraws.
                bar.update(1)
            if store is not None and cache != "read":
                store.put_encoded(blobs)
            yield from out
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
        if store is not None and store is not cache:
            store.close()


def iter_tokenized(
    texts: Sequence[str],
    *,
    cache: CacheMode = True,
    processes: int = 1,
    progress: bool | None = None,
) -> Iterator[tuple[str, tuple[RawToken, ...]]]:
    """Yield ``(text, tokens)`` for each distinct text in first-seen order (see map_tokenized)."""
    return map_tokenized(texts, _identity, cache=cache, processes=processes, progress=progress)


def tokenize_many(
    texts: Sequence[str],
    *,
    cache: CacheMode = True,
    processes: int = 1,
    progress: bool | None = None,
) -> list[tuple[RawToken, ...]]:
    """Tokenise many texts; each distinct text at most once, reusing the disk cache."""
    if cache is not False:
        _memo_fingerprint()
        if all(t in _memo for t in texts):  # read earlier in this run (the masker asks per comment)
            return [_memo[t] for t in texts]
    results = dict(iter_tokenized(texts, cache=cache, processes=processes, progress=progress))
    return [results[t] for t in texts]


# --- rule words: tokenised once per rule file and stored with it ---------------------------

# While a rule file is parsed: its words' tokens (read from the cache, or made now), else None.
_RULE_WORDS: dict[str, tuple[RawToken, ...]] | None = None
_RULE_WORDS_NEW = False


def rule_word_tokens(piece: str) -> list[_tokens.Token]:
    """Tokenise one word of a rule, from the stored tokens of its rule file when they are there."""
    global _RULE_WORDS_NEW
    memo = _RULE_WORDS
    if memo is None:
        return _tokens.tokenize(piece)
    raw = memo.get(piece)
    if raw is None:
        raw = memo[piece] = _tokens._raw_tokens(piece, _tokens.get_analyzer())
        _RULE_WORDS_NEW = True
    return [_tokens.Token(*r) for r in raw]


def _text_engine_digest() -> str:
    """Return an id of the text package's code: rule-word tokens made by other code are not reused."""
    h = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        h.update(module.name.encode() + b"\0" + module.read_bytes())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def stored_rule_words(source: bytes) -> Iterator[None]:
    """While a rule file (``source``, its bytes) is parsed, tokenise its words from the cache, storing new ones.

    The 1,000-odd words of the bundled rules would otherwise go through janome at every start.
    The stored value is JSON parsed as data; an entry that does not spell its word is rebuilt.
    """
    global _RULE_WORDS, _RULE_WORDS_NEW
    if _RULE_WORDS is not None:  # a rule file parsed inside another: the outer one stores
        yield
        return
    store = open_cache()
    if store is None:
        yield
        return
    producer = f"rule-words:{_text_engine_digest()}"
    key = store.key(hashlib.sha256(source).hexdigest())
    memo: dict[str, tuple[RawToken, ...]] = {}
    try:
        stored = store.get_derived(producer, [key]).get(key)
        if stored is not None:
            memo = _decode_rule_words(stored)
            if memo is None:
                store.rejected += 1
                memo = {}
        _RULE_WORDS, _RULE_WORDS_NEW = memo, False
        try:
            yield
        finally:
            _RULE_WORDS = None
        if _RULE_WORDS_NEW:
            value = json.dumps({w: [list(t) for t in raw] for w, raw in sorted(memo.items())},
                               ensure_ascii=False, separators=(",", ":"))
            store.put_derived(producer, [(key, value)])
    finally:
        _RULE_WORDS_NEW = False
        store.close()


def _decode_rule_words(value: str) -> dict[str, tuple[RawToken, ...]] | None:
    """Parse stored rule-word tokens, or None when any entry is not a token list spelling its word."""
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    out: dict[str, tuple[RawToken, ...]] = {}
    for word, tokens in data.items():
        raw = decode_tokens(json.dumps(tokens, ensure_ascii=False), word)
        if raw is None:
            return None
        out[word] = raw
    return out
