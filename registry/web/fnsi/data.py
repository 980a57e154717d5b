"""A dictionary's rows and the changes between two of its versions: data, compare."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import request

from registry.web.common import store
from registry.web.fnsi import VERSION_MISSING, VERSION_MISSING_TEXT, FnsiError, bp, ok, page_and_size
from registry.web.fnsi.layout import (Column, cell, columns_of, find_catalog, moment, page_entries, pick_version,
                                      row, served_versions)

FILTER_TYPES = ("EXACT", "LIKE")


def _chosen_columns(columns: list[Column], asked: list[str]) -> list[Column]:
    """The columns named in `columns` (comma-separated or repeated), in the order asked; all without it."""
    names = [n.strip() for value in asked for n in value.split(",") if n.strip()]
    if not names:
        return columns
    by_name = {c.name: c for c in columns}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise FnsiError(f"no column {', '.join(unknown)} in this dictionary; its columns are "
                        f"{', '.join(by_name)}", "nsi.bad_request", 400)
    return [by_name[n] for n in names]


def _like(pattern: str):
    """A case-insensitive match for a LIKE value: `%` and `_` are wildcards; without `%` the value is a substring."""
    if "%" not in pattern:
        pattern = f"%{pattern}%"
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL).match


def _filters(columns: list[Column], raw: list[str]):
    """Predicates on entries from `filters` values `FIELD|VALUE|EXACT` or `FIELD|VALUE|LIKE` (all must hold)."""
    by_name = {c.name: c for c in columns}
    out = []
    for value in raw:
        parts = value.split("|")
        if len(parts) < 3 or parts[-1].upper() not in FILTER_TYPES or parts[0] not in by_name:
            raise FnsiError(f"filters {value!r} must be FIELD|VALUE|EXACT or FIELD|VALUE|LIKE with FIELD one of "
                            f"{', '.join(by_name)}", "nsi.bad_request", 400)
        column, wanted, kind = by_name[parts[0]], "|".join(parts[1:-1]), parts[-1].upper()
        if kind == "EXACT":
            out.append(lambda e, c=column, w=wanted: (cell(c, e) or "") == w)
        else:
            match = _like(wanted)
            out.append(lambda e, c=column, m=match: m(cell(c, e) or "") is not None)
    return out


@bp.get("/port/rest/data")
def data():
    """One page of a version's rows as lists of {column, value}, with `total`.

    Without filters a page is one indexed query; with filters the version is
    read through once, so `total` counts the matching rows.
    """
    catalog = find_catalog(store(), request.args.get("identifier"))
    version = pick_version(store(), catalog, request.args.get("version"))
    page, size = page_and_size(default_size=200, max_size=1000)
    columns = columns_of(catalog)
    chosen = _chosen_columns(columns, request.args.getlist("columns"))
    filters = _filters(columns, request.args.getlist("filters"))
    start = (page - 1) * size
    if not filters:
        entries = page_entries(store(), catalog, version.label, start, size)
        total = version.entry_count
    else:
        entries, total = [], 0
        for entry in store().iter_entries(catalog.slug, version.label):
            if all(f(entry) for f in filters):
                if start <= total < start + size:
                    entries.append(entry)
                total += 1
    return ok({"total": total, "list": [row(chosen, e) for e in entries]})


def _version_at(catalog, when: datetime) -> str:
    """The label of the newest version published by `when`; 03x0006 when none was."""
    for v in served_versions(store(), catalog):
        published = v.published_at if v.published_at.tzinfo else v.published_at.replace(tzinfo=timezone.utc)
        if published <= when:
            return v.label
    raise FnsiError(VERSION_MISSING_TEXT, VERSION_MISSING)


def _sides(catalog) -> tuple[str, str]:
    """The two versions to compare: `version1`/`version2` (ours), else the versions in force at `date1`/`date2`."""
    args = request.args
    if args.get("version1"):
        first = pick_version(store(), catalog, args["version1"]).label
    elif args.get("date1"):
        first = _version_at(catalog, moment(args["date1"], "date1"))
    else:
        raise FnsiError("the parameter date1 is required (or version1)", "nsi.bad_request", 400)
    if args.get("version2"):
        second = pick_version(store(), catalog, args["version2"]).label
    elif args.get("date2"):
        second = _version_at(catalog, moment(args["date2"], "date2"))
    else:
        second = pick_version(store(), catalog, None).label
    return first, second


@bp.get("/port/rest/compare")
def compare():
    """The row changes between two versions, paged: INSERT, UPDATE (with the changed columns) and DELETE.

    Each change names its `operation`, the row (`data`, as /data gives it: the
    new row, or the old one for DELETE) and, for UPDATE, `fields`: each changed
    column with `oldValue` and `newValue`. A stored change that no served column
    shows is left out, as the register would not see it. The top-level `fields`
    (changes of the dictionary's structure) is empty: a catalog's columns do not
    change between its versions.
    """
    catalog = find_catalog(store(), request.args.get("identifier"))
    first, second = _sides(catalog)
    page, size = page_and_size(default_size=200, max_size=1000)
    columns = columns_of(catalog)
    diff = store().diff(catalog.slug, first, second)
    changes = [(e["code"], {"operation": "INSERT", "data": row(columns, e)}) for e in diff["added"]]
    changes += [(e["code"], {"operation": "DELETE", "data": row(columns, e)}) for e in diff["removed"]]
    if diff["changed"]:
        old = {e["code"]: e for e in _entries(catalog.slug, first, [c["code"] for c in diff["changed"]])}
        new = {e["code"]: e for e in _entries(catalog.slug, second, [c["code"] for c in diff["changed"]])}
        for code in sorted(old.keys() & new.keys()):
            fields = [{"field": c.name, "oldValue": cell(c, old[code]), "newValue": cell(c, new[code])}
                      for c in columns if cell(c, old[code]) != cell(c, new[code])]
            if fields:
                changes.append((code, {"operation": "UPDATE", "data": row(columns, new[code]), "fields": fields}))
    changes.sort(key=lambda pair: pair[0])
    start = (page - 1) * size
    return ok({"identifier": request.args.get("identifier"), "version1": first, "version2": second,
               "fields": [], "total": len(changes), "list": [c for _, c in changes[start:start + size]]})


def _entries(slug: str, version: str, codes: list[str]) -> list[dict]:
    """The entries of these codes in one version (looked up by code, as the store indexes them)."""
    wanted = set(codes)
    if len(wanted) > 200:  # many changes: one pass over the version beats many lookups
        return [e for e in store().iter_entries(slug, version) if e["code"] in wanted]
    return [store().lookup(slug, code, version) for code in sorted(wanted)]
