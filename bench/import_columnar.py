"""Prototype: CSV import by columns (polars), against the floor of bench/import.py in the same run.

    python bench/import_columnar.py                # 100k rows: floor, bare, columnar; then 1M-row columnar peak RSS
    python bench/import_columnar.py --no-million

Issue 20 item 9 asks for CSV import <= 2.5x the floor at 100k rows and a 1M-row import under 300 MB.
The per-row importer (importers.compiled + registry.store.staging) measured 2.8-3.1x the floor in CPU.
This prototype reads the file in blocks of whole lines with polars (all columns as text), strips the
cells, writes the canonical line and the attributes JSON as vectorised string expressions, hashes
each line with hashlib and inserts the staged rows binding only the columns that vary.

Wired into the pipeline (on a branch that was measured and not merged: a block of rows goes to
the store whole unless a row of it needs a check of its own; any block polars may read otherwise than the csv module goes
through the csv module, any row the row builder would decline goes one by one), the staged tables and
checksums were byte-identical to the per-row path on 68 files (the bench CSV, catalogs/samples,
tests/data, hand-made files with quotes, quoted line breaks, BOM, cp1251, `;`, tabs, empty cells,
non-NFC codes, control characters, short and long rows, blank lines, CRLF, lone CR, NUL) at block sizes
of 64 B to 1 MB, and `nsi import` of the 100k bench CSV took 2.3-2.6x the floor in CPU. It is not
in the pipeline because of memory: the 1M-row import peaked at 316-329 MB (main: 241 MB). polars'
import costs 25 MB and its first read_csv another 30 MB that its allocator keeps; fewer threads,
smaller blocks and jemalloc's decay settings saved at most 15 MB. This script keeps the measurement
of the reading and encoding part, the place such a path would start from.

The `columnar` figure is a lower bound like `bare` (no profile, no validation, no positions), for the
same 8 staged columns and indexes; the script checks that it stages, byte for byte, the rows the
pipeline's row builder (importers.compiled) makes of the same file (`bare` does not strip the cells).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from hashlib import sha256
from json.encoder import encode_basestring
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(base)
from registry.entries import STATUSES  # noqa: E402

# What str.strip() strips (Unicode white space as Python sees it; polars' own default differs in \x1c-\x1f).
WHITESPACE = "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace())


def compile_block_builder(indexes: list[int], has_status: bool, names: tuple[str, ...]) -> Callable:
    """A function (polars frame of a file's cells, as text) -> staged columns, or None: the row builder by columns.

    The columns (codes, hashes, displays, statuses or None for all active,
    attributes JSON) hold what the row builder puts in each row's `stored`
    tuple for the same cells, computed column by column (strip, JSON strings,
    canonical line), with only the hash taken per row. The frame holds the file's columns in
    order (null for an empty cell). A frame with any row the row builder would
    decline or escape differently (an empty code, a status outside the
    canonical ones, a control character, which JSON writes as an escape) gets
    None: its rows then go through the row builder one by one. `controls` False
    says the caller knows the cells hold no control character.
    """
    import polars as pl

    def text(k):
        return pl.col(f"f{k}")

    def enc(expr):  # json.encoder.encode_basestring for text without control characters
        return pl.concat_str([pl.lit('"'), expr.str.replace_all("\\", "\\\\", literal=True)
                              .str.replace_all('"', '\\"', literal=True), pl.lit('"')])

    fields = len(indexes)
    status = (pl.when(text(2) == "").then(pl.lit("active")).otherwise(text(2))) if has_status else pl.lit("active")
    first_attribute = 3 if has_status else 2
    pieces = [pl.when(text(first_attribute + k) != "").then(pl.concat_str([pl.lit(encode_basestring(n) + ":"),
                                                                             enc(text(first_attribute + k))]))
              for k, n in enumerate(names)]
    attributes = pl.concat_str([pl.lit("{"), pl.concat_str(pieces, separator=",", ignore_nulls=True),
                                pl.lit("}")]) if names else pl.lit("{}")
    # The same, for a frame without empty attribute values: one concatenation (the commonest case, and cheaper)
    parts = [pl.lit("{")]
    for k, n in enumerate(names):
        parts += [pl.lit(("," if k else "") + encode_basestring(n) + ":"), enc(text(first_attribute + k))]
    filled = pl.concat_str(parts + [pl.lit("}")]) if names else pl.lit("{}")
    no_empty = pl.all_horizontal([text(first_attribute + k) != "" for k in range(len(names))]).all() if names \
        else pl.lit(True)
    unusual = [text(0) == ""]  # control characters are looked for in the line, which holds every value
    if has_status:
        unusual.append(~pl.col("status").is_in(list(STATUSES)))
    line = pl.concat_str([pl.lit('{"code":'), enc(text(0)), pl.lit(',"display":'), enc(text(1)),
                          pl.lit(',"designations":[],"parents":[],"status":"'), pl.col("status"),
                          pl.lit('","attributes":'), pl.col("attributes"), pl.lit("}")])

    def build(frame, controls: bool = True):
        columns = frame.columns
        cells = frame.select([pl.col(columns[i]).fill_null("").str.strip_chars(WHITESPACE).alias(f"f{k}")
                              for k, i in enumerate(indexes)])
        full = cells.select(no_empty).item()
        cells = cells.with_columns(status.alias("status"), (filled if full else attributes).alias("attributes"))
        if cells.select(pl.any_horizontal(unusual).any()).item():
            return None
        lines = cells.select(line)
        if controls and lines.select(pl.first().str.contains(r"[\x00-\x1f]").any()).item():
            return None
        hashes = [sha256(b).hexdigest()[:32] for b in lines.to_series().cast(pl.Binary).to_list()]
        return (cells["f0"].to_list(), hashes, cells["f1"].to_list(),
                cells["status"].to_list() if has_status else None, cells["attributes"].to_list())
    return build


BLOCK_BYTES = 1 << 20  # about 10k rows of a typical register: bounded memory, few polars calls
CONTROLS = bytes(b for b in range(32) if b not in b"\r\n")  # bytes JSON escapes (a line end is no value's here)


def block_records(path, delimiter: str, width: int, build_block: Callable,
                  text_records: Callable[[Iterator[str], int], Iterator[tuple]]) -> Iterator:
    """The records after a one-line header: blocks (EncodedBlock) where polars reads as the csv module does.

    `build_block(frame, first_row, controls)` makes a block of a frame (None: its rows go one by one as
    (row, cells, None)); `text_records(lines, first_row)` reads text with the csv module.
    """
    import polars as pl
    with open(path, "rb") as f:
        header = f.readline()
        if b"\r" in header.rstrip(b"\r\n") or header.endswith(b"\r"):  # a lone \r ends a line for the csv module
            end = header.index(b"\r") + 1
            yield from _rest(path, end + (header[end:end + 1] == b"\n"), 2, text_records)
            return
        offset, line, pending = len(header), 2, b""
        while True:
            more = f.read(BLOCK_BYTES)
            data = pending + more
            if not data:
                return
            cut = _record_end(data) if more else len(data)
            if cut <= 0:
                yield from _rest(path, offset, line, text_records)
                return
            chunk, pending = data[:cut], data[cut:]
            lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
            frame = _frame(pl, chunk, delimiter, width, lines)
            if frame is None:
                if b'"' in chunk:
                    yield from _rest(path, offset, line, text_records)
                    return
                yield from text_records(io.StringIO(chunk.decode("utf-8"), newline=""), line)
            else:
                block = build_block(frame, line, len(chunk.translate(None, CONTROLS)) < len(chunk))
                if block is not None:
                    yield block
                else:
                    for k, cells in enumerate(frame.fill_null("").rows()):
                        yield line + k, list(cells), None
            offset += len(chunk)
            line += lines


def _record_end(data: bytes) -> int:
    """The end of the last line of `data` outside quotes (an even number of quotes before it); 0 if none."""
    cut = data.rfind(b"\n") + 1
    while cut > 0 and data.count(b'"', 0, cut) % 2:
        cut = data.rfind(b"\n", 0, cut - 1) + 1
    return cut


def _frame(pl, chunk: bytes, delimiter: str, width: int, lines: int):
    """The block's cells as a polars frame (a column per header column), or None if polars may read it otherwise."""
    if b"\x00" in chunk or chunk.count(b"\r") != chunk.count(b"\r\n"):
        return None
    try:
        frame = pl.read_csv(chunk, has_header=False, separator=delimiter, quote_char='"',
                            schema={f"c{i}": pl.String for i in range(width)})
    except (pl.exceptions.PolarsError, UnicodeDecodeError):
        return None
    if frame.height != lines:  # a quoted line break, or polars dropped a line
        return None
    inside = frame.select(pl.sum_horizontal([pl.col(c).str.count_matches(delimiter, literal=True).fill_null(0)
                                             for c in frame.columns])).to_series()
    text = pl.Series(chunk.decode("utf-8").split("\n")[:lines])
    if not ((text.str.count_matches(delimiter, literal=True) - inside) == width - 1).all():  # short, or blank
        return None
    if b'"' in chunk and not text.str.contains(_well_quoted(delimiter)).all():
        return None  # polars takes some quotes the csv module refuses (`"a "b""`) or reads otherwise (`a "b"`)
    return frame


def _well_quoted(delimiter: str) -> str:
    """A regex (polars' syntax) for a line whose values are each quoted whole (quotes doubled) or hold no quote."""
    d = f"\\x{{{ord(delimiter):x}}}"
    field = f'(?:"(?:[^"]|"")*"|[^"{d}\r\n]*)'
    return f"^{field}(?:{d}{field})*\r?$"


def _rest(path, offset: int, line: int, text_records) -> Iterator[tuple]:
    """Everything from byte `offset` (the start of line `line`) on, read by the csv module."""
    with open(path, encoding="utf-8", newline="") as f:
        f.seek(offset)
        yield from text_records(f, line)


def columnar(path: Path, db: Path) -> int:
    """Read by columns, encode, hash and insert into a copy of a draft table's shape, then build its indexes."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import sqlite
    from registry.models.catalog import staged_table
    staged = staged_table(1)
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE IF EXISTS bench_columnar")
    ddl = str(sa.schema.CreateTable(staged).compile(dialect=sqlite.dialect()))
    conn.execute(ddl.replace(f"TABLE {staged.name} ", "TABLE bench_columnar ", 1))
    build = compile_block_builder([0, 1, 2, 3, 4, 5], False, ("address", "city", "state", "zip"))
    columns = "code, hash, display, designations, parents, parent_code, status, attributes"
    rows = 0
    with conn:
        for block in block_records(path, ",", 6, lambda frame, line, controls: build(frame, controls), None):
            if len(block) != 5:  # (row, cells, None): a row the builder declines, or a block the csv module read
                raise SystemExit("the bench file has a row the prototype does not take by columns")
            codes, hashes, displays, _, attributes = block
            conn.executemany(f"INSERT INTO bench_columnar ({columns}) VALUES (?, ?, ?, '[]', '[]', NULL, 'active', ?)",
                             zip(codes, hashes, displays, attributes))
            rows += len(codes)
        for index in staged.indexes:
            ddl = str(sa.schema.CreateIndex(index).compile(dialect=sqlite.dialect()))
            conn.execute(ddl.replace(f"INDEX {index.name} ON {staged.name} ",
                                     f"INDEX col_{index.name} ON bench_columnar ", 1))
    conn.close()
    return rows


def child(what: str, path: str, db: str) -> None:
    if what == "columnar":
        import polars  # noqa: F401  (start-up, as bench/import.py imports its modules before the clock)
    import sqlalchemy.dialects.sqlite, registry.models.catalog  # noqa: F401,E401
    started, cpu = time.perf_counter(), time.process_time()
    run = {"floor": lambda p, d: base.floor("csv", p, d), "bare": lambda p, d: base.bare("csv", p, d),
           "columnar": columnar}[what]
    rows = run(Path(path), Path(db))
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure(what: str, path: Path, db: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", what, str(path), str(db)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table_digest(db: Path, table: str) -> str:
    h = sha256()
    for row in sqlite3.connect(db).execute(f"SELECT * FROM {table} ORDER BY rowid"):
        h.update(repr(row).encode())
    return h.hexdigest()


def row_builder_digest(path: Path) -> str:
    """`table_digest` of the rows the pipeline's row builder (importers.compiled) stages for the file."""
    import csv
    from importers.compiled import compile_row_builder
    build = compile_row_builder([0, 1, 2, 3, 4, 5], False, ("address", "city", "state", "zip"))
    h = sha256()
    with open(path, encoding="utf-8", newline="") as f:
        for cells in list(csv.reader(f))[1:]:
            h.update(repr(build(cells, None).stored).encode())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-million", action="store_true", help="skip the 1M-row peak-RSS run")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    with tempfile.TemporaryDirectory(prefix="nsi-bench-") as tmp:
        tmp = Path(tmp)
        db, path = tmp / "nsi.db", tmp / "bench.csv"
        base.write_csv(path, args.rows)
        print(f"{args.rows:,} rows x 6 columns; load average {os.getloadavg()[0]:.2f}")
        m = {what: measure(what, path, db) for what in ("floor", "bare", "columnar")}
        for name, r in m.items():
            print(f"{name:9} {r['seconds']:6.2f} s {r['cpu']:6.2f} cpu s {r['rss_mb']:5.0f} MB  "
                  f"{r['cpu'] / m['floor']['cpu']:.2f}x floor cpu")
        same = table_digest(db, "bench_columnar") == row_builder_digest(path)
        print(f"columnar rows {'byte-identical to' if same else 'DIFFER from'} the pipeline's row builder's")
        if not args.no_million:
            big = tmp / "million.csv"
            base.write_csv(big, 1_000_000)
            r = measure("columnar", big, db)
            print(f"1M rows columnar: {r['seconds']:.1f} s, peak RSS {r['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
