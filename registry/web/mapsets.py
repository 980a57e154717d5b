"""Map sets over the API: create, suggest, review decisions (single and bulk), history, publish, translate.

Decisions need a token with the `review` permission (reviewer or admin); the
token's name is the actor recorded in the audit trail. A decision carries the
mapping revision it was made on; a stale one gets 409 with the current state
in `error.details.current`. Map set metadata and published versions are public
reads; the working state of mappings (queue, history, worksheet) needs a token
that may read drafts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Response, request

from registry import mapping
from registry.errors import BadRequest
from registry.models import MapSetCreate
from registry.models.mapping import STATUSES
from registry.web.common import API, json_body, json_response, read_only_post, require, store, validated
from registry.web.params import Int, Number, OneOf, Text, query

bp = Blueprint("mapsets", __name__, url_prefix=API)

P_MAPSET = ("mapset", "path", "Map set slug")
P_CODE = ("code", "path", "Source code of the mapping")
QUEUE_PARAMS = [("status", "query", "Comma-separated statuses: candidate, proposed, approved, rejected"),
                ("q", "query", "Source or target code, or text in the source name"),
                ("min_score", "query", "Lowest matcher score"), ("max_score", "query", "Highest matcher score"),
                ("reviewer", "query", "Assigned reviewer"), ("limit", "query", "Page size (1-1000)"),
                ("offset", "query", "Rows to skip")]
# (method, path, summary, token action, params, body, status), in the format of registry.web.openapi.
OPERATIONS = [
    ("get", "/mapsets", "List map sets with counts per status", None, [], None, 200),
    ("post", "/mapsets", "Create a map set (source and target as slug@version)", "review", [], "MapSetCreate", 201),
    ("get", "/mapsets/{mapset}", "A map set with counts per status", None, [P_MAPSET], None, 200),
    ("post", "/mapsets/{mapset}/suggest", "Store the matcher's candidates for source entries without a decision",
     "review", [P_MAPSET], "Suggest", 200),
    ("get", "/mapsets/{mapset}/mappings", "The review queue: a filtered page of mappings", "read_drafts",
     [P_MAPSET, *QUEUE_PARAMS], None, 200),
    ("get", "/mapsets/{mapset}/mappings/{code}", "One mapping with candidates, status and revision", "read_drafts",
     [P_MAPSET, P_CODE], None, 200),
    ("post", "/mapsets/{mapset}/mappings/{code}/decision",
     "Decide on a mapping (approve, propose, reject, remap, not-mappable, comment, assign); 409 when stale",
     "review", [P_MAPSET, P_CODE], "Decision", 200),
    ("get", "/mapsets/{mapset}/mappings/{code}/history", "Every change of a mapping: who, when, before, after",
     "read_drafts", [P_MAPSET, P_CODE], None, 200),
    ("post", "/mapsets/{mapset}/decisions", "One decision on many mappings (listed or filtered), all or nothing",
     "review", [P_MAPSET], "BulkDecision", 200),
    ("get", "/mapsets/{mapset}/history", "The newest audit events of a map set", "read_drafts",
     [P_MAPSET, ("actor", "query", "Only this actor's events"), ("limit", "query", "How many (1-1000)")], None, 200),
    ("get", "/mapsets/{mapset}/worksheet.xlsx", "The review worksheet for Excel", "read_drafts",
     [P_MAPSET, ("status", "query", "Statuses to include (default candidate,proposed,rejected)")], None, 200),
    ("post", "/mapsets/{mapset}/worksheet", "Upload a filled review worksheet: all decisions or none", "review",
     [P_MAPSET], "Upload", 200),
    ("get", "/mapsets/{mapset}/sssom", "Approved mappings (or a published version) as SSSOM TSV", "read_drafts",
     [P_MAPSET, ("version", "query", "A published version label or latest")], None, 200),
    ("get", "/mapsets/{mapset}/versions", "Published versions of a map set", None, [P_MAPSET], None, 200),
    ("post", "/mapsets/{mapset}/versions", "Publish the approved mappings as an immutable version", "review",
     [P_MAPSET], "MapSetPublish", 201),
    ("get", "/mapsets/{mapset}/versions/{version}", "The mappings of a published version (or latest)", None,
     [P_MAPSET, ("version", "path", "Version label or latest")], None, 200),
    ("get", "/translate", "Translate a code through published, approved mappings", None,
     [("source", "query", "Source catalog slug"), ("code", "query", "Source code"),
      ("target", "query", "Target catalog slug (optional)")], None, 200),
    ("post", "/translate", "Translate a batch of codes through published, approved mappings", None, [],
     "Translate", 200),
]
BODIES = {
    "MapSetCreate": {"type": "object", "required": ["slug", "source", "target"], "properties": {
        "slug": {"type": "string"}, "source": {"type": "string", "example": "local@1"},
        "target": {"type": "string", "example": "icd10@2.27"}, "four_eyes": {"type": "boolean"},
        "title": {"type": "string"}, "owner": {"type": "string"}, "description": {"type": "string"},
        "match": {"type": "object", "description": "What is matched: names (fields with weights), combine, form, "
                                                   "floor (docs/mapping.md)"}}},
    "Suggest": {"type": "object", "properties": {"limit": {"type": "integer", "default": 5}}},
    "Decision": {"type": "object", "required": ["decision", "revision"], "properties": {
        "decision": {"type": "string", "enum": list(mapping.DECISIONS)}, "revision": {"type": "integer"},
        "relationship": {"type": "string", "enum": ["equivalent", "broader", "narrower", "related",
                                                     "not-mappable"]},
        "target_code": {"type": "string"}, "comment": {"type": "string"}, "reviewer": {"type": "string"}}},
    "BulkDecision": {"type": "object", "required": ["decision"], "properties": {
        "decision": {"type": "string"}, "relationship": {"type": "string"}, "comment": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "source_code": {"type": "string"}, "revision": {"type": "integer"}}}},
        "filter": {"type": "object", "properties": {"status": {"type": "string"}, "q": {"type": "string"},
                                                    "min_score": {"type": "number"},
                                                    "max_score": {"type": "number"}}}}},
    "MapSetPublish": {"type": "object", "required": ["label"], "properties": {
        "label": {"type": "string"}, "notes": {"type": "string"}}},
    "Translate": {"type": "object", "required": ["source", "codes"], "properties": {
        "source": {"type": "string"}, "codes": {"type": "array", "items": {"type": "string"}},
        "target": {"type": "string"}}},
}


def _dump(model) -> dict:
    return model.model_dump(mode="json")


def _body_dict() -> dict:
    body = json_body()
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


@bp.get("/mapsets")
def list_map_sets():
    """Every map set with counts per status."""
    return json_response({"items": [_dump(m) for m in mapping.list_map_sets(store())]})


@bp.post("/mapsets")
def create_map_set():
    """Create a map set; the token's name is recorded as its creator."""
    token = require("review")
    body = _body_dict()
    data = validated(MapSetCreate, body, "map set")
    return json_response(_dump(mapping.create_map_set(store(), data, actor=token.name)), 201)


@bp.get("/mapsets/<mapset>")
def show_map_set(mapset):
    """One map set with counts per status."""
    return json_response(_dump(mapping.get_map_set(store(), mapset)))


@bp.post("/mapsets/<mapset>/suggest")
def suggest(mapset):
    """Run the matcher for the source entries without a decision."""
    token = require("review")
    body = request.get_json(silent=True) or {}
    limit = body.get("limit", 5) if isinstance(body, dict) else 5
    if not isinstance(limit, int):
        raise BadRequest("limit must be an integer")
    report = mapping.suggest(store(), mapset, limit=limit, actor=f"matcher (run by {token.name})")
    return json_response(report.to_dict())


# The queue filter's query parameters, shared with the review dashboard.
QUEUE_FILTER = {"status": OneOf(STATUSES, many=True), "q": Text(), "min_score": Number(0, 100),
                "max_score": Number(0, 100), "reviewer": Text()}
MAX_OFFSET = 10**9


@bp.get("/mapsets/<mapset>/mappings")
@query(**QUEUE_FILTER, limit=Int(1, 1000, default=100), offset=Int(0, MAX_OFFSET, default=0))
def list_mappings(mapset, args: dict):
    """A page of the review queue."""
    require("read_drafts")
    page = mapping.list_mappings(store(), mapset, **args)
    return json_response({"items": [_dump(m) for m in page["items"]], "total": page["total"]})


@bp.get("/mapsets/<mapset>/mappings/<code>")
def show_mapping(mapset, code):
    """One mapping."""
    require("read_drafts")
    return json_response(_dump(mapping.get_mapping(store(), mapset, code)))


@bp.post("/mapsets/<mapset>/mappings/<code>/decision")
def decide(mapset, code):
    """One decision, made on `revision`: 409 with the current state when someone else changed it first."""
    token = require("review")
    body = _body_dict()
    result = mapping.decide(store(), mapset, code, str(body.get("decision") or ""), actor=token.name,
                            revision=body.get("revision"), relationship=body.get("relationship"),
                            target_code=body.get("target_code"), comment=body.get("comment"),
                            reviewer=body.get("reviewer"))
    return json_response(_dump(result))


@bp.get("/mapsets/<mapset>/mappings/<code>/history")
def history(mapset, code):
    """Every audit event of one mapping, oldest first."""
    require("read_drafts")
    return json_response({"items": mapping.mapping_history(store(), mapset, code)})


@bp.post("/mapsets/<mapset>/decisions")
def bulk(mapset):
    """One decision on listed mappings (with revisions) or on every mapping a queue filter matches; all or nothing."""
    token = require("review")
    body = _body_dict()
    items, filters = body.get("items"), body.get("filter")
    if items is not None and not isinstance(items, list):
        raise BadRequest("items must be a list of {source_code, revision}")
    if filters is not None and not isinstance(filters, dict):
        raise BadRequest("filter must be an object")
    if filters is not None:
        allowed = {"status", "q", "min_score", "max_score", "reviewer"}
        unknown = sorted(set(filters) - allowed)
        if unknown:
            raise BadRequest(f"unknown filter field {unknown[0]!r}; use {', '.join(sorted(allowed))}")
    done = mapping.bulk_decide(store(), mapset, str(body.get("decision") or ""), actor=token.name, items=items,
                               filters=filters, relationship=body.get("relationship"), comment=body.get("comment"))
    return json_response({"count": len(done), "items": [_dump(m) for m in done]})


@bp.get("/mapsets/<mapset>/history")
@query(actor=Text(), limit=Int(1, 1000, default=100))
def map_set_history(mapset, args: dict):
    """The newest audit events of a map set."""
    require("read_drafts")
    return json_response({"items": mapping.map_set_history(store(), mapset, **args)})


@bp.get("/mapsets/<mapset>/worksheet.xlsx")
@query(status=OneOf(STATUSES, default="candidate,proposed,rejected", many=True))
def worksheet(mapset, args: dict):
    """The review worksheet as an xlsx download."""
    require("read_drafts")
    status = args["status"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{mapset}-review.xlsx"
        mapping.export_xlsx(store(), mapset, path, status=status)
        data = path.read_bytes()
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{mapset}-review.xlsx"',
                             "Cache-Control": "no-store"})


@bp.post("/mapsets/<mapset>/worksheet")
def upload_worksheet(mapset):
    """Apply a filled worksheet uploaded as multipart field `file`; 422 lists every refused row."""
    token = require("review")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("upload the filled worksheet as multipart form field `file`")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.filename).name
        upload.save(path)
        report = mapping.import_decisions(store(), mapset, path, reviewer=token.name)
    return json_response(report.to_dict())


@bp.get("/mapsets/<mapset>/sssom")
@query(version=Text())
def sssom(mapset, args: dict):
    """SSSOM TSV of the approved mappings, or of a published version with ?version=."""
    version = args["version"]
    if version is None:
        require("read_drafts")
    text = mapping.export_sssom(store(), mapset, version)
    return Response(text, mimetype="text/tab-separated-values",
                    headers={"Content-Disposition": f'attachment; filename="{mapset}.sssom.tsv"'})


@bp.get("/mapsets/<mapset>/versions")
def versions(mapset):
    """The published versions of a map set."""
    return json_response({"items": [_dump(v) for v in mapping.list_map_set_versions(store(), mapset)]})


@bp.post("/mapsets/<mapset>/versions")
def publish(mapset):
    """Publish the approved mappings as version `label`."""
    token = require("review")
    body = _body_dict()
    v = mapping.publish_map_set(store(), mapset, str(body.get("label") or ""), actor=token.name,
                                notes=body.get("notes"))
    return json_response(_dump(v), 201)


@bp.get("/mapsets/<mapset>/versions/<version>")
def published(mapset, version):
    """The mappings frozen in a published version."""
    return json_response({"map_set": mapset, "version": version,
                          "items": mapping.published_mappings(store(), mapset, version)})


@bp.get("/translate")
@query(source=Text(), code=Text(), target=Text())
def translate_one(args: dict):
    """`?source=slug&code=...&target=slug`: the published targets of one code."""
    source, code = args["source"], args["code"]
    if not source or not code:
        raise BadRequest("translate needs ?source=CATALOG&code=CODE (and optionally &target=CATALOG)")
    return json_response({"source": source, **mapping.translate(store(), source, code, args["target"])})


@bp.post("/translate")
@read_only_post
def translate_batch():
    """`{"source", "codes": [...], "target"}`: the published targets of each code."""
    body = _body_dict()
    codes = body.get("codes")
    if not isinstance(codes, list):
        raise BadRequest('the body must be {"source": "slug", "codes": ["..."], "target": "slug"}')
    return json_response({"source": body.get("source"),
                          "items": mapping.translate_codes(store(), str(body.get("source") or ""),
                                                           [str(c) for c in codes], body.get("target") or None)})
