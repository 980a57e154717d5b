"""The review worksheet from the map set page: download it and upload it back with the signed-in session.

The same Python API as `GET/POST /api/v1/mapsets/{mapset}/worksheet` (registry.mapping.export_xlsx and
import_decisions), so the upload is all or nothing the same way; its report, or every refused row with its
place, is shown as a page. The upload form carries the session's CSRF token like every review form.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Response, render_template, request

from registry import mapping
from registry.errors import BadRequest, ImportRejected, NsiError
from registry.models.mapping import STATUSES
from registry.web.params import OneOf, query
from registry.web.review import bp, need, store


@bp.get("/mapsets/<slug>/worksheet.xlsx")
@query(status=OneOf(STATUSES, default="candidate,proposed,rejected", many=True))
def worksheet_download(slug, args: dict):
    """The review worksheet of the map set's open mappings, as an xlsx download."""
    need("read_drafts")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{slug}-review.xlsx"
        mapping.export_xlsx(store(), slug, path, status=args["status"])
        data = path.read_bytes()
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{slug}-review.xlsx"',
                             "Cache-Control": "no-store"})


@bp.post("/mapsets/<slug>/worksheet")
def worksheet_upload(slug):
    """Apply an uploaded, filled worksheet (all decisions or none) and show what happened."""
    user = need("review")
    ms = mapping.get_map_set(store(), slug)
    upload = request.files.get("worksheet")
    report, problems, error, status = None, [], None, 200
    try:
        if upload is None or not upload.filename:
            raise BadRequest("choose the filled worksheet (.xlsx) to upload")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(upload.filename).name
            upload.save(path)
            report = mapping.import_decisions(store(), slug, path, reviewer=user.name)
    except ImportRejected as exc:
        problems, status = exc.problems, exc.http_status
    except NsiError as exc:
        error, status = exc, exc.http_status
    return render_template("review/worksheet.html", ms=ms, report=report, problems=problems, error=error,
                           file=upload.filename if upload else None), status
