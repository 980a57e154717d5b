"""The pipeline's own reader for the registry's CSV export (importers/formats/csv.py `read_canonical`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import cli

from import_checks import assert_refused


@pytest.mark.parametrize("column", ["designations", "attributes"])
def test_deeply_nested_json_cell_is_refused_with_row_and_column(sqlite_store, runner, tmp_path, column):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    deep = "[" * 100_000 + "]" * 100_000
    cells = {"designations": "", "attributes": ""}
    cells[column] = deep
    f = tmp_path / "export.csv"
    f.write_text("code,display,parents,status,designations,attributes\n"
                 f"A00,Cholera,,active,{cells['designations']},{cells['attributes']}\n", encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "csv"],
                   f"{f}, row 2, column {column}: the JSON is nested too deeply")


def test_invalid_json_cell_names_row_column_and_place(sqlite_store, runner, tmp_path):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "export.csv"
    f.write_text('code,display,parents,status,designations,attributes\nA00,Cholera,,active,,"{""a"": }"\n',
                 encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "csv"],
                   f"{f}, row 2, column attributes: not valid JSON: Expecting value at column 7")


def test_format_other_than_the_profiles_is_refused_before_reading(sqlite_store, runner, tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("Provider ID,Hospital Name\n010001,Southeast\n", encoding="utf-8")
    result = runner.invoke(cli, ["import", str(f), "--catalog", "facilities-cms", "--version", "1",
                                 "--profile", "facilities-cms", "--format", "xml"])
    assert (result.exit_code, result.stderr) == (1, (
        "Error: profile facilities-cms is written for csv files, not xml: its [read] and [fields] tables name "
        "what a csv file holds; leave out --format, or use a profile for xml (see docs/importers.md)\n"))
    assert not sqlite_store.has_catalog("facilities-cms")


def test_profile_meant_for_another_catalog_is_a_warning(sqlite_store):
    from importers import run_import
    samples = Path(__file__).resolve().parent.parent / "catalogs" / "samples"
    report = run_import(sqlite_store, samples / "icd10-ru-fnsi-2.26.csv", catalog="atc-who", version="1",
                        profile="icd10-ru-fnsi")
    assert [(w.kind, w.message) for w in report.warnings] == [
        ("other_catalog", "profile icd10-ru-fnsi is meant for catalog icd10-ru, and this file goes into atc-who: "
                          "is that the right profile?")]
    same = run_import(sqlite_store, samples / "icd10-ru-fnsi-2.26.csv", catalog="icd10-ru", version="1",
                      profile="icd10-ru-fnsi")
    assert same.warnings == []
