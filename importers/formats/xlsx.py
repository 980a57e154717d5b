"""xlsx workbooks: one sheet or several (`[[sheets]]`), read with calamine after the zip-bomb check."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, time
from typing import Iterator

from registry.errors import ImportRejected, Problem
from importers import sheet_layout
from importers.findings import Findings
from importers.hierarchy import finish as finish_hierarchy
from importers.mapper import map_rows, map_table
from importers.profile import Profile
from importers.source import Source
from importers.table import Table, clean_cells


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


def open_workbook(source: Source):
    """The workbook, after the zip-bomb check; a damaged one is refused naming the file."""
    from python_calamine import CalamineWorkbook
    from importers.safety import check_xlsx
    check_xlsx(source)
    try:
        return CalamineWorkbook.from_path(str(source.path))
    except Exception as exc:  # calamine raises its own error types for damaged workbooks
        raise ImportRejected([Problem(f"not a readable xlsx workbook: {exc}", file=source.name,
                                      kind="syntax")]) from None


def read_xlsx(source: Source, profile: Profile | None, findings: Findings, book=None) -> Table:
    """Read one sheet of an xlsx workbook (`[read].sheet`, else the first) as a Table, following its layout keys.

    The header is `header_row` (a number, or "auto": the first row naming the
    code and display columns), `header_rows` rows deep (joined, merged cells
    spread over their span; see importers.sheet_layout); rows hidden in the
    workbook are dropped under `skip_hidden`; under `fill_merged`, a cell
    merged over several data rows gives its text to each of them.
    """
    book = book or open_workbook(source)
    read = profile.read if profile else {}
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
        merged = list(sheet.merged_cell_ranges or []) \
            if read.get("header_rows", 1) > 1 or read.get("fill_merged") else []
    except Exception as exc:
        raise ImportRejected([Problem(f"cannot read sheet {wanted!r}: {exc}", file=source.name, sheet=wanted,
                                      kind="syntax")]) from None
    hidden = sheet_layout.hidden_rows(source.path, wanted, source.name) if read.get("skip_hidden") else set()
    columns = list(read.get("columns") or [])
    depth = read.get("header_rows", 1)
    number = start_row  # the 1-based number of the last row taken from rows_iter
    header: list[str] = []
    ahead: list[tuple[int, list[str]]] = []  # rows read to find the header that are data rows after all
    header_row = read.get("header_row") or 1
    if read.get("header", True) is False:
        header, header_row = columns, None
    else:
        limit = sheet_layout.AUTO_HEADER_SEARCH if header_row == "auto" else header_row + depth - 1 - start_row
        for cells in rows_iter:
            number += 1
            ahead.append((number, [cell_text(c) for c in cells]))
            if len(ahead) >= limit:
                break
        if header_row == "auto":
            wanted_columns = referenced_columns(profile)
            at = sheet_layout.find_header(ahead, depth, wanted_columns, merged)
            if at is None:
                raise ImportRejected([Problem(
                    f"no header found: none of the first {len(ahead)} rows names all of the columns "
                    f"{', '.join(c for c in wanted_columns if not c.startswith('$'))} (header_row = \"auto\")",
                    file=source.name, sheet=wanted, kind="wrong_header")])
        else:
            at = header_row - start_row - 1
            if at < 0 or at + depth > len(ahead):
                rows = f"rows {header_row}-{header_row + depth - 1}" if depth > 1 else f"row {header_row}"
                raise ImportRejected([Problem(f"the sheet has no {rows} to read the header from",
                                              file=source.name, sheet=wanted, kind="empty")])
        header_row = ahead[at][0]
        header = sheet_layout.joined_header([c for _, c in ahead[at:at + depth]], header_row - 1, merged) \
            if depth > 1 else [c.strip() for c in ahead[at][1]]
        ahead = ahead[at + depth:]
    clean = clean_cells(profile)
    # Merged ranges are counted from 0; the first data row is the one after the header (row numbers are from 1).
    fill = sheet_layout.merged_filler(merged, header_row + depth - 1 if header_row else start_row) \
        if read.get("fill_merged") else None

    def rows():
        nonlocal number
        for row, texts in ahead:
            if fill:
                texts = fill(row - 1, texts)
            if row not in hidden:
                yield row, (clean(texts) if clean else texts), None
        for cells in rows_iter:
            number += 1
            texts = [c if isinstance(c, str) else cell_text(c) for c in cells]
            if fill:
                texts = fill(number - 1, texts)
            if hidden and number in hidden:
                continue
            yield number, (clean(texts) if clean else texts), None
    return Table(header, rows(), header_row=header_row, sheet=wanted)


def referenced_columns(profile: Profile | None) -> list[str]:
    """The columns of the code and display a profile reads: a header row names them (others may be optional)."""
    if profile is None:
        return []
    seen: dict[str, None] = {}
    for key, name in profile.references():
        if key.startswith(("[fields].code", "[fields].display")):
            seen.setdefault(name, None)
    return list(seen)


READS = "xlsx workbooks"
FIELDS_REQUIRED = True
READ_KEYS = {"sheet", "header", "header_row", "header_rows", "columns", "skip_hidden", "fill_merged", "fill_down"}
NEEDS_PROFILE = "an xlsx file needs a profile (--profile) naming its sheet and columns"


def sniff(source: Source) -> bool:
    """A file named .xlsx, or a zip (which the profile-less import then refuses with NEEDS_PROFILE)."""
    return source.path.suffix.lower() == ".xlsx" or source.starts_with(b"PK")


def read(source: Source, profile: Profile | None, findings: Findings, language: str | None) -> Iterator[dict]:
    """The entries of one sheet, or of every sheet `[[sheets]]` lists, mapped by the profile.

    The sheets of one import are one version: each is mapped with its own
    fields and layout keys (or the profile's), and the hierarchy and duplicate
    rules then see the entries of all of them, so a row on one sheet may have
    its parent on another.
    """
    if not profile.sheets:
        return map_table(read_xlsx(source, profile, findings), profile, findings, language)
    book = open_workbook(source)

    def entries():
        for sheet in profile.sheets:
            own = sheet_profile(profile, sheet)
            yield from map_rows(read_xlsx(source, own, findings, book), own, findings, language)
    return finish_hierarchy(entries(), profile, findings, language)


SHEET_KEYS = {"name", "header_row", "header_rows", "skip", "skip_hidden", "fill_merged", "fill_down", "fields"}


def sheet_profile(profile: Profile, sheet: dict) -> Profile:
    """The profile one sheet of `[[sheets]]` is read with: the profile's, with the sheet's own keys in place."""
    read = {**profile.read, **{k: v for k, v in sheet.items() if k not in ("name", "fields")}, "sheet": sheet["name"]}
    return replace(profile, read=read, fields=sheet.get("fields") or profile.fields, sheets=[])


def check_sheets(sheets, read: dict) -> tuple[str, str | None] | None:
    """What is wrong with a profile's `[[sheets]]` (message and key), or None; its fields are checked as [fields]."""
    if not isinstance(sheets, list) or not all(isinstance(s, dict) for s in sheets):
        return "sheets must be an array of tables ([[sheets]] with a name)", None
    if "sheet" in read:
        return "[read].sheet and [[sheets]] cannot both be given: list every sheet in [[sheets]]", "sheet"
    seen = set()
    for i, sheet in enumerate(sheets, 1):
        unknown = sorted(set(sheet) - SHEET_KEYS)
        if unknown:
            return (f"unknown key(s) {', '.join(unknown)} in [[sheets]] #{i} (allowed: "
                    f"{', '.join(sorted(SHEET_KEYS))})"), unknown[0]
        if not isinstance(sheet.get("name"), str) or not sheet["name"]:
            return f"[[sheets]] #{i} needs a name (the sheet's name as the workbook's tab shows it)", None
        if sheet["name"] in seen:
            return f"[[sheets]] #{i}.name {sheet['name']!r} is listed twice", "name"
        seen.add(sheet["name"])
        problem = check_read({**read, **sheet})
        if problem:
            key = next((k for k in ("header_rows", "header_row", "skip_hidden", "fill_merged", "fill_down")
                        if f"[read].{k} " in problem), None)
            if key in sheet:
                return problem.replace(f"[read].{key}", f"[[sheets]] #{i}.{key}"), None
            return f"{problem} (with [[sheets]] #{i})", None
    return None


def check_read(read: dict) -> str | None:
    """What is wrong with the layout keys of an xlsx profile's [read] (or of one of its sheets), or None."""
    row = read.get("header_row", 1)
    if row != "auto" and (not isinstance(row, int) or isinstance(row, bool) or row < 1):
        return "[read].header_row must be a row number from 1, or \"auto\""
    depth = read.get("header_rows", 1)
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 10:
        return "[read].header_rows must be a number of rows from 1 to 10"
    if read.get("header") is False and (row != 1 or depth != 1):
        return "[read].header = false takes no header_row or header_rows"
    for key in ("skip_hidden", "fill_merged"):
        if key in read and not isinstance(read[key], bool):
            return f"[read].{key} must be true or false"
    fill_down = read.get("fill_down", [])
    if not isinstance(fill_down, list) or not all(isinstance(c, str) and c for c in fill_down):
        return f"[read].fill_down must be a list of column names (got {fill_down!r})"
    return None
