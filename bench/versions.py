"""Benchmark of many versions: a catalog imported and published again and again, each version 1% changed.

Staging must leave nothing behind: the time of each stage + publish stays flat over the versions,
and the store stays within 1.2x of what it holds (live rows and indexes), measured as its size
after a full rewrite of it in the same run (SQLite `VACUUM INTO` a copy; PostgreSQL `VACUUM FULL`).
PostgreSQL runs with autovacuum off for the bench's tables, as on a busy server where it lags.

    python bench/versions.py [--versions 40] [--rows 100000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import throwaway_pg_schema  # noqa: E402
from registry import db  # noqa: E402
from registry.models import CatalogCreate  # noqa: E402
from registry.store import Store  # noqa: E402

WORDS = ("острый хронический неуточненный инфекция легкого почки сердца вызванный вирусом бактериальный "
         "первичный вторичный acute chronic unspecified").split()


class Catalog:
    """A catalog of n entries (groups of 50 leaves with a synonym and an attribute); `next()` rewords 1% of it."""

    def __init__(self, n: int, seed: int = 1):
        self.rnd = random.Random(seed)
        groups = max(1, n // 50)
        self.entries = [{"code": f"G{g:04d}", "display": f"Группа {g}", "parents": []} for g in range(groups)]
        for i in range(n - groups):
            g = i % groups
            self.entries.append({
                "code": f"G{g:04d}.{i:06d}", "display": " ".join(self.rnd.choice(WORDS) for _ in range(5)),
                "parents": [f"G{g:04d}"], "designations": [{"language": "en", "use": "synonym", "text": f"term {i}"}],
                "attributes": {"rank": i % 7}})

    def next(self, version: int) -> None:
        """Reword a random 1% of the entries for `version`."""
        for i in self.rnd.sample(range(len(self.entries)), max(1, len(self.entries) // 100)):
            e = self.entries[i]
            self.entries[i] = dict(e, display=e["display"].split(" (v")[0] + f" (v{version})")


def sqlite_sizes(store: Store, path: Path) -> tuple[int, int]:
    """(bytes of the database file and its WAL after a checkpoint, bytes of a fully rewritten copy)."""
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    compact = path.with_name("compact.db")
    compact.unlink(missing_ok=True)
    raw = store.engine.raw_connection()
    try:
        raw.dbapi_connection.execute(f"VACUUM INTO '{compact}'")
    finally:
        raw.close()
    compact_size = compact.stat().st_size
    compact.unlink()
    return size, compact_size


def pg_size(conn, schema: str) -> int:
    """Bytes of every table of the schema, with its indexes and TOAST."""
    return conn.execute(sa.text(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = :s AND c.relkind = 'r'"), {"s": schema}).scalar()


def pg_sizes(admin: sa.Engine, schema: str) -> tuple[int, int, int]:
    """(bytes now, bytes after VACUUM FULL of the schema's tables, dead rows counted before it)."""
    with admin.connect() as conn:
        size = pg_size(conn, schema)
        tables = conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}).scalars().all()
        dead = conn.execute(sa.text("SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables "
                                    "WHERE schemaname = :s"), {"s": schema}).scalar()
        for t in tables:
            conn.exec_driver_sql(f'VACUUM FULL "{schema}"."{t}"')
        return size, pg_size(conn, schema), dead


def run(store: Store, name: str, versions: int, n: int, sizes) -> None:
    catalog = Catalog(n)
    store.create_catalog(CatalogCreate(slug="bench", title="Bench", kind="classification"))
    print(f"[{name}] {versions} versions of {n:,} entries, each 1% changed")
    print(f"  {'version':>7} {'stage s':>8} {'publish s':>9} {'total s':>8}")
    totals = []
    for v in range(1, versions + 1):
        if v > 1:
            catalog.next(v)
        t0 = time.perf_counter()
        store.stage_draft("bench", str(v), iter(catalog.entries))
        t1 = time.perf_counter()
        store.publish("bench", str(v))
        t2 = time.perf_counter()
        totals.append(t2 - t0)
        if v <= 3 or v % 5 == 0 or v == versions:
            print(f"  {v:7d} {t1 - t0:8.2f} {t2 - t1:9.2f} {t2 - t0:8.2f}")
    first = sorted(totals[:5])[len(totals[:5]) // 2]
    last = sorted(totals[-5:])[len(totals[-5:]) // 2]
    print(f"  stage + publish, median of the first 5 versions {first:.2f} s, of the last 5 {last:.2f} s "
          f"({last / first:.2f}x; target: flat)")
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM entry")).scalar()
        staged = [t for t in sa.inspect(conn).get_table_names() if t.startswith("staged_v")]
    size, compact, *extra = sizes()
    print(f"  entry rows {rows:,}; staging tables left: {len(staged)}"
          + (f"; dead rows (statistics) {extra[0]:,}" if extra else ""))
    print(f"  store {size / 2**20:.1f} MiB, rewritten {compact / 2**20:.1f} MiB: {size / compact:.2f}x "
          f"(target <= 1.2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=40)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("NSI_TEST_DATABASE_URL"))
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            engine = db.make_engine(f"sqlite:///{path}")
            db.upgrade(engine)
            store = Store(engine, tmp)
            run(store, "SQLite", args.versions, args.rows, lambda: sqlite_sizes(store, path))
            engine.dispose()
    if not args.pg:
        print("[PostgreSQL] skipped: give --pg URL or set NSI_TEST_DATABASE_URL")
        return
    with throwaway_pg_schema(args.pg) as (admin, schema):
        engine = db.make_engine(args.pg, schema=schema)
        db.upgrade(engine)
        with admin.connect() as conn:  # as on a busy server where autovacuum lags: it never runs here
            for table in conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s"),
                                      {"s": schema}).scalars().all():
                conn.exec_driver_sql(f'ALTER TABLE "{schema}"."{table}" SET (autovacuum_enabled = false)')
        with tempfile.TemporaryDirectory() as tmp:
            run(Store(engine, tmp), "PostgreSQL", args.versions, args.rows, lambda: pg_sizes(admin, schema))
        engine.dispose()

if __name__ == "__main__":
    main()
