"""Column names: resolving a profile's columns in a file's header, and naming them back in problems.

`Columns` finds the cell index of each column a profile names (exactly, then
ignoring case and surrounding spaces, then `$C` as the column's letter when no
header is called so). `source_columns` says, for one field
set, which column of the file each canonical field comes from, spelled as the
file's header spells it; the mapper puts that dict on every Position, so the
store and the hierarchy step, which check canonical fields (code, parents,
status, attributes), name the column the operator has to fix: `MKB_CODE`
rather than `code`.
"""

from __future__ import annotations

from importers.sheet_layout import letter_index


class Columns:
    """Resolves column names of specs to cell indexes, recording missing ones."""

    def __init__(self, header: list[str]):
        self.header = header
        self.index: dict[str, int] = {}
        for i, name in enumerate(header):
            self.index.setdefault(name, i)
        self.folded = {name.strip().lower(): i for i, name in reversed(list(enumerate(header)))}
        self.missing: list[str] = []
        self.used: set[int] = set()
        self.ambiguous: dict[str, list[int]] = {}  # a column used by the profile that the header has twice or more
        self._places: dict[str, list[int]] = {}
        for i, name in enumerate(header):
            if name:
                self._places.setdefault(name.strip().lower(), []).append(i)

    def _lookup(self, name: str) -> int | None:
        i = self.index.get(name)
        if i is None:
            i = self.folded.get(name.strip().lower())
        if i is None and name.startswith("$"):  # a column by its letter, `$C`, when no header is called that
            i = letter_index(name)
            if i is not None and i >= len(self.header):  # past the last column: nothing there, a missing column
                i = None
        return i

    def find(self, name: str, optional: bool = False) -> int | None:
        """Index of column `name` (exact, then case- and space-insensitive); None and noted if missing."""
        i = self._lookup(name)
        if i is None:
            if not optional and name not in self.missing:
                self.missing.append(name)
            return None
        self.used.add(i)
        places = self._places.get(self.header[i].strip().lower(), []) if i < len(self.header) else []
        if len(places) > 1:
            self.ambiguous[self.header[i]] = places
        return i

    def spelled(self, name: str) -> str:
        """Column `name` as the file's header spells it (`mkb_code` for a profile's `MKB_CODE`); else as given."""
        i = self._lookup(name)
        return self.header[i] if i is not None and i < len(self.header) and self.header[i] else name


def spec_columns(spec, cols: Columns) -> str | None:
    """The file column(s) a field spec reads, for messages: "A", "A or B" (columns, fallback), "A + B" (hash).

    None for a constant (`value`), which no column of the file can fix.
    """
    if isinstance(spec, str):
        return cols.spelled(spec)
    if not isinstance(spec, dict):
        return None
    names = []
    if spec.get("column") or spec.get("path"):
        names.append(cols.spelled(spec.get("column") or spec.get("path")))
    names += [cols.spelled(c) for c in spec.get("columns") or []]
    if spec.get("hash"):
        names.append(" + ".join(cols.spelled(c) for c in spec["hash"]))
    if spec.get("fallback") is not None:
        names.append(spec_columns(spec["fallback"], cols))
    names = [n for n in names if n]
    return " or ".join(dict.fromkeys(names)) or None


def source_columns(fields: dict, cols: Columns, hierarchy: dict, enclosing: bool = False) -> dict[str, str]:
    """Canonical field -> the file's column for one field set (see the module docstring and Position.columns).

    Parents that the hierarchy rules take from row identifiers are named by the
    parent identifier column (FNSI `ID_PARENT`); parents cut from the code
    (`code_levels`, `code_prefix`) by the code column; parents that nested XML
    records take from the record around them, by that record's code path.
    """
    out: dict[str, str] = {}
    for name in ("code", "display", "status", "parents"):
        if name in fields:
            column = spec_columns(fields[name], cols)
            if column:
                out[name] = column
    for name, spec in (fields.get("attributes") or {}).items():
        column = spec_columns(spec, cols)
        if column:
            out[f"attributes.{name}"] = column
    if hierarchy.get("id"):
        out["hierarchy.id"] = cols.spelled(hierarchy["id"])
        out["hierarchy.parent_id"] = cols.spelled(hierarchy["parent_id"])
    for key in ("level", "children"):
        if hierarchy.get(key):
            out[f"hierarchy.{key}"] = cols.spelled(hierarchy[key])
    if "parents" not in out:
        if hierarchy.get("parent_id"):
            out["parents"] = out["hierarchy.parent_id"]
        elif (hierarchy.get("code_levels") or hierarchy.get("code_prefix") or hierarchy.get("parent_pattern")) \
                and "code" in out:
            out["parents"] = out["code"]
        elif enclosing and "code" in out:
            out["parents"] = f"{out['code']} of the enclosing record"
    return out
