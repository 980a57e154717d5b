"""Code system versions: wildcard patterns, the newest of several, and a request's version rules.

A version in a ValueSet include or a rule may be a pattern whose segments are
`x` or `*` (`1.x.x`, `1.0.x`): it names the newest version that matches. The
request parameters `system-version` (a default for a versionless include),
`check-system-version` (the version used must match, else an error) and
`force-system-version` (every include of the system uses it) each take
`url|version`, as FHIR R4's $expand and $validate-code define them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WILDCARDS = ("x", "X", "*")
RULE_PARAMETERS = {"system-version": "default", "check-system-version": "check", "force-system-version": "force"}


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


@dataclass
class VersionRules:
    """The version rules of one request, each by code system URL."""

    default: dict[str, str] = field(default_factory=dict)
    check: dict[str, str] = field(default_factory=dict)
    force: dict[str, str] = field(default_factory=dict)
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
