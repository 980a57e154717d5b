"""Staging leaves nothing behind: each draft's table goes with its publish or discard, and its space with it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from registry import db
from registry.errors import ImportRejected
from registry.models import CatalogCreate
from registry.store import Store


def staged_tables(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(t for t in sa.inspect(conn).get_table_names() if t.startswith("staged_v"))


def entries(n: int, changed: int = 0) -> list[dict]:
    return [{"code": f"C{i:05d}", "display": f"Entry {i}" + (" (new)" if i < changed else ""),
             "parents": [] if i < 10 else [f"C{i % 10:05d}"], "attributes": {"rank": str(i % 7)}}
            for i in range(n)]


def free_pages(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA freelist_count").scalar()


def test_publish_and_discard_drop_the_drafts_table(store):
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    store.stage_draft("c", "1", entries(3000))
    draft = store.resolve("c", "1")
    assert staged_tables(store) == [f"staged_v{draft.version_id}"]
    assert store.lookup("c", "C00012", "1")["parents"] == ["C00002"]  # the draft reads from its own table
    assert [e["code"] for e in store.children("c", "C00002", "1")][:2] == ["C00012", "C00022"]
    store.publish("c", "1")
    assert staged_tables(store) == []
    store.stage_draft("c", "2", entries(3000, changed=30))
    assert store.diff("c", "1", "2")["counts"] == {"added": 0, "removed": 0, "changed": 30}
    store.discard("c", "2")
    assert staged_tables(store) == []
    with pytest.raises(ImportRejected):
        store.stage_draft("c", "3", entries(50) + [{"code": "C00001", "display": "twice"}])
    store.stage_draft("c", "4", entries(10), dry_run=True)
    assert staged_tables(store) == []
    assert [v.label for v in store.list_versions("c")] == ["1"]


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_sqlite_gives_the_space_of_a_published_draft_back_to_the_file_system(store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 2  # incremental
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    for label, changed in (("1", 0), ("2", 40), ("3", 80)):
        store.stage_draft("c", label, entries(20000, changed))
        assert free_pages(store) == 0
        store.publish("c", label)
        assert free_pages(store) == 0, f"pages left free after publishing {label}"
    store.stage_draft("c", "4", entries(20000, 120))
    store.discard("c", "4")
    assert free_pages(store) == 0


def _before_table_per_draft(config) -> str:
    """The revision before the migration that gave each draft its own table (found by its file name, as
    revisions are renumbered when branches merge)."""
    from alembic.script import ScriptDirectory
    script = ScriptDirectory.from_config(config)
    return next(rev.down_revision for rev in script.walk_revisions() if rev.path.endswith("_staged_table_per_draft.py"))


def test_a_draft_staged_before_the_table_per_draft_survives_the_upgrade_and_publishes(store):
    """The migration moves a draft's rows out of the old shared table, and back on downgrade."""
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    store.stage_draft("c", "1", entries(500))
    store.publish("c", "1")
    report = store.stage_draft("c", "2", entries(500, changed=7))
    lines = list(store.iter_lines("c", "2"))
    config = db.alembic_config(store.engine)
    command.downgrade(config, _before_table_per_draft(config))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM staged_entry").scalar() == 500
    assert staged_tables(store) == []
    command.upgrade(config, "head")
    assert list(store.iter_lines("c", "2")) == lines
    assert store.publish("c", "2").checksum == report.checksum
    assert list(store.iter_lines("c", "2")) == lines and staged_tables(store) == []


def test_check_names_a_draft_without_its_table_and_a_table_without_its_draft(store):
    from registry.store.check import check_store
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    store.stage_draft("c", "1", entries(20))
    assert check_store(store).faults == []
    draft = store.resolve("c", "1").version_id
    with store.engine.begin() as conn:  # as a hand edit or a torn restore might leave them
        conn.exec_driver_sql(f"ALTER TABLE staged_v{draft} RENAME TO staged_v999")
    assert check_store(store).faults == [
        f"c 1 (draft): its staged rows are missing (no table staged_v{draft}); discard it and import its file again",
        "staging table staged_v999 belongs to no draft (left behind; it can be dropped)"]


def test_a_draft_published_while_it_is_being_read_is_a_409_not_a_500(store, client, monkeypatch):
    """Between resolving draft 2 and reading its rows, another process publishes it (and drops its table)."""
    from registry.store.reads import ReadsMixin
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    store.stage_draft("c", "1", entries(20))
    resolve, published = ReadsMixin.resolve, []

    def resolve_then_publish(self, slug, version="latest", conn=None):
        ref = resolve(self, slug, version, conn)
        if ref.is_draft and not published:
            published.append(ref.label)
            store.publish(slug, ref.label)
        return ref
    from registry import auth
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {auth.create_token(store, 'root', 'admin')[1]}"  # drafts
    monkeypatch.setattr(ReadsMixin, "resolve", resolve_then_publish)
    r = client.get("/api/v1/catalogs/c/versions/1/entries/C00003")
    assert r.status_code == 409
    assert r.get_json()["error"]["message"] == ("the draft was published or discarded while it was being read; "
                                                "ask again (a published version is read by the same label)")
    monkeypatch.setattr(ReadsMixin, "resolve", resolve)
    assert client.get("/api/v1/catalogs/c/versions/1/entries/C00003").get_json()["code"] == "C00003"


def test_publish_writes_a_drafts_rows_in_code_order(store):
    """The rows go into `entry` sorted by code, so its code index is appended to instead of split at random."""
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    shuffled = entries(2000)
    shuffled = shuffled[1::2] + shuffled[::2]  # the file's order is not the codes' order
    store.stage_draft("c", "1", shuffled)
    store.publish("c", "1")
    with store.engine.connect() as conn:
        codes = conn.exec_driver_sql("SELECT code FROM entry ORDER BY id").scalars().all()
    assert codes == sorted(e["code"] for e in shuffled)


@pytest.mark.parametrize("db_env", ["postgresql"], indirect=True)  # only PostgreSQL: a skip would hide it on CI
def test_publish_leaves_statistics_of_the_planned_columns_counting_its_rows(store):
    """ANALYZE in the publish transaction counts the new rows and covers every column the store's queries plan on.

    (Only those are analysed; the check is not for equality, because a server's autovacuum may analyse the
    whole table at any moment.)
    """
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    store.stage_draft("c", "1", entries(3000))
    store.publish("c", "1")
    with store.engine.connect() as conn:
        analysed = set(conn.exec_driver_sql(
            "SELECT attname FROM pg_stats WHERE tablename = 'entry' AND schemaname = current_schema()").scalars())
        rows = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = 'entry'::regclass").scalar()
    assert analysed >= {"catalog_id", "code", "hash", "parent_code", "status", "valid_from", "valid_to"}
    assert rows == 3000
