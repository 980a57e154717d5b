"""Writing a version out: canonical JSON lines and CSV, streamed row by row.

CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @,
tab or carriage return) are escaped with a leading apostrophe (design §7).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from registry.errors import BadRequest

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ["code", "display", "parents", "status", "designations", "attributes"]


def escape_formula(value):
    """A cell value made safe for spreadsheets: text that looks like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_cells(entry: dict) -> list:
    """The spreadsheet-safe cells of a canonical entry: parents joined by '|', designations and attributes as JSON.

    Every string cell goes through `escape_formula` here, the one place that
    CSV and xlsx exports both take their cells from.
    """
    cells = [entry["code"], entry["display"], "|".join(entry["parents"]), entry["status"],
             json.dumps(entry["designations"], ensure_ascii=False) if entry["designations"] else "",
             json.dumps(entry["attributes"], ensure_ascii=False) if entry["attributes"] else ""]
    return [escape_formula(cell) for cell in cells]


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


class _CheckedFile:
    """A text file whose write failures (no space, no permission) are BadRequest naming the file."""

    def __init__(self, f, path: Path):
        self._f, self._path = f, path

    def write(self, text: str) -> int:
        """Write `text`; a failure of the file itself, not of whoever produced the text, is BadRequest."""
        with _writing(self._path):
            return self._f.write(text)


@contextmanager
def atomic_text_file(path: str | Path) -> Iterator[_CheckedFile]:
    """A UTF-8 text file written under a temporary name of its own and moved to `path` when the block ends.

    A failed write or an error in the block never leaves a truncated or emptied file, and two writers of
    one path do not mix. Failures to write are BadRequest ("cannot write PATH: ..."); any other error of
    the block goes up as it is. The file gets the permissions the umask gives (mkstemp's are private).
    """
    path = Path(path)
    with _writing(path):
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    tmp = Path(name)
    try:
        with _writing(path):
            f = open(fd, "w", encoding="utf-8", newline="")
        with f:
            yield _CheckedFile(f, path)
            with _writing(path):
                f.flush()
        with _writing(path):
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _writing(path: Path):
    """Turn a failure to write `path` (no space, no permission, a read-only folder) into BadRequest."""
    try:
        yield
    except OSError as exc:
        raise BadRequest(f"cannot write {path}: {exc.strerror or exc}") from None


def _umask() -> int:
    """The process's file creation mask (read by setting it, then set back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_version(store, slug: str, version: str, fmt: str, path: str | Path) -> tuple[int, str]:
    """Write a whole version to `path` in `fmt` (jsonl or csv); return (entries written, version label).

    The version is resolved first and the file is written under a temporary name,
    then moved into place, so a mistake never leaves a truncated or emptied file.
    """
    label = store.resolve(slug, version).label
    target = Path(path)
    counted = 0

    def counting(items):
        nonlocal counted
        for item in items:
            counted += 1
            yield item

    chunks = iter_jsonl(counting(store.iter_lines(slug, label))) if fmt == "jsonl" \
        else iter_csv(counting(store.iter_entries(slug, label)))
    with atomic_text_file(target) as f:
        for chunk in chunks:
            f.write(chunk)
    return counted, label
