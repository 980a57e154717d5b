"""Readers of tabular sources (importers/table.py and importers/formats/)."""

from __future__ import annotations

import json

import pytest

from importers import run_import
from importers.findings import Findings
from importers.source import Source
from importers.table import read_json_rows


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


def test_a_nested_fnsi_json_value_stays_json_not_python_text(tmp_path):
    f = tmp_path / "nested.json"
    f.write_text(json.dumps([{"ID": "1", "CODES": ["A00.0", "A00.1"], "META": {"ЯЗЫК": "ru", "OK": True}}]),
                 encoding="utf-8")
    rows = list(read_json_rows(Source.from_path(f), Findings(str(f))).rows)
    assert rows == [("record 1", ["1", '["A00.0", "A00.1"]', '{"ЯЗЫК": "ru", "OK": true}'], None)]


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


def test_blank_lines_before_the_header_are_skipped_with_a_warning(sqlite_store, runner, tmp_path):
    # `printf '\ncode,display\nA,Alpha\n'`: an IndexError traceback once
    from cli import cli
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="local", title="Local"))
    f = tmp_path / "b.csv"
    f.write_bytes(b"\ncode,display\nA,Alpha\n")
    result = runner.invoke(cli, ["import", str(f), "--catalog", "local", "--version", "1", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert f"Warning: {f}, row 1: a blank line before the header was skipped" in result.stderr.splitlines()
    assert [(e["code"], e["display"]) for e in sqlite_store.iter_entries("local", "1")] == [("A", "Alpha")]


def test_several_blank_and_white_space_lines_keep_the_line_numbers_of_the_file(sqlite_store, runner, tmp_path):
    from import_checks import assert_refused
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "spaced.csv"
    f.write_bytes(b"\r\n   \r\n\t,  \r\ncode,display\r\nA,Alpha\r\n  \r\nB,Beta\r\nA,Again\r\n")
    assert_refused(runner, sqlite_store, f, ["--format", "csv"],
                   f"{f}, row 8, column code: duplicate code A (first at row 5)")
    f.write_bytes(f.read_bytes().replace(b"A,Again", b"C,Gamma"))
    report = run_import(sqlite_store, f, catalog="t", version="1", format="csv")
    assert report.entries == 3  # the white-space line between A and B is no row either
    assert [str(w) for w in report.warnings] == [f"{f}, row 1: 3 blank lines before the header (rows 1-3) were skipped"]


@pytest.mark.parametrize("data", [b"\n", b"\n\n\n", b"  \n\t\n", b"   ", b"\r\n,,\r\n"])
def test_a_file_of_blank_lines_only_is_refused_as_empty(sqlite_store, runner, tmp_path, data):
    from import_checks import assert_refused
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "blank.csv"
    f.write_bytes(data)
    assert_refused(runner, sqlite_store, f, ["--format", "csv"], f"{f}: the file holds only blank lines")


@pytest.mark.parametrize("profile", ["icd10-ru-fnsi", None])
def test_blank_first_line_of_an_fnsi_file_does_not_hide_its_delimiter(sqlite_store, tmp_path, profile):
    f = tmp_path / "fnsi.csv"
    f.write_text("\n\nID;REC_CODE;MKB_CODE;MKB_NAME;ID_PARENT;ADDL_CODE;ACTUAL;DATE\n"
                 "1;01;A00-B99;Некоторые инфекционные болезни;;;1;\n"
                 "2;0101;A00-A09;Кишечные инфекции;1;;1;\n"
                 "3;0101A00;A00;Холера;2;;1;15.03.2024\n", encoding="utf-8")
    if profile is None:
        from registry.models import CatalogCreate
        sqlite_store.create_catalog(CatalogCreate(slug="icd10-ru", title="МКБ-10"))
    report = run_import(sqlite_store, f, catalog="icd10-ru", version="1", profile=profile, format="fnsi")
    assert report.entries == 3
    entries = {e["code"]: e for e in sqlite_store.iter_entries("icd10-ru", "1")}
    assert entries["A00"]["display"] == "Холера" and entries["A00"]["parents"] == ["A00-A09"]


def test_blank_lines_before_header_less_rows_are_skipped(sqlite_store, tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text('[profile]\nname = "p"\nformat = "csv"\n[catalog]\ntitle = "P"\n'
                       '[read]\nheader = false\ncolumns = ["code", "display"]\n'
                       '[fields]\ncode = "code"\ndisplay = "display"\n', encoding="utf-8")
    f = tmp_path / "rows.csv"
    f.write_bytes(b"\n \nA,Alpha\nA,Again\n")
    from registry.errors import ImportRejected
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, f, catalog="p", version="1", profile=str(profile))
    assert str(err.value.problems[0]) == f"{f}, row 4, column code: duplicate code A (first at row 3)"
