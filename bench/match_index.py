"""Build and open figures of the match index, on every benchmark catalog and a synthetic 100k one.

    python bench/match_index.py                                  # every catalog, 3 opens each
    python bench/match_index.py --catalogs atc_ru,icd10_ru --repeat 5
    PYTHONPATH=../before python bench/match_index.py             # the registry of another checkout, same catalogs

For each catalog (the target side of each set of `bench/match.py`, and `synthetic100k`, its `--build-100k`
catalog), CPU time (`time.process_time`) of:

* **build**: `build_from_entries` in a fresh process after `load_morphology()`, as a first match or
  `nsi index rebuild` pays it (the analysis caches are cold); with the index's size and number of files;
* **open, fresh**: importing `registry.matching.index`, opening the index and building both postings tables
  in a fresh process (what `nsi match` pays once), best of `--repeat`;
* **open, warm**: the same in one process whose imports are done, best and median of `--repeat`.

Each tree's registry is the one first on PYTHONPATH (else this tree's). The load average is printed before and
after: on a shared machine, compare two trees in alternating runs and by CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):  # this tree's registry, not an installed one
    sys.path.insert(0, str(ROOT))
CATALOGS = ("atc_ru", "kz_inn", "icd10_en", "icd10_ru", "icd10_de", "synthetic100k")


def _open_tables(path):
    """Open the index at `path` and build both postings tables, as the first queries do."""
    from registry.matching.index import MatchIndex
    index = MatchIndex(path)
    index.postings("keys", "")
    index.postings("grams", "")
    return index


def _child(argv: list[str]) -> None:
    """One measure in this (fresh) process; prints it as JSON."""
    if argv[0] == "open":
        started = time.process_time()
        _open_tables(argv[1]).close()
        print(json.dumps({"cpu": time.process_time() - started}))
        return
    from registry.matching.analysis import load_morphology
    from registry.matching.index import build_from_entries
    catalog, folder = argv[1], Path(argv[2])
    entries, language = catalog_entries(catalog)
    load_morphology()
    started = time.process_time()
    report = build_from_entries(folder, entries, language, "bench", catalog)
    print(json.dumps({"cpu": time.process_time() - started, "bytes": report.bytes,
                      "files": len(list(report.path.iterdir())), "entries": report.entries}))


def catalog_entries(catalog: str) -> tuple[list[dict], str]:
    """The entries and language of a catalog: a set's target side, or the synthetic 100k catalog."""
    import registry.matching.index  # noqa: F401  (first, so that the registry on PYTHONPATH is the one measured)
    sys.path.append(str(ROOT / "bench"))
    import match as bench  # bench/match.py: its sets and its synthetic catalog
    if catalog == "synthetic100k":
        return list(bench.synthetic_entries(100_000)), "en"
    _title, language, load, _atc = bench.SETS[catalog]
    return load()[0], language


def _run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalogs", default=",".join(CATALOGS), help="comma-separated: " + ", ".join(CATALOGS))
    parser.add_argument("--repeat", type=int, default=3, help="opens of each kind per catalog")
    args = parser.parse_args(argv)
    import registry.matching.index as index_module
    print(f"registry: {Path(index_module.__file__).parent.parent}; {os.popen('uptime').read().strip()}")
    print("| catalog | entries | build CPU s | size MB | files | open fresh CPU ms (best) "
          "| open warm CPU ms (best / median) |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for catalog in args.catalogs.split(","):
            folder = Path(tmp) / catalog
            built = _run_child("build", catalog, str(folder))
            fresh = min(_run_child("open", str(folder))["cpu"] for _ in range(args.repeat))
            _open_tables(folder).close()  # the imports and the morphology loaded: the opens below are warm
            warm = []
            for _ in range(args.repeat):
                started = time.process_time()
                _open_tables(folder).close()
                warm.append(time.process_time() - started)
            print(f"| {catalog} | {built['entries']} | {built['cpu']:.2f} | {built['bytes'] / 1e6:.1f} | "
                  f"{built['files']} | {fresh * 1000:.0f} | {min(warm) * 1000:.0f} / "
                  f"{statistics.median(warm) * 1000:.0f} |", flush=True)
    print(os.popen("uptime").read().strip())
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
    else:
        sys.exit(main())
