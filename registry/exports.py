"""Writing a version out: canonical JSON lines and CSV, streamed row by row.

CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @,
tab or carriage return) are escaped with a leading apostrophe (design §7).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ["code", "display", "parents", "status", "designations", "attributes"]


def escape_formula(value):
    """A cell value made safe for spreadsheets: text that looks like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_cells(entry: dict) -> list:
    """The CSV cells of a canonical entry: parents joined by '|', designations and attributes as JSON."""
    return [escape_formula(entry["code"]), escape_formula(entry["display"]), "|".join(entry["parents"]),
            entry["status"],
            json.dumps(entry["designations"], ensure_ascii=False) if entry["designations"] else "",
            json.dumps(entry["attributes"], ensure_ascii=False) if entry["attributes"] else ""]


def iter_csv(entries: Iterable[dict]) -> Iterator[str]:
    """CSV text chunks (header first) for a stream of entries."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for n, entry in enumerate(entries, 1):
        writer.writerow(csv_cells(entry))
        if n % 1000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def iter_jsonl(lines: Iterable[str]) -> Iterator[str]:
    """JSON-lines text chunks from canonical lines."""
    chunk = []
    for n, line in enumerate(lines, 1):
        chunk.append(line)
        if n % 1000 == 0:
            yield "\n".join(chunk) + "\n"
            chunk = []
    if chunk:
        yield "\n".join(chunk) + "\n"
