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


class EncodedEntry(CanonicalEntry):
    """A canonical entry that carries its staged row already, in `stored` (see importers.compiled).

    `stored` is the tuple registry.store.staging writes, in its STAGED_COLUMNS
    order: code, content hash of the canonical line, display, designations JSON,
    parents JSON, first parent, status, attributes JSON, as `stored_parts` and
    `content_hash` would make them.

    Whoever changes such an entry after it is built must make a plain dict of
    it (the stored parts would no longer match); the store recomputes them when
    it normalizes the code.
    """

    __slots__ = ("stored",)


class EncodedBlock:
    """Consecutive one-line rows of a file, built by columns (importers.columnar), for the store to stage whole.

    Column lists of what each row's `EncodedEntry.stored` would hold: codes,
    content hashes, displays, statuses (None: every row active) and attributes
    JSON; the designations and parents of such rows are empty. Row k is line
    `first_row + k` of `file`. `entries()` gives the same rows one by one, for
    when the store must check them one at a time.
    """

    __slots__ = ("codes", "hashes", "displays", "statuses", "attributes", "first_row", "file", "sheet", "columns")

    def __init__(self, codes: list[str], hashes: list[str], displays: list[str], statuses: list[str] | None,
                 attributes: list[str], first_row: int, file: str | None, sheet: str | None, columns: dict | None):
        self.codes, self.hashes, self.displays, self.statuses = codes, hashes, displays, statuses
        self.attributes, self.first_row = attributes, first_row
        self.file, self.sheet, self.columns = file, sheet, columns

    def __len__(self) -> int:
        return len(self.codes)

    def rows(self) -> Iterable[tuple]:
        """The staged rows, in the store's column order (registry.store.staging.STAGED_COLUMNS)."""
        statuses = self.statuses or ["active"] * len(self.codes)
        return ((c, h, d, "[]", "[]", None, s, a)
                for c, h, d, s, a in zip(self.codes, self.hashes, self.displays, statuses, self.attributes))

    def position(self, k: int):
        """Where row k of the block is in its file (registry.errors.Position)."""
        from registry.errors import Position
        return Position(self.file, self.sheet, self.first_row + k, self.columns)

    def entries(self) -> Iterable[EncodedEntry]:
        """The rows as the row builder makes them (EncodedEntry with its position), one by one."""
        for k, stored in enumerate(self.rows()):
            code, _, display, _, _, _, status, attributes = stored
            entry = EncodedEntry(code=code, display=display, designations=[], parents=[], status=status,
                                 attributes=json.loads(attributes), _pos=self.position(k))
            entry.stored = stored
            yield entry


def normalize_entry(raw: dict) -> dict:
    """Turn a loosely built entry (missing keys, None, stray spaces) into the canonical dict.

    Raises EntryError naming the field for values that cannot be right (a list as
    display, an unknown status, a designation without text).
    """
    if not _ALLOWED_KEYS.issuperset(raw):
        unknown = sorted(set(raw) - _ALLOWED_KEYS)
        raise EntryError(f"unknown field(s) {', '.join(unknown)}", unknown[0])
    get = raw.get
    code, display, status = get("code"), get("display"), get("status")
    code = code.strip() if code.__class__ is str else _text(code, "code")
    display = display.strip() if display.__class__ is str else _text(display, "display")
    status = (status.strip() if status.__class__ is str else _text(status, "status")) or "active"
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
        text, use, language = d.get("text"), d.get("use"), d.get("language")
        text = text.strip() if text.__class__ is str else _text(text, "designations")
        if not text:
            raise EntryError("a designation has no text", "designations")
        use = (use.strip() if use.__class__ is str else _text(use, "designations")) or "synonym"
        language = (language.strip() if language.__class__ is str else _text(language, "designations")) or None
        designations.append({"language": language, "use": use, "text": text})
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
_DESIGNATION_KEYS = ("language", "use", "text")


def _encode_scalar(value) -> str | None:
    """A text, number, boolean or null as `_encode` writes it; None for anything else (left to `_encode`)."""
    kind = value.__class__
    if kind is str:
        return _encode_text(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return None


def _encode_designations(designations: list) -> str:
    """The designations as `_encode` writes them, joined by hand for the canonical {language, use, text} dicts."""
    parts = []
    for d in designations:
        if d.__class__ is not dict or tuple(d) != _DESIGNATION_KEYS:
            return _encode(designations)
        language, use, text = d["language"], d["use"], d["text"]
        if text.__class__ is not str or use.__class__ is not str or (language is not None
                                                                    and language.__class__ is not str):
            return _encode(designations)
        parts.append(f'{{"language":{"null" if language is None else _encode_text(language)},'
                     f'"use":{_encode_text(use)},"text":{_encode_text(text)}}}')
    return "[" + ",".join(parts) + "]"


def _encode_attributes(attributes: dict) -> str:
    """The attributes as `_encode` writes them, joined by hand when every key is text and every value a scalar."""
    parts = []
    for key, value in attributes.items():
        if key.__class__ is not str:
            return _encode(attributes)
        if value.__class__ is str:  # the common case, without a call
            parts.append(f"{_encode_text(key)}:{_encode_text(value)}")
            continue
        encoded = _encode_scalar(value)
        if encoded is None:
            return _encode(attributes)
        parts.append(f"{_encode_text(key)}:{encoded}")
    return "{" + ",".join(parts) + "}"


def stored_attributes(attributes: dict) -> str:
    """The attributes JSON of a canonical entry, as `stored_parts` writes it ("{}" when there are none)."""
    return _encode_attributes(attributes) if attributes else "{}"


def stored_parts(entry: dict) -> tuple[str, str, str, str]:
    """The canonical line plus the designations, parents and attributes JSON of an entry, each encoded once.

    The bulk staging path stores the three parts and hashes the line; building
    the line from the parts gives exactly `canonical_line(entry)` at a fraction
    of the cost (texts, numbers and the canonical designation dicts are joined
    by hand; anything else goes through the JSON encoder).
    """
    designations = _encode_designations(entry["designations"]) if entry["designations"] else "[]"
    parents = entry["parents"]
    # A list of texts is what the encoder would write, joined by hand (much cheaper).
    parents = "[" + ",".join(map(_encode_text, parents)) + "]" if parents else "[]"
    attributes = _encode_attributes(entry["attributes"]) if entry["attributes"] else "{}"
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
