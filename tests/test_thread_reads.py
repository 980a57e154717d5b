"""The lookup's per-thread read connections (`registry.store.thread_reads`), on SQLite and PostgreSQL.

A serving thread keeps its connection between requests, so it must still see what other processes commit
(a version published by `nsi import` or another worker), never write, survive a connection that broke,
and be closed when the engine is disposed (shutdown, a worker after its fork) or when its thread ends.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading

import pytest

from registry import publishing
from registry.models import CatalogCreate

PUBLISH = """
import sys
from registry.store import Store
store = Store.open()
label, display = sys.argv[1:3]
store.stage_draft("c", label, [{"code": "A", "display": display}, {"code": "A.1", "display": "child",
                                                                     "parents": ["A"]}])
store.publish("c", label)
store.engine.dispose()
"""


def lookup(store, label: str, code: str) -> dict:
    return json.loads(publishing.entry_detail_json(store, store.resolve("c", label), code))


def is_closed(dbapi) -> bool:
    """Whether a driver connection was closed (sqlite3 has no attribute for it: using one tells)."""
    if hasattr(dbapi, "closed"):  # psycopg
        return bool(dbapi.closed)
    import sqlite3
    try:
        dbapi.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def held(store) -> list:
    return [h.dbapi for h in store.thread_reads._held if h.dbapi is not None]


@pytest.fixture
def catalog(store):
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    store.stage_draft("c", "1", [{"code": "A", "display": "first"}])
    store.publish("c", "1")
    return store


def test_a_version_published_by_another_process_is_read_on_the_kept_connection(catalog):
    store = catalog
    assert lookup(store, "1", "A")["display"] == "first"
    kept = held(store)
    assert len(kept) == 1
    subprocess.run([sys.executable, "-c", PUBLISH, "2", "second"], check=True, timeout=120)
    after = lookup(store, "2", "A")
    assert (after["version"], after["display"], after["children"]) == (
        "2", "second", [{"code": "A.1", "display": "child", "status": "active"}])
    assert lookup(store, "1", "A")["display"] == "first"  # the older version reads as it was published
    assert held(store) == kept  # on the same connection, not a new one


def test_the_connection_only_reads(catalog):
    store = catalog
    lookup(store, "1", "A")
    with pytest.raises(Exception, match="(?i)read.?only"):
        store.thread_reads.fetchall("UPDATE entry SET display = :display WHERE code = :code",
                                       {"display": "changed", "code": "A"})
    assert lookup(store, "1", "A")["display"] == "first"


def test_a_broken_connection_is_replaced_and_the_read_still_answers(catalog):
    store = catalog
    lookup(store, "1", "A")
    [broken] = held(store)
    if store.engine.dialect.name == "postgresql":  # the server ends the session, as a restart would
        pid = broken.info.backend_pid
        with store.engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    else:
        broken.close()
    assert lookup(store, "1", "A")["display"] == "first"
    [fresh] = held(store)
    assert fresh is not broken and is_closed(broken) and not is_closed(fresh)


def test_disposing_the_engine_closes_every_threads_connection_and_reads_open_anew(catalog):
    store = catalog
    lookup(store, "1", "A")
    other = threading.Event()
    done = threading.Event()

    def serve():  # a serving thread that is still alive when the engine is disposed
        lookup(store, "1", "A")
        other.set()
        done.wait(30)
    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert other.wait(30)
        opened = held(store)
        assert len(opened) == 2
        store.engine.dispose()
        assert all(is_closed(c) for c in opened)
        assert held(store) == []
        assert lookup(store, "1", "A")["display"] == "first"
        assert len(held(store)) == 1 and held(store)[0] not in opened
    finally:
        done.set()
        thread.join(30)


def test_a_thread_that_ends_closes_its_connection(catalog):
    store = catalog
    opened = []

    def serve():
        lookup(store, "1", "A")
        opened.extend(held(store))
    thread = threading.Thread(target=serve)
    thread.start()
    thread.join(30)
    gc.collect()
    assert len(opened) == 1 and is_closed(opened[0])
    assert held(store) == []


def test_an_in_memory_sqlite_database_is_read_through_its_pooled_connection(tmp_path):
    """An in-memory database exists only in its one pooled connection: a connection of its own would be empty,
    and a read-only one would stop the thread's writes."""
    from registry import db
    from registry.store import Store
    engine = db.make_engine("sqlite://")
    db.upgrade(engine)
    store = Store(engine, tmp_path)
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    store.stage_draft("c", "1", [{"code": "A", "display": "first"}])
    store.publish("c", "1")
    assert lookup(store, "1", "A")["display"] == "first"
    store.stage_draft("c", "2", [{"code": "A", "display": "second"}])  # the same thread still writes
    store.publish("c", "2")
    assert lookup(store, "2", "A")["display"] == "second"
    assert held(store) == []
    engine.dispose()
