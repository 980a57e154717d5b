"""Matching local terms to a catalog's codes (the engine lives in registry.matching)."""

from __future__ import annotations

import json

from flask import Blueprint

from werkzeug.exceptions import NotImplemented as NotAvailable

from registry.errors import BadRequest
from registry.store.reads import LATEST
from registry.web.common import API, json_body, json_response, read_only_post, resolve_for_read, store

bp = Blueprint("match", __name__, url_prefix=API)
MAX_TERMS = 1000
# All the names of one request together: a matching cost grows with the words, and one request must not hold a
# worker for minutes (1,000 names of 200 characters, 200,000 in all, took 2 s against WHO ATC here).
MAX_REQUEST_CHARACTERS = 200_000


@bp.post("/match")
@read_only_post
def match():
    """Candidate codes for each term: `{"target": "slug@version", "terms": [...], "limit": 5}`.

    `"catalog": slug, "version": label` is accepted instead of `target`, for clients of the first API.
    """
    try:
        from registry.matching import check_limit, match as run_match, name_too_long, parse_target
    except ImportError:
        raise NotAvailable("matching is not available in this installation yet") from None
    body = json_body()
    shape = ('the body must be {"target": "slug@version", "terms": [{"code": "...", "name": "..."}], '
             '"limit": 5}')
    if not isinstance(body, dict) or not isinstance(body.get("terms"), list):
        raise BadRequest(shape)
    if body.get("target") is not None:
        if not isinstance(body["target"], str):
            raise BadRequest(shape)
        slug, version = parse_target(body["target"])
    elif isinstance(body.get("catalog"), str) and body["catalog"]:
        slug, version = body["catalog"], body.get("version")
        if version is not None and not isinstance(version, str):
            raise BadRequest(f"version must be a version label (text), not {json.dumps(version)}")
        version = version or LATEST
    else:
        raise BadRequest(shape)
    terms = body["terms"]
    if not all(isinstance(t, (str, dict)) for t in terms):
        raise BadRequest('each term is a name or an object {"name": ..., "code": ..., "attributes": {...}}')
    if len(terms) > MAX_TERMS:
        raise BadRequest(f"at most {MAX_TERMS} terms per request")
    total = 0
    for i, term in enumerate(terms, 1):
        name = term.get("name") if isinstance(term, dict) else term
        if isinstance(name, str):
            if why := name_too_long(name):
                raise BadRequest(f"term {i}: {why}")
            total += len(name)
    if total > MAX_REQUEST_CHARACTERS:
        raise BadRequest(f"the names hold {total} characters in all; at most {MAX_REQUEST_CHARACTERS} per request: "
                         f"send the terms in smaller batches")
    limit = body.get("limit", 5)
    if not isinstance(limit, int) or isinstance(limit, bool):  # JSON: no "5", 2.5 or true, which int() takes
        raise BadRequest(f"limit must be a whole number, not {json.dumps(limit)}")
    limit = check_limit(limit)
    ref = resolve_for_read(slug, version)
    results = run_match(terms, target=(ref.catalog, ref.label), limit=limit, store=store())
    return json_response({"catalog": ref.catalog, "version": ref.label, "items": results})
