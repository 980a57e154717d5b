"""The real feeds behind the shipped profiles of catalogs/ (see catalogs/samples/README.md), read without the importer.

Each reader here is a plain-Python parse of a sample, so that the tests of
tests/test_importers_real_feeds.py compare what a profile imports with counts
and parents computed another way. `build_order_workbook` writes the workbook
sample from the genuine lines of the ICD-10-CM order file.
"""

from __future__ import annotations

import json
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "catalogs" / "samples"


def order_lines(path: Path = SAMPLES / "icd10-cm-order.txt") -> list[dict]:
    """The ICD-10-CM order file by CMS's documented positions: order 1-5, code 7-13, flag 15, short 17-76, long 78-."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append({"order": int(line[0:5]), "code": line[6:13].strip(), "billable": line[14] == "1",
                         "short": line[16:76].strip(), "long": line[77:].strip()})
    return rows


def dotted(code: str) -> str:
    """An ICD-10-CM code as the tabular list writes it (a dot after the third character)."""
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def prefix_parents(codes: list[str]) -> dict[str, list[str]]:
    """Each code's parent: the longest other code of the list that is a proper prefix of it (none: a root)."""
    present = set(codes)
    out = {}
    for code in codes:
        parent = next((code[:n] for n in range(len(code) - 1, 0, -1) if code[:n] in present), None)
        out[code] = [parent] if parent else []
    return out


def ror_records(path: Path = SAMPLES / "organisations-ror.json") -> list[dict]:
    """The ROR dump records, parsed whole."""
    return json.loads(path.read_text(encoding="utf-8"))


def subdivisions(path: Path = SAMPLES / "subdivisions-iso3166-2.xml") -> dict[str, dict]:
    """Countries and subdivisions of the iso-codes XML: code -> {name, parent, type}."""
    from lxml import etree
    out = {}
    for country in etree.parse(str(path)).getroot().iter("iso_3166_country"):
        cc = country.get("code")
        out[cc] = {"name": f"Country {cc}", "parent": None, "type": "country"}
        for subset in country.iter("iso_3166_subset"):
            for entry in subset.iter("iso_3166_2_entry"):
                parent = f"{cc}-{entry.get('parent')}" if entry.get("parent") else cc
                out[entry.get("code")] = {"name": entry.get("name"), "parent": parent, "type": subset.get("type")}
    return out


def build_order_workbook(path: Path, rows: list[dict] | None = None) -> Path:
    """The order file's lines as a two-sheet workbook with a title block and a merged two-row header."""
    from openpyxl import Workbook
    rows = order_lines() if rows is None else rows
    wb = Workbook()
    wb.remove(wb.active)
    for title, billable in (("Categories", False), ("Codes", True)):
        ws = wb.create_sheet(title)
        ws.append([f"ICD-10-CM: {title.lower()} (excerpt of the FY2026 order file)"])
        ws.append([])
        ws.append(["Order", "Code", "Description", None, "Billable"])
        ws.append([None, None, "short", "long", None])
        for r in rows:
            if r["billable"] == billable:
                ws.append([r["order"], r["code"], r["short"], r["long"], "yes" if billable else "no"])
        ws.append(["Source: CMS/NCHS ICD-10-CM order file, public domain"])
        ws.merge_cells("A1:E1")
        ws.merge_cells("C3:D3")
        for column in "ABE":
            ws.merge_cells(f"{column}3:{column}4")
    wb.save(path)
    return path
