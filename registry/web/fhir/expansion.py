"""Evaluating a ValueSet's compose: includes and excludes of whole systems, listed concepts, filters, value sets.

A whole-system include without filters (the implicit value set of a catalog) is
streamed page by page from the store, so `$expand` with `count` on a 100k-code
system reads only the page it returns; anything else is evaluated in memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import regex

from registry.web.fhir.concepts import CodeSystemSource, Concept
from registry.web.fhir.outcome import FhirError, bad_request, not_found

HIERARCHY_OPS = ("is-a", "descendent-of", "is-not-a", "child-of", "generalizes")
MAX_DEPTH = 10
# How long one regex filter may spend matching, all concepts together. The `regex` engine has a timeout, which
# Python's `re` has not: a pattern such as `(a+)+` (the HL7 `regex-bad` suite) must not hold a worker for ever.
REGEX_SECONDS = 2.0


@dataclass
class Expansion:
    """The members of a value set (for one page, or all), their total and what was used to compute them."""

    members: Iterable[tuple[CodeSystemSource, Concept]]
    total: int
    used_code_systems: list[str] = field(default_factory=list)
    used_value_sets: list[str] = field(default_factory=list)


def _add(seq: list[str], item: str) -> None:
    if item not in seq:
        seq.append(item)


def whole_system_include(vs: dict) -> dict | None:
    """The one include of `vs` when it is a whole code system with nothing else, else None."""
    compose = vs.get("compose") or {}
    includes = compose.get("include") or []
    if len(includes) != 1 or compose.get("exclude") or compose.get("inactive") is False:
        return None
    include = includes[0]
    if not include.get("system") or include.get("concept") or include.get("filter") or include.get("valueSet"):
        return None
    return include


def expand(vs: dict, term, *, offset: int = 0, count: int | None = None, active_only: bool = False,
           text: str | None = None) -> Expansion:
    """The members of `vs` from `offset`, at most `count` of them, with the total.

    `active_only` drops inactive concepts; `text` keeps concepts whose code or
    display contains it (case-insensitive).
    """
    include = whole_system_include(vs)
    if include is not None and not active_only and not text:
        cs = term.include_code_system(include["system"], include.get("version"))
        page = ((cs, c) for c in cs.page(offset, count)) if count != 0 else iter(())
        return Expansion(page, cs.count(), [cs.versioned_url])
    expansion = evaluate(vs, term, active_only=active_only)
    members = list(expansion.members)
    if text:
        needle = text.casefold()
        members = [(cs, c) for cs, c in members if needle in c.code.casefold()
                   or needle in (c.display or "").casefold()]
    stop = None if count is None else offset + count
    expansion.total = len(members)
    expansion.members = members[offset:stop]
    return expansion


def evaluate(vs: dict, term, *, active_only: bool = False, depth: int = 0) -> Expansion:
    """Every member of `vs` (in memory), deduplicated, in include order."""
    if depth > MAX_DEPTH:
        raise FhirError(400, "processing", f"value set {vs.get('url')!r} includes itself (circular reference)",
                        "vs-invalid")
    compose = vs.get("compose") or {}
    used_cs: list[str] = []
    used_vs: list[str] = []
    members: list[tuple[CodeSystemSource, Concept]] = []
    seen: set[tuple[str, str]] = set()
    for index, include in enumerate(compose.get("include") or []):
        for cs, concept in include_members(include, vs, term, used_cs, used_vs, depth, index):
            key = (cs.url, concept.code)
            if key not in seen:
                seen.add(key)
                members.append((cs, concept))
    excluded: set[tuple[str, str]] = set()
    for exclude in compose.get("exclude") or []:
        excluded.update((cs.url, c.code) for cs, c in include_members(exclude, vs, term, [], [], depth))
    drop_inactive = active_only or compose.get("inactive") is False
    members = [(cs, c) for cs, c in members if (cs.url, c.code) not in excluded
               and not (drop_inactive and c.inactive)]
    return Expansion(members, len(members), used_cs, used_vs)


def include_members(include: dict, vs: dict, term, used_cs: list[str], used_vs: list[str],
                    depth: int, index: int = 0) -> list[tuple[CodeSystemSource, Concept]]:
    """The members one include (or exclude) element selects."""
    selected: list[tuple[CodeSystemSource, Concept]] | None = None
    if include.get("system"):
        cs = term.include_code_system(include["system"], include.get("version"))
        _add(used_cs, cs.versioned_url)
        if include.get("concept"):
            candidates: Iterable[Concept] = (cs.get(c.get("code", "")) for c in include["concept"])
            candidates = [c for c in candidates if c is not None]
        else:
            candidates = cs.iter_concepts()
        for number, flt in enumerate(include.get("filter") or []):
            if flt.get("property") and flt.get("op") and flt.get("value") is None:
                raise FhirError(400, "invalid", f"The system {cs.url} filter with property = {flt['property']}, "
                                f"op = {flt['op']} has no value", "vs-invalid",
                                f"ValueSet.compose.include[{index}].filter[{number}]")
            candidates = filter(filter_predicate(cs, flt), candidates)
        selected = [(cs, c) for c in candidates]
    for ref in include.get("valueSet") or []:
        inner = referenced_value_set(ref, vs, term)
        if not ref.startswith("#"):
            _add(used_vs, f"{inner.get('url')}|{inner['version']}" if inner.get("version") else inner.get("url"))
        result = evaluate(inner, term, depth=depth + 1)
        for url in result.used_code_systems:
            _add(used_cs, url)
        for url in result.used_value_sets:
            _add(used_vs, url)
        inner_members = list(result.members)
        if selected is None:
            selected = inner_members
        else:
            keys = {(cs.url, c.code) for cs, c in inner_members}
            selected = [(cs, c) for cs, c in selected if (cs.url, c.code) in keys]
    return selected or []


def referenced_value_set(ref: str, vs: dict, term) -> dict:
    """A value set named in compose.include.valueSet: `#id` is a contained one, anything else a canonical."""
    if ref.startswith("#"):
        found = next((c for c in vs.get("contained", []) if c.get("resourceType") == "ValueSet"
                      and c.get("id") == ref[1:]), None)
        if found is None:
            raise not_found(f"the contained value set {ref!r} is not in value set {vs.get('url')!r}")
        return found
    if "|" not in ref and ref in term.rules.value_set_default:
        term.rules.note("value_set_default", ref)
        ref = f"{ref}|{term.rules.value_set_default[ref]}"
    found = term.value_set(ref)
    term.cite("ValueSet", canonical_of(found), found)
    return found


def canonical_of(vs: dict) -> str:
    """`url|version` of a value set (its url alone when it has no version)."""
    return f"{vs.get('url')}|{vs['version']}" if vs.get("version") else (vs.get("url") or "")


def filter_predicate(cs: CodeSystemSource, flt: dict) -> Callable[[Concept], bool]:
    """A test for one compose filter {property, op, value} on concepts of `cs`; unsupported ones are 400."""
    prop, op, value = flt.get("property"), flt.get("op"), flt.get("value")
    if not prop or not op or value is None:
        raise bad_request(f"a value set filter needs property, op and value: {flt}")
    if op in HIERARCHY_OPS:
        if prop not in ("concept", "code", "parent", "child"):
            raise bad_request(f"filter op {op!r} applies to the property 'concept', not {prop!r}")
        if op == "child-of":
            children = {c.code for c in cs.children(value)}
            return lambda c: c.code in children
        if op == "generalizes":
            ancestors = _ancestors(cs, value)
            return lambda c: c.code in ancestors
        below = {c.code for c in cs.descendants(value)}
        if op == "descendent-of":
            return lambda c: c.code in below
        if op == "is-not-a":
            return lambda c: c.code != value and c.code not in below
        return lambda c: c.code == value or c.code in below
    if op == "regex":
        return _regex_predicate(value, prop)
    if op in ("=", "in", "not-in"):
        wanted = {value} if op == "=" else {v.strip() for v in value.split(",")}
        if op == "not-in":
            return lambda c: not wanted.intersection(_values(c, prop))
        return lambda c: bool(wanted.intersection(_values(c, prop)))
    if op == "exists":
        return lambda c: bool(_values(c, prop)) == (str(value).lower() == "true")
    raise bad_request(f"filter op {op!r} is not supported (is-a, descendent-of, is-not-a, child-of, "
                      f"generalizes, =, in, not-in, regex, exists)")


def _regex_predicate(value: str, prop: str) -> Callable[[Concept], bool]:
    """A whole-value regex test on `prop`, bounded in time: past REGEX_SECONDS for the filter, 422 `too-costly`."""
    try:
        pattern = regex.compile(value)
    except regex.error as exc:
        raise bad_request(f"filter regex {value!r} is not a valid regular expression: {exc}") from None
    deadline = time.monotonic() + REGEX_SECONDS

    def test(concept: Concept) -> bool:
        for text in _values(concept, prop):
            try:
                if pattern.fullmatch(text, timeout=max(deadline - time.monotonic(), 0.001)):
                    return True
            except TimeoutError:
                raise FhirError(422, "too-costly", f"The regex filter '{value}' took too long to evaluate "
                                f"against code '{concept.code}'") from None
        return False
    return test


def _values(concept: Concept, prop: str) -> list[str]:
    """The values of `prop` of a concept as text (code and display are properties too)."""
    if prop == "code":
        return [concept.code]
    if prop == "display":
        return [concept.display] if concept.display else []
    if prop == "inactive":
        return [str(concept.inactive).lower()]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in concept.property_values(prop)]


def _ancestors(cs: CodeSystemSource, code: str) -> set[str]:
    out, queue = {code}, [code]
    while queue:
        concept = cs.get(queue.pop())
        for parent in (concept.parents if concept else []):
            if parent not in out:
                out.add(parent)
                queue.append(parent)
    return out
