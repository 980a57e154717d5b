"""Full-text search over published versions."""

from __future__ import annotations

from flask import Blueprint, request

from registry import search as full_text
from registry.web.common import API, arg_int, json_response, store

bp = Blueprint("search", __name__, url_prefix=API)


@bp.get("/search")
def search():
    """Entries matching the words of q (Russian and English stemming), best first; catalog and version narrow it."""
    limit = arg_int("limit", 20, 1, full_text.MAX_LIMIT)
    return json_response(full_text.search(store(), request.args.get("q", ""), catalog=request.args.get("catalog"),
                                          version=request.args.get("version"), limit=limit))
