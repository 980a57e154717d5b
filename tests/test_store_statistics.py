"""Fresh planner statistics after publishing: the hot reads of a large new catalog use their indexes.

On PostgreSQL a just-published 1M-entry catalog was once served by the parent index at 349 ms a lookup,
because the statistics had been taken before its rows were inserted; ANALYZE brought lookups to 2.4 ms.
"""

from __future__ import annotations

import sqlalchemy as sa

from registry.models.catalog import CatalogCreate
from registry.db import driver_sql
from registry.publishing import _LOOKUP_SQL, version_rows
from registry.store.reads import entry_rows

SIZE = 20000


def _entries(n: int):
    """n entries in a two-level hierarchy: 200 chapters with their children (parent_code is selective)."""
    for i in range(200):
        yield {"code": f"CH{i:03d}", "display": f"Chapter {i}"}
    for i in range(n - 200):
        yield {"code": f"E{i:06d}", "display": f"Entry {i}", "parents": [f"CH{i % 200:03d}"]}


def _plan(conn, query) -> str:
    """The plan the database chooses for `query`, as one text."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "sqlite":
        return "\n".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))


def test_hot_reads_of_a_fresh_large_catalog_use_their_indexes(store):
    store.create_catalog(CatalogCreate(slug="big", title="Big", kind="classification"))
    store.stage_draft("big", "1", _entries(SIZE))
    store.publish("big", "1")
    ref = store.resolve("big")
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # the statistics count the rows that publishing inserted, not the empty table before it
            reltuples = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE relname = 'entry' "
                                             "AND relnamespace = current_schema()::regnamespace").scalar()
            assert reltuples >= SIZE * 0.9
        for rows in (entry_rows, version_rows):
            table, where = rows(ref)
            lookup = _plan(conn, sa.select(table).where(where, table.c.code == "E012345"))
            assert "ix_entry_catalog_code" in lookup, lookup
            many = _plan(conn, sa.select(table).where(where, table.c.code.in_(["E000001", "E000002"])))
            assert "ix_entry_catalog_code" in many, many
        table, where = version_rows(ref)
        children = _plan(conn, sa.select(table).where(where, table.c.parent_code == "CH007"))
        assert "ix_entry_catalog_parent" in children, children
    assert store.lookup("big", "E012345")["display"] == "Entry 12345"


def test_the_lookup_query_of_a_fresh_large_catalog_searches_its_indexes(store):
    """The plain-SQL lookup that serving threads run (`publishing._LOOKUP_SQL`): the entry and its first parent
    found by code, its children by parent, each an index search, nothing scanned."""
    store.create_catalog(CatalogCreate(slug="big", title="Big", kind="classification"))
    store.stage_draft("big", "1", _entries(SIZE))
    store.publish("big", "1")
    ref = store.resolve("big")
    params = {"code": "E012345", "catalog_id": ref.catalog_id, "seq": ref.seq}
    with store.engine.connect() as conn:
        sql = driver_sql(_LOOKUP_SQL, conn.dialect.name)
        if conn.dialect.name == "sqlite":
            steps = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
            searches = [step for step in steps if step.startswith(("SEARCH", "SCAN"))]
            assert searches == ["SEARCH e USING INDEX ix_entry_catalog_code (catalog_id=? AND code=?)",
                                "SEARCH p USING INDEX ix_entry_catalog_code (catalog_id=? AND code=?) LEFT-JOIN",
                                "SEARCH c USING INDEX ix_entry_catalog_parent (catalog_id=? AND parent_code=?)"], steps
        else:
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql, params))
            assert "Seq Scan" not in plan, plan
            for alias, index in (("e", "ix_entry_catalog_code"), ("p", "ix_entry_catalog_code"),
                                 ("c", "ix_entry_catalog_parent")):
                assert f"{index} on entry {alias}" in plan, plan
