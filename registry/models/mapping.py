"""Map sets, their mappings, the audit trail and published map set versions (design §5).

A map set maps the entries of one catalog version (the source) to codes of
another (the target). It holds one `Mapping` per source code: the review item.
A mapping carries the machine's candidates, the current target, relationship
and status, and a `revision` that grows with every change, so a decision made
against an old revision is refused instead of silently overwriting a newer one.
Every change writes a `MappingEvent` (who, when, before, after, comment); events
are never updated or deleted. Publishing copies the approved mappings into an
immutable `MapSetVersion` with its `PublishedMapping` rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.models.catalog import CodeType, UtcDateTime, utcnow

RELATIONSHIPS = ("equivalent", "broader", "narrower", "related", "not-mappable")
STATUSES = ("candidate", "proposed", "approved", "rejected")
METHODS = ("fuzzy", "exact-code", "manual", "import")
TS = UtcDateTime()


class MapSetBase(SQLModel):
    slug: str = Field(max_length=100, description="Stable identifier used in URLs and the CLI")
    title: str = Field(max_length=500)
    description: Optional[str] = None
    owner: Optional[str] = Field(default=None, max_length=200, description="Working group or organisation")
    four_eyes: bool = Field(default=False, description="Whoever proposed a mapping cannot approve it")


class MapSet(MapSetBase, table=True):
    __tablename__ = "map_set"
    id: Optional[int] = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    source_catalog_id: int = Field(foreign_key="catalog.id")
    source_version_id: int = Field(foreign_key="catalog_version.id")
    target_catalog_id: int = Field(foreign_key="catalog.id")
    target_version_id: int = Field(foreign_key="catalog_version.id")
    head_seq: int = Field(default=0, description="Sequence of the newest published version; 0 = none yet")
    created_at: datetime = Field(default_factory=utcnow, sa_type=TS)
    created_by: Optional[str] = Field(default=None, max_length=200)
    match_config: Optional[dict] = Field(default=None, sa_type=sa.JSON,
                                         description="What is matched (registry/mapping/match_config.py); "
                                                     "none = the display")
    coverage: Optional[dict] = Field(default=None, sa_type=sa.JSON,
                                     description="The last suggest run's coverage: entries without candidates "
                                                 "and why")


class MapSetCreate(MapSetBase):
    """What a client gives to create a map set: catalogs as `slug@version` (`latest` allowed)."""

    title: Optional[str] = Field(default=None, max_length=500)
    source: str = Field(description="Source catalog as slug@version")
    target: str = Field(description="Target catalog as slug@version")
    match: Optional[dict] = Field(default=None, description="Source fields whose names are matched, with weights, "
                                                            "a dosage form field, a score floor and the target fields searched")


class MapSetPublic(MapSetBase):
    """A map set as the API and CLI show it, with progress counts per status."""

    source_catalog: str
    source_version: str
    target_catalog: str
    target_version: str
    created_at: datetime
    created_by: Optional[str] = None
    counts: dict[str, int] = Field(default_factory=dict)
    not_mappable: int = Field(default=0, description="Approved mappings with relationship not-mappable (no target "
                                                     "fits); counted in counts.approved too")
    latest_version: Optional[str] = None
    match: dict = Field(default_factory=dict, description="What is matched: name fields with weights, form, floor, target fields searched")
    coverage: Optional[dict] = Field(default=None, description="The last suggest run: entries with and without "
                                                               "candidates, and why (no_name, no_match, "
                                                               "below_floor)")


class Mapping(SQLModel, table=True):
    """One source code's review item: candidates, the chosen target, and its decision."""

    __tablename__ = "mapping"
    __table_args__ = (
        sa.UniqueConstraint("map_set_id", "source_code", name="uq_mapping_source"),
        sa.Index("ix_mapping_set_status", "map_set_id", "status"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    map_set_id: int = Field(foreign_key="map_set.id")
    source_code: str = Field(sa_type=CodeType)
    source_display: str = Field(default="", sa_type=sa.Text)
    target_code: Optional[str] = Field(default=None, sa_type=CodeType)
    target_display: Optional[str] = Field(default=None, sa_type=sa.Text)
    relationship: Optional[str] = Field(default=None, max_length=20)
    status: str = Field(default="candidate", max_length=20)
    score: Optional[float] = None
    method: str = Field(default="fuzzy", max_length=20)
    comment: Optional[str] = Field(default=None, sa_type=sa.Text)
    candidates: list = Field(default_factory=list, sa_type=sa.JSON,
                             description="Matcher's top candidates: [{code, display, score, reason}]")
    reviewer: Optional[str] = Field(default=None, max_length=200, description="Assigned reviewer")
    proposed_by: Optional[str] = Field(default=None, max_length=200)
    decided_by: Optional[str] = Field(default=None, max_length=200)
    decided_at: Optional[datetime] = Field(default=None, sa_type=TS)
    revision: int = Field(default=1, description="Grows with every change; decisions name the one they saw")
    created_at: datetime = Field(default_factory=utcnow, sa_type=TS)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TS)


class MappingPublic(SQLModel):
    """A mapping as the API shows it (also the `before`/`after` state of audit events)."""

    id: int
    source_code: str
    source_display: str = ""
    target_code: Optional[str] = None
    target_display: Optional[str] = None
    relationship: Optional[str] = None
    status: str
    score: Optional[float] = None
    method: str
    comment: Optional[str] = None
    candidates: list = Field(default_factory=list)
    reviewer: Optional[str] = None
    proposed_by: Optional[str] = None
    decided_by: Optional[str] = None
    decided_at: Optional[datetime] = None
    revision: int
    updated_at: Optional[datetime] = None


class MappingEvent(SQLModel, table=True):
    """One audit event: who did what to which mapping, when, the state before and after, and why."""

    __tablename__ = "mapping_event"
    __table_args__ = (
        sa.Index("ix_mapping_event_mapping", "mapping_id", "id"),
        sa.Index("ix_mapping_event_set", "map_set_id", "id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    map_set_id: int = Field(foreign_key="map_set.id")
    mapping_id: Optional[int] = Field(default=None, foreign_key="mapping.id")
    source_code: Optional[str] = Field(default=None, sa_type=CodeType)
    at: datetime = Field(default_factory=utcnow, sa_type=TS)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=30)
    revision: Optional[int] = None
    before: Optional[Any] = Field(default=None, sa_type=sa.JSON)
    after: Optional[Any] = Field(default=None, sa_type=sa.JSON)
    comment: Optional[str] = Field(default=None, sa_type=sa.Text)


class MapSetVersion(SQLModel, table=True):
    """An immutable published version of a map set: its approved mappings at publish time."""

    __tablename__ = "map_set_version"
    __table_args__ = (
        sa.UniqueConstraint("map_set_id", "label", name="uq_map_set_version_label"),
        sa.UniqueConstraint("map_set_id", "seq", name="uq_map_set_version_seq"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    map_set_id: int = Field(foreign_key="map_set.id")
    label: str = Field(max_length=100)
    seq: int
    notes: Optional[str] = Field(default=None, sa_type=sa.Text)
    mapping_count: int = 0
    checksum: Optional[str] = Field(default=None, max_length=64)
    published_at: datetime = Field(default_factory=utcnow, sa_type=TS)
    published_by: Optional[str] = Field(default=None, max_length=200)


class PublishedMapping(SQLModel, table=True):
    """One approved mapping as frozen in a published map set version; `translate` reads only these."""

    __tablename__ = "published_mapping"
    __table_args__ = (sa.Index("ix_published_mapping_source", "version_id", "source_code"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="map_set_version.id")
    source_code: str = Field(sa_type=CodeType)
    source_display: str = Field(default="", sa_type=sa.Text)
    target_code: Optional[str] = Field(default=None, sa_type=CodeType)
    target_display: Optional[str] = Field(default=None, sa_type=sa.Text)
    relationship: str = Field(max_length=20)
    comment: Optional[str] = Field(default=None, sa_type=sa.Text)
    decided_by: Optional[str] = Field(default=None, max_length=200)


def mapping_state(m: Mapping) -> dict:
    """The JSON-ready state of a mapping, as audit events record it (candidates left out: they are machine data)."""
    return {"target_code": m.target_code, "target_display": m.target_display, "relationship": m.relationship,
            "status": m.status, "score": m.score, "method": m.method, "comment": m.comment,
            "reviewer": m.reviewer, "proposed_by": m.proposed_by, "decided_by": m.decided_by,
            "revision": m.revision}
