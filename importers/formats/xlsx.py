"""xlsx workbooks: one sheet, read with calamine after the zip-bomb check."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Iterator

from registry.errors import ImportRejected, Problem
from importers.findings import Findings
from importers.mapper import map_table
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
    clean = clean_cells(profile)

    def rows():
        nonlocal number
        if pending is not None:
            yield pending
        for cells in rows_iter:
            number += 1
            texts = [c if isinstance(c, str) else cell_text(c) for c in cells]
            yield number, (clean(texts) if clean else texts), None
    return Table(header, rows(), header_row=header_row, sheet=wanted)


READS = "xlsx workbooks"
FIELDS_REQUIRED = True
READ_KEYS = {"sheet", "header", "header_row", "columns"}
NEEDS_PROFILE = "an xlsx file needs a profile (--profile) naming its sheet and columns"


def sniff(source: Source) -> bool:
    """A file named .xlsx, or a zip (which the profile-less import then refuses with NEEDS_PROFILE)."""
    return source.path.suffix.lower() == ".xlsx" or source.starts_with(b"PK")


def read(source: Source, profile: Profile | None, findings: Findings, language: str | None) -> Iterator[dict]:
    """The entries of one sheet, mapped by the profile."""
    return map_table(read_xlsx(source, profile, findings), profile, findings, language)
