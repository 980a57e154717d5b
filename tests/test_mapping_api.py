"""The map set API: roles (401/403), decisions with 409 on conflict, bulk, history, publish, translate."""

from __future__ import annotations

import io

import pytest

from mapping_fixtures import make_map_set
from registry import auth
from registry.web import create_app

BASE = "/api/v1/mapsets"


@pytest.fixture
def client(store):
    """A test client of an app on the test store holding map set `local-icd` (four-eyes) with candidates."""
    make_map_set(store, four_eyes=True)
    app = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False})
    return app.test_client()


@pytest.fixture
def headers(store):
    """Authorization headers per token name: anna and boris (reviewers), ivan (importer), root (admin)."""
    out = {}
    for name, role in (("anna", "reviewer"), ("boris", "reviewer"), ("ivan", "importer"), ("root", "admin")):
        out[name] = {"Authorization": f"Bearer {auth.create_token(store, name, role)[1]}"}
    return out


def test_reads_and_roles(client, headers):
    r = client.get(BASE)
    assert r.status_code == 200
    assert [(m["slug"], m["counts"]["candidate"]) for m in r.json["items"]] == [("local-icd", 5)]
    assert client.get(f"{BASE}/local-icd").json["target_version"] == "2.27"
    assert client.get(f"{BASE}/nope").json == {"error": {"code": "not_found", "message": "no map set 'nope'",
                                                         "details": None}}
    decision = {"decision": "approve", "revision": 1}
    r = client.post(f"{BASE}/local-icd/mappings/L01/decision", json=decision)
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    r = client.post(f"{BASE}/local-icd/mappings/L01/decision", json=decision, headers=headers["ivan"])
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert client.get(f"{BASE}/local-icd/mappings").status_code == 401
    page = client.get(f"{BASE}/local-icd/mappings?status=candidate&min_score=97&limit=2", headers=headers["ivan"])
    assert (page.json["total"], [m["source_code"] for m in page.json["items"]]) == (3, ["L01", "L02"])
    assert client.get(f"{BASE}/local-icd/mappings?min_score=x", headers=headers["ivan"]).json["error"][
        "message"] == "min_score must be a number, got 'x'"


def test_an_invalid_map_set_lists_each_wrong_field(client, headers):
    r = client.post(BASE, json={"source": "icd-local@1"}, headers=headers["anna"])
    assert r.status_code == 400
    error = r.json["error"]
    assert error["code"] == "bad_request"
    fields = [e["field"] for e in error["details"]["errors"]]
    assert "slug" in fields and "target" in fields
    assert error["message"].startswith("the map set is not valid: ")
    assert "pydantic" not in error["message"] and "\n" not in error["message"]


def test_decisions_conflict_four_eyes_history(client, headers):
    url = f"{BASE}/local-icd/mappings/L01/decision"
    r = client.post(url, json={"decision": "approve", "revision": 1, "comment": "looks right"},
                    headers=headers["anna"])
    assert r.status_code == 200
    assert (r.json["status"], r.json["proposed_by"], r.json["revision"]) == ("proposed", "anna", 2)
    r = client.post(url, json={"decision": "approve", "revision": 2}, headers=headers["anna"])
    assert r.status_code == 403
    assert r.json["error"]["message"].startswith("four-eyes rule: anna proposed mapping L01")
    for revision in ("2", 2.5, True):
        r = client.post(url, json={"decision": "reject", "revision": revision}, headers=headers["boris"])
        assert (r.status_code, r.json["error"]["message"]) == (
            400, "the decision is not valid: revision: Input should be a valid integer")
    r = client.post(url, json={"decision": "reject"}, headers=headers["boris"])
    assert r.json["error"]["message"] == "the decision is not valid: revision: Field required"
    assert r.json["error"]["details"]["errors"] == [{"field": "revision", "loc": ["revision"],
                                                     "message": "Field required"}]
    r = client.post(url, json={"decision": "reject", "revision": 1}, headers=headers["boris"])
    assert r.status_code == 409
    assert r.json["error"]["code"] == "conflict"
    assert r.json["error"]["details"]["current"]["status"] == "proposed"
    assert r.json["error"]["details"]["current"]["revision"] == 2
    r = client.post(url, json={"decision": "approve", "revision": 2}, headers=headers["boris"])
    assert (r.status_code, r.json["status"], r.json["decided_by"]) == (200, "approved", "boris")
    r = client.post(url, json={"decision": "remap", "revision": 3, "target_code": "NOPE"}, headers=headers["boris"])
    assert (r.status_code, r.json["error"]["message"]) == (400, "target code 'NOPE' is not in icd10 version 2.27")
    hist = client.get(f"{url.rsplit('/', 1)[0]}/history", headers=headers["anna"]).json["items"]
    assert [(e["actor"], e["action"], e["revision"]) for e in hist] == [
        ("matcher", "suggest", 1), ("anna", "propose", 2), ("boris", "approve", 3)]
    assert hist[1]["comment"] == "looks right" and hist[2]["at"]
    events = client.get(f"{BASE}/local-icd/history?actor=boris", headers=headers["anna"]).json["items"]
    assert [e["action"] for e in events] == ["approve"]


def test_bulk_publish_translate_and_exports(client, headers):
    r = client.post(f"{BASE}/local-icd/decisions", json={"decision": "propose", "filter": {"min_score": 96.5}},
                    headers=headers["anna"])
    assert (r.status_code, r.json["count"]) == (200, 4)
    items = [{"source_code": m["source_code"], "revision": m["revision"]} for m in r.json["items"]]
    r = client.post(f"{BASE}/local-icd/decisions", json={"decision": "approve", "items": items[:3]},
                    headers=headers["boris"])
    assert (r.status_code, r.json["count"]) == (200, 3)
    r = client.post(f"{BASE}/local-icd/decisions", json={"decision": "approve", "items": items},
                    headers=headers["boris"])
    assert r.status_code == 409
    assert [e["mapping"] for e in r.json["error"]["details"]["errors"]] == ["L01", "L02", "L03"]
    assert client.get(f"{BASE}/local-icd").json["counts"] == {"candidate": 1, "proposed": 1, "approved": 3,
                                                              "rejected": 0}
    r = client.post(f"{BASE}/local-icd/decisions", json={"decision": "approve", "filter": {"colour": "red"}},
                    headers=headers["boris"])
    assert r.json["error"]["message"] == "the bulk decision is not valid: filter.colour: Extra inputs are not permitted"
    assert client.get("/api/v1/translate?source=local&code=L01").status_code == 404
    r = client.post(f"{BASE}/local-icd/versions", json={"label": "v1"}, headers=headers["ivan"])
    assert r.status_code == 403
    r = client.post(f"{BASE}/local-icd/versions", json={"label": "v1", "notes": "first"}, headers=headers["root"])
    assert (r.status_code, r.json["mapping_count"], r.json["published_by"]) == (201, 3, "root")
    assert [v["label"] for v in client.get(f"{BASE}/local-icd/versions").json["items"]] == ["v1"]
    r = client.get("/api/v1/translate?source=local&code=L01&target=icd10")
    assert r.json == {"source": "local", "code": "L01", "result": True, "matches": [
        {"target": "icd10", "code": "A00.9", "display": "Холера неуточненная", "relationship": "equivalent",
         "map_set": "local-icd", "map_set_version": "v1"}]}
    r = client.post("/api/v1/translate", json={"source": "local", "codes": ["L02", "L04"]})
    assert [(i["code"], i["result"]) for i in r.json["items"]] == [("L02", True), ("L04", False)]
    tsv = client.get(f"{BASE}/local-icd/sssom?version=latest")
    assert tsv.status_code == 200 and tsv.mimetype == "text/tab-separated-values"
    assert tsv.get_data(as_text=True).count("\nLOCAL:") == 3
    xlsx = client.get(f"{BASE}/local-icd/worksheet.xlsx?status=candidate", headers=headers["anna"])
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    r = client.post(f"{BASE}/local-icd/worksheet", data={"file": (io.BytesIO(b"junk"), "x.xlsx")},
                    headers=headers["anna"], content_type="multipart/form-data")
    assert (r.status_code, r.json["error"]["message"]) == (400, "x.xlsx is not an xlsx file")


def test_openapi_describes_map_set_routes(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "/mapsets/{mapset}/mappings/{code}/decision" in paths
    assert paths["/translate"].keys() == {"get", "post"}


def test_a_decision_that_changes_nothing_answers_the_mapping_as_it_was(client, headers):
    """Issue 16, item 17, through the API: the same decision function as the pages and the worksheet."""
    url = f"{BASE}/local-icd/mappings/L01/decision"
    assert client.post(url, json={"decision": "approve", "revision": 1}, headers=headers["anna"]).json["status"] \
        == "proposed"
    approved = client.post(url, json={"decision": "approve", "revision": 2}, headers=headers["boris"]).json
    again = client.post(url, json={"decision": "approve", "revision": 3}, headers=headers["root"])
    assert again.status_code == 200 and again.json == approved  # not demoted, not re-decided, same revision
    history = client.get(f"{BASE}/local-icd/mappings/L01/history", headers=headers["anna"]).json["items"]
    assert [(e["actor"], e["action"]) for e in history] == [("matcher", "suggest"), ("anna", "propose"),
                                                            ("boris", "approve")]
