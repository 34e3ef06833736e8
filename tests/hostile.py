"""Build broken, hostile and protected questionnaire files for tests (real bytes on disk, no mocks)."""
from __future__ import annotations

import io
import random
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

from workbooks import canonical

ROWS = [[1, "NPO", "みどりの輪", "思う", "顔が見える関係が大事。", None],
        [2, "職員", "環境政策課", "思わない", "人手が足りない。", None]]
MB = 1024 * 1024


def valid(path: Path) -> Path:
    """A small valid canonical workbook."""
    return canonical(path, ROWS)


def rezip(source: Path, target: Path, change: Callable[[str, bytes], bytes | None] = lambda n, d: d,
          extra: dict[str, bytes] | None = None) -> Path:
    """Copy a zip package entry by entry, changing (or dropping, for None) entries, adding others."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return target


def _billion_laughs(root: str) -> bytes:
    """A tiny XML document whose entities expand to about 3 GB if a parser resolves them."""
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    ]
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {root} [\n' + "\n".join(entities) + "\n]>\n"
            ).encode() + root_element(root)


def root_element(root: str) -> bytes:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    if root == "sst":
        return f'<sst xmlns="{ns}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'.encode()
    return (f'<worksheet xmlns="{ns}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c>'
            '</row></sheetData></worksheet>').encode()


def entity_bomb_sheet(folder: Path) -> Path:
    """A workbook whose first sheet is a billion-laughs document."""
    return rezip(valid(folder / "src_bomb_sheet.xlsx"), folder / "entity_bomb_sheet.xlsx",
                 lambda n, d: _billion_laughs("worksheet") if n == "xl/worksheets/sheet1.xml" else d)


SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def with_shared_strings(source: Path, target: Path, sst: bytes) -> Path:
    """Rewrite a workbook so that its title cell A1 reads string 0 of a sharedStrings part ``sst``.

    openpyxl writes inline strings; Excel writes shared strings, which is where this puts them.
    """
    def change(name: str, data: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            start = data.index(b'<c r="A1"')
            end = data.index(b"</c>", start) + len(b"</c>")
            return data[:start] + b'<c r="A1" t="s"><v>0</v></c>' + data[end:]
        if name == "[Content_Types].xml":
            return data.replace(b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/>'
                                             "</Types>".encode())
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(b"</Relationships>", f'<Relationship Id="rIdSST" Type="{SST_REL}" '
                                                     'Target="sharedStrings.xml"/></Relationships>'.encode())
        return data

    return rezip(source, target, change, extra={"xl/sharedStrings.xml": sst})


def shared_strings_xml(text: str) -> bytes:
    """A harmless sharedStrings part holding one string."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="{ns}" count="1" uniqueCount="1"><si><t>{text}</t></si></sst>'.encode()


def entity_bomb_strings(folder: Path) -> Path:
    """A workbook whose shared strings are a billion-laughs document."""
    return with_shared_strings(valid(folder / "src_bomb_sst.xlsx"), folder / "entity_bomb_strings.xlsx",
                               _billion_laughs("sst"))


def zip_bomb_total(folder: Path, size: int = 201 * MB) -> Path:
    """A valid workbook plus one part of zeros: tiny on disk, over 200 MB unpacked."""
    target = rezip(valid(folder / "src_zip_total.xlsx"), folder / "zip_bomb_total.xlsx")
    block = bytes(MB)
    with zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("xl/media/image1.bin", "w", force_zip64=True) as part:
            for _ in range(size // MB):
                part.write(block)
    return target


def zip_bomb_ratio(folder: Path) -> Path:
    """A valid workbook plus a 2 MB part of zeros (compression ratio about 1000)."""
    return rezip(valid(folder / "src_zip_ratio.xlsx"), folder / "zip_bomb_ratio.xlsx",
                 extra={"xl/worksheets/sheet1_pad.bin": bytes(2 * MB)})


def _sheet_with_rows(rows: int, cells_per_row: int, seed: int = 1) -> bytes:
    """A worksheet of ``rows`` rows of random numbers (random, so that it compresses like real data)."""
    rng = random.Random(seed)
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{ns}"><sheetData>']
    for r in range(1, rows + 1):
        cells = "".join(f"<c><v>{rng.randrange(10 ** 6)}</v></c>" for _ in range(cells_per_row))
        parts.append(f'<row r="{r}">{cells}</row>')
    parts.append("</sheetData></worksheet>")
    return "".join(parts).encode()


def too_many_rows(folder: Path, rows: int = 100_001) -> Path:
    """A workbook whose sheet has one row more than the row limit."""
    sheet = _sheet_with_rows(rows, 1)
    return rezip(valid(folder / "src_rows.xlsx"), folder / "too_many_rows.xlsx",
                 lambda n, d: sheet if n == "xl/worksheets/sheet1.xml" else d)


def too_many_cells(folder: Path, rows: int = 50_001, per_row: int = 10) -> Path:
    """A workbook of 500,010 cells (over the cell limit, under the row limit)."""
    sheet = _sheet_with_rows(rows, per_row)
    return rezip(valid(folder / "src_cells.xlsx"), folder / "too_many_cells.xlsx",
                 lambda n, d: sheet if n == "xl/worksheets/sheet1.xml" else d)


def too_large_file(folder: Path, size: int = 50 * MB + 1) -> Path:
    """A file above the size limit (sparse: it takes no disk space)."""
    path = folder / "too_large.xlsx"
    with path.open("wb") as handle:
        handle.write(b"PK\x03\x04")
        handle.truncate(size)
    return path


def truncated(folder: Path) -> Path:
    """The first half of a valid workbook, as a broken download leaves it."""
    data = valid(folder / "src_truncated.xlsx").read_bytes()
    path = folder / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def damaged_xml(folder: Path) -> Path:
    """A valid zip whose sheet1.xml is cut in half."""
    return rezip(valid(folder / "src_damaged.xlsx"), folder / "damaged_xml.xlsx",
                 lambda n, d: d[: len(d) // 2] if n == "xl/worksheets/sheet1.xml" else d)


def xlsb(folder: Path) -> Path:
    """A zip laid out like an Excel binary workbook (xl/workbook.bin)."""
    path = folder / "binary.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org'
                                                '/package/2006/content-types"/>')
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00" * 10)
        archive.writestr("xl/worksheets/sheet1.bin", b"\x00" * 64)
    return path


def zip_without_workbook(folder: Path) -> Path:
    """An ordinary zip archive named .xlsx."""
    path = folder / "archive.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("回答/2017.csv", "回答者ID,区分\n1,市民\n")
    return path


def encrypt(source: Path, target: Path, password: str) -> Path:
    """Encrypt a workbook the way Excel does ("Encrypt with password"), with msoffcrypto-tool."""
    from msoffcrypto.format.ooxml import OOXMLFile

    with source.open("rb") as plain:
        out = io.BytesIO()
        OOXMLFile(plain).encrypt(password, out)
    target.write_bytes(out.getvalue())
    return target


def old_xls(folder: Path) -> Path:
    """An OLE2 compound file with a "Workbook" stream, which is what Excel 97-2003 writes.

    olefile cannot create compound files, so the container of an encrypted workbook is
    reused with its EncryptionInfo stream renamed "Workbook" (directory names are fixed
    64-byte UTF-16 fields, so the rename keeps the container valid).
    """
    data = bytearray(encrypt(valid(folder / "src_xls.xlsx"), folder / "src_xls_enc.xlsx", "x").read_bytes())
    old = "EncryptionInfo".encode("utf-16-le")
    at = data.index(old)
    new = "Workbook".encode("utf-16-le")
    data[at:at + 64] = new + bytes(64 - len(new))
    data[at + 64:at + 66] = (len(new) + 2).to_bytes(2, "little")
    path = folder / "old.xls"
    path.write_bytes(bytes(data))
    return path


def copy(source: Path, target: Path) -> Path:
    """Copy a file and return the copy."""
    shutil.copyfile(source, target)
    return target


def _with_sheet_xml(folder: Path, name: str, change: Callable[[bytes], bytes]) -> Path:
    """A valid workbook whose first sheet's XML is changed by ``change``."""
    return rezip(valid(folder / f"src_{name}"), folder / name,
                 lambda n, d: change(d) if n == "xl/worksheets/sheet1.xml" else d)


def _add_cells(sheet: bytes, cells: str) -> bytes:
    return sheet.replace(b"</sheetData>", f"{cells}</sheetData>".encode())


def sparse_cells(folder: Path, corner: str = "XFD20000", name: str = "sparse_cells.xlsx") -> Path:
    """A 5 KB workbook with one more cell, far away: A1 to it is a huge rectangle of empty cells."""
    row = int("".join(ch for ch in corner if ch.isdigit()))
    return _with_sheet_xml(folder, name, lambda d: _add_cells(
        d, f'<row r="{row}"><c r="{corner}" t="inlineStr"><is><t>x</t></is></c></row>'))


def sparse_corner(folder: Path) -> Path:
    """The same with the cell in the last position of an Excel sheet."""
    return sparse_cells(folder, "XFD1048576", "sparse_corner.xlsx")


def _add_merges(sheet: bytes, refs: list[str]) -> bytes:
    merges = "".join(f'<mergeCell ref="{ref}"/>' for ref in refs)
    return sheet.replace(b"</sheetData>", f'</sheetData><mergeCells count="{len(refs)}">{merges}</mergeCells>'.encode())


def merged_bomb(folder: Path) -> Path:
    """One merged range over the whole sheet (17 billion cells for openpyxl to create)."""
    return _with_sheet_xml(folder, "merged_bomb.xlsx", lambda d: _add_merges(d, ["A1:XFD1048576"]))


def merged_rows(folder: Path, rows: int = 8_800) -> Path:
    """Thousands of full-row merges (16,384 cells each), small ones after the sheet's data."""
    return _with_sheet_xml(folder, "merged_rows.xlsx",
                           lambda d: _add_merges(d, [f"A{r}:XFD{r}" for r in range(10, 10 + rows)]))


def many_sheets_rows(folder: Path, sheets: int = 2, rows: int = 75_001) -> Path:
    """Hidden sheets each under the per-sheet row limit, together over the workbook's."""
    from openpyxl import load_workbook

    source = valid(folder / "src_many_sheets.xlsx")
    workbook = load_workbook(source)
    for n in range(sheets):
        workbook.create_sheet(f"隠し{n + 1}").sheet_state = "hidden"
    workbook.save(source)
    data = {f"xl/worksheets/sheet{n + 2}.xml": _sheet_with_rows(rows, 1, seed=n) for n in range(sheets)}
    return rezip(source, folder / "many_sheets_rows.xlsx", lambda n, d: data.get(n, d))


def cut_off_csv(folder: Path) -> Path:
    """A CSV download that stopped inside a quoted comment."""
    path = folder / "cut_off.csv"
    path.write_bytes("回答者ID,区分,所属,問１　協働したいと思いますか？,その理由\r\n1,NPO,みどりの輪,思う,顔が見える関係が大事。\r\n"
                     "2,職員,環境政策課,思わない,\"人手が足りない。\r\n担当が".encode("utf-8-sig"))
    return path


def real_xlsb(folder: Path) -> Path:
    """A zip laid out like an Excel binary workbook, with its own .xlsb extension."""
    path = xlsb(folder).rename(folder / "binary.xlsb")
    return path
