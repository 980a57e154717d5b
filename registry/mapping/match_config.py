"""What a map set matches on: which fields of a source entry give the names, with weights, and a score floor.

A drug register's product rows are named by their trade name, but what decides
their ATC code is the INN in an attribute; a map set therefore declares its
name fields in order of preference:

    {"names": [{"field": "attributes.inn", "weight": 1.0}, {"field": "display", "weight": 0.9}],
     "combine": "first", "form": "attributes.dosage_form", "floor": 30,
     "targets": ["display", "designations", "attributes.inn"]}

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
`targets` names the fields of the *target* entries that are searched (default display and designations):
the target version's match index is built from them (`registry/matching/fields.py`), so a name a target keeps
in an attribute (an INN, a name in another language) finds its entry.
"""

from __future__ import annotations

from registry.errors import BadRequest
from registry.matching.fields import DEFAULT_TARGETS, FIELDS_HELP, check_targets, field_values, is_field

DEFAULT = {"names": [{"field": "display", "weight": 1.0}], "combine": "best", "form": None, "floor": 0,
           "targets": list(DEFAULT_TARGETS)}
KEYS = ("names", "combine", "form", "floor", "targets")
COMBINE = ("best", "first")
MAX_NAMES = 10


def check_match_config(config: dict | None) -> dict:
    """The map set's match declaration, validated and completed with defaults (display only, no floor).

    Raises BadRequest naming the offending key, so a client learns what to fix.
    """
    if config is None:
        return {**DEFAULT, "names": [dict(n) for n in DEFAULT["names"]], "targets": list(DEFAULT_TARGETS)}
    if not isinstance(config, dict):
        raise BadRequest("match must be an object with names (and optionally combine, form, floor, targets)")
    unknown = sorted(set(config) - set(KEYS))
    if unknown:
        raise BadRequest(f"match: unknown key {unknown[0]!r}; known are {', '.join(KEYS)}")
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
        if not is_field(field):
            raise BadRequest(f"match.names[{i}]: field {field!r} is not {FIELDS_HELP}")
        weight = spec.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 1:
            raise BadRequest(f"match.names[{i}]: weight must be a number above 0 and at most 1")
        checked.append({"field": field, "weight": float(weight)})
    form = config.get("form")
    if form is not None and not is_field(form):
        raise BadRequest(f"match.form: {form!r} is not display or attributes.NAME")
    combine = config.get("combine", "best")
    if combine not in COMBINE:
        raise BadRequest(f"match.combine must be one of {', '.join(COMBINE)}, not {combine!r}")
    floor = config.get("floor", 0)
    if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 100:
        raise BadRequest("match.floor must be a score between 0 and 100")
    return {"names": checked, "combine": combine, "form": form, "floor": float(floor),
            "targets": check_targets(config.get("targets", list(DEFAULT_TARGETS)))}


def entry_names(entry: dict, config: dict) -> list[tuple[str, str, float]]:
    """(field, name, weight) for every name the entry gives, in the declared order, each name once."""
    seen, out = set(), []
    for spec in config["names"]:
        for value in field_values(entry, spec["field"]):
            if value.casefold() not in seen:
                seen.add(value.casefold())
                out.append((spec["field"], value, spec["weight"]))
    return out
