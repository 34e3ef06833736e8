"""The report's output folder: what may be replaced, a record of what was written, one writer at a time.

The report folder is replaced whole, so the tool must know which files are its own:
each report leaves a manifest (file name → SHA-256) in the folder. A folder holding any
file the manifest does not list, or a listed file changed since, is refused with the
names of those files; nothing in it is touched. A lock file beside the folder keeps a
second run from writing the same folder at the same time.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import KyodoError

MANIFEST = ".kyodo-analysis-manifest.json"
GENERATOR = "kyodo-analysis"
_FORMAT = 1
# Reports written before manifests existed: index.html with our generator tag and these folders.
_LEGACY_FOLDERS = ("figures", "tables")
_LEGACY_INDEX = "index.html"
# How many foreign names a refusal lists before summing up the rest.
_SHOWN_NAMES = 10


class OutputFolderError(KyodoError, ValueError):
    """The output folder cannot be used; the message says why, in Japanese."""

    code = "output-folder"


def shown(path: object) -> str:
    """Return a path for messages: undecodable bytes and control characters escaped, never raw."""
    text = os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "".join(out)


def _is_clean_name(text: str) -> bool:
    return shown(text) == text


def check_target(out_dir: Path) -> None:
    """Refuse an output path that cannot be replaced safely: ``.``, a folder above it, a symlink, odd names."""
    if not _is_clean_name(str(out_dir)):
        raise OutputFolderError(
            f"{shown(out_dir)}: 書き出し先のフォルダ名に読めない文字（制御文字や UTF-8 でない文字）が含まれています。"
            "英数字か日本語の名前のフォルダを --out に指定してください。")
    if out_dir.is_symlink():
        raise OutputFolderError(
            f"{shown(out_dir)}: シンボリックリンクは書き出し先にできません（フォルダごと置き換えるため）。"
            f"リンク先のフォルダ（{shown(os.path.realpath(out_dir))}）の中の新しいフォルダ名を --out に指定してください。")
    resolved = out_dir.resolve()
    here = Path.cwd().resolve()
    if resolved.parent == resolved or resolved == here or resolved in here.parents or resolved == Path.home().resolve():
        raise OutputFolderError(
            f"{shown(out_dir)}: 今いるフォルダやその上のフォルダ、ホームフォルダは書き出し先にできません"
            "（フォルダごと置き換えるため）。新しいフォルダ名（例: reports）を --out に指定してください。")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"{shown(out_dir)}: フォルダではなくファイルです。書き出し先にはフォルダを指定してください。")


def file_digest(path: Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(root: Path, files: Iterable[Path]) -> Path:
    """Record ``files`` (relative to ``root``) with their digests in ``root/MANIFEST``; deterministic."""
    listed = {Path(f).as_posix(): file_digest(root / f) for f in files}
    data = {"generator": GENERATOR, "format": _FORMAT, "files": dict(sorted(listed.items()))}
    path = root / MANIFEST
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def read_manifest(out_dir: Path) -> dict[str, str] | None:
    """Return the files an earlier report recorded (name → digest), or None if there is no valid manifest.

    The manifest is parsed as data and checked field by field; anything else is no manifest.
    """
    path = out_dir / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("generator") != GENERATOR or data.get("format") != _FORMAT:
        return None
    files = data.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) == 64 for k, v in files.items()):
        return None
    return dict(files)


def _legacy_report(out_dir: Path) -> bool:
    index = out_dir / _LEGACY_INDEX
    try:
        return index.is_file() and f'name="generator" content="{GENERATOR}"' in index.read_text("utf-8", errors="replace")
    except OSError:
        return False


def _entries(out_dir: Path) -> Iterator[tuple[str, Path, bool]]:
    """Yield (relative posix name, path, is_dir) of everything in ``out_dir``, symlinks not followed."""
    for current, dirs, files in os.walk(out_dir, followlinks=False):
        base = Path(current)
        for name in dirs:
            path = base / name
            yield path.relative_to(out_dir).as_posix(), path, not path.is_symlink()
        for name in files:
            path = base / name
            yield path.relative_to(out_dir).as_posix(), path, False


def foreign_files(out_dir: Path) -> list[str]:
    """Return what in ``out_dir`` is not an unchanged file of the earlier report (empty if all is ours)."""
    if not out_dir.is_dir():
        return []
    manifest = read_manifest(out_dir)
    legacy = manifest is None and _legacy_report(out_dir)
    ours_dirs: set[str] = set()
    for name in manifest or ():
        parts = name.split("/")
        ours_dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    foreign: list[str] = []
    for name, path, is_dir in _entries(out_dir):
        if name == MANIFEST and manifest is not None:
            continue
        if legacy:
            top = name.split("/", 1)[0]
            if name == _LEGACY_INDEX or (top in _LEGACY_FOLDERS and (is_dir or "/" in name)):
                continue
            foreign.append(name)
        elif is_dir:
            if name not in ours_dirs and not any(path.iterdir()):
                foreign.append(name + "/")  # an empty folder the user made
        elif manifest is None or name not in manifest:
            foreign.append(name)
        elif path.is_symlink() or file_digest(path) != manifest[name]:
            foreign.append(name)  # changed since the tool wrote it
    return sorted(foreign)


def check_replaceable(out_dir: Path) -> None:
    """Refuse an output folder that holds anything but an earlier, unchanged report (it is replaced whole)."""
    check_target(out_dir)
    foreign = foreign_files(out_dir)
    if not foreign:
        return
    names = "、".join(shown(n) for n in foreign[:_SHOWN_NAMES])
    if len(foreign) > _SHOWN_NAMES:
        names += f" ほか {len(foreign) - _SHOWN_NAMES} 件"
    raise OutputFolderError(
        f"{shown(out_dir)}: 本ツールの報告書ではないファイルが入っています（{names}）。"
        "書き出し先のフォルダは丸ごと置き換わるため、何も変えずに止めました。"
        "それらのファイルを別の場所に移すか、空のフォルダか新しいフォルダ名を --out に指定してください。"
    )


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold a lock on ``out_dir`` for the block, or refuse at once if another run holds it.

    The lock file sits beside the folder (the folder itself is swapped) and is removed
    afterwards; the operating system releases the lock if the process dies.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    path = out_dir.parent / f".{out_dir.name}.lock"
    busy = OutputFolderError(
        f"{shown(out_dir)}: 別の kyodo-analysis が同じフォルダに書き出しているところです。"
        "終わるのを待ってから、もう一度実行してください。")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _try_lock(fd):
            raise busy
        # The file may have been removed by the run that held it just before: then this lock
        # guards nothing, and a new file may already be locked by a third run.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if not same:
            raise busy
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
