"""Benchmark of the versioned store: 100k entries, v1 then v2 with 1% changed, 0.5% added, 0.5% removed.

Prints, for SQLite (and PostgreSQL when NSI_TEST_DATABASE_URL or --pg is given):
rows stored per version, stage and publish time next to the floor (the driver's own
executemany of the same rows as tuples into a copy of `entry`, COPY on PostgreSQL,
in the same database and the same run),
diff time, and peak memory. Wall time on a shared machine is noisy and often disk-bound (the floor waits
on the same disk), so CPU time is printed beside it: this process's on SQLite, this process's plus its
server backends' on PostgreSQL (read from /proc: the server must be on this machine). `--runs N` gives
the best and the median ratio of N runs, each into a fresh store. Run on demand:

    python bench/store.py [--n 100000] [--runs 3] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import throwaway_pg_schema  # noqa: E402
from registry import db  # noqa: E402
from registry.entries import content_hash, normalize_entry, stored_parts  # noqa: E402
from registry.models import CatalogCreate, Entry  # noqa: E402
from registry.store import Store  # noqa: E402

WORDS = ("острый хронический неуточненный инфекция легкого почки сердца вызванный вирусом бактериальный "
         "первичный вторичный acute chronic unspecified").split()


def make_versions(n: int, seed: int = 1):
    """v1 of n entries (groups of 50 leaves) and v2 with 1% changed, 0.5% added, 0.5% removed."""
    rnd = random.Random(seed)
    groups = max(1, n // 50)
    v1 = [{"code": f"G{g:04d}", "display": f"Группа {g}", "parents": []} for g in range(groups)]
    for i in range(n - groups):
        g = i % groups
        v1.append({"code": f"G{g:04d}.{i:06d}", "display": " ".join(rnd.choice(WORDS) for _ in range(5)),
                   "parents": [f"G{g:04d}"], "designations": [{"language": "en", "use": "synonym",
                                                                "text": f"term {i}"}],
                   "attributes": {"rank": i % 7}})
    leaves = [e["code"] for e in v1 if e["parents"]]
    changed = set(rnd.sample(leaves, n // 100))
    removed = set(rnd.sample([c for c in leaves if c not in changed], n // 200))
    v2 = []
    for e in v1:
        if e["code"] in removed:
            continue
        e2 = dict(e)
        if e["code"] in changed:
            e2["display"] = e["display"] + " (пересмотр)"
        v2.append(e2)
    v2 += [{"code": f"N{j:06d}", "display": f"Новая запись {j}", "parents": ["G0000"]} for j in range(n // 200)]
    return v1, v2, changed, removed


def floor_insert(store: Store, rows: list[dict], catalog_id: int, cpu_clock) -> tuple[float, float]:
    """Seconds for the driver's own bulk insert of the same rows, as tuples, into a copy of `entry`.

    The copy has the columns and indexes of `entry` (the table a publish writes). The rows are encoded
    before the clock starts; what is timed is one transaction of sqlite3 `executemany` (PostgreSQL:
    psycopg COPY), with no SQLAlchemy in between: the least it costs to store these rows at all.
    """
    prepared = []
    for r in rows:
        e = normalize_entry(r)
        line, designations, parents, attributes = stored_parts(e)
        prepared.append((catalog_id, 1, None, e["code"], content_hash(line), e["display"], designations, parents,
                         e["parents"][0] if e["parents"] else None, e["status"], attributes))
    columns = ("catalog_id", "valid_from", "valid_to", "code", "hash", "display", "designations", "parents",
               "parent_code", "status", "attributes")
    entry = Entry.__table__
    dialect = store.engine.dialect
    ddl = [str(sa.schema.CreateTable(entry).compile(dialect=dialect)).replace(
        f"TABLE {entry.name} ", "TABLE bench_floor ", 1)]
    ddl += [str(sa.schema.CreateIndex(ix).compile(dialect=dialect)).replace(
        f"INDEX {ix.name} ON {entry.name} ", f"INDEX floor_{ix.name} ON bench_floor ", 1) for ix in entry.indexes]
    raw = store.engine.raw_connection()
    try:
        driver = raw.dbapi_connection
        cur = driver.cursor()
        cur.execute("DROP TABLE IF EXISTS bench_floor")
        for statement in ddl:
            cur.execute(statement)
        driver.commit()
        started, cpu = time.perf_counter(), cpu_clock()
        if dialect.name == "sqlite":
            cur.execute("BEGIN")
            cur.executemany(f"INSERT INTO bench_floor ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                            prepared)
            cur.execute("COMMIT")
        else:
            with cur.copy(f"COPY bench_floor ({', '.join(columns)}) FROM STDIN") as copy:
                for row in prepared:
                    copy.write_row(row)
            driver.commit()
        seconds, cpu = time.perf_counter() - started, cpu_clock() - cpu
        cur.execute("DROP TABLE bench_floor")
        driver.commit()
    finally:
        raw.close()
    return seconds, cpu


def entry_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM entry")).scalar()


def codes_of(diff: dict) -> dict:
    """The codes a diff lists as added, removed and changed."""
    return {kind: {e["code"] for e in diff[kind]} for kind in ("added", "removed", "changed")}


def nsi_diff(env: dict, slug: str, a: str, b: str) -> dict:
    """`nsi diff SLUG A B --format json` run through the CLI on the bench's database."""
    from click.testing import CliRunner
    from cli import cli
    result = CliRunner().invoke(cli, ["diff", slug, a, b, "--format", "json"], env=env)
    if result.exit_code != 0:
        raise SystemExit(f"nsi diff failed: {result.output}")
    return json.loads(result.output)


def pg_accounted(engine: sa.Engine, admin: sa.Engine) -> Callable[[], float]:
    """A CPU clock for PostgreSQL runs: this process's CPU plus that of the server backends serving `engine`.

    The server is on this machine, so each backend's CPU is read from /proc. Parallel query and index
    workers are turned off for `engine`'s sessions: their CPU would not be counted, and the floor's COPY
    uses none. The server's background writers are counted for neither side.
    """
    name = f"nsi-bench-{os.getpid()}-{id(engine)}"

    @sa.event.listens_for(engine, "connect")
    def _named(dbapi_conn, _record):
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET application_name = '{name}'")
            cur.execute("SET max_parallel_maintenance_workers = 0")
            cur.execute("SET max_parallel_workers_per_gather = 0")
        dbapi_conn.commit()

    engine.dispose()  # connections opened before (the schema's upgrade) would go uncounted
    ticks = os.sysconf("SC_CLK_TCK")

    def clock() -> float:
        with admin.connect() as conn:
            pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                                {"n": name}).scalars().all()
        server = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                raise SystemExit(f"PostgreSQL backend {pid} is not on this machine: no CPU figures") from None
            server += int(fields[11]) + int(fields[12])  # utime, stime
        return time.process_time() + server / ticks
    return clock


def run(store: Store, name: str, n: int, cli_env: dict, cpu_clock=time.process_time) -> tuple[float, float]:
    """One measured run into a fresh store; prints its figures and returns v1's (wall, CPU) ratio to the floor.

    `cpu_clock` counts the CPU seconds of everything doing the work: this process on SQLite, this process
    and its server backends on PostgreSQL (`pg_accounted`).
    """
    v1, v2, changed, removed = make_versions(n)
    store.create_catalog(CatalogCreate(slug="bench", title="Bench", kind="classification"))
    floor, floor_cpu = floor_insert(store, v1, store.get_catalog("bench").id, cpu_clock)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), cpu_clock()
    store.stage_draft("bench", "v1", iter(v1))
    t1 = time.perf_counter()
    store.publish("bench", "v1")
    t2, c2 = time.perf_counter(), cpu_clock()
    rows1 = entry_rows(store)
    store.stage_draft("bench", "v2", iter(v2))
    t3 = time.perf_counter()
    store.publish("bench", "v2")
    t4 = time.perf_counter()
    rows2 = entry_rows(store)
    d = store.diff("bench", "v1", "v2")
    t5 = time.perf_counter()
    added = n // 200
    expected = {"added": {f"N{j:06d}" for j in range(added)}, "removed": removed, "changed": changed}
    exact = codes_of(d) == expected
    exact_cli = codes_of(nsi_diff(cli_env, "bench", "v1", "v2")) == expected
    new_rows = rows2 - rows1
    print(f"[{name}] {n:,} entries")
    who = " of this process" if cpu_clock is time.process_time else " of this process and its server backends"
    print(f"  rows stored: v1 {rows1:,}; v2 added {new_rows:,} for {len(changed) + added:,} changed+added "
          f"({new_rows / (len(changed) + added):.2f}x, target <= 1.05x)")
    print(f"  floor (driver executemany/COPY of {n:,} tuples into a copy of entry): {floor:.2f} s "
          f"({floor_cpu:.2f} s CPU{who})")
    print(f"  v1 stage {t1 - t0:.2f} s + publish {t2 - t1:.2f} s = {t2 - t0:.2f} s "
          f"({(t2 - t0) / floor:.2f}x floor, target <= 3x; publish alone {(t2 - t1) / floor:.2f}x); "
          f"CPU{who} {c2 - c0:.2f} s ({(c2 - c0) / floor_cpu:.2f}x the floor's)")
    print(f"  v2 stage {t3 - t2:.2f} s + publish {t4 - t3:.2f} s")
    print(f"  diff v1 -> v2: {t5 - t4:.3f} s (target < 2 s); exactly the changed/added/removed codes: "
          f"Store.diff {exact}, `nsi diff --format json` {exact_cli}")
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"  peak RSS of the process: {rss_after / 1024:.0f} MiB (was {rss_before / 1024:.0f} MiB with both "
          f"versions' {n:,} input entries built in memory, before staging)")
    return (t2 - t0) / floor, (c2 - c0) / floor_cpu


def summary(name: str, ratios: list[tuple[float, float]]) -> None:
    """The v1 stage + publish / floor ratios of every run, with the best and the median (noise only adds time)."""
    walls, cpus = sorted(r[0] for r in ratios), sorted(r[1] for r in ratios)
    print(f"[{name}] stage + publish / floor over {len(ratios)} runs: wall best {walls[0]:.2f}x, median "
          f"{walls[len(walls) // 2]:.2f}x (runs: {', '.join(f'{r[0]:.2f}' for r in ratios)}); CPU "
          f"best {cpus[0]:.2f}x, median {cpus[len(cpus) // 2]:.2f}x; target <= 3x; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("NSI_TEST_DATABASE_URL"))
    parser.add_argument("--runs", type=int, default=1, help="measure N times, each into a fresh store, and "
                        "print the best and the median ratio (a shared machine's noise only adds time)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    ratios = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            engine = db.make_engine(f"sqlite:///{tmp}/bench.db")
            db.upgrade(engine)
            ratios.append(run(Store(engine, tmp), "SQLite", args.n,
                              {"NSI_DATA_DIR": tmp, "NSI_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}))
            engine.dispose()
    summary("SQLite", ratios)
    if not args.pg:
        print("[PostgreSQL] skipped: give --pg URL or set NSI_TEST_DATABASE_URL")
        return
    ratios = []
    for _ in range(args.runs):
        with throwaway_pg_schema(args.pg) as (admin, schema):
            engine = db.make_engine(args.pg, schema=schema)
            db.upgrade(engine)
            url = sa.engine.make_url(args.pg).update_query_dict({"options": f"-csearch_path={schema}"})
            with tempfile.TemporaryDirectory() as tmp:
                ratios.append(run(Store(engine, tmp), "PostgreSQL", args.n,
                                  {"NSI_DATA_DIR": tmp, "NSI_DATABASE_URL": url.render_as_string(hide_password=False)},
                                  pg_accounted(engine, admin)))
            engine.dispose()
    summary("PostgreSQL", ratios)

if __name__ == "__main__":
    main()
