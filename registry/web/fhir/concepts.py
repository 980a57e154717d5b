"""Code systems as the FHIR operations see them: one interface over stored catalogs and supplied resources.

`CodeSystemSource` is what $lookup, $validate-code and $expand read. Two kinds:
`StoredCodeSystem` reads a published catalog version through the store's Python
API (never a copy of its rows), `ResourceCodeSystem` wraps a FHIR CodeSystem
given in a request (`tx-resource`). Neither knows about Flask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Iterator

from registry.errors import NotFound

STATUS_URI = "http://hl7.org/fhir/concept-properties#status"
NOT_SELECTABLE_URI = "http://hl7.org/fhir/concept-properties#notSelectable"
DESIGNATION_USE_SYSTEM = "http://nsi-registry.org/fhir/CodeSystem/designation-use"
# A catalog attribute's type (field_schema) -> the FHIR property type and its value[x] name.
ATTRIBUTE_TYPES = {"string": ("string", "valueString"), "integer": ("integer", "valueInteger"),
                   "number": ("decimal", "valueDecimal"), "boolean": ("boolean", "valueBoolean"),
                   "date": ("dateTime", "valueDateTime")}
VALUE_KEYS = ("valueCode", "valueString", "valueInteger", "valueBoolean", "valueDecimal", "valueDateTime",
              "valueCoding")
INACTIVE_STATUSES = ("retired", "inactive")  # a deprecated concept is still active (discouraged, not withdrawn)
# A declared CodeSystem property type -> the value[x] its values are written back as (catalogs imported from FHIR).
PUBLISHED_VALUE_KEYS = {"code": "valueCode", "string": "valueString", "integer": "valueInteger",
                        "boolean": "valueBoolean", "decimal": "valueDecimal", "dateTime": "valueDateTime",
                        "Coding": "valueCoding"}
# The registry's designation uses as the codings FHIR code systems publish them with.
PUBLISHED_USES = {"fully-specified": {"system": "http://snomed.info/sct", "code": "900000000000003001",
                                      "display": "Fully specified name"}}


@dataclass
class Concept:
    """One concept of a code system, in FHIR terms."""

    code: str
    display: str | None = None
    definition: str | None = None
    designations: list[dict] = field(default_factory=list)   # FHIR designation objects
    properties: list[dict] = field(default_factory=list)     # FHIR concept.property objects
    parents: list[str] = field(default_factory=list)
    inactive: bool = False
    abstract: bool = False

    def property_values(self, code: str) -> list:
        """The primitive values of property `code` (codings give their code)."""
        out = []
        for prop in self.properties:
            if prop.get("code") == code:
                for key in VALUE_KEYS:
                    if key in prop:
                        value = prop[key]
                        out.append(value.get("code") if isinstance(value, dict) else value)
        return out


class CodeSystemSource:
    """The metadata and concepts of one code system version."""

    url: str
    version: str | None
    name: str
    title: str | None = None
    status: str = "active"
    case_sensitive: bool = True
    language: str | None = None
    aliases: tuple[str, ...] = ()
    property_defs: list[dict]
    supplements: tuple = ()  # the CodeSystem supplements (ResourceCodeSystem) a request uses on this system

    def supplemented(self, concept: "Concept | None") -> "Concept | None":
        """The concept with the designations (their `source` named) and properties its supplements give it."""
        if concept is None or not self.supplements:
            return concept
        designations, properties = list(concept.designations), list(concept.properties)
        for supplement in self.supplements:
            extra = supplement.get(concept.code)
            if extra is not None:
                designations += [{**d, "source": supplement.versioned_url} for d in extra.designations]
                properties += extra.properties
        return replace(concept, designations=designations, properties=properties)

    def get(self, code: str) -> Concept | None:
        """The concept with this code, or None."""
        raise NotImplementedError

    def find_case_insensitive(self, code: str) -> Concept | None:
        """The concept whose code equals `code` ignoring case (for case-insensitive systems)."""
        folded = code.casefold()
        return next((c for c in self.iter_concepts() if c.code.casefold() == folded), None)

    def iter_concepts(self) -> Iterator[Concept]:
        """Every concept, streamed in the system's order."""
        raise NotImplementedError

    def children(self, code: str) -> list[Concept]:
        """The direct children of `code`."""
        raise NotImplementedError

    def page(self, offset: int, count: int | None) -> Iterator[Concept]:
        """`count` concepts (all when None) from position `offset`, in the system's order."""
        return islice(self.iter_concepts(), offset, None if count is None else offset + count)

    def descendants(self, code: str) -> Iterator[Concept]:
        """Every concept below `code`, each once (breadth first)."""
        seen = {code}
        queue = [code]
        while queue:
            for child in self.children(queue.pop(0)):
                if child.code not in seen:
                    seen.add(child.code)
                    queue.append(child.code)
                    yield child

    def count(self) -> int:
        """How many concepts the system has."""
        return sum(1 for _ in self.iter_concepts())

    @property
    def versioned_url(self) -> str:
        """`url|version` as used-codesystem parameters name it."""
        return f"{self.url}|{self.version}" if self.version else self.url

    def answers_to(self, url: str) -> bool:
        """Whether `url` names this system (its canonical URL or an alias such as urn:oid:)."""
        return url == self.url or url in self.aliases


class ResourceCodeSystem(CodeSystemSource):
    """A FHIR CodeSystem resource held in memory (supplied as `tx-resource`)."""

    def __init__(self, resource: dict):
        self.resource = resource
        self.url = resource.get("url") or ""
        self.version = resource.get("version")
        self.name = resource.get("name") or resource.get("id") or self.url
        self.title = resource.get("title")
        self.status = resource.get("status", "active")
        self.case_sensitive = bool(resource.get("caseSensitive", False))
        self.language = resource.get("language")
        self.content = resource.get("content", "complete")
        self.property_defs = list(resource.get("property", []))
        self.aliases = tuple(i["value"] for i in resource.get("identifier", [])
                             if i.get("system") == "urn:ietf:rfc:3986" and i.get("value"))
        self._concepts: dict[str, Concept] = {}
        self._children: dict[str, list[str]] = {}
        boolean_props = {p["code"] for p in self.property_defs if p.get("type") == "boolean"}
        # "Not selectable" is the property called notSelectable, or any declared with its standard URI.
        self._not_selectable = ["notSelectable", *(p["code"] for p in self.property_defs
                                                   if p.get("uri") == NOT_SELECTABLE_URI)]
        self._walk(resource.get("concept", []), None, boolean_props)

    def _walk(self, concepts: list[dict], parent: str | None, boolean_props: set[str]) -> None:
        for raw in concepts:
            code = raw.get("code")
            if not code:
                continue
            props = list(raw.get("property", []))
            parents = [parent] if parent else []
            parents += [p.get("valueCode") for p in props if p.get("code") in ("parent", "subsumedBy")
                        and p.get("valueCode") and p.get("valueCode") not in parents]
            concept = Concept(code=code, display=raw.get("display"), definition=raw.get("definition"),
                              designations=list(raw.get("designation", [])), properties=props, parents=parents)
            statuses = concept.property_values("status")
            concept.inactive = any(s in INACTIVE_STATUSES for s in statuses) or True in concept.property_values(
                "inactive")
            concept.abstract = any(True in concept.property_values(code) or (
                code in boolean_props and "true" in concept.property_values(code)) for code in self._not_selectable)
            self._concepts[code] = concept
            for p in parents:
                self._children.setdefault(p, []).append(code)
            self._walk(raw.get("concept", []), code, boolean_props)

    def get(self, code: str) -> Concept | None:
        return self.supplemented(self._concepts.get(code))

    def iter_concepts(self) -> Iterator[Concept]:
        return iter([self.supplemented(c) for c in self._concepts.values()])

    def children(self, code: str) -> list[Concept]:
        return [self.supplemented(self._concepts[c]) for c in self._children.get(code, [])]

    def count(self) -> int:
        return len(self._concepts)


class StoredCodeSystem(CodeSystemSource):
    """A published (or retired) catalog version read through the store."""

    def __init__(self, store, catalog, version, base_url: str):
        self.store = store
        self.catalog = catalog
        self.version_meta = version
        self.slug = catalog.slug
        self.url = f"{base_url}/CodeSystem/{catalog.slug}"
        self.value_set_url = f"{base_url}/ValueSet/{catalog.slug}"
        self.version = self.label = version.label
        self.name = "".join(part.capitalize() for part in catalog.slug.replace(".", "-").replace("_", "-")
                            .split("-")) or catalog.slug
        self.title = catalog.title
        self.status = "active" if version.status == "published" else "retired"
        self.case_sensitive = True
        self.language = catalog.language
        self.content = "complete"
        self.aliases = (f"urn:oid:{catalog.oid}",) if catalog.oid else ()
        self.schema = catalog.field_schema or {}
        self.property_defs = [
            {"code": "parent", "uri": "http://hl7.org/fhir/concept-properties#parent", "type": "code"},
            {"code": "child", "uri": "http://hl7.org/fhir/concept-properties#child", "type": "code"},
            {"code": "inactive", "uri": "http://hl7.org/fhir/concept-properties#inactive", "type": "boolean"},
            {"code": "status", "uri": STATUS_URI, "type": "code"},
        ] + [{"code": name, "type": ATTRIBUTE_TYPES.get(spec.get("type", "string"), ("string",))[0],
              **({"description": spec["description"]} if spec.get("description") else {})}
             for name, spec in sorted(self.schema.items())]
        self.header = store.code_system_header(catalog.slug, version.label)
        if self.header:
            self._as_published(self.header)

    def _as_published(self, header: dict) -> None:
        """Take the url, names, case rule and property definitions of the CodeSystem this version was imported as."""
        self.url = header["url"]
        self.name = header.get("name") or self.name
        self.title = header.get("title") or self.title
        self.status = header.get("status") or self.status
        self.case_sensitive = bool(header.get("caseSensitive", False))
        self.language = header.get("language")
        self.content = header.get("content") or "complete"
        self.property_defs = list(header.get("property") or [])
        self.header = {k: v for k, v in header.items() if not k.startswith("_")}
        self.published_uses = header.get("_designation_uses", {})
        self.value_set_url = header.get("valueSet") or self.value_set_url
        self.version = header.get("version")
        aliases = [i.get("value") for i in header.get("identifier") or []
                   if isinstance(i, dict) and i.get("system") == "urn:ietf:rfc:3986" and i.get("value")]
        self.aliases = tuple(dict.fromkeys([*aliases, *self.aliases]))

    def published_concept(self, entry: dict) -> Concept:
        """An entry of a version imported from FHIR, with its properties typed as the CodeSystem declared them."""
        types = {d.get("code"): d.get("type") for d in self.property_defs}
        attributes = dict(entry.get("attributes") or {})
        definition = attributes.pop("definition", None) if "definition" not in types else None
        properties = []
        for name, value in sorted(attributes.items()):
            key = PUBLISHED_VALUE_KEYS.get(types.get(name)) or (
                "valueBoolean" if isinstance(value, bool) else "valueInteger" if isinstance(value, int)
                else "valueDecimal" if isinstance(value, float) else "valueString")
            properties.append({"code": name, key: {"code": value} if key == "valueCoding" else value})
        uses = {**PUBLISHED_USES, **self.published_uses}
        designations = [{**({"language": d["language"]} if d.get("language") else {}),
                         **({"use": uses[d["use"]]} if d.get("use") in uses else {}),
                         "value": d.get("text", "")} for d in entry.get("designations", [])]
        concept = Concept(code=entry["code"], display=entry.get("display"), definition=definition,
                          designations=designations, properties=properties, parents=list(entry.get("parents", [])),
                          inactive=entry.get("status", "active") != "active")
        concept.abstract = True in concept.property_values("notSelectable")
        return concept

    def concept(self, entry: dict) -> Concept:
        """A stored canonical entry as a Concept: designations, status and typed attributes."""
        if self.header:
            return self.supplemented(self.published_concept(entry))
        designations = [{**({"language": d["language"]} if d.get("language") else {}),
                         **({"use": {"system": DESIGNATION_USE_SYSTEM, "code": d["use"]}} if d.get("use") else {}),
                         "value": d.get("text", "")} for d in entry.get("designations", [])]
        status = entry.get("status", "active")
        properties = []
        if status != "active":
            properties.append({"code": "status", "valueCode": "retired" if status == "inactive" else status})
        for name, value in sorted((entry.get("attributes") or {}).items()):
            kind = (self.schema.get(name) or {}).get("type", "string")
            fhir_type, key = ATTRIBUTE_TYPES.get(kind, ("string", "valueString"))
            if isinstance(value, (dict, list)):
                value, key = json.dumps(value, ensure_ascii=False), "valueString"
            elif key == "valueString":
                value = str(value)
            properties.append({"code": name, key: value})
        return self.supplemented(Concept(code=entry["code"], display=entry.get("display"), designations=designations,
                                         properties=properties, parents=list(entry.get("parents", [])),
                                         inactive=status != "active"))

    def get(self, code: str) -> Concept | None:
        try:
            return self.concept(self.store.lookup(self.slug, code, self.label))
        except NotFound:
            return None

    def find_case_insensitive(self, code: str) -> Concept | None:
        """The concept whose code equals `code` ignoring case, found through the folded-code index."""
        if self.case_sensitive:
            return None  # catalogs are case-sensitive unless imported from a CodeSystem saying otherwise
        entry = self.store.lookup_ignoring_case(self.slug, code, self.label)
        return self.concept(entry) if entry is not None else None

    def iter_concepts(self) -> Iterator[Concept]:
        for entry in self.store.iter_entries(self.slug, self.label):
            yield self.concept(entry)

    def children(self, code: str) -> list[Concept]:
        return [self.concept(e) for e in self.store.children(self.slug, code, self.label)]

    def page(self, offset: int, count: int | None) -> Iterator[Concept]:
        """A page read by the database from `offset` (the rows before it are never fetched)."""
        for entry in self.store.entries_at(self.slug, self.label, offset=offset, limit=count):
            yield self.concept(entry)

    def count(self) -> int:
        return self.version_meta.entry_count
