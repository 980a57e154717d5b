"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint

from registry import db
from registry.web.common import API, json_response, store
from registry.web import response_models as R
from registry.web.responses import responds

bp = Blueprint("health", __name__, url_prefix=API)


@bp.get("/healthz")
@responds(R.Status)
def healthz():
    """The process answers (liveness)."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
@responds(R.Ready)
def readyz():
    """The database answers and its schema matches the code (readiness); 503 otherwise."""
    try:
        db.check_schema(store().engine)
    except Exception as exc:
        message = getattr(exc, "message", None) or f"database not reachable: {type(exc).__name__}"
        return json_response({"error": {"code": "not_ready", "message": message, "details": None}}, 503)
    return json_response({"status": "ready", "schema": db.head_revision()})
