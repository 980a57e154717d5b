"""The hierarchy and duplicate step after mapping: parents by code level, identifier, prefix, pattern, level column
or lists of children, and merged duplicates.

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


WAYS = ("id", "code_levels", "code_prefix", "parent_pattern", "level", "children")


def check_rules(h: dict) -> tuple[str, str | None] | None:
    """What is wrong with a profile's [hierarchy] table (message, key), or None. Keys and types are checked already."""
    if ("id" in h) != ("parent_id" in h):
        return "[hierarchy] needs both id and parent_id to link rows by identifier", None
    if "code_levels" in h and not (isinstance(h["code_levels"], list) and
                                   all(isinstance(n, int) and n > 0 for n in h["code_levels"])):
        return "[hierarchy].code_levels must be a list of code lengths, e.g. [1, 3, 4, 5, 7]", None
    if h.get("parent_resolve", "exact") not in ("exact", "prefix"):
        return "[hierarchy].parent_resolve must be exact or prefix", None
    ways = [k for k in WAYS if h.get(k)]
    if len(ways) > 1:
        return (f"[hierarchy] can use only one of id/parent_id, code_levels, code_prefix, parent_pattern, level, "
                f"children (has {', '.join(ways)})", ways[1])
    if "parent_pattern" in h:
        try:
            groups = re.compile(h["parent_pattern"]).groups
        except re.error as exc:
            return f"[hierarchy].parent_pattern {h['parent_pattern']!r} is not a valid regular expression: {exc}", None
        if groups < 1:
            return (f"[hierarchy].parent_pattern {h['parent_pattern']!r} needs a group ( ) around the parent's code, "
                    f"e.g. \"^(.+)\\\\.[^.]+$\""), None
    if "children_split" in h and "children" not in h:
        return "[hierarchy].children_split needs [hierarchy].children (the column listing each row's children)", None
    return None


def needs_buffer(profile: Profile) -> bool:
    """Whether the hierarchy or duplicate rules need all entries before the first can be staged."""
    h = profile.hierarchy
    return bool(h.get("id") or h.get("code_prefix") or h.get("parent_resolve") == "prefix" or h.get("children")
                or profile.duplicates == "merge" or profile.group_codes)


def pattern_parent(code: str, pattern: re.Pattern) -> str | None:
    """The parent a declared pattern gives: its first group that matched (`^(.+)\\.[^.]+$`: `A00.1` → `A00`)."""
    m = pattern.search(code)
    if not m:
        return None
    parent = next((g for g in m.groups() if g), None)
    return parent if parent and parent != code else None


class LevelStack:
    """Parents by a level column and row order: a row's parent is the nearest row above it of a lower level."""

    def __init__(self, findings: Findings):
        self.findings = findings
        self.open: list[tuple[int, str]] = []  # (level, code) of the rows that may still have children
        self.top: int | None = None  # the first row's level: the roots' (a later row above it has lost its parents)

    def place(self, e: dict) -> dict:
        """Give `e` (carrying `_level`) its parent and remember it as a possible parent."""
        raw = str(e.pop("_level", "") or "").strip()
        pos = e["_pos"]
        try:
            level = int(raw)
        except ValueError:
            self.findings.error(pos.problem(f"the level {raw!r} is not a whole number" if raw else "the level is empty",
                                            column=pos.column_for("hierarchy.level"), code=e["code"] or None,
                                            kind="wrong_type"))
            return e
        if self.top is None:
            self.top = level
        elif level < self.top:
            self.findings.error(pos.problem(
                f"level {level} is above the first row's level {self.top}: the rows before it have no parent "
                f"(are the rows in tree order, each under the row it belongs to?)",
                column=pos.column_for("hierarchy.level"), code=e["code"] or None, kind="wrong_order"))
        while self.open and self.open[-1][0] >= level:
            self.open.pop()
        if self.open and not e["parents"]:
            e["parents"] = [self.open[-1][1]]
        self.open.append((level, e["code"]))
        return e


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
    pattern = re.compile(profile.hierarchy["parent_pattern"]) if profile.hierarchy.get("parent_pattern") else None
    stack = LevelStack(findings) if profile.hierarchy.get("level") else None
    tally = RuleTally(profile)
    if not needs_buffer(profile):
        if stack is None and not levels and not pattern:
            yield from entries  # nothing to apply per entry
            findings.raise_if_errors()
            return
        for e in entries:
            if stack is not None:
                e = stack.place(e)
            elif (levels or pattern) and not e["parents"]:
                parent = level_parent(e["code"], levels) if levels else pattern_parent(e["code"], pattern)
                if parent:
                    if parent.strip() == parent:
                        e["parents"] = [parent]
                    else:  # no longer canonical: a plain dict, normalized by the store
                        e = {**e, "parents": [parent]}
            if tally.waiting:
                tally.see(e)
            yield e
        tally.check(findings)
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
    if profile.hierarchy.get("children"):
        _link_children(buffered, profile, findings)
    if profile.hierarchy.get("code_prefix") or profile.hierarchy.get("parent_resolve") == "prefix":
        _resolve_prefix_parents(buffered, profile)
    for e in buffered:
        if stack is not None:
            stack.place(e)
        elif (levels or pattern) and not e["parents"]:
            parent = level_parent(e["code"], levels) if levels else pattern_parent(e["code"], pattern)
            if parent:
                e["parents"] = [parent]
    for e in buffered:
        if not tally.waiting:
            break
        tally.see(e)
    tally.check(findings)
    findings.raise_if_errors()
    yield from buffered


# Rules that find parents from the rows themselves: one that gives no row of a file a parent is a wrong rule.
RULES_FROM_ROWS = ("code_levels", "code_prefix", "parent_pattern", "level", "children")


class RuleTally:
    """Whether the profile's parent rule gave any entry of the file a parent; refused with its line if not.

    A `parent_pattern` that matches none of the codes (written for `1.2.7` on a file of `A01.00`), `code_levels`
    longer than every code, a level column that is one value throughout: the catalog would come out flat
    without a word. Entries are looked at only until the first one with a parent.
    """

    def __init__(self, profile: Profile):
        self.profile = profile
        self.rule = next((k for k in RULES_FROM_ROWS if profile.hierarchy.get(k)), None)
        self.count = 0
        self.waiting = self.rule is not None  # no parent seen yet

    def see(self, entry: dict) -> None:
        """Count one entry (while no entry so far has a parent)."""
        self.count += 1
        if entry["parents"]:
            self.waiting = False

    def check(self, findings: Findings) -> None:
        """At the end of the file: an error naming the rule's profile line if a file of several got no parent."""
        if not self.waiting or self.count < 2 or findings.errors:
            return
        from importers.toml_lines import profile_place
        key = f"[hierarchy].{self.rule}"
        findings.error(Problem(
            f"{profile_place(self.profile.path, self.profile.name, key)}: {key} gave none of the {self.count} "
            f"entries a parent: does it fit this file's codes and columns? (a flat list needs no [hierarchy])",
            file=findings.file, kind="no_parents"))


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


def _link_children(entries: list[dict], profile: Profile, findings: Findings) -> None:
    """Parents from lists of children: each code a row lists (split by `children_split`, default ",") gets it as a
    parent. A listed code no row has is an error naming the row and the children column."""
    split = profile.hierarchy.get("children_split", ",")
    by_code = {e["code"]: e for e in entries if e["code"]}
    for e in entries:
        listed = [c.strip() for c in str(e.pop("_children", "") or "").split(split) if c.strip()]
        for child_code in listed:
            child = by_code.get(child_code)
            pos = e["_pos"]
            if child is None:
                findings.error(pos.problem(f"child {child_code} is not the code of any row",
                                           column=pos.column_for("hierarchy.children"), code=e["code"] or None,
                                           kind="unknown_child"))
            elif child is e:
                findings.error(pos.problem(f"{child_code} lists itself as its own child",
                                           column=pos.column_for("hierarchy.children"), code=e["code"] or None,
                                           kind="parent_cycle"))
            elif e["code"] not in child["parents"]:
                child["parents"] = child["parents"] + [e["code"]]


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
