"""The JSON responses of the REST API, declared once: views name theirs with `registry.web.responses.responds`,
the OpenAPI document shows their JSON Schema, and under test every JSON response is checked against its model.

The store's `*Public` schemas are reused where they exist; what the web layer adds (links, page cursors) is
declared here. Unknown fields are refused, so a field added to a response without its declaration fails a test.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from registry.models import CatalogPublic, MapSetPublic, MappingPublic, VersionPublic


class Out(BaseModel):
    """Base of the response models: every field declared."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Status(Out):
    """The process answers."""

    status: str


class Ready(Out):
    """The database answers and its schema is current."""

    status: str
    schema_: str = Field(alias="schema", description="The alembic revision of the database")


class CatalogLinks(Out):
    self_: str = Field(alias="self")
    versions: str
    latest: Optional[str] = None


class Passport(CatalogPublic):
    """A catalog's passport with links to its versions."""

    model_config = ConfigDict(extra="forbid")
    links: CatalogLinks


class CatalogList(Out):
    items: list[Passport]


class VersionList(Out):
    catalog: str
    items: list[VersionPublic]


class VersionLinks(Out):
    self_: str = Field(alias="self")
    entries: str
    download: str


class Version(VersionPublic):
    """A version's metadata with links to its entries and download."""

    model_config = ConfigDict(extra="forbid")
    links: VersionLinks


class Designation(BaseModel):
    """Another name of an entry: {language, use, text}."""

    language: Optional[str] = None
    use: Optional[str] = None
    text: str


class Entry(Out):
    """One entry in its canonical form."""

    code: str
    display: str
    designations: list[Designation] = []
    parents: list[str] = []
    status: str
    attributes: dict[str, Any] = {}


class EntryPage(Out):
    """A page of entries in code order; `next` (with `next_cursor`) continues in the same version."""

    catalog: str
    version: str
    items: list[Entry]
    next_cursor: Optional[str]
    next: Optional[str] = None


class Brief(Out):
    code: str
    display: str
    status: str


class EntryDetail(Entry):
    """One entry with its parents and children."""

    catalog: str
    version: str
    parent_entries: list[Brief]
    children: list[Brief]


class Checked(Out):
    code: str
    result: Literal["valid", "inactive", "unknown"]
    status: Optional[str]
    display: Optional[str]


class Validation(Out):
    """Each code's result, in the order given, and how many of each result."""

    catalog: str
    version: str
    items: list[Checked]
    counts: dict[str, int]


class FieldChange(Out):
    before: Any
    after: Any


class Changed(Out):
    code: str
    display: str
    fields: dict[str, FieldChange]


class Diff(Out):
    """Entries added, removed and changed (field by field) from one version to another."""

    catalog: str
    from_: str = Field(alias="from")
    to: str
    added: list[Entry]
    removed: list[Entry]
    changed: list[Changed]
    counts: dict[str, int]


class Discarded(Out):
    catalog: str
    version: str
    status: Literal["discarded"]


class JobLinks(Out):
    self_: str = Field(alias="self")
    draft: Optional[str] = None
    publish: Optional[str] = None


class Progress(Out):
    rows: int


class Job(Out):
    """An import job: its status, progress, and the report or the error when done."""

    id: str
    catalog: str
    version: str
    format: Optional[str]
    profile: Optional[str]
    source_name: Optional[str]
    status: Literal["queued", "running", "succeeded", "failed"]
    report: Optional[dict[str, Any]]
    error: Optional[dict[str, Any]]
    created_by: Optional[str]
    created_at: datetime
    started_at: Optional[datetime]
    finished_at: Optional[datetime]
    progress: Progress
    links: JobLinks


class Hit(Out):
    catalog: str
    version: str
    code: str
    display: str
    status: str
    score: float


class IndexingVersion(Out):
    catalog: str
    version: str


class SearchResult(Out):
    """Entries matching the words, best first."""

    query: str
    items: list[Hit]
    indexing: list[IndexingVersion] = Field(description="Versions whose search index is still being built: "
                                            "their hits come from an unranked scan (score 0, by code)")


class Candidate(Out):
    rank: int
    code: str
    display: str
    score: float
    reason: str


class MatchedTerm(Out):
    term: dict[str, Any]
    candidates: list[Candidate]


class MatchResult(Out):
    """Candidate codes for each term, in the order given."""

    catalog: str
    version: str
    items: list[MatchedTerm]


class Release(Out):
    """A published version as the feed shows it."""

    catalog: str
    catalog_title: str
    version: str
    seq: int
    status: str
    checksum: Optional[str]
    entry_count: int
    added_count: int
    changed_count: int
    removed_count: int
    previous_version: Optional[str]
    release_notes: Optional[str]
    published_at: datetime
    published_by: Optional[str]
    url: str


class Feed(Out):
    items: list[Release]


class MapSetList(Out):
    items: list[MapSetPublic]


class MappingPage(Out):
    items: list[MappingPublic]
    total: int


class SuggestReport(Out):
    """What the matcher stored."""

    map_set: str
    source_entries: int
    matched: int
    created: int
    updated: int
    unchanged: int
    kept_decided: int
    without_candidates: int
    without: dict[str, int] = Field(description="Source entries left without candidates, by reason: no_name (no "
                                                "declared field gives a name), no_match, below_floor")
    skipped: list[str]


class Event(Out):
    """One audit event: who did what to which mapping, when, the state before and after."""

    id: int
    at: datetime
    actor: str
    action: str
    source_code: Optional[str]
    revision: Optional[int]
    before: Optional[dict[str, Any]]
    after: Optional[dict[str, Any]]
    comment: Optional[str]


class EventList(Out):
    items: list[Event]


class BulkResult(Out):
    count: int
    items: list[MappingPublic]


class WorksheetReport(Out):
    """What a worksheet upload applied, by decision and outcome."""

    map_set: str
    file: str
    rows: int
    applied: int
    skipped: int
    by_decision: dict[str, int]
    by_outcome: dict[str, int]
    proposed_under_four_eyes: int


class MapSetVersion(Out):
    """A published, immutable version of a map set."""

    id: int
    map_set_id: int
    label: str
    seq: int
    notes: Optional[str]
    mapping_count: int
    checksum: Optional[str]
    published_at: datetime
    published_by: Optional[str]


class MapSetVersionList(Out):
    items: list[MapSetVersion]


class PublishedMapping(Out):
    source_code: str
    source_display: str
    target_code: Optional[str]
    target_display: Optional[str]
    relationship: str
    comment: Optional[str]
    decided_by: Optional[str]


class PublishedMappings(Out):
    map_set: str
    version: str
    items: list[PublishedMapping]


class Target(Out):
    target: str
    code: Optional[str]
    display: Optional[str]
    relationship: str
    map_set: str
    map_set_version: str


class Translation(Out):
    code: str
    result: bool
    matches: list[Target]


class TranslateOne(Translation):
    """The published targets of one code."""

    source: str


class TranslateBatch(Out):
    """The published targets of each code."""

    source: str
    items: list[Translation]
