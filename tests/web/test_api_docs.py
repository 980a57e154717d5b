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
