"""Differences between two versions of a catalog."""

from __future__ import annotations

from flask import Blueprint

from registry.errors import BadRequest
from registry.store.reads import LATEST
from registry.web.common import API, cached, json_response, resolve_for_read, store
from registry.web.params import Text, query
from registry.web import response_models as R
from registry.web.responses import responds

bp = Blueprint("diff", __name__, url_prefix=API)


@bp.get("/catalogs/<slug>/diff")
@responds(R.Diff, etag=True)
@query(**{"from": Text(), "to": Text()})
def diff(slug: str, args: dict):
    """Added, removed and changed entries (with field-level before/after) between `from` and `to`."""
    old, new = args["from"], args["to"]
    if not old or not new:
        raise BadRequest("diff needs both from= and to= (version labels or latest)")
    refs = [resolve_for_read(slug, old), resolve_for_read(slug, new)]
    return cached(refs, LATEST in (old, new), "diff",
                  lambda: json_response(store().diff(slug, refs[0].label, refs[1].label)))
