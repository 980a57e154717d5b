"""Lower bound of CSV import by columns (polars), against the floor of bench/import.py in the same run.

    python bench/import_columnar.py                # 100k rows: floor, bare, columnar; then 1M-row columnar peak RSS
    python bench/import_columnar.py --no-million

Issue 20 item 9 asks for CSV import <= 2.5x the floor at 100k rows and a 1M-row import under 300 MB.
The per-row importer (importers.compiled + registry.store.staging) measured 2.8-3.1x the floor in CPU.
This prototype reads the file in blocks of whole lines with polars (all columns as text), strips the
cells, writes the canonical line and the attributes JSON as vectorised string expressions, hashes
each line with hashlib and inserts the staged rows binding only the columns that vary.

The pipeline's CSV path by columns (importers.columnar) does this for plain-column profiles, with
the checks and positions of an import on top; this script measures its reading and encoding part
alone (the same functions) as a lower bound, and the per-row builder's rows against it.

The `columnar` figure is a lower bound like `bare` (no profile, no validation, no positions), for the
same 8 staged columns and indexes; the script checks that it stages, byte for byte, the rows the
pipeline's row builder (importers.compiled) makes of the same file (`bare` does not strip the cells).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from hashlib import sha256
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(base)

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
    from importers.columnar import block_records, compile_block_builder
    build = compile_block_builder([0, 1, 2, 3, 4, 5], False, ("address", "city", "state", "zip"), path.name, None, {})
    columns = "code, hash, display, designations, parents, parent_code, status, attributes"
    rows = 0
    with open(path, "rb") as f:
        offset = len(f.readline())
    with conn:
        for block in block_records(path, offset, 2, ",", 6, build, None):
            if isinstance(block, tuple):  # (row, cells, None): a row the builder declines, or a block the csv module read
                raise SystemExit("the bench file has a row the prototype does not take by columns")
            conn.executemany(f"INSERT INTO bench_columnar ({columns}) VALUES (?, ?, ?, '[]', '[]', NULL, 'active', ?)",
                             zip(block.codes, block.hashes, block.displays, block.attributes))
            rows += len(block)
        for index in staged.indexes:
            ddl = str(sa.schema.CreateIndex(index).compile(dialect=sqlite.dialect()))
            conn.execute(ddl.replace(f"INDEX {index.name} ON {staged.name} ",
                                     f"INDEX col_{index.name} ON bench_columnar ", 1))
    conn.close()
    return rows


def child(what: str, path: str, db: str) -> None:
    if what == "columnar":  # start-up, as bench/import.py imports its modules before the clock
        import importers.columnar
        importers.columnar.polars()
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
