"""The FHIR operations on the real FNSI ICD-10 (version 2.27), loaded with its profile and so with its OID."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.realdata
FNSI = Path(__file__).resolve().parents[3] / "shared" / "data" / "icd10_ru" / "fnsi_1.2.643.5.1.13.13.11.1005_v2.27.csv"
OID = "urn:oid:1.2.643.5.1.13.13.11.1005"


@pytest.fixture(scope="module")
def fnsi_client(tmp_path_factory):
    from importers import run_import
    from registry.store import Store
    from registry.web import create_app
    data = tmp_path_factory.mktemp("fnsi")
    store = Store.init({"NSI_DATA_DIR": str(data), "NSI_DATABASE_URL": f"sqlite:///{data / 'nsi.db'}"})
    run_import(store, FNSI, catalog="icd10-ru", version="2.27", profile="icd10-ru-fnsi", publish=True)
    yield create_app({"TESTING": True, "NSI_STORE": store}).test_client()
    store.engine.dispose()


def _value(parameters, name):
    return next(v for p in parameters["parameter"] if p["name"] == name for k, v in p.items() if k.startswith("value"))


def test_lookup_validate_and_expand_by_oid(fnsi_client):
    lookup = fnsi_client.get(f"/fhir/CodeSystem/$lookup?system={OID}&code=A00.0").get_json(force=True)
    assert _value(lookup, "display").startswith("Холера, вызванная холерным вибрионом 01")
    assert _value(lookup, "version") == "2.27"
    parents = [p["part"][-1]["valueCode"] for p in lookup["parameter"] if p["name"] == "property"
               and p["part"][0]["valueCode"] == "parent"]
    assert parents == ["A00"]
    good = fnsi_client.get(f"/fhir/CodeSystem/$validate-code?url={OID}&code=J45.0").get_json(force=True)
    assert _value(good, "result") is True and _value(good, "system") == "http://localhost/fhir/CodeSystem/icd10-ru"
    bad = fnsi_client.get(f"/fhir/CodeSystem/$validate-code?url={OID}&code=J45.99").get_json(force=True)
    assert _value(bad, "result") is False
    page = fnsi_client.get("/fhir/ValueSet/$expand?url=http://localhost/fhir/ValueSet/icd10-ru&count=5")
    expansion = page.get_json(force=True)["expansion"]
    assert expansion["total"] > 15000 and len(expansion["contains"]) == 5
