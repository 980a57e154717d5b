"""`latest` and the catalog passports kept in memory between changes, across processes (SQLite and PostgreSQL).

A serving process resolves `latest` and reads the passports once per change of the database, not once per
request; a publish, retire or new catalog made by another process (another worker, `nsi import`, another
`nsi serve` instance on the same PostgreSQL) must be seen by the next read. On SQLite that holds at once
(PRAGMA data_version); on PostgreSQL as soon as the notification arrives, which the tests allow two seconds.
"""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from registry.models import CatalogCreate
from registry.store import Store

PUBLISH = """
import sys
from registry.store import Store
from registry.models import CatalogCreate
store = Store.open()
action, slug, label = sys.argv[1:4]
if action == "publish":
    store.stage_draft(slug, label, [{"code": "A", "display": "a " + label}, {"code": "B", "display": "b"}])
    store.publish(slug, label)
elif action == "retire":
    store.retire(slug, label)
else:
    store.create_catalog(CatalogCreate(slug=slug, title="Made elsewhere"))
store.engine.dispose()
"""


def in_another_process(*args: str) -> None:
    subprocess.run([sys.executable, "-c", PUBLISH, *args], check=True, timeout=120)


@contextmanager
def counted_statements(store: Store):
    statements = []

    def count(conn, cursor, statement, *rest):
        statements.append(statement)
    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def eventually(read, expected, seconds: float = 2.0):
    """`read()` once it equals `expected` (PostgreSQL's notification may take a moment), else the last value."""
    deadline = time.monotonic() + seconds
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


def published(store: Store, slug: str, *labels: str) -> None:
    store.create_catalog(CatalogCreate(slug=slug, title=slug))
    for label in labels:
        store.stage_draft(slug, label, [{"code": "A", "display": "a " + label}])
        store.publish(slug, label)


def wait_watching(store: Store) -> None:
    """Until the change watch can vouch for what it keeps (PostgreSQL: the listener is connected)."""
    store.watch_changes()
    assert eventually(lambda: store.change_token() is not None, True), "the change watch never started"


def test_latest_is_resolved_once_until_something_changes(store):
    published(store, "c", "v1")
    wait_watching(store)
    assert store.resolve("c", "latest").label == "v1"
    assert store.catalog_passports()[0].latest_version == "v1"
    with counted_statements(store) as statements:
        for _ in range(20):
            assert store.resolve("c", "latest").label == "v1"
            assert [p.latest_version for p in store.catalog_passports()] == ["v1"]
    assert statements == []


def test_latest_moves_when_another_process_publishes_or_retires(store, db_env):
    published(store, "c", "v1")
    wait_watching(store)
    assert store.resolve("c", "latest").label == "v1"
    assert store.catalog_public("c").latest_version == "v1"

    in_another_process("publish", "c", "v2")
    assert eventually(lambda: store.resolve("c", "latest").label, "v2") == "v2"
    assert eventually(lambda: store.catalog_public("c").latest_version, "v2") == "v2"
    assert store.catalog_public("c").version_count == 2

    in_another_process("retire", "c", "v2")
    assert eventually(lambda: store.resolve("c", "latest").label, "v1") == "v1"
    assert eventually(lambda: store.catalog_public("c").latest_version, "v1") == "v1"

    in_another_process("create", "d", "-")
    assert eventually(lambda: [p.slug for p in store.catalog_passports()], ["c", "d"]) == ["c", "d"]


def test_this_process_reads_its_own_writes_at_once(store):
    """A publish through this process's engine moves the token before the call returns (no waiting here)."""
    published(store, "c", "v1")
    wait_watching(store)
    assert store.resolve("c", "latest").label == "v1"
    store.stage_draft("c", "v2", [{"code": "A", "display": "changed"}])
    assert store.catalog_public("c").version_count == 2
    store.publish("c", "v2")
    assert store.resolve("c", "latest").label == "v2"
    assert store.catalog_public("c").latest_version == "v2"
    store.retire("c", "v2")
    assert store.resolve("c", "latest").label == "v1"


def test_without_a_watch_every_read_asks_the_database(store):
    """The CLI does not watch: no listener thread or extra connection for a one-off command."""
    published(store, "c", "v1")
    assert store.change_token() is None
    with counted_statements(store) as statements:
        store.resolve("c", "latest")
        store.resolve("c", "latest")
    assert len([s for s in statements if s.startswith("SELECT")]) == 4  # the catalog and its latest version, twice


@pytest.mark.parametrize("db_env", ["postgresql"], indirect=True)
def test_postgresql_notifies_from_a_trigger_whatever_wrote(store):
    """The trigger (migration 0009) notifies even for a write that bypasses the store's code paths."""
    import sqlalchemy as sa
    published(store, "c", "v1")
    wait_watching(store)
    before = store.change_token()
    other = sa.create_engine(store.engine.url)  # another engine: its commit does not move our token itself
    with other.begin() as conn:
        conn.execute(sa.text("UPDATE catalog SET title = 'renamed' WHERE slug = 'c'"))
    other.dispose()
    assert eventually(lambda: store.change_token() != before, True)
    assert store.catalog_public("c").title == "renamed"


def test_the_catalog_list_is_kept_and_revalidated_between_changes(app, client, db_env):
    store = app.extensions["nsi_store"]
    published(store, "c", "v1")
    wait_watching(store)
    first = client.get("/api/v1/catalogs")
    assert [p["latest_version"] for p in first.json["items"]] == ["v1"]
    assert client.get("/api/v1/catalogs/c/versions/latest/entries/A").status_code == 200  # fills the caches
    with counted_statements(store) as statements:
        again = client.get("/api/v1/catalogs")
        unchanged = client.get("/api/v1/catalogs", headers={"If-None-Match": first.headers["ETag"]})
        lookup = client.get("/api/v1/catalogs/c/versions/latest/entries/A")
    assert again.get_data() == first.get_data() and again.headers["ETag"] == first.headers["ETag"]
    assert unchanged.status_code == 304
    assert lookup.json["version"] == "v1"
    assert statements == []

    in_another_process("publish", "c", "v2")

    def latest_listed():
        return client.get("/api/v1/catalogs").json["items"][0]["latest_version"]
    assert eventually(latest_listed, "v2") == "v2"
    assert client.get("/api/v1/catalogs", headers={"If-None-Match": first.headers["ETag"]}).status_code == 200
    assert client.get("/api/v1/catalogs/c/versions/latest/entries/A").json["version"] == "v2"


def test_every_catalogs_latest_version_in_one_query_is_what_resolve_finds(store):
    # `latest_versions` (search across catalogs, the lookup files) answers what `resolve("latest")` does for
    # each catalog, by slug, in one query: the newest published version, none for a catalog without one.
    published(store, "b", "v1", "v2")
    published(store, "a", "v1")
    published(store, "c", "v1", "v2")
    store.retire("c", "v2")
    store.create_catalog(CatalogCreate(slug="d", title="d"))  # never published
    with counted_statements(store) as statements:
        refs = store.latest_versions()
    assert len([s for s in statements if s.startswith("SELECT")]) == 1  # (SQLite's BEGIN is counted too)
    assert [(ref.catalog, ref.label) for ref in refs] == [("a", "v1"), ("b", "v2"), ("c", "v1")]
    assert refs == [store.resolve(slug, "latest") for slug in ("a", "b", "c")]
