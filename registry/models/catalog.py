"""Catalogs, their versions and the entry rows of the versioned store (design §1-§2).

`Entry` rows carry a validity range over version sequence numbers: version *v*
holds the rows with `valid_from <= v` and (`valid_to` is null or `v < valid_to`).
A publish adds rows only for new or changed content, so storage grows with
changes, not with versions. Each draft's rows wait in a table of their own
(`staged_table`) until the draft is published or discarded.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

KINDS = ("classification", "drug", "facility", "other")
VERSION_STATUSES = ("draft", "published", "retired")

# Codes sort byte-wise everywhere (SQLite does by default; PostgreSQL needs the C collation).
CodeType = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")


class UtcDateTime(sa.TypeDecorator):
    """A time stored in UTC and read back with its zone: SQLite keeps none, so its naive values are marked UTC.

    Without it, the API would show SQLite's times without an offset ("2024-01-31T10:00:00"), which is no
    RFC 3339 date-time and means a different instant to every client.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def utcnow() -> datetime:
    """Timestamps are stored in UTC."""
    return datetime.now(timezone.utc).replace(microsecond=0)


class CatalogBase(SQLModel):
    slug: str = Field(max_length=100, description="Stable identifier used in URLs and the CLI")
    title: str = Field(max_length=500)
    kind: str = Field(default="other", max_length=30, description="classification, drug, facility or other")
    owner: Optional[str] = Field(default=None, max_length=200, description="Country or organisation")
    oid: Optional[str] = Field(default=None, max_length=200, description="Object identifier, as FNSI uses")
    language: str = Field(default="ru", max_length=20, description="Default language of displays")
    description: Optional[str] = None


class Catalog(CatalogBase, table=True):
    __tablename__ = "catalog"
    id: Optional[int] = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    field_schema: dict = Field(default_factory=dict, sa_type=sa.JSON,
                               description="Attribute schema: {name: {type, required, description}}")
    head_seq: int = Field(default=0, description="Sequence of the newest published version; 0 = none yet")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class CatalogCreate(CatalogBase):
    """What a client gives to create a catalog."""

    field_schema: dict = Field(default_factory=dict)


class CatalogPublic(CatalogBase):
    """The passport of a catalog as the API shows it."""

    field_schema: dict = Field(default_factory=dict)
    created_at: datetime
    latest_version: Optional[str] = None
    latest_entry_count: Optional[int] = None
    version_count: int = 0


class CatalogVersion(SQLModel, table=True):
    __tablename__ = "catalog_version"
    __table_args__ = (sa.UniqueConstraint("catalog_id", "label", name="uq_version_label"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    catalog_id: int = Field(foreign_key="catalog.id", index=True)
    label: str = Field(max_length=100)
    seq: Optional[int] = Field(default=None, description="Sequence number, given when published")
    base_seq: int = Field(default=0, description="Sequence of the latest published version when the draft was "
                                                 "staged: the one its counts are against (0 = none)")
    status: str = Field(default="draft", max_length=20)
    release_notes: Optional[str] = None
    source_name: Optional[str] = Field(default=None, max_length=500)
    source_sha256: Optional[str] = Field(default=None, max_length=64, index=True)
    checksum: Optional[str] = Field(default=None, max_length=64)
    entry_count: int = 0
    added_count: int = 0
    changed_count: int = 0
    removed_count: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    created_by: Optional[str] = Field(default=None, max_length=200)
    published_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime())
    published_by: Optional[str] = Field(default=None, max_length=200)
    retired_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime())


class VersionPublic(SQLModel):
    """A version's metadata as the API and CLI show it."""

    catalog: str
    label: str
    seq: Optional[int]
    status: str
    release_notes: Optional[str] = None
    source_name: Optional[str] = None
    source_sha256: Optional[str] = None
    checksum: Optional[str] = None
    entry_count: int = 0
    added_count: int = 0
    changed_count: int = 0
    removed_count: int = 0
    previous_version: Optional[str] = Field(default=None, description="The version the counts are against: the "
                                            "latest published one when this version was staged")
    created_at: Optional[datetime] = None
    created_by: Optional[str] = None
    published_at: Optional[datetime] = None
    published_by: Optional[str] = None
    retired_at: Optional[datetime] = None


class EntryContent(SQLModel):
    """The stored content of an entry, shared by published rows and staged draft rows."""

    code: str = Field(sa_type=CodeType)
    hash: str = Field(max_length=32)
    display: str = Field(sa_type=sa.Text)
    designations: str = Field(default="[]", sa_type=sa.Text)
    parents: str = Field(default="[]", sa_type=sa.Text)
    parent_code: Optional[str] = Field(default=None, sa_type=CodeType)
    status: str = Field(default="active", max_length=20)
    attributes: str = Field(default="{}", sa_type=sa.Text)


class Entry(EntryContent, table=True):
    """One stored entry content, valid over a range of version sequences.

    designations, parents and attributes hold canonical JSON text so that the
    bulk paths need no per-row ORM objects. `parent_code` is the first parent,
    indexed for hierarchy queries.
    """

    __tablename__ = "entry"
    __table_args__ = (
        sa.Index("ix_entry_catalog_code", "catalog_id", "code", "valid_to"),
        sa.Index("ix_entry_catalog_from", "catalog_id", "valid_from"),
        sa.Index("ix_entry_catalog_to", "catalog_id", "valid_to"),
        sa.Index("ix_entry_catalog_parent", "catalog_id", "parent_code"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    catalog_id: int = Field(foreign_key="catalog.id")
    valid_from: int
    valid_to: Optional[int] = None


STAGED_PREFIX = "staged_v"
_staging_metadata = sa.MetaData()


def staged_table(version_id: int) -> sa.Table:
    """The table holding the rows of draft `version_id` until it is published (moved into `entry`) or discarded.

    Each draft has a table of its own, created in the staging transaction and dropped in the publish or
    discard transaction, so staging leaves nothing for VACUUM: no dead rows on PostgreSQL, and on SQLite
    (incremental auto-vacuum) the freed pages go back to the file system. DDL is transactional on both
    databases, so an interrupted import leaves no table behind either. Staging builds its indexes after
    the bulk load; `code` is unique in a draft, which staging checks itself.
    """
    name = f"{STAGED_PREFIX}{int(version_id)}"
    table = _staging_metadata.tables.get(name)
    if table is None:
        table = sa.Table(
            name, _staging_metadata,
            sa.Column("code", CodeType, nullable=False), sa.Column("hash", sa.String(32), nullable=False),
            sa.Column("display", sa.Text, nullable=False),
            sa.Column("designations", sa.Text, nullable=False), sa.Column("parents", sa.Text, nullable=False),
            sa.Column("parent_code", CodeType), sa.Column("status", sa.String(20), nullable=False),
            sa.Column("attributes", sa.Text, nullable=False))
        # By code (with the hash, so the code-order checksum reads the index only), and by first parent (only
        # rows with a parent: they alone answer the lookups of a draft's children).
        sa.Index(f"ix_{name}_code", table.c.code, table.c.hash)
        sa.Index(f"ix_{name}_parent", table.c.parent_code, sqlite_where=table.c.parent_code.is_not(None),
                 postgresql_where=table.c.parent_code.is_not(None))
    return table


def row_to_entry(row: Any) -> dict:
    """A stored row (entry or staged) back to the canonical entry dict."""
    import json
    return {"code": row.code, "display": row.display, "designations": json.loads(row.designations),
            "parents": json.loads(row.parents), "status": row.status, "attributes": json.loads(row.attributes)}
