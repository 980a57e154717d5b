"""The OpenAPI 3 document of the API and a human-readable page built from it.

The operations are written out by hand (summary, parameters, body, who may
call them): the publishing API's in `OPERATIONS` below, and any other
blueprint's in an `OPERATIONS` list of the same tuples in its own module
(the request bodies it names go in an optional `BODIES` dict). A test
checks that every route of the app is described, so a new endpoint cannot ship
undocumented.
"""

from __future__ import annotations

import re
import sys
from html import escape

from flask import Blueprint, Response, current_app

from registry.web.common import API, json_response

bp = Blueprint("openapi", __name__, url_prefix=API)

Q = "query"
P_VERSION = ("version", "path", "Version label, or `latest` for the newest published version")
P_LIMIT = ("limit", Q, "Page or result size")

# (method, path, summary, token action or None for public reads, [(name, in, description)], body, success status)
OPERATIONS = [
    ("get", "/healthz", "Liveness probe", None, [], None, 200),
    ("get", "/readyz", "Readiness probe: database reachable and schema current (503 otherwise)", None, [], None, 200),
    ("get", "/openapi.json", "This OpenAPI document", None, [], None, 200),
    ("get", "/docs", "Human-readable API reference (HTML)", None, [], None, 200),
    ("get", "/catalogs", "List catalogs with their passports", None, [], None, 200),
    ("post", "/catalogs", "Create a catalog", "create_catalog", [], "CatalogCreate", 201),
    ("get", "/catalogs/{slug}", "A catalog's passport: field schema, OID, owner, latest version, counts",
     None, [], None, 200),
    ("get", "/catalogs/{slug}/versions", "Versions of a catalog (drafts only with an importer/reviewer/admin token)",
     None, [], None, 200),
    ("get", "/catalogs/{slug}/versions/{version}", "A version's metadata: checksum, counts, release notes",
     None, [P_VERSION], None, 200),
    ("get", "/catalogs/{slug}/versions/{version}/entries", "A page of entries in code order",
     None, [P_VERSION, ("cursor", Q, "`next_cursor` of the previous page"), P_LIMIT,
            ("status", Q, "active, inactive or deprecated"), ("parent", Q, "Only children of this code"),
            ("q", Q, "Code, or text contained in the display (case-insensitive)")], None, 200),
    ("get", "/catalogs/{slug}/versions/{version}/entries/{code}", "One entry with its parents and children",
     None, [P_VERSION, ("code", "path", "The code")], None, 200),
    ("get", "/catalogs/{slug}/versions/{version}/download", "The whole version, streamed in code order",
     None, [P_VERSION, ("format", Q, "jsonl (default), csv or xlsx")], None, 200),
    ("post", "/catalogs/{slug}/versions/{version}/validate", "Validate a batch of codes: valid, inactive or unknown",
     None, [P_VERSION], "Codes", 200),
    ("post", "/catalogs/{slug}/versions/{version}/publish", "Publish a draft", "publish", [P_VERSION],
     "ReleaseNotes", 200),
    ("post", "/catalogs/{slug}/versions/{version}/discard", "Delete a draft", "publish", [P_VERSION], None, 200),
    ("post", "/catalogs/{slug}/versions/{version}/retire", "Retire a published version", "publish", [P_VERSION],
     None, 200),
    ("get", "/catalogs/{slug}/diff", "Added, removed and changed entries between two versions", None,
     [("from", Q, "Older version label (or latest)"), ("to", Q, "Newer version label (or latest)")], None, 200),
    ("post", "/catalogs/{slug}/imports", "Upload a file to import as a draft (background job): 202 + Location",
     "import", [], "Upload", 202),
    ("get", "/jobs/{job_id}", "An import job: status, progress, report, error, link to the draft", "read_drafts",
     [("job_id", "path", "Job id from the Location of the upload")], None, 200),
    ("get", "/search", "Full-text search over displays and designations (Russian and English stemming)", None,
     [("q", Q, "Words to look for"), ("catalog", Q, "Only this catalog"), ("version", Q, "Only this version "
      "(needs catalog; default latest)"), P_LIMIT], None, 200),
    ("post", "/match", "Candidate codes of a catalog for local terms", None, [], "Match", 200),
    ("get", "/feed", "Versions published across catalogs, newest first (JSON)", None,
     [("since", Q, "Only versions published after this ISO 8601 time"), P_LIMIT], None, 200),
    ("get", "/feed.atom", "The same releases as an Atom feed", None,
     [("since", Q, "Only versions published after this ISO 8601 time"), P_LIMIT], None, 200),
]

BODIES = {
    "CatalogCreate": {"type": "object", "required": ["slug", "title"], "properties": {
        "slug": {"type": "string"}, "title": {"type": "string"},
        "kind": {"type": "string", "enum": ["classification", "drug", "facility", "other"]},
        "owner": {"type": "string"}, "oid": {"type": "string"}, "language": {"type": "string"},
        "description": {"type": "string"}, "field_schema": {"type": "object"}}},
    "Codes": {"type": "object", "required": ["codes"], "properties": {
        "codes": {"type": "array", "items": {"type": "string"}, "maxItems": 10000}}},
    "ReleaseNotes": {"type": "object", "properties": {"release_notes": {"type": "string"}}},
    "Match": {"type": "object", "required": ["terms"], "properties": {
        "target": {"type": "string", "description": "SLUG or SLUG@VERSION"},
        "terms": {"type": "array", "maxItems": 1000, "items": {"oneOf": [
            {"type": "string", "minLength": 1},
            {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "minLength": 1}, "code": {"type": "string"},
                "attributes": {"type": "object"}}}]}},
        "catalog": {"type": "string", "description": "instead of target: the catalog's slug"},
        "version": {"type": "string", "default": "latest"}, "limit": {"type": "integer", "default": 5}}},
}
UPLOAD = {"type": "object", "required": ["file", "version"], "properties": {
    "file": {"type": "string", "format": "binary"}, "version": {"type": "string"},
    "format": {"type": "string"}, "profile": {"type": "string"}}}
ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}}
# Polled reads answered with an ETag made from the body (registry.web.common.revalidated).
REVALIDATED = {"/catalogs", "/catalogs/{slug}", "/catalogs/{slug}/versions", "/feed", "/feed.atom"}
ROLES = {"review": "reviewer, admin", "create_catalog": "importer, admin", "import": "importer, admin", "publish": "importer, admin",
         "read_drafts": "importer, reviewer, admin"}


def all_operations() -> tuple[list[tuple], dict]:
    """The operations and request bodies of every blueprint registered on the current app."""
    operations, bodies = list(OPERATIONS), dict(BODIES)
    for blueprint in current_app.blueprints.values():
        module = sys.modules.get(blueprint.import_name)
        if module is not None and module is not sys.modules[__name__]:
            operations += getattr(module, "OPENAPI_OPERATIONS", None) or getattr(module, "OPERATIONS", [])
            bodies.update(getattr(module, "OPENAPI_BODIES", None) or getattr(module, "BODIES", {}))
    return operations, bodies


def declared_query_parameters() -> dict[tuple[str, str], dict]:
    """{(method, path as in OPERATIONS): {name: spec}} of the app's API views (see registry.web.params.query)."""
    out = {}
    for rule in current_app.url_map.iter_rules():
        specs = getattr(current_app.view_functions.get(rule.endpoint), "nsi_query", None)
        if specs and rule.rule.startswith(API + "/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len(API):])
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                out[(method.lower(), path)] = specs
    return out


def _operation(method, path, summary, action, params, body, status, bodies=None, declared=None) -> dict:
    op = {"summary": summary, "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
          "parameters": [], "responses": {
              str(status): {"description": "Success"},
              "default": {"description": "Error", "content": {"application/json": {"schema": ERROR}}}}}
    names = re.findall(r"{(\w+)}", path)
    described = {p[0]: p for p in params}
    for name in names:
        desc = described.get(name, (name, "path", "Catalog slug" if name == "slug" else name))[2]
        op["parameters"].append({"name": name, "in": "path", "required": True, "description": desc,
                                 "schema": {"type": "string"}})
    specs = (declared or {}).get((method, path), {})
    for name, where, desc in params:
        if where == Q:
            schema = specs[name].schema() if name in specs else {"type": "string"}
            op["parameters"].append({"name": name, "in": "query", "required": False, "description": desc,
                                     "schema": schema})
    if action:
        op["security"] = [{"bearer": []}]
        op["description"] = f"Needs a token with role {ROLES.get(action, action)}."
    if body == "Upload":
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": UPLOAD}}}
    elif body:
        schema = (bodies or BODIES).get(body, {"type": "object"})
        op["requestBody"] = {"required": body != "ReleaseNotes", "content": {"application/json": {"schema": schema}}}
    if status == 202:
        op["responses"]["202"]["headers"] = {"Location": {"schema": {"type": "string"},
                                                          "description": "URL of the import job"}}
    if method == "get" and ("{version}" in path or path in REVALIDATED):
        op["responses"]["304"] = {"description": "Not modified (If-None-Match matched the ETag)"}
    return op


def document() -> dict:
    """The OpenAPI 3 document as a dict."""
    paths: dict = {}
    operations, bodies = all_operations()
    declared = declared_query_parameters()
    for method, path, *rest in operations:
        paths.setdefault(path, {})[method] = _operation(method, path, *rest, bodies=bodies, declared=declared)
    return {"openapi": "3.0.3",
            "info": {"title": "NSI Registry API", "version": "1",
                     "description": "Versioned reference catalogs. Reads of published versions are public unless "
                                    "the server sets NSI_READS_NEED_TOKEN; writes need `Authorization: Bearer`."},
            "servers": [{"url": API}],
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "paths": paths}


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3 document."""
    return json_response(document())


@bp.get("/docs")
def docs_page():
    """A plain HTML page listing every operation with its parameters."""
    rows = []
    operations, bodies = all_operations()
    for method, path, summary, action, params, body, status in operations:
        op = _operation(method, path, summary, action, params, body, status, bodies)
        plist = "".join(f"<li><code>{escape(p['name'])}</code> ({p['in']}): {escape(p['description'])}</li>"
                        for p in op["parameters"])
        rows.append(f"<section><h2><code>{method.upper()} {API}{escape(path)}</code></h2><p>{escape(summary)}</p>"
                    + (f"<p><em>{escape(op['description'])}</em></p>" if action else "")
                    + (f"<ul>{plist}</ul>" if plist else "") + "</section>")
    html = ("<!doctype html><html lang='en'><meta charset='utf-8'><title>NSI Registry API</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:auto}h2{font-size:1.05em}</style>"
            f"<h1>NSI Registry API</h1><p>Machine-readable: <a href='{API}/openapi.json'>openapi.json</a>. "
            "Errors are <code>{\"error\": {\"code\", \"message\", \"details\"}}</code>.</p>" + "".join(rows)
            + "</html>")
    return Response(html, mimetype="text/html")
