"""Creating, reading and describing catalogs (the passport)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlmodel import Session, select

from registry.errors import AlreadyExists, BadRequest, NotFound
from registry.models.catalog import KINDS, Catalog, CatalogCreate, CatalogPublic, CatalogVersion

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
ATTRIBUTE_TYPES = ("string", "integer", "number", "boolean", "date")


def check_field_schema(schema: dict) -> dict:
    """Validate a field schema {name: {"type": ..., "required": bool, "description": ..., "column": ...}}.

    `column` names the source column an attribute was read from (an FNSI
    export's `REC_CODE`, ...): the FNSI API serves the attribute under it.
    """
    if not isinstance(schema, dict):
        raise BadRequest("field_schema must be an object of attribute names")
    out = {}
    for name, spec in schema.items():
        if isinstance(spec, str):
            spec = {"type": spec}
        if not isinstance(spec, dict):
            raise BadRequest(f"field_schema.{name} must be an object with a type")
        kind = spec.get("type", "string")
        if kind not in ATTRIBUTE_TYPES:
            raise BadRequest(f"field_schema.{name}.type {kind!r} is not one of {', '.join(ATTRIBUTE_TYPES)}")
        column = spec.get("column")
        if column is not None and (not isinstance(column, str) or not column.strip()):
            raise BadRequest(f"field_schema.{name}.column must be a column name")
        out[str(name)] = {"type": kind, "required": bool(spec.get("required", False)),
                          **({"description": spec["description"]} if spec.get("description") else {}),
                          **({"column": column.strip()} if column else {})}
    return out


def new_catalog(data: CatalogCreate) -> Catalog:
    """A checked, not yet stored Catalog row: slug, kind, title and field schema follow the rules or BadRequest."""
    if not SLUG_RE.match(data.slug or ""):
        raise BadRequest(f"catalog slug {data.slug!r} must be lowercase letters, digits, '.', '_' or '-'")
    if data.kind not in KINDS:
        raise BadRequest(f"catalog kind {data.kind!r} is not one of {', '.join(KINDS)}")
    if not (data.title or "").strip():
        raise BadRequest("a catalog needs a title")
    schema = check_field_schema(data.field_schema or {})
    return Catalog.model_validate(data, update={"field_schema": schema})


class CatalogsMixin:
    """Catalog operations of the Store."""

    def _writer(self):
        """The engine for a session that reads and then writes: on SQLite it takes the write lock at BEGIN.

        A plain (deferred) transaction that read first fails at once with "database is locked" when
        another process wrote meanwhile, instead of waiting its turn (see db.write_transaction).
        """
        return self.engine.execution_options(nsi_write=True)

    def create_catalog(self, data: CatalogCreate) -> Catalog:
        """Register a new, empty catalog. Slugs are lowercase and unique."""
        catalog = new_catalog(data)
        with Session(self._writer()) as session:
            if session.exec(select(Catalog).where(Catalog.slug == data.slug)).first():
                raise AlreadyExists(f"catalog {data.slug} exists already")
            session.add(catalog)
            try:
                session.commit()
            except sa.exc.IntegrityError:
                raise AlreadyExists(f"catalog {data.slug} exists already") from None
            session.refresh(catalog)
            return catalog

    def get_catalog(self, slug: str) -> Catalog:
        """The catalog with this slug, or NotFound."""
        with Session(self.engine) as session:
            catalog = session.exec(select(Catalog).where(Catalog.slug == slug)).first()
            if catalog is None:
                raise NotFound(f"no catalog {slug!r}")
            return catalog

    def has_catalog(self, slug: str) -> bool:
        """Whether a catalog with this slug exists."""
        with Session(self.engine) as session:
            return session.exec(select(Catalog.id).where(Catalog.slug == slug)).first() is not None

    def list_catalogs(self) -> list[Catalog]:
        """All catalogs, by slug."""
        with Session(self.engine) as session:
            return list(session.exec(select(Catalog).order_by(Catalog.slug)))

    def update_field_schema(self, slug: str, schema: dict) -> Catalog:
        """Replace a catalog's attribute schema (checked by later imports)."""
        schema = check_field_schema(schema)
        with Session(self._writer()) as session:
            catalog = session.exec(select(Catalog).where(Catalog.slug == slug)).first()
            if catalog is None:
                raise NotFound(f"no catalog {slug!r}")
            catalog.field_schema = schema
            session.add(catalog)
            session.commit()
            session.refresh(catalog)
            return catalog

    def catalog_public(self, slug: str) -> CatalogPublic:
        """The passport: catalog fields plus the latest published version and counts."""
        catalog = self.get_catalog(slug)
        with Session(self.engine) as session:
            versions = list(session.exec(select(CatalogVersion).where(CatalogVersion.catalog_id == catalog.id)))
        published = [v for v in versions if v.status == "published"]
        latest = max(published, key=lambda v: v.seq) if published else None
        return CatalogPublic.model_validate(catalog, update={
            "latest_version": latest.label if latest else None,
            "latest_entry_count": latest.entry_count if latest else None,
            "version_count": len(versions)})
