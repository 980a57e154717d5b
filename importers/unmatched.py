"""Paths a JSON or XML profile reads that no record of the file has: a misspelling, told with the profile's line.

A CSV or xlsx header shows a misspelt column before any row is read. JSON and
XML have no header, so a path that matches nothing (`knd` for `kind`,
`parent.cod`, `field[@name='grp']`, a namespace URI with a typo in an
absolute path) would give every entry an empty attribute or no parent, and
the import would pass. While the records stream past, `watch` notes which of
the table's paths matched in some record; at the end of the file each path
that matched in none is an error naming the profile's line and the key, unless
every spec reading it says the file may lack it (`optional = true`, a
`default` or a `fallback`). Nothing is stored: the draft is rolled back with
the other errors.
"""

from __future__ import annotations

import re
from typing import Iterator

from registry.errors import Problem
from importers.findings import Findings
from importers.profile import Profile
from importers.toml_lines import profile_place


def _may_be_missing(spec) -> bool:
    return isinstance(spec, dict) and bool(spec.get("optional") or spec.get("default")
                                           or spec.get("fallback") is not None)


def _is_code(key: str) -> bool:
    """Whether a profile key is a code's (`[fields].code.path`): a code cannot be optional, so no such advice."""
    return re.search(r"(^|\.)code(\.|$)", key.split("]", 1)[-1]) is not None


def optional_paths(profile: Profile) -> set[str]:
    """The paths some spec reads with `optional = true`, a default or a fallback: files may lack them entirely."""
    found: set[str] = set()

    def walk(spec):
        if not isinstance(spec, dict):
            return
        if _may_be_missing(spec):
            for key in ("column", "path"):
                if spec.get(key):
                    found.add(spec[key])
            found.update(spec.get("columns") or [])
        if spec.get("fallback") is not None:
            walk(spec["fallback"])

    def walk_fields(fields):
        for name in ("code", "display", "status", "parents"):
            walk(fields.get(name))
        for spec in fields.get("designations") or []:
            walk(spec)
        for spec in (fields.get("attributes") or {}).values():
            walk(spec)

    walk_fields(profile.fields)
    for variant in profile.variants:
        walk_fields(variant["fields"])
    return found


def watch(rows: Iterator[tuple], paths: list[str], profile: Profile, findings: Findings) -> Iterator[tuple]:
    """Pass `(row, cells, enclosing)` records through; at the end, an error for each path no record matched.

    A cell is None where its path matched nothing (see importers.table.Table.paths), so the check costs one
    test per still-unmatched path and record, and nothing once every path has matched.
    """
    exempt = optional_paths(profile)
    waiting = [i for i, p in enumerate(paths) if p not in exempt]
    count = 0
    for record in rows:
        count += 1
        if waiting:
            cells = record[1]
            waiting = [i for i in waiting if i < len(cells) and cells[i] is None]
        yield record
    told = {p.column for p in findings.errors if p.kind == "nested_value"}  # a path that held an object: named
    waiting = [i for i in waiting if paths[i] not in told]
    if not count or not waiting:
        return
    keys: dict[str, str] = {}
    for key, name in profile.references():
        if profile.within:  # a side file's: [fields] is [[with]] #N.fields of the main profile
            key = key.replace("[fields]", f"{profile.within}.fields").replace("[read]", f"{profile.within}.read")
        keys.setdefault(name, key)
    problems = []
    for i in waiting:
        path, key = paths[i], keys.get(paths[i], "[fields]")
        records = "the one record" if count == 1 else f"any of the {count} records"
        problems.append(Problem(
            f"{profile_place(profile.path, profile.name, key)}: {key} reads the path {path!r}, which matches "
            f"nothing in {records}: a misspelling?{'' if _is_code(key) else ' (if files may lack it, say optional = true)'}",
            file=findings.file, column=path, kind="unmatched_path"))
    # First: the cause of the rows' own errors about the same path ("the code path matches nothing in this record")
    findings.errors[:0] = problems
    findings.error_count += len(problems)
