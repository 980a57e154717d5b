"""Fields of a catalog entry that give names: on the source side what a map set matches, on the target side what
its index searches.

A field is `display`, `designations` (every designation but exclusions), `designations:LANG` (those of one
language) or `attributes.NAME` (an attribute's text, or each text of a list). A target catalog often keeps
names the matcher should also search outside its display and designations: the INN of a drug register's
product, an English name of a Russian list kept as an attribute. A map set declares them (`match.targets`),
and the index of the target version is then built from those fields (`index.py`: one index per declaration).
"""

from __future__ import annotations

import hashlib
import re

from registry.errors import BadRequest

FIELD_RE = re.compile(r"^(display|designations(:[A-Za-z-]{2,20})?|attributes\.[^\s.]{1,100})$")
# What a target's index searches unless the map set says otherwise: its display and designations.
DEFAULT_TARGETS = ("display", "designations")
FIELDS_HELP = "display, designations, designations:LANG or attributes.NAME"
MAX_TARGETS = 10


def is_field(text) -> bool:
    """Whether `text` names a field (`display`, `designations`, `designations:LANG`, `attributes.NAME`)."""
    return isinstance(text, str) and bool(FIELD_RE.match(text))


def designation_text(d) -> str | None:
    """The text of a designation as the store gives it (`{"language", "use", "text"}`)."""
    return d.get("text") if isinstance(d, dict) else None


def field_names(entry: dict, field: str) -> list[tuple[str, str]]:
    """(use, text) of the non-empty names one field gives for an entry, in the entry's order.

    `use` says where the name came from, for a match's reason: `display`, a designation's use (`synonym`,
    `inclusion`...) or the field `attributes.NAME`. Exclusions are not names of the entry.
    """
    if field == "display":
        found = [("display", entry.get("display"))]
    elif field.startswith("designations"):
        _, _, language = field.partition(":")
        found = [(d.get("use") or "synonym", designation_text(d)) for d in entry.get("designations") or []
                 if isinstance(d, dict) and d.get("use") != "exclusion"
                 and (not language or (d.get("language") or "").lower() == language.lower())]
    else:
        value = (entry.get("attributes") or {}).get(field.partition(".")[2])
        found = [(field, v) for v in (value if isinstance(value, list) else [value])]
    return [(use, text.strip()) for use, text in found if isinstance(text, str) and text.strip()]


def field_values(entry: dict, field: str) -> list[str]:
    """The non-empty texts one field gives for an entry (several for designations or a list attribute)."""
    return [text for _use, text in field_names(entry, field)]


def targets_key(fields) -> str:
    """A short stable name of a target-field declaration, '' for the default (display and designations)."""
    fields = tuple(fields or DEFAULT_TARGETS)
    if fields == DEFAULT_TARGETS:
        return ""
    return hashlib.sha256("\n".join(fields).encode()).hexdigest()[:10]


def check_targets(targets) -> list[str]:
    """The declared target fields (a map set's `match.targets`), each once, in order; BadRequest naming a
    wrong one."""
    if not isinstance(targets, (list, tuple)) or not targets or len(targets) > MAX_TARGETS:
        raise BadRequest(f"match.targets must be a list of 1 to {MAX_TARGETS} fields of the target entries")
    for i, field in enumerate(targets, 1):
        if not is_field(field):
            raise BadRequest(f"match.targets[{i}]: field {field!r} is not {FIELDS_HELP}")
    return list(dict.fromkeys(targets))
