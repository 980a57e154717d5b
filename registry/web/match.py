"""Matching local terms to a catalog's codes (the engine lives in registry.matching)."""

from __future__ import annotations

from flask import Blueprint

from werkzeug.exceptions import NotImplemented as NotAvailable

from registry.errors import BadRequest
from registry.store.reads import LATEST
from registry.web.bodies import body
from registry.web.common import API, json_response, read_only_post, resolve_for_read, store
from registry.web.request_models import MatchRequest
from registry.web import response_models as R
from registry.web.responses import responds

bp = Blueprint("match", __name__, url_prefix=API)
# All the names of one request together: a matching cost grows with the words, and one request must not hold a
# worker for minutes (1,000 names of 200 characters, 200,000 in all, took 2 s against WHO ATC here).
MAX_REQUEST_CHARACTERS = 200_000


@bp.post("/match")
@responds(R.MatchResult)
@read_only_post
@body(MatchRequest)
def match(body: MatchRequest):
    """Candidate codes for each term: `{"target": "slug@version", "terms": [...], "limit": 5}`.

    `"catalog": slug, "version": label` is accepted instead of `target`, for clients of the first API.
    """
    try:
        from registry.matching import match as run_match, parse_target
    except ImportError:
        raise NotAvailable("matching is not available in this installation yet") from None
    if body.target is not None:
        slug, version = parse_target(body.target)
    else:
        slug, version = body.catalog, body.version or LATEST
    terms = [t if isinstance(t, str) else t.model_dump(exclude_none=True) for t in body.terms]
    total = sum(len(t if isinstance(t, str) else t["name"]) for t in terms)
    if total > MAX_REQUEST_CHARACTERS:
        raise BadRequest(f"the names hold {total} characters in all; at most {MAX_REQUEST_CHARACTERS} per request: "
                         f"send the terms in smaller batches")
    ref = resolve_for_read(slug, version)
    results = run_match(terms, target=(ref.catalog, ref.label), limit=body.limit, store=store())
    return json_response({"catalog": ref.catalog, "version": ref.label, "items": results})
