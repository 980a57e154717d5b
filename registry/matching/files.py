"""Local lists in and candidate lists out: what `nsi match` reads and writes.

Input: CSV (UTF-8, `,` or `;`) or XLSX (first sheet) with a header row holding
`local_code` and `local_name`; any other column is passed to the matcher as an
attribute of the term. Output: CSV with the contract columns
`local_code,local_name,rank,target_code,target_display,score,reason`, one row
per candidate, written to a temporary file and renamed, so a failed run
leaves no half-written output.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable, Iterator

from registry.errors import BadRequest

REQUIRED = ("local_code", "local_name")
OUTPUT_COLUMNS = ("local_code", "local_name", "rank", "target_code", "target_display", "score", "reason")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(path: Path) -> Iterator[list[str]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            sample = f.read(8192)
            f.seek(0)
            delimiter = ";" if sample.split("\n", 1)[0].count(";") > sample.split("\n", 1)[0].count(",") else ","
            yield from csv.reader(f, delimiter=delimiter)
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{path}: not valid UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                         f"{exc.start}); save the list as UTF-8 CSV or as XLSX") from None
    except csv.Error as exc:
        raise BadRequest(f"{path}: not a readable CSV file: {exc}") from None


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    from python_calamine import CalamineWorkbook
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise BadRequest(f"{path}: not a readable XLSX workbook: {exc}") from None
    for row in rows:
        yield [_cell(v) for v in row]


def read_terms(path: str | Path) -> list[dict]:
    """The terms of a local list file: [{"code", "name", "attributes"}], checked row by row.

    Raises BadRequest naming the file, the row (as a spreadsheet numbers it) and
    the column for a missing column, an empty name or a file that cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise BadRequest(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    elif suffix in (".csv", ".txt", ".tsv"):
        rows = _csv_rows(path)
    else:
        raise BadRequest(f"{path}: unsupported file type {suffix or '(none)'}; give a .csv or .xlsx file")
    header = next(rows, None)
    if not header or not any(h.strip() for h in header):
        raise BadRequest(f"{path}: the file is empty; it needs a header row with local_code,local_name")
    header = [h.strip().lstrip("\ufeff") for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadRequest(f"{path}: missing column(s) {', '.join(missing)} in the header row "
                         f"(found: {', '.join(h for h in header if h) or 'nothing'})")
    code_at, name_at = header.index("local_code"), header.index("local_name")
    extra = [(i, h) for i, h in enumerate(header) if h and h not in REQUIRED]
    terms = []
    for number, row in enumerate(rows, 2):
        if not any(c.strip() for c in row):
            continue
        row = row + [""] * (len(header) - len(row))
        name = row[name_at].strip()
        if not name:
            raise BadRequest(f"{path}, row {number}, column local_name: the name is empty")
        attributes = {h: row[i].strip() for i, h in extra if row[i].strip()}
        terms.append({"code": row[code_at].strip(), "name": name, "attributes": attributes})
    if not terms:
        raise BadRequest(f"{path}: no rows to match under the header")
    return terms


def candidate_rows(results: Iterable[dict]) -> Iterator[list]:
    """Output rows (contract columns) of match results; a term without candidates gets none."""
    for result in results:
        term = result["term"]
        for c in result["candidates"]:
            yield [term["code"] or "", term["name"], c["rank"], c["code"], c["display"], f"{c['score']:.1f}",
                   c["reason"]]


def write_candidates(path: str | Path, results: Iterable[dict]) -> int:
    """Write match results as the candidates CSV; returns the number of candidate rows written."""
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise BadRequest(f"{path}: the folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.part")
    count = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(OUTPUT_COLUMNS)
            for row in candidate_rows(results):
                writer.writerow(row)
                count += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


def source_terms(store, slug: str, version: str) -> Iterator[dict]:
    """The entries of a catalog version in the registry as terms (code, display, attributes)."""
    for entry in store.iter_entries(slug, version):
        yield {"code": entry["code"], "name": entry["display"], "attributes": entry["attributes"]}
