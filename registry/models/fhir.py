"""FHIR resources kept as published: ValueSets whole, the header of each CodeSystem and ConceptMap imported.

A ValueSet is stored as its resource (its `compose` is evaluated on demand
against the catalogs), one row per `url` and `version`, like catalog versions.
A CodeSystem's concepts are catalog entries; its row here keeps what the
entries cannot say (canonical url, name, caseSensitive, property definitions,
...) for the catalog version it was imported as, so FHIR answers for that url;
a ConceptMap's row does the same for the map-set version its mappings became.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.models import mapping as _mapping  # noqa: F401  (defines map_set_version, which a foreign key names)
from registry.models.catalog import CodeType, UtcDateTime, utcnow

RESOURCE_TYPES = ("CodeSystem", "ValueSet", "ConceptMap")


class FhirResource(SQLModel, table=True):
    """One stored FHIR resource version (`resource_type`, `url`, `version` unique)."""

    __tablename__ = "fhir_resource"
    __table_args__ = (sa.UniqueConstraint("resource_type", "url", "version", name="uq_fhir_resource_url_version"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    resource_type: str = Field(max_length=20)
    url: str = Field(max_length=500, index=True)
    version: str = Field(default="", max_length=100, description="'' when the resource has none")
    name: Optional[str] = Field(default=None, max_length=500)
    title: Optional[str] = Field(default=None, max_length=500)
    status: str = Field(default="active", max_length=20)
    catalog_version_id: Optional[int] = Field(default=None, foreign_key="catalog_version.id", index=True,
                                              description="The catalog version a CodeSystem's concepts are")
    map_set_version_id: Optional[int] = Field(default=None, foreign_key="map_set_version.id", index=True,
                                              description="The published map-set version a ConceptMap is")
    resource: dict = Field(default_factory=dict, sa_type=sa.JSON,
                           description="The ValueSet, or the CodeSystem without its concepts")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class CodeFold(SQLModel, table=True):
    """The case-folded form of each code of a catalog imported from a case-insensitive CodeSystem.

    `caseSensitive: false` means `KG` is the code `kg`: `$validate-code` finds it through the
    (catalog_id, folded) index instead of folding every concept of the version. One row per code the
    catalog has had (not per version); the lookup joins the version's entries, so a code of another version
    is never found. Filled when such a CodeSystem's header is kept, i.e. at its import.
    """

    __tablename__ = "code_fold"
    __table_args__ = (sa.Index("ix_code_fold_catalog_folded", "catalog_id", "folded"),)
    catalog_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("catalog.id", ondelete="CASCADE"),
                                                primary_key=True))
    code: str = Field(sa_column=sa.Column(CodeType, primary_key=True))
    folded: str = Field(max_length=600, description="str.casefold() of the code (which can grow: ß → ss)")
