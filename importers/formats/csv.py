"""Delimited text (CSV, TSV, `;`-separated): read with a profile, or the registry's own CSV export without one."""

from __future__ import annotations

import codecs
import csv
from typing import Iterator

from registry.errors import ImportRejected, Position, Problem
from importers import columnar
from importers.findings import Findings
from importers.mapper import map_table
from importers.profile import Profile
from importers.source import Source, parse_json
from importers.table import Table, clean_cells, preview

csv.field_size_limit(1 << 24)
DELIMITERS = ";,\t|"


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
    clean = clean_cells(profile)
    width = len(header)
    records = _records(source, findings, delimiter, width, clean)

    def rows():
        try:
            if pending is not None:
                yield first_row, (clean(pending) if clean else pending), None
            yield from records(reader, 0)
        finally:
            f.close()
    extra = {"delimiter": delimiter, "encoding": codec}
    if (pending is None and not skip_before and not blank and first_row == 1 and clean is None
            and len(delimiter) == 1 and delimiter.isascii() and delimiter not in '"\r\n'  # polars takes one byte
            and read.get("quotechar", '"') == '"' and codecs.lookup(codec).name in ("utf-8", "utf-8-sig")
            and source.path.stat().st_size >= columnar.MIN_BYTES and (offset := _header_bytes(source.path))):
        def by_columns(build_block):
            """The records from line 2 on, in blocks built by `build_block` where they can be (importers.columnar)."""
            f.close()
            return columnar.block_records(source.path, offset, 2, delimiter, width, build_block,
                                          lambda lines, before: records(csv.reader(
                                              lines, delimiter=delimiter, quotechar='"', strict=True), before))
        extra["by_columns"] = by_columns
    return Table(header, rows(), header_row=header_row, extra=extra)


def _header_bytes(path) -> int:
    """The length in bytes of the file's first line, if it ends as the csv module ends it (a LF or CRLF, no CR
    before); else 0 (a lone CR ends the header for the csv module, not for a byte reader: no columnar path)."""
    with open(path, "rb") as raw:
        line = raw.readline()
    body = line[:-2] if line.endswith(b"\r\n") else line[:-1]
    return len(line) if line.endswith(b"\n") and b"\r" not in body else 0


def _records(source: Source, findings: Findings, delimiter: str, width: int, clean):
    """A function (csv reader, lines before its first) -> the records it reads: blank lines skipped, a row of
    the wrong shape reported, a csv error refused, each row numbered by its line in the file."""

    def records(reader, before: int):
        start = before + reader.line_num + 1
        try:
            for cells in reader:
                if _is_blank(cells):  # a blank or white-space line is no row
                    start = before + reader.line_num + 1
                    continue
                short = len(cells) < width
                if short or len(cells) > width and any(c.strip() for c in cells[width:]):
                    findings.error(Position(source.name, None, before + reader.line_num).problem(
                        f"the row has {len(cells)} values but the header has {width} columns "
                        f"({_shape_hint(short, delimiter)})", kind="wrong_shape"))
                    start = before + reader.line_num + 1
                    continue
                yield before + reader.line_num, (clean(cells) if clean else cells), None
                start = before + reader.line_num + 1
        except csv.Error as exc:
            raise ImportRejected([Problem(_csv_error(str(exc), delimiter), file=source.name, row=start,
                                          kind="syntax")]) from None
    return records


def _is_blank(cells: list[str]) -> bool:
    """Whether a CSV record holds nothing but white space (an empty line, `  `, or only delimiters)."""
    # The first cell (a code, usually) settles most rows; joining the cells is one C call for the rest.
    return not (cells and (cells[0].strip() or "".join(cells).strip()))


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


READS = "CSV text"
FIELDS_REQUIRED = True  # when a profile is given
READ_KEYS = {"delimiter", "quotechar", "header", "header_row", "columns", "fill_down"}


def sniff(source: Source) -> bool:
    """A file named .csv, .txt or .tsv."""
    return source.path.suffix.lower() in (".csv", ".txt", ".tsv")


def read(source: Source, profile: Profile | None, findings: Findings, language: str | None) -> Iterator[dict]:
    """The entries of a CSV file: mapped by the profile, or the registry's own CSV export without one."""
    if profile is None:
        return read_canonical(source, findings)
    return map_table(read_csv(source, profile, findings), profile, findings, language)


def read_canonical(source: Source, findings: Findings) -> Iterator[dict]:
    """The registry's own CSV export (code, display, parents, status, designations, attributes) read back."""
    from registry.exports import CSV_COLUMNS
    table = read_csv(source, None, findings, encoding="utf-8")
    missing = [c for c in ("code", "display") if c not in table.header]
    if missing:
        raise ImportRejected([Position(source.name, None, table.header_row).problem(
            f"wrong header: a CSV without a profile must have the columns {', '.join(CSV_COLUMNS)} "
            f"(the file has {preview(table.header)}); give --profile for other layouts", kind="wrong_header")])
    idx = {name: i for i, name in enumerate(table.header)}

    def cell(cells, name):
        i = idx.get(name)
        return cells[i] if i is not None and i < len(cells) else ""

    for row, cells, _ in table.rows:
        pos = Position(source.name, None, row)
        entry = {"code": cell(cells, "code").lstrip("'") if cell(cells, "code").startswith("'=") else
                 cell(cells, "code"), "display": cell(cells, "display"),
                 "parents": [p for p in cell(cells, "parents").split("|") if p],
                 "status": cell(cells, "status") or "active", "_pos": pos}
        for name in ("designations", "attributes"):
            text = cell(cells, name)
            empty = [] if name == "designations" else {}
            value, reason = parse_json(text) if text else (empty, None)
            if reason:
                findings.error(pos.problem(reason, column=name, kind="syntax"))
            entry[name] = empty if reason else value
        yield entry
