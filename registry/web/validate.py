"""Batch validation of codes against a version."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint

from registry.errors import BadRequest
from registry.web.common import API, json_body, json_response, read_only_post, resolve_for_read, store

bp = Blueprint("validate", __name__, url_prefix=API)
MAX_CODES = 10000


@bp.post("/catalogs/<slug>/versions/<version>/validate")
@read_only_post
def validate(slug: str, version: str):
    """For each code of `{"codes": [...]}`: valid, inactive or unknown, with its display."""
    body = json_body()
    codes = body.get("codes") if isinstance(body, dict) else body
    if not isinstance(codes, list) or not all(isinstance(c, (str, int)) for c in codes):
        raise BadRequest('the body must be {"codes": ["A00", ...]}')
    if len(codes) > MAX_CODES:
        raise BadRequest(f"at most {MAX_CODES} codes per request (got {len(codes)})")
    ref = resolve_for_read(slug, version)
    results = store().validate_codes(slug, [str(c) for c in codes], ref.label)
    return json_response({"catalog": slug, "version": ref.label, "items": results,
                          "counts": dict(Counter(r["result"] for r in results))})
