"""FHIR Parameters in and out: one parsed form for GET query strings and POSTed Parameters resources.

Operations are functions from `Params` to a Parameters resource (or another
resource), in the manner of HAPI FHIR's resource providers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from registry.web.fhir.outcome import bad_request

PRIMITIVE_TYPES = ("valueUri", "valueCanonical", "valueUrl", "valueCode", "valueString", "valueBoolean",
                   "valueInteger", "valueDecimal", "valueDateTime", "valueDate", "valueUuid", "valueId",
                   "valueInstant", "valueOid", "valueMarkdown", "valuePositiveInt", "valueUnsignedInt")


class Params:
    """Named operation parameters: each name has a list of values (primitive, complex datatype or resource)."""

    def __init__(self, items: list[tuple[str, Any, str]] | None = None):
        self.items = items or []  # (name, value, value key such as "valueUri" or "resource" or "part")
        self.accept_language: str | None = None  # the request's Accept-Language header, if any

    @classmethod
    def from_query(cls, args) -> "Params":
        """From a GET query string: every value is text (a Coding may be given as `system|code`)."""
        return cls([(name, value, "query") for name, values in args.lists() for value in values
                    if not name.startswith("_")])

    @classmethod
    def from_resource(cls, body: Any) -> "Params":
        """From a POSTed Parameters resource; anything else is a 400."""
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise bad_request("the request body must be a FHIR Parameters resource (application/fhir+json)")
        items = []
        for p in body.get("parameter", []) or []:
            if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                raise bad_request("every Parameters.parameter needs a name")
            if "resource" in p:
                items.append((p["name"], p["resource"], "resource"))
            elif "part" in p:
                items.append((p["name"], Params.from_resource({"resourceType": "Parameters",
                                                               "parameter": p["part"]}), "part"))
            else:
                key = next((k for k in p if k.startswith("value")), None)
                items.append((p["name"], p.get(key) if key else None, key or ""))
        return cls(items)

    def all(self, name: str) -> list:
        """Every value given for `name`, in order."""
        return [value for n, value, _ in self.items if n == name]

    def get(self, name: str, default=None):
        """The first value given for `name`, or `default`."""
        return next((value for n, value, _ in self.items if n == name), default)

    def text(self, name: str) -> str | None:
        """The first value of `name` as text; a complex value is a 400."""
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, (dict, list, Params)):
            raise bad_request(f"parameter {name!r} must be a primitive value", name)
        return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)

    def boolean(self, name: str, default: bool = False) -> bool:
        """The first value of `name` as a boolean (`true`/`false`), or 400."""
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise bad_request(f"parameter {name!r} must be true or false, got {value!r}", name)

    def integer(self, name: str, default: int | None, low: int = 0, high: int = 10_000_000) -> int | None:
        """The first value of `name` as an integer within [low, high], or 400."""
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise bad_request(f"parameter {name!r} must be an integer, got {value!r}", name) from None
        if not low <= number <= high:
            raise bad_request(f"parameter {name!r} must be between {low} and {high}", name)
        return number


def parameters(*entries: dict | None) -> dict:
    """A Parameters resource of the given parameter objects (None entries skipped)."""
    return {"resourceType": "Parameters", "parameter": [e for e in entries if e]}


def param(name: str, key: str, value) -> dict | None:
    """One parameter `{"name", key: value}`; None when value is None."""
    return None if value is None else {"name": name, key: value}


@dataclass(frozen=True)
class SearchCriteria:
    """The common search parameters of a canonical resource: url (with an optional `|version`), version,
    name (a prefix), title (words within it) and status, each None when not asked."""

    url: str | None
    version: str | None
    name: str | None
    title: str | None
    status: str | None

    def keeps(self, *, url_matches: bool, version: str | None, name: str | None, title: str | None,
              status: str | None) -> bool:
        """Whether a resource with these values matches every asked criterion (`url_matches` as its type reads
        the asked url)."""
        return ((not self.url or url_matches) and (not self.version or version == self.version)
                and (not self.status or status == self.status)
                and (not self.name or (name or "").lower().startswith(self.name.lower()))
                and (not self.title or self.title.lower() in (title or "").lower()))


def search_criteria(params: Params, resource: str, allowed: tuple[str, ...]) -> SearchCriteria:
    """The search criteria of a `resource` search; a parameter outside `allowed` is a 400 naming it."""
    unknown = [n for n, _, _ in params.items if n not in allowed]
    if unknown:
        raise bad_request(f"unknown search parameter(s): {', '.join(sorted(set(unknown)))}; "
                          f"{resource} supports url, version, name, title, status")
    url, version = params.text("url"), params.text("version")
    if url and "|" in url:
        url, _, version = url.partition("|")
    return SearchCriteria(url, version, params.text("name"), params.text("title"), params.text("status"))
