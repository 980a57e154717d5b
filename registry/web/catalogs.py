"""Catalogs: the list, one passport, and creating a catalog."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, url_for

from registry.models import CatalogCreate
from registry.web.bodies import body
from registry.web.common import API, json_response, needs, revalidated, store
from registry.web.request_models import CatalogCreateBody
from registry.web import response_models as R
from registry.web.responses import responds

bp = Blueprint("catalogs", __name__, url_prefix=API)


def passport(slug: str, public=None) -> dict:
    """A catalog's passport with links to its versions (`public`: its CatalogPublic, when already read)."""
    data = (public or store().catalog_public(slug)).model_dump(mode="json")
    data["links"] = {"self": url_for("catalogs.get_catalog", slug=slug),
                     "versions": url_for("versions.list_versions", slug=slug)}
    if data.get("latest_version"):
        data["links"]["latest"] = url_for("versions.get_version", slug=slug, version="latest")
    return data


@bp.get("/catalogs")
@responds(R.CatalogList, etag=True)
def list_catalogs():
    """Every catalog's passport, by slug; ETag and 304, as systems poll it for news.

    The rendered list is kept until the database changes (the store's change watch),
    so a poll costs neither queries nor encoding, however many catalogs there are.
    """
    token = store().change_token()
    key = (token, request.script_root)
    kept = current_app.extensions.get("nsi_catalog_list")
    if token is None or kept is None or kept[0] != key:
        built = json_response({"items": [passport(p.slug, p) for p in store().catalog_passports()]})
        built.add_etag()
        kept = (key, built.get_data(), built.get_etag()[0])
        if token is not None:
            current_app.extensions["nsi_catalog_list"] = kept
    response = Response(kept[1], mimetype="application/json")
    response.set_etag(kept[2])
    return revalidated(response)


@bp.get("/catalogs/<slug>")
@responds(R.Passport, etag=True)
def get_catalog(slug: str):
    """One catalog's passport: field schema, OID, owner, latest version and counts; ETag and 304."""
    return revalidated(json_response(passport(slug)))


@bp.post("/catalogs")
@responds(R.Passport, 201, location="URL of the new catalog")
@needs("create_catalog")
@body(CatalogCreateBody)
def create_catalog(body: CatalogCreateBody):
    """Register a new, empty catalog (token with role importer or admin)."""
    created = store().create_catalog(CatalogCreate(**body.model_dump()))
    response = json_response(passport(created.slug), 201)
    response.headers["Location"] = url_for("catalogs.get_catalog", slug=created.slug)
    return response
