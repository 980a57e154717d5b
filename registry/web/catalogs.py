"""Catalogs: the list, one passport, and creating a catalog."""

from __future__ import annotations

from flask import Blueprint, url_for
from pydantic import ValidationError

from registry.errors import BadRequest
from registry.models import CatalogCreate
from registry.web.common import API, json_body, json_response, require, store

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
    """Every catalog's passport, by slug."""
    return json_response({"items": [passport(c.slug) for c in store().list_catalogs()]})


@bp.get("/catalogs/<slug>")
def get_catalog(slug: str):
    """One catalog's passport: field schema, OID, owner, latest version and counts."""
    return json_response(passport(slug))


@bp.post("/catalogs")
def create_catalog():
    """Register a new, empty catalog (token with role importer or admin)."""
    require("create_catalog")
    body = json_body()
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object with slug and title")
    try:
        data = CatalogCreate.model_validate(body)
    except ValidationError as exc:
        raise BadRequest("the catalog is not valid: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()),
            details={"errors": [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                                for e in exc.errors()]}) from None
    created = store().create_catalog(data)
    response = json_response(passport(created.slug), 201)
    response.headers["Location"] = url_for("catalogs.get_catalog", slug=created.slug)
    return response
