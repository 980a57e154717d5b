"""The read step for tabular sources: CSV/text, XLSX, XML records and JSON row lists.

Each reader returns a `Table`: the header (column names, or the XML paths the
profile uses) and a stream of records `(row, cells, enclosing_cells)`, where
`row` is what an operator looks for in the file (CSV line, spreadsheet row,
XML line) and `enclosing_cells` is the enclosing XML record, if any. Readers
stream with bounded memory: csv module, calamine row iterator, lxml
iterparse with element clearing.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Iterator

from registry.errors import ImportRejected, Position, Problem
from importers.mapping import Findings
from importers.profile import Profile
from importers.source import Source

csv.field_size_limit(1 << 24)
DELIMITERS = ";,\t|"


@dataclass
class Table:
    """A header plus a stream of records, with where they come from."""

    header: list[str]
    rows: Iterator[tuple]
    header_row: int | None = None
    sheet: str | None = None
    known_columns: bool = True
    extra: dict = field(default_factory=dict)


def _clean_cells(profile: Profile | None):
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


def sniff_delimiter(line: str) -> str:
    """The likeliest delimiter of a CSV line: the candidate occurring most often outside quotes."""
    outside, quoted = [], False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(ch)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def preview(cells: list[str], limit: int = 120) -> str:
    """The cells of a row joined for an error message, cut to `limit` characters."""
    text = ", ".join(cells)
    return text if len(text) <= limit else text[:limit] + "..."


def _looks_like_header(cells: list[str], expected: list[str]) -> bool:
    folded = {c.strip().lower() for c in expected}
    hits = sum(1 for c in cells if c.strip().lower() in folded)
    return hits >= max(1, len([c for c in cells if c.strip()]) // 2)


def read_csv(source: Source, profile: Profile | None, findings: Findings, *, default_delimiter: str = ",",
             encoding: str | None = None) -> Table:
    """Read a delimited text file as a Table, following the profile's [read] section."""
    read = profile.read if profile else {}
    codec, warning = source.detect_encoding(encoding or read.get("encoding", "auto"))
    if warning:
        findings.warn(Problem(warning, file=source.name, kind="encoding"))
    f = open(source.path, encoding=codec, newline="")
    first_line = next((line for line in f if line.strip()), "")
    f.seek(0)
    delimiter = read.get("delimiter", default_delimiter)
    if delimiter == "auto":
        delimiter = sniff_delimiter(first_line)
    reader = csv.reader(f, delimiter=delimiter, quotechar=read.get("quotechar", '"'), strict=True)
    header_setting = read.get("header", True)
    columns = list(read.get("columns") or [])
    skip_before = (read.get("header_row") or 1) - 1
    blank: list[int] = []  # lines before the header (or the first row) that hold nothing
    try:
        for _ in range(skip_before):
            next(reader, None)
        for first in reader:
            if not _is_blank(first):
                break
            blank.append(reader.line_num)
        else:
            first = None
    except csv.Error as exc:
        f.close()
        raise ImportRejected([Problem(_csv_error(str(exc), delimiter), file=source.name, row=reader.line_num,
                                      kind="syntax")]) from None
    if first is None:
        f.close()
        raise ImportRejected([Problem("the file holds only blank lines" if blank else "the file holds no rows",
                                      file=source.name, kind="empty")])
    if blank:
        where = "the header" if header_setting is not False else "the first row"
        findings.warn(Problem(f"a blank line before {where} was skipped" if len(blank) == 1 else
                              f"{len(blank)} blank lines before {where} (rows {blank[0]}-{blank[-1]}) were skipped",
                              file=source.name, row=blank[0], kind="blank_lines"))
    first_row = reader.line_num
    pending: list | None = None
    header_row: int | None = first_row
    if header_setting is False:
        header, pending, header_row = columns, first, None
    elif header_setting == "auto":
        if _looks_like_header(first, columns):
            header = [c.strip() for c in first]
        elif len(first) == len(columns) and not _looks_like_identifiers(first):
            header, pending, header_row = columns, first, None
        else:
            f.close()
            raise ImportRejected([Position(source.name, None, reader.line_num).problem(
                f"wrong header: expected the columns {', '.join(columns)} (or no header and {len(columns)} values "
                f"per row); the first row is {preview(first)}", kind="wrong_header")])
    else:
        header = [c.strip() for c in first]
        header[0] = header[0].lstrip("\ufeff")
    clean = _clean_cells(profile)
    width = len(header)

    def rows():
        start = reader.line_num + 1
        try:
            if pending is not None:
                yield first_row, (clean(pending) if clean else pending), None
            for cells in reader:
                if _is_blank(cells):  # a blank or white-space line is no row
                    start = reader.line_num + 1
                    continue
                short = len(cells) < width
                if short or len(cells) > width and any(c.strip() for c in cells[width:]):
                    findings.error(Position(source.name, None, reader.line_num).problem(
                        f"the row has {len(cells)} values but the header has {width} columns "
                        f"({_shape_hint(short, delimiter)})", kind="wrong_shape"))
                    start = reader.line_num + 1
                    continue
                yield reader.line_num, (clean(cells) if clean else cells), None
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ImportRejected([Problem(_csv_error(str(exc), delimiter), file=source.name, row=start,
                                          kind="syntax")]) from None
        finally:
            f.close()
    return Table(header, rows(), header_row=header_row, extra={"delimiter": delimiter, "encoding": codec})


def _is_blank(cells: list[str]) -> bool:
    """Whether a CSV record holds nothing but white space (an empty line, `  `, or only delimiters)."""
    return not any(c.strip() for c in cells)


def _shape_hint(short: bool, delimiter: str) -> str:
    if short:
        return "a line break inside a value that is not quoted, or missing delimiters?"
    return f"wrong delimiter or unquoted {delimiter!r}?"


def _csv_error(reason: str, delimiter: str) -> str:
    """The csv module's complaint in words an operator can act on."""
    if reason == "unexpected end of data":
        return ("a quoted value that starts on this row is never closed: it runs to the end of the file "
                "(a missing closing quote)")
    if "expected after" in reason:
        return (f"a quote inside a quoted value is not doubled (write \"\" for a literal quote), or a closing quote "
                f"is followed by text before the next {delimiter!r}")
    return f"not a readable CSV file: {reason}"


def _looks_like_identifiers(cells: list[str]) -> bool:
    """A first row made only of names (letters, digits, '_', ' ') with a letter first looks like a header."""
    filled = [c.strip() for c in cells if c.strip()]
    return bool(filled) and all(c[0].isalpha() and all(ch.isalnum() or ch in "_ " for ch in c) for c in filled) \
        and not any(c.isdigit() for c in filled)


def cell_text(value) -> str:
    """A spreadsheet cell as text: integral numbers without '.0', dates in ISO form, empty for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_xlsx(source: Source, profile: Profile | None, findings: Findings) -> Table:
    """Read one sheet of an xlsx workbook with calamine after the zip-bomb check."""
    from python_calamine import CalamineWorkbook
    from importers.safety import check_xlsx
    check_xlsx(source)
    read = profile.read if profile else {}
    try:
        book = CalamineWorkbook.from_path(str(source.path))
    except Exception as exc:  # calamine raises its own error types for damaged workbooks
        raise ImportRejected([Problem(f"not a readable xlsx workbook: {exc}", file=source.name,
                                      kind="syntax")]) from None
    names = book.sheet_names
    wanted = read.get("sheet")
    if wanted is None:
        if not names:
            raise ImportRejected([Problem("the workbook has no sheets", file=source.name, kind="empty")])
        wanted = names[0]
    elif wanted not in names:
        raise ImportRejected([Problem(f"no sheet {wanted!r} in the workbook (sheets: {', '.join(names)})",
                                      file=source.name, sheet=wanted, kind="missing_sheet")])
    try:
        sheet = book.get_sheet_by_name(wanted)
        start_row = (sheet.start or (0, 0))[0]
        rows_iter = iter(sheet.iter_rows())
    except Exception as exc:
        raise ImportRejected([Problem(f"cannot read sheet {wanted!r}: {exc}", file=source.name, sheet=wanted,
                                      kind="syntax")]) from None
    header_row = read.get("header_row") or 1
    columns = list(read.get("columns") or [])
    number = start_row
    header: list[str] = []
    pending = None
    if read.get("header", True) is False:
        header, header_row = columns, None
    else:
        for cells in rows_iter:
            number += 1
            if number == header_row:
                header = [cell_text(c).strip() for c in cells]
                break
        if not header:
            raise ImportRejected([Problem(f"the sheet has no row {header_row} to read the header from",
                                          file=source.name, sheet=wanted, kind="empty")])
    clean = _clean_cells(profile)

    def rows():
        nonlocal number
        if pending is not None:
            yield pending
        for cells in rows_iter:
            number += 1
            texts = [c if isinstance(c, str) else cell_text(c) for c in cells]
            yield number, (clean(texts) if clean else texts), None
    return Table(header, rows(), header_row=header_row, sheet=wanted)


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text_of(elem) -> str:
    return " ".join("".join(elem.itertext()).split())


def _path_getter(path: str, namespaces: dict):
    """A function (element, its children by tag) → the value of a relative path on a record element.

    Paths: 'name()' (the element's name), '@attr', 'child', 'a/b', 'a/b/@attr'
    (prefixes as declared in [read].namespaces). Several matches give a list of
    texts, one match a text, none "".
    """
    if path == "name()":
        return lambda elem, children: _local(elem.tag)
    if path.startswith("@"):
        name = path[1:]
        return lambda elem, children: elem.get(name, "")
    attr = None
    if "/@" in path:
        path, attr = path.rsplit("/@", 1)

    def clark(step):
        if ":" in step:
            prefix, local = step.split(":", 1)
            return f"{{{namespaces.get(prefix, prefix)}}}{local}"
        return step
    steps = [clark(s) for s in path.split("/") if s]
    first, rest = steps[0], steps[1:]

    def get(elem, children):
        nodes = children.get(first, ())
        for step in rest:
            nodes = [c for n in nodes for c in n if c.tag == step]
        if not nodes:
            return ""
        values = [v for v in ((n.get(attr, "") if attr else _text_of(n)) for n in nodes) if v]
        if not values:
            return ""
        return values[0] if len(values) == 1 else values
    return get


def read_xml(source: Source, profile: Profile, findings: Findings) -> Table:
    """Stream the record elements of an XML file; each record's cells are the profile's paths evaluated on it.

    A record nested in another record knows the enclosing one (for the
    parent link). Finished records are removed from the tree, so memory stays
    bounded by the depth of nesting, not the size of the file.
    """
    from importers.safety import iterparse
    read = profile.read
    namespaces = read.get("namespaces") or {}
    record_tags = set(read["records"])
    paths = profile.referenced_columns()
    getters = [_path_getter(p, namespaces) for p in paths]
    wanted = [namespaces.get(t.split(":", 1)[0], "") and f"{{{namespaces[t.split(':', 1)[0]]}}}{t.split(':', 1)[1]}"
              if ":" in t else t for t in record_tags]

    def is_record(elem) -> bool:
        return _local(elem.tag) in record_tags or elem.tag in record_tags

    def cells_of(elem):
        children: dict = {}
        for child in elem:
            children.setdefault(child.tag, []).append(child)
        return [g(elem, children) for g in getters]

    def rows():
        partial: dict = {}
        for _, elem in iterparse(source, tags=wanted, events=("end",)):
            enclosing = next((a for a in elem.iterancestors() if is_record(a)), None)
            parent_cells = None
            if enclosing is not None:
                key = id(enclosing)
                parent_cells = partial.get(key)
                if parent_cells is None:
                    parent_cells = partial[key] = cells_of(enclosing)
            partial.pop(id(elem), None)
            yield elem.sourceline, cells_of(elem), parent_cells
            parent = elem.getparent()
            elem.clear()
            if parent is not None:
                parent.remove(elem)
    return Table(paths, rows(), header_row=None, known_columns=False)


def _json_kind(value) -> str:
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
            raise ImportRejected([Problem(f"{expected}; this record is {_json_kind(r)}",
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
        return str(v)

    def rows():
        for i, r in enumerate(data, 1):
            yield f"record {i}", [text(r.get(k)) for k in header], None
    return Table(header, rows(), header_row=None)
