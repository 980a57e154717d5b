"""Lookup files (`registry/lookup_files.py`) of catalogs with long codes: index width, file size, cost of a lookup.

Builds a throw-away SQLite store with three catalogs of `--entries` entries each: `plain` (8-byte codes),
`one-long` (the same, one of them replaced by a 500-byte code) and `oid` (OID-like codes of 31 to 35 bytes), writes
each catalog's lookup file with every index width cap of `--caps` in turn, and prints the index width, whether some
codes are cut in the index (their records hold the whole code), the file's size and the CPU time of
`LookupFile.body` per code looked up (20,000 codes of the catalog, least of 7 rounds):

    python bench/lookup_widths.py --caps 32,64
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
LONG_CODE = "€" * 166 + "xx"  # 500 bytes in UTF-8, 168 letters (PostgreSQL keeps codes of up to 200)


def catalogs(entries: int) -> dict[str, list[str]]:
    """slug -> codes of the three catalogs."""
    plain = [f"C{i:07d}" for i in range(entries)]
    return {"plain": plain, "one-long": plain[:-1] + [LONG_CODE],
            "oid": [f"1.2.643.5.1.13.13.11.{1000 + i // 1000}.{i % 1000}.{i}" for i in range(entries)]}


def build(store, work: Path, entries: int) -> dict[str, list[str]]:
    """Import and publish the catalogs into `store`; their codes."""
    from importers import run_import
    from registry.models import CatalogCreate
    made = catalogs(entries)
    for slug, codes in made.items():
        path = work / f"{slug}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps({"code": code, "display": f"Entry {i} of {slug}, a display of usual length"},
                                    ensure_ascii=False) + "\n" for i, code in enumerate(codes))
        store.create_catalog(CatalogCreate(slug=slug, title=slug, kind="other"))
        run_import(store, path, catalog=slug, version="1", publish=True)
        path.unlink()
    return made


def body_cpu(file, codes: list[str], rounds: int = 7) -> float:
    """Least CPU seconds per `file.body(code)` over `rounds` passes of `codes`."""
    best = []
    for _ in range(rounds):
        started = time.process_time()
        for code in codes:
            file.body(code)
        best.append((time.process_time() - started) / len(codes))
    return min(best)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=100_000, help="entries of each catalog (default 100,000)")
    ap.add_argument("--caps", default="", help="index width caps to compare, comma-separated "
                                                "(default: lookup_files.WIDTH_CAP)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nsi-bench-lookup-widths-"))
    os.environ["NSI_DATA_DIR"] = str(work)
    os.environ.pop("NSI_DATABASE_URL", None)
    from registry import lookup_files
    from registry.store import Store
    store = Store.init()
    made = build(store, work, args.entries)
    caps = [int(c) for c in args.caps.split(",") if c] or [lookup_files.WIDTH_CAP]
    print(f"{'catalog':<10}{'cap':>5}{'width':>7}{'cut':>6}{'MiB':>9}{'body() us':>11}")
    for cap in caps:
        lookup_files.WIDTH_CAP = cap
        for slug, codes in made.items():
            ref = store.resolve(slug, "1")
            path, _, size = lookup_files.write(store, ref)
            file = lookup_files.LookupFile(path)
            sample = random.Random(1).sample(codes, min(20_000, len(codes)))
            assert all(file.body(code) is not None for code in sample)
            print(f"{slug:<10}{cap:>5}{file._width:>7}{'yes' if file._spills else 'no':>6}{size / 2**20:>9.2f}"
                  f"{body_cpu(file, sample) * 1e6:>11.2f}", flush=True)
            del file
            path.unlink()
    store.engine.dispose()
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
