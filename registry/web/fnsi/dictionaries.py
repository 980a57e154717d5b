"""Finding dictionaries and reading their passports and versions: searchDictionary, passport, versions."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import request

from registry.models.catalog import Catalog, VersionPublic
from registry.web.common import store
from registry.web.fnsi import FnsiError, bp, ok, page_and_size
from registry.web.fnsi.layout import (DATA_TYPES, columns_of, find_catalog, identifier_of, is_hierarchical, moment,
                                      pick_version, served_versions, stamp)


def _summary(catalog: Catalog, version: VersionPublic, archive: bool) -> dict:
    """The passport fields that a dictionary search lists.

    Text fields are "" rather than null: a public PHP client fills typed string
    properties from them, and null would stop it (docs/fnsi.md).
    """
    return {"identifier": identifier_of(catalog), "oid": identifier_of(catalog), "version": version.label,
            "fullName": catalog.title, "shortName": catalog.slug, "description": catalog.description or "",
            "rowsCount": version.entry_count, "createDate": stamp(version.created_at),
            "publishDate": stamp(version.published_at), "lastUpdate": stamp(version.published_at),
            "releaseNotes": version.release_notes or "", "archive": archive, "group": catalog.kind,
            "respOrganizationName": catalog.owner}


def _latest(catalog: Catalog) -> tuple[VersionPublic, bool] | None:
    """The version a dictionary is shown with (newest published, else newest retired) and whether it is archived."""
    versions = served_versions(store(), catalog)
    published = [v for v in versions if v.status == "published"]
    if published:
        return published[0], False
    return (versions[0], True) if versions else None


SORTINGS = {
    "fullName": lambda c, v: c.title.casefold(), "name": lambda c, v: c.title.casefold(),
    "identifier": lambda c, v: identifier_of(c), "oid": lambda c, v: identifier_of(c),
    "publishDate": lambda c, v: _utc(v.published_at), "rowsCount": lambda c, v: v.entry_count,
}


def _ordering():
    """The sort key that `sorting` names (by name without it), or the register-shaped refusal."""
    sorting = request.args.get("sorting", "").strip() or "fullName"
    if sorting not in SORTINGS:
        raise FnsiError(f"sorting {sorting!r} is not one of {', '.join(SORTINGS)}", "nsi.bad_request", 400)
    direction = request.args.get("sortingDirection", "").strip().upper()
    if direction not in ("", "ASC", "DESC"):
        raise FnsiError(f"sortingDirection {direction!r} is not ASC or DESC", "nsi.bad_request", 400)
    return SORTINGS[sorting]


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@bp.get("/port/rest/searchDictionary")
def search_dictionary():
    """Dictionaries whose identifier, name or description match, paged: {total, list}.

    `identifier` matches an OID or slug exactly; `name` and `description` are
    case-insensitive substrings; `publishDateFrom`/`publishDateTo` bound the
    shown version's publication. Archived dictionaries (every version retired)
    only with `showArchive=true`. Sorted by `sorting` (`fullName`, `identifier`,
    `publishDate`, `rowsCount`; by name without it), `sortingDirection` ASC or
    DESC. Catalogs with no published version yet are not dictionaries of the register.
    """
    page, size = page_and_size(default_size=20, max_size=500)
    identifier = request.args.get("identifier", "").strip()
    name = request.args.get("name", "").strip().casefold()
    description = request.args.get("description", "").strip().casefold()
    show_archive = request.args.get("showArchive", "").lower() == "true"
    since = moment(request.args["publishDateFrom"], "publishDateFrom", end_of_day=False) \
        if request.args.get("publishDateFrom") else None
    until = moment(request.args["publishDateTo"], "publishDateTo") if request.args.get("publishDateTo") else None
    order = _ordering()
    found = []
    for catalog in store().list_catalogs():
        if identifier and identifier not in (catalog.oid, catalog.slug):
            continue
        if name and name not in catalog.title.casefold():
            continue
        if description and description not in (catalog.description or "").casefold():
            continue
        shown = _latest(catalog)
        if shown is None or (shown[1] and not show_archive):
            continue
        published = _utc(shown[0].published_at)
        if (since and published < since) or (until and published > until):
            continue
        found.append((order(catalog, shown[0]), _summary(catalog, *shown)))
    found.sort(key=lambda pair: pair[0], reverse=request.args.get("sortingDirection", "").upper() == "DESC")
    found = [summary for _, summary in found]
    return ok({"total": len(found), "list": found[(page - 1) * size: page * size]})


@bp.get("/port/rest/passport")
def passport():
    """The passport of a dictionary at one version (the newest published one without `version`)."""
    catalog = find_catalog(store(), request.args.get("identifier"))
    version = pick_version(store(), catalog, request.args.get("version"))
    columns = columns_of(catalog)
    key = next((c.name for c in columns if c.name.upper() == "ID"), columns[0].name)
    archive = not any(v.status == "published" for v in served_versions(store(), catalog))
    return ok({
        **_summary(catalog, version, archive),
        "approveDate": stamp(version.published_at), "structureNotes": "",
        "respOrganizationId": None, "authOrganizationId": None, "typeId": None, "groupId": None,
        "hierarchical": is_hierarchical(store(), catalog, version.label),
        "fields": [{"field": c.name, "dataType": DATA_TYPES.get(c.type, "VARCHAR"), "alias": c.key,
                    "description": c.description} for c in columns],
        "keys": [{"field": key, "type": "PRIMARY"}],
        "codes": [{"value": catalog.oid, "type": "TYPE_OID"}] if catalog.oid else [],
    })


@bp.get("/port/rest/versions")
def versions():
    """The dictionary's versions, newest first, paged: {total, list: [{version, createDate, publishDate, ...}]}."""
    catalog = find_catalog(store(), request.args.get("identifier"))
    page, size = page_and_size(default_size=200, max_size=1000)
    listed = served_versions(store(), catalog)
    items = [{"version": v.label, "createDate": stamp(v.created_at), "publishDate": stamp(v.published_at),
              "lastUpdate": stamp(v.retired_at or v.published_at), "releaseNotes": v.release_notes or "",
              "rowsCount": v.entry_count, "archive": v.status == "retired"}
             for v in listed[(page - 1) * size: page * size]]
    return ok({"total": len(listed), "list": items})
