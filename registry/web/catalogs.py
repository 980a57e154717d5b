"""Catalogs: the list, one passport, and creating a catalog."""

from __future__ import annotations

from flask import Blueprint, url_for

from registry.errors import BadRequest
from registry.models import CatalogCreate
from registry.web.common import API, json_body, json_response, require, revalidated, store, validated

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
def list_catalogs():
    """Every catalog's passport, by slug; ETag and 304, as systems poll it for news."""
    return revalidated(json_response({"items": [passport(c.slug) for c in store().list_catalogs()]}))


@bp.get("/catalogs/<slug>")
def get_catalog(slug: str):
    """One catalog's passport: field schema, OID, owner, latest version and counts; ETag and 304."""
    return revalidated(json_response(passport(slug)))


@bp.post("/catalogs")
def create_catalog():
    """Register a new, empty catalog (token with role importer or admin)."""
    require("create_catalog")
    body = json_body()
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object with slug and title")
    data = validated(CatalogCreate, body, "catalog")
    created = store().create_catalog(data)
    response = json_response(passport(created.slug), 201)
    response.headers["Location"] = url_for("catalogs.get_catalog", slug=created.slug)
    return response
