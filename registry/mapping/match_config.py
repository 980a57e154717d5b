"""What a map set matches on: which fields of a source entry give the names, with weights, and a score floor.

A drug register's product rows are named by their trade name, but what decides
their ATC code is the INN in an attribute; a map set therefore declares its
name fields in order of preference:

    {"names": [{"field": "attributes.inn", "weight": 1.0}, {"field": "display", "weight": 0.9}],
     "combine": "first", "form": "attributes.dosage_form", "floor": 30}

Fields are `display`, `designations` (every designation), `designations:LANG`
(those of one language) and `attributes.NAME`. Each name is matched on its own;
a candidate's score is the matcher's score times the field's weight, and a
target found through several names keeps its best. `combine` says which names
are asked: "best" (the default) every declared name of an entry, "first" the
names in order of preference, a later field only for entries the earlier ones
left without a candidate (a product's trade name is asked only when its INN
finds nothing; each name is asked once for all entries that share it). `form` names a dosage form
field whose words prefer target codes of the fitting ATC group or route (see
`forms.py`). Candidates under `floor` (0-100) are dropped: an entry whose
candidates all fall below it is reported as "below the floor", not given noise.
"""

from __future__ import annotations

import re

from registry.errors import BadRequest

FIELD_RE = re.compile(r"^(display|designations(:[A-Za-z-]{2,20})?|attributes\.[^\s.]{1,100})$")
DEFAULT = {"names": [{"field": "display", "weight": 1.0}], "combine": "best", "form": None, "floor": 0}
COMBINE = ("best", "first")
MAX_NAMES = 10


def check_match_config(config: dict | None) -> dict:
    """The map set's match declaration, validated and completed with defaults (display only, no floor).

    Raises BadRequest naming the offending key, so a client learns what to fix.
    """
    if config is None:
        return {**DEFAULT, "names": [dict(n) for n in DEFAULT["names"]]}
    if not isinstance(config, dict):
        raise BadRequest("match must be an object with names (and optionally form, floor)")
    unknown = sorted(set(config) - {"names", "combine", "form", "floor"})
    if unknown:
        raise BadRequest(f"match: unknown key {unknown[0]!r}; known are names, combine, form, floor")
    names = config.get("names", DEFAULT["names"])
    if not isinstance(names, list) or not names or len(names) > MAX_NAMES:
        raise BadRequest(f"match.names must be a list of 1 to {MAX_NAMES} fields")
    checked = []
    for i, spec in enumerate(names, 1):
        if isinstance(spec, str):
            spec = {"field": spec}
        if not isinstance(spec, dict) or set(spec) - {"field", "weight"}:
            raise BadRequest(f"match.names[{i}] must be a field name or {{\"field\", \"weight\"}}")
        field = spec.get("field")
        if not isinstance(field, str) or not FIELD_RE.match(field):
            raise BadRequest(f"match.names[{i}]: field {field!r} is not display, designations, designations:LANG "
                             "or attributes.NAME")
        weight = spec.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 1:
            raise BadRequest(f"match.names[{i}]: weight must be a number above 0 and at most 1")
        checked.append({"field": field, "weight": float(weight)})
    form = config.get("form")
    if form is not None and (not isinstance(form, str) or not FIELD_RE.match(form)):
        raise BadRequest(f"match.form: {form!r} is not display or attributes.NAME")
    combine = config.get("combine", "best")
    if combine not in COMBINE:
        raise BadRequest(f"match.combine must be one of {', '.join(COMBINE)}, not {combine!r}")
    floor = config.get("floor", 0)
    if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 100:
        raise BadRequest("match.floor must be a score between 0 and 100")
    return {"names": checked, "combine": combine, "form": form, "floor": float(floor)}


def field_values(entry: dict, field: str) -> list[str]:
    """The non-empty texts one declared field gives for a source entry (several for designations)."""
    if field == "display":
        values = [entry.get("display")]
    elif field.startswith("designations"):
        _, _, language = field.partition(":")
        values = [d.get("value") for d in entry.get("designations") or []
                  if isinstance(d, dict) and (not language or (d.get("language") or "").lower() == language.lower())]
    else:
        value = (entry.get("attributes") or {}).get(field.partition(".")[2])
        values = value if isinstance(value, list) else [value]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def entry_names(entry: dict, config: dict) -> list[tuple[str, str, float]]:
    """(field, name, weight) for every name the entry gives, in the declared order, each name once."""
    seen, out = set(), []
    for spec in config["names"]:
        for value in field_values(entry, spec["field"]):
            if value.casefold() not in seen:
                seen.add(value.casefold())
                out.append((spec["field"], value, spec["weight"]))
    return out
