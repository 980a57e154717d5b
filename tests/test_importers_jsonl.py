"""The canonical JSON-lines reader (importers/formats/jsonl.py): bad lines are refused with file and line."""

from __future__ import annotations

import pytest

from import_checks import assert_refused


@pytest.fixture
def catalog(sqlite_store):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    return sqlite_store


@pytest.mark.parametrize("line", ["[" * 100_000 + "]" * 100_000,
                                  '{"code": "A", "attributes": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"])
def test_deeply_nested_line_is_refused_with_its_line(catalog, runner, tmp_path, line):
    f = tmp_path / "deep.jsonl"
    f.write_text('{"code": "A00", "display": "Cholera"}\n' + line + "\n", encoding="utf-8")
    assert_refused(runner, catalog, f, ["--format", "jsonl"], f"{f}, row 2: the JSON is nested too deeply")


def test_line_that_is_not_an_object_is_refused(catalog, runner, tmp_path):
    f = tmp_path / "list.jsonl"
    f.write_text('{"code": "A00", "display": "Cholera"}\n\n[1, 2]\n', encoding="utf-8")
    assert_refused(runner, catalog, f, ["--format", "jsonl"], f"{f}, row 3: each line must be a JSON object")


@pytest.mark.parametrize("line, message", [
    ('{"code": "A01", "display": "Typhoid", "attributes": {"share": NaN}}', "not valid JSON: NaN is not a JSON number"),
    ('{"code": "A01", "display": "Typhoid", "attributes": {"share": -Infinity}}',
     "not valid JSON: -Infinity is not a JSON number"),
    ('{"code": "A01", "display": "Typhoid', "not valid JSON: Unterminated string starting at column 28"),
])
def test_lines_that_python_would_read_but_json_does_not_allow_are_refused(catalog, runner, tmp_path, line, message):
    f = tmp_path / "nan.jsonl"
    f.write_text('{"code": "A00", "display": "Cholera"}\n' + line + "\n", encoding="utf-8")
    error = assert_refused(runner, catalog, f, ["--format", "jsonl"], f"{f}, row 2: {message}")
    assert error.endswith(message)
