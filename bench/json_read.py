"""Generic JSON reading: the importer's one-pass depth check against bare ijson, in the same run.

    python bench/json_read.py                # 100k records
    python bench/json_read.py --records 20000

The file is synthetic (the shape of tests/test_importers_json.py's records: nested names, parents, arrays,
numbers), under `data.items`. CPU seconds, best of three, each in this process:

* floor = `ijson.items` building every record, nothing else: the least a streamed reader can do;
* former = the reading before the check moved into the stream: a whole `ijson.basic_parse` pass counting
  the nesting, then the floor (reproduced here, as it was, for the comparison);
* records = the importer's record stream (`importers.formats.json`), the depth check done on the bytes as
  ijson reads them;
* rows = records plus the profile's field paths evaluated on each record (the reader's whole output);
* import = `run_import` into a fresh SQLite store (read, map, validate, stage), for scale.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import ijson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROFILE = {
    "profile": {"name": "bench-json", "format": "json"},
    "catalog": {"title": "Bench JSON", "language": "en"},
    "read": {"record_path": "data.items"},
    "fields": {"code": "code", "display": "names[lang=en].text", "parents": "parent.code",
               "designations": [{"path": "names[lang=ru].text", "language": "ru"},
                                {"path": "synonyms", "language": "en"}],
               "attributes": {"chapter": "meta.chapter", "tags": {"path": "tags", "join": ", "},
                              "weight": {"path": "weight", "type": "number"}}},
}


def write(path: Path, n: int) -> None:
    """n records under data.items, each parented on an earlier one."""
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"meta": {"version": "1"}, "data": {"items": [')
        for i in range(n):
            record = {"code": f"C{i:06d}", "names": [{"lang": "en", "text": f"Name number {i} [of] something"},
                                                     {"lang": "ru", "text": f"Имя {i}"}],
                      "synonyms": [f"syn {i}", f"alt \"{i}\""], "meta": {"chapter": i % 22},
                      "tags": ["a", "b"], "weight": i / 7}
            if i:
                record["parent"] = {"code": f"C{(i - 1) // 10:06d}"}
            out.write(("," if i else "") + json.dumps(record, ensure_ascii=False))
        out.write("]}}")


def floor(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in ijson.items(f, "data.items.item", use_float=True))


def former(path: Path) -> int:
    depth = 0
    with open(path, "rb") as f:
        for event, _ in ijson.basic_parse(f):
            if event == "start_map" or event == "start_array":
                depth += 1
                if depth > 100:
                    raise SystemExit("too deep")
            elif event == "end_map" or event == "end_array":
                depth -= 1
    return floor(path)


def records(path: Path) -> int:
    from importers.formats.json import _records
    from importers.source import Source
    return sum(1 for _ in _records(Source.from_path(path), "data.items", "key"))


def rows(path: Path) -> int:
    from importers.findings import Findings
    from importers.formats.json import read_records
    from importers.profile import validate
    from importers.source import Source
    return sum(1 for _ in read_records(Source.from_path(path), validate(PROFILE, "bench"), Findings(str(path))).rows)


def full_import(path: Path, store) -> int:
    from importers import run_import
    from importers.profile import validate
    return run_import(store, path, catalog=f"bench-{time.time_ns()}", version="1",
                      profile=validate(PROFILE, "bench")).entries


def best(run, *args) -> tuple[float, int]:
    """The least CPU time of three runs, and the count the run returned."""
    times, count = [], 0
    for _ in range(3):
        started = time.process_time()
        count = run(*args)
        times.append(time.process_time() - started)
    return min(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    from registry.store import Store
    with tempfile.TemporaryDirectory(prefix="nsi-bench-json-") as tmp:
        path = Path(tmp) / "bench.json"
        write(path, args.records)
        store = Store.init({"NSI_DATA_DIR": tmp, "NSI_DATABASE_URL": f"sqlite:///{tmp}/nsi.db"})
        print(f"{args.records:,} records, {path.stat().st_size / 1e6:.1f} MB; CPU seconds, best of 3 "
              f"(ijson backend {ijson.backend})")
        figures = {}
        for name, run, extra in (("floor", floor, ()), ("former", former, ()), ("records", records, ()),
                                 ("rows", rows, ()), ("import", full_import, (store,))):
            seconds, count = best(run, path, *extra)
            assert count == args.records, (name, count)
            figures[name] = seconds
            print(f"{name:8} {seconds:6.2f} s  {seconds / figures['floor']:5.2f}x floor")
        store.engine.dispose()
        print(f"records / former = {figures['records'] / figures['former']:.2f}")


if __name__ == "__main__":
    main()
