"""Catalogs: the list, one passport, and creating a catalog."""

from __future__ import annotations

from flask import Blueprint, url_for

from registry.models import CatalogCreate
from registry.web.bodies import body
from registry.web.common import API, json_response, needs, revalidated, store
from registry.web.request_models import CatalogCreateBody
from registry.web import response_models as R
from registry.web.responses import responds

bp = Blueprint("catalogs", __name__, url_prefix=API)


def passport(slug: str) -> dict:
    """A catalog's passport with links to its versions."""
    data = store().catalog_public(slug).model_dump(mode="json")
    data["links"] = {"self": url_for("catalogs.get_catalog", slug=slug),
                     "versions": url_for("versions.list_versions", slug=slug)}
    if data.get("latest_version"):
        data["links"]["latest"] = url_for("versions.get_version", slug=slug, version="latest")
    return data


@bp.get("/catalogs")
@responds(R.CatalogList, etag=True)
def list_catalogs():
    """Every catalog's passport, by slug; ETag and 304, as systems poll it for news."""
    return revalidated(json_response({"items": [passport(c.slug) for c in store().list_catalogs()]}))


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
