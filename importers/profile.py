"""Declarative import profiles: one TOML file in `catalogs/` per national feed.

A profile says how to read a file (format, encoding, delimiter, sheet, header
row, XML record elements), how to turn each record into an entry (code,
display, parents, status, designations, attributes) and which catalog to
create when it does not exist yet. A new country's spreadsheet means a new
profile, not new code; `docs/importers.md` describes every key.

Profiles are validated when loaded: an unknown key, a wrong type or an
impossible combination is a `ProfileError` naming the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from registry import config
from registry.errors import BadRequest
from registry.models.catalog import KINDS
from importers import transforms
from importers.toml_lines import key_line

TOP_KEYS = {"profile", "catalog", "read", "fields", "variants", "hierarchy", "sheets", "with"}
PROFILE_KEYS = {"name", "description", "format", "duplicates", "group_codes"}
CATALOG_KEYS = {"slug", "title", "kind", "language", "oid", "owner", "description", "field_schema"}
READ_KEYS = {"encoding", "strip_chars", "null_values", "skip", "unknown_columns"}  # and each format's READ_KEYS
FIELD_NAMES = {"code", "display", "status", "parents", "designations", "attributes"}
SPEC_KEYS = {"column", "columns", "path", "value", "hash", "regex", "map", "default", "strip", "zfill", "upper",
             "lower", "prefix", "template", "split", "type", "date_format", "true_values", "false_values", "fallback",
             "optional", "language", "use", "join", "compose", "replace", "replace_regex", "insert", "map_strict",
             "case"}
ATTRIBUTE_TYPES = ("string", "integer", "number", "boolean", "date")
HIERARCHY_KEYS = {"id", "parent_id", "code_levels", "code_prefix", "parent_resolve", "enclosing", "parent_pattern",
                  "level", "children", "children_split"}
SKIP_KEYS = {"column", "equals", "empty", "matches"}
ENCODINGS_AUTO = "auto"
DUPLICATES = ("error", "merge")

# The type of every key whose value is not checked more closely below: (test, words for the error).
_STR = (lambda v: isinstance(v, str), "a string")
_NONEMPTY = (lambda v: isinstance(v, str) and v != "", "a non-empty string")
_BOOL = (lambda v: isinstance(v, bool), "true or false")
_STRS = (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings")
_STR_TABLE = (lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
              "a table of name = \"text\"")


def _is_scalar(v) -> bool:
    return isinstance(v, (str, int, float)) and not isinstance(v, bool)


_SCALARS = (lambda v: _is_scalar(v) or isinstance(v, list) and all(_is_scalar(x) for x in v),
            "a value or a list of values")
KEY_TYPES = {
    "spec": {"column": _NONEMPTY, "path": _NONEMPTY, "regex": _STR, "default": _STR, "strip": _STR,
             "upper": _BOOL, "lower": _BOOL, "prefix": _STR, "template": _STR, "split": _NONEMPTY, "type": _STR,
             "date_format": _STR, "optional": _BOOL, "join": _STR,
             "compose": _NONEMPTY, "map_strict": _BOOL, "case": _STR, "language": _STR, "use": _STR, "columns": _STRS,
             "hash": _STRS, "true_values": _STRS, "false_values": _STRS},
    "read": {"encoding": _NONEMPTY, "delimiter": _NONEMPTY, "quotechar": _NONEMPTY, "columns": _STRS,
             "sheet": _STR, "records": _STRS, "namespaces": _STR_TABLE, "strip_chars": _STR,
             "null_values": _STRS, "unknown_columns": _STR, "fill_down": _STRS},
    "catalog": {"slug": _NONEMPTY, "title": _NONEMPTY, "kind": _STR, "language": _NONEMPTY, "oid": _STR,
                "owner": _STR, "description": _STR},
    "profile": {"name": _NONEMPTY, "description": _STR, "format": _STR, "duplicates": _STR, "group_codes": _STR},
    "skip": {"column": _NONEMPTY, "equals": _SCALARS, "empty": _BOOL, "matches": _STR},
    "hierarchy": {"id": _NONEMPTY, "parent_id": _NONEMPTY, "code_prefix": _BOOL, "parent_resolve": _STR,
                  "enclosing": _BOOL, "parent_pattern": _NONEMPTY, "level": _NONEMPTY, "children": _NONEMPTY,
                  "children_split": _NONEMPTY},
}


class ProfileError(BadRequest):
    """A profile file that cannot be used; the message names the file, the key and (when read from a file) its line."""

    code = "bad_profile"

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


@dataclass
class Profile:
    """A validated import profile. Sections are plain dicts, already checked."""

    name: str
    path: Path | None
    format: str
    description: str = ""
    catalog: dict = field(default_factory=dict)
    read: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)
    variants: list = field(default_factory=list)
    hierarchy: dict = field(default_factory=dict)
    duplicates: str = "error"
    group_codes: str | None = None
    sheets: list = field(default_factory=list)  # [[sheets]]: several sheets of one workbook, each a dict
    side_files: list = field(default_factory=list)  # [[with]]: files joined to the main one (importers.side_files)
    within: str = ""  # a side file's profile: the [[with]] table of the main profile (`path`) it is written in

    def referenced_columns(self) -> list[str]:
        """Every column (or XML path) named by the field specs, variants and skip rules, in first-use order."""
        seen: dict[str, None] = {}
        for _, name in self.references():
            seen.setdefault(name, None)
        return list(seen)

    def references(self) -> list[tuple[str, str]]:
        """Every (profile key, column or XML path) pair: where the profile names a column, and which."""
        found: list[tuple[str, str]] = []

        def add(key, name):
            if name:
                found.append((key, name))

        def walk_spec(key, spec):
            if isinstance(spec, str):
                add(key, spec)
            elif isinstance(spec, dict):
                for source in ("column", "path"):
                    add(f"{key}.{source}", spec.get(source))
                for source in ("columns", "hash"):
                    for name in spec.get(source) or []:
                        add(f"{key}.{source}", name)
                for name in transforms.compose_columns(spec.get("compose") or ""):
                    add(f"{key}.compose", name)
                if spec.get("fallback") is not None:
                    walk_spec(f"{key}.fallback", spec["fallback"])

        def walk_fields(section, fields):
            for name in ("code", "display", "status", "parents"):
                if name in fields:
                    walk_spec(f"{section}.{name}", fields[name])
            for i, d in enumerate(fields.get("designations") or []):
                walk_spec(f"{section}.designations[{i}]", d)
            for name, spec in (fields.get("attributes") or {}).items():
                walk_spec(f"{section}.attributes.{name}", spec)

        walk_fields("[fields]", self.fields)
        for i, sheet in enumerate(self.sheets, 1):
            if sheet.get("fields"):
                walk_fields(f"[[sheets]] #{i}.fields", sheet["fields"])
            for j, rule in enumerate(sheet.get("skip") or []):
                add(f"[[sheets]] #{i}.skip[{j}].column", rule["column"])
            for name in sheet.get("fill_down") or []:
                add(f"[[sheets]] #{i}.fill_down", name)
        for i, variant in enumerate(self.variants, 1):
            for cond in variant["when"]:
                add(f"[[variants]] #{i}.when.column", cond["column"])
            walk_fields(f"[[variants]] #{i}.fields", variant["fields"])
        for i, rule in enumerate(self.read.get("skip") or []):
            add(f"[read].skip[{i}].column", rule["column"])
        for name in self.read.get("fill_down") or []:
            add("[read].fill_down", name)
        for key in ("id", "parent_id", "level", "children"):
            add(f"[hierarchy].{key}", self.hierarchy.get(key))
        return found


def _fail(where: str, message: str, key: str | None = None) -> None:
    """Refuse the profile; `key` is the key to point at when the message's first section is not precise enough."""
    raise ProfileError(f"profile {where}: {message}", key=key)


def _check_keys(where: str, section: str, table, allowed: set) -> None:
    if not isinstance(table, dict):
        _fail(where, f"{section} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        _fail(where, f"unknown key(s) {', '.join(unknown)} in {section} (allowed: {', '.join(sorted(allowed))})",
              key=unknown[0])


def _check_read_keys(where: str, fmt: str, read, formats: dict) -> None:
    """[read] takes the keys every format reads and the format's own; another format's key is named as such."""
    if not isinstance(read, dict):
        _fail(where, "[read] must be a table")
    own = READ_KEYS | getattr(formats[fmt], "READ_KEYS", set())
    for key in sorted(set(read) - own):
        others = [name for name, module in formats.items() if key in getattr(module, "READ_KEYS", ())]
        if others:
            _fail(where, f"[read].{key} is a key of format {', '.join(others)}, not {fmt}: it does nothing here",
                  key=key)
    _check_keys(where, "[read]", read, own)


def _check_types(where: str, section: str, table: dict, kind: str) -> None:
    """Refuse a key whose value has the wrong TOML type (a number where text belongs, a string for a list)."""
    for key, (ok, words) in KEY_TYPES[kind].items():
        if key in table and not ok(table[key]):
            got = table[key]
            hint = f" (got the string {got!r}; write [{got!r}])" if isinstance(got, str) and words.startswith(
                "a list") else f" (got {got!r})"
            _fail(where, f"{section}.{key} must be {words}{hint}")


def _check_spec(where: str, section: str, spec) -> None:
    """A field spec is a column name or a table of SPEC_KEYS."""
    if isinstance(spec, str):
        if not spec:
            _fail(where, f"{section} names an empty column")
        return
    _check_keys(where, section, spec, SPEC_KEYS)
    _check_types(where, section, spec, "spec")
    if "value" in spec:
        if not _is_scalar(spec["value"]):
            _fail(where, f"{section}.value must be a string (got {spec['value']!r})")
        spec["value"] = str(spec["value"])
    sources = [k for k in ("column", "columns", "path", "value", "hash", "compose") if k in spec]
    if len(sources) != 1 and not (spec.get("fallback") is not None and not sources):
        _fail(where, f"{section} needs exactly one of column, columns, path, value, hash or compose (has "
                     f"{', '.join(sources) or 'none'})")
    problem = transforms.check(spec)
    if problem:
        _fail(where, f"{section}.{problem}")
    if "map" in spec and not (isinstance(spec["map"], dict) and all(_is_scalar(v) for v in spec["map"].values())):
        _fail(where, f"{section}.map must be a table of value = replacement")
    _check_regex(where, section, spec, "regex")
    if "type" in spec and spec["type"] not in ATTRIBUTE_TYPES:
        _fail(where, f"{section}.type {spec['type']!r} is not one of {', '.join(ATTRIBUTE_TYPES)}")
    if "template" in spec and "{0}" not in spec["template"]:
        _fail(where, f"{section}.template must contain {{0}} where the value goes (got {spec['template']!r})")
    for key, kinds in (("date_format", ("date",)), ("true_values", ("boolean",)), ("false_values", ("boolean",))):
        if key in spec and spec.get("type") not in kinds:
            _fail(where, f"{section}.{key} applies to type = \"{kinds[0]}\" only (the type is "
                         f"{spec.get('type', 'string')})")
    if "zfill" in spec and (not isinstance(spec["zfill"], int) or isinstance(spec["zfill"], bool)):
        _fail(where, f"{section}.zfill must be an integer width")
    if spec.get("fallback") is not None:
        _check_spec(where, f"{section}.fallback", spec["fallback"])


def _check_skip(where: str, section: str, rules) -> None:
    """Skip rules: a list of { column, and one of equals, empty or matches }."""
    if not isinstance(rules, list):
        _fail(where, f"{section} must be an array of tables, e.g. skip = [{{ column = \"code\", empty = true }}]")
    for i, rule in enumerate(rules):
        _check_keys(where, f"{section}[{i}]", rule, SKIP_KEYS)
        _check_types(where, f"{section}[{i}]", rule, "skip")
        _check_regex(where, f"{section}[{i}]", rule, "matches")
        if "column" not in rule or len(set(rule) & {"equals", "empty", "matches"}) != 1:
            _fail(where, f"{section}[{i}] needs a column and one of equals, empty or matches")


def _check_regex(where: str, section: str, table: dict, key: str) -> None:
    try:
        re.compile(table.get(key, ""))
    except re.error as exc:
        _fail(where, f"{section}.{key} {table[key]!r} is not a valid regular expression: {exc}")


def _check_fields(where: str, section: str, fields, require_code: bool) -> None:
    _check_keys(where, section, fields, FIELD_NAMES)
    if require_code and "code" not in fields:
        _fail(where, f"{section} needs a code")
    for name in ("code", "display", "status", "parents"):
        if name in fields:
            _check_spec(where, f"{section}.{name}", fields[name])
            _check_applies(where, f"{section}.{name}", fields[name], name)
    designations = fields.get("designations", [])
    if not isinstance(designations, list):
        _fail(where, f"{section}.designations must be an array of tables ([[fields.designations]])")
    for i, d in enumerate(designations):
        _check_spec(where, f"{section}.designations[{i}]", d)
        _check_applies(where, f"{section}.designations[{i}]", d, "designations")
    attributes = fields.get("attributes", {})
    if not isinstance(attributes, dict):
        _fail(where, f"{section}.attributes must be a table of attribute = column")
    for name, spec in attributes.items():
        _check_spec(where, f"{section}.attributes.{name}", spec)
        _check_applies(where, f"{section}.attributes.{name}", spec, "attributes")


# Spec keys that do something only for some fields: a key elsewhere is a mistake, not a no-op.
APPLIES_TO = {"type": ("attributes",), "date_format": ("attributes",), "true_values": ("attributes",),
              "false_values": ("attributes",), "join": ("attributes",), "language": ("designations",),
              "use": ("designations",), "split": ("parents", "designations", "attributes")}


def _check_applies(where: str, section: str, spec, field: str) -> None:
    """Refuse a spec key that does nothing for this field (a `type` on the code, a `split` on the display)."""
    if not isinstance(spec, dict):
        return
    for key, fields in APPLIES_TO.items():
        if key in spec and field not in fields:
            _fail(where, f"{section}.{key} applies to {' and '.join(fields)} only: it would do nothing here")


def validate(data: dict, where: str, path: Path | None = None) -> Profile:
    """Check a parsed profile and return it as a Profile; raise ProfileError on the first problem."""
    _check_keys(where, "the profile", data, TOP_KEYS)
    head = data.get("profile", {})
    _check_keys(where, "[profile]", head, PROFILE_KEYS)
    _check_types(where, "[profile]", head, "profile")
    fmt = head.get("format")
    from importers.formats import FORMATS  # the format modules read profiles: imported here, not at the top
    if fmt not in FORMATS:
        _fail(where, f"[profile].format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    module = FORMATS[fmt]
    name = head.get("name") or (path.stem if path else "")
    duplicates = head.get("duplicates", "error")
    if duplicates not in DUPLICATES:
        _fail(where, f"[profile].duplicates must be one of {', '.join(DUPLICATES)}")
    group_codes = head.get("group_codes")
    if group_codes not in (None, "icd10-range"):
        _fail(where, "[profile].group_codes can only be \"icd10-range\"")
    catalog = data.get("catalog", {})
    _check_keys(where, "[catalog]", catalog, CATALOG_KEYS)
    _check_types(where, "[catalog]", catalog, "catalog")
    if catalog.get("kind") is not None and catalog["kind"] not in KINDS:
        _fail(where, f"[catalog].kind must be one of {', '.join(KINDS)}")
    if "field_schema" in catalog:
        from registry.store.catalogs import check_field_schema
        try:
            catalog["field_schema"] = check_field_schema(catalog["field_schema"])
        except BadRequest as exc:
            _fail(where, f"[catalog].{exc.message}")
    read = data.get("read", {})
    _check_read_keys(where, fmt, read, FORMATS)
    _check_types(where, "[read]", read, "read")
    if "quotechar" in read and len(read["quotechar"]) != 1:
        _fail(where, f"[read].quotechar must be one character (got {read['quotechar']!r})")
    if "delimiter" in read and read["delimiter"] != "auto" and len(read["delimiter"]) != 1:
        _fail(where, f"[read].delimiter must be one character or \"auto\" (got {read['delimiter']!r})")
    if "header" in read and read["header"] not in (True, False, "auto"):
        _fail(where, "[read].header must be true, false or \"auto\"")
    if "header_row" in read and fmt != "xlsx" and (not isinstance(read["header_row"], int)
                                                   or isinstance(read["header_row"], bool) or read["header_row"] < 1):
        _fail(where, "[read].header_row must be a row number from 1")
    if read.get("header") is False and not read.get("columns"):
        _fail(where, "[read].header = false needs [read].columns to name the columns")
    if read.get("header") == "auto" and not read.get("columns"):
        _fail(where, "[read].header = \"auto\" needs [read].columns for files without a header")
    if "encoding" in read and read["encoding"] != ENCODINGS_AUTO:
        import codecs
        try:
            codecs.lookup(read["encoding"])
        except LookupError:
            _fail(where, f"[read].encoding {read['encoding']!r} is not a known encoding")
        if not getattr(codecs.lookup(read["encoding"]), "_is_text_encoding", True):
            _fail(where, f"[read].encoding {read['encoding']!r} is not a text encoding")
    if read.get("unknown_columns", "ignore") not in ("ignore", "warn", "error"):
        _fail(where, "[read].unknown_columns must be ignore, warn or error")
    _check_skip(where, "[read].skip", read.get("skip") or [])
    problem = module.check_read(read) if hasattr(module, "check_read") else None
    if problem:
        _fail(where, problem)
    fields = data.get("fields", {})
    needs_fields = getattr(module, "FIELDS_REQUIRED", False)
    if fields or needs_fields:
        _check_fields(where, "[fields]", fields, require_code=needs_fields)
    variants = data.get("variants", [])
    if not isinstance(variants, list):
        _fail(where, "variants must be an array of tables ([[variants]])")
    for i, variant in enumerate(variants):
        _check_keys(where, f"[[variants]] #{i + 1}", variant, {"when", "fields"})
        when = variant.get("when")
        when = [when] if isinstance(when, dict) else when
        if not when:
            _fail(where, f"[[variants]] #{i + 1} needs a when condition")
        for cond in when:
            _check_keys(where, f"[[variants]] #{i + 1}.when", cond, SKIP_KEYS)
            _check_types(where, f"[[variants]] #{i + 1}.when", cond, "skip")
            _check_regex(where, f"[[variants]] #{i + 1}.when", cond, "matches")
            if "column" not in cond or len(set(cond) & {"equals", "empty", "matches"}) != 1:
                _fail(where, f"[[variants]] #{i + 1}.when needs a column and one of equals, empty or matches")
        variant["when"] = when
        _check_fields(where, f"[[variants]] #{i + 1}.fields", variant.get("fields", {}), require_code=False)
        variant.setdefault("fields", {})
    hierarchy = data.get("hierarchy", {})
    _check_keys(where, "[hierarchy]", hierarchy, HIERARCHY_KEYS)
    _check_types(where, "[hierarchy]", hierarchy, "hierarchy")
    from importers.hierarchy import check_rules  # the hierarchy module reads profiles: imported here
    problem = check_rules(hierarchy)
    if problem:
        _fail(where, *problem)
    sheets = data.get("sheets", [])
    if sheets:
        if fmt != "xlsx":
            _fail(where, f"[[sheets]] is for format xlsx (several sheets of one workbook), not {fmt}")
        problem = module.check_sheets(sheets, read)
        if problem:
            _fail(where, *problem)
        for i, sheet in enumerate(sheets, 1):
            _check_skip(where, f"[[sheets]] #{i}.skip", sheet.get("skip") or [])
            if "fields" in sheet:
                _check_fields(where, f"[[sheets]] #{i}.fields", sheet["fields"], require_code=True)
    from importers.side_files import check_side_files
    side_files = data.get("with", [])
    problem = check_side_files(side_files, where, validate)
    if problem:
        _fail(where, *problem)
    profile = Profile(name=name, path=path, format=fmt, description=head.get("description", ""), catalog=catalog,
                      read=read, fields=fields, variants=variants, hierarchy=hierarchy, duplicates=duplicates,
                      group_codes=group_codes, sheets=sheets, side_files=side_files)
    if fmt == "xml":
        for key, p in profile.references():
            problem = module.check_xpath(p, read.get("namespaces") or {})
            if problem:
                _fail(where, f"{key} {problem}")
    if hasattr(module, "check_path"):
        for key, p in profile.references():
            problem = module.check_path(p)
            if problem:
                _fail(where, f"{key}: {problem}")
    _check_uses(where, profile)
    return profile


def _check_uses(where: str, profile: Profile) -> None:
    """What the profile declares is used, and what it uses is declared: a misspelling fails here, before any row."""
    declared, columns = "[read].columns", profile.read.get("columns")
    if isinstance(profile.read.get("layout"), dict):
        declared, columns = "[read.layout]", list(profile.read["layout"])
    if columns and profile.format != "xml":
        listed = set(columns)
        for key, name in profile.references():
            if name not in listed:
                _fail(where, f"{key} names column {name!r}, which {declared} does not list (it lists "
                             f"{', '.join(columns)}): a misspelling?")
    filled = set((profile.fields.get("attributes") or {}))
    for variant in profile.variants:
        filled |= set(variant["fields"].get("attributes") or {})
    if profile.fields or profile.variants:
        for name in profile.catalog.get("field_schema") or {}:
            if name not in filled:
                _fail(where, f"[catalog].field_schema.{name} is filled by no attribute of [fields] or a variant "
                             f"(attributes: {', '.join(sorted(filled)) or 'none'}): a misspelling?")
    if profile.format == "xml":
        paths = list(profile.read.get("records") or []) + profile.referenced_columns()
        for prefix in profile.read.get("namespaces") or {}:
            if not any(f"{prefix}:" in p for p in paths):
                _fail(where, f"[read].namespaces.{prefix} is used by no record or path (write {prefix}:name)")


def profile_dirs() -> list[Path]:
    """Where profiles are looked up: NSI_CATALOGS_DIR first (an operator's own profiles), then the shipped ones.

    A folder of one's own profiles adds to the shipped ones instead of hiding
    them; a profile there with a shipped profile's name replaces that one.
    """
    shipped = config.catalogs_dir({})  # without NSI_CATALOGS_DIR: the folder shipped with the code
    configured = config.catalogs_dir()
    return [configured, shipped] if configured != shipped else [shipped]


def profile_path(name: str) -> Path:
    """The file of profile `name`: `<name>.toml` in the first of `profile_dirs()` that has it, else a path to a .toml.

    A known name wins over a same-named file in the working directory, so a
    name checked against `available_profiles` always means that profile.
    """
    p = Path(name)
    if p.suffix != ".toml" and p.name == name:
        for directory in profile_dirs():
            if (directory / f"{name}.toml").is_file():
                return directory / f"{name}.toml"
    if p.suffix == ".toml" or p.is_file():
        return p
    return profile_dirs()[0] / f"{name}.toml"


def load_profile(name: str) -> Profile:
    """Read and validate a profile by name or path; a missing, unparsable or wrong profile is a ProfileError."""
    path = profile_path(name)
    if not path.is_file():
        known = ", ".join(available_profiles()) or "none"
        raise ProfileError(f"no profile {name!r} (looked for {path}); known profiles: {known}")
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path}: not valid TOML: {exc}") from None
    try:
        return validate(data, str(path), path)
    except ProfileError as exc:
        prefix = f"profile {path}: "
        reason = exc.message[len(prefix):] if exc.message.startswith(prefix) else exc.message
        line = key_line(text, reason.split(" (", 1)[0], exc.key)
        if line is None:
            raise
        raise ProfileError(f"profile {path}, line {line}: {reason}", key=exc.key) from None


def available_profiles() -> list[str]:
    """Names of the profiles in NSI_CATALOGS_DIR and shipped with the code (see `profile_dirs`)."""
    return sorted({p.stem for directory in profile_dirs() if directory.is_dir() for p in directory.glob("*.toml")})
