"""Query parameters of every route: malformed values are a 400 naming the parameter, never a 500.

The routes are taken from the app's url_map, and each route's parameters from
its declaration (`registry.web.params.query`), so a new route or parameter is
walked without touching this file.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from mapping_fixtures import make_map_set
from registry import auth
from registry.web import create_app
from registry.web.params import MAX_VALUE_LENGTH, Int, Number, OneOf, Text, Time

WEB = Path(__file__).resolve().parents[2] / "registry" / "web"
CATALOG = {"slug": "icd10", "version": "2.27", "code": "A00.9", "job_id": "0"}
MAPSET = {"slug": "local-icd", "mapset": "local-icd", "version": "latest", "code": "L01"}


def bad_values(spec) -> list[str]:
    """Values a client might send by mistake or malice, each wrong for `spec`."""
    controls = ["\x00", "a\x00b", "a\x1fb"]
    if isinstance(spec, Int):
        return ["abc", "1.5", "1e3", "0x10", "1_0", str(spec.low - 1), str(spec.high + 1), "9" * 30, "-" + "9" * 30,
                *controls]
    if isinstance(spec, Number):
        return ["abc", "nan", "inf", "-inf", "1e999", str(spec.low - 1), str(spec.high + 1), *controls]
    if isinstance(spec, OneOf):
        return ["bogus", ",", "ACTIVE", *controls] + ([f"{spec.choices[0]},bogus"] if spec.many else [])
    if isinstance(spec, Time):
        return ["yesterday", "2024-13-45", "2024-01-01T25:00", "9" * 40, *controls]
    assert isinstance(spec, Text), spec
    return [*controls, "x" * (MAX_VALUE_LENGTH + 1)]


@pytest.fixture
def signed_in(store):
    """A test client with an admin token for the API and a signed-in review session; a map set to walk."""
    make_map_set(store)
    secret = auth.create_token(store, "root", "admin")[1]
    client = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False}).test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").get_data(as_text=True)).group(1)
    assert client.post("/review/login", data={"token": secret, "csrf": csrf}).status_code == 302
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def get_routes(app):
    """(rule, endpoint, path values, declared query parameters) of every GET route of the app."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        values = MAPSET if "/mapsets/" in rule.rule else CATALOG
        path = {name: values.get(name, "x") for name in rule.arguments}
        yield rule, path, getattr(app.view_functions[rule.endpoint], "nsi_query", {})


def url(app, rule, path) -> str:
    with app.test_request_context():
        from flask import url_for
        return url_for(rule.endpoint, **path)


def assert_refused(response, rule, name):
    where = f"{rule.rule} ?{name}"
    assert response.status_code == 400, where
    if rule.rule.startswith("/api/"):
        error = response.get_json()["error"]
        assert error["code"] == "bad_request" and name in error["message"], (where, error)
    else:   # a review page: the error page, as HTML
        assert response.mimetype == "text/html" and "<html" in response.get_data(as_text=True), where


def test_every_declared_query_parameter_refuses_malformed_values(signed_in):
    app, walked = signed_in.application, 0
    for rule, path, params in get_routes(app):
        base = url(app, rule, path)
        for name, spec in params.items():
            for value in bad_values(spec):
                assert_refused(signed_in.get(base, query_string={name: value}), rule, name)
                walked += 1
    # entries, download, diff, search, 2 feeds, queue, history, worksheet, sssom, translate; 5 review pages
    assert walked > 200


def test_no_route_answers_500_to_hostile_query_strings_or_path_segments(signed_in):
    app, routes = signed_in.application, 0
    hostile = [{"limit": "abc", "offset": "-1", "page": "9" * 40, "status": "bogus", "since": "soon",
                "format": "exe", "cursor": "!!!", "min_score": "nan"},
               {"unknown": "x" * (MAX_VALUE_LENGTH + 1)}, {"q\x00": "1"}, {"version": "\x00"}]
    for rule, path, params in get_routes(app):
        routes += 1
        base = url(app, rule, path)
        for query in hostile:
            r = signed_in.get(base, query_string=query)
            assert r.status_code < 500, (rule.rule, query, r.status_code)
            if any("\x00" in k + v or len(v) > MAX_VALUE_LENGTH for k, v in query.items()):
                assert r.status_code == 400, (rule.rule, query)
        for name in path:
            r = signed_in.get(url(app, rule, {**path, name: "a\x00b"}))
            assert r.status_code == 400, (rule.rule, name, r.status_code)
    assert routes >= 30


def test_api_query_parameters_are_the_documented_ones(signed_in):
    """The OpenAPI document lists exactly the query parameters each API route declares."""
    app = signed_in.application
    document = signed_in.get("/api/v1/openapi.json").get_json()
    for rule, path, params in get_routes(app):
        if not rule.rule.startswith("/api/v1/"):
            continue
        openapi_path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
        operation = document["paths"].get(openapi_path, {}).get("get")
        if operation is None:   # tests/web/test_api_docs.py finds routes missing from the document
            continue
        documented = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert documented == set(params), rule.rule


def test_views_read_the_query_string_only_through_the_declarations():
    """A view of the REST API or the review pages reading request.args itself would escape the checks and the walk.

    (Wings that speak another protocol, such as FHIR, parse their own parameters into their own error shape.)
    """
    modules = [*WEB.glob("*.py"), *WEB.glob("review/*.py"), *WEB.glob("api/*.py")]
    readers = [str(p.relative_to(WEB)) for p in modules
               if p.name != "params.py" and "request.args" in p.read_text(encoding="utf-8")]
    assert readers == []


@pytest.mark.parametrize("query, message", [
    ("offset=abc", "offset must be an integer, got 'abc'"),
    ("offset=-5", "offset must be between 0 and 1000000000"),
    ("min_score=abc", "min_score must be a number, got 'abc'"),
    ("status=gone", "status must be one of candidate, proposed, approved, rejected, not-mappable (got 'gone')"),
])
def test_the_review_dashboard_names_the_wrong_parameter(signed_in, query, message):
    r = signed_in.get(f"/review/mapsets/local-icd?{query}")
    assert r.status_code == 400
    assert message in html.unescape(r.get_data(as_text=True))
    assert signed_in.get("/review/mapsets/local-icd?offset=50&min_score=90").status_code == 200


def test_the_openapi_document_gives_each_declared_parameter_its_type(signed_in):
    paths = signed_in.get("/api/v1/openapi.json").get_json()["paths"]

    def schema(path, name):
        return next(p["schema"] for p in paths[path]["get"]["parameters"] if p["name"] == name)
    entries = "/catalogs/{slug}/versions/{version}/entries"
    assert schema(entries, "limit") == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
    assert schema(entries, "status") == {"type": "string", "enum": ["active", "inactive", "deprecated"]}
    assert schema("/feed", "since") == {"type": "string", "format": "date-time"}
    assert schema("/mapsets/{mapset}/mappings", "min_score") == {"type": "number", "minimum": 0, "maximum": 100}
    assert re.fullmatch(schema("/mapsets/{mapset}/mappings", "status")["pattern"], "candidate,approved")
    assert not re.fullmatch(schema("/mapsets/{mapset}/mappings", "status")["pattern"], "candidate,bogus")
