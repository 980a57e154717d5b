"""ClaML (importers/claml.py): modifiers give the same entries whatever the order of the document."""

from __future__ import annotations

from pathlib import Path

import pytest

from importers import claml
from importers.mapping import Findings
from importers.source import Source
from import_checks import assert_refused

DATA = Path(__file__).resolve().parent / "data" / "importers"


def read(path: Path) -> dict[str, dict]:
    findings = Findings(str(path))
    entries = {e["code"]: {k: v for k, v in e.items() if k != "_pos"}
               for e in claml.read_entries(Source.from_path(path), findings, "en")}
    assert findings.errors == []
    return entries


def test_modifiers_in_spec_order():
    e = read(DATA / "claml_modifiers_ordered.xml")
    # F10 inherits M4 from its block; F11 narrows it to .0; F12 excludes it; F13 adds M5 to the inherited M4,
    # and passes both to its leaf F13.1
    assert sorted(c for c in e if c.startswith("F1") and len(c) > 3 and c != "F10-F19") == [
        "F10.0", "F10.2", "F11.0", "F13.1", "F13.10.0", "F13.10.2", "F13.11.0", "F13.11.2"]
    assert e["F10.2"]["display"] == "Disorders due to use of alcohol: Dependence syndrome"
    assert e["F10.2"]["attributes"] == {"kind": "modified", "modifier": "M4", "note": "Use with care"}
    assert e["F10.0"]["designations"] == [{"language": "en", "use": "inclusion", "text": "Drunkenness NOS"}]
    assert e["F13.11.0"]["display"] == "Harmful use: with complication: Acute intoxication"
    assert e["F13.11.0"]["attributes"]["modifier"] == "M5 M4"
    assert e["F13.11.0"]["parents"] == ["F13.1"]


def test_reordered_document_gives_the_same_entries():
    assert read(DATA / "claml_modifiers_reordered.xml") == read(DATA / "claml_modifiers_ordered.xml")


def test_modifier_without_modifier_classes_is_still_an_error(sqlite_store, runner, tmp_path):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    text = (DATA / "claml_modifiers_reordered.xml").read_text(encoding="utf-8")
    f = tmp_path / "missing.xml"
    f.write_text(text.replace('modifier="M5"', 'modifier="M9"'), encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "claml"],
                   "column ModifiedBy: class F13.1 is modified by M5, which has no ModifierClass")


@pytest.mark.parametrize("name", ["claml_modifiers_ordered.xml", "claml_modifiers_reordered.xml"])
def test_modifier_fixtures_import(sqlite_store, name):
    from importers import run_import
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T", language="en"))
    report = run_import(sqlite_store, DATA / name, catalog="t", version="1", format="claml")
    assert report.entries == 14


def test_unknown_superclass_is_named_as_claml_names_it(sqlite_store, runner, tmp_path):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "orphan.xml"
    f.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<ClaML version="2.0.0"><Meta name="lang" value="en"/>'
                 '<Title name="t" version="1">T</Title>\n'
                 '<Class code="A00" kind="category"><SuperClass code="A00-A09"/><Rubric kind="preferred">'
                 '<Label xml:lang="en">Cholera</Label></Rubric></Class>\n</ClaML>\n', encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "claml"],
                   f"{f}, row 3 (/ClaML/Class[@code='A00']), column SuperClass: entry A00 has unknown parent A00-A09")
