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

from flask import Blueprint, Response

from registry import mapping
from registry.errors import BadRequest
from registry.models import MapSetCreate, MapSetPublic, MappingPublic
from registry.models.mapping import STATUSES
from registry.web.bodies import body, form, safe_file_name
from registry.web.common import API, current_token, json_response, needs, read_only_post, require, store
from registry.web.params import Int, Number, OneOf, Text, query
from registry.web.request_models import (BulkDecision, DecisionBody, MapSetCreateBody, MapSetPublish, Suggest,
                                         Translate, WorksheetForm)
from registry.web import response_models as R
from registry.web.responses import BINARY, TEXT, responds

bp = Blueprint("mapsets", __name__, url_prefix=API)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _dump(model) -> dict:
    return model.model_dump(mode="json")


@bp.get("/mapsets")
@responds(R.MapSetList)
def list_map_sets():
    """Every map set with counts per status."""
    return json_response({"items": [_dump(m) for m in mapping.list_map_sets(store())]})


@bp.post("/mapsets")
@responds(MapSetPublic, 201)
@needs("review")
@body(MapSetCreateBody)
def create_map_set(body: MapSetCreateBody):
    """Create a map set; the token's name is recorded as its creator."""
    data = MapSetCreate(**body.model_dump())
    return json_response(_dump(mapping.create_map_set(store(), data, actor=current_token().name)), 201)


@bp.get("/mapsets/<mapset>")
@responds(MapSetPublic)
def show_map_set(mapset):
    """One map set with counts per status."""
    return json_response(_dump(mapping.get_map_set(store(), mapset)))


@bp.post("/mapsets/<mapset>/suggest")
@responds(R.SuggestReport)
@needs("review")
@body(Suggest, optional=True)
def suggest(mapset, body: Suggest):
    """Run the matcher for the source entries without a decision."""
    report = mapping.suggest(store(), mapset, limit=body.limit, actor=f"matcher (run by {current_token().name})")
    return json_response(report.to_dict())


# The queue filter's query parameters, shared with the review dashboard.
QUEUE_FILTER = {"status": OneOf(STATUSES, many=True), "q": Text(), "min_score": Number(0, 100),
                "max_score": Number(0, 100), "reviewer": Text()}
MAX_OFFSET = 10**9


@bp.get("/mapsets/<mapset>/mappings")
@responds(R.MappingPage)
@needs("read_drafts")
@query(**QUEUE_FILTER, limit=Int(1, 1000, default=100), offset=Int(0, MAX_OFFSET, default=0))
def list_mappings(mapset, args: dict):
    """A page of the review queue."""
    page = mapping.list_mappings(store(), mapset, **args)
    return json_response({"items": [_dump(m) for m in page["items"]], "total": page["total"]})


@bp.get("/mapsets/<mapset>/mappings/<code>")
@responds(MappingPublic)
@needs("read_drafts")
def show_mapping(mapset, code):
    """One mapping."""
    return json_response(_dump(mapping.get_mapping(store(), mapset, code)))


@bp.post("/mapsets/<mapset>/mappings/<code>/decision")
@responds(MappingPublic)
@needs("review")
@body(DecisionBody)
def decide(mapset, code, body: DecisionBody):
    """One decision, made on `revision`: 409 with the current state when someone else changed it first."""
    result = mapping.decide(store(), mapset, code, body.decision, actor=current_token().name,
                            **body.model_dump(exclude={"decision"}))
    return json_response(_dump(result))


@bp.get("/mapsets/<mapset>/mappings/<code>/history")
@responds(R.EventList)
@needs("read_drafts")
def history(mapset, code):
    """Every audit event of one mapping, oldest first."""
    return json_response({"items": mapping.mapping_history(store(), mapset, code)})


@bp.post("/mapsets/<mapset>/decisions")
@responds(R.BulkResult)
@needs("review")
@body(BulkDecision)
def bulk(mapset, body: BulkDecision):
    """One decision on listed mappings (with revisions) or on every mapping a queue filter matches; all or nothing."""
    items = None if body.items is None else [i.model_dump(exclude_none=True) for i in body.items]
    filters = None if body.filter is None else body.filter.model_dump(exclude_none=True)
    done = mapping.bulk_decide(store(), mapset, body.decision, actor=current_token().name, items=items,
                               filters=filters, relationship=body.relationship, comment=body.comment)
    return json_response({"count": len(done), "items": [_dump(m) for m in done]})


@bp.get("/mapsets/<mapset>/history")
@responds(R.EventList)
@needs("read_drafts")
@query(actor=Text(), limit=Int(1, 1000, default=100))
def map_set_history(mapset, args: dict):
    """The newest audit events of a map set."""
    return json_response({"items": mapping.map_set_history(store(), mapset, **args)})


@bp.get("/mapsets/<mapset>/worksheet.xlsx")
@responds(content={XLSX: BINARY})
@needs("read_drafts")
@query(status=OneOf(STATUSES, default="candidate,proposed,rejected", many=True))
def worksheet(mapset, args: dict):
    """The review worksheet as an xlsx download."""
    status = args["status"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{mapset}-review.xlsx"
        mapping.export_xlsx(store(), mapset, path, status=status)
        data = path.read_bytes()
    return Response(data, mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{mapset}-review.xlsx"',
                             "Cache-Control": "no-store"})


@bp.post("/mapsets/<mapset>/worksheet")
@responds(R.WorksheetReport)
@needs("review")
@form(WorksheetForm)
def upload_worksheet(mapset, form: WorksheetForm, upload):
    """Apply a filled worksheet uploaded as multipart field `file`; 422 lists every refused row."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe_file_name(upload.filename, "worksheet.xlsx")
        upload.save(path)
        report = mapping.import_decisions(store(), mapset, path, reviewer=current_token().name)
    return json_response(report.to_dict())


@bp.get("/mapsets/<mapset>/sssom")
@responds(content={"text/tab-separated-values": TEXT})
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
@responds(R.MapSetVersionList)
def versions(mapset):
    """The published versions of a map set."""
    return json_response({"items": [_dump(v) for v in mapping.list_map_set_versions(store(), mapset)]})


@bp.post("/mapsets/<mapset>/versions")
@responds(R.MapSetVersion, 201)
@needs("review")
@body(MapSetPublish)
def publish(mapset, body: MapSetPublish):
    """Publish the approved mappings as version `label`."""
    v = mapping.publish_map_set(store(), mapset, body.label, actor=current_token().name, notes=body.notes)
    return json_response(_dump(v), 201)


@bp.get("/mapsets/<mapset>/versions/<version>")
@responds(R.PublishedMappings)
def published(mapset, version):
    """The mappings frozen in a published version."""
    return json_response({"map_set": mapset, "version": version,
                          "items": mapping.published_mappings(store(), mapset, version)})


@bp.get("/translate")
@responds(R.TranslateOne)
@query(source=Text(), code=Text(), target=Text())
def translate_one(args: dict):
    """`?source=slug&code=...&target=slug`: the published targets of one code."""
    source, code = args["source"], args["code"]
    if not source or not code:
        raise BadRequest("translate needs ?source=CATALOG&code=CODE (and optionally &target=CATALOG)")
    return json_response({"source": source, **mapping.translate(store(), source, code, args["target"])})


@bp.post("/translate")
@responds(R.TranslateBatch)
@read_only_post
@body(Translate)
def translate_batch(body: Translate):
    """`{"source", "codes": [...], "target"}`: the published targets of each code."""
    return json_response({"source": body.source,
                          "items": mapping.translate_codes(store(), body.source, body.codes, body.target)})
