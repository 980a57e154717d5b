"""Benchmark of the REST API: single-code lookups against a bare Flask endpoint, and download memory.

1. Loads the real FNSI ICD-10 (../shared/data/icd10_ru, version 2.27) through the
   `icd10-ru-fnsi` profile and a synthetic 100k-entry catalog into a fresh SQLite store.
2. Serves it with `nsi serve --workers 2` (gunicorn, gthread) on loopback, and, with the
   same gunicorn settings, a bare Flask app whose one endpoint returns a constant.
3. Drives both with the same load generator (wrk when installed, else a bounded Python
   client), lookups of random codes by label, and prints requests/s, p50 and p99 latency,
   errors and the ratio lookup/bare: first while the workers' response caches fill (cold),
   then in interleaved rounds with the bare endpoint.
4. Downloads the 100k version in full (jsonl, csv, xlsx) while sampling the RSS of the
   server's workers, and prints the growth.

Run on demand (not in CI):  python bench/api.py [--duration 10] [--warmup 60] [--connections 8] [--python-client]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import write_synthetic_hierarchy  # noqa: E402
FNSI = ROOT.parent / "shared" / "data" / "icd10_ru" / "fnsi_1.2.643.5.1.13.13.11.1005_v2.27.csv"
BARE_APP = '''
import sys
from flask import Flask, jsonify
from registry.web.server import serve
app = Flask("bare")
@app.get("/const")
def const():
    return jsonify({"code": "A00.0", "display": "constant"})
serve(app, host="127.0.0.1", port=int(sys.argv[1]), workers=2)
'''
LUA = '''
local paths = {}
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not answer")


def start(cmd, env) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_wrk(base: str, paths: list[str], duration: int, connections: int, workdir: Path) -> dict:
    paths_file, script = workdir / "paths.txt", workdir / "paths.lua"
    paths_file.write_text("\n".join(paths) + "\n")
    script.write_text(LUA)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
                          base, "--", str(paths_file)], capture_output=True, text=True, check=True).stdout

    def ms(label):
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms(50), "p99": ms(99),
            "requests": total, "errors": errors, "tool": "wrk"}


def run_python(base: str, paths: list[str], duration: int, connections: int, workdir: Path) -> dict:
    import http.client
    host, port = base.split("//", 1)[1].split(":")
    latencies: list[float] = []
    errors = [0]
    stop_at = time.monotonic() + duration
    lock = threading.Lock()

    def worker(seed):
        rnd = random.Random(seed)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine = []
        while time.monotonic() < stop_at:
            t = time.perf_counter()
            try:
                conn.request("GET", rnd.choice(paths))
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
            mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000, "requests": len(latencies), "errors": errors[0],
            "tool": "python"}


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1])


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def download_rss(base: str, master: int, fmt: str) -> tuple[float, int, float]:
    """(seconds, bytes, worst RSS growth of a worker in MB) of one full download."""
    workers = children(master)
    before = {p: rss_kb(p) for p in workers}
    peak = dict(before)
    done = threading.Event()

    def sample():
        while not done.is_set():
            for p in workers:
                try:
                    peak[p] = max(peak[p], rss_kb(p))
                except OSError:
                    pass
            time.sleep(0.02)
    sampler = threading.Thread(target=sample)
    sampler.start()
    t = time.perf_counter()
    size = 0
    with urllib.request.urlopen(f"{base}/catalogs/big/versions/v1/download?format={fmt}", timeout=600) as r:
        for chunk in iter(lambda: r.read(1 << 16), b""):
            size += len(chunk)
    seconds = time.perf_counter() - t
    done.set()
    sampler.join()
    return seconds, size, max(peak[p] - before[p] for p in workers) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per load run")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=60, help="seconds of lookups before measuring (fills the "
                    "response cache of published versions; reported as the cold figure)")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved bare/lookup rounds")
    ap.add_argument("--big", type=int, default=100000, help="entries of the download catalog")
    ap.add_argument("--python-client", action="store_true", help="use the Python client even if wrk exists")
    args = ap.parse_args()
    if not FNSI.is_file():
        raise SystemExit(f"real data not found: {FNSI}")

    from importers import run_import
    from registry.models import CatalogCreate
    from registry.store import Store

    work = Path(tempfile.mkdtemp(prefix="nsi-bench-api-"))
    env = {**os.environ, "NSI_DATA_DIR": str(work / "data")}
    env.pop("NSI_DATABASE_URL", None)
    os.environ.update({"NSI_DATA_DIR": env["NSI_DATA_DIR"]})
    os.environ.pop("NSI_DATABASE_URL", None)
    store = Store.init()
    t = time.perf_counter()
    run_import(store, FNSI, catalog="icd10-ru", version="2.27", profile="icd10-ru-fnsi", publish=True)
    print(f"loaded FNSI ICD-10 2.27: {store.get_version('icd10-ru', '2.27').entry_count} entries "
          f"in {time.perf_counter() - t:.1f} s")
    big = work / "big.jsonl"
    write_synthetic_hierarchy(big, args.big)
    store.create_catalog(CatalogCreate(slug="big", title="Synthetic 100k"))
    run_import(store, big, catalog="big", version="v1", publish=True)
    codes = [e["code"] for e in store.iter_entries("icd10-ru", "2.27")]
    store.engine.dispose()

    nsi = shutil.which("nsi", path=os.path.dirname(sys.executable)) or "nsi"
    api_port, bare_port = free_port(), free_port()
    api = start([nsi, "serve", "--port", str(api_port), "--workers", "2"], env)
    bare = start([sys.executable, "-c", BARE_APP, str(bare_port)], env)
    use_wrk = shutil.which("wrk") and not args.python_client
    load = run_wrk if use_wrk else run_python
    try:
        wait_up(f"http://127.0.0.1:{api_port}/api/v1/healthz", api)
        wait_up(f"http://127.0.0.1:{bare_port}/const", bare)
        lookups = [f"/api/v1/catalogs/icd10-ru/versions/2.27/entries/{c}" for c in codes]
        bad = [p for p in lookups[:200] if urllib.request.urlopen(f"http://127.0.0.1:{api_port}{p}").status != 200]
        assert not bad, bad
        targets = {"bare": (f"http://127.0.0.1:{bare_port}", ["/const"]),
                   "lookup": (f"http://127.0.0.1:{api_port}", lookups)}
        load(*targets["bare"], 2, args.connections, work)
        cold = load(*targets["lookup"], args.warmup, args.connections, work)
        runs = []
        for _ in range(args.rounds):  # interleaved, so both see the same machine load
            for name in ("bare", "lookup"):
                runs.append((name, load(*targets[name], args.duration, args.connections, work)))
        print(f"\nload: {cold['tool']}, {args.connections} connections, {args.duration} s per run, "
              f"gunicorn 2 workers (gthread, 4 threads), loopback, {os.cpu_count()} CPUs shared with the client; "
              f"random codes over all {len(codes):,} entries of FNSI ICD-10 2.27")
        print(f"{'run':<44}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        label = {"bare": "bare Flask constant", "lookup": "GET .../2.27/entries/{code}"}
        print(f"{'GET .../2.27/entries/{code}, cold (first ' + str(args.warmup) + ' s)':<44}{cold['rps']:>9.0f}"
              f"{cold['p50']:>9.2f}{cold['p99']:>9.2f}{cold['errors']:>8}")
        for name, r in runs:
            print(f"{label[name]:<44}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8}")
        mean = {n: sum(r["rps"] for m, r in runs if m == n) / args.rounds for n in label}
        errors = sum(r["errors"] for _, r in runs) + cold["errors"]
        print(f"lookup / bare throughput (mean of {args.rounds} interleaved rounds, after warm-up): "
              f"{mean['lookup'] / mean['bare']:.0%}; cold: {cold['rps'] / mean['bare']:.0%}; errors: {errors} "
              f"(target >= 70%, 0 errors)")

        print(f"\nfull download of a {args.big:,}-entry version (worst worker RSS growth):")
        for fmt in ("jsonl", "csv", "xlsx"):
            seconds, size, growth = download_rss(f"http://127.0.0.1:{api_port}/api/v1", api.pid, fmt)
            print(f"  {fmt:<6}{size / 1e6:>8.1f} MB in {seconds:5.1f} s, RSS growth {growth:5.1f} MB (target < 50 MB)")
    finally:
        stop(api)
        stop(bare)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
