"""FHIR CodeSystem resources (importers/formats/fhir_codesystem.py): nested concepts, located defects."""

from __future__ import annotations

import json
import pytest

from importers import run_import
from registry.errors import ImportRejected


def entries_of(store, slug, version="latest"):
    return {e["code"]: e for e in store.iter_entries(slug, version)}


def sqlite_store_catalog(store, slug="t", language="en"):
    from registry.models import CatalogCreate
    store.create_catalog(CatalogCreate(slug=slug, title=slug.upper(), language=language))


def test_fhir_codesystem_nested_concepts(sqlite_store, tmp_path):
    resource = {"resourceType": "CodeSystem", "title": "Test units", "language": "en", "publisher": "Test",
                "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3.4"}],
                "concept": [{"code": "mass", "display": "Mass", "concept": [
                    {"code": "kg", "display": "kilogram",
                     "designation": [{"language": "ru", "use": {"code": "synonym"}, "value": "килограмм"}],
                     "property": [{"code": "factor", "valueDecimal": 1.0}]},
                    {"code": "lb", "display": "pound", "property": [{"code": "status", "valueCode": "deprecated"}]}]}]}
    f = tmp_path / "cs.json"
    f.write_text(json.dumps(resource), encoding="utf-8")
    run_import(sqlite_store, f, catalog="units", version="1")
    assert sqlite_store.get_catalog("units").oid == "1.2.3.4"
    e = entries_of(sqlite_store, "units", "1")
    assert e["kg"] == {"code": "kg", "display": "kilogram", "parents": ["mass"], "status": "active",
                       "designations": [{"language": "ru", "use": "synonym", "text": "килограмм"}],
                       "attributes": {"factor": 1.0}}
    assert e["lb"]["status"] == "deprecated"


@pytest.mark.parametrize("concept, message", [
    ({"code": "kg", "display": "kilogram", "property": "factor=1"},
     "concept[0]: property must be a list of JSON objects"),
    ({"code": "kg", "display": "kilogram", "property": {"code": "factor", "valueDecimal": 1}},
     "concept[0]: property must be a list of JSON objects"),
    ({"code": "kg", "display": "kilogram", "designation": ["килограмм"]},
     "concept[0]: designation must be a list of JSON objects"),
    ({"code": "kg", "display": "kilogram", "designation": [{"use": "synonym", "value": 5}]},
     "concept[0]: designation.value must be a string"),
    ({"code": "kg", "display": "kilogram", "concept": {"code": "g"}},
     "concept[0]: concept must be a list of JSON objects"),
])
def test_malformed_fhir_concepts_are_located(sqlite_store, tmp_path, concept, message):
    sqlite_store_catalog(sqlite_store, "units", "en")
    f = tmp_path / "cs.json"
    f.write_text(json.dumps({"resourceType": "CodeSystem", "title": "Units", "concept": [concept]}),
                 encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, f, catalog="units", version="1")
    assert [str(p) for p in err.value.problems] == [f"{f}, {message}"]
    assert sqlite_store.list_versions("units") == []


@pytest.mark.parametrize("resource, message", [
    ({"resourceType": "CodeSystem", "title": 5, "concept": [{"code": "kg"}]}, "CodeSystem.title must be a string"),
    ({"resourceType": "CodeSystem", "title": "U", "language": ["en"], "concept": [{"code": "kg"}]},
     "CodeSystem.language must be a string"),
])
def test_fhir_resource_with_wrong_types_is_refused(sqlite_store, tmp_path, resource, message):
    f = tmp_path / "cs.json"
    f.write_text(json.dumps(resource), encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, f, catalog="units", version="1")
    assert message in err.value.problems[0].message
    assert not sqlite_store.has_catalog("units")
