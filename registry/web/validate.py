"""Batch validation of codes against a version."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint

from registry.web.bodies import body
from registry.web.common import API, json_response, read_only_post, resolve_for_read, store
from registry.web.request_models import Codes
from registry.web import response_models as R
from registry.web.responses import responds

bp = Blueprint("validate", __name__, url_prefix=API)


@bp.post("/catalogs/<slug>/versions/<version>/validate")
@responds(R.Validation)
@read_only_post
@body(Codes)
def validate(slug: str, version: str, body: Codes):
    """For each code of `{"codes": [...]}`: valid, inactive or unknown, with its display."""
    ref = resolve_for_read(slug, version)
    results = store().validate_codes(slug, body.codes, ref.label)
    return json_response({"catalog": slug, "version": ref.label, "items": results,
                          "counts": dict(Counter(r["result"] for r in results))})
