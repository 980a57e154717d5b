"""Several files in one import: a main file plus side files joined to it by code, as one version.

A profile declares each side file in a `[[with]]` table: a name (what
`nsi import MAIN --with NAME=PATH` calls it), what it brings (`role`), and how
to read it (its own `format`, `[with.read]` and `[with.fields]`, as a profile
has). Three roles:

- `translations`: each row's display (and designations) become designations in
  `language` (use `translation` unless `use` says otherwise) of the main entry
  with the same code;
- `attributes`: each row's attributes are added to the main entry with the
  same code (an attribute the main file also fills, with another value, is an
  error);
- `groups`: each row is an entry of its own (chapters, blocks); an entry with
  no parent goes under the narrowest group whose range code (`A00-A09`)
  contains its code, and so does a group inside a wider group.

A code in a translations or attributes file that the main file lacks, or that
the side file lists twice, is an error naming the side file, its row and its
code column. Side files are read whole before the main file streams past them.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator

from registry.errors import BadRequest, ImportRejected, row_label
from importers.findings import Findings
from importers.source import Source

ROLES = ("translations", "attributes", "groups")
WITH_KEYS = {"name", "file", "role", "format", "language", "use", "read", "fields"}
RANGE = re.compile(r"^(\S+?)\s*[-–]\s*(\S+)$")
# A side file's own keys, as `validate` names them, and where they sit in the main profile.
_SECTIONS = (("[profile].format", "format"), ("[fields]", "fields"), ("[read]", "read"), ("the profile", ""))


def check_side_files(side_files, where: str, validate: Callable) -> tuple[str, str | None] | None:
    """What is wrong with a profile's `[[with]]` tables (message, key), or None; each is checked as a profile.

    The validated profile of each side file is kept in its table under `_profile`.
    """
    from importers.profile import ProfileError
    if not isinstance(side_files, list) or not all(isinstance(s, dict) for s in side_files):
        return "with must be an array of tables ([[with]] with a name, role, format and fields)", None
    names = set()
    for i, side in enumerate(side_files, 1):
        at = f"[[with]] #{i}"
        unknown = sorted(set(side) - WITH_KEYS)
        if unknown:
            return f"unknown key(s) {', '.join(unknown)} in {at} (allowed: {', '.join(sorted(WITH_KEYS))})", unknown[0]
        for key in ("name", "role", "format"):
            if not isinstance(side.get(key), str) or not side[key]:
                return f"{at} needs a {key}", None
        for key in ("file", "language", "use"):
            if key in side and not (isinstance(side[key], str) and side[key]):
                return f"{at}.{key} must be a non-empty string", key
        if not re.fullmatch(r"[\w-]+", side["name"]):
            return f"{at}.name {side['name']!r} must be letters, digits, - or _ (it is written --with NAME=PATH)", \
                "name"
        if side["name"] in names:
            return f"{at}.name {side['name']!r} is used twice", "name"
        names.add(side["name"])
        if side["role"] not in ROLES:
            return f"{at}.role must be one of {', '.join(ROLES)} (got {side['role']!r})", "role"
        if side["role"] == "translations" and "language" not in side:
            return f"{at} brings translations: say their language (language = \"en\")", None
        if side["role"] != "translations" and ("language" in side or "use" in side):
            key = "language" if "language" in side else "use"
            return f"{at}.{key} applies to role translations only: it would do nothing here", key
        fields = side.get("fields") or {}
        if not isinstance(fields, dict) or "code" not in fields:
            return f"{at}.fields needs a code: the column that joins the file to the main file's codes", None
        if side["role"] == "attributes" and not fields.get("attributes"):
            return f"{at} brings attributes: [with.fields.attributes] names none", None
        if side["role"] in ("translations", "groups") and "display" not in fields:
            return f"{at}.fields needs a display ({'the translated text' if side['role'] == 'translations' else 'the group name'})", None
        sub = {"profile": {"format": side["format"], "name": side["name"]}, "read": side.get("read", {}),
               "fields": fields}
        try:
            side["_profile"] = validate(sub, where)
            # its problems found while importing point at the main profile's lines
            side["_profile"].within, side["_profile"].path = at, (Path(where) if Path(where).is_file() else None)
        except ProfileError as exc:
            message = exc.message.split(": ", 1)[1] if exc.message.startswith("profile ") else exc.message
            if message.startswith(tuple(own for own, there in _SECTIONS if there)):
                for own, there in _SECTIONS[:-1]:
                    message = message.replace(own, f"{at}.{there}")
            else:
                message = f"{message} in {at}"
            return message, exc.key
    return None


def side_sources(profile, main: Path, given: dict | None, *, uploaded: bool = False) -> list[tuple[dict, Source]]:
    """Each `[[with]]` table of `profile` with its file: the one given by name, else its `file` next to `main`.

    `given` maps names to paths (or to Sources already named as reports should
    name them). A name the profile does not declare, or a side file neither
    given nor found, is refused before any row is read. `uploaded`: the files
    came with an upload through the API, as file parts `with.NAME`; nothing is
    looked for beside the main file (the server's folder is not the sender's),
    and the errors name the parts instead of `--with`.
    """
    given = dict(given or {})
    declared = [s["name"] for s in profile.side_files]
    for name in given:
        if name not in declared:
            have = f"it joins {', '.join(declared)}" if declared else "it joins no side files"
            given_as = f"file part with.{name}" if uploaded else f"--with {name}"
            raise BadRequest(f"{given_as}: profile {profile.name} has no side file {name!r} ({have}; see its "
                             f"[[with]] tables)")
    out = []
    for side in profile.side_files:
        path = given.get(side["name"])
        if isinstance(path, Source):
            out.append((side, path))
            continue
        if path is None and side.get("file") and not uploaded:
            path = main.parent / side["file"]
            if not Path(path).is_file():
                raise BadRequest(f"profile {profile.name} joins the {side['role']} file {side['name']!r}, looked for "
                                 f"at {path}: no such file (give it with --with {side['name']}=PATH)")
        if path is None:
            how = f"upload it as file part with.{side['name']}" if uploaded else \
                f"give it with --with {side['name']}=PATH"
            raise BadRequest(f"profile {profile.name} joins the {side['role']} file {side['name']!r}: {how}")
        if not Path(path).is_file():
            raise BadRequest(f"--with {side['name']}={path}: no such file")
        out.append((side, Source.from_path(path)))
    return out


def identity(main_sha256: str, sides: list[tuple[dict, Source]]) -> str:
    """The sha256 of an import of several files: the main file's with each side file's, so a new side file counts."""
    if not sides:
        return main_sha256
    text = main_sha256 + "".join(f"\nwith {side['name']} {source.sha256()}" for side, source in sides)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_side(side: dict, source: Source, findings: Findings, language: str | None) -> dict[str, dict]:
    """The entries of one side file by code; problems (its own, or a code listed twice) go to `findings`."""
    from importers.formats import FORMATS
    own = Findings(source.name)
    by_code: dict[str, dict] = {}
    try:
        for e in FORMATS[side["format"]].read(source, side["_profile"], own, language):
            code = str(e["code"]).strip()
            if not code:
                continue
            first = by_code.get(code)
            if first is not None:
                pos = e["_pos"]
                own.error(pos.problem(f"code {code} is listed twice in this {side['role']} file (first at "
                                      f"{row_label(first['_pos'].row)})", column=pos.column_for("code"), code=code,
                                      kind="duplicate_code"))
                continue
            by_code[code] = e
    except ImportRejected as exc:
        known = {id(p) for p in own.errors}
        for p in exc.problems:
            if id(p) not in known:
                own.error(p)
    for p in own.errors:
        findings.error(p)
    for p in own.warnings:
        findings.warn(p)
    return by_code


def _range(code: str) -> tuple[str, str] | None:
    m = RANGE.match(code)
    return (m.group(1), m.group(2)) if m else None


class Groups:
    """Range groups (chapters, blocks) and the narrowest one holding a code."""

    def __init__(self, entries: list[dict]):
        self.ranges = [(r, e["code"]) for e in entries if (r := _range(e["code"]))]
        # Whether a code is inside depends on its first `width` characters only: one answer per such prefix,
        # so 70,000 codes under 2,000 blocks cost 2,000 scans, not 70,000.
        self.width = max((len(lo) for (lo, _), _ in self.ranges), default=0)
        self.known: dict[str, str | None] = {}

    def holding(self, code: str, inner: tuple[str, str] | None = None) -> str | None:
        """The code of the narrowest group containing `code` (or the range `inner`), other than itself."""
        if inner is None:
            key = code[:self.width]
            if key not in self.known:
                self.known[key] = self._scan(key, None)
            return self.known[key]
        return self._scan(code, inner)

    def _scan(self, code: str, inner: tuple[str, str] | None) -> str | None:
        best = None
        for (lo, hi), group in self.ranges:
            if group == code:
                continue
            if inner is not None:
                inside = lo <= inner[0] and inner[1] <= hi and (lo, hi) != inner
            else:
                inside = lo <= code[:len(lo)] <= hi
            if inside and (best is None or (lo >= best[0][0] and hi <= best[0][1])):
                best = ((lo, hi), group)
        return best[1] if best else None


def join_side_files(entries: Iterable[dict], sides: list[tuple[dict, Source]], findings: Findings,
                    language: str | None) -> Iterator[dict]:
    """The main file's entries with the side files joined by code (see the module docstring), groups first."""
    tables = [(side, _read_side(side, source, findings, language)) for side, source in sides]
    groups_found = [e for side, table in tables if side["role"] == "groups" for e in table.values()]
    groups = Groups(groups_found)
    for e in groups_found:
        if not e["parents"]:
            r = _range(e["code"])
            parent = groups.holding(e["code"], r) if r else None
            if parent:
                e = {**e, "parents": [parent]}
        yield e
    joined = [(side, table) for side, table in tables if side["role"] != "groups"]
    seen: set[str] = set()
    for e in entries:
        code = str(e["code"]).strip()
        if joined:
            seen.add(code)
            e = _joined(e, joined, findings)
        if groups.ranges and not e["parents"]:
            parent = groups.holding(code)
            if parent:
                e = {**e, "parents": [parent]}
        yield e
    for side, table in joined:
        for code, side_entry in table.items():
            if code not in seen:
                pos = side_entry["_pos"]
                findings.error(pos.problem(f"code {code} is not in the main file {findings.file}: its {side['role']} "
                                           f"row joins no entry", column=pos.column_for("code"), code=code,
                                           kind="unknown_code"))
    findings.raise_if_errors()


def _joined(e: dict, joined: list, findings: Findings) -> dict:
    """Entry `e` with what each translations or attributes file has for its code."""
    for side, table in joined:
        other = table.get(str(e["code"]).strip())
        if other is None:
            continue
        if side["role"] == "translations":
            texts = [other["display"]] + [d["text"] for d in other["designations"]]
            added = [{"language": side["language"], "use": side.get("use", "translation"), "text": t}
                     for t in dict.fromkeys(texts) if t]
            e = {**e, "designations": list(e["designations"]) + added}
        else:
            attributes = dict(e["attributes"])
            for name, value in other["attributes"].items():
                if attributes.get(name) not in (None, "", value):
                    pos = other["_pos"]
                    findings.error(pos.problem(
                        f"attribute {name} of code {e['code']} is {attributes[name]!r} in the main file and "
                        f"{value!r} here: one file must not contradict the other",
                        column=pos.column_for(f"attributes.{name}"), code=e["code"], kind="conflict"))
                    continue
                attributes[name] = value
            e = {**e, "attributes": attributes}
    return e
