"""Code system versions: wildcard patterns, the newest of several, and a request's version rules.

A version in a ValueSet include or a rule may be a pattern whose segments are
`x` or `*` (`1.x.x`, `1.0.x`): it names the newest version that matches. The
request parameters `system-version` (a default for a versionless include),
`check-system-version` (the version used must match, else an error) and
`force-system-version` (every include of the system uses it) each take
`url|version`, as FHIR R4's $expand and $validate-code define them;
`default-valueset-version` does for a value set what `system-version` does for
a code system.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from registry.web.fhir.outcome import FhirError, issue

WILDCARDS = ("x", "X", "*")
RULE_PARAMETERS = {"system-version": "default", "check-system-version": "check", "force-system-version": "force",
                   "default-valueset-version": "value_set_default"}


def is_pattern(version: str | None) -> bool:
    """Whether `version` has a wildcard segment."""
    return bool(version) and any(seg in WILDCARDS for seg in version.split("."))


def matches(pattern: str, version: str | None) -> bool:
    """Whether `version` is `pattern` (segment by segment, `x`/`*` matching any one segment)."""
    if version is None:
        return False
    if not is_pattern(pattern):
        return pattern == version
    wanted, got = pattern.split("."), version.split(".")
    return len(wanted) == len(got) and all(w in WILDCARDS or w == g for w, g in zip(wanted, got))


def version_key(version: str | None) -> tuple:
    """A sort key that orders `1.10.0` after `1.9.0` (numbers as numbers, text after numbers)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"[.\-+]", version or ""))


def newest(versions: list[str | None]) -> str | None:
    """The highest of `versions`."""
    return max(versions, key=version_key) if versions else None


def listed(versions: list[str]) -> str:
    """`a, b or c`, as the HL7 reference server lists valid versions."""
    ordered = sorted(versions, key=version_key)
    return ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} or {ordered[-1]}"


class UnknownVersion(FhirError):
    """404: a known code system without the asked version (or none matching a pattern)."""

    def __init__(self, url: str, version: str, known: list[str]):
        self.url, self.version, self.known = url, version, known
        super().__init__(404, "not-found", self.text(), "not-found")

    def text(self, consequence: str = "") -> str:
        """The reference server's wording, with what cannot be done (`so the code cannot be validated`)."""
        valid = f"Valid versions: {listed(self.known)}" if self.known else "No versions of this code system are known"
        return (f"A definition for CodeSystem '{self.url}' version '{self.version}' could not be found"
                f"{', ' + consequence if consequence else ''}. {valid}")


@dataclass
class VersionRules:
    """The version rules of one request, each by code system URL."""

    default: dict[str, str] = field(default_factory=dict)
    check: dict[str, str] = field(default_factory=dict)
    force: dict[str, str] = field(default_factory=dict)
    value_set_default: dict[str, str] = field(default_factory=dict)  # for a value set named without version
    applied: list[tuple[str, str]] = field(default_factory=list)  # (parameter, url|version) that changed a result

    @classmethod
    def from_params(cls, params) -> "VersionRules":
        """The rules given as `system-version`, `check-system-version` and `force-system-version` parameters."""
        rules = cls()
        for name, kind in RULE_PARAMETERS.items():
            for canonical in params.all(name):
                url, sep, version = str(canonical).partition("|")
                if sep and url and version:
                    getattr(rules, kind)[url] = version
        return rules

    def include_version(self, url: str, declared: str | None) -> tuple[str | None, str]:
        """(the version an include of `url` uses, where it comes from: force, declared, check, default or latest)."""
        if url in self.force:
            return self.force[url], "force"
        if declared:
            return declared, "declared"
        if url in self.check:
            return self.check[url], "check"
        if url in self.default:
            return self.default[url], "default"
        return None, "latest"

    def note(self, kind: str, url: str) -> None:
        """Remember that rule `kind` of `url` decided a version (the expansion echoes it)."""
        name = next(n for n, k in RULE_PARAMETERS.items() if k == kind)
        entry = (name, f"{url}|{getattr(self, kind)[url]}")
        if entry not in self.applied:
            self.applied.append(entry)


@dataclass
class VersionVerdict:
    """How a coded value's version stands against the value set include of its system.

    `lookup` is the code system version to validate the code in (None: the value's own version decides);
    `issues` say what is wrong; with `blocks_membership` the code is not tested for membership (the answer
    is already false); `caused_by` is the unknown `url|version` that made validation impossible.
    """

    issues: list[dict] = field(default_factory=list)
    lookup: object = None
    blocks_membership: bool = False
    caused_by: str | None = None
    include_unknown: bool = False


def version_verdict(term, vs: dict, value) -> VersionVerdict | None:
    """The version rules of one coded value against the first include of `vs` naming its system, or None when no
    include names it (or the system is unknown).

    The include's version is the forced one, else the declared one (a pattern the value's version satisfies
    gives that version), else the checked or default one, else the newest. A value with another version is an
    error (`vs-invalid`), a warning for a versionless include; an unknown version on either side is `not-found`;
    a version outside `check-system-version` is a `version-error`.
    """
    system, version = value.system, value.version
    includes = [i for i in (vs.get("compose") or {}).get("include", []) if i.get("system") == system]
    if not includes:
        return None
    include = _include_for(term, includes, value) if len(includes) > 1 else includes[0]
    declared = include.get("version")
    spec, source = term.rules.include_version(system, declared)
    verdict = VersionVerdict()
    unknown_include = None
    try:
        wanted = version if version and is_pattern(spec) and matches(spec, version) else spec
        included = term.find_code_system(system, wanted)
    except UnknownVersion as exc:
        included, unknown_include = None, exc
    if included is None and unknown_include is None:
        return None
    own = None
    if version:
        try:
            own = term.find_code_system(system, version)
        except UnknownVersion as exc:
            verdict.issues.append(issue("error", "not-found", exc.text("so the code cannot be validated"),
                                        "not-found", value.where("system")))
            verdict.caused_by = f"{system}|{version}"
    if unknown_include is not None:
        verdict.issues.append(issue("error", "not-found", unknown_include.text("so the code cannot be validated"),
                                    "not-found", value.where("system")))
        verdict.caused_by, verdict.include_unknown = f"{system}|{unknown_include.version}", True
        fallback = term.rules.check.get(system) or term.rules.default.get(system)
        verdict.lookup = own or term.find_code_system(system, fallback)
    elif version and (verdict.caused_by or (source != "latest" and not matches(spec, version))):
        verdict.lookup = included
    else:
        verdict.lookup = own if version else included
    if version and (unknown_include is not None or verdict.caused_by or
                    (source != "latest" and not matches(spec, version))):
        verdict.issues.append(_different(system, version, declared, spec, source, included, value))
    checked = term.rules.check.get(system)
    if checked and verdict.lookup is not None and not matches(checked, verdict.lookup.version):
        verdict.issues.append(issue("error", "exception", f"The version '{verdict.lookup.version}' is not allowed "
                                    f"for system '{system}': required to be '{checked}' by a version-check "
                                    f"parameter", "version-error", value.where("version")))
    verdict.blocks_membership = any(i["severity"] == "error" for i in verdict.issues)
    return verdict


def _include_for(term, includes: list[dict], value) -> dict:
    """Of several includes of one system (one per version), the one a coded value is judged by: the one whose
    version it names, else the newest whose version has its code, else the first."""
    scored = []
    for include in includes:
        spec, _ = term.rules.include_version(value.system, include.get("version"))
        if value.version:
            if spec and matches(spec, value.version):
                return include
            continue
        try:
            cs = term.find_code_system(value.system, spec)
        except FhirError:
            continue
        listed = include.get("concept")
        if cs is not None and cs.get(value.code) is not None and (
                not listed or any(c.get("code") == value.code for c in listed)):
            scored.append((version_key(cs.version), include))
    return max(scored, key=lambda pair: pair[0])[1] if scored else includes[0]


def _different(system, version, declared, spec, source, included, value) -> dict:
    if source == "latest":
        shown, severity = f"'{included.version}' for the versionless include", "warning"
    elif source == "declared":
        shown, severity = f"'{declared}'", "error"
    else:
        shown, severity = f"'{spec}' resulting from the version '{declared or ''}'", "error"
    different = issue(severity, "invalid", f"The code system '{system}' version {shown} in the ValueSet include "
                      f"is different to the one in the value ('{version}')", "vs-invalid", value.where("version"))
    if severity == "warning":
        different["not_in_message"] = True  # the reference server leaves this warning out of `message`
    return different
