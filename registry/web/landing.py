"""The start page at `/`: what this server is and where to go (review pages, API reference, catalogs).

A browser gets a small HTML page; a client that prefers JSON (`Accept: application/json`, or curl's
`*/*`) gets the same links as a JSON index. The catalog list is shown only while reads are public
(NSI_READS_NEED_TOKEN off); the page itself is always public, as an entry point.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from registry.web.common import API, json_response, store

bp = Blueprint("landing", __name__, template_folder="templates")


def links() -> dict:
    """Where a visitor can go from here, by name."""
    return {"review": url_for("review.home"), "api_docs": url_for("openapi.docs_page"),
            "openapi": url_for("openapi.openapi_document"), "catalogs": url_for("catalogs.list_catalogs"),
            "feed": url_for("feed.feed_atom"),
            "health": url_for("health.readyz")}


def catalog_rows() -> list:
    """The catalogs' passports, or none when reads need a token (their titles are not public then)."""
    if current_app.config["NSI_READS_NEED_TOKEN"]:
        return []
    s = store()
    return [s.catalog_public(c.slug) for c in s.list_catalogs()]


@bp.get("/")
def index():
    """HTML for browsers; a JSON index of links for API clients."""
    # A browser ranks text/html above */*; with curl's */* both tie and the first one wins; a script may send none.
    accept = request.accept_mimetypes
    if not accept or accept.best_match(["application/json", "text/html"]) == "application/json":
        response = json_response({"name": "NSI Registry", "links": links()})
    else:
        response = current_app.make_response(render_template(
            "landing/index.html", links=links(), api=API, catalogs=catalog_rows(),
            reads_closed=current_app.config["NSI_READS_NEED_TOKEN"]))
    response.vary.add("Accept")
    return response
