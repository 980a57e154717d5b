"""CPU per search request through the whole app, against the bare healthz request in the same run.

Prepares the store of `bench/load.py` (the demo catalogs, the real FNSI ICD-10 2.27 when ../shared/data is
present), builds its search indexes, and sends the 20,000 searches of `bench/load.py --only search` (real
words, prefixes and codes, each in one catalog or across all) through the Flask test client with the response
cache off, so that every request reads the index; `GET /api/v1/healthz` is the floor. N requests of each, in
three interleaved rounds; prints the CPU per request of each round and the ratio of the best rounds. CPU time
is what the server spends, whatever else the machine is running, so this is the figure to compare between
versions on a shared machine (wrk's throughput, in `bench/load.py`, depends on the load).

With `--database-url`, the store is a throw-away schema of that PostgreSQL database, and the CPU of the
server's backends serving this process (read from /proc, so the server must run on this machine) is added to
each search's: on PostgreSQL much of a search's cost is the server's (planning and reading).

    python bench/search_requests.py [N]     # default 1000 requests a round
    python bench/search_requests.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def backend_cpu(monitor, name: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends whose application_name is `name` (from /proc)."""
    total = 0
    for (pid,) in monitor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [name]):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the backend ended meanwhile (its CPU is lost to the figure)
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def main(n: int = 1000, database_url: str | None = None) -> None:
    """Print the CPU per search request and per healthz request, three rounds of `n` each."""
    import bench.load as load
    work = Path(tempfile.mkdtemp(prefix="bench-search-requests-"))
    schema = monitor = None
    try:
        if database_url:
            schema = load.PgSchema(database_url)
            import psycopg
            url = schema.url + "&application_name=bench_search_requests"
            monitor = psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True)
        catalogs = load.prepare(work, million=False, database_url=url if schema else None)["catalogs"]
        os.environ["NSI_RESPONSE_CACHE_MB"] = "0"
        from registry.search import index as search_index
        from registry.store import Store
        search_index.build_all(Store.open())
        from registry.web import create_app
        client = create_app().test_client()
        paths = [line.split("\t")[1] for line in load.search_lines(catalogs)]
        for path in paths[:300]:  # warm-up, and every answer must come from the index
            answer = client.get(path)
            assert answer.status_code == 200 and not answer.get_json()["indexing"], path

        def cpu_ms(batch):
            server = backend_cpu(monitor, "bench_search_requests") if monitor else 0.0
            started = time.process_time()
            for path in batch:
                client.get(path)
            took = time.process_time() - started
            if monitor:
                took += backend_cpu(monitor, "bench_search_requests") - server
            return took / len(batch) * 1000
        rounds = {"search": [], "healthz": []}
        for i in range(3):
            rounds["healthz"].append(cpu_ms(["/api/v1/healthz"] * n))
            rounds["search"].append(cpu_ms([paths[(i * n + j) % len(paths)] for j in range(n)]))
        for name, values in rounds.items():
            print(f"{name:8} CPU per request{' (this process + its PostgreSQL backends)' if monitor else ''}: "
                  + ", ".join(f"{v:.3f} ms" for v in values))
        print(f"search / healthz (best rounds): {min(rounds['search']) / min(rounds['healthz']):.2f}; "
              f"load average {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if monitor:
            monitor.close()
        if schema:
            schema.drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="CPU per search request through the whole app, against the bare "
                                                 "healthz request in the same run.")
    parser.add_argument("n", nargs="?", type=int, default=1000, help="requests a round (default 1000)")
    parser.add_argument("--database-url", help="a PostgreSQL URL on this machine: the store in a throw-away schema "
                                               "of it, and its backends' CPU counted too")
    args = parser.parse_args()
    main(args.n, args.database_url)
