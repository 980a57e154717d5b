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
        if self.change_token() is not None:
            for passport in self.catalog_passports():
                if passport.slug == slug:
                    return passport
            raise NotFound(f"no catalog {slug!r}")
        return self._passports_of([self.get_catalog(slug)])[0]

    def catalog_passports(self) -> list[CatalogPublic]:
        """Every catalog's passport, by slug, in two queries; kept until the database changes (change watch)."""
        token = self.change_token()
        if token is not None and self._passports is not None and self._passports[0] == token:
            return self._passports[1]
        passports = self._passports_of(self.list_catalogs())
        if token is not None:
            self._passports = (token, passports)
        return passports

    def _passports_of(self, catalogs: list[Catalog]) -> list[CatalogPublic]:
        V = CatalogVersion.__table__
        ids = [c.id for c in catalogs]
        counts: dict[int, int] = {}
        latest: dict[int, tuple] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(ids), 500):
                rows = conn.execute(sa.select(V.c.catalog_id, V.c.status, V.c.seq, V.c.label, V.c.entry_count)
                                    .where(V.c.catalog_id.in_(ids[i:i + 500])))
                for row in rows:
                    counts[row.catalog_id] = counts.get(row.catalog_id, 0) + 1
                    if row.status == "published" and (row.catalog_id not in latest
                                                      or row.seq > latest[row.catalog_id].seq):
                        latest[row.catalog_id] = row
        return [CatalogPublic.model_validate(c, update={
            "latest_version": latest[c.id].label if c.id in latest else None,
            "latest_entry_count": latest[c.id].entry_count if c.id in latest else None,
            "version_count": counts.get(c.id, 0)}) for c in catalogs]
