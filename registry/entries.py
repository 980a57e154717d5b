"""The canonical form of an entry, shared by the store, the importers and every export.

An entry is a plain dict with exactly these keys, in this order:

    {"code": "A00", "display": "Холера",
     "designations": [{"language": "ru", "use": "synonym", "text": "..."}],
     "parents": ["A00-A09"], "status": "active", "attributes": {"atc": "J01"}}

`canonical_line()` is the registry's JSON-lines form: the same entry always gives
the same bytes, so exports round-trip exactly and content hashes are stable.
"""

from __future__ import annotations

import hashlib
import json
import math
from itertools import islice
from typing import Any, Iterable

STATUSES = ("active", "inactive", "deprecated")
DESIGNATION_USES = ("preferred", "synonym", "inclusion", "exclusion", "abbreviation", "translation",
                    "fully-specified", "note", "other")
FIELDS = ("code", "display", "designations", "parents", "status", "attributes")


class EntryError(ValueError):
    """A value that cannot become a canonical entry; `field` names the bad field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _text(value: Any, field: str) -> str:
    if value.__class__ is str:  # the common case first: importers hand over text
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise EntryError(f"{field} must be text, not {type(value).__name__}", field)
    return str(value).strip()


_ALLOWED_KEYS = frozenset(FIELDS) | {"_pos"}


class CanonicalEntry(dict):
    """An entry its builder guarantees to be canonical already, so the store skips `normalize_entry`.

    Only code that builds exactly what `normalize_entry` would return (stripped
    text, valid status, deduplicated parents, sorted attributes without empty
    values, designations with language/use filled in) may use this class; the
    profile mapper does, for the 100k-row imports where normalizing again would
    cost more than the insert. `_pos` may be present, as on any entry.
    """

    __slots__ = ()


def normalize_entry(raw: dict) -> dict:
    """Turn a loosely built entry (missing keys, None, stray spaces) into the canonical dict.

    Raises EntryError naming the field for values that cannot be right (a list as
    display, an unknown status, a designation without text).
    """
    if not _ALLOWED_KEYS.issuperset(raw):
        unknown = sorted(set(raw) - _ALLOWED_KEYS)
        raise EntryError(f"unknown field(s) {', '.join(unknown)}", unknown[0])
    code = _text(raw.get("code"), "code")
    display = _text(raw.get("display"), "display")
    status = _text(raw.get("status"), "status") or "active"
    if status not in STATUSES:
        raise EntryError(f"status {status!r} is not one of {', '.join(STATUSES)}", "status")
    parents_raw = raw.get("parents") or []
    if isinstance(parents_raw, str):
        parents_raw = [parents_raw]
    if not isinstance(parents_raw, list):
        raise EntryError("parents must be a list of codes", "parents")
    parents: list[str] = []
    for p in parents_raw:
        p = p.strip() if p.__class__ is str else _text(p, "parents")
        if p and p not in parents:
            parents.append(p)
    designations = []
    for d in raw.get("designations") or []:
        if not isinstance(d, dict):
            raise EntryError("each designation must be an object with language, use and text", "designations")
        text = _text(d.get("text"), "designations")
        if not text:
            raise EntryError("a designation has no text", "designations")
        use = _text(d.get("use"), "designations") or "synonym"
        designations.append({"language": _text(d.get("language"), "designations") or None,
                             "use": use, "text": text})
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise EntryError("attributes must be an object", "attributes")
    if attributes:
        attributes = {str(k): v for k, v in sorted(attributes.items()) if v is not None and v != ""}
        for k, v in attributes.items():
            if isinstance(v, (dict, list)):
                raise EntryError(f"attribute {k} must be a scalar value", k)
            if isinstance(v, float) and not math.isfinite(v):
                raise EntryError(f"attribute {k} must be a finite number, not {v}", k)
    return {"code": code, "display": display, "designations": designations, "parents": parents,
            "status": status, "attributes": attributes}


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_encode_text = json.encoder.encode_basestring  # what the encoder above does to a str, without its overhead


def stored_parts(entry: dict) -> tuple[str, str, str, str]:
    """The canonical line plus the designations, parents and attributes JSON of an entry, each encoded once.

    The bulk staging path stores the three parts and hashes the line; building
    the line from the parts gives exactly `canonical_line(entry)` at a fraction
    of the cost.
    """
    designations = _encode(entry["designations"]) if entry["designations"] else "[]"
    parents = entry["parents"]
    # A list of texts or a dict of texts is what the encoder would write, joined by hand (much cheaper).
    parents = "[" + ",".join(map(_encode_text, parents)) + "]" if parents else "[]"
    attributes = entry["attributes"]
    if attributes:
        parts = []
        for key, value in attributes.items():
            if value.__class__ is not str:
                attributes = _encode(attributes)
                break
            parts.append(f"{_encode_text(key)}:{_encode_text(value)}")
        else:
            attributes = "{" + ",".join(parts) + "}"
    else:
        attributes = "{}"
    line = (f'{{"code":{_encode_text(entry["code"])},"display":{_encode_text(entry["display"])},'
            f'"designations":{designations},"parents":{parents},"status":{_encode_text(entry["status"])},'
            f'"attributes":{attributes}}}')
    return line, designations, parents, attributes


def canonical_line(entry: dict) -> str:
    """The one JSON text of a canonical entry (no newline): fixed key order, UTF-8 as is."""
    return json.dumps({k: entry[k] for k in FIELDS}, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=False)


def content_hash(line: str) -> str:
    """Hash of an entry's canonical line; equal hashes mean equal content."""
    return hashlib.sha256(line.encode("utf-8")).hexdigest()[:32]


def version_checksum(hashes_in_code_order: Iterable[str]) -> str:
    """The checksum of a whole version: sha256 over the entry hashes in code order, one per line."""
    h = hashlib.sha256()
    hashes = iter(hashes_in_code_order)
    while chunk := list(islice(hashes, 10000)):  # the same bytes as one update per hash, fewer calls
        h.update(("\n".join(chunk) + "\n").encode("ascii"))
    return h.hexdigest()


def changed_fields(before: dict, after: dict) -> dict:
    """Field-level difference of two canonical entries: {field: {"before": ..., "after": ...}}."""
    return {f: {"before": before[f], "after": after[f]} for f in FIELDS[1:] if before[f] != after[f]}
