"""xlsx workbooks by profile (importers/formats/xlsx.py)."""

from __future__ import annotations

import pytest

from importers import run_import
from registry.errors import ImportRejected


def entries_of(store, slug, version="latest"):
    return {e["code"]: e for e in store.iter_entries(slug, version)}


def write_xlsx(path, rows, sheet="ATC", title_rows=()):
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    for r in list(title_rows) + list(rows):
        ws.append(r)
    wb.save(path)


def test_xlsx_profile_reads_sheet_by_name(sqlite_store, tmp_path):
    rows = [["atc_code", "atc_name", "ddd", "uom", "adm_r", "note"], ["A", "ALIMENTARY", "NA", "NA", "NA", "NA"],
            ["A02", "ACID", "NA", "NA", "NA", "NA"], ["A02B", "ULCER", "NA", "NA", "NA", "NA"],
            ["A02BC", "PPI", "NA", "NA", "NA", "NA"], ["A02BC01", "omeprazole", 20, "mg", "O", "NA"]]
    book = tmp_path / "atc.xlsx"
    write_xlsx(book, rows)
    run_import(sqlite_store, book, catalog="atc", version="1", profile="atc-who-xlsx")
    e = entries_of(sqlite_store, "atc", "1")
    assert e["A02BC01"] == {"code": "A02BC01", "display": "omeprazole", "designations": [], "parents": ["A02BC"],
                            "status": "active", "attributes": {"adm_r": "O", "ddd": "20", "uom": "mg"}}
    other = tmp_path / "other.xlsx"
    write_xlsx(other, rows, sheet="Sheet9")
    with pytest.raises(ImportRejected, match=r"no sheet 'ATC' in the workbook \(sheets: Sheet9\)"):
        run_import(sqlite_store, other, catalog="atc", version="2", profile="atc-who-xlsx")


def test_xlsx_actual_decompressed_size_is_capped(sqlite_store, tmp_path, monkeypatch):
    rows = [["atc_code", "atc_name", "ddd", "uom", "adm_r", "note"]] + [[f"A{i:06d}", "x" * 200, "", "", "", ""]
                                                                          for i in range(6000)]
    book = tmp_path / "big.xlsx"
    write_xlsx(book, rows)
    assert book.stat().st_size < 1024 * 1024
    monkeypatch.setenv("NSI_XLSX_MAX_UNCOMPRESSED_MB", "1")
    with pytest.raises(ImportRejected, match="NSI_XLSX_MAX_UNCOMPRESSED_MB=1"):
        run_import(sqlite_store, book, catalog="atc", version="1", profile="atc-who-xlsx")
