"""The pipeline's own reader for the registry's CSV export (importers/pipeline.py `tabular_canonical`)."""

from __future__ import annotations

import pytest

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
