"""The hierarchy and duplicate step after mapping: parents by code level, by identifier or by prefix, and merged duplicates.

Most profiles stream straight through; the rules here that need to see every
entry first (parents given as row identifiers, parents found by code prefix,
merging duplicate rows) buffer the mapped entries of one file. The ICD-10
range rule (`group_codes = "icd10-range"`) is one of them: chapters and blocks
get their code range as a code that stays the same between versions.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from registry.errors import Problem, row_label
from importers.findings import Findings
from importers.profile import Profile

RANGE_CODE = re.compile(r"^([A-Z]\d{2})(?:\s*[-–]\s*([A-Z]\d{2}))?$")
RANGE_IN_NAME = re.compile(r"\s*\(([A-Z]\d{2})(?:\s*[-–]\s*([A-Z]\d{2}))?\)\s*$")
ROMAN = re.compile(r"^[IVXLC]+$")


def needs_buffer(profile: Profile) -> bool:
    """Whether the hierarchy or duplicate rules need all entries before the first can be staged."""
    h = profile.hierarchy
    return bool(h.get("id") or h.get("code_prefix") or h.get("parent_resolve") == "prefix"
                or profile.duplicates == "merge" or profile.group_codes)


def level_parent(code: str, levels: list[int]) -> str | None:
    """The parent by code length (ATC: 1, 3, 4, 5, 7 characters): the code cut to the next shorter level."""
    shorter = [n for n in levels if n < len(code)]
    return code[:max(shorter)] if shorter else None


def finish(entries: Iterable[dict], profile: Profile, findings: Findings, language: str | None) -> Iterator[dict]:
    """Apply the profile's hierarchy and duplicate rules, streaming when they allow it.

    Raises ImportRejected at the end if mapping found errors (the store then
    rolls the whole draft back).
    """
    levels = sorted(profile.hierarchy.get("code_levels") or [])
    if not needs_buffer(profile):
        for e in entries:
            if levels and not e["parents"]:
                parent = level_parent(e["code"], levels)
                if parent:
                    if parent.strip() == parent:
                        e["parents"] = [parent]
                    else:  # no longer canonical: a plain dict, normalized by the store
                        e = {**e, "parents": [parent]}
            yield e
        findings.raise_if_errors()
        return
    buffered = list(entries)
    findings.raise_if_errors()
    if profile.group_codes == "icd10-range":
        icd10_group_codes(buffered, findings)
    if profile.hierarchy.get("id"):
        _link_by_id(buffered, profile, findings)
    if profile.duplicates == "merge":
        buffered = _merge_duplicates(buffered, findings, language)
    if profile.hierarchy.get("code_prefix") or profile.hierarchy.get("parent_resolve") == "prefix":
        _resolve_prefix_parents(buffered, profile)
    if levels:
        for e in buffered:
            if not e["parents"]:
                parent = level_parent(e["code"], levels)
                if parent:
                    e["parents"] = [parent]
    findings.raise_if_errors()
    yield from buffered


def _link_by_id(entries: list[dict], profile: Profile, findings: Findings) -> None:
    """Replace parent identifiers (FNSI ID_PARENT) by the parents' codes.

    An identifier used by two rows is an error naming both: the rows pointing
    to it could belong under either, and picking one would link them silently wrong.
    Under `duplicates = "merge"` a row repeated with the same identifier and code
    is the same record, merged later, not a conflict.
    """
    merge = profile.duplicates == "merge"
    first: dict[str, dict] = {}  # identifier -> the entry that has it
    for e in entries:
        rid = e["_id"]
        if not rid:
            continue
        if rid in first:
            if merge and first[rid]["code"] == e["code"]:
                continue
            pos = e["_pos"]
            column = pos.column_for("hierarchy.id", profile.hierarchy["id"])
            findings.error(pos.problem(f"duplicate {column} {rid} (first at {row_label(first[rid]['_pos'].row)})",
                                       column=column, code=e["code"] or None, kind="duplicate_id"))
            continue
        first[rid] = e
    by_id = {rid: e["code"] for rid, e in first.items()}
    for e in entries:
        pid = e.pop("_parent_id", "")
        e.pop("_id", None)
        if not pid:
            continue
        code = by_id.get(pid)
        if code is None:
            pos = e["_pos"]
            id_column = pos.column_for("hierarchy.id", profile.hierarchy["id"])
            findings.error(pos.problem(f"parent identifier {pid} is not the {id_column} of any row",
                                       column=pos.column_for("hierarchy.parent_id", profile.hierarchy["parent_id"]),
                                       code=e["code"], kind="unknown_parent"))
        elif code not in e["parents"]:
            e["parents"] = [code] + e["parents"]


def _merge_duplicates(entries: list[dict], findings: Findings, language: str | None) -> list[dict]:
    """Rows with the same code become one entry: other displays as synonyms, differing attributes joined."""
    merged: dict[str, dict] = {}
    count = 0
    start = len(findings.warnings)
    for e in entries:
        first = merged.get(e["code"])
        if first is None or not e["code"]:
            merged[e["code"] or f"\x00{id(e)}"] = e
            continue
        count += 1
        if count <= 20:
            findings.warn(e["_pos"].problem(f"duplicate code {e['code']} merged into the row at {first['_pos'].row}",
                                            code=e["code"], kind="merged_duplicate"))
        texts = {first["display"]} | {d["text"] for d in first["designations"]}
        if e["display"] and e["display"] not in texts:
            first["designations"].append({"language": language, "use": "synonym", "text": e["display"]})
        for d in e["designations"]:
            if d["text"] not in texts:
                first["designations"].append(d)
        for p in e["parents"]:
            if p not in first["parents"]:
                first["parents"].append(p)
        for key, value in e["attributes"].items():
            old = first["attributes"].get(key)
            if old in (None, ""):
                first["attributes"][key] = value
            elif value not in ("", None) and str(value) not in str(old).split(" | "):
                first["attributes"][key] = f"{old} | {value}"
    if count > 20:
        listed = len(findings.warnings)
        findings.warn(Problem(f"{count} rows in all were merged into earlier rows with the same code "
                              f"(the first 20 follow)", file=findings.file, kind="merged_duplicate"))
        if len(findings.warnings) > listed:  # the count goes before the rows it sums up, where a report shows it
            findings.warnings.insert(start, findings.warnings.pop())
    return list(merged.values())


def _longest_prefix(value: str, codes: set, own: str) -> str | None:
    candidate = value
    while candidate:
        if candidate in codes and candidate != own:
            return candidate
        candidate = candidate[:-1].rstrip(".-/ ")
    return None


def _resolve_prefix_parents(entries: list[dict], profile: Profile) -> None:
    """Parents by code prefix: the longest other code that starts the entry's code (or its parent value)."""
    codes = {e["code"] for e in entries}
    for e in entries:
        code = e["code"]
        if e["parents"] and profile.hierarchy.get("parent_resolve") == "prefix":
            e["parents"] = [p if (p in codes and p != code) else (_longest_prefix(p, codes, code) or p)
                            for p in e["parents"]]
        elif not e["parents"] and profile.hierarchy.get("code_prefix"):
            parent = _longest_prefix(code[:-1].rstrip(".-/ "), codes, code) if len(code) > 1 else None
            if parent:
                e["parents"] = [parent]


def _range_of(code: str) -> tuple[str, str] | None:
    m = RANGE_CODE.match(code)
    if not m:
        return None
    return m.group(1), m.group(2) or m.group(1)


def icd10_group_codes(entries: list[dict], findings: Findings) -> None:
    """Give ICD-10 chapters and blocks their code range as a stable code.

    FNSI's chapters and blocks have an empty, roman-numeral or range code that
    changes between versions. Each gets its range (`A00-A09`, `A00-B99`): from
    the code column, from a range at the end of the name (then dropped from the
    display), or, for a roman numeral, from the span of its descendants.

    Works on mapped entries that still carry `_id`/`_parent_id`, before parents are linked.
    """
    children: dict[str, list[dict]] = {}
    for e in entries:
        pid = e.get("_parent_id")
        if pid:
            children.setdefault(pid, []).append(e)
    unresolved = []
    for e in entries:
        code = e["code"]
        m = RANGE_IN_NAME.search(e["display"])
        if code and "-" in code and _range_of(code):
            lo, hi = _range_of(code)
            e["code"] = f"{lo}-{hi}"
            if m:
                e["display"] = e["display"][:m.start()].rstrip()
        elif not code or ROMAN.match(code):
            if m:
                e["code"] = f"{m.group(1)}-{m.group(2) or m.group(1)}"
                e["display"] = e["display"][:m.start()].rstrip()
            else:
                unresolved.append(e)
    spans: dict[int, tuple[str, str] | None] = {}

    def span(e, depth=0):
        key = id(e)
        if key in spans:
            return spans[key]
        spans[key] = None
        lows, highs = [], []
        for child in children.get(e.get("_id") or "", []):
            if child in unresolved:
                r = span(child, depth + 1) if depth < 50 else None
            else:
                r = _range_of(child["code"]) or (_range_of(child["code"][:3]) if child["code"] else None)
            if r:
                lows.append(r[0])
                highs.append(r[1])
        spans[key] = (min(lows), max(highs)) if lows else None
        return spans[key]

    taken = {e["code"] for e in entries}
    for e in unresolved:
        r = span(e)
        if r and f"{r[0]}-{r[1]}" not in taken:  # a chapter spanning a single block keeps its own code
            e["code"] = f"{r[0]}-{r[1]}"
            taken.add(e["code"])
        elif not e["code"]:
            findings.warn(e["_pos"].problem("a chapter or block without code, range or children keeps no code",
                                            column=e["_pos"].column_for("code"), kind="empty_code"))
