"""The OpenAPI 3.1 document of the API and a human-readable page built from it.

Nothing here describes an operation by hand: the document is assembled from
the app's url_map and each view's declarations — its docstring (summary), its
query parameters (`registry.web.params.query`), its request body or upload form
(`registry.web.bodies.body`/`form`), its success response
(`registry.web.responses.responds`) and the token action it needs
(`registry.web.common.needs`). A test checks that every route has its operation
with a success schema, so a new endpoint cannot ship undescribed.
"""

from __future__ import annotations

import re
from html import escape

from flask import Blueprint, Response, current_app
from pydantic.json_schema import models_json_schema

from registry.web.common import API, json_response
from registry.web.responses import TEXT, responds

bp = Blueprint("openapi", __name__, url_prefix=API)

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}}
ROLES = {"review": "reviewer, admin", "create_catalog": "importer, admin", "import": "importer, admin",
         "publish": "importer, admin", "read_drafts": "importer, reviewer, admin"}
# What a path or query parameter means, by name: a glossary (the types come from the declarations).
MEANINGS = {
    "slug": "Catalog slug", "version": "Version label, or `latest` for the newest published version",
    "code": "The code", "mapset": "Map set slug", "job_id": "Job id from the Location of the upload",
    "cursor": "`next_cursor` of the previous page", "limit": "Page or result size", "offset": "Rows to skip",
    "status": "Status (for map sets: a comma-separated list)", "parent": "Only children of this code",
    "q": "Text to look for", "format": "Download format", "from": "Older version label (or latest)",
    "to": "Newer version label (or latest)", "catalog": "Only this catalog", "since": "Only what is newer",
    "min_score": "Lowest matcher score", "max_score": "Highest matcher score", "reviewer": "Assigned reviewer",
    "actor": "Only this actor's events", "source": "Source catalog slug", "target": "Target catalog slug",
}


def api_views() -> list[tuple[str, str, object]]:
    """(method, OpenAPI path, view) of every route of the app under /api/v1, in url_map order."""
    out = []
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(API + "/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len(API):])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method.lower(), path, current_app.view_functions[rule.endpoint]))
    return out


def _schemas(views) -> tuple[dict, dict]:
    """({(model, mode): JSON Schema reference}, components) of every declared body, form and response model."""
    models = set()
    for _, _, view in views:
        if getattr(view, "nsi_body", None):
            models.add((view.nsi_body, "validation"))
        if getattr(view, "nsi_form", None):
            models.add((view.nsi_form[0], "validation"))
        declared = getattr(view, "nsi_response", None)
        if declared is not None and declared.model is not None:
            models.add((declared.model, "serialization"))
    refs, defs = models_json_schema(sorted(models, key=lambda m: (m[0].__name__, m[1])),
                                    ref_template="#/components/schemas/{model}")
    return refs, defs.get("$defs", {})


def _summary(view) -> str:
    return (view.__doc__ or "").strip().split("\n")[0].rstrip(".")


def _operation(method: str, path: str, view, refs: dict, components: dict) -> dict:
    op = {"summary": _summary(view),
          "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
          "parameters": [{"name": name, "in": "path", "required": True, "description": MEANINGS.get(name, name),
                          "schema": {"type": "string", "minLength": 1}} for name in re.findall(r"{(\w+)}", path)],
          "responses": {}}
    for name, spec in (getattr(view, "nsi_query", None) or {}).items():
        op["parameters"].append({"name": name, "in": "query", "required": False,
                                 "description": MEANINGS.get(name, name), "schema": spec.schema()})
    action = getattr(view, "nsi_action", None)
    if action:
        op["security"] = [{"bearer": []}]
        op["description"] = f"Needs a token with role {ROLES.get(action, action)}."
    if getattr(view, "nsi_body", None):
        op["requestBody"] = {"required": not view.nsi_body_optional, "content": {
            "application/json": {"schema": refs[(view.nsi_body, "validation")]}}}
    if getattr(view, "nsi_form", None):
        model, file_part, side_files = view.nsi_form
        schema = dict(components[model.__name__])
        schema["properties"] = {file_part: {"type": "string", "format": "binary"}, **schema.get("properties", {})}
        schema["required"] = [file_part, *schema.get("required", [])]
        schema.pop("additionalProperties", None)
        if side_files:
            schema["patternProperties"] = {rf"^{side_files}\..+$": {
                "type": "string", "format": "binary",
                "description": f"a side file the profile joins to `{file_part}`: part `{side_files}.NAME` for its "
                               f"[[with]] table NAME (translations, attributes, groups)"}}
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    declared = view.nsi_response
    success = {"description": "Success"}
    if declared.model is not None:
        success["content"] = {"application/json": {"schema": refs[(declared.model, "serialization")]}}
    elif declared.content:
        success["content"] = {kind: {"schema": schema} for kind, schema in declared.content.items()}
    if declared.location:
        success["headers"] = {"Location": {"schema": {"type": "string"}, "description": declared.location}}
    op["responses"][str(declared.status)] = success
    if declared.etag:
        op["responses"]["304"] = {"description": "Not modified (If-None-Match matched the ETag)"}
    op["responses"]["default"] = {"description": "Error", "content": {"application/json": {"schema": ERROR}}}
    return op


def document() -> dict:
    """The OpenAPI 3.1 document as a dict, assembled from the declarations of the app's API views."""
    views = [v for v in api_views() if getattr(v[2], "nsi_response", None) is not None]
    refs, components = _schemas(views)
    paths: dict = {}
    for method, path, view in views:
        paths.setdefault(path, {})[method] = _operation(method, path, view, refs, components)
    return {"openapi": "3.1.0",
            "info": {"title": "NSI Registry API", "version": "1",
                     "description": "Versioned reference catalogs. Reads of published versions are public unless "
                                    "the server sets NSI_READS_NEED_TOKEN; writes need `Authorization: Bearer`."},
            "servers": [{"url": API}],
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                           "schemas": components},
            "paths": paths}


@bp.get("/openapi.json")
@responds(content={"application/json": {"type": "object"}})
def openapi_document():
    """This OpenAPI document."""
    return json_response(document())


@bp.get("/docs")
@responds(content={"text/html": TEXT})
def docs_page():
    """Human-readable API reference (HTML)."""
    rows = []
    for path, operations in document()["paths"].items():
        for method, op in operations.items():
            plist = "".join(f"<li><code>{escape(p['name'])}</code> ({p['in']}): {escape(p['description'])}</li>"
                            for p in op["parameters"])
            rows.append(f"<section><h2><code>{method.upper()} {API}{escape(path)}</code></h2>"
                        f"<p>{escape(op['summary'])}</p>"
                        + (f"<p><em>{escape(op['description'])}</em></p>" if "description" in op else "")
                        + (f"<ul>{plist}</ul>" if plist else "") + "</section>")
    html = ("<!doctype html><html lang='en'><meta charset='utf-8'><title>NSI Registry API</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:auto}h2{font-size:1.05em}</style>"
            f"<h1>NSI Registry API</h1><p>Machine-readable: <a href='{API}/openapi.json'>openapi.json</a>. "
            "Errors are <code>{\"error\": {\"code\", \"message\", \"details\"}}</code>.</p>" + "".join(rows)
            + "</html>")
    return Response(html, mimetype="text/html")
