"""`nsi import --format fhir-codesystem | fhir-valueset | fhir-conceptmap`: resources name their catalog and version,
ValueSets are stored by url and version, ConceptMaps become published map-set versions, and bad resources are
refused naming the file and the JSON path of the field."""

from __future__ import annotations

import json

import pytest

from cli import cli

CS_URL = "http://example.org/fhir/CodeSystem/units"
CODE_SYSTEM = {
    "resourceType": "CodeSystem", "url": CS_URL, "version": "2.1", "name": "Units", "title": "Test units",
    "status": "active", "caseSensitive": False, "content": "complete",
    "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3.4"}],
    "property": [{"code": "factor", "type": "decimal"}, {"code": "inactive", "type": "boolean"},
                 {"code": "kind", "type": "code"}],
    "concept": [{"code": "mass", "display": "Mass", "definition": "How heavy", "concept": [
        {"code": "kg", "display": "kilogram",
         "designation": [{"language": "ru", "use": {"system": "http://example.org/uses", "code": "local"},
                          "value": "килограмм"}],
         "property": [{"code": "factor", "valueDecimal": 1.5}, {"code": "kind", "valueCode": "si"}]},
        {"code": "lb", "display": "pound", "property": [{"code": "inactive", "valueBoolean": True}]}]}]}
VS_URL = "http://example.org/fhir/ValueSet/heavy"
VALUE_SET = {"resourceType": "ValueSet", "id": "heavy", "url": VS_URL, "version": "1", "name": "Heavy",
             "status": "active", "compose": {"include": [{"system": CS_URL, "filter": [
                 {"property": "concept", "op": "is-a", "value": "mass"}]}],
                 "exclude": [{"system": CS_URL, "concept": [{"code": "mass"}]}]}}


@pytest.fixture
def nsi(db_env, runner):
    """Run `nsi ARGS` on a fresh database; returns the click Result."""
    def run(*args):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return run


def write(tmp_path, name, resource):
    path = tmp_path / name
    path.write_text(json.dumps(resource, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_code_system_names_its_catalog_and_version(nsi, tmp_path, store):
    path = write(tmp_path, "units.json", CODE_SYSTEM)
    r = nsi("import", path, "--format", "fhir-codesystem", "--publish")
    assert (r.exit_code, r.stderr) == (0, "")
    assert r.stdout.startswith("Published units 2.1: 3 entries; the catalog's first version (")
    catalog = store.get_catalog("units")
    assert (catalog.title, catalog.oid, catalog.field_schema["factor"]) == ("Test units", "1.2.3.4",
                                                                            {"type": "number", "required": False})
    entries = {e["code"]: e for e in store.iter_entries("units", "2.1")}
    assert entries["kg"] == {"code": "kg", "display": "kilogram", "parents": ["mass"], "status": "active",
                             "designations": [{"language": "ru", "use": "local", "text": "килограмм"}],
                             "attributes": {"factor": 1.5, "kind": "si"}}
    assert entries["lb"]["status"] == "inactive"
    assert entries["mass"]["attributes"] == {"definition": "How heavy"}
    assert store.catalog_of_code_system(CS_URL) == "units"
    r = nsi("import", path, "--format", "fhir-codesystem")
    assert (r.exit_code, r.stdout) == (0, "units.json was already imported as version 2.1 of units (same sha256); "
                                          "no new version created (to import the file again, with another "
                                          "profile say, retire version 2.1 first)\n")


def test_a_value_set_is_stored_and_a_second_import_changes_nothing(nsi, tmp_path, store):
    nsi("import", write(tmp_path, "units.json", CODE_SYSTEM), "--format", "fhir-codesystem", "--publish")
    path = write(tmp_path, "heavy.json", VALUE_SET)
    r = nsi("import", path, "--format", "fhir-valueset")
    assert (r.exit_code, r.stdout, r.stderr) == (0, f"Stored ValueSet {VS_URL}|1 (2 compose rules)\n", "")
    r = nsi("import", path)  # recognised by its resourceType
    assert (r.exit_code, r.stdout) == (0, f"ValueSet {VS_URL}|1 is stored already, unchanged\n")
    changed = write(tmp_path, "heavy2.json", {**VALUE_SET, "title": "Other"})
    r = nsi("import", changed, "--format", "fhir-valueset")
    assert (r.exit_code, r.stderr) == (1, f"Error: {changed}: ValueSet {VS_URL}|1 is stored already with other content; a "
                                          f"stored version does not change: give the changed resource a new version\n")
    assert [(row.url, row.version) for row in store.value_sets()] == [(VS_URL, "1")]


def test_a_concept_map_becomes_a_published_map_set_version(nsi, tmp_path, store):
    from registry import mapping
    nsi("import", write(tmp_path, "units.json", CODE_SYSTEM), "--format", "fhir-codesystem", "--publish")
    target = {**CODE_SYSTEM, "url": "http://example.org/fhir/CodeSystem/units-b", "name": "UnitsB", "version": "1"}
    nsi("import", write(tmp_path, "units-b.json", target), "--format", "fhir-codesystem", "--publish")
    cm = {"resourceType": "ConceptMap", "url": "http://example.org/fhir/ConceptMap/a-to-b", "version": "3",
          "name": "AToB", "status": "active", "group": [{
              "source": CS_URL, "target": target["url"],
              "element": [{"code": "kg", "target": [{"code": "kg", "equivalence": "equivalent"}]},
                          {"code": "lb", "target": [{"code": "mass",
                                                     "relationship": "source-is-narrower-than-target"}]},
                          {"code": "oz", "target": [{"equivalence": "unmatched"}]}]}]}
    r = nsi("import", write(tmp_path, "cm.json", cm), "--format", "fhir-conceptmap")
    assert (r.exit_code, r.stdout) == (0, "Published map set a-to-b 3 from ConceptMap http://example.org/fhir/"
                                          "ConceptMap/a-to-b: 3 approved mappings, units 2.1 → units-b 1\n")
    assert r.stderr == f"Warning: {tmp_path / 'cm.json'}, ConceptMap.group[0].element[2]: source code oz is not in " \
                       f"catalog units 2.1 (kept as published)\n"
    assert [(m["source_code"], m["target_code"], m["relationship"])
            for m in mapping.published_mappings(store, "a-to-b", "3")] == [
        ("kg", "kg", "equivalent"), ("lb", "mass", "broader"), ("oz", None, "not-mappable")]


def test_a_concept_map_between_unknown_systems_says_which_is_missing(nsi, tmp_path):
    cm = {"resourceType": "ConceptMap", "url": "http://example.org/cm", "version": "1",
          "group": [{"source": "http://example.org/nowhere", "target": CS_URL, "element": []}]}
    path = write(tmp_path, "cm.json", cm)
    r = nsi("import", path, "--format", "fhir-conceptmap")
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr == (f"Error: import rejected: {path}, ConceptMap.group[0].source: no catalog is the code system "
                        f"http://example.org/nowhere: import it first (`nsi import FILE --format fhir-codesystem`)\n"
                        f"Nothing was stored.\n")


@pytest.mark.parametrize("fmt, resource, where, message", [
    ("fhir-valueset", {**VALUE_SET, "url": 5}, "ValueSet.url", "url must be a string (got 5)"),
    ("fhir-valueset", {k: v for k, v in VALUE_SET.items() if k != "compose"}, "ValueSet.compose",
     "compose is required: a stored value set says which codes it holds"),
    ("fhir-valueset", {**VALUE_SET, "compose": {"include": [{"system": CS_URL, "filter": [
        {"property": "concept", "op": "near", "value": "x"}]}]}}, "ValueSet.compose.include[0].filter[0].op",
     "filter operator 'near' is not one of =, is-a, descendent-of, is-not-a, regex, in, not-in, generalizes, "
     "exists, child-of"),
    ("fhir-valueset", {**VALUE_SET, "compose": {"include": [{"concept": [{"code": "kg"}]}]}},
     "ValueSet.compose.include[0]", "an include or exclude needs a system or a valueSet"),
    ("fhir-conceptmap", {"resourceType": "ConceptMap", "url": "http://x/cm", "version": "1", "group": "g"},
     "ConceptMap.group", "group must be a list of JSON objects"),
    ("fhir-codesystem", {**CODE_SYSTEM, "property": [{"type": "code"}]}, "CodeSystem.property[0]",
     "a property definition needs a code"),
])
def test_bad_resources_are_refused_naming_file_and_json_path(nsi, tmp_path, fmt, resource, where, message):
    path = write(tmp_path, "bad.json", resource)
    r = nsi("import", path, "--format", fmt)
    assert (r.exit_code, r.stdout, r.stderr) == (1, "", f"Error: import rejected: {path}, {where}: {message}\n"
                                                        f"Nothing was stored.\n")


def test_a_code_system_supplement_is_not_taken_for_a_catalog(nsi, tmp_path):
    path = write(tmp_path, "sup.json", {**CODE_SYSTEM, "content": "supplement", "supplements": CS_URL})
    r = nsi("import", path, "--format", "fhir-codesystem")
    assert (r.exit_code, r.stdout, r.stderr) == (1, "", (
        f"Error: import rejected: {path}, CodeSystem.content: a CodeSystem supplement (content 'supplement') adds "
        f"to another code system ({CS_URL}) and is not a catalog: supplements are not imported\nNothing was stored.\n"))


def test_a_resource_of_another_type_is_named(nsi, tmp_path):
    path = write(tmp_path, "cs.json", CODE_SYSTEM)
    r = nsi("import", path, "--format", "fhir-valueset")
    assert (r.exit_code, r.stderr) == (1, f"Error: import rejected: {path}: not a FHIR ValueSet resource "
                                          f"(resourceType is 'CodeSystem')\nNothing was stored.\n")


def test_without_catalog_or_version_a_resource_lacking_them_is_refused(nsi, tmp_path):
    path = write(tmp_path, "cs.json", {k: v for k, v in CODE_SYSTEM.items() if k != "version"})
    r = nsi("import", path, "--format", "fhir-codesystem")
    assert (r.exit_code, r.stderr) == (1, f"Error: {path}: give --version; the resource has no version to take "
                                          f"it from\n")


def test_fhir_answers_for_the_imported_canonical_url_and_stored_value_set(nsi, tmp_path, client):
    nsi("import", write(tmp_path, "units.json", CODE_SYSTEM), "--format", "fhir-codesystem", "--publish")
    nsi("import", write(tmp_path, "heavy.json", VALUE_SET), "--format", "fhir-valueset")
    r = client.get("/fhir/CodeSystem/$validate-code", query_string={"url": CS_URL, "code": "KG"})
    params = {p["name"]: next((v for k, v in p.items() if k.startswith("value")), None)
              for p in r.get_json()["parameter"]}
    assert (params["result"], params["code"], params["system"], params["version"]) == (True, "KG", CS_URL, "2.1")
    r = client.get("/fhir/CodeSystem/$lookup", query_string={"system": "urn:oid:1.2.3.4", "code": "kg"})
    assert r.status_code == 200 and {"name": "name", "valueString": "Units"} in r.get_json()["parameter"]
    r = client.get("/fhir/ValueSet/$expand", query_string={"url": f"{VS_URL}|1"})
    assert sorted(c["code"] for c in r.get_json()["expansion"]["contains"]) == ["kg", "lb"]
    r = client.get("/fhir/ValueSet/$validate-code", query_string={"url": VS_URL, "system": CS_URL, "code": "mass"})
    assert {"name": "result", "valueBoolean": False} in r.get_json()["parameter"]
    assert client.get("/fhir/ValueSet/heavy").get_json()["compose"] == VALUE_SET["compose"]
    assert client.get("/fhir/ValueSet/heavy--1").get_json()["id"] == "heavy--1"
    bundle = client.get("/fhir/ValueSet", query_string={"url": VS_URL}).get_json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["heavy"]
    bundle = client.get("/fhir/ValueSet", query_string={"name": "Heav", "status": "active"}).get_json()
    assert [e["resource"]["url"] for e in bundle["entry"]] == [VS_URL]
    r = client.get("/fhir/ValueSet/$expand", query_string={"url": f"{VS_URL}|9"})
    assert r.status_code == 404


def test_a_discarded_draft_takes_its_kept_header_with_it(nsi, tmp_path, store):
    path = write(tmp_path, "units.json", CODE_SYSTEM)
    assert nsi("import", path, "--format", "fhir-codesystem").exit_code == 0
    assert store.catalog_of_code_system(CS_URL) == "units"
    r = nsi("discard", "units", "2.1")
    assert r.exit_code == 0, r.stderr
    assert store.catalog_of_code_system(CS_URL) is None
