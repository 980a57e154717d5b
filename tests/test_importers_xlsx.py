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


def test_each_sheet_of_one_workbook_is_a_source_of_its_own(sqlite_store, tmp_path):
    """A workbook with a sheet per release: the second sheet is not refused as "the same file" as the first."""
    from openpyxl import Workbook
    book = tmp_path / "releases.xlsx"
    wb = Workbook()
    first = wb.active
    first.title = "2024"
    for row in [["code", "name"], ["A", "Alpha"]]:
        first.append(row)
    second = wb.create_sheet("2025")
    for row in [["code", "name"], ["A", "Alpha"], ["B", "Beta"]]:
        second.append(row)
    wb.save(book)
    for sheet in ("2024", "2025"):
        (tmp_path / f"{sheet}.toml").write_text(
            f'[profile]\nformat = "xlsx"\n[catalog]\ntitle = "R"\n[read]\nsheet = "{sheet}"\n'
            '[fields]\ncode = "code"\ndisplay = "name"\n', encoding="utf-8")
    reports = [run_import(sqlite_store, book, catalog="r", version=sheet, profile=str(tmp_path / f"{sheet}.toml"),
                          publish=True) for sheet in ("2024", "2025")]
    assert [(r.status, r.entries, r.added) for r in reports] == [("published", 1, 1), ("published", 2, 1)]
    again = run_import(sqlite_store, book, catalog="r", version="2025b", profile=str(tmp_path / "2025.toml"))
    assert again.status == "unchanged" and "as version 2025 of r" in again.message
