"""Stored FHIR resources: ValueSets by url and version, the CodeSystem header of a catalog version, and the
folded codes of case-insensitive CodeSystems (`code_fold`), so `KG` finds `kg` by an index.

The Store methods here keep and find what `registry.models.fhir` describes;
the FHIR wing reads them, `nsi import --format fhir-valueset|fhir-codesystem`
writes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, select

from registry import db
from registry.errors import AlreadyExists, NotFound
from registry.models.catalog import Catalog, CatalogVersion, row_to_entry
from registry.store.reads import LATEST, entry_rows

if TYPE_CHECKING:
    from registry.models.fhir import FhirResource

V, C = CatalogVersion.__table__, Catalog.__table__
FOLD_BATCH = 5_000  # folded codes inserted per statement (bounds the memory of a big CodeSystem's import)


def _fhir_tables() -> tuple[sa.Table, sa.Table]:
    """The `fhir_resource` and `code_fold` tables, whose models (with the map set models their foreign key
    names) load on first use: opening a store for a command that never touches FHIR need not build them."""
    from registry.models.fhir import CodeFold, FhirResource
    return FhirResource.__table__, CodeFold.__table__


class FhirMixin:
    """FHIR resource operations of the Store."""

    def keep_code_system_header(self, slug: str, label: str, header: dict) -> None:
        """Keep the CodeSystem `header` (the resource without concepts) for version `label` of catalog `slug`.

        Its `url` is how FHIR operations find the catalog afterwards. Another catalog that already holds
        the same url and version is refused, since one canonical could then name two code systems.
        """
        from registry.models.fhir import FhirResource
        url, version = header["url"], header.get("version") or label
        with Session(self._writer()) as session:
            row = session.exec(select(CatalogVersion.id).join(Catalog, Catalog.id == CatalogVersion.catalog_id)
                               .where(Catalog.slug == slug, CatalogVersion.label == label)).first()
            if row is None:
                raise NotFound(f"catalog {slug} has no version {label!r}")
            taken = session.exec(select(FhirResource).where(
                FhirResource.resource_type == "CodeSystem", FhirResource.url == url,
                FhirResource.version == version)).first()
            if taken is not None and taken.catalog_version_id != row:
                raise AlreadyExists(f"CodeSystem {url}|{version} is registered already (as another catalog version)")
            kept = taken or FhirResource(resource_type="CodeSystem", url=url, version=version)
            kept.catalog_version_id, kept.resource = row, header
            kept.name, kept.title = header.get("name"), header.get("title")
            kept.status = header.get("status") or "active"
            session.add(kept)
            session.commit()
        if not header.get("caseSensitive", False):  # FHIR's default: a CodeSystem that does not say is insensitive
            self._keep_folded_codes(slug, label)

    def _keep_folded_codes(self, slug: str, label: str) -> None:
        """Add the folded form of every code of version `label` (a draft, as the import keeps its header) that
        `code_fold` does not have yet, for `lookup_ignoring_case`.

        ASCII codes are folded by the database's lower() (which is str.casefold() for ASCII: A-Z to a-z, on
        SQLite and on PostgreSQL's C collation of codes), in one INSERT ... SELECT; the others in Python.
        """
        _, F = _fhir_tables()
        ref = self.resolve(slug, label)
        table, where = entry_rows(ref)
        missing = ~sa.exists().where(F.c.catalog_id == ref.catalog_id, F.c.code == table.c.code)
        ascii_only = _is_ascii(self.engine.dialect.name, table.c.code)
        with db.write_transaction(self.engine) as conn:
            conn.execute(F.insert().from_select(
                ["catalog_id", "code", "folded"],
                sa.select(sa.literal(ref.catalog_id), table.c.code, sa.func.lower(table.c.code))
                .where(where, missing, ascii_only)))
            others = conn.execute(sa.select(table.c.code).where(where, missing, ~ascii_only)).scalars().all()
            for start in range(0, len(others), FOLD_BATCH):
                conn.execute(F.insert(), [{"catalog_id": ref.catalog_id, "code": code, "folded": code.casefold()}
                                          for code in others[start:start + FOLD_BATCH]])

    def lookup_ignoring_case(self, slug: str, code: str, version: str = LATEST) -> dict | None:
        """The entry of a version whose code equals `code` ignoring case (str.casefold), the first in code order
        when several do; None when none does.

        For the versions of a catalog imported from a case-insensitive CodeSystem (whose codes `code_fold`
        holds): one indexed lookup of the folded code joined to the version's rows, not a scan of its entries.
        """
        _, F = _fhir_tables()
        ref = self.resolve(slug, version)
        table, where = entry_rows(ref)
        query = (sa.select(table).join(F, sa.and_(F.c.catalog_id == ref.catalog_id, F.c.code == table.c.code))
                 .where(where, F.c.folded == code.casefold()).order_by(table.c.code).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return row_to_entry(row) if row is not None else None

    def code_system_header(self, slug: str, label: str) -> dict | None:
        """The CodeSystem header kept for a catalog version, or None when it was not imported from FHIR."""
        R, _ = _fhir_tables()
        with self.engine.connect() as conn:  # Core, not a Session: every FHIR call on a catalog asks this
            return conn.execute(sa.select(R.c.resource).select_from(R.join(V, V.c.id == R.c.catalog_version_id)
                                                                    .join(C, C.c.id == V.c.catalog_id))
                                .where(C.c.slug == slug, V.c.label == label)).scalar()

    def catalog_of_code_system(self, url: str) -> str | None:
        """The slug of the catalog whose versions were imported as CodeSystem `url`, or None."""
        R, _ = _fhir_tables()
        with self.engine.connect() as conn:
            return conn.execute(sa.select(C.c.slug).select_from(R.join(V, V.c.id == R.c.catalog_version_id)
                                                                .join(C, C.c.id == V.c.catalog_id))
                                .where(R.c.resource_type == "CodeSystem", R.c.url == url).limit(1)).scalar()

    def keep_value_set(self, resource: dict, *, dry_run: bool = False) -> tuple[FhirResource, str]:
        """Store a ValueSet resource as version `resource.version` of `resource.url`; return it and what happened.

        What happened is "stored", "unchanged" (the same resource was stored before) or "dry-run". A different
        resource under a url and version already stored is refused: stored versions do not change.
        """
        from registry.models.fhir import FhirResource
        url, version = resource["url"], resource.get("version") or ""
        with Session(self._writer()) as session:
            same = session.exec(select(FhirResource).where(
                FhirResource.resource_type == "ValueSet", FhirResource.url == url,
                FhirResource.version == version)).first()
            if same is not None:
                if same.resource == resource:
                    return same, "unchanged"
                raise AlreadyExists(f"ValueSet {url}|{version} is stored already with other content; a stored "
                                    f"version does not change: give the changed resource a new version")
            row = FhirResource(resource_type="ValueSet", url=url, version=version, name=resource.get("name"),
                               title=resource.get("title"), status=resource.get("status") or "active",
                               resource=resource)
            if dry_run:
                return row, "dry-run"
            session.add(row)
            session.commit()
            session.refresh(row)
            return row, "stored"

    def value_sets(self, url: str | None = None) -> list[FhirResource]:
        """The stored ValueSets (of `url` when given), by url and then in the order they were stored."""
        from registry.models.fhir import FhirResource
        with Session(self.engine) as session:
            query = select(FhirResource).where(FhirResource.resource_type == "ValueSet")
            if url is not None:
                query = query.where(FhirResource.url == url)
            return list(session.exec(query.order_by(FhirResource.url, FhirResource.id)))

    def code_system_url(self, slug: str) -> str | None:
        """The canonical url catalog `slug` was imported from FHIR under (its newest such version's), or None."""
        from registry.models.fhir import FhirResource
        with Session(self.engine) as session:
            return session.exec(select(FhirResource.url)
                                .join(CatalogVersion, CatalogVersion.id == FhirResource.catalog_version_id)
                                .join(Catalog, Catalog.id == CatalogVersion.catalog_id)
                                .where(Catalog.slug == slug).order_by(FhirResource.id.desc())).first()

    def concept_map_header(self, map_set_version_id: int) -> dict | None:
        """The ConceptMap header (url, version, name, ...) a map-set version was imported from, or None."""
        from registry.models.fhir import FhirResource
        with Session(self.engine) as session:
            return session.exec(select(FhirResource.resource)
                                .where(FhirResource.map_set_version_id == map_set_version_id)).first()

    def map_set_of_concept_map(self, url: str) -> str | None:
        """The slug of the map set a ConceptMap `url` was imported as, or None."""
        from registry.models.fhir import FhirResource
        from registry.models.mapping import MapSet, MapSetVersion
        with Session(self.engine) as session:
            return session.exec(select(MapSet.slug)
                                .join(MapSetVersion, MapSetVersion.map_set_id == MapSet.id)
                                .join(FhirResource, FhirResource.map_set_version_id == MapSetVersion.id)
                                .where(FhirResource.resource_type == "ConceptMap", FhirResource.url == url)).first()


def _is_ascii(dialect: str, column):
    """A condition true when `column` holds ASCII only (as many bytes as characters in UTF-8)."""
    if dialect == "sqlite":
        return sa.func.length(sa.cast(column, sa.LargeBinary)) == sa.func.length(column)
    return sa.func.octet_length(column) == sa.func.length(column)
