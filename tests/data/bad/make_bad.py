"""Writes the bad-file corpus of this folder (run once; the outputs are committed, all tiny).

    python tests/data/bad/make_bad.py

Each file is refused by `nsi import` with a clear error and nothing stored
(tests/test_importers_bad.py). The zip bomb is a few hundred bytes: its
sheet member *declares* 4 GiB uncompressed, which the importer refuses before
decompressing anything.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CANONICAL_HEADER = "code,display,parents,status,designations,attributes\n"

WORKBOOK = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><sheets><sheet name="ATC" sheetId="1"/></sheets></workbook>')


def zip_bomb() -> bytes:
    """A tiny xlsx-shaped zip whose sheet declares 4 GiB uncompressed (headers patched after writing)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/worksheets/sheet1.xml", b"<worksheet>" + b" " * 4096 + b"</worksheet>")
    data = bytearray(buf.getvalue())
    huge = 0xFFFFFFF0
    # local file header: signature PK\3\4, uncompressed size at offset 22; central directory PK\1\2, at offset 24
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (i := data.find(signature, start)) >= 0:
            name_len = struct.unpack_from("<H", data, i + (26 if signature == b"PK\x03\x04" else 28))[0]
            name_at = i + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + name_len] == b"xl/worksheets/sheet1.xml":
                struct.pack_into("<I", data, i + offset, huge)
            start = i + 4
    return bytes(data)


def truncated_xlsx() -> bytes:
    """A real two-row workbook cut in the middle (its central directory is lost)."""
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "ATC"
    ws.append(["atc_code", "atc_name", "ddd", "uom", "adm_r", "note"])
    ws.append(["A", "ALIMENTARY TRACT AND METABOLISM", "NA", "NA", "NA", "NA"])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    return data[: len(data) // 2]


FILES = {
    "xxe.xml": ('<?xml version="1.0"?>\n<!DOCTYPE ClaML [\n  <!ENTITY secret SYSTEM "file:///etc/passwd">\n]>\n'
                '<ClaML version="2.0.0"><Title name="x">XXE</Title>\n'
                '<Class code="A00" kind="category"><Rubric kind="preferred"><Label xml:lang="en">&secret;</Label>'
                '</Rubric></Class></ClaML>\n').encode(),
    "billion_laughs.xml": ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n  <!ENTITY lol "lol">\n'
                           + "".join(f'  <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                                     for i in range(1, 10))
                           + ']>\n<ClaML version="2.0.0"><Class code="A00" kind="category"><Rubric kind="preferred">'
                             '<Label xml:lang="en">&lol9;</Label></Rubric></Class></ClaML>\n').encode(),
    "zip_bomb.xlsx": None,
    "truncated.xlsx": None,
    "cp1251_as_utf8.csv": (CANONICAL_HEADER + "A00,Холера,,active,,\nA01,Тиф и паратиф,,active,,\n").encode("cp1251"),
    "duplicate_codes.csv": (CANONICAL_HEADER + "A00,Cholera,,active,,\nA01,Typhoid,,active,,\n"
                            "A00,Cholera again,,active,,\n").encode(),
    "unknown_parent.csv": (CANONICAL_HEADER + "A00,Cholera,A00-A09,active,,\n").encode(),
    "parent_cycle.csv": (CANONICAL_HEADER + "A00,Cholera,A01,active,,\nA01,Typhoid,A00,active,,\n").encode(),
    "wrong_header.csv": b"Kod;Naimenovanie\nA00;Cholera\n",
    "empty.csv": b"",
    "random.bin": random.Random(20240601).randbytes(2048),
    "truncated.xml": b'<?xml version="1.0"?>\n<ClaML version="2.0.0"><Class code="A00" kind="category">'
                     b'<Rubric kind="preferred"><Label xml:lang="en">Chol',
}


def main() -> None:
    """Write every corpus file next to this script."""
    for name, data in FILES.items():
        if name == "zip_bomb.xlsx":
            data = zip_bomb()
        elif name == "truncated.xlsx":
            data = truncated_xlsx()
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
