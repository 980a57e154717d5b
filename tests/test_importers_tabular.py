"""Readers of tabular sources (importers/tabular.py)."""

from __future__ import annotations

import json

from importers import run_import
from importers.mapping import Findings
from importers.source import Source
from importers.tabular import read_json_rows


def _fnsi_records(n: int) -> list[dict]:
    return [{"ID": i, "MKB_CODE": f"A{i:05d}", "MKB_NAME": f"name {i}", "ID_PARENT": None, "ACTUAL": 1}
            for i in range(1, n + 1)]


def test_json_header_has_keys_first_seen_after_the_first_thousand_records(tmp_path):
    records = _fnsi_records(1500)
    records[1200]["DATE"] = "15.03.2024"
    f = tmp_path / "late.json"
    f.write_text(json.dumps({"records": records}), encoding="utf-8")
    table = read_json_rows(Source.from_path(f), Findings(str(f)))
    assert table.header == ["ID", "MKB_CODE", "MKB_NAME", "ID_PARENT", "ACTUAL", "DATE"]
    rows = list(table.rows)
    assert rows[0] == ("record 1", ["1", "A00001", "name 1", "", "1", ""], None)
    assert rows[1200][1][5] == "15.03.2024"


def test_fnsi_json_key_appearing_late_is_imported(sqlite_store, tmp_path):
    records = _fnsi_records(1100)
    records[1050]["DATE"] = "15.03.2024"   # the profile's optional DATE column: changed_on
    records[1060]["ADDL_CODE"] = "1"       # a column the profile requires, first seen after record 1000
    f = tmp_path / "late.json"
    f.write_text(json.dumps(records), encoding="utf-8")
    report = run_import(sqlite_store, f, catalog="icd10-ru", version="1", profile="icd10-ru-fnsi")
    assert report.entries == 1100
    entries = {e["code"]: e for e in sqlite_store.iter_entries("icd10-ru", "1")}
    kept = {"fnsi_id", "mkb_code", "mkb_name", "actual"}  # the export's columns, kept verbatim by the profile
    assert entries["A01051"]["attributes"].keys() - kept == {"changed_on"}
    assert entries["A01051"]["attributes"]["changed_on"] == "2024-03-15"
    assert entries["A01061"]["attributes"].keys() - kept == {"addl_code"}
    assert entries["A01061"]["attributes"]["addl_code"] == "1"
    assert entries["A00001"]["attributes"] == {"fnsi_id": "1", "mkb_code": "A00001", "mkb_name": "name 1",
                                               "actual": "1"}


def test_fnsi_json_column_empty_in_every_record_is_an_empty_column(sqlite_store, runner, tmp_path):
    # FNSI leaves empty keys out: a flat register's JSON has no ID_PARENT and no ADDL_CODE at all
    f = tmp_path / "flat.json"
    f.write_text(json.dumps({"records": [{"ID": 1, "MKB_CODE": "A00", "MKB_NAME": "Холера", "ACTUAL": 1},
                                         {"ID": 2, "MKB_CODE": "A01", "MKB_NAME": "Тиф", "ACTUAL": 0}]}),
                 encoding="utf-8")
    report = run_import(sqlite_store, f, catalog="icd10-ru", version="1", profile="icd10-ru-fnsi")
    assert report.entries == 2
    assert [(e["code"], e["status"], e["parents"], e["attributes"])
            for e in sqlite_store.iter_entries("icd10-ru", "1")] == [
        ("A00", "active", [], {"fnsi_id": "1", "mkb_code": "A00", "mkb_name": "Холера", "actual": "1"}),
        ("A01", "inactive", [], {"fnsi_id": "2", "mkb_code": "A01", "mkb_name": "Тиф", "actual": "0"})]
    # records sharing none of the profile's columns are another layout: still a wrong header
    from import_checks import assert_refused
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"Kod": "A00", "Name": "Холера"}]), encoding="utf-8")
    sqlite_store.discard("icd10-ru", "1")
    assert_refused(runner, sqlite_store, other, ["--profile", "icd10-ru-fnsi"], "wrong header", catalog="icd10-ru")


def test_json_record_that_is_not_an_object_is_named(tmp_path):
    import pytest
    from registry.errors import ImportRejected
    f = tmp_path / "mixed.json"
    f.write_text(json.dumps({"records": [{"ID": 1}, 7]}), encoding="utf-8")
    with pytest.raises(ImportRejected) as info:
        read_json_rows(Source.from_path(f), Findings(str(f)))
    assert str(info.value.problems[0]) == (f'{f}, record 2: expected a JSON list of row objects or '
                                           f'{{"records": [...]}}; this record is a number')


def test_json_without_records_says_so(sqlite_store, runner, tmp_path):
    from import_checks import assert_refused
    f = tmp_path / "none.json"
    f.write_text('{"records": []}', encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", "icd10-ru-fnsi"], f"{f}: the file holds no records",
                   catalog="icd10-ru")
