"""The search index build of a large catalog inside a running `nsi serve`, and what serving costs meanwhile.

On a SQLite store prepared by `python bench/load.py --million --store DIR` (a 1M-entry catalog `million` beside
the demo catalogs), this bench:

1. forgets the whole search index and builds it again in this process for every catalog but `--catalog`
   (`million`), so that the server has exactly one big build to make;
2. starts `nsi serve` (gunicorn, `--workers 2 --threads 4`) on the store, which builds that index in the
   background from its start, and drives the bare endpoint (`GET /api/v1/healthz`) with wrk at 32 connections
   in back-to-back runs until the build has ended (read from the database: the catalog no longer behind and no
   lease held);
3. then the same runs on the settled server, for the ceiling;
4. with `--against OTHER_CHECKOUT`, does all this with a second server running that code on a copy of the
   store at the same time, the wrk runs alternating between the two (so both see the same load from outside);
5. prints the build's wall time, the CPU the server's processes used meanwhile (workers and any builder process
   they started, from /proc), the load average, the WAL file's largest size during the build and its size after,
   and each wrk run's requests/s and p99.

    python bench/index_build.py --store /tmp/nsi-1m              # 10 s per wrk run
    python bench/index_build.py --store /tmp/nsi-1m --seconds 5 --settled-runs 3
    git archive COMMIT | tar -x -C /tmp/old && python bench/index_build.py --store /tmp/nsi-1m --against /tmp/old
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.load_server import API, Server, line, parents, wrk  # noqa: E402


def descendants(root: int) -> list[int]:
    """Every process under `root` (from /proc), `root` excluded."""
    parent_of = parents()
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parent_of.items() if parent == pid]
        found += children
        frontier += children
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children it has waited for; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """Samples the WAL file's size, the load average and the CPU of the server's processes every second."""

    def __init__(self, wal: Path, master: int):
        super().__init__(daemon=True)
        self.wal, self.master = wal, master
        self.wal_max, self.loads, self.cpu = 0, [], {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(1):
            self.wal_max = max(self.wal_max, self.wal.stat().st_size if self.wal.exists() else 0)
            self.loads.append(os.getloadavg()[0])
            for pid in descendants(self.master):
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu_seconds(pid))


def reset_index(store, keep_behind: int) -> None:
    """Forget the whole index, and build it again here for every catalog but `keep_behind`."""
    from registry.search import index as search_index
    search_index.clear(store)
    for catalog_id in search_index.catalogs_behind(store):
        if catalog_id != keep_behind:
            search_index.build(store, catalog_id)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def settled(store) -> bool:
    """No catalog behind its index and no build holding a lease."""
    import sqlalchemy as sa
    from registry.search import index as search_index
    with store.engine.connect() as conn:
        leased = conn.execute(sa.select(sa.func.count()).select_from(search_index.STATE)
                              .where(search_index.STATE.c.lease_owner.is_not(None))).scalar()
    return not leased and not search_index.catalogs_behind(store)


class Run:
    """One server building the index: its store, its process, what was sampled and measured."""

    def __init__(self, name: str, root: Path, data: Path, args):
        from registry.store import Store
        self.name, self.data = name, data
        self.store = Store.open({"NSI_DATA_DIR": str(data)})
        self.wal = Path(self.store.engine.url.database + "-wal")
        env = {**os.environ, "PYTHONPATH": str(root), "NSI_DATA_DIR": str(data)}
        env.pop("NSI_DATABASE_URL", None)
        here = os.getcwd()
        os.chdir(root)  # `python -m` puts the working directory first on sys.path: it must be the checkout's
        try:
            self.server = Server(env, args.workers, f"index-build-{name}", args.threads)
        finally:
            os.chdir(here)
        self.started = time.perf_counter()
        self.sampler = Sampler(self.wal, self.server.proc.pid)
        self.sampler.start()
        self.built: float | None = None

    def wrk(self, args, label: str) -> None:
        r = wrk(self.server, [line("GET", f"{API}/healthz")], args.seconds, args.connections, self.data)
        print(f"{self.name:<7}{label:<14}{r['rps']:>7.0f} req/s  p50 {r['p50']:>7.2f} ms  p99 {r['p99']:>8.2f} ms  "
              f"errors {r['bad_status'] + r['socket_errors']}  load {os.getloadavg()[0]:.1f}", flush=True)

    def check_built(self, catalog: str) -> bool:
        """Whether the build has ended (then prints what it cost, once)."""
        if self.built is not None:
            return True
        if not settled(self.store):
            return False
        self.built = time.perf_counter() - self.started
        self.sampler.stopping.set()
        self.sampler.join()
        workers = set(self.server.workers())
        cpu = sum(self.sampler.cpu.values())
        builders = sum(c for pid, c in self.sampler.cpu.items() if pid not in workers)
        loads = self.sampler.loads or [os.getloadavg()[0]]
        time.sleep(3)
        print(f"{self.name}: build of {catalog} ended {self.built:.1f} s after the server started; the server's "
              f"processes used {cpu:.1f} s of CPU meanwhile (wrk's requests included), {builders:.1f} s of it in "
              f"builder processes; load average {min(loads):.1f}-{max(loads):.1f}; WAL largest "
              f"{self.sampler.wal_max / 1e6:.1f} MB, {(self.wal.stat().st_size if self.wal.exists() else 0) / 1e6:.1f}"
              f" MB 3 s after the build", flush=True)
        return True

    def stop(self) -> None:
        self.server.stop()
        self.store.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, required=True, help="a SQLite data folder prepared by "
                                                              "`bench/load.py --million --store DIR`")
    ap.add_argument("--catalog", default="million", help="the catalog whose index the server builds")
    ap.add_argument("--seconds", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--settled-runs", type=int, default=3, help="wrk runs after the build")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--against", type=Path, help="another checkout of the registry (e.g. `git archive` of an older "
                                                 "commit): a second server runs that code on a copy of the store, "
                                                 "and the wrk runs alternate between the two")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")
    os.environ.update(NSI_DATA_DIR=str(args.store))
    os.environ.pop("NSI_DATABASE_URL", None)
    from registry.store import Store
    store = Store.open()
    if store.engine.dialect.name != "sqlite":
        raise SystemExit("this bench measures a SQLite store")
    t = time.perf_counter()
    reset_index(store, store.resolve(args.catalog).catalog_id)
    store.engine.dispose()
    print(f"index reset, every catalog but {args.catalog} built again in {time.perf_counter() - t:.1f} s")
    places = [("this", ROOT, args.store)]
    if args.against:
        copy = args.store.with_name(args.store.name + "-against")
        copy.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (copy / f"nsi.db{suffix}").unlink(missing_ok=True)
        shutil.copy(args.store / "nsi.db", copy / "nsi.db")
        places.append(("against", args.against, copy))
    print(f"load average before the servers start: {os.getloadavg()[0]:.1f}")
    runs = []
    try:
        for name, root, data in places:
            runs.append(Run(name, root, data, args))
        while not all(run.check_built(args.catalog) for run in runs):
            for run in runs:
                if not run.check_built(args.catalog):
                    run.wrk(args, "during build")
            if time.perf_counter() - runs[0].started > 3600:
                raise SystemExit("the builds did not end within an hour")
        for _ in range(args.settled_runs):
            for run in runs:
                run.wrk(args, "settled")
    finally:
        for run in runs:
            run.stop()


if __name__ == "__main__":
    main()
