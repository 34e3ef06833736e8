"""Check a questionnaire file before any parser reads it: format, size limits, bombs and passwords.

Nothing here trusts the file: magic bytes, the zip directory and the raw XML bytes are looked at
before openpyxl sees the workbook, so a hostile file is refused cheaply and with a plain message.
The limits are explained (in Japanese) in docs/input-rules.md; change both together.
"""
from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

from ..errors import KyodoError

MB = 1024 * 1024
# A workshop questionnaire is a few hundred rows; these limits are far above that and far
# below what would exhaust the memory of an ordinary office PC.
MAX_FILE_BYTES = 50 * MB
MAX_UNCOMPRESSED_BYTES = 200 * MB
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1 * MB  # small parts (styles, a tiny sheet) may compress well legitimately
MAX_PARTS = 10_000
MAX_ROWS_PER_SHEET = 100_000
# Rows of all sheets together: many hidden sheets just under the per-sheet limit cost as much as one huge one.
MAX_ROWS_TOTAL = 150_000
MAX_CELLS = 500_000
# Excel itself holds at most 32,767 characters in a cell; a longer one was not typed in Excel.
MAX_CELL_CHARS = 32_767
# openpyxl creates one object for every cell of every merged range while loading, so the merged
# area is paid in memory however small the file is (A1:XFD1048576 is 17 billion cells).
MAX_MERGED_CELLS = 500_000
# The rectangle from A1 to the farthest cell holding a value, summed over the sheets: the grid
# the reader builds has one slot per position, so three cells can otherwise ask for gigabytes.
MAX_USED_AREA = 500_000
# Excel's own sheet size, used for a merged range that names whole rows or columns.
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384
# Excel uses 100,000 hashing rounds; a file asking for far more only makes a wrong password slow.
MAX_SPIN_COUNT = 1_000_000
MAX_ENCRYPTION_INFO_BYTES = 1 * MB

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
PASSWORD_ENV = "KYODO_PASSWORD"

PasswordSource = Callable[[Path], "str | None"]
Password = str | PasswordSource | None

UNSAFE_PARSER_MESSAGE = (
    "安全な XML の読み込み（defusedxml）が有効になっていないため、実行を止めました。"
    "「pip install defusedxml」で defusedxml を入れ、環境変数 OPENPYXL_DEFUSEDXML を"
    "「True」以外に設定していないか確かめてください。"
)
NEED_PASSWORD = (
    "パスワードで保護されたブックです。--password オプションか環境変数 KYODO_PASSWORD で"
    "パスワードを指定してください（端末から実行したときは、指定がなければ入力を求めます）。"
)
WRONG_PASSWORD = (
    "パスワードが違います。正しいパスワードを --password オプションか環境変数 KYODO_PASSWORD で指定してください。"
)
OLD_XLS = (
    "古い Excel 形式（.xls）のファイルです。Excel で開き「名前を付けて保存」で"
    "「Excel ブック（.xlsx）」を選んで保存し直してください。"
)
BROKEN_OLE = (
    "古い Excel 形式（.xls）かパスワード付きのブックのようですが、中身を読み取れません（壊れている可能性があります）。"
    "Excel で開けるか確かめ、パスワードを外して「Excel ブック（.xlsx）」として保存し直してください。"
)
TRUNCATED = (
    "ファイルが途中で切れているか壊れています（Excel ブックの目次が見つかりません）。"
    "ダウンロードや保存が途中で止まった可能性があります。元のファイルをもう一度ダウンロードするか、保存し直してください。"
)
XLSB = "Excel バイナリブック（.xlsb）は読めません。Excel で開き「Excel ブック（.xlsx）」として保存し直してください。"


class Refused(KyodoError):
    """A file refused before or while parsing; ``message`` says in Japanese what is wrong and what to do."""

    code = "refused-file"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class UnsafeParserError(KyodoError, RuntimeError):
    """openpyxl would parse XML without defusedxml: reading any workbook is refused."""

    code = "unsafe-parser"

    def __init__(self) -> None:
        super().__init__(UNSAFE_PARSER_MESSAGE)


def xml_parser_is_defused() -> bool:
    """Tell whether openpyxl parses workbook XML through defusedxml."""
    import openpyxl.xml
    from openpyxl.xml import functions

    return bool(openpyxl.xml.DEFUSEDXML) and functions.iterparse.__module__.startswith("defusedxml")


def require_defused_xml() -> None:
    """Raise UnsafeParserError unless openpyxl parses XML through defusedxml."""
    if not xml_parser_is_defused():
        raise UnsafeParserError()


def size_text(size: int) -> str:
    """A byte count as a person reads it (MB with one decimal)."""
    return f"{size / MB:,.1f} MB"


def check_file_size(size: int) -> None:
    """Refuse an empty file or one above MAX_FILE_BYTES, before reading it."""
    if size == 0:
        raise Refused(
            "ファイルが空です（0 バイト）。保存やダウンロードが途中で失敗した可能性があります。"
            "元のファイルを保存し直すか、もう一度ダウンロードしてください。"
        )
    if size > MAX_FILE_BYTES:
        raise Refused(
            f"ファイルが大きすぎます（{size:,} バイト。上限は {MAX_FILE_BYTES // MB} MB = {MAX_FILE_BYTES:,} バイト）。"
            "回答のシート以外（画像・不要なシート）を削除して保存し直すか、ファイルを分けてください。"
        )


def content_kind(data: bytes) -> str:
    """Name what the bytes are: "zip", "ole", "text" or "binary"."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if data.startswith(OLE2_MAGIC):
        return "ole"
    head = data[:4096]
    if b"\0" not in head:
        for encoding in ("utf-8", "cp932"):
            try:
                head.decode(encoding)
            except UnicodeDecodeError as error:
                if error.start >= len(head) - 3:  # a character cut by the 4 KB window
                    return "text"
                continue
            return "text"
    return "binary"


def refuse_non_workbook(kind: str) -> None:
    """Refuse content that is neither a zip package nor an OLE2 container."""
    if kind == "text":
        raise Refused(
            "Excel ブック（.xlsx）ではありません。中身は文字だけのファイル（CSV やテキストなど）です。"
            "CSV なら拡張子を .csv に直すか、Excel で開いて「Excel ブック（.xlsx）」として保存し直してください。"
        )
    raise Refused(
        "Excel ブック（.xlsx）ではありません。中身が別の形式のファイルに .xlsx の名前が付いています。"
        "Excel で開けるか確かめ、「Excel ブック（.xlsx）」として保存し直してください。"
    )


# --- password-protected workbooks ----------------------------------------------
# Excel stores an encrypted .xlsx as an OLE2 container with EncryptionInfo and
# EncryptedPackage streams; the zip inside is decrypted into memory only.

_SPIN_COUNT = re.compile(rb'spinCount="(\d+)"')


# Set once a workbook has been decrypted in this process: from then on nothing derived
# from comments is cached on disk (README promises decrypted content never touches it).
_DECRYPTED_IN_PROCESS = False


def holds_decrypted_text() -> bool:
    """Return True once this process has decrypted a password-protected workbook."""
    return _DECRYPTED_IN_PROCESS


def _password_text(password: Password, path: Path) -> str | None:
    return password(path) if callable(password) else password


def decrypt_workbook(data: bytes, path: Path, password: Password) -> bytes:
    """Return the .xlsx bytes inside a password-protected workbook, decrypted in memory, or refuse."""
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as error:  # olefile raises several types for a damaged container
        raise Refused(BROKEN_OLE) from error
    try:
        if not ole.exists("EncryptionInfo"):
            if ole.exists("Workbook") or ole.exists("Book"):
                raise Refused(OLD_XLS)
            raise Refused(
                "Excel ブックではありません（古い Office 形式の、Excel 以外の文書です）。"
                "回答を入力した Excel ブック（.xlsx）を指定してください。"
            )
        if not ole.exists("EncryptedPackage"):
            raise Refused(BROKEN_OLE)
        if ole.get_size("EncryptionInfo") > MAX_ENCRYPTION_INFO_BYTES:
            raise Refused(BROKEN_OLE)
        info = ole.openstream("EncryptionInfo").read()
        header = ole.openstream("EncryptedPackage").read(8)
    except Refused:
        raise
    except Exception as error:
        raise Refused(BROKEN_OLE) from error
    finally:
        ole.close()
    # msoffcrypto parses EncryptionInfo with minidom: never let it see a DTD.
    if _DOCTYPE.search(info):
        raise Refused(_entity_message("EncryptionInfo"))
    spins = [int(n) for n in _SPIN_COUNT.findall(info)]
    if spins and max(spins) > MAX_SPIN_COUNT:
        raise Refused(
            f"パスワード保護の設定が異常です（鍵の計算回数 {max(spins):,} 回。上限は {MAX_SPIN_COUNT:,} 回）。"
            "作成元を確かめ、Excel で開いてパスワードを設定し直してください。"
        )
    if len(header) == 8 and struct.unpack("<Q", header)[0] > MAX_FILE_BYTES:
        raise Refused(
            f"パスワード付きブックの中身が大きすぎます（上限は {MAX_FILE_BYTES // MB} MB）。"
            "不要なシートや画像を削除して保存し直してください。"
        )
    secret = _password_text(password, path)
    if not secret:
        raise Refused(NEED_PASSWORD)
    from msoffcrypto import exceptions
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO()
    try:
        office = OOXMLFile(io.BytesIO(data))
        office.load_key(password=secret, verify_password=True)
        office.decrypt(plain)
    except exceptions.InvalidKeyError as error:
        raise Refused(WRONG_PASSWORD) from error
    except (exceptions.DecryptionError, exceptions.FileFormatError) as error:
        raise Refused(
            "このパスワード保護の方式には対応していません。Excel で開いてパスワードを外し、保存し直してください。"
        ) from error
    except Exception as error:  # a damaged container can fail anywhere inside the decryption
        raise Refused(BROKEN_OLE) from error
    global _DECRYPTED_IN_PROCESS
    _DECRYPTED_IN_PROCESS = True
    return plain.getvalue()


# --- the zip package -------------------------------------------------------------

# A DTD is never part of Office Open XML (OPC forbids it); it is how entity bombs
# ("billion laughs") and external entities get in. UTF-16 spellings are caught too.
_DOCTYPE = re.compile(
    rb"<!(?:DOCTYPE|ENTITY)"
    rb"|<\x00!\x00(?:D\x00O\x00C\x00T\x00Y\x00P\x00E|E\x00N\x00T\x00I\x00T\x00Y)"
    rb"|\x00<\x00!\x00(?:D\x00O\x00C\x00T\x00Y\x00P\x00E|E\x00N\x00T\x00I\x00T\x00Y)"
)
# One pass finds the row, cell and formula start tags (with or without a namespace prefix).
_SHEET_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,30}:)?(row|c|f)[\s/>]")
# <mergeCell ...> up to the next "<" (which cannot occur inside a tag of well-formed XML).
_MERGE_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,30}:)?mergeCell(?=[\s/>])([^<]*)")
# Attributes one by one, so that a ref="…" inside another attribute's value is not taken for the real one.
_ATTRIBUTE = re.compile(rb"""([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_RANGE_END = re.compile(r"\$?([A-Za-z]{1,3})?\$?([0-9]{1,9})?")
# Excel writes every part in UTF-8; another encoding would hide the tags from the byte scan.
_XML_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
_SCAN_CHUNK = 1 * MB
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_SHEET_PART = re.compile(r"(?i)(?:^|/)worksheets/[^/]+\.xml$")


def _entity_message(part: str) -> str:
    return (
        f"ブックの中（{part}）に XML の DTD・エンティティ宣言があります。Excel が作るファイルには含まれないもので、"
        "大量のメモリを使わせる攻撃（billion laughs など）に使われるため読みません。"
        "作成元を確かめ、信頼できる元の Excel ブックを用意してください。"
    )


def _broken_message(part: str, detail: str = "") -> str:
    where = f"（{detail}）" if detail else ""
    return (
        f"ブックの中身（{part}）が壊れています{where}。ファイルが途中で切れているか、書き換えられています。"
        "Excel で開いて修復できるか試して保存し直すか、元のファイルを用意し直してください。"
    )


def _declared_entries(data: bytes) -> int | None:
    """The number of entries the zip's end record declares, or None if there is no end record."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if at < 0 or at + 22 > len(data):
        return None
    count = struct.unpack_from("<H", data, at + 10)[0]
    if count != 0xFFFF:
        return count
    locator = at - 20  # zip64: the real count is in the zip64 end record
    if locator < 0 or data[locator:locator + 4] != b"PK\x06\x07":
        return None
    record = struct.unpack_from("<Q", data, locator + 8)[0]
    if record + 40 > len(data) or data[record:record + 4] != b"PK\x06\x06":
        return None
    return struct.unpack_from("<Q", data, record + 32)[0]


@dataclass
class _PartScan:
    rows: int = 0
    cells: int = 0
    formulas: bool = False
    merged_cells: int = 0  # the summed area of the merged ranges
    widest_merge: str = ""
    widest_merge_cells: int = 0
    long_run: bool = False  # text of 32,768 bytes or more without a tag: maybe a cell over Excel's limit


def _range_end(text: str) -> tuple[int | None, int | None] | None:
    """(column, row) of one end of a range like "$B$3", "B" or "3" (None for a missing part), or None."""
    match = _RANGE_END.fullmatch(text)
    if not match or not text:
        return None
    letters, digits = match.groups()
    column = None
    if letters:
        column = 0
        for letter in letters.upper():
            column = column * 26 + ord(letter) - 64
    return column, int(digits) if digits else None


def merged_area(ref: str) -> int | None:
    """The number of cells a merged range like "F1:ZZ3000" covers, or None if the reference is not one.

    Whole columns ("A:C") and whole rows ("1:3") count Excel's full sheet height or width.
    """
    ends = [_range_end(end) for end in ref.split(":")]
    if len(ends) > 2 or any(end is None for end in ends):
        return None
    (col1, row1), (col2, row2) = ends[0], ends[-1]
    if (col1 is None) != (col2 is None) or (row1 is None) != (row2 is None) or (col1 is None and row1 is None):
        return None
    columns = abs(col2 - col1) + 1 if col1 is not None else EXCEL_COLUMNS
    rows = abs(row2 - row1) + 1 if row1 is not None else EXCEL_ROWS
    return columns * rows


def _scan_merges(scan: _PartScan, buf: bytes, end: int, part: str) -> None:
    for tag in _MERGE_TAG.finditer(buf, 0, end):
        refs = [m[2] if m[2] is not None else m[3] for m in _ATTRIBUTE.finditer(tag[1]) if m[1] == b"ref"]
        ref = refs[0].decode("ascii", "replace") if refs else ""
        area = merged_area(ref)
        if area is None:
            # The byte scan cannot tell how large it is, so openpyxl must not find out either.
            raise Refused(_broken_message(part, f"結合セルの範囲「{ref[:40]}」を読めません"))
        scan.merged_cells += area
        if area > scan.widest_merge_cells:
            scan.widest_merge, scan.widest_merge_cells = ref, area


def _check_encoding(head: bytes, part: str) -> None:
    """Refuse a worksheet not in UTF-8: the byte scan could not see its rows, cells and merges."""
    declared = _XML_ENCODING.match(head)
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:2] in (b"<\x00", b"\x00<")
    if utf16 or (declared and declared[1].lower().replace(b"_", b"-") not in (b"utf-8", b"utf8")):
        raise Refused(
            f"ブックの中（{part}）のシートが、Excel の使わない文字コード（UTF-8 以外）で書かれています。"
            "作成元を確かめ、Excel で開いて「Excel ブック（.xlsx）」として保存し直してください。"
        )


_WINDOW = (MAX_CELL_CHARS + 1) // 2


def _has_long_run(buf: bytes) -> bool:
    """Tell whether ``buf`` may hold more than MAX_CELL_CHARS bytes without a tag (a cell over Excel's limit).

    Such a run covers at least one whole aligned window of half that size, so looking for "<" in
    each window (a fast memchr) finds every one; a shorter run found too is checked exactly later.
    """
    return any(buf.find(b"<", start, start + _WINDOW) == -1 for start in range(0, len(buf) - _WINDOW + 1, _WINDOW))


def too_long_message(where: str, length: int) -> str:
    """Refusal for a cell longer than Excel can hold, naming the cell."""
    return (f"{where} のセルが長すぎます（{length:,} 文字。Excel の 1 セルの上限は {MAX_CELL_CHARS:,} 文字）。"
            "Excel で作ったファイルではない可能性があります。そのセルを短くするか、元のファイルを用意し直してください。")


def _long_cells(archive: zipfile.ZipFile, parts: list[str], titles: dict[str, str]) -> None:
    """Refuse a cell longer than Excel's 32,767 characters, naming it (openpyxl would cut it silently).

    Only parts holding a long run of text are parsed: inline text and formulas in sheets, and
    shared strings, whose too-long entries are then looked up in the sheets that use them.
    """
    from defusedxml.ElementTree import iterparse

    long_shared: dict[str, int] = {}  # index -> length
    for part in parts:
        if part.lower().endswith("sharedstrings.xml"):
            index = 0
            with archive.open(part) as stream:
                for _event, element in iterparse(stream):
                    if _local(element.tag) == "si":
                        length = len("".join(element.itertext()))
                        if length > MAX_CELL_CHARS:
                            long_shared[str(index)] = length
                        index += 1
                        element.clear()
    sheets = [p for p in archive.namelist() if _SHEET_PART.search(p)] if long_shared else parts
    for part in sheets:
        if not _SHEET_PART.search(part):
            continue
        with archive.open(part) as stream:
            for _event, element in iterparse(stream):
                if _local(element.tag) != "c":
                    continue
                values = [child for child in element.iter() if _local(child.tag) in ("v", "t", "f")]
                length = max((len(v.text or "") for v in values), default=0)
                if element.get("t") == "s":
                    length = max([length, *(long_shared.get(v.text or "", 0) for v in values)])
                if length > MAX_CELL_CHARS:
                    raise Refused(too_long_message(f"{titles.get(part, part)}!{element.get('r') or ''}", length))
                element.clear()


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, is_sheet: bool) -> _PartScan:
    """Stream one XML part: refuse a DTD anywhere; for a sheet count rows, cells and formulas."""
    scan = _PartScan()
    carry = b""
    first = True
    try:
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(_SCAN_CHUNK)
                buf = carry + chunk
                if is_sheet and first:
                    _check_encoding(buf[:256], info.filename)
                    first = False
                if _DOCTYPE.search(buf):
                    raise Refused(_entity_message(info.filename))
                scan.long_run = scan.long_run or _has_long_run(buf)
                # Cut before the last "<": well-formed XML has no "<" inside a tag (not even in an
                # attribute value), so every tag before the cut is whole and none is seen twice.
                cut = len(buf) if not chunk else max(buf.rfind(b"<"), 0)
                if cut == 0 and len(buf) > 2 * _SCAN_CHUNK:
                    if is_sheet:  # Excel keeps a cell's text under 32,767 characters; this hides a tag
                        raise Refused(_broken_message(info.filename, "2 MB を超える切れ目のない部分があります"))
                    cut = len(buf) - 64
                if is_sheet:
                    tags = _SHEET_TAG.findall(buf, 0, cut)
                    scan.rows += tags.count(b"row")
                    scan.cells += tags.count(b"c")
                    scan.formulas = scan.formulas or b"f" in tags
                    if b"mergeCell" in buf:
                        _scan_merges(scan, buf, cut, info.filename)
                carry = buf[cut:]
                if not chunk:
                    return scan
    except Refused:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise Refused(_broken_message(info.filename, "展開できません")) from error


@dataclass(frozen=True)
class SheetPart:
    """One worksheet of the package: its title, zip part and what the byte scan found."""

    title: str
    part: str
    rows: int
    cells: int
    formulas: bool
    merged_cells: int = 0
    widest_merge: str = ""


@dataclass(frozen=True)
class CheckedPackage:
    """A workbook package that passed every check, ready for openpyxl."""

    data: bytes
    sheets: tuple[SheetPart, ...] = field(default=())

    def formula_sheets(self) -> dict[str, str]:
        """Title → zip part of every worksheet holding at least one formula."""
        return {s.title: s.part for s in self.sheets if s.formulas}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attribute(element, name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _read_xml(archive: zipfile.ZipFile, part: str):
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(archive.read(part))
    except ParseError as error:
        raise Refused(_broken_message(part, _parse_position(error))) from error
    except DefusedXmlException as error:
        raise Refused(_entity_message(part)) from error


def _parse_position(error: ParseError) -> str:
    line, column = getattr(error, "position", (0, 0))
    return f"XML の {line} 行目 {column + 1} 文字目で読めなくなります" if line else "XML として読めません"


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base_dir, target))


def _workbook_part(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    """Find the workbook part the way Office does: through the package relationships."""
    if "_rels/.rels" in names:
        for rel in _read_xml(archive, "_rels/.rels"):
            if (rel.get("Type") or "").endswith("/officeDocument"):
                target = _resolve("", rel.get("Target") or "")
                if target in names:
                    return target
    candidates = sorted(n for n in names if n.lower().endswith("workbook.xml") and "_rels" not in n)
    return candidates[0] if candidates else None


def _sheet_titles(archive: zipfile.ZipFile, workbook: str, names: set[str]) -> dict[str, str]:
    """Zip part → sheet title, read from the workbook and its relationships."""
    base = posixpath.dirname(workbook)
    rels_part = posixpath.join(base, "_rels", posixpath.basename(workbook) + ".rels")
    targets: dict[str, str] = {}
    if rels_part in names:
        for rel in _read_xml(archive, rels_part):
            targets[rel.get("Id") or ""] = _resolve(base, rel.get("Target") or "")
    titles = {}
    for element in _read_xml(archive, workbook).iter():
        if _local(element.tag) == "sheet":
            part = targets.get(_attribute(element, "id") or "")
            if part:
                titles[part] = element.get("name") or part
    return titles


def _not_a_workbook(names: set[str]) -> str:
    lowered = {n.lower() for n in names}
    if "word/document.xml" in lowered:
        what = "（Word の文書です）"
    elif "ppt/presentation.xml" in lowered:
        what = "（PowerPoint のファイルです）"
    elif "content.xml" in lowered and "mimetype" in lowered:
        what = "（LibreOffice などの OpenDocument 形式です）"
    else:
        what = ""
    return (
        f"zip 形式のファイルですが、Excel ブックが入っていません{what}。"
        "回答を入力した Excel ブック（.xlsx）を指定してください。"
    )


def _check_zip(data: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo], set[str]]:
    """The zip-level checks every package gets: complete, not a bomb, no zip password, usual compression."""
    entries = _declared_entries(data)
    if entries is None:
        raise Refused(TRUNCATED)
    if entries > MAX_PARTS:
        raise Refused(
            f"ブックの中の部品が多すぎます（{entries:,} 個。上限は {MAX_PARTS:,} 個）。"
            "作成元を確かめ、Excel で開いて保存し直したファイルを使ってください。"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error) as error:
        raise Refused(TRUNCATED) from error
    names = {info.filename for info in infos}
    if any(n.lower() == "xl/workbook.bin" for n in names):
        raise Refused(XLSB)
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise Refused(
            f"展開すると {size_text(total)}（{total:,} バイト）になり、上限（{MAX_UNCOMPRESSED_BYTES // MB} MB）を超えます。"
            "圧縮爆弾（zip bomb）の可能性があるため読みません。回答のシートだけを残して保存し直したファイルを使ってください。"
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise Refused(
                f"ブックの中の {info.filename} の圧縮率が異常に高く（{ratio:,.0f} 倍。上限は {MAX_COMPRESSION_RATIO} 倍）、"
                "圧縮爆弾（zip bomb）の可能性があるため読みません。作成元を確かめ、信頼できる元のファイルを用意してください。"
            )
        if info.flag_bits & 0x1:
            raise Refused("zip のパスワードがかかっています。パスワードを外して「Excel ブック（.xlsx）」として保存し直してください。")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused(
                "Excel が使わない圧縮方式で作られています。Excel で開いて「Excel ブック（.xlsx）」として保存し直してください。"
            )
    return archive, infos, names


def check_package(data: bytes) -> CheckedPackage:
    """Check a zip package before openpyxl opens it: a workbook inside, no bomb, within every limit."""
    archive, infos, names = _check_zip(data)
    if "[Content_Types].xml" not in names or not any("workbook" in n.lower() for n in names):
        raise Refused(_not_a_workbook(names))
    # Every XML part is scanned for a DTD before any of them is parsed, even the small ones.
    scans = {
        info.filename: _scan_part(archive, info, bool(_SHEET_PART.search(info.filename)))
        for info in infos
        if info.filename.lower().endswith(_XML_SUFFIXES)
    }
    workbook = _workbook_part(archive, names)
    if workbook is None:
        raise Refused(_not_a_workbook(names))
    titles = _sheet_titles(archive, workbook, names)
    long_parts = [part for part, scan in scans.items() if scan.long_run]
    if long_parts:
        _long_cells(archive, long_parts, titles)
    sheets = tuple(
        SheetPart(titles.get(part, part), part, scan.rows, scan.cells, scan.formulas, scan.merged_cells,
                  scan.widest_merge)
        for part, scan in scans.items() if _SHEET_PART.search(part)
    )
    for sheet in sheets:
        if sheet.rows > MAX_ROWS_PER_SHEET:
            raise Refused(
                f"シート「{sheet.title}」の行が多すぎます（{sheet.rows:,} 行。上限は {MAX_ROWS_PER_SHEET:,} 行）。"
                "回答のない行を削除するか、ファイルを分けて保存し直してください。"
            )
    _check_workbook_totals(sheets)
    return CheckedPackage(data, sheets)


def _check_workbook_totals(sheets: tuple[SheetPart, ...]) -> None:
    """Refuse a workbook whose sheets together pass the row, merged-cell or cell limit.

    One row per limit: the SheetPart field summed over all sheets, the limit (read at call
    time), and the message for the total found.
    """
    def widest() -> SheetPart:
        return max(sheets, key=lambda s: s.merged_cells)

    limits: tuple[tuple[str, int, Callable[[int], str]], ...] = (
        ("rows", MAX_ROWS_TOTAL, lambda rows: (
            f"ブック全体の行が多すぎます（{len(sheets)} シートで合わせて {rows:,} 行。上限はブック全体で {MAX_ROWS_TOTAL:,} 行）。"
            "非表示のシートも数えます。回答以外のシートや回答のない行を削除して保存し直すか、ファイルを分けてください。"
        )),
        ("merged_cells", MAX_MERGED_CELLS, lambda merged: (
            f"シート「{widest().title}」の結合セルが広すぎます（結合された範囲がブック全体で {merged:,} セル分。"
            f"上限は {MAX_MERGED_CELLS:,} セル分。いちばん広いのは {widest().widest_merge}）。"
            "Excel で結合を解除する（「セルを結合して中央揃え」を外す）か、結合を回答の表の中だけにして保存し直してください。"
        )),
        ("cells", MAX_CELLS, lambda cells: (
            f"セルが多すぎます（ブック全体で {cells:,} 個。上限は {MAX_CELLS:,} 個）。"
            "回答以外のシートや、書式だけが入った行・列を削除して保存し直すか、ファイルを分けてください。"
        )),
    )
    for measure, limit, message in limits:
        total = sum(getattr(sheet, measure) for sheet in sheets)
        if total > limit:
            raise Refused(message(total))


ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def check_ods_package(data: bytes) -> None:
    """Check an OpenDocument spreadsheet (.ods) before it is parsed: the zip checks and no DTD in any XML part."""
    archive, infos, names = _check_zip(data)
    mimetype = archive.read("mimetype").strip() if "mimetype" in names else b""
    if "content.xml" not in names or mimetype != ODS_MIMETYPE:
        raise Refused("OpenDocument スプレッドシート（.ods）ではありません。LibreOffice Calc などで開き、"
                      "「ODF スプレッドシート（.ods）」か「Excel ブック（.xlsx）」として保存し直してください。")
    for info in infos:
        if info.filename.lower().endswith(_XML_SUFFIXES):
            _scan_part(archive, info, False)


def used_area_message(title: str, rows: int, columns: int, total: int, farthest: str) -> str:
    """Refusal for sheets whose used rectangle (A1 to the farthest value) is above MAX_USED_AREA."""
    whole = f"ブック全体では {total:,} セル分。" if total != rows * columns else ""
    return (
        f"シート「{title}」で使われている範囲が広すぎます（A1 から {rows:,} 行 × {columns:,} 列 = {rows * columns:,} セル分。"
        f"{whole}上限はブック全体で {MAX_USED_AREA:,} セル分）。{farthest} に値があります。"
        "回答の表から離れたセルの値や結合を削除して保存し直してください。"
    )


def explain_load_failure(data: bytes, error: Exception) -> str:
    """Explain in Japanese why openpyxl could not open a package that passed check_package."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    cause: BaseException | None = error
    while cause is not None:  # openpyxl re-raises parser errors as ValueError "from" the original
        if isinstance(cause, DefusedXmlException):
            return _entity_message("XML")
        cause = cause.__cause__ or cause.__context__
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        for info in archive.infolist():
            if not info.filename.lower().endswith(_XML_SUFFIXES):
                continue
            try:
                with archive.open(info) as stream:
                    for _event, element in iterparse(stream):
                        element.clear()
            except ParseError as parse_error:
                return _broken_message(info.filename, _parse_position(parse_error))
            except DefusedXmlException:
                return _entity_message(info.filename)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
        return TRUNCATED
    if isinstance(error, KeyError):
        return _broken_message("ブック", f"必要な部品が欠けています: {error}")
    return _broken_message("ブック", type(error).__name__)

