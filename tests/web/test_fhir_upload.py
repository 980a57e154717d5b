"""An API upload of a FHIR CodeSystem runs the same import as `nsi import --format fhir-codesystem`; the formats that
register other FHIR resources are refused at the catalog upload."""

from __future__ import annotations

import json

CS_URL = "http://example.org/fhir/CodeSystem/units"
CODE_SYSTEM = {"resourceType": "CodeSystem", "url": CS_URL, "version": "2.1", "name": "Units", "title": "Test units",
               "status": "active", "content": "complete",
               "concept": [{"code": "mass", "display": "Mass", "concept": [{"code": "kg", "display": "kilogram"},
                                                                           {"code": "lb", "display": "pound"}]}]}
VALUE_SET = {"resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/all", "version": "1",
             "status": "active", "compose": {"include": [{"system": CS_URL}]}}


def test_an_api_upload_of_a_code_system_creates_its_catalog_and_keeps_its_url(store, client, tokens, bearer, tmp_path):
    import io
    from registry import jobs
    body = json.dumps(CODE_SYSTEM).encode("utf-8")
    r = client.post("/api/v1/catalogs/units/imports", headers=bearer(tokens["importer"]),
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(body), "units.json"), "version": "2.1", "format": "fhir-codesystem"})
    assert r.status_code == 202, r.get_json()
    jobs.wait_for_jobs()
    job = client.get(r.headers["Location"], headers=bearer(tokens["importer"])).get_json()
    assert (job["status"], job["report"]["status"], job["report"]["entries"]) == ("succeeded", "staged", 3)
    assert store.get_catalog("units").title == "Test units"
    assert store.catalog_of_code_system(CS_URL) == "units"
    r = client.post("/api/v1/catalogs/units/imports", headers=bearer(tokens["importer"]),
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(json.dumps(VALUE_SET).encode()), "vs.json"), "version": "1",
                          "format": "fhir-valueset"})
    assert r.status_code == 400
    assert r.get_json()["error"]["message"] == ("format fhir-valueset registers a FHIR resource, not a version of a "
                                                "catalog: register it with `nsi import FILE --format fhir-valueset`")

