"""Tables: what the tabular readers (CSV, xlsx, XML records, JSON row lists) hand to the mapper.

Each reader returns a `Table`: the header (column names, or the XML paths the
profile uses) and a stream of records `(row, cells, enclosing_cells)`, where
`row` is what an operator looks for in the file (CSV line, spreadsheet row,
XML line) and `enclosing_cells` is the enclosing XML record, if any. Readers
stream with bounded memory: csv module, calamine row iterator, lxml
iterparse with element clearing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterator

from registry.errors import ImportRejected, Problem
from importers.findings import Findings
from importers.profile import Profile
from importers.source import Source

@dataclass
class Table:
    """A header plus a stream of records, with where they come from."""

    header: list[str]
    rows: Iterator[tuple]
    header_row: int | None = None
    sheet: str | None = None
    known_columns: bool = True
    paths: bool = False  # cells are XML path results: None for no match, a list for several
    extra: dict = field(default_factory=dict)


def clean_cells(profile: Profile | None):
    """A function applying the profile's strip_chars and null_values to a row of cells (or None: nothing to do)."""
    read = profile.read if profile else {}
    strip = read.get("strip_chars")
    nulls = set(read.get("null_values") or [])
    if not strip and not nulls:
        return None

    def clean(cells):
        out = []
        for c in cells:
            if strip:
                c = c.strip(strip)
            out.append("" if c in nulls else c)
        return out
    return clean


def preview(cells: list[str], limit: int = 120) -> str:
    """The cells of a row joined for an error message, cut to `limit` characters."""
    text = ", ".join(cells)
    return text if len(text) <= limit else text[:limit] + "..."



def json_kind(value) -> str:
    """What a JSON value is, in JSON's words (`a number`, not Python's `a int`)."""
    if value is None:
        return "null"
    return {bool: "true or false", str: "a string", list: "a list"}.get(type(value), "a number")


def read_json_rows(source: Source, findings: Findings, columns: list[str] | None = None) -> Table:
    """A JSON list of row objects, or {"records": [...]} (FNSI's JSON export), as a Table.

    The header is every key of every record, in first-seen order: FNSI leaves
    out keys whose value is empty, so a column may first appear in any record.
    The file is parsed whole by json anyway; collecting the keys is one more
    pass over the parsed records, not over the file. For the same reason a
    column of the profile's `columns` that no record holds is an empty column,
    as long as the records hold some of the others (records that share none
    of them are another layout, and the mapper says so).
    """
    data = source.load_json()
    if isinstance(data, dict):
        data = data.get("records", data.get("rows", data.get("list")))
    expected = 'expected a JSON list of row objects or {"records": [...]}'
    if not isinstance(data, list):
        raise ImportRejected([Problem(expected, file=source.name, kind="syntax")])
    if not data:
        raise ImportRejected([Problem("the file holds no records", file=source.name, kind="empty")])
    keys: dict[str, None] = {}  # an ordered set: membership is O(1), unlike a list
    for i, r in enumerate(data, 1):
        if not isinstance(r, dict):
            raise ImportRejected([Problem(f"{expected}; this record is {json_kind(r)}",
                                          file=source.name, row=f"record {i}", kind="syntax")])
        for k in r:
            if k not in keys:
                keys[k] = None
    header = list(keys)
    if columns and any(c in keys for c in columns):
        header += [c for c in columns if c not in keys]

    def text(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "1" if v else "0"
        if isinstance(v, (dict, list)):  # as the file writes it, not as Python prints it ("['A00.0', ...]")
            return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
        return str(v)

    def rows():
        for i, r in enumerate(data, 1):
            yield f"record {i}", [text(r.get(k)) for k in header], None
    return Table(header, rows(), header_row=None)
