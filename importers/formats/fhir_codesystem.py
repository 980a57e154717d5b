"""FHIR R4 CodeSystem resources (JSON), so that code systems published as FHIR can be loaded.

Each `concept` becomes an entry; nested concepts get the enclosing concept
as parent, and a `parent` property adds parents too. `designation` elements
become designations (their `use.code` or `use.display` mapped onto the
registry's uses), other properties become attributes (valueCode,
valueString, valueInteger, valueDecimal, valueBoolean, valueDateTime,
valueCoding's code), typed by the resource's property definitions. The
`status`/`inactive` properties set the status (and stay attributes, as
published).

Without --catalog/--version, the catalog is the slug of the resource's `url`
(its last segment) or `name`, the version its `version`. The resource less its
concepts is kept with the version (`catalog_defaults()["fhir_header"]`), so
that FHIR operations answer for its canonical `url`.
"""

from __future__ import annotations

from typing import Iterator

from registry.entries import DESIGNATION_USES
from registry.errors import ImportRejected, Position, Problem
from importers.findings import Findings
from importers.fhir import slug_of
from importers.profile import Profile
from importers.source import Source

VALUE_KEYS = ("valueCode", "valueString", "valueInteger", "valueDecimal", "valueBoolean", "valueDateTime")
# A CodeSystem property type -> the catalog attribute type (field_schema) its values are kept as.
PROPERTY_TYPES = {"string": "string", "code": "string", "Coding": "string", "dateTime": "string",
                  "integer": "integer", "decimal": "number", "boolean": "boolean"}
HIERARCHY_PROPERTIES = ("parent", "child")
USES_KEY = "_designation_uses"  # in a kept header: the use Codings designations were published with
USE_ALIASES = {"900000000000003001": "fully-specified", "900000000000013009": "synonym",
               "display": "preferred", "fsn": "fully-specified"}


def _load(source: Source) -> dict:
    data = source.load_json()
    if not isinstance(data, dict) or data.get("resourceType") != "CodeSystem":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise ImportRejected([Problem(f"not a FHIR CodeSystem resource (resourceType is {found!r})",
                                      file=source.name, kind="syntax")])
    return data


def _text(data: dict, key: str, source: Source) -> str | None:
    """A string element of the resource; any other JSON type is refused (FHIR says these are strings)."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ImportRejected([Problem(f"CodeSystem.{key} must be a string (got {value!r})", file=source.name,
                                      kind="wrong_type")])
    return value or None


def _property_schema(data: dict, source: Source) -> dict:
    """The catalog attribute schema the CodeSystem's property definitions declare (parent/child are hierarchy)."""
    definitions = data.get("property") or []
    if not isinstance(definitions, list):
        raise ImportRejected([Problem("CodeSystem.property must be a list of property definitions",
                                      file=source.name, row="CodeSystem.property", kind="wrong_type")])
    schema = {}
    for i, definition in enumerate(definitions):
        code = definition.get("code") if isinstance(definition, dict) else None
        if not isinstance(code, str) or not code:
            raise ImportRejected([Problem("a property definition needs a code", file=source.name,
                                          row=f"CodeSystem.property[{i}]", kind="wrong_type")])
        if code not in HIERARCHY_PROPERTIES:
            spec = {"type": PROPERTY_TYPES.get(definition.get("type"), "string")}
            if isinstance(definition.get("description"), str):
                spec["description"] = definition["description"]
            schema[code] = spec
    if schema:  # a declared schema refuses undeclared attributes: add what concepts carry without declaring
        schema.setdefault("definition", {"type": "string", "description": "The concept's definition"})
        for code, kind in (("status", "string"), ("inactive", "boolean"), ("notSelectable", "boolean")):
            schema.setdefault(code, {"type": kind, "description": "A concept property FHIR defines"})
    return schema


def catalog_defaults(source: Source) -> dict:
    """Slug, version, title, language, owner, OID and attribute schema from the CodeSystem resource.

    `fhir_header` is the resource without its concepts, kept with the imported version.
    """
    data = _load(source)
    if data.get("content") == "supplement":
        raise ImportRejected([Problem("a CodeSystem supplement (content 'supplement') adds to another code system "
                                      f"({data.get('supplements')}) and is not a catalog: supplements are not "
                                      "imported", file=source.name, row="CodeSystem.content", kind="unsupported")])
    identifiers = data.get("identifier") or []
    identifiers = identifiers if isinstance(identifiers, list) else [identifiers]
    url = _text(data, "url", source)
    oid = next((i["value"].removeprefix("urn:oid:") for i in identifiers
                if isinstance(i, dict) and isinstance(i.get("value"), str) and i["value"].startswith("urn:oid:")),
               None)
    if oid is None and url and url.startswith("urn:oid:"):
        oid = url.removeprefix("urn:oid:")
    name = _text(data, "name", source)
    return {"slug": slug_of(url, name), "version": _text(data, "version", source),
            "title": _text(data, "title", source) or name or _text(data, "id", source),
            "kind": "classification", "language": _text(data, "language", source) or "en",
            "owner": _text(data, "publisher", source), "oid": oid, "description": _text(data, "description", source),
            "field_schema": _property_schema(data, source),
            "fhir_header": {**{k: v for k, v in data.items() if k not in ("concept", "text")},
                            USES_KEY: designation_uses(data.get("concept"))} if url else None}


def _objects(concept: dict, key: str, pos: Position, findings: Findings) -> list[dict]:
    """The concept's `key` elements (a JSON list of objects); anything else is reported at the concept."""
    items = concept.get(key) or []
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        findings.error(pos.problem(f"{key} must be a list of JSON objects", kind="wrong_type"))
        return []
    return items


def _use(designation: dict) -> str:
    """The registry's use of a designation: a known use or alias by code or display, else the use's own code."""
    use = designation.get("use") or {}
    if not isinstance(use, dict):
        return "synonym"
    for key in ("code", "display"):
        value = str(use.get(key) or "")
        if value in DESIGNATION_USES:
            return value
        if value.lower() in USE_ALIASES or value in USE_ALIASES:
            return USE_ALIASES.get(value, USE_ALIASES.get(value.lower()))
    return str(use.get("code") or "synonym")


def designation_uses(concepts) -> dict:
    """{registry use: the FHIR use Coding it was read from}, so a stored designation is served as published."""
    found, stack = {}, list(concepts if isinstance(concepts, list) else [])
    while stack:
        concept = stack.pop()
        if not isinstance(concept, dict):
            continue
        for d in concept.get("designation") or [] if isinstance(concept.get("designation"), list) else []:
            if isinstance(d, dict) and isinstance(d.get("use"), dict):
                found.setdefault(_use(d), d["use"])
        stack += concept.get("concept") if isinstance(concept.get("concept"), list) else []
    return found


def read(source: Source, profile: Profile | None, findings: Findings, language: str | None) -> Iterator[dict]:
    """Yield an entry per concept, depth first, with nested concepts linked to their parent."""
    data = _load(source)
    concepts = data.get("concept")
    if not isinstance(concepts, list) or not concepts:
        raise ImportRejected([Problem("the CodeSystem has no concepts (it may be a 'not-present' or fragment "
                                      "resource)", file=source.name, kind="empty")])
    stack = [(c, None, f"concept[{i}]") for i, c in reversed(list(enumerate(concepts)))]
    while stack:
        concept, parent, path = stack.pop()
        pos = Position(source.name, None, path)
        if not isinstance(concept, dict):
            findings.error(pos.problem("a concept must be a JSON object", kind="syntax"))
            continue
        parents = [parent] if parent else []
        attributes, status = {}, "active"
        for prop in _objects(concept, "property", pos, findings):
            code = prop.get("code")
            value = next((prop[k] for k in VALUE_KEYS if k in prop), None)
            if value is None and isinstance(prop.get("valueCoding"), dict):
                value = prop["valueCoding"].get("code")
            if code in HIERARCHY_PROPERTIES:
                if code == "parent" and value and value not in parents:
                    parents.append(str(value))
                continue
            if code == "status" and value in ("retired", "deprecated", "inactive"):
                status = "inactive" if value == "inactive" else "deprecated"
            elif code == "inactive" and value in (True, "true"):
                status = "inactive"
            if code and value is not None:
                attributes[code] = value
        designations = [{"language": d.get("language"), "use": _use(d), "text": d.get("value")}
                        for d in _objects(concept, "designation", pos, findings) if d.get("value")]
        if any(d["text"] is not None and not isinstance(d["text"], str) for d in designations):
            findings.error(pos.problem("designation.value must be a string", kind="wrong_type"))
            designations = [d for d in designations if isinstance(d["text"], str)]
        if concept.get("definition"):
            attributes.setdefault("definition", concept["definition"])
        yield {"code": concept.get("code"), "display": concept.get("display"), "designations": designations,
               "parents": parents, "status": status, "attributes": attributes, "_pos": pos}
        children = _objects(concept, "concept", pos, findings)
        for i, child in reversed(list(enumerate(children))):
            stack.append((child, concept.get("code"), f"{path}.concept[{i}]"))


READS = "FHIR JSON"


def sniff(source: Source) -> bool:
    """A JSON file (by name or first byte) whose first 64 KiB name a CodeSystem resource."""
    return ((source.path.suffix.lower() == ".json" or source.starts_with(b"{", b"["))
            and b'"CodeSystem"' in source.head(65536))
