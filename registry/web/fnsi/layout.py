"""What the FNSI wing serves of our catalogs: dictionaries, their versions, and rows with the dictionary's columns.

A catalog imported from an FNSI export keeps the export's columns as attributes
whose schema names the `column` (catalogs/icd10-ru-fnsi.toml): those columns, in
schema order, are its FNSI columns, values verbatim. Any other catalog is served
with the canonical fields (`code`, `display`, `parent`, `status`) and then its
schema's attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

import sqlalchemy as sa

from registry.models.catalog import Catalog, VersionPublic, row_to_entry
from registry.store.reads import entry_rows
from registry.web.fnsi import DICTIONARY_MISSING_TEXT, VERSION_MISSING, VERSION_MISSING_TEXT, FnsiError

CELL_DATE = "%d.%m.%Y"          # dates in the rows, as the register's exports write them
STAMP = "%d.%m.%Y %H:%M"        # dates in passports and version lists
SERVED = ("published", "retired")
DATA_TYPES = {"string": "VARCHAR", "integer": "INTEGER", "number": "NUMERIC", "boolean": "BOOLEAN", "date": "DATE"}
CANONICAL = (("code", "the entry's code"), ("display", "the entry's name"),
             ("parent", "the parent entry's code ('|' between several)"), ("status", "active, inactive or deprecated"))


@dataclass(frozen=True)
class Column:
    """One FNSI column: its name, where its value comes from (`field` or `attribute` + key), type and description."""

    name: str
    source: str
    key: str
    type: str = "string"
    description: str | None = None


def identifier_of(catalog: Catalog) -> str:
    """How the FNSI wing names a catalog: its OID, else its slug."""
    return catalog.oid or catalog.slug


def find_catalog(store, identifier: str | None) -> Catalog:
    """The catalog whose OID or slug is `identifier`; the register's error when there is none."""
    if not identifier:
        raise FnsiError("the parameter identifier is required (the dictionary's OID)", "nsi.bad_request", 400)
    for catalog in store.list_catalogs():
        if identifier in (catalog.oid, catalog.slug):
            return catalog
    raise FnsiError(DICTIONARY_MISSING_TEXT, "nsi.not_found")


def served_versions(store, catalog: Catalog) -> list[VersionPublic]:
    """The versions the register would show (published and retired; drafts are ours alone), newest first."""
    versions = [v for v in store.list_versions(catalog.slug) if v.status in SERVED]
    return sorted(versions, key=lambda v: v.seq, reverse=True)


def pick_version(store, catalog: Catalog, label: str | None) -> VersionPublic:
    """The version `label`, or the newest published one without a label; the register's 03x0006 otherwise."""
    versions = served_versions(store, catalog)
    if not label:
        found = next((v for v in versions if v.status == "published"), None)
    else:
        found = next((v for v in versions if v.label == label), None)
    if found is None:
        raise FnsiError(VERSION_MISSING_TEXT, VERSION_MISSING)
    return found


def stamp(when: datetime | None) -> str | None:
    """A passport date in the register's format (`15.03.2024 10:30`)."""
    return when.strftime(STAMP) if when else None


def moment(raw: str, name: str, end_of_day: bool = True) -> datetime:
    """A date parameter: `dd.mm.yyyy` (as the register writes dates), with `HH:MM` or not, or ISO 8601.

    A date alone means the end of that day (UTC), so the versions published on it count;
    with `end_of_day=False` its start (for the lower end of a range).
    """
    raw = raw.strip()
    for fmt in ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y"):
        try:
            parsed = datetime.strptime(raw, fmt)
            break
        except ValueError:
            continue
    else:
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise FnsiError(f"{name} {raw!r} is not a date (dd.mm.yyyy or yyyy-mm-dd)", "nsi.bad_request",
                            400) from None
        fmt = "%Y-%m-%d" if len(raw) == 10 else ""
    if fmt in ("%d.%m.%Y", "%Y-%m-%d"):
        parsed = datetime.combine(parsed.date(), time.max if end_of_day else time.min)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def columns_of(catalog: Catalog) -> list[Column]:
    """The catalog's FNSI columns (see the module docstring)."""
    schema = catalog.field_schema or {}
    kept = [Column(spec["column"], "attribute", name, spec.get("type", "string"), spec.get("description"))
            for name, spec in schema.items() if spec.get("column")]
    if kept:
        return kept
    return [Column(name, "field", name, "string", text) for name, text in CANONICAL] + [
        Column(name, "attribute", name, spec.get("type", "string"), spec.get("description"))
        for name, spec in schema.items()]


def text(value, kind: str) -> str | None:
    """A stored value as the register's cell text; None for an empty cell."""
    if value is None or value == "":
        return None
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime(CELL_DATE)
        except ValueError:
            return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def cell(column: Column, entry: dict) -> str | None:
    """The value of one column of an entry."""
    if column.source == "attribute":
        return text(entry["attributes"].get(column.key), column.type)
    if column.key == "parent":
        return "|".join(entry["parents"]) or None
    return text(entry[column.key], "string")


def row(columns: list[Column], entry: dict) -> list[dict]:
    """An entry as the register's data row: a list of {column, value}."""
    return [{"column": c.name, "value": cell(c, entry)} for c in columns]


def record(columns: list[Column], entry: dict) -> dict:
    """An entry as a record of the register's JSON file: column → value, empty cells left out (as the register does)."""
    out = {}
    for c in columns:
        value = cell(c, entry)
        if value is not None:
            out[c.name] = value
    return out


def page_entries(store, catalog: Catalog, label: str, offset: int, limit: int) -> list[dict]:
    """Entries `offset`..`offset+limit` of a published version, in code order (one indexed query)."""
    ref = store.resolve(catalog.slug, label)
    table, where = entry_rows(ref)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(table).where(where).order_by(table.c.code).offset(offset).limit(limit)).all()
    return [row_to_entry(r) for r in rows]


def is_hierarchical(store, catalog: Catalog, label: str) -> bool:
    """Whether any entry of the version has a parent."""
    ref = store.resolve(catalog.slug, label)
    table, where = entry_rows(ref)
    with store.engine.connect() as conn:
        return conn.execute(sa.select(table.c.code).where(where, table.c.parent_code.is_not(None)).limit(1)
                            ).first() is not None
