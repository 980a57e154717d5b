"""What several benchmarks share: a throw-away PostgreSQL schema for one run.

    from bench.common import throwaway_pg_schema
    with throwaway_pg_schema(url) as (admin, schema):
        engine = db.make_engine(url, schema=schema)
"""

from __future__ import annotations

import uuid
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
