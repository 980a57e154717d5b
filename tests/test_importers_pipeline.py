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


def test_staging_rolls_back_on_the_importers_own_errors_without_a_fake_row(store):
    """The store asks the importer whether it found errors (`upstream_errors`) instead of being fed a bad row."""
    from registry.errors import ImportRejected
    from registry.models import CatalogCreate
    store.create_catalog(CatalogCreate(slug="t", title="T"))
    asked = []

    def upstream_errors():
        asked.append(True)
        return True
    with pytest.raises(ImportRejected) as caught:
        store.stage_draft("t", "1", [{"code": "A", "display": "a"}], upstream_errors=upstream_errors)
    assert (caught.value.problems, asked) == ([], [True])
    assert store.list_versions("t") == []
    assert store.stage_draft("t", "1", [{"code": "A", "display": "a"}], upstream_errors=lambda: False).entries == 1


def test_mapping_errors_are_counted_once_and_nothing_is_stored(sqlite_store, tmp_path):
    from importers import run_import
    from registry.errors import ImportRejected
    profile = tmp_path / "p.toml"
    profile.write_text('[profile]\nformat = "csv"\n[catalog]\ntitle = "T"\n'
                       '[fields]\ncode = "code"\ndisplay = "name"\n'
                       'attributes = { n = { column = "n", type = "integer" } }\n',
                       encoding="utf-8")
    f = tmp_path / "t.csv"
    f.write_text("code,name,n\nA,Alpha,x\nB,Bravo,2\nB,Beta,y\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        run_import(sqlite_store, f, catalog="t", version="1", profile=str(profile))
    assert [(p.row, p.kind) for p in caught.value.problems] == [
        (2, "wrong_type"), (4, "wrong_type"), (4, "duplicate_code")]
    assert caught.value.total == 3
    assert not sqlite_store.has_catalog("t")
