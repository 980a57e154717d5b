"""The API description keeps up with the app: every route is in the OpenAPI document and in docs/api.md."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "api.md"


def api_routes(app) -> list[tuple[str, str]]:
    """(METHOD, /path/{param}) for every API route of the app."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def test_every_route_is_in_the_openapi_document(sqlite_store):
    from registry.web import create_app
    app = create_app({"TESTING": True, "NSI_STORE": sqlite_store})
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    routes = api_routes(app)
    assert len(routes) >= 23
    missing = [f"{m} {p}" for m, p in routes if m.lower() not in doc["paths"].get(p, {})]
    assert missing == []
    extra = [f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops if (m.upper(), p) not in routes]
    assert extra == []
    upload = doc["paths"]["/catalogs/{slug}/imports"]["post"]
    assert upload["security"] == [{"bearer": []}] and "202" in upload["responses"]
    entry = doc["paths"]["/catalogs/{slug}/versions/{version}/entries/{code}"]["get"]
    assert [p["name"] for p in entry["parameters"]] == ["slug", "version", "code"]
    page = app.test_client().get("/api/v1/docs")
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert [f"{m} /api/v1{p}" for m, p in routes if f"{m} /api/v1{p}" not in html] == []


def test_every_route_is_documented_in_api_md(sqlite_store):
    from registry.web import create_app
    app = create_app({"TESTING": True, "NSI_STORE": sqlite_store})
    text = DOCS.read_text(encoding="utf-8")
    missing = [f"{m} /api/v1{p}" for m, p in api_routes(app) if f"### `{m} /api/v1{p}`" not in text]
    assert missing == []
    sections = text.split("### `")[1:]
    assert all("curl " in s for s in sections), "every endpoint section has a curl example"


def test_every_operation_declares_its_success_response_and_body(sqlite_store):
    """Each API route's operation has a 2xx response with a schema for each content type, resolvable in
    components; each write route with a body declares it; nothing in the document is written by hand."""
    from registry.web import create_app
    app = create_app({"TESTING": True, "NSI_STORE": sqlite_store})
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    for method, path in api_routes(app):
        operation = doc["paths"][path][method.lower()]
        success = [(status, r) for status, r in operation["responses"].items() if status.startswith("2")]
        assert len(success) == 1, (method, path)
        content = success[0][1].get("content")
        assert content, (method, path)
        for kind, media in content.items():
            schema = media["schema"]
            assert schema, (method, path, kind)
            if "$ref" in schema:
                assert schema["$ref"].removeprefix("#/components/schemas/") in schemas
        if method == "POST" and not path.endswith(("/discard", "/retire")):
            assert "requestBody" in operation, path
    refs = re_refs(doc)
    assert refs and refs <= set(schemas)
    assert schemas["Passport"]["properties"]["links"] == {"$ref": "#/components/schemas/CatalogLinks"}
    decision = schemas["DecisionBody"]
    assert decision["additionalProperties"] is False and decision["required"] == ["decision", "revision"]


def re_refs(value) -> set[str]:
    """Every component name a `$ref` of the document points at."""
    if isinstance(value, dict):
        found = {value["$ref"].rsplit("/", 1)[1]} if "$ref" in value else set()
        return found.union(*(re_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(re_refs(v) for v in value))
    return set()


def test_a_response_unlike_its_declaration_fails_under_test(sqlite_store, monkeypatch):
    import pytest
    from registry.web import create_app
    from registry.web import response_models as R
    from registry.web.responses import Declared, ResponseContractError
    app = create_app({"TESTING": True, "NSI_STORE": sqlite_store})
    assert app.test_client().get("/api/v1/healthz").status_code == 200
    monkeypatch.setattr(app.view_functions["health.healthz"], "nsi_response", Declared(200, R.Ready))
    with pytest.raises(ResponseContractError, match="not a Ready"):
        app.test_client().get("/api/v1/healthz")
