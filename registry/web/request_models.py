"""The request bodies of the REST API, declared once: views read them with `registry.web.bodies.body`/`form`,
and the OpenAPI document shows their JSON Schema.

Limits are what real values need with room to spare: slugs and version labels
100 characters (as stored), codes 2,000 (as in a URL), names 1,000 (what the
matcher reads), free text 100,000.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Discriminator, Field, StrictInt, Tag, model_validator

from registry.mapping import DECISIONS
from registry.matching import MAX_LIMIT, MAX_NAME
from registry.models.catalog import KINDS
from registry.models.mapping import RELATIONSHIPS, STATUSES
from registry.web.bodies import Body, JsonObject, Line, Prose
from registry.web.params import MAX_VALUE_LENGTH

Slug = Line(100, min_length=1)
Label = Line(100, min_length=1)
Code = Line(MAX_VALUE_LENGTH, min_length=1)
Person = Line(200)
Notes = Prose(100_000)
MAX_CODES = 10_000
MAX_TERMS = 1000
STATUS_LIST = "^(" + "|".join(STATUSES) + r")(,(" + "|".join(STATUSES) + "))*$"


class CatalogCreateBody(Body):
    """A new, empty catalog."""

    noun = "catalog"

    slug: Slug = Field(description="Lower-case letters, digits, '.', '_' and '-'", examples=["icd10"])
    title: Line(500, min_length=1)
    kind: Literal[KINDS] = "other"
    owner: Optional[Line(200)] = None
    oid: Optional[Line(200)] = None
    language: Line(20, min_length=1) = "ru"
    description: Optional[Notes] = None
    field_schema: JsonObject = Field(default_factory=dict, description="{attribute: {type, ...}}")


class Codes(Body):
    """Codes to validate; a bare JSON list of codes is taken as well."""

    noun = "list of codes"

    codes: list[Code] = Field(max_length=MAX_CODES, description="Codes as text (numbers are read as text too)")

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value):
        value = {"codes": value} if isinstance(value, list) else value
        if isinstance(value, dict) and isinstance(value.get("codes"), list):
            numbers = [str(c) if isinstance(c, int) and not isinstance(c, bool) else c for c in value["codes"]]
            value = {**value, "codes": numbers}
        return value


class ReleaseNotes(Body):
    """Optional release notes of a publish."""

    noun = "release notes body"

    release_notes: Optional[Notes] = None


class Term(Body):
    """A local entry to match: its name, and optionally its local code and attributes."""

    name: Line(MAX_NAME, min_length=1)
    code: Optional[Code] = None
    attributes: Optional[JsonObject] = None


class MatchRequest(Body):
    """Terms to match against a catalog version: `target` ("slug@version" or "slug"), or `catalog` and `version`."""

    noun = "match request"

    target: Optional[Line(201, min_length=1)] = Field(default=None, examples=["icd10@2024"])
    catalog: Optional[Slug] = None
    version: Optional[Label] = None
    terms: list[Annotated[Union[Annotated[Line(MAX_NAME, min_length=1), Tag("name")], Annotated[Term, Tag("term")]],
                          Discriminator(lambda v: "term" if isinstance(v, dict) else "name")]] = Field(
        max_length=MAX_TERMS, description="Names, or objects {name, code, attributes}")
    limit: StrictInt = Field(default=5, ge=1, le=MAX_LIMIT)

    @model_validator(mode="after")
    def _names_a_catalog(self):
        if self.target is None and self.catalog is None:
            raise ValueError("give the catalog to match against: target (slug@version) or catalog")
        return self


class MapSetCreateBody(Body):
    """A new map set from a source to a target catalog version."""

    noun = "map set"

    slug: Slug
    source: Line(201, min_length=1) = Field(examples=["local@1"])
    target: Line(201, min_length=1) = Field(examples=["icd10@2024"])
    title: Optional[Line(500)] = None
    description: Optional[Notes] = None
    owner: Optional[Person] = None
    four_eyes: bool = False
    match: Optional[JsonObject] = Field(
        default=None, description="What is matched: names (source fields with weights), combine (best or first), "
        "form (a dosage form field), floor (0-100) and targets (fields of the target entries searched); checked by "
        "registry.mapping.match_config (docs/api.md)",
        examples=[{"names": [{"field": "attributes.inn", "weight": 1.0}, {"field": "display", "weight": 0.9}],
                   "combine": "first", "form": "attributes.dosage_form", "floor": 30}])


class Suggest(Body):
    """How many candidates the matcher stores per source entry."""

    noun = "suggest request"

    limit: StrictInt = Field(default=5, ge=1, le=20)


class DecisionBody(Body):
    """One decision on a mapping, made on the revision the reviewer saw."""

    noun = "decision"

    decision: Literal[DECISIONS]
    revision: StrictInt = Field(ge=0)
    relationship: Optional[Literal[RELATIONSHIPS]] = None
    target_code: Optional[Code] = None
    comment: Optional[Notes] = None
    reviewer: Optional[Person] = None


class BulkItem(Body):
    """One mapping of a bulk decision: its id or source code, and the revision seen."""

    id: Optional[StrictInt] = None
    source_code: Optional[Code] = None
    revision: StrictInt = Field(ge=0)
    relationship: Optional[Literal[RELATIONSHIPS]] = None
    target_code: Optional[Code] = None
    comment: Optional[Notes] = None

    @model_validator(mode="after")
    def _names_a_mapping(self):
        if self.id is None and self.source_code is None:
            raise ValueError("an item names its mapping by source_code (or id)")
        return self


class QueueFilter(Body):
    """The review queue's filter: every mapping it matches now is decided."""

    status: Optional[Line(200)] = Field(default=None, pattern=STATUS_LIST,
                                       description="Comma-separated statuses", examples=["candidate,proposed"])
    q: Optional[Line(MAX_VALUE_LENGTH)] = None
    min_score: Optional[float] = Field(default=None, ge=0, le=100)
    max_score: Optional[float] = Field(default=None, ge=0, le=100)
    reviewer: Optional[Person] = None


class BulkDecision(Body):
    """One decision on many mappings: the listed `items` or every one `filter` matches; all or nothing."""

    noun = "bulk decision"

    decision: Literal[DECISIONS]
    relationship: Optional[Literal[RELATIONSHIPS]] = None
    comment: Optional[Notes] = None
    items: Optional[list[BulkItem]] = None
    filter: Optional[QueueFilter] = None

    @model_validator(mode="after")
    def _items_or_filter(self):
        if (self.items is None) == (self.filter is None):
            raise ValueError("give either items or filter")
        return self


class MapSetPublish(Body):
    """The label of the new map set version and optional notes."""

    noun = "map set version"

    label: Label
    notes: Optional[Notes] = None


class Translate(Body):
    """Codes to translate through a map set's published mappings."""

    noun = "translate request"

    source: Slug
    codes: list[Code] = Field(max_length=MAX_CODES)
    target: Optional[Slug] = None


class UploadForm(Body):
    """The form fields of an import upload (the file goes in part `file`)."""

    noun = "upload form"

    version: Label
    format: Optional[Line(50)] = None
    profile: Optional[Line(200)] = None


class WorksheetForm(Body):
    """A filled review worksheet takes no form fields besides the file."""

    noun = "upload form"
