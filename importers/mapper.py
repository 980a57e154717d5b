"""The map step: a profile turns raw records (lists of cell values) into canonical entries.

Field specs are compiled once per file into small functions over a record's
cells, so that mapping a row costs a few list lookups. Problems found here
(missing columns, values of the wrong type, unknown parent identifiers) are
collected in `Findings` with their file, sheet, row and column.
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Iterator

from registry.entries import STATUSES, CanonicalEntry, EncodedBlock, EntryError, _text
from registry.errors import Position
from importers.columns import Columns, source_columns
from importers.compiled import canonical_entry, compile_row_builder
from importers.findings import Findings
from importers.hierarchy import finish as finish_hierarchy, needs_buffer
from importers.profile import Profile
from importers.transforms import TransformError, compose, compose_columns, value_steps
from importers.unmatched import watch as watch_paths
from importers.values import ValueProblem, convert


def _cell_getter(i: int | None) -> Callable[[list], object]:
    if i is None:
        return lambda row: ""
    return lambda row: row[i] if i < len(row) else ""


def compile_spec(spec, cols: Columns, multi: bool = False, field: str = "") -> Callable[[list], object]:
    """A function from a record's cells to the value a field spec describes.

    Returns text (or a list of texts when the spec splits or the record holds
    several values, as XML paths may). Attribute types are applied separately.
    A transform that cannot handle a value raises TransformError naming `field`.
    """
    if isinstance(spec, str):
        spec = {"column": spec}
    optional = bool(spec.get("optional"))
    if "value" in spec:
        constant = spec["value"]
        base = lambda row: constant  # noqa: E731
    elif "columns" in spec:
        getters = [_cell_getter(cols.find(c, optional=True)) for c in spec["columns"]]
        if all(cols.find(c, optional=True) is None for c in spec["columns"]) and not optional:
            cols.missing.append(" or ".join(spec["columns"]))

        def base(row):
            for g in getters:
                v = g(row)
                if v:
                    return v
            return ""
    elif "hash" in spec:
        getters = [_cell_getter(cols.find(c, optional=optional)) for c in spec["hash"]]

        def base(row):
            joined = "\x1f".join(_flat(g(row)) for g in getters)
            return hashlib.sha1(joined.encode("utf-8")).hexdigest()[:10]
    elif "compose" in spec:
        template = spec["compose"]
        parts = [(name, _cell_getter(cols.find(name, optional=optional))) for name in compose_columns(template)]

        def base(row):
            return compose(template, {name: _flat(g(row)).strip() for name, g in parts})
    elif "column" in spec or "path" in spec:
        base = _cell_getter(cols.find(spec.get("column") or spec.get("path"), optional=optional))
    else:
        base = lambda row: ""  # noqa: E731  (only a fallback)
    steps = value_steps(spec)
    plain = (not steps and spec.get("fallback") is None and not spec.get("default") and not spec.get("split")
             and not multi and ("column" in spec or "path" in spec))
    if plain:  # the common case, kept fast: one cell, stripped
        i = cols.find(spec.get("column") or spec.get("path"), optional=True)
        if i is None:
            missing = lambda row: ""  # noqa: E731
            missing.stripped_text = True
            return missing
        slow = None

        def fast(row):
            if i >= len(row):
                return ""
            v = row[i]
            if v.__class__ is str:
                return v.strip()
            return slow(row)
    fallback = compile_spec(spec["fallback"], cols, multi, field) if spec.get("fallback") is not None else None
    default = spec.get("default")
    split = spec.get("split")

    def one(value):
        value = value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())
        try:
            for step in steps:
                if not value:
                    break
                value = step(value)
        except TransformError as exc:
            exc.field = field
            raise
        return value

    def get(row):
        raw = base(row)
        if isinstance(raw, list):
            values = [v for v in (one(x) for x in raw) if v]
            if not values and fallback is not None:
                return fallback(row)
            return values if (multi or split) else (values[0] if values else (default or ""))
        value = one(raw)
        if not value:
            if fallback is not None:
                return fallback(row)
            value = default or ""
        if split:
            return [p.strip() for p in value.split(split) if p.strip()]
        return [value] if (multi and value) else ([] if multi else value)
    if plain:
        slow = get
        fast.stripped_text = True  # always returns stripped text: the mapper need not check it again
        fast.column_index = i
        return fast
    return get


def _flat(value) -> str:
    return "|".join(value) if isinstance(value, list) else str(value or "")


def compile_condition(cond: dict, cols: Columns) -> Callable[[list], bool]:
    """A predicate over a record's cells for `when` and `skip` rules."""
    get = _cell_getter(cols.find(cond["column"]))

    def text(row):
        v = get(row)
        return _flat(v).strip() if isinstance(v, list) else (v or "").strip()
    if "empty" in cond:
        want = bool(cond["empty"])
        return lambda row: (text(row) == "") == want
    if "equals" in cond:
        options = cond["equals"] if isinstance(cond["equals"], list) else [cond["equals"]]
        options = {str(o) for o in options}
        return lambda row: text(row) in options
    rx = re.compile(cond["matches"])
    return lambda row: rx.search(text(row)) is not None


def _stripped(get) -> bool:
    return getattr(get, "stripped_text", False)


class FieldSet:
    """The compiled field specs of a profile (or of one of its variants).

    `canonical` says whether the mapper can build canonical entries for this
    field set directly (see `Mapper.entry`); `texts_stripped` whether code,
    display and status getters already return stripped text.
    """

    def __init__(self, fields: dict, cols: Columns, language: str | None, hierarchy: dict | None = None,
                 enclosing: bool = False, paths: bool = False):
        self.columns = source_columns(fields, cols, hierarchy or {}, enclosing)  # shared by the Positions of its rows
        self.code = compile_spec(fields["code"], cols, field="code") if "code" in fields else (lambda row: "")
        self.display = compile_spec(fields["display"], cols, field="display") if "display" in fields else (
            lambda row: "")
        self.status = compile_spec(fields["status"], cols, field="status") if "status" in fields else None
        status_spec = fields.get("status")
        # The file's own values of a mapped status ({"1": "active", "0": "inactive"}), to name them in errors.
        self.status_map = dict(status_spec["map"]) if isinstance(status_spec, dict) and status_spec.get("map") else None
        self.parents = compile_spec(fields["parents"], cols, multi=True, field="parents") if "parents" in fields \
            else None
        self.texts_stripped = (("code" not in fields or _stripped(self.code))
                               and ("display" not in fields or _stripped(self.display))
                               and (self.status is None or _stripped(self.status)))
        self.canonical = True
        self.designations = []
        for i, d in enumerate(fields.get("designations") or []):
            spec = {"column": d} if isinstance(d, str) else d
            lang, use = spec.get("language", language), spec.get("use", "synonym")
            try:  # what normalize_entry makes of them, once per file instead of once per row
                lang, use = _text(lang, "designations") or None, _text(use, "designations") or "synonym"
            except EntryError:
                self.canonical = False
            self.designations.append((compile_spec(spec, cols, multi=True, field=f"designations[{i}]"), lang, use))
        self.attributes = []
        for name, spec in (fields.get("attributes") or {}).items():
            spec = {"column": spec} if isinstance(spec, str) else spec
            column = self.columns.get(f"attributes.{name}", name)
            # several XML matches are joined (" | "), not cut to the first
            get = compile_spec(spec, cols, multi=paths, field=f"attributes.{name}")
            self.attributes.append((name, get, spec.get("type", "string"), spec, column))
        names = [a[0] for a in self.attributes]
        if not all(n.__class__ is str for n in names):
            self.canonical = False
        # normalize_entry sorts attributes by name; a profile listing them out of order gets them sorted here
        self.sorted_attributes = sorted(names) if self.canonical and names != sorted(names) else None
        self.simple = self._simple_layout(fields)
        # XML paths of code and display must match one element per record: (field, cell index, path, may be missing)
        self.single = []
        for name in ("code", "display") if paths else ():
            spec = {"path": fields[name]} if isinstance(fields.get(name), str) else fields.get(name) or {}
            path = spec.get("path") or spec.get("column")
            if path:
                may_be_missing = bool(spec.get("optional") or spec.get("default") or spec.get("fallback") is not None)
                self.single.append((name, cols.find(path, optional=True), path, may_be_missing))

    def _simple_layout(self, fields: dict):
        """For the commonest profile (each field one column of text, no parents or designations): a row
        builder compiled for its columns (importers.compiled), so the mapper takes a row in one call. None
        for anything else."""
        if not self.canonical or "code" not in fields or self.parents is not None or self.designations:
            return None
        getters = [self.code, self.display] + ([self.status] if self.status is not None else [])
        attributes = sorted((name, get) for name, get, kind, _, _ in self.attributes if kind == "string")
        if len(attributes) != len(self.attributes):
            return None
        getters += [get for _, get in attributes]
        indexes = [getattr(g, "column_index", None) for g in getters]
        if None in indexes or "display" not in fields:
            return None
        self.layout = (indexes, self.status is not None, tuple(name for name, _ in attributes))
        return compile_row_builder(*self.layout)


class Mapper:
    """Maps records of one file (one sheet) to entries with `_pos`, following a profile."""

    def __init__(self, profile: Profile, header: list[str], findings: Findings, *, sheet: str | None = None,
                 header_row: int | None = None, language: str | None = None, known_columns: bool = True,
                 paths: bool = False):
        self.profile = profile
        self.findings = findings
        self.file = findings.file
        self.sheet = sheet
        cols = Columns(header)
        self.cols = cols
        base = dict(profile.fields)
        h = profile.hierarchy
        self.enclosing = bool(h.get("enclosing", profile.format == "xml"))
        self.default = FieldSet(base, cols, language, h, self.enclosing, paths)
        self.variants = []
        for variant in profile.variants:
            merged = dict(base)
            merged.update(variant["fields"])
            conds = [compile_condition(c, cols) for c in variant["when"]]
            self.variants.append((conds, FieldSet(merged, cols, language, h, self.enclosing, paths)))
        self.skips = [compile_condition(rule, cols) for rule in profile.read.get("skip") or []]
        self.fill_down = [i for i in (cols.find(name) for name in profile.read.get("fill_down") or []) if i is not None]
        self.above = [""] * len(self.fill_down)  # the last non-empty value of each fill_down column
        self.predicate_hint = "[@lang='ru'], or [1] for the first" if profile.format == "xml" else \
            "[lang=ru], or [0] for the first"
        self.id_get = _cell_getter(cols.find(h["id"])) if h.get("id") else None
        self.parent_id_get = _cell_getter(cols.find(h["parent_id"])) if h.get("parent_id") else None
        # Values the hierarchy step reads after mapping: a level column, a list of children.
        self.extras = [(key, _cell_getter(cols.find(h[name]))) for key, name in (("_level", "level"),
                                                                                 ("_children", "children"))
                       if h.get(name)]
        # Entries that `finish` rewrites after mapping (buffered hierarchy and duplicate rules) stay loose dicts.
        self.canonical = not needs_buffer(profile) and not self.extras
        # ... and entries that no later step changes in place may carry their stored parts (EncodedEntry).
        self.encoded = self.canonical and not profile.side_files and not any(
            h.get(rule) for rule in ("code_levels", "parent_pattern", "level"))
        header_pos = Position(self.file, sheet, header_row)
        if known_columns:
            self._check_header(header, header_pos)

    def _check_header(self, header: list[str], pos: Position) -> None:
        """Missing columns are errors; a header sharing no column with the profile is a wrong header."""
        missing = self.cols.missing
        if missing:
            from importers.table import preview
            present = preview([h for h in header if h]) or "(empty)"
            referenced = self.profile.referenced_columns()
            if len(missing) >= len([c for c in referenced if c]) or not self.cols.used:
                self.findings.error(pos.problem(
                    f"wrong header: profile {self.profile.name} expects columns {', '.join(missing)}; "
                    f"the file has {present}{_delimiter_hint(header)}", kind="wrong_header"))
            else:
                for name in missing:
                    self.findings.error(pos.problem(f"missing column {name!r} (the header has {present})"
                                                    f"{_did_you_mean(name, header)}", column=name,
                                                    kind="missing_column"))
            self.findings.raise_if_errors()
        for name, places in self.cols.ambiguous.items():
            self.findings.error(pos.problem(
                f"column {name!r} appears {len(places)} times in the header (columns "
                f"{', '.join(str(i + 1) for i in places)}): rename all but one, so the profile reads the right one",
                column=name, kind="ambiguous_column"))
        self.findings.raise_if_errors()
        unknown = [h for i, h in enumerate(header) if h and i not in self.cols.used]
        expected = self.profile.read.get("columns")
        if expected and self.profile.read.get("header") is not False:
            unknown = [h for h in header if h and h not in expected]
        policy = self.profile.read.get("unknown_columns", "ignore")
        if unknown and policy != "ignore":
            problem = pos.problem(f"unknown column(s) {', '.join(unknown)} not used by profile {self.profile.name}",
                                  column=unknown[0], kind="unknown_column")
            if policy == "error":
                self.findings.error(problem)
                self.findings.raise_if_errors()
            else:
                self.findings.warn(problem)

    def _check_single(self, fs: FieldSet, row: list, pos: Position) -> None:
        """A code or display path matching several elements of a record, or none, is an error, not a guess."""
        for name, i, path, may_be_missing in fs.single:
            value = row[i] if i is not None and i < len(row) else None
            if isinstance(value, list):
                self.findings.error(pos.problem(
                    f"the {name} path {path!r} matches {len(value)} elements in this record, not one: make it "
                    f"select one (a predicate such as {self.predicate_hint})", column=path,
                    kind="ambiguous_path"))
            elif value is None and not may_be_missing:
                todo = ("declare it optional = true, or give a default, if records may lack it" if name != "code"
                        else f"records without a code are no entries: drop them with [read].skip = "
                             f"[{{ column = \"{path}\", empty = true }}]")
                self.findings.error(pos.problem(f"the {name} path {path!r} matches nothing in this record ({todo})",
                                                column=path, kind="missing_path"))

    def fieldset(self, row: list) -> FieldSet:
        """The variant whose conditions hold for this record (the profile's fields otherwise)."""
        for conds, fs in self.variants:
            if all(c(row) for c in conds):
                return fs
        return self.default

    def code_of(self, row: list) -> str:
        """The code a record maps to (used for XML enclosing records)."""
        value = self.fieldset(row).code(row)
        return value if isinstance(value, str) else ""

    def entry(self, row: list, row_id, parent_row: list | None = None) -> dict | None:
        """The entry of one record, or None for a skipped or blank record (or one whose transform failed)."""
        try:
            return self._entry(row, row_id, parent_row)
        except TransformError as exc:
            pos = Position(self.file, self.sheet, row_id, self.fieldset(row).columns)
            self.findings.error(pos.problem(f"{exc.message} (field {exc.field}, transform {exc.transform})",
                                            column=pos.column_for(exc.field), kind="transform"))
            return None

    def direct(self) -> bool:
        """Whether every record goes straight to the compiled row builder: one field set, no per-record
        rules before it (fill_down, skip, variants, XML path checks), and entries nothing changes later."""
        fs = self.default
        return (fs.simple is not None and self.encoded and not self.variants and not self.skips
                and not self.fill_down and not fs.single)

    def entries_direct(self, rows) -> Iterator[dict]:
        """The entries of `rows` (row, cells, parent record) by the compiled builder, as `entry` would map them.

        A record the builder declines (blank, a cell not text, an empty code, an unknown status) goes the
        general way through `entry`, which also reports its problems.
        """
        build, entry, enclosing = self.default.simple, self.entry, self.enclosing
        file, sheet, columns = self.file, self.sheet, self.default.columns
        for record in rows:
            if record.__class__ is EncodedBlock:  # rows built by columns (importers.columnar), staged whole
                yield record
                continue
            row_id, cells, parent = record
            e = build(cells, Position(file, sheet, row_id, columns)) if parent is None or not enclosing else None
            if e is None:
                e = entry(cells, row_id, parent)
                if e is None:
                    continue
            yield e

    def _fill_down(self, row: list) -> list:
        """The record with each empty `fill_down` cell given the last value above it (a skipped record's too)."""
        row = list(row)
        for k, i in enumerate(self.fill_down):
            value = row[i] if i < len(row) else ""
            if isinstance(value, str) and value.strip():
                self.above[k] = value
            elif self.above[k]:
                if i >= len(row):
                    row += [""] * (i + 1 - len(row))
                row[i] = self.above[k]
        return row

    def _entry(self, row: list, row_id, parent_row: list | None = None) -> dict | None:
        if not any(row):
            return None
        if self.fill_down:
            row = self._fill_down(row)
        for skip in self.skips:
            if skip(row):
                return None
        fs = self.fieldset(row)
        pos = Position(self.file, self.sheet, row_id, fs.columns)
        if fs.single:
            self._check_single(fs, row, pos)
        if fs.simple is not None and self.canonical and (parent_row is None or not self.enclosing):
            entry = fs.simple(row, pos)
            if entry is not None:
                # An entry the hierarchy or side-file step may still change must not carry stored parts.
                return entry if self.encoded else CanonicalEntry(entry)
        attributes = {}
        for name, get, kind, spec, column in fs.attributes:
            value = get(row)
            if isinstance(value, list):
                value = spec.get("join", " | ").join(value)
            if kind != "string" and value != "":
                try:
                    value = convert(value, kind, spec)
                except ValueProblem as exc:
                    self.findings.error(pos.problem(f"{exc} (attribute {name})", column=column, kind="wrong_type"))
                    continue
            if value != "" and value is not None:
                attributes[name] = value
        if fs.sorted_attributes is not None and attributes:
            attributes = {k: attributes[k] for k in fs.sorted_attributes if k in attributes}
        designations = []
        for get, language, use in fs.designations:
            for text in get(row):
                designations.append({"language": language, "use": use, "text": text})
        parents = fs.parents(row) if fs.parents else []
        if not parents and parent_row is not None and self.enclosing:
            code = self.code_of(parent_row)
            parents = [code] if code else []
        code, display = fs.code(row), fs.display(row)
        status = fs.status(row) if fs.status else "active"
        if fs.status_map and isinstance(status, str) and status.strip() and status.strip() not in STATUSES:
            values = ", ".join(f"{k} ({v})" for k, v in fs.status_map.items())
            self.findings.error(pos.problem(f"{status.strip()!r} is not a status value of profile {self.profile.name}, "
                                            f"which knows {values}", column=pos.column_for("status"),
                                            code=str(code).strip() or None, kind="wrong_type"))
            status = "active"  # the import is refused already; staging the row on keeps its code for its children
        if self.id_get is not None or self.extras:
            entry = {"code": code, "display": display, "designations": designations, "parents": parents,
                     "status": status, "attributes": attributes, "_pos": pos}
            if self.id_get is not None:
                entry["_id"] = str(self.id_get(row) or "").strip()
                entry["_parent_id"] = str(self.parent_id_get(row) or "").strip()
            for key, get in self.extras:
                entry[key] = get(row)
            return entry
        if self.canonical and fs.canonical:
            entry = canonical_entry(code, display, status, designations, parents, attributes, pos,
                                     fs.texts_stripped)
            if entry is not None:
                return entry
        return {"code": code, "display": display, "designations": designations, "parents": parents,
                "status": status, "attributes": attributes, "_pos": pos}


def _delimiter_hint(header: list[str]) -> str:
    """For a header read as one column that holds another delimiter: say so (the wrong [read].delimiter)."""
    cells = [h for h in header if h]
    if len(cells) != 1:
        return ""
    for char, name in (("\t", "tabs"), (";", "semicolons"), (",", "commas"), ("|", "bars")):
        if char in cells[0]:
            return f" (one column holding {name}: is [read].delimiter right?)"
    return ""


def _did_you_mean(name: str, header: list[str]) -> str:
    """`: a misspelling of 'СТАТУС'?` when one header cell is close to a missing column's name (else nothing)."""
    import difflib
    if name.startswith("$"):
        return f": the header has {len(header)} columns, so {name} is past the last one"
    close = difflib.get_close_matches(name, [h for h in header if h], n=1, cutoff=0.75)
    return f": a misspelling of {close[0]!r}?" if close else ""


def map_rows(table, profile: Profile, findings: Findings, language: str | None) -> Iterator[dict]:
    """The entries of a Table (see importers.table) mapped by `profile`, before its hierarchy and duplicate rules."""
    mapper = Mapper(profile, table.header, findings, sheet=table.sheet, header_row=table.header_row,
                    language=language, known_columns=table.known_columns, paths=table.paths)
    rows = watch_paths(table.rows, table.header, profile, findings) if table.paths else table.rows
    if mapper.direct():
        by_columns = table.extra.get("by_columns")
        if by_columns is not None and findings.takes_blocks:
            from importers.columnar import compile_block_builder
            rows = by_columns(compile_block_builder(*mapper.default.layout, mapper.file, mapper.sheet,
                                                    mapper.default.columns))
        return mapper.entries_direct(rows)
    return (e for e in (mapper.entry(cells, row, parent) for row, cells, parent in rows) if e is not None)


def map_table(table, profile: Profile, findings: Findings, language: str | None) -> Iterator[dict]:
    """The entries of a Table (see importers.table) mapped by `profile`, after its hierarchy and duplicate rules."""
    return finish_hierarchy(map_rows(table, profile, findings, language), profile, findings, language)
