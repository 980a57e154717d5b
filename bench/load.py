"""Load benchmark of the HTTP API with wrk: a realistic mix and per-endpoint runs against a bare ceiling.

1. Prepares a fresh store: the demo catalogs (`nsi demo`'s samples and map set), the real FNSI ICD-10 2.27
   when ../shared/data is present, and with `--million` a synthetic 1,000,000-entry catalog (about a minute
   to build).
2. Serves it with `nsi serve` (gunicorn gthread, `--workers 2 --threads 4`, or `--workers`/`--threads`) on
   loopback, and a second instance with the response cache off (`NSI_RESPONSE_CACHE_MB=0`) for the cold runs.
3. Waits until the servers have built the search index of every published version in the background (minutes
   for the 1M-entry catalog: measured meanwhile, every run shares the CPU with that build).
4. Drives them with wrk (Debian's package) and a Lua script cycling real codes, at 8, 32 and 64 connections:
   - `bare`: `GET /api/v1/healthz`, a constant answer through the same app, hooks and server: the ceiling;
   - `lookup`: `GET .../versions/{label}/entries/{code}`; `lookup-latest`: the same through `latest`;
   - `catalogs`: `GET /api/v1/catalogs`; `lookup-cold`: lookups on the instance without a response cache;
   - `lookup-1m` (with `--million`): lookups of 200,000 random codes of the 1M-entry catalog (too big to be
     prefilled into the response cache, and more codes than it keeps: mostly database reads);
   - `search`: `GET /api/v1/search` of 80 real words, prefixes and codes across the catalogs, on the instance
     without a response cache (so every request reads the search index), after waiting for the indexes that
     the servers build in the background;
   - `mix`: lookups (by label and `latest`), conditional GETs with If-None-Match, validate batches, search,
     entry pages, translate, FHIR `$lookup` and `$validate-code`, the catalog list.
5. Prints requests/s, p50, p99, non-2xx/3xx answers and socket errors per run, each endpoint's throughput as a
   share of the bare endpoint measured on the same server at the same level just before it, the workers' CPU
   per request and each worker's share of it (from /proc: a balanced server splits it evenly), and the
   targets (0 errors at every level; at 32 connections lookups >= 85% of bare with p99 < 20 ms, cold and on
   1M too; lookups through `latest` >= 80% of those by label, the catalog list >= 80% of bare; search
   >= 1,000 req/s with p99 < 50 ms). Exits 1
   when a target is missed.

    python bench/load.py              # 20 s per run
    python bench/load.py --quick      # 5 s per run
    python bench/load.py --million    # also the 1M-entry catalog
    python bench/load.py --million --store /tmp/nsi-1m   # prepared once, reused by the next runs
    python bench/load.py --cpu --only lookup-cold   # first the CPU per request in process, then wrk
    python bench/load.py --trace --only lookup   # and where each request's time went in the workers
    python bench/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test   # on PostgreSQL

With `--database-url` (PostgreSQL) the same data is prepared in a throw-away schema of that database, which
both servers use (the data folder stays a temporary folder), and the schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import write_synthetic_hierarchy  # noqa: E402
from bench.load_server import API, Server, get, line, wrk  # noqa: E402
FNSI = ROOT.parent / "shared" / "data" / "icd10_ru" / "fnsi_1.2.643.5.1.13.13.11.1005_v2.27.csv"
LEVELS = (8, 32, 64)
SAMPLE = 20000  # requests listed per run; wrk picks among them at random
SAMPLE_1M = 200000  # codes of the 1M-entry catalog looked up: more than the response cache keeps

def build_million(store, work: Path) -> None:
    """A 1M-entry catalog `million` (10,000 groups of 99 leaves), imported and published like any file."""
    from importers import run_import
    from registry.models import CatalogCreate
    path = work / "million.jsonl"
    write_synthetic_hierarchy(path, 1_000_000)
    store.create_catalog(CatalogCreate(slug="million", title="Synthetic 1M", kind="classification"))
    t = time.perf_counter()
    run_import(store, path, catalog="million", version="v1", publish=True)
    print(f"built the 1M-entry catalog in {time.perf_counter() - t:.0f} s")
    path.unlink()


class PgSchema:
    """A throw-away PostgreSQL schema, and the NSI_DATABASE_URL that puts every table of the registry in it."""

    def __init__(self, url: str):
        import uuid
        import sqlalchemy as sa
        if not url.startswith("postgresql"):
            raise SystemExit(f"--database-url must be a PostgreSQL URL (postgresql+psycopg://...), got {url!r}")
        self.name = "bench_load_" + uuid.uuid4().hex[:8]
        self.admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.name}"')
        self.url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        self.admin.dispose()


def prepare(work: Path, million: bool, database_url: str | None = None) -> dict:
    """The store (SQLite in `work`, or the PostgreSQL `database_url`), and the codes the request mixes draw from."""
    os.environ["NSI_DATA_DIR"] = str(work)
    if database_url:
        os.environ["NSI_DATABASE_URL"] = database_url
    else:
        os.environ.pop("NSI_DATABASE_URL", None)
    from registry.demo import prepare_demo, prepare_review_demo
    store, _ = prepare_demo()
    prepare_review_demo(store)
    from registry.demo import DEMO_MAP_SET
    from registry.mapping import bulk_decide, publish_map_set
    # The matcher's candidates approved as they are and published, so that translate has something to answer.
    bulk_decide(store, DEMO_MAP_SET, "approve", actor="bench", filters={"status": "candidate", "min_score": 1})
    publish_map_set(store, DEMO_MAP_SET, "bench", actor="bench")
    if FNSI.is_file():
        from importers import run_import
        run_import(store, FNSI, catalog="icd10-ru-full", version="2.27", profile="icd10-ru-fnsi", publish=True)
    if million:
        build_million(store, work)
    catalogs = {}
    for c in store.list_catalogs():
        if c.head_seq and c.slug != "million":
            label = store.get_version(c.slug).label
            catalogs[c.slug] = (label, [e["code"] for e in store.iter_entries(c.slug, label)])
    million_codes = None
    if million:
        million_codes = [f"G{i // 100:05d}" if i % 100 == 0 else f"G{i // 100:05d}.{i:07d}"
                         for i in random.Random(2).sample(range(1_000_000), SAMPLE_1M)]
    store.engine.dispose()
    return {"catalogs": catalogs, "million": million_codes}


def lookup_lines(catalogs: dict, through_latest: bool = False) -> list[str]:
    """GET lookups of real codes, all catalogs, spread over every code (the biggest catalog dominates)."""
    pairs = [(slug, label, code) for slug, (label, codes) in catalogs.items() for code in codes]
    rnd = random.Random(3)
    return [line("GET", f"{API}/catalogs/{slug}/versions/{'latest' if through_latest else label}/entries/"
                        f"{urllib.parse.quote(code, safe='')}")
            for slug, label, code in rnd.sample(pairs, min(SAMPLE, len(pairs)))]


SEARCH_WORDS = ("холера", "острый", "хронический", "туберкулез", "туберк", "инфекция", "кишечная инфекция",
                "перелом", "диабет", "сахарный диабет", "гипертензия", "пневмония", "бронхит", "гепатит",
                "новообразование", "злокачественное", "травма", "отравление", "беременность", "ожог",
                "tuberculosis", "cholera", "insulin", "metformin", "paracetamol", "amoxicillin", "hospital",
                "clinic", "antibacterials", "vitamin", "A00", "A01", "J18", "C50", "I10", "E11", "N02",
                "C10", "A0", "таблетки", "раствор", "капли глазные", "мазь", "инъекций", "сироп",
                "артериальная", "сердечная недостаточность", "инсульт", "инфаркт миокарда", "астма")


def search_lines(catalogs: dict) -> list[str]:
    """Searches of real words, prefixes and codes, each in one catalog or across all of them."""
    rnd = random.Random(5)
    slugs = list(catalogs) + [None]
    out = []
    for _ in range(SAMPLE // 4):
        word, slug = rnd.choice(SEARCH_WORDS), rnd.choice(slugs)
        out.append(line("GET", f"{API}/search?q={urllib.parse.quote(word)}" + (f"&catalog={slug}" if slug else "")))
    return out


def wait_until_settled(env: dict, limit: float = 900) -> None:
    """Wait until the servers have built the search index of every published version, before anything is measured.

    The servers build the indexes of what the bench published in the background (`nsi serve` wakes its indexer
    at start): for the 1M-entry catalog that is minutes of one worker's CPU and GIL and of database writes, and a
    run made meanwhile measures a server that is still busy (the 1M lookups and the bare endpoint beside them
    were once measured so). A deployment is busy so only in the minutes after a large publish. Read from the
    database (no request to the servers): no catalog behind, and no build holding a lease; and, with
    `NSI_LOOKUP_FILES` on, every catalog's latest version has its lookup file in the data folder.
    """
    import sqlalchemy as sa
    from registry import config, lookup_files
    from registry.search import index as search_index
    from registry.store import Store
    store = Store.open(env)
    started = time.perf_counter()
    try:
        while True:
            with store.engine.connect() as conn:
                building = conn.execute(sa.select(sa.func.count()).select_from(search_index.STATE)
                                        .where(search_index.STATE.c.lease_owner.is_not(None))).scalar()
            if not building and not search_index.catalogs_behind(store) \
                    and not (config.get("NSI_LOOKUP_FILES", env) and lookup_files.due(store)):
                break
            if time.perf_counter() - started > limit:
                raise SystemExit(f"the servers had not built every search index within {limit:.0f} s")
            time.sleep(1)
    finally:
        store.engine.dispose()
    print(f"search indexes (and lookup files) built by the servers after {time.perf_counter() - started:.1f} s")


def mix_lines(base: str, catalogs: dict) -> list[str]:
    """The realistic mix: what systems polling and validating against a registry send, in rough proportion."""
    rnd = random.Random(4)
    lines = []
    labelled = lookup_lines(catalogs)
    latest = lookup_lines(catalogs, through_latest=True)
    lines += labelled[:4000] + latest[:2000]
    # Conditional GETs: a system revalidating what it holds.
    for path in [l.split("\t")[1] for l in labelled[:300]] + [f"{API}/catalogs"]:
        _, headers, _ = get(base + path)
        lines += [line("GET", path, f"If-None-Match: {headers['ETag']}")] * 3
    slugs = list(catalogs)
    for _ in range(400):  # validate batches of 20 codes, one in ten unknown
        slug = rnd.choice(slugs)
        label, codes = catalogs[slug]
        batch = [rnd.choice(codes) if rnd.random() > 0.1 else "NO-SUCH-CODE" for _ in range(20)]
        lines.append(line("POST", f"{API}/catalogs/{slug}/versions/{label}/validate", "-",
                          json.dumps({"codes": batch}, ensure_ascii=False)))
    for word in ("холера", "острый", "tuberculosis", "insulin", "hospital", "кишечная инфекция", "metformin"):
        lines += [line("GET", f"{API}/search?q={urllib.parse.quote(word)}&catalog={rnd.choice(slugs)}")] * 40
    for slug in slugs:  # entry pages
        lines += [line("GET", f"{API}/catalogs/{slug}/versions/latest/entries?limit=50")] * 40
    for code in catalogs["drugs-kz-knf"][1][:50]:
        lines += [line("GET", f"{API}/translate?source=drugs-kz-knf&code={urllib.parse.quote(code)}&target=atc-who")] * 4
    _, _, body = get(f"{base}/fhir/CodeSystem")
    systems = {}
    for entry in json.loads(body).get("entry", []):
        resource = entry["resource"]
        slug = resource["id"].split("--")[0]
        if slug in catalogs:
            systems[slug] = resource["url"]
    for slug, url in systems.items():
        for code in rnd.sample(catalogs[slug][1], min(100, len(catalogs[slug][1]))):
            q = urllib.parse.urlencode({"system": url, "code": code})
            lines += [line("GET", f"/fhir/CodeSystem/$lookup?{q}"),
                      line("GET", f"/fhir/CodeSystem/$validate-code?{q}&url={urllib.parse.quote(url)}")]
    lines += [line("GET", f"{API}/catalogs")] * 100
    rnd.shuffle(lines)
    return lines


def check_lines(base: str, lines: list[str], sample: int = 300) -> None:
    """Every request of a sample answers 2xx/3xx before the load starts (a broken mix would measure errors)."""
    for l in random.Random(5).sample(lines, min(sample, len(lines))):
        method, path, header, body = l.split("\t")
        headers = dict([header.split(": ", 1)]) if header != "-" else {}
        started = time.perf_counter()
        try:  # the first search of a catalog builds its index: allowed its time here, before measuring
            get(base + path, headers, body.encode() if body != "-" else None, timeout=600)
        except urllib.error.HTTPError as exc:
            if exc.code != 304:
                raise SystemExit(f"{method} {path} answered {exc.code}: {exc.read()[:300]!r}")
        if time.perf_counter() - started > 2:
            print(f"warm-up: {method} {path[:100]} took {time.perf_counter() - started:.1f} s")


def cpu_of_requests(app, environs) -> float:
    """CPU seconds per request of calling the WSGI `app` on each of `environs` in this process (every answer must
    be a 200: anything else ends the bench)."""
    statuses = []
    started = time.process_time()
    for environ in environs:
        b"".join(app(dict(environ), lambda status, headers, exc_info=None: statuses.append(status)))
    took = (time.process_time() - started) / len(environs)
    if any(not status.startswith("200") for status in statuses):
        raise SystemExit(f"in-process run: {next(s for s in statuses if not s.startswith('200'))}")
    return took


def cpu_per_request(data: dict, rounds: int = 5) -> None:
    """CPU time of one request through the WSGI app in this process, the figure that load does not move much.

    The app as the servers build it, called with prepared WSGI environs (no HTTP, no test client): the
    bare `GET /api/v1/healthz`, lookups of the `lookup` run on an app without a response cache (cold),
    and the same lookups on an app with one, filled first (warm); with `--million`, lookups of the 1M
    catalog without a response cache too. Rounds alternate; the least CPU of each
    is printed, with each lookup's share of the bare request's throughput (bare time / lookup time).
    """
    from werkzeug.test import EnvironBuilder
    from registry.web import create_app
    paths = [l.split("\t")[1] for l in lookup_lines(data["catalogs"])][:5000]
    if data["million"]:
        million = [f"{API}/catalogs/million/versions/v1/entries/{c}" for c in data["million"][:len(paths)]]
    environs = {kind: [EnvironBuilder(path=urllib.parse.unquote(p), base_url="http://127.0.0.1").get_environ()
                       for p in {"bare": [f"{API}/healthz"] * len(paths), "lookup": paths,
                                 "million": million if data["million"] else []}[kind]]
                for kind in ("bare", "lookup", "million")}
    # "warm" is the response cache's path: lookup files (on by default, for latest versions) bypass that cache.
    apps = {"cold": create_app({"NSI_RESPONSE_CACHE_MB": 0}),
            "warm": create_app({"NSI_RESPONSE_CACHE_MB": 256, "NSI_LOOKUP_FILES": False})}

    cpu_of_requests(apps["warm"], environs["lookup"])  # fills the response cache; the first round of each warms up
    best = {"bare": [], "cold": [], "warm": [], "million": []}
    for _ in range(rounds + 1):
        best["bare"].append(cpu_of_requests(apps["cold"], environs["bare"]))
        best["cold"].append(cpu_of_requests(apps["cold"], environs["lookup"]))
        best["warm"].append(cpu_of_requests(apps["warm"], environs["lookup"]))
        if environs["million"]:
            best["million"].append(cpu_of_requests(apps["cold"], environs["million"]))
    best = {k: min(v[1:]) for k, v in best.items() if v}
    print(f"\nCPU per request in process ({len(paths):,} lookups, least of {rounds} rounds, load average "
          f"{os.getloadavg()[0]:.1f}): healthz {best['bare'] * 1e3:.3f} ms, lookup cold {best['cold'] * 1e3:.3f} ms "
          f"({best['bare'] / best['cold']:.0%} of bare), lookup from the response cache {best['warm'] * 1e3:.3f} ms "
          f"({best['bare'] / best['warm']:.0%} of bare)" + (f", lookup of the 1M catalog (cold) "
          f"{best['million'] * 1e3:.3f} ms ({best['bare'] / best['million']:.0%} of bare)" if "million" in best else ""))
    for app in apps.values():
        app.extensions["nsi_store"].engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 s per run instead of 20")
    ap.add_argument("--seconds", type=int, help="seconds per run (default 20, or 5 with --quick)")
    ap.add_argument("--million", action="store_true", help="also build and load a 1M-entry catalog")
    ap.add_argument("--levels", default=",".join(map(str, LEVELS)), help="connection counts, comma-separated")
    ap.add_argument("--only", help="runs to make, comma-separated (bare is always made): lookup, lookup-latest, "
                                   "catalogs, lookup-cold, lookup-1m, search, mix")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server")
    ap.add_argument("--threads", type=int, default=4, help="threads of each gunicorn worker")
    ap.add_argument("--trace", action="store_true", help="time each request's stages in the workers (queue, "
                    "handling, CPU, run-queue wait, GIL/socket waits, hand-back: bench/serve_trace.py) and print them per run")
    ap.add_argument("--cpu", action="store_true", help="first measure the CPU time of one request in process "
                                                          "(cold lookup, lookup from the response cache, healthz)")
    ap.add_argument("--database-url", help="a PostgreSQL URL: prepare and serve the data in a throw-away schema "
                                           "of that database instead of SQLite")
    ap.add_argument("--store", type=Path, help="a SQLite data folder kept between runs: prepared when it holds "
                                               "none, reused as it is otherwise (with its search indexes)")
    args = ap.parse_args()
    if args.store and args.database_url:
        raise SystemExit("--store keeps a SQLite store; with --database-url the data lives in a throw-away schema")
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")
    seconds = args.seconds or (5 if args.quick else 20)
    levels = [int(x) for x in args.levels.split(",")]
    wanted = set(args.only.split(",")) if args.only else None

    work = args.store or Path(tempfile.mkdtemp(prefix="nsi-bench-load-"))
    servers = []
    schema = PgSchema(args.database_url) if args.database_url else None
    try:
        t = time.perf_counter()
        kept = work / "bench-codes.json"
        if args.store and kept.is_file():
            data = json.loads(kept.read_text(encoding="utf-8"))
            os.environ["NSI_DATA_DIR"] = str(work)  # as prepare() leaves it, for --cpu's in-process app
            os.environ.pop("NSI_DATABASE_URL", None)
            if args.million and not data["million"]:
                raise SystemExit(f"{work} was prepared without --million")
        else:
            data = prepare(work, args.million, schema.url if schema else None)
            if args.store:
                kept.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        print(f"prepared the store on {f'PostgreSQL (schema {schema.name})' if schema else 'SQLite'} in "
              f"{time.perf_counter() - t:.0f} s: "
              + ", ".join(f"{s} {l} ({len(c):,})" for s, (l, c) in data["catalogs"].items()))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NSI_DATA_DIR": str(work)}
        if schema:
            env["NSI_DATABASE_URL"] = schema.url
        else:
            env.pop("NSI_DATABASE_URL", None)
        warm = Server(env, args.workers, "serve", args.threads, args.trace)
        servers.append(warm)
        cold = Server({**env, "NSI_RESPONSE_CACHE_MB": "0"}, args.workers, "serve-no-cache", args.threads, args.trace)
        servers.append(cold)
        runs = {"lookup": (warm, lookup_lines(data["catalogs"])),
                "lookup-latest": (warm, lookup_lines(data["catalogs"], through_latest=True)),
                "catalogs": (warm, [line("GET", f"{API}/catalogs")]),
                "lookup-cold": (cold, lookup_lines(data["catalogs"]))}
        if data["million"]:
            runs["lookup-1m"] = (warm, [line("GET", f"{API}/catalogs/million/versions/v1/entries/{c}")
                                        for c in data["million"]])
        wait_until_settled(env)
        if wanted is None or "search" in wanted:
            runs["search"] = (cold, search_lines(data["catalogs"]))
        runs["mix"] = (warm, mix_lines(warm.base, data["catalogs"]))
        runs = {k: v for k, v in runs.items() if wanted is None or k in wanted}
        for name, (server, lines) in runs.items():
            check_lines(server.base, lines)
        bare = [line("GET", f"{API}/healthz")]
        if args.cpu:
            cpu_per_request(data)
        print(f"\nwrk, 2 threads, {seconds} s per run, gunicorn {args.workers} workers (gthread, {args.threads} threads) per "
              f"server, loopback, {'PostgreSQL' if schema else 'SQLite'}; {os.cpu_count()} CPUs shared by wrk, the servers and anything else running "
              f"(load average at start {os.getloadavg()[0]:.1f})")
        print(f"{'run':<16}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'sock err':>9}"
              f"{'/ bare':>8}{'CPU ms':>8}  CPU share of each worker")
        results = []
        for level in levels:
            for name, (server, lines) in runs.items():
                ceiling = wrk(server, bare, seconds, level, work)  # the same server, just before
                result = wrk(server, lines, seconds, level, work)
                result.update(name=name, level=level, bare=ceiling, ratio=result["rps"] / ceiling["rps"])
                results.append(result)
                for label, r, ratio in ((f"bare ({server.name[:9]})", ceiling, ""), (name, result,
                                        f"{result['ratio']:.0%}")):
                    print(f"{label:<16}{level:>6}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}"
                          f"{r['bad_status']:>9}{r['socket_errors']:>9}{ratio:>8}{r['cpu_ms']:>8.3f}  "
                          + "/".join(f"{share:.0%}" for share in r["worker_cpu"]), flush=True)
                    if r.get("trace"):
                        print(f"{'':<16}in the workers: {r['trace']}", flush=True)
        print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
        missed = targets(results)
        for text in missed:
            print("MISSED:", text)
        print("all targets met" if not missed else f"{len(missed)} target(s) missed")
        sys.exit(1 if missed else 0)
    finally:
        for server in servers:
            server.stop()
        if not args.store:
            shutil.rmtree(work, ignore_errors=True)
        if schema:
            schema.drop()


def targets(results: list[dict]) -> list[str]:
    """The targets this run missed, in words."""
    missed = []
    for r in results:
        for run in (r, r["bare"]):
            if run["bad_status"] or run["socket_errors"]:
                missed.append(f"{r['name']} at {r['level']}: {run['bad_status']} non-2xx/3xx, "
                              f"{run['socket_errors']} socket errors")
        if r["level"] != 32:
            continue
        floor = {"lookup": 0.85, "lookup-cold": 0.85, "lookup-1m": 0.85, "catalogs": 0.80}
        if r["name"] in floor and r["ratio"] < floor[r["name"]]:
            missed.append(f"{r['name']} at 32 connections: {r['ratio']:.0%} of bare, target {floor[r['name']]:.0%}")
        by_label = next((b for b in results if b["name"] == "lookup" and b["level"] == 32), None)
        if r["name"] == "lookup-latest" and by_label and r["rps"] < 0.8 * by_label["rps"]:
            missed.append(f"lookup-latest at 32 connections: {r['rps'] / by_label['rps']:.0%} of the lookups by "
                          f"label, target 80%")
        if r["name"] == "search" and (r["rps"] < 1000 or r["p99"] >= 50):
            missed.append(f"search at 32 connections: {r['rps']:.0f} req/s with p99 {r['p99']:.1f} ms, target "
                          f">= 1,000 req/s with p99 < 50 ms")
        if r["name"].startswith("lookup") and r["p99"] >= 20:
            missed.append(f"{r['name']} at 32 connections: p99 {r['p99']:.1f} ms, target < 20 ms")
    return missed


if __name__ == "__main__":
    main()
