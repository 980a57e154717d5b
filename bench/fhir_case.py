"""Benchmark of a case-insensitive lookup on an imported FHIR CodeSystem (`caseSensitive: false`).

1. Imports a synthetic CodeSystem of N concepts (`Code-000000` ...) with `caseSensitive: false` through
   `run_import` into a fresh store (SQLite, or the PostgreSQL URL given, in a throw-away schema); times the
   import and, apart, filling the folded-code index (`code_fold`) for its codes.
2. Times, in CPU and wall per lookup, over codes spread through the system:
   - the floor: the exact, case-sensitive lookup of the same codes (`CodeSystemSource.get`);
   - the case-insensitive lookup through the index (`find_case_insensitive`);
   - the scan it replaced (folding every concept until the match), on a few codes only.

Run on demand (not in CI):  python bench/fhir_case.py [--size 100000] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
URL = "http://example.org/fhir/CodeSystem/bench-units"


def per_call(action, queries: list[str]) -> tuple[float, float]:
    """(CPU ms, wall ms) per call of `action` over `queries`."""
    cpu, wall = time.process_time(), time.perf_counter()
    for query in queries:
        action(query)
    n = len(queries)
    return 1000 * (time.process_time() - cpu) / n, 1000 * (time.perf_counter() - wall) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=100_000, help="concepts of the CodeSystem")
    ap.add_argument("--database-url", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nsi-bench-case-"))
    os.environ["NSI_DATA_DIR"] = str(tmp / "data")
    schema = None
    if args.database_url:
        import sqlalchemy as sa
        schema = "bench_" + uuid.uuid4().hex[:10]
        admin = sa.create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in args.database_url else "?"
        os.environ["NSI_DATABASE_URL"] = f"{args.database_url}{sep}options=-csearch_path%3D{schema}"
    try:
        run(args.size, tmp)
    finally:
        if schema:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()


def run(size: int, tmp: Path) -> None:
    import sqlalchemy as sa
    from importers import run_import
    from registry.store import Store
    from registry.web.fhir.concepts import CodeSystemSource
    from registry.web.fhir.terminology import Terminology

    store = Store.init()
    codes = [f"Code-{n:06d}" for n in range(size)]
    path = tmp / "codesystem.json"
    path.write_text(json.dumps({"resourceType": "CodeSystem", "url": URL, "version": "1", "name": "BenchUnits",
                                "status": "active", "caseSensitive": False, "content": "complete",
                                "concept": [{"code": c, "display": f"Unit {c}"} for c in codes]}))
    cpu, wall = time.process_time(), time.perf_counter()
    run_import(store, path, format="fhir-codesystem", publish=True)
    print(f"{store.engine.dialect.name}, {size:,} concepts: import and publish {time.process_time() - cpu:.2f} s CPU "
          f"({time.perf_counter() - wall:.2f} s wall), with the folded-code index")
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM code_fold"))
    cpu, wall = time.process_time(), time.perf_counter()
    store._keep_folded_codes("bench-units", "1")
    print(f"  of which filling code_fold: {time.process_time() - cpu:.2f} s CPU ({time.perf_counter() - wall:.2f} s wall)")
    cs = Terminology(store, "http://localhost/fhir").code_system(URL, "1")
    exact = [codes[i] for i in range(0, size, max(1, size // 300))]
    folded = [c.upper() for c in exact]
    floor = per_call(cs.get, exact)
    indexed = per_call(cs.find_case_insensitive, folded)
    spread = [folded[len(folded) // 4], folded[len(folded) // 2], folded[-1]]
    scanned = per_call(lambda q: CodeSystemSource.find_case_insensitive(cs, q), spread)
    assert all(cs.find_case_insensitive(q).code == c for q, c in zip(folded, exact))
    print(f"  exact lookup (floor):        {floor[0]:8.2f} ms CPU {floor[1]:8.2f} ms wall  ({len(exact)} codes)")
    print(f"  ignoring case, by the index: {indexed[0]:8.2f} ms CPU {indexed[1]:8.2f} ms wall  "
          f"= {indexed[0] / floor[0]:.2f}x the floor's CPU")
    print(f"  ignoring case, by a scan:    {scanned[0]:8.2f} ms CPU {scanned[1]:8.2f} ms wall  ({len(spread)} codes)")
    store.engine.dispose()


if __name__ == "__main__":
    main()
