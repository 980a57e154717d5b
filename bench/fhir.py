"""Benchmark of the FHIR wing: memory while streaming a CodeSystem and expanding, on real and 100k data.

1. Loads the real FNSI ICD-10 (../shared/data/icd10_ru, version 2.27, profile `icd10-ru-fnsi`,
   so the catalog has its OID) and a synthetic 100k-entry catalog into a fresh SQLite store.
2. Through the app (Flask test client, in this process), by `urn:oid:1.2.643.5.1.13.13.11.1005`:
   `$lookup`, `$validate-code` and a paged `$expand`, timed.
3. For each catalog: `GET /fhir/CodeSystem/{slug}` read to the end chunk by chunk, a full `$expand`
   (count 10,000 pages until the total) and `$expand` with `count=10` at offset 90% of the catalog,
   while a thread samples this process's RSS; prints the growth over the RSS before the request.

Run on demand (not in CI):  python bench/fhir.py [--big 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FNSI = ROOT.parent / "shared" / "data" / "icd10_ru" / "fnsi_1.2.643.5.1.13.13.11.1005_v2.27.csv"
OID = "urn:oid:1.2.643.5.1.13.13.11.1005"


def rss_kb() -> int:
    """This process's resident set size in KiB (Linux)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def peak_growth(action) -> tuple[float, float, object]:
    """Run `action`, sampling RSS every 5 ms: (seconds, peak growth in MiB, result)."""
    base = rss_kb()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb())
            time.sleep(0.005)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - t
    done.set()
    thread.join()
    peak[0] = max(peak[0], rss_kb())
    return elapsed, (peak[0] - base) / 1024, result


def read_streamed(client, path: str) -> int:
    """Read a streamed response chunk by chunk without keeping it; the number of bytes."""
    response = client.get(path, buffered=False)
    size = sum(len(chunk) for chunk in response.response)
    response.close()
    return size


def expand_all(client, url: str) -> int:
    """Every code of a value set through $expand pages of 10,000; how many were returned."""
    offset, seen, total = 0, 0, None
    while total is None or offset < total:
        body = client.get(f"/fhir/ValueSet/$expand?url={url}&offset={offset}&count=10000").get_json(force=True)
        total = body["expansion"]["total"]
        seen += len(body["expansion"].get("contains", []))
        offset += 10000
    return seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--big", type=int, default=100000, help="entries of the synthetic catalog")
    args = ap.parse_args()
    if not FNSI.is_file():
        raise SystemExit(f"real data not found: {FNSI}")
    work = Path(tempfile.mkdtemp(prefix="nsi-bench-fhir-"))
    os.environ["NSI_DATA_DIR"] = str(work / "data")
    os.environ.pop("NSI_DATABASE_URL", None)

    from importers import run_import
    from registry.models import CatalogCreate
    from registry.store import Store
    from registry.web import create_app

    store = Store.init()
    run_import(store, FNSI, catalog="icd10-ru", version="2.27", profile="icd10-ru-fnsi", publish=True)
    big = work / "big.jsonl"
    rnd = random.Random(1)
    words = "острый хронический неуточненный инфекция легкого почки сердца вызванный вирусом".split()
    with open(big, "w", encoding="utf-8") as f:
        for i in range(args.big):
            group = f"G{i // 100:04d}"
            entry = {"code": group, "display": f"Группа {group}"} if i % 100 == 0 else {
                "code": f"{group}.{i:06d}", "parents": [group],
                "display": " ".join(rnd.choice(words) for _ in range(5)) + f" №{i}"}
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    store.create_catalog(CatalogCreate(slug="big", title="Synthetic 100k"))
    run_import(store, big, catalog="big", version="v1", publish=True)
    client = create_app({"NSI_STORE": store, "NSI_RESPONSE_CACHE_MB": 0}).test_client()
    base = "http://localhost/fhir"

    codes = [e["code"] for e in store.iter_entries("icd10-ru", "2.27")]
    sample = random.Random(2).sample(codes, 200)
    for name, path in (("$lookup", "/fhir/CodeSystem/$lookup?system={oid}&code={code}"),
                       ("$validate-code", "/fhir/CodeSystem/$validate-code?url={oid}&code={code}"),
                       ("ValueSet/$validate-code", "/fhir/ValueSet/$validate-code?url=" + base
                        + "/ValueSet/icd10-ru&system={oid}&code={code}")):
        t = time.perf_counter()
        for code in sample:
            response = client.get(path.format(oid=OID, code=code))
            assert response.status_code == 200, response.get_data(as_text=True)
        print(f"{name:<24} by OID on FNSI ICD-10: {(time.perf_counter() - t) / len(sample) * 1000:.1f} ms each")

    for slug in ("icd10-ru", "big"):
        count = store.get_version(slug).entry_count
        seconds, growth, size = peak_growth(lambda: read_streamed(client, f"/fhir/CodeSystem/{slug}"))
        print(f"{slug} ({count} concepts): CodeSystem read {size / 1e6:.1f} MB in {seconds:.1f} s, "
              f"peak RSS growth {growth:.1f} MiB")
        seconds, growth, seen = peak_growth(lambda: expand_all(client, f"{base}/ValueSet/{slug}"))
        print(f"{slug}: full $expand in pages of 10,000 ({seen} codes) in {seconds:.1f} s, "
              f"peak RSS growth {growth:.1f} MiB")
        offset = count * 9 // 10
        seconds, growth, _ = peak_growth(lambda: client.get(
            f"/fhir/ValueSet/$expand?url={base}/ValueSet/{slug}&offset={offset}&count=10"))
        print(f"{slug}: $expand count=10 at offset {offset} in {seconds * 1000:.0f} ms, "
              f"peak RSS growth {growth:.1f} MiB")
    store.engine.dispose()


if __name__ == "__main__":
    main()
