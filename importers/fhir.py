"""Reading FHIR resources given to `nsi import` whole (ValueSet, ConceptMap): load, type checks, located problems.

Every problem names the file and the JSON path of the field (`ValueSet.compose.include[0].system`).
"""

from __future__ import annotations

import re

from registry.errors import ImportRejected, Problem
from importers.source import Source

RESOURCE_TYPE = re.compile(rb'"resourceType"\s*:\s*"([A-Za-z]+)"')


def refuse(source: Source, path: str, message: str, kind: str = "invalid") -> ImportRejected:
    """The error for a bad field at JSON `path` of the resource in `source`."""
    return ImportRejected([Problem(message, file=source.name, row=path, kind=kind)])


def load_resource(source: Source, resource_type: str) -> dict:
    """The file's JSON resource, refused unless it is a `resource_type`."""
    data = source.load_json()
    found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
    if found != resource_type:
        raise ImportRejected([Problem(f"not a FHIR {resource_type} resource (resourceType is {found!r})",
                                      file=source.name, kind="syntax")])
    return data


def text(source: Source, node: dict, key: str, path: str, required: bool = False) -> str | None:
    """A string element `key` of `node` (at `path`); another JSON type, or a required one missing, is refused."""
    value = node.get(key)
    if value is None or value == "":
        if required:
            raise refuse(source, f"{path}.{key}", f"{key} is required", "missing")
        return None
    if not isinstance(value, str):
        raise refuse(source, f"{path}.{key}", f"{key} must be a string (got {value!r})", "wrong_type")
    return value


def objects(source: Source, node: dict, key: str, path: str) -> list[dict]:
    """The list-of-objects element `key` of `node` ([] when absent); anything else is refused at its path."""
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise refuse(source, f"{path}.{key}", f"{key} must be a list of JSON objects", "wrong_type")
    return value


def declares(source: Source, resource_type: str) -> bool:
    """Whether a JSON file's first 64 KiB declare a resource of `resource_type` first."""
    if not (source.path.suffix.lower() == ".json" or source.starts_with(b"{")):
        return False
    found = RESOURCE_TYPE.search(source.head(65536))
    return found is not None and found.group(1).decode() == resource_type


def slug_of(url: str | None, name: str | None) -> str | None:
    """A catalog slug for a FHIR resource: its canonical url's last segment (or OID), else its name."""
    for text in ((url or "").rstrip("/").rsplit("/", 1)[-1].removeprefix("urn:oid:"), name or ""):
        slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")[:100]
        if slug:
            return slug
    return None
