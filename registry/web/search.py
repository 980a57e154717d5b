"""Full-text search over published versions."""

from __future__ import annotations

from flask import Blueprint

from registry import search as full_text
from registry.web.common import API, json_response, store
from registry.web.params import Int, Text, query
from registry.web import response_models as R
from registry.web.responses import responds

bp = Blueprint("search", __name__, url_prefix=API)


@bp.get("/search")
@responds(R.SearchResult)
@query(q=Text(default=""), catalog=Text(), version=Text(), limit=Int(1, full_text.MAX_LIMIT, default=20))
def search(args: dict):
    """Entries matching the words of q (Russian and English stemming), best first; catalog and version narrow it."""
    return json_response(full_text.search(store(), args["q"], catalog=args["catalog"], version=args["version"],
                                          limit=args["limit"]))
