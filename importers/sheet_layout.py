"""Spreadsheets as institutes make them: where the header is, what a column is called, which rows are hidden.

Independent of the library that reads the cells (calamine or openpyxl): the
functions here take rows of cell texts, merged ranges as `((row0, col0),
(row1, col1))` pairs counted from 0 (what both libraries report), and the
workbook file for what neither reader exposes (hidden rows).

- A header may sit below a title block (`header_row = 4`), or be found by a
  rule (`header_row = "auto"`: the first row holding every column the profile
  names).
- A header of several rows (`header_rows = 2`) names each column by its cells
  joined with " / ", a merged cell counting for every column it spans:
  "Наименование" merged over two columns above "рус" and "каз" gives the
  columns "Наименование / рус" and "Наименование / каз"; "Код" merged down
  over both rows stays "Код".
- A column can be named by its letter, `$C`, as in Excel's `$C$1`.
- A cell merged over several data rows (a chapter or group column) can give
  its text to every row it covers (`fill_merged = true`).
"""

from __future__ import annotations

import re
import zipfile
from collections import deque
from posixpath import join as join_path, normpath

from registry.errors import ImportRejected, Problem

LETTER = re.compile(r"^\$([A-Za-z]{1,3})$")
AUTO_HEADER_SEARCH = 100  # rows looked at for `header_row = "auto"`
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def letter_index(name: str) -> int | None:
    """The 0-based column of a `$C` name (`$A` → 0, `$AA` → 26), or None for any other name."""
    m = LETTER.match(name)
    if not m:
        return None
    index = 0
    for ch in m.group(1).upper():
        index = index * 26 + ord(ch) - ord("A") + 1
    return index - 1


def letter_of(index: int) -> str:
    """The letter of a 0-based column (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _clean(text: str) -> str:
    return " ".join(text.split())


def joined_header(rows: list[list[str]], first: int, merged: list) -> list[str]:
    """Column names of a header made of `rows` (their 0-based row numbers start at `first`).

    A merged range inside the header gives its top-left text to every cell it
    covers; each column's non-empty texts, top to bottom, are joined with " / "
    (a text repeated by a vertical merge counts once).
    """
    width = max((len(r) for r in rows), default=0)
    grid = [[_clean(c) for c in r] + [""] * (width - len(r)) for r in rows]
    last = first + len(rows) - 1
    for (r0, c0), (r1, c1) in merged:
        if r0 < first or r0 > last or c0 >= width:
            continue
        value = grid[r0 - first][c0]
        for r in range(r0, min(r1, last) + 1):
            for c in range(c0, min(c1, width - 1) + 1):
                grid[r - first][c] = value
    names = []
    for c in range(width):
        parts: list[str] = []
        for r in range(len(grid)):
            text = grid[r][c]
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        names.append(" / ".join(parts))
    return names


def merged_filler(merged: list, first_data_row: int):
    """A function (0-based row, cells) -> cells giving every cell a merged range covers its top-left cell's text.

    Only ranges whose top row is `first_data_row` or below count (a merged
    header is read by `joined_header`). The rows must come in order, every
    one of them (hidden ones too: a range's text may sit in a hidden row); a
    range keeps the text its top row had before any other cleaning, and
    spreads it across and down, padding short rows.
    """
    pending = deque(sorted((r0, c0, r1, c1) for (r0, c0), (r1, c1) in merged
                           if r0 >= first_data_row and (r1 > r0 or c1 > c0)))
    active: list[tuple[int, int, int, str]] = []  # (last row, first column, last column, text)

    def fill(row: int, cells: list[str]) -> list[str]:
        while pending and pending[0][0] <= row:
            r0, c0, r1, c1 = pending.popleft()
            text = cells[c0] if r0 == row and c0 < len(cells) else ""
            if text:
                active.append((r1, c0, c1, text))
        if active:
            active[:] = [a for a in active if a[0] >= row]
            for _, c0, c1, text in active:
                if len(cells) <= c1:
                    cells = cells + [""] * (c1 + 1 - len(cells))
                cells[c0:c1 + 1] = [text] * (c1 + 1 - c0)
        return cells
    return fill


def find_header(rows: list[tuple[int, list[str]]], count: int, wanted: list[str], merged: list) -> int | None:
    """The index in `rows` of the first header (of `count` rows) naming every column in `wanted`, or None.

    Names are compared as the mapper compares them: exactly, then ignoring case and surrounding spaces.
    """
    folded = {w.strip().lower() for w in wanted if letter_index(w) is None}
    if not folded:
        return None
    for i in range(len(rows) - count + 1):
        names = joined_header([cells for _, cells in rows[i:i + count]], rows[i][0] - 1, merged)
        if folded <= {n.strip().lower() for n in names}:
            return i
    return None


def hidden_rows(path, sheet: str, file: str) -> set[int]:
    """The 1-based numbers of the rows hidden in sheet `sheet` of the xlsx at `path`.

    Read from the sheet's XML (`<row r="5" hidden="1">`), which neither
    calamine nor openpyxl's streaming reader reports; only row elements are
    looked at, and each is dropped once read.
    """
    from lxml import etree
    try:
        with zipfile.ZipFile(path) as z:
            part = _sheet_part(z, sheet)
            hidden = set()
            with z.open(part) as f:
                for _, row in etree.iterparse(f, events=("end",), tag=f"{MAIN_NS}row", resolve_entities=False,
                                              no_network=True, load_dtd=False):
                    if row.get("hidden") in ("1", "true"):
                        hidden.add(int(row.get("r")))
                    row.clear()
            return hidden
    except (KeyError, StopIteration, ValueError, TypeError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise ImportRejected([Problem(f"cannot read which rows of sheet {sheet!r} are hidden: {exc}", file=file,
                                      sheet=sheet, kind="syntax")]) from None


def _sheet_part(z: zipfile.ZipFile, sheet: str) -> str:
    """The zip member holding sheet `sheet`: workbook.xml names its relationship, the rels file its target."""
    from lxml import etree
    book = etree.fromstring(z.read("xl/workbook.xml"))
    rid = next(s.get(f"{REL_NS}id") for s in book.iter(f"{MAIN_NS}sheet") if s.get("name") == sheet)
    rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else normpath(join_path("xl", target))
