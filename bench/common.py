"""What several benchmarks share: a throw-away PostgreSQL schema for one run, and a synthetic hierarchy.

    from bench.common import throwaway_pg_schema
    with throwaway_pg_schema(url) as (admin, schema):
        engine = db.make_engine(url, schema=schema)
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa


@contextmanager
def throwaway_pg_schema(url: str) -> Iterator[tuple[sa.Engine, str]]:
    """A new schema `bench_<random>` for one run, dropped with everything in it afterwards, even on failure.

    Yields (an autocommit engine for the bench's own DDL and VACUUM, the schema's name). A schema of its
    own keeps a bench away from the tests' schemas and from any other bench running at the same time.
    """
    schema = "bench_" + uuid.uuid4().hex[:8]
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            yield admin, schema
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


def write_synthetic_hierarchy(path: Path, count: int) -> None:
    """A JSON Lines catalog of `count` entries: a group `G…` every 100 rows, the rows between its leaves.

    Leaves read like clinical names (five words of a small list, in Russian and English) and the same seed
    gives the same file, so runs of a bench compare. Codes are as wide as `count` needs (`G0000.000001` for
    100k, `G00000.0000001` for 1M).
    """
    rnd = random.Random(1)
    words = "острый хронический неуточненный инфекция легкого почки сердца вызванный вирусом acute chronic".split()
    group_width, leaf_width = len(str(count // 100)), len(str(count))
    with open(path, "w", encoding="utf-8") as f:
        for i in range(count):
            group = f"G{i // 100:0{group_width}d}"
            if i % 100 == 0:
                f.write(json.dumps({"code": group, "display": f"Группа {group}"}, ensure_ascii=False) + "\n")
            else:
                f.write(json.dumps({"code": f"{group}.{i:0{leaf_width}d}", "parents": [group], "display": " ".join(
                    rnd.choice(words) for _ in range(5)) + f" №{i}"}, ensure_ascii=False) + "\n")
