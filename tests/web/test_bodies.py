"""Request bodies of the API: wrong types, control characters, deep nesting and oversize bodies are a 400 or 413
naming the field, never a 500 (issue 19). Each case that was a 500 has its regression test here.

The write routes are taken from the app's url_map, so a new POST route is walked without touching this file.
"""

from __future__ import annotations

import io
import json

import pytest

from mapping_fixtures import make_map_set
from registry import auth
from registry.web import create_app
from registry.web.bodies import MAX_JSON_BYTES, MAX_JSON_DEPTH, json_depth_exceeds, safe_file_name

BASE = "/api/v1/mapsets/local-icd"
VALUES = {"slug": "icd10", "version": "2.27", "mapset": "local-icd", "code": "L01"}


@pytest.fixture
def client(store):
    """An app on the test store holding map set local-icd, with an admin token sent on every request."""
    make_map_set(store)
    client = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False,
                         "NSI_RUN_JOBS": False}).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {auth.create_token(store, 'root', 'admin')[1]}"
    return client


def write_urls(app) -> list[str]:
    """The URL of every POST route of the API, with path values of the fixture's objects."""
    urls = []
    with app.test_request_context():
        from flask import url_for
        for rule in app.url_map.iter_rules():
            if rule.rule.startswith("/api/v1/") and "POST" in rule.methods:
                urls.append(url_for(rule.endpoint, **{name: VALUES.get(name, "x") for name in rule.arguments}))
    return urls


def assert_bad_request(r, field: str | None = None):
    assert r.status_code == 400, (r.status_code, r.get_json())
    error = r.get_json()["error"]
    assert error["code"] == "bad_request"
    if field is not None:
        assert field in [e["field"] for e in error["details"]["errors"]], error
    return error


@pytest.mark.parametrize("url, body, field", [
    ("/api/v1/catalogs/icd10/versions/2.27/validate", {"codes": ["A\u0000"]}, "codes.0"),
    ("/api/v1/catalogs/icd10/versions/2.27/validate", ["A\u0000"], "codes.0"),
    ("/api/v1/translate", {"source": "local", "codes": ["L01"], "target": {"a": 1}}, "target"),
    ("/api/v1/translate", {"source": "local\u0000", "codes": ["L01"]}, "source"),
    (f"{BASE}/mappings/L01/decision", {"decision": "remap", "revision": 1, "target_code": ["A00"]}, "target_code"),
    (f"{BASE}/mappings/L01/decision", {"decision": "comment", "revision": 1, "comment": "a\u0000b"}, "comment"),
    (f"{BASE}/decisions", {"decision": "approve", "items": "L01"}, "items"),
    (f"{BASE}/decisions", {"decision": "approve", "items": {"source_code": "L01"}}, "items"),
    (f"{BASE}/decisions", {"decision": "approve", "items": [5]}, "items.0"),
    (f"{BASE}/decisions", {"decision": "approve", "filter": {"status": ["candidate"]}}, "filter.status"),
    (f"{BASE}/versions", {"label": "v1", "notes": ["a", "b"]}, "notes"),
    (f"{BASE}/versions", {"label": [None, None]}, "label"),
    ("/api/v1/catalogs", {"slug": "x\u0000", "title": "X"}, "slug"),
    ("/api/v1/catalogs", {"slug": "x", "title": "X", "field_schema": {"a\u0000": {}}}, "field_schema"),
    ("/api/v1/match", {"target": "icd10", "terms": ["\u0000"]}, "terms.0.name"),
    ("/api/v1/mapsets", {"slug": "m", "source": "local@1", "target": "icd10", "owner": "\u0007"}, "owner"),
])
def test_wrongly_typed_or_control_character_bodies_are_400s_naming_the_field(client, url, body, field):
    assert_bad_request(client.post(url, json=body), field)


def test_a_label_of_nulls_is_not_stored_as_text(client):
    approved = client.post(f"{BASE}/decisions", json={"decision": "approve", "filter": {"status": "candidate",
                                                                                          "min_score": 90}})
    assert approved.status_code == 200, approved.get_json()
    assert_bad_request(client.post(f"{BASE}/versions", json={"label": [None, None]}), "label")
    assert client.get(f"{BASE}/versions").get_json()["items"] == []
    r = client.post(f"{BASE}/versions", json={"label": "v1", "notes": "first\nrelease"})
    assert r.status_code == 201 and r.get_json()["notes"] == "first\nrelease"


def test_the_error_lists_pydantic_locations(client):
    r = client.post(f"{BASE}/decisions", json={"decision": "approve", "items": [{"source_code": "L01"}],
                                               "colour": "red"})
    error = assert_bad_request(r)
    assert error["message"].startswith("the bulk decision is not valid: ")
    assert sorted((e["field"], tuple(e["loc"])) for e in error["details"]["errors"]) == [
        ("colour", ("colour",)), ("items.0.revision", ("items", 0, "revision"))]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_deeply_nested_json_is_refused_on_every_post_route(client, depth):
    body = "[" * depth + "]" * depth
    urls = write_urls(client.application)
    assert len(urls) >= 13
    for url in urls:
        r = client.post(url, data=body, content_type="application/json")
        if url.endswith(("/imports", "/worksheet", "/discard", "/retire")):  # no JSON body read there
            assert r.status_code < 500, (url, r.status_code)
            continue
        assert_bad_request(r)
        assert "deeper than 64 levels" in r.get_json()["error"]["message"], url


def test_oversized_json_is_413_on_every_json_route(client):
    big = json.dumps({"codes": ["A00"] * (MAX_JSON_BYTES // 6)})
    assert len(big) > MAX_JSON_BYTES
    for url in write_urls(client.application):
        if url.endswith(("/imports", "/worksheet", "/discard", "/retire")):
            continue
        r = client.post(url, data=big, content_type="application/json")
        assert r.status_code == 413, url
        assert r.get_json()["error"]["code"] == "too_large"


def test_malformed_json_and_wrong_content_types_are_400s(client):
    url = "/api/v1/catalogs/icd10/versions/2.27/validate"
    for data, kind in [(b"{", "application/json"), (b'{"codes": [NaN]}', "application/json"),
                       (b"\xff\xfe", "application/json"), (b'{"codes": ["A00"]}', "text/plain"),
                       (b"", "application/json"), (b'"\\ud800"', "application/json")]:
        assert_bad_request(client.post(url, data=data, content_type=kind))
    assert client.post(url, json={"codes": ["A00.9", 5]}).status_code == 200
    # publish takes no body or release notes
    r = client.post("/api/v1/catalogs/icd10/versions/2.27/publish", json={"release_notes": 5})
    assert_bad_request(r, "release_notes")


def test_a_deep_field_schema_within_the_limit_is_kept(client):
    nested = {"type": "string", "x": json.loads("[" * 50 + "]" * 50)}
    r = client.post("/api/v1/catalogs", json={"slug": "deep", "title": "Deep", "field_schema": {"a": nested}})
    assert r.status_code in (201, 400) and r.status_code != 500


@pytest.mark.parametrize("name", [".", "..", "../../etc/passwd", "a\u0000b.xlsx", "C:\\x\\..\\.."])
def test_worksheet_upload_names_cannot_escape_or_crash(client, name, tmp_path):
    r = client.post(f"{BASE}/worksheet", data={"file": (io.BytesIO(b"not a workbook"), name)},
                    content_type="multipart/form-data")
    assert r.status_code in (400, 422), (name, r.status_code, r.get_json())


def test_upload_form_fields_refuse_controls(client):
    r = client.post("/api/v1/catalogs/icd10/imports", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b'{"code": "X"}\n'), "x.jsonl"), "version": "v\u00002"})
    assert_bad_request(r, "version")
    r = client.post("/api/v1/catalogs/icd10/imports", content_type="multipart/form-data", data={"version": "3"})
    assert_bad_request(r, "file")


def test_nul_in_a_path_segment_is_a_400(client):
    for url in ["/api/v1/catalogs/icd10/versions/latest/entries/A%00", "/api/v1/catalogs/icd10%00/versions",
                f"{BASE}/mappings/L%0001"]:
        assert_bad_request(client.get(url))
    assert_bad_request(client.post(f"{BASE}/mappings/L%0001/decision", json={"decision": "approve", "revision": 1}))


def test_every_control_character_and_only_those_is_refused_in_path_and_query(client):
    """The check passes printable values without a regex; every other value is searched character by character."""
    from urllib.parse import quote
    from registry.web.params import CONTROL
    for c in ["\x01", "\x1f", "\x7f", "\t"]:
        assert_bad_request(client.get(f"/api/v1/catalogs/icd10/versions/latest/entries/A{quote(c)}B"))
        assert_bad_request(client.get("/api/v1/search", query_string={"q": f"a{c}b"}))
    # not printable, yet no control character: an unknown code (404) and a search, never a 400
    for c in ["\u00a0", "\u2028", "\u200b", "\ufeff"]:
        assert not CONTROL.search(c) and not c.isprintable()
        assert client.get(f"/api/v1/catalogs/icd10/versions/latest/entries/A{quote(c)}B").status_code == 404
        assert client.get("/api/v1/search", query_string={"q": f"a{c}b"}).status_code == 200


def test_write_views_declare_their_bodies(client):
    """Every POST route of the API reads its body through a declaration (or takes none), so none escapes the checks."""
    app = client.application
    bodiless = {"versions.discard", "versions.retire"}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            view = app.view_functions[rule.endpoint]
            declared = hasattr(view, "nsi_body") or hasattr(view, "nsi_form") or rule.endpoint in bodiless
            assert declared, rule.rule


def test_depth_scan_ignores_brackets_inside_strings():
    assert not json_depth_exceeds(b'{"a": "' + b"[" * 1000 + b'"}')
    assert not json_depth_exceeds(b'["\\"[[[[", ' + b"[" * 10 + b"]" * 10 + b"]")
    assert json_depth_exceeds(b"[" * 65, 64) and not json_depth_exceeds(b"[" * 64, 64)


@pytest.mark.parametrize("name, expected", [(".", "d"), ("..", "d"), ("a/../b.xlsx", "b.xlsx"),
                                            ("..\\..\\лист.xlsx", "лист.xlsx"), ("", "d"), ("x\u0000y", "xy")])
def test_safe_file_name(name, expected):
    assert safe_file_name(name, "d") == expected


def test_an_upload_over_the_limit_is_413(store):
    secret = auth.create_token(store, "loader", "importer")[1]
    client = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False, "NSI_RUN_JOBS": False,
                         "NSI_MAX_UPLOAD_MB": 1}).test_client()
    r = client.post("/api/v1/catalogs/icd10/imports", headers={"Authorization": f"Bearer {secret}"},
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"x" * (1024 * 1024 + 1)), "big.csv"), "version": "1"})
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "request_entity_too_large"
