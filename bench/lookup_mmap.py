"""The prototype's measurements of lookup files (`registry/lookup_files.py`), every published version's written here.

Since the feature landed (on by default), `nsi serve` writes the file of each catalog's latest version itself
(the search builder process) and removes the others, so `bench/load.py` needs nothing of this script; what this
script wrote for older versions is swept by the first server that runs on the store.

On a store prepared by `bench/load.py --store DIR` (a copy: the files are written into its cache folder):

1. writes the lookup file of every published version (each body is `publishing.entry_detail_json`'s), timing
   each and printing entries, bytes, bytes per entry and, for the 1M-entry version, per 1M entries;
2. with `--one-pass`, times what a builder reading each version once would take (`iter_entry_details`, encoded
   as the app encodes JSON) and checks those bodies equal the file's;
3. with `--check`, compares every code of every version: the file's body with `entry_detail_json`'s, and
   through the WSGI app (status, headers but the request id, body) with `NSI_LOOKUP_FILES` on and off, for
   every version but the 1M one (its bodies are compared directly), plus unknown codes (404s);
4. with `--cpu`, CPU per request in process as `bench/load.py --cpu` measures it: healthz, cold lookups by
   SQL (main's path) and from the files, the lookup run's codes and the 1M catalog's; rounds alternate, the
   least of each is printed.

It also writes the store's `paths.json`, so that `bench/request_instructions.py --store DIR` counts the same
lookups (from the files by default; `NSI_LOOKUP_FILES=0` for SQL):

    cp -a /tmp/s1m /tmp/copy && python bench/lookup_mmap.py --store /tmp/copy --check --cpu
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
API = "/api/v1"


def published(store):
    """(slug, label) of every published or retired version of the store."""
    return [(c.slug, v.label) for c in store.list_catalogs() for v in store.list_versions(c.slug)
            if v.status != "draft"]


def build(store) -> None:
    """Write every published version's lookup file, and print what each cost."""
    from registry import lookup_files
    print(f"{'version':<28}{'entries':>10}{'MB':>9}{'bytes/entry':>13}{'seconds':>9}")
    for slug, label in published(store):
        ref = store.resolve(slug, label)
        started = time.perf_counter()
        _, entries, size = lookup_files.write(store, ref)
        took = time.perf_counter() - started
        per_million = (f"  (per 1M entries: {size / entries * 1e6 / 2**30:.2f} GiB, {took / entries * 1e6:.0f} s)"
                       if entries >= 100_000 else "")
        print(f"{slug + ' ' + label:<28}{entries:>10,}{size / 2**20:>9.1f}{size / max(entries, 1):>13.0f}"
              f"{took:>9.1f}{per_million}", flush=True)


def codes_of(store, ref) -> list[str]:
    import sqlalchemy as sa
    from registry import publishing
    table, where = publishing.version_rows(ref)
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(table.c.code).where(where)).scalars())


def check(store) -> None:
    """Every body of every version byte for byte as the SQL path answers it, directly and through the app."""
    from werkzeug.test import EnvironBuilder
    from registry import lookup_files, publishing
    from registry.web import create_app
    apps = {on: create_app({"NSI_RESPONSE_CACHE_MB": 0, "NSI_LOOKUP_FILES": on}) for on in (False, True)}

    def answer(app, path):
        environ = EnvironBuilder(path=path, base_url="http://127.0.0.1").get_environ()
        out = []
        body = b"".join(app(environ, lambda status, headers, exc_info=None: out.append((status, headers))))
        status, headers = out[0]
        return status, [h for h in headers if h[0].lower() != "x-request-id"], body

    for slug, label in published(store):
        ref = store.resolve(slug, label)
        file = lookup_files.LookupFile(lookup_files.path_for(store, ref))
        codes = codes_of(store, ref)
        for code in codes:
            if file.body(code) != publishing.entry_detail_json(store, ref, code).encode():
                raise SystemExit(f"{slug} {label} {code!r}: the file's body differs from entry_detail_json's")
        through_app = 0
        if len(codes) < 100_000:
            for code in codes + ["NO-SUCH-CODE", codes[0] + "x" * 300]:
                for version in (label, "latest"):
                    path = f"{API}/catalogs/{slug}/versions/{version}/entries/{urllib.parse.quote(code, safe='')}"
                    if answer(apps[True], path) != answer(apps[False], path):
                        raise SystemExit(f"GET {path}: the answer from the file differs from the SQL path's")
                    through_app += 1
        print(f"checked {slug} {label}: {len(codes):,} bodies byte for byte, {through_app:,} answers through the "
              f"app (status, headers, body) the same with and without the file", flush=True)
    assert apps[True].extensions["nsi_lookup_files"]._open, "the app with NSI_LOOKUP_FILES read no file"
    for app in apps.values():
        app.extensions["nsi_store"].engine.dispose()


def one_pass(store) -> None:
    """What a builder reading each version once would take: every body from `publishing.iter_entry_details`
    (one read of the version) encoded as the app's JSON provider does, compared with the file's (not timed)."""
    from registry import lookup_files, publishing
    for slug, label in published(store):
        ref = store.resolve(slug, label)
        file = lookup_files.LookupFile(lookup_files.path_for(store, ref))
        started, checking, count = time.perf_counter(), 0.0, 0
        for entry in publishing.iter_entry_details(store, ref):
            body = (json.dumps({"catalog": ref.catalog, "version": ref.label, **entry}, ensure_ascii=False,
                               separators=(",", ":")) + "\n").encode()
            t = time.perf_counter()
            if file.body(entry["code"]) != body:
                raise SystemExit(f"{slug} {label} {entry['code']!r}: the one-pass body differs from the file's")
            checking += time.perf_counter() - t
            count += 1
        if count >= 10_000:
            print(f"one pass over {slug} {label}: {count:,} bodies in {time.perf_counter() - started - checking:.1f} s, "
                  f"each equal to the file's", flush=True)


def cpu(folder: Path, rounds: int = 5) -> None:
    """CPU per request in process: healthz, and cold lookups by SQL and from the files (the lookup run's codes,
    and the 1M catalog's), rounds alternating, least of `rounds` (after one warm-up round)."""
    from werkzeug.test import EnvironBuilder
    from registry.web import create_app
    data = json.loads((folder / "bench-codes.json").read_text(encoding="utf-8"))
    paths = json.loads((folder / "paths.json").read_text())
    kinds = {"bare": [f"{API}/healthz"] * len(paths), "lookup": paths,
             "million": [f"{API}/catalogs/million/versions/v1/entries/{c}" for c in (data["million"] or [])[:len(paths)]]}
    environs = {kind: [EnvironBuilder(path=urllib.parse.unquote(p), base_url="http://127.0.0.1").get_environ()
                       for p in ps] for kind, ps in kinds.items() if ps}
    apps = {"sql": create_app({"NSI_RESPONSE_CACHE_MB": 0, "NSI_LOOKUP_FILES": False}),
            "file": create_app({"NSI_RESPONSE_CACHE_MB": 0, "NSI_LOOKUP_FILES": True})}

    from bench.load import cpu_of_requests
    best: dict[str, list[float]] = {}
    for _ in range(rounds + 1):
        best.setdefault("healthz", []).append(cpu_of_requests(apps["sql"], environs["bare"]))
        for source, app in apps.items():
            for kind in ("lookup", "million"):
                if kind in environs:
                    best.setdefault(f"{kind} by {source}", []).append(cpu_of_requests(app, environs[kind]))
    least = {k: min(v[1:]) for k, v in best.items()}
    print(f"\nCPU per request in process ({len(paths):,} requests each, least of {rounds} rounds, load average "
          f"{os.getloadavg()[0]:.1f}):")
    for name, took in least.items():
        print(f"  {name:<20}{took * 1e3:.3f} ms  ({least['healthz'] / took:.0%} of healthz)")
    for app in apps.values():
        app.extensions["nsi_store"].engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, required=True, help="a data folder prepared by bench/load.py --store "
                                                               "(a copy: the lookup files are written into it)")
    ap.add_argument("--check", action="store_true", help="compare every body with the SQL path's")
    ap.add_argument("--cpu", action="store_true", help="CPU per request in process, by SQL and from the files")
    ap.add_argument("--one-pass", action="store_true", help="time building the bodies from one read of each "
                                                               "version, as a real builder would, and compare them")
    ap.add_argument("--no-build", action="store_true", help="keep the files written by an earlier run")
    args = ap.parse_args()
    folder = args.store.resolve()
    if not (folder / "bench-codes.json").is_file():
        raise SystemExit(f"{folder} holds no store prepared by bench/load.py --store")
    os.environ["NSI_DATA_DIR"] = str(folder)
    os.environ.pop("NSI_DATABASE_URL", None)
    from bench import load
    from registry.store import Store
    data = json.loads((folder / "bench-codes.json").read_text(encoding="utf-8"))
    if not (folder / "paths.json").is_file():  # what bench/request_instructions.py would prepare
        paths = [line.split("\t")[1] for line in load.lookup_lines(data["catalogs"])][:5000]
        (folder / "paths.json").write_text(json.dumps(paths))
    store = Store.open()
    if not args.no_build:
        build(store)
    if args.check:
        check(store)
    if args.one_pass:
        one_pass(store)
    store.engine.dispose()
    if args.cpu:
        cpu(folder)


if __name__ == "__main__":
    main()
