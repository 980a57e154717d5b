"""The hierarchy step (importers/hierarchy.py): parents by row identifier (FNSI ID/ID_PARENT)."""

from __future__ import annotations

import json

import pytest

from import_checks import assert_refused

FNSI_HEADER = "ID;REC_CODE;MKB_CODE;MKB_NAME;ID_PARENT;ADDL_CODE;ACTUAL;DATE\n"


def test_duplicate_fnsi_id_names_both_rows_and_the_id_column(sqlite_store, runner, tmp_path):
    f = tmp_path / "dup.csv"
    # rows 3 and 4 share ID 2: A00.0 (ID_PARENT 2) used to become a child of whichever row came first
    f.write_text(FNSI_HEADER + "1;01;A00;Холера;;;1;\n2;02;A01;Тиф;;;1;\n2;03;A02;Сальмонеллез;;;1;\n"
                 "4;04;A00.0;Холера 01;2;;1;\n", encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", "icd10-ru-fnsi"],
                   f"{f}, row 4, column ID: duplicate ID 2 (first at row 3)", catalog="icd10-ru")


def test_duplicate_fnsi_id_is_named_as_the_file_spells_it(sqlite_store, runner, tmp_path):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "units.json"
    f.write_text(json.dumps([{"Id": 1, "CODE": "10", "NAME": "Масса", "ID_PARENT": None},
                             {"Id": 1, "CODE": "11", "NAME": "Килограмм", "ID_PARENT": None}]), encoding="utf-8")
    profile = tmp_path / "units.toml"
    profile.write_text('[profile]\nname = "units"\nformat = "fnsi"\n[fields]\ncode = "CODE"\ndisplay = "NAME"\n'
                       '[hierarchy]\nid = "ID"\nparent_id = "ID_PARENT"\n', encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile)],
                   f"{f}, record 2, column Id: duplicate Id 1 (first at record 1)")


@pytest.mark.parametrize("rows", ["1;01;A00;Холера;;;1;\n2;02;A00.0;Холера 01;1;;1;\n",
                                  "2;01;A00;Холера;;;1;\n1;02;A00.0;Холера 01;2;;1;\n"])
def test_distinct_ids_link_parents(sqlite_store, tmp_path, rows):
    from importers import run_import
    f = tmp_path / "ok.csv"
    f.write_text(FNSI_HEADER + rows, encoding="utf-8")
    run_import(sqlite_store, f, catalog="icd10-ru", version="1", profile="icd10-ru-fnsi")
    e = {x["code"]: x for x in sqlite_store.iter_entries("icd10-ru", "1")}
    assert e["A00.0"]["parents"] == ["A00"]


def test_fnsi_parent_cycle_is_refused_naming_the_parent_column(sqlite_store, runner, tmp_path):
    f = tmp_path / "loop.csv"
    f.write_text(FNSI_HEADER + "1;01;A00;Холера;3;;1;\n2;02;A00.0;Холера 01;1;;1;\n3;03;A00.1;Холера 02;2;;1;\n",
                 encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", "icd10-ru-fnsi"],
                   f"{f}, row 2, column ID_PARENT: entries A00 → A00.1 → A00.0 → A00 form a parent cycle",
                   catalog="icd10-ru")


def test_repeated_record_under_merge_is_not_a_duplicate_id(sqlite_store, runner, tmp_path):
    from importers import run_import
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    profile = tmp_path / "merge.toml"
    profile.write_text('[profile]\nname = "merge"\nformat = "csv"\nduplicates = "merge"\n[read]\ndelimiter = ";"\n'
                       '[fields]\ncode = "CODE"\ndisplay = "NAME"\n[hierarchy]\nid = "ID"\nparent_id = "PARENT"\n',
                       encoding="utf-8")
    f = tmp_path / "repeated.csv"
    f.write_text("ID;CODE;NAME;PARENT\n1;A;Alpha;\n2;B;Beta;1\n2;B;Beta;1\n", encoding="utf-8")
    report = run_import(sqlite_store, f, catalog="t", version="1", profile=str(profile))
    assert report.entries == 2
    assert [e["parents"] for e in sqlite_store.iter_entries("t", "1")] == [[], ["A"]]
    sqlite_store.discard("t", "1")
    f.write_text("ID;CODE;NAME;PARENT\n1;A;Alpha;\n2;B;Beta;1\n2;C;Gamma;1\n", encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile)],
                   f"{f}, row 4, column ID: duplicate ID 2 (first at row 3)")
