"""CPU per search request through the whole app, against the bare healthz request in the same run.

Prepares the store of `bench/load.py` (the demo catalogs, the real FNSI ICD-10 2.27 when ../shared/data is
present), builds its search indexes, and sends the 20,000 searches of `bench/load.py --only search` (real
words, prefixes and codes, each in one catalog or across all) through the Flask test client with the response
cache off, so that every request reads the index; `GET /api/v1/healthz` is the floor. N requests of each, in
three interleaved rounds; prints the CPU per request of each round and the ratio of the best rounds. CPU time
is what the server spends, whatever else the machine is running, so this is the figure to compare between
versions on a shared machine (wrk's throughput, in `bench/load.py`, depends on the load).

    python bench/search_requests.py [N]     # default 1000 requests a round
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(n: int = 1000) -> None:
    """Print the CPU per search request and per healthz request, three rounds of `n` each."""
    import bench.load as load
    work = Path(tempfile.mkdtemp(prefix="bench-search-requests-"))
    try:
        catalogs = load.prepare(work, million=False)["catalogs"]
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
            started = time.process_time()
            for path in batch:
                client.get(path)
            return (time.process_time() - started) / len(batch) * 1000
        rounds = {"search": [], "healthz": []}
        for i in range(3):
            rounds["healthz"].append(cpu_ms(["/api/v1/healthz"] * n))
            rounds["search"].append(cpu_ms([paths[(i * n + j) % len(paths)] for j in range(n)]))
        for name, values in rounds.items():
            print(f"{name:8} CPU per request: " + ", ".join(f"{v:.3f} ms" for v in values))
        print(f"search / healthz (best rounds): {min(rounds['search']) / min(rounds['healthz']):.2f}; "
              f"load average {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
