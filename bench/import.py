"""Import benchmark: a 100k-row CSV and XLSX written from real rows, against the floor measured in the same run.

    python bench/import.py                 # 100k CSV + 100k XLSX, then peak RSS of a 1M-row CSV import
    python bench/import.py --rows 20000 --no-million
    python bench/import.py --orders        # only: 1M-entry hierarchies in three file orders, --dry-run RSS

The rows are the real US CMS hospital register (../shared/data/facilities), repeated with a suffix on
the code until there are enough: code, name, address, city, state, ZIP (6 columns). For each file:

* floor = the fastest reader (csv module / python-calamine) reading every row, plus a raw
  `executemany` of the same rows into a table of the same SQLite database;
* bare = the least any importer into our staging shape must do, hand-written for these 6 columns: read
  with the csv module / calamine, build each entry's canonical line and attributes JSON with json's C
  string encoder, sha256 it, and `executemany` the 8 staged columns into a table with the same columns
  and indexes as a draft's staging table (indexes built after the load, as staging does). No profile, no validation, no positions: a lower bound, not an importer;
* bare-min = bare without the hash and without the indexes;
* import = what `nsi import` does: open the store (schema check), then `run_import` from file to staged
  draft (read, map, validate, hash, stage). The schema itself is created before the clock starts, as
  `nsi init` would have done once.

Each measurement runs in a fresh subprocess so that its peak RSS is its own. Wall time on a shared
machine is noisy, so CPU time is printed as well; the ratio uses wall time.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SOURCE = ROOT.parent / "shared" / "data" / "facilities" / "us_cms_hospital_general_information_hautahi.csv"
HEADER = ["code", "name", "address", "city", "state", "zip"]
PROFILE = {
    "profile": {"name": "bench", "format": "csv"},
    "catalog": {"title": "Bench facilities", "kind": "facility", "language": "en"},
    "read": {"delimiter": ",", "encoding": "utf-8"},
    "fields": {"code": "code", "display": "name",
               "attributes": {"address": "address", "city": "city", "state": "state", "zip": "zip"}},
}


def real_rows() -> list[list[str]]:
    """The 6 benchmark columns of every row of the real hospital register."""
    with open(SOURCE, encoding="utf-8-sig", newline="") as f:
        return [[r["Provider ID"], r["Hospital Name"], r["Address"], r["City"], r["State"], r["ZIP Code"]]
                for r in csv.DictReader(f)]


def rows_for(n: int) -> list[list[str]]:
    base = real_rows()
    return [[f"{r[0]}-{i // len(base)}"] + r[1:] for i, r in ((i, base[i % len(base)]) for i in range(n))]


def write_csv(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        base = real_rows()
        for i in range(n):
            r = base[i % len(base)]
            w.writerow([f"{r[0]}-{i // len(base)}"] + r[1:])


def write_xlsx(path: Path, n: int) -> None:
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Facilities")
    ws.append(HEADER)
    for r in rows_for(n):
        ws.append(r)
    wb.save(path)


# --- measurements, each in its own process ---------------------------------------------------------------------

def read_rows(kind: str, path: Path) -> list[list[str]]:
    """Every data row of the file, read with the fastest reader for its kind."""
    if kind == "csv":
        with open(path, encoding="utf-8", newline="") as f:
            return list(csv.reader(f))[1:]
    from python_calamine import CalamineWorkbook
    return [[str(c) for c in r] for r in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()][1:]


def floor(kind: str, path: Path, db: Path) -> int:
    """Read every row with the fastest reader, then executemany them into a plain table of the same database."""
    import sqlite3
    rows = read_rows(kind, path)
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE IF EXISTS bench_floor")
    conn.execute("CREATE TABLE bench_floor (code TEXT, name TEXT, address TEXT, city TEXT, state TEXT, zip TEXT)")
    with conn:
        conn.executemany("INSERT INTO bench_floor VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.close()
    return len(rows)


def bare(kind: str, path: Path, db: Path, hashed: bool = True) -> int:
    """The lower bound: read, encode, hash and insert into a copy of a draft table's shape, nothing else.

    With `hashed` False there is no hash and the copy has no indexes either: what is left is reading,
    encoding the attributes as JSON and inserting 8 columns instead of the floor's 6.
    """
    import hashlib
    import sqlite3
    from json.encoder import encode_basestring as enc
    import sqlalchemy as sa
    from sqlalchemy.dialects import sqlite
    from registry.models.catalog import staged_table
    staged = staged_table(1)
    columns = ("code", "hash", "display", "designations", "parents", "parent_code", "status", "attributes")
    assert set(columns) == {c.name for c in staged.columns}, "the staged table's columns changed"
    rows = read_rows(kind, path)
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE IF EXISTS bench_bare")
    ddl = str(sa.schema.CreateTable(staged).compile(dialect=sqlite.dialect()))
    conn.execute(ddl.replace(f"TABLE {staged.name} ", "TABLE bench_bare ", 1))
    sha = hashlib.sha256
    out = []
    for code, name, address, city, state, zip_code in rows:
        attributes = '{"address":%s,"city":%s,"state":%s,"zip":%s}' % (enc(address), enc(city), enc(state),
                                                                    enc(zip_code))
        if hashed:
            line = ('{"code":%s,"display":%s,"designations":[],"parents":[],"status":"active","attributes":%s}'
                    % (enc(code), enc(name), attributes))
            digest = sha(line.encode()).hexdigest()[:32]
        else:
            digest = ""
        out.append((code, digest, name, "[]", "[]", None, "active", attributes))
    with conn:
        conn.executemany(f"INSERT INTO bench_bare ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                         out)
        for index in staged.indexes if hashed else ():  # the same indexes, partial ones included, built after
            ddl = str(sa.schema.CreateIndex(index).compile(dialect=sqlite.dialect()))
            conn.execute(ddl.replace(f"INDEX {index.name} ON {staged.name} ", f"INDEX bare_{index.name} ON bench_bare ", 1))
    conn.close()
    return len(rows)


def store_environ(db: Path) -> dict:
    return {"NSI_DATA_DIR": str(db.parent), "NSI_DATABASE_URL": f"sqlite:///{db}"}


def full_import(kind: str, path: Path, db: Path) -> int:
    """What `nsi import` does: open the store (schema checked), then `run_import` to a staged draft."""
    from importers import run_import
    from importers.profile import validate
    from registry.store import Store
    data = json.loads(json.dumps(PROFILE))
    data["profile"]["format"] = kind
    if kind == "xlsx":
        data["read"] = {"sheet": "Facilities"}
    profile = validate(data, "bench")
    store = Store.open(store_environ(db))
    label = f"{kind}-{time.time_ns()}"
    report = run_import(store, path, catalog=f"bench-{label}", version="1", profile=profile)
    return report.entries


TARGETS = {"csv": 2.5, "xlsx": 2}  # import / floor, issue 20
ORDERS = ("parents first", "children first", "one chain")


def write_hierarchy(path: Path, order: str, n: int = 1_000_000) -> None:
    """A canonical CSV of n entries: leaves under n/1000 parents (parents first or last), or one n-deep chain.

    Children before their parents are forward references, which the store keeps until the file ends.
    """
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "display", "parents", "status", "designations", "attributes"])
        if order == "one chain":
            for i in range(n):
                w.writerow([f"C{i:07d}", f"Entry {i}", f"C{i + 1:07d}" if i + 1 < n else "", "active", "", ""])
            return
        heads = [[f"P{j:04d}", f"Parent {j}", "", "active", "", ""] for j in range(n // 1000)]
        if order == "parents first":
            w.writerows(heads)
        for i in range(n - len(heads)):
            w.writerow([f"C{i:07d}", f"Leaf {i}", f"P{i // 1000:04d}", "active", "", ""])
        if order == "children first":
            w.writerows(heads)


def dry_run_import(kind: str, path: Path, db: Path) -> int:
    """`nsi import FILE --dry-run` of a canonical CSV into an existing catalog: read, validate, stage, roll back."""
    from importers import run_import
    from registry.store import Store
    store = Store.open(store_environ(db))
    report = run_import(store, path, catalog="bench-orders", version=f"v{time.time_ns()}", dry_run=True)
    return report.entries


def child(what: str, kind: str, path: str, db: str) -> None:
    # Module imports (SQLAlchemy, lxml, ...) are a fixed start-up cost, not per row: done before the clock starts.
    import sqlite3  # noqa: F401
    import python_calamine  # noqa: F401
    if what.startswith("bare"):
        import hashlib, sqlalchemy.dialects.sqlite, registry.models.catalog  # noqa: F401,E401
    if what == "import":
        import importers.pipeline, importers.formats, importers.mapper, registry.store  # noqa: F401,E401
        if kind == "csv":  # polars, as the CSV import by columns loads it (importers.columnar)
            import importers.columnar
            importers.columnar.polars()
        # Creating the database schema is `nsi init`, done once, not part of an import (this also imports alembic).
        registry.store.Store.init(store_environ(Path(db))).engine.dispose()
    if what == "dry-run":
        import importers.pipeline, importers.formats, registry.store  # noqa: F401,E401
        from registry.models import CatalogCreate
        store = registry.store.Store.init(store_environ(Path(db)))
        if not store.has_catalog("bench-orders"):
            store.create_catalog(CatalogCreate(slug="bench-orders", title="Bench hierarchy orders"))
        store.engine.dispose()
    started, cpu = time.perf_counter(), time.process_time()
    run = {"floor": floor, "bare": bare, "bare-min": lambda *a: bare(*a, hashed=False), "import": full_import,
           "dry-run": dry_run_import}[what]
    rows = run(kind, Path(path), Path(db))
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure(what: str, kind: str, path: Path, db: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", what, kind, str(path), str(db)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-million", action="store_true", help="skip the 1M-row CSV peak-RSS run")
    parser.add_argument("--orders", action="store_true",
                        help="only measure --dry-run of 1M-entry hierarchies in three file orders")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    if args.orders:
        return orders()
    if not SOURCE.is_file():
        sys.exit(f"real data not found at {SOURCE}")
    with tempfile.TemporaryDirectory(prefix="nsi-bench-") as tmp:
        tmp = Path(tmp)
        db = tmp / "nsi.db"
        files = {"csv": tmp / "bench.csv", "xlsx": tmp / "bench.xlsx"}
        write_csv(files["csv"], args.rows)
        write_xlsx(files["xlsx"], args.rows)
        print(f"{args.rows:,} rows x 6 columns from {SOURCE.name}; SQLite at {db}")
        print(f"{'file':6} {'what':8} {'seconds':>8} {'cpu s':>7} {'rows/s':>9} {'peak RSS':>9}")
        for kind, path in files.items():
            f, bm, b, i = (measure(what, kind, path, db) for what in ("floor", "bare-min", "bare", "import"))
            for name, m in (("floor", f), ("bare-min", bm), ("bare", b), ("import", i)):
                print(f"{kind:6} {name:8} {m['seconds']:8.2f} {m['cpu']:7.2f} {m['rows'] / m['seconds']:9,.0f} "
                      f"{m['rss_mb']:7.0f} MB")
            print(f"{kind:6} import / floor = {i['seconds'] / f['seconds']:.2f}x wall, "
                  f"{i['cpu'] / f['cpu']:.2f}x cpu (target <= {TARGETS[kind]}x)")
            for name, m in (("bare-min", bm), ("bare", b)):
                print(f"{kind:6} {name} / floor = {m['seconds'] / f['seconds']:.2f}x wall, "
                      f"{m['cpu'] / f['cpu']:.2f}x cpu")
        if not args.no_million:
            big = tmp / "million.csv"
            write_csv(big, 1_000_000)
            m = measure("import", "csv", big, db)
            print(f"1M-row CSV import: {m['seconds']:.1f} s, {m['rows'] / m['seconds']:,.0f} rows/s, "
                  f"peak RSS {m['rss_mb']:.0f} MB (target < 300 MB)")


def orders() -> None:
    """Peak RSS and time of `--dry-run` on a 1M-entry hierarchy in each file order; parents first is the baseline."""
    with tempfile.TemporaryDirectory(prefix="nsi-bench-") as tmp:
        tmp = Path(tmp)
        db = tmp / "nsi.db"
        print(f"{'1M-entry canonical CSV':24} {'seconds':>8} {'cpu s':>7} {'peak RSS':>9}  vs parents first")
        base = None
        for order in ORDERS:
            path = tmp / f"{order.replace(' ', '-')}.csv"
            write_hierarchy(path, order)
            m = measure("dry-run", "csv", path, db)
            path.unlink()
            base = base or m
            print(f"{order:24} {m['seconds']:8.1f} {m['cpu']:7.1f} {m['rss_mb']:7.0f} MB  "
                  f"{m['rss_mb'] - base['rss_mb']:+.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    main()
