"""Local lists in and candidate lists out: what `nsi match` reads and writes.

Input: CSV (UTF-8, `,` or `;`; `.tsv` tab-delimited) or XLSX (first sheet) with a header row holding
`local_code` and `local_name`; any other column is passed to the matcher as an
attribute of the term. Output: CSV with the contract columns
`local_code,local_name,rank,target_code,target_display,score,reason`, one row
per candidate, written to a temporary file and renamed, so a failed run
leaves no half-written output.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterable, Iterator

from registry.errors import BadRequest
from registry.exports import atomic_text_file, escape_formula
from registry.matching import name_too_long

REQUIRED = ("local_code", "local_name")
OUTPUT_COLUMNS = ("local_code", "local_name", "rank", "target_code", "target_display", "score", "reason")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_row_at(text: str) -> int:
    """The row (as a spreadsheet numbers it) that the end of `text`, the file up to some point, lies in."""
    rows = sum(1 for _ in csv.reader(io.StringIO(text)))
    return rows + 1 if not text or text.endswith(("\n", "\r")) else rows


def _encoding_hint(raw: bytes) -> str:
    """What a file that is not UTF-8 probably is, when that can be told: UTF-16, or Russian in Windows-1251."""
    from importers.source import cp1251_verdict  # the importers' own test: whole Cyrillic words, not stray letters
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[:200].count(b"\x00") > 10:
        return "; it looks like UTF-16"
    if cp1251_verdict(raw.decode("cp1251", errors="replace")) is None:
        return "; it looks like Windows-1251 (cp1251)"
    return ""


def _decode(path: Path, raw: bytes) -> str:
    """The text of a CSV file, or BadRequest naming the row and byte offset of the first byte not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start].decode("utf-8-sig", errors="replace")
        raise BadRequest(f"{path}, row {_csv_row_at(before)}: not valid UTF-8 text (byte 0x{raw[exc.start]:02x} "
                         f"at offset {exc.start}){_encoding_hint(raw)}: save the list as UTF-8 CSV or as XLSX"
                         ) from None


def _csv_rows(path: Path) -> Iterator[list[str]]:
    """The rows of a CSV file: tab-delimited for `.tsv`, else `;` or `,` (whichever the first line has more of)."""
    text = _decode(path, path.read_bytes())
    if path.suffix.lower() == ".tsv":
        delimiter = "\t"
    else:
        first = text.split("\n", 1)[0]
        delimiter = max((",", ";", "\t"), key=first.count) if first.strip() else ","
        if not first.count(delimiter):
            delimiter = ","
    # strict: a quote left open or text after a closing quote is an error, not a name that runs on
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    row = 1  # records, as a spreadsheet numbers its rows (a cell may hold a line break)
    try:
        for cells in reader:
            yield cells
            row += 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise BadRequest(f"{path}, row {row}: a quoted field opens here and is never closed (the file ends "
                             f"inside it): close the quote, or double a quote that is part of a name (\"\")") from None
        raise BadRequest(f"{path}, row {row}: not readable as CSV: {exc} (a quote inside a quoted field is "
                         f"written twice: \"\")") from None


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

    The header is the first row that is not blank. Raises BadRequest naming the file, the row (as a
    spreadsheet numbers it) and the column for a missing column, an empty name or a file that cannot
    be read (a CSV file that is not UTF-8: the row and byte offset of the first byte that is not).
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
    # The header is the first row that is not blank (a sheet often starts with an empty row or two).
    header, header_row = None, 0
    for header_row, header in enumerate(rows, 1):
        if any(h.strip() for h in header):
            break
    else:
        header = None
    if not header:
        raise BadRequest(f"{path}: the file is empty; it needs a header row with local_code,local_name")
    header = [h.strip().lstrip("\ufeff") for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadRequest(f"{path}: missing column(s) {', '.join(missing)} in the header row "
                         f"(found: {', '.join(h for h in header if h) or 'nothing'})")
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise BadRequest(f"{path}, row {header_row}: the header has the column {twice[0]} twice; which one is "
                         f"meant cannot be told: rename or remove one")
    code_at, name_at = header.index("local_code"), header.index("local_name")
    extra = [(i, h) for i, h in enumerate(header) if h and h not in REQUIRED]
    is_csv = suffix != ".xlsx" and suffix != ".xlsm"
    terms = []
    for number, row in enumerate(rows, header_row + 1):
        if not any(c.strip() for c in row):
            continue
        if is_csv and len(row) > len(header) and any(c.strip() for c in row[len(header):]):
            raise BadRequest(f"{path}, row {number}: {len(row)} fields, but the header has {len(header)}: a name or "
                             f"value holding the delimiter must be quoted (\"Парацетамол 0,5 г\")")
        row = row + [""] * (len(header) - len(row))
        name = row[name_at].strip()
        if not name:
            raise BadRequest(f"{path}, row {number}, column local_name: the name is empty")
        if why := name_too_long(name):
            raise BadRequest(f"{path}, row {number}, column local_name: {why}")
        attributes = {h: row[i].strip() for i, h in extra if row[i].strip()}
        terms.append({"code": row[code_at].strip(), "name": name, "attributes": attributes, "row": number})
    if not terms:
        raise BadRequest(f"{path}: no rows to match under the header")
    return terms


def duplicate_codes(terms: list[dict]) -> list[str]:
    """Warnings for local codes that more than one row of a list holds (their candidates cannot be told apart)."""
    rows: dict[str, list[int]] = {}
    for term in terms:
        if term["code"]:
            rows.setdefault(term["code"], []).append(term["row"])
    return [f"local code {code} is in rows {', '.join(map(str, at))}: its candidates cannot be told apart in the "
            f"output" for code, at in rows.items() if len(at) > 1]


def candidate_rows(results: Iterable[dict]) -> Iterator[list]:
    """Output rows (contract columns) of match results; a term without candidates gets none.

    Text that a spreadsheet would run as a formula is escaped (`escape_formula`): reviewers open this file in Excel.
    """
    for result in results:
        term = result["term"]
        for c in result["candidates"]:
            yield [escape_formula(term["code"] or ""), escape_formula(term["name"]), c["rank"],
                   escape_formula(c["code"]), escape_formula(c["display"]), f"{c['score']:.1f}",
                   escape_formula(c["reason"])]


def write_candidates(path: str | Path, results: Iterable[dict]) -> int:
    """Write match results as the candidates CSV; returns the number of candidate rows written."""
    path = check_output(path)
    count = 0
    with atomic_text_file(path) as f:  # a file of this run's own until it is complete: runs do not clash
        writer = csv.writer(f)
        writer.writerow(OUTPUT_COLUMNS)
        for row in candidate_rows(results):  # an error of the matcher itself goes up as it is
            writer.writerow(row)
            count += 1
    return count


def check_output(path: str | Path, input_path: str | Path | None = None) -> Path:
    """The output path, checked before any work: its folder exists and it is not the input list itself."""
    path = Path(path)
    if not path.parent.is_dir():
        raise BadRequest(f"{path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise BadRequest(f"{path}: is a folder; give the name of the CSV file to write")
    if input_path is not None and path.exists() and Path(input_path).exists() and \
            os.path.samefile(path, input_path):
        raise BadRequest(f"{path}: is the input list itself; writing the candidates there would replace the list: "
                         f"give another --output")
    return path


def source_terms(store, slug: str, version: str) -> Iterator[dict]:
    """The entries of a catalog version in the registry as terms (code, display, attributes)."""
    for entry in store.iter_entries(slug, version):
        yield {"code": entry["code"], "name": entry["display"], "attributes": entry["attributes"]}
