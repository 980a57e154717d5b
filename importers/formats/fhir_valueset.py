"""FHIR R4 ValueSet resources (JSON): registered whole as a stored, versioned value set.

A ValueSet is not a catalog: its `compose` (systems, listed concepts, filters)
is kept as published and evaluated against the catalogs when `$expand` or
`$validate-code` asks for it. It is stored as version `version` of `url`; the
same resource twice is unchanged, another resource under a stored url and
version is refused. `--version` may give the version a resource lacks.
"""

from __future__ import annotations

from registry.errors import BadRequest, Report
from importers.fhir import declares, load_resource, objects, refuse, text
from importers.source import Source

READS = "a FHIR ValueSet (JSON)"
# The filter operators $expand and $validate-code evaluate (registry/web/fhir/expansion.py).
FILTER_OPS = ("=", "is-a", "descendent-of", "is-not-a", "regex", "in", "not-in", "generalizes", "exists",
              "child-of")
STATUSES = ("draft", "active", "retired", "unknown")


def check(source: Source, vs: dict) -> None:
    """Refuse a ValueSet whose url, version, status or compose is malformed, naming the field's JSON path."""
    text(source, vs, "url", "ValueSet", required=True)
    text(source, vs, "version", "ValueSet")
    text(source, vs, "name", "ValueSet")
    text(source, vs, "title", "ValueSet")
    status = text(source, vs, "status", "ValueSet")
    if status is not None and status not in STATUSES:
        raise refuse(source, "ValueSet.status", f"status {status!r} is not one of {', '.join(STATUSES)}")
    compose = vs.get("compose")
    if compose is None:
        raise refuse(source, "ValueSet.compose", "compose is required: a stored value set says which codes it holds",
                     "missing")
    if not isinstance(compose, dict):
        raise refuse(source, "ValueSet.compose", "compose must be a JSON object", "wrong_type")
    for part in ("include", "exclude"):
        for i, rule in enumerate(objects(source, compose, part, "ValueSet.compose")):
            path = f"ValueSet.compose.{part}[{i}]"
            system = text(source, rule, "system", path)
            sets = rule.get("valueSet") or []
            if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
                raise refuse(source, f"{path}.valueSet", "valueSet must be a list of canonical URLs", "wrong_type")
            if not system and not sets:
                raise refuse(source, path, "an include or exclude needs a system or a valueSet", "missing")
            text(source, rule, "version", path)
            for j, concept in enumerate(objects(source, rule, "concept", path)):
                text(source, concept, "code", f"{path}.concept[{j}]", required=True)
            for j, flt in enumerate(objects(source, rule, "filter", path)):
                where = f"{path}.filter[{j}]"
                text(source, flt, "property", where, required=True)
                op = text(source, flt, "op", where, required=True)
                if op not in FILTER_OPS:
                    raise refuse(source, f"{where}.op", f"filter operator {op!r} is not one of {', '.join(FILTER_OPS)}")
                text(source, flt, "value", where, required=op != "exists")
    if not compose.get("include"):
        raise refuse(source, "ValueSet.compose.include", "a value set needs at least one include", "missing")


def register(store, source: Source, *, catalog: str | None, version: str | None, publish: bool, dry_run: bool,
             created_by: str | None) -> Report:
    """Check and store the ValueSet; the report names it by url and version."""
    vs = load_resource(source, "ValueSet")
    check(source, vs)
    if version and vs.get("version") and version != vs["version"]:
        raise BadRequest(f"{source.name}: --version {version} differs from the resource's version {vs['version']}")
    if version and not vs.get("version"):
        vs = {**vs, "version": version}
    row, outcome = store.keep_value_set(vs, dry_run=dry_run)
    shown = f"{row.url}|{row.version}" if row.version else row.url
    includes = len(vs["compose"].get("include", [])) + len(vs["compose"].get("exclude", []))
    message = {"stored": f"Stored ValueSet {shown} ({includes} compose rules)",
               "unchanged": f"ValueSet {shown} is stored already, unchanged",
               "dry-run": f"Checked ValueSet {shown} (dry run, nothing stored)"}[outcome]
    return Report(catalog=row.url, version=row.version, source=source.name, source_sha256=source.sha256(),
                  status="published" if outcome == "stored" else outcome, message=message)


def sniff(source: Source) -> bool:
    """A JSON file whose resourceType is ValueSet."""
    return declares(source, "ValueSet")
