"""ConceptMap and $translate: published map-set versions (approved mappings only) and supplied R4/R5 ConceptMaps.

The map set `local-icd` (catalog `local` version 1 to `icd10` version 2.27, from tests/mapping_fixtures.py)
is published twice: 2025-1 with L01 (equivalent), L04 (broader, with a comment) and L05 (not mappable);
2025-2 adds L03. L02 is rejected and never shows. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from mapping_fixtures import make_map_set
from registry.mapping import decide, publish_map_set
from registry.web.fhir.conceptmaps import r5_to_r4
from test_fhir import fhir, named, post_parameters, value

BASE = "http://localhost/fhir"
MAP = f"{BASE}/ConceptMap/local-icd"
LOCAL = f"{BASE}/CodeSystem/local"
ICD = f"{BASE}/CodeSystem/icd10"


@pytest.fixture
def published(store):
    slug = make_map_set(store)
    decide(store, slug, "L01", "approve", actor="anna", revision=1)
    decide(store, slug, "L04", "approve", actor="anna", revision=1, relationship="broader",
           comment="энтерит шире")
    decide(store, slug, "L05", "not-mappable", actor="anna", revision=1)
    decide(store, slug, "L02", "reject", actor="anna", revision=1)
    publish_map_set(store, slug, "2025-1", actor="lead")
    decide(store, slug, "L03", "approve", actor="anna", revision=1)
    publish_map_set(store, slug, "2025-2", actor="lead")
    return store


def matches(parameters: dict) -> list[dict]:
    """Each match of a $translate answer as {part name: value}."""
    return [{p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in m["part"]}
            for m in named(parameters, "match")]


def test_published_versions_read_and_search_as_conceptmaps(client, published):
    cm = fhir(client.get("/fhir/ConceptMap/local-icd"))
    assert (cm["id"], cm["url"], cm["version"], cm["status"]) == ("local-icd", MAP, "2025-2", "active")
    assert (cm["sourceUri"], cm["targetUri"]) == (f"{BASE}/ValueSet/local", f"{BASE}/ValueSet/icd10")
    [group] = cm["group"]
    assert (group["source"], group["sourceVersion"], group["target"], group["targetVersion"]) == \
        (LOCAL, "1", ICD, "2.27")
    assert group["element"] == [
        {"code": "L01", "display": "Холера неуточнённая",
         "target": [{"code": "A00.9", "display": "Холера неуточненная", "equivalence": "equivalent"}]},
        {"code": "L03", "display": "Паратиф A",
         "target": [{"code": "A01.1", "display": "Паратиф A", "equivalence": "equivalent"}]},
        {"code": "L04", "display": "Сальмонеллёзный энтерит",
         "target": [{"code": "A02.0", "display": "Сальмонеллезный энтерит", "equivalence": "wider",
                     "comment": "энтерит шире"}]},
        {"code": "L05", "display": "Болезнь неизвестной природы", "target": [{"equivalence": "unmatched"}]}]
    old = fhir(client.get("/fhir/ConceptMap/local-icd--2025-1"))
    assert old["version"] == "2025-1" and "L03" not in [e["code"] for e in old["group"][0]["element"]]
    bundle = fhir(client.get(f"/fhir/ConceptMap?url={MAP}"))
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["local-icd--2025-1", "local-icd--2025-2"]
    assert "group" not in bundle["entry"][0]["resource"]
    assert fhir(client.get(f"/fhir/ConceptMap?url={MAP}|2025-1"))["total"] == 1
    assert fhir(client.get("/fhir/ConceptMap?url=http://example.org/none"))["total"] == 0
    assert fhir(client.get("/fhir/ConceptMap/nope"), 404)["issue"][0]["code"] == "not-found"
    assert fhir(client.get("/fhir/ConceptMap/local-icd--9"), 404)["resourceType"] == "OperationOutcome"
    fhir(client.get("/fhir/ConceptMap?source=x"), 400)


def test_translate_through_the_newest_published_version(client, published):
    out = fhir(client.get(f"/fhir/ConceptMap/$translate?system={LOCAL}&code=L01&targetsystem={ICD}"))
    assert value(out, "result") is True and not named(out, "message")
    assert matches(out) == [{"equivalence": "equivalent", "originMap": f"{MAP}|2025-2",
                             "concept": {"system": ICD, "version": "2.27", "code": "A00.9",
                                         "display": "Холера неуточненная"}}]
    wider = fhir(client.get(f"/fhir/ConceptMap/$translate?system={LOCAL}&code=L04"))
    assert [m["equivalence"] for m in matches(wider)] == ["wider"]
    unmatched = fhir(client.get(f"/fhir/ConceptMap/$translate?system={LOCAL}&code=L05"))
    assert value(unmatched, "result") is False
    assert matches(unmatched) == [{"equivalence": "unmatched", "originMap": f"{MAP}|2025-2"}]
    for code in ("L02", "L99"):  # rejected, unknown
        none = fhir(client.get(f"/fhir/ConceptMap/$translate?system={LOCAL}&code={code}"))
        assert value(none, "result") is False and not matches(none)
        assert value(none, "message") == f"No translations found for {LOCAL}#{code}"
    other = fhir(client.get(f"/fhir/ConceptMap/$translate?system={ICD}&code=A00.9&targetsystem={LOCAL}"))
    assert value(other, "result") is False


def test_translate_a_given_version_and_instance(client, published):
    old = fhir(client.get(f"/fhir/ConceptMap/$translate?url={MAP}|2025-1&system={LOCAL}&code=L03"))
    assert value(old, "result") is False
    new = fhir(client.get(f"/fhir/ConceptMap/$translate?url={MAP}&conceptMapVersion=2025-2&system={LOCAL}"
                          f"&code=L03"))
    assert [m["concept"]["code"] for m in matches(new)] == ["A01.1"]
    coding = post_parameters(client, "/fhir/ConceptMap/local-icd--2025-1/$translate",
                             {"name": "coding", "valueCoding": {"system": LOCAL, "code": "L01"}})
    assert [(m["concept"]["code"], m["originMap"]) for m in matches(fhir(coding))] == [("A00.9", f"{MAP}|2025-1")]
    fhir(client.get(f"/fhir/ConceptMap/$translate?url={BASE}/ConceptMap/none&system={LOCAL}&code=L01"), 404)
    fhir(client.get("/fhir/ConceptMap/$translate?system=x"), 400)


def test_translate_reverse_finds_the_sources_of_a_target(client, published):
    out = fhir(client.get(f"/fhir/ConceptMap/$translate?system={ICD}&code=A02.0&reverse=true"))
    assert value(out, "result") is True
    assert matches(out) == [{"equivalence": "narrower", "originMap": f"{MAP}|2025-2",
                             "concept": {"system": ICD, "version": "2.27", "code": "A02.0"},
                             "source": {"system": LOCAL, "version": "1", "code": "L04",
                                        "display": "Сальмонеллёзный энтерит"}}]
    r5 = post_parameters(client, "/fhir/ConceptMap/$translate", {"name": "targetCode", "valueCode": "A01.1"},
                         {"name": "targetSystem", "valueUri": ICD}, {"name": "sourceSystem", "valueUri": LOCAL})
    assert [m["source"]["code"] for m in matches(fhir(r5))] == ["L03"]


R5_MAP = {"resourceType": "ConceptMap", "url": "http://example.org/cm", "version": "1", "status": "draft",
          "sourceScopeUri": "http://example.org/vs-a", "targetScopeUri": "http://example.org/vs-b",
          "group": [{"source": "http://example.org/a", "target": "http://example.org/b",
                     "element": [{"code": "1", "target": [{"code": "one", "relationship": "equivalent"}]},
                                 {"code": "2", "target": [{"code": "two",
                                                           "relationship": "source-is-narrower-than-target"}]},
                                 {"code": "3", "target": [{"code": "three",
                                                           "relationship": "source-is-broader-than-target"}]},
                                 {"code": "4", "target": [{"code": "four", "relationship": "not-related-to"}]},
                                 {"code": "5", "target": [{"code": "five", "relationship": "related-to"}]},
                                 {"code": "6", "noMap": True}],
                     "unmapped": {"mode": "fixed", "code": "other", "relationship": "related-to"}}]}


def test_r5_conceptmaps_are_read_as_the_hl7_converter_does():
    r4 = r5_to_r4(R5_MAP)
    assert (r4["sourceUri"], r4["targetUri"]) == ("http://example.org/vs-a", "http://example.org/vs-b")
    assert not any("Scope" in key for key in r4)
    group = r4["group"][0]
    assert [e["target"][0]["equivalence"] for e in group["element"]] == \
        ["equivalent", "wider", "narrower", "disjoint", "relatedto", "unmatched"]
    assert group["unmapped"] == {"mode": "fixed", "code": "other"}


def test_translate_with_a_supplied_r5_conceptmap(client, store):
    def translate(code, *extra):
        return fhir(post_parameters(client, "/fhir/ConceptMap/$translate",
                                    {"name": "tx-resource", "resource": R5_MAP},
                                    {"name": "system", "valueUri": "http://example.org/a"},
                                    {"name": "code", "valueCode": code}, *extra))
    assert [(m["concept"]["code"], m["equivalence"]) for m in matches(translate("2"))] == [("two", "wider")]
    disjoint = translate("4")
    assert value(disjoint, "result") is False and matches(disjoint)[0]["equivalence"] == "disjoint"
    assert [m["concept"]["code"] for m in matches(translate("9"))] == ["other"]  # the group's fixed unmapped code
    scoped = translate("1", {"name": "target", "valueUri": "http://example.org/vs-other"})
    assert value(scoped, "result") is False
