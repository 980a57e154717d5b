"""`nsi check`, `nsi backup` and `nsi restore` (registry/store/check.py, registry/backup.py), whole outputs."""

from __future__ import annotations

import json
import sqlite3

import pytest
import sqlalchemy as sa

from cli import cli
from registry import db
from registry.entries import canonical_line, content_hash
from registry.models.catalog import CatalogCreate


@pytest.fixture
def nsi(runner):
    def run(*args, input=None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    return run


def leaves(n: int, revised=()):
    rows = [{"code": "G", "display": "Group"}]
    rows += [{"code": f"G.{i:02d}", "display": f"Leaf {i}" + (" (revised)" if i in revised else ""),
              "parents": ["G"]} for i in range(n)]
    return rows


def two_versions(store):
    """Catalog `icd` with versions 1 and 2 published (2 revises leaf 3) and draft 3 staged."""
    store.create_catalog(CatalogCreate(slug="icd", title="ICD", kind="classification"))
    store.stage_draft("icd", "1", leaves(10))
    store.publish("icd", "1")
    store.stage_draft("icd", "2", leaves(10, revised={3}))
    store.publish("icd", "2")
    store.stage_draft("icd", "3", leaves(11))


def _canonical_hash(code: str, display: str, parents: list[str]) -> str:
    """An entry's content hash through the canonical JSON path (not the stored parts `nsi check` reads)."""
    entry = {"code": code, "display": display, "designations": [], "parents": parents, "status": "active",
             "attributes": {}}
    return content_hash(canonical_line(entry))


def test_check_passes_a_sound_store_and_names_each_fault(store, nsi):
    two_versions(store)
    r = nsi("check")
    assert (r.exit_code, r.stdout) == (0, "Checked 1 catalogs, 3 versions, 34 entries: OK\n")
    v1_checksum = store.get_version("icd", "1").checksum
    with store.engine.begin() as conn:
        # a row edited behind the registry's back, a parent changed to a missing code, a checksum altered
        conn.execute(sa.text("UPDATE entry SET display = 'Leaf 5!' WHERE code = 'G.05'"))
        staged = f"staged_v{store.resolve('icd', '3').version_id}"
        conn.execute(sa.text(f"UPDATE {staged} SET parents = '[\"X\"]', parent_code = 'X' WHERE code = 'G.07'"))
        conn.execute(sa.text("UPDATE catalog_version SET checksum = 'bad' WHERE label = '1'"))
    stored_05 = _canonical_hash("G.05", "Leaf 5", ["G"])
    stored_07 = _canonical_hash("G.07", "Leaf 7", ["G"])
    r = nsi("check", "icd")
    assert r.exit_code == 1
    assert r.stdout.splitlines() == [
        f"FAULT icd 1 (published): code 'G.05': stored content does not match its hash (stored {stored_05}, "
        f"content hashes to {_canonical_hash('G.05', 'Leaf 5!', ['G'])})",
        f"FAULT icd 1 (published): checksum recomputed from the stored rows is {v1_checksum}, the version records bad",
        f"FAULT icd 2 (published): code 'G.05': stored content does not match its hash (stored {stored_05}, "
        f"content hashes to {_canonical_hash('G.05', 'Leaf 5!', ['G'])})",
        f"FAULT icd 3 (draft): code 'G.07': stored content does not match its hash (stored {stored_07}, "
        f"content hashes to {_canonical_hash('G.07', 'Leaf 7', ['X'])})",
        "FAULT icd 3 (draft): code 'G.07' names parent 'X', which is not in this version",
        "Checked 1 catalogs, 3 versions, 34 entries: 5 faults"]
    r = nsi("check", "nope")
    assert (r.exit_code, r.stderr) == (1, "Error: no catalog 'nope'\n")


def test_check_finds_overlapping_validity_and_a_torn_sequence(store, nsi):
    two_versions(store)
    v2_checksum = store.get_version("icd", "2").checksum
    with store.engine.begin() as conn:
        # G.03's old row reopened: two rows of G.03 valid in version 2; the head moved past any version
        conn.execute(sa.text("UPDATE entry SET valid_to = NULL WHERE code = 'G.03' AND valid_from = 1"))
        conn.execute(sa.text("UPDATE catalog SET head_seq = 3"))
    r = nsi("check", "--json")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["faults"] == [
        "icd: published sequences are [1, 2], the catalog's head is 3 (each of 1..head must be one version)",
        "icd 2 (published): code 'G.03' has two rows in this version (overlapping validity)",
        "icd 2 (published): 12 entries stored, the version records 11",
        f"icd 2 (published): checksum recomputed from the stored rows is {report_checksum(report)}, "
        f"the version records {v2_checksum}"]
    assert report_checksum(report) != v2_checksum


def report_checksum(report) -> str:
    """The recomputed checksum a checksum fault states."""
    return report["faults"][-1].split(" is ", 1)[1].split(",", 1)[0]


def test_backup_is_a_snapshot_taken_while_a_writer_holds_the_store_and_restore_brings_it_back(
        sqlite_store, nsi, tmp_path):
    two_versions(sqlite_store)
    before = list(sqlite_store.iter_lines("icd", "2"))
    writer = sqlite3.connect(sqlite_store.engine.url.database)
    writer.isolation_level = None
    writer.execute("BEGIN IMMEDIATE")  # a write under way: holds the write lock, its rows uncommitted
    writer.execute("UPDATE catalog SET title = 'Uncommitted'")
    try:
        r = nsi("backup", str(tmp_path / "snap.db"))
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith(f"Backed up 1 catalogs (schema {db.HEAD_REVISION}) to {tmp_path / 'snap.db'}: ")
    assert not (tmp_path / "snap.db.partial").exists() and not (tmp_path / "snap.db-wal").exists()
    r = nsi("backup", str(tmp_path / "snap.db"))
    assert (r.exit_code, r.stderr) == (1, f"Error: {tmp_path / 'snap.db'} exists already; a backup never overwrites "
                                          f"a file, choose a new name\n")

    sqlite_store.stage_draft("icd", "4", leaves(3))  # written after the backup: gone after the restore
    sqlite_store.publish("icd", "3")
    r = nsi("restore", str(tmp_path / "snap.db"), input="n\n")
    assert r.exit_code == 1 and "Aborted" in r.stderr
    assert [v.label for v in sqlite_store.list_versions("icd")] == ["1", "2", "3", "4"]
    r = nsi("restore", str(tmp_path / "snap.db"), "--yes")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (f"Restored 1 catalogs from {tmp_path / 'snap.db'} into {sqlite_store.engine.url.database} "
                        f"(schema {db.HEAD_REVISION}). Restart running servers: they keep responses of the old store cached.\n")
    assert [(v.label, v.status) for v in sqlite_store.list_versions("icd")] == [
        ("1", "published"), ("2", "published"), ("3", "draft")]
    assert sqlite_store.get_catalog("icd").title == "ICD"
    assert list(sqlite_store.iter_lines("icd", "2")) == before
    assert nsi("check").stdout == "Checked 1 catalogs, 3 versions, 34 entries: OK\n"


def test_restore_refuses_a_file_that_is_not_a_registry_and_changes_nothing(sqlite_store, nsi, tmp_path):
    two_versions(sqlite_store)
    (tmp_path / "notes.db").write_text("not a database at all, just text " * 100)
    r = nsi("restore", str(tmp_path / "notes.db"), "--yes")
    assert r.exit_code == 1
    assert r.stderr.startswith(f"Error: the backup {tmp_path / 'notes.db'} is not a readable SQLite database: ")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    r = nsi("restore", str(tmp_path / "other.db"), "--yes")
    assert (r.exit_code, r.stderr) == (1, f"Error: the backup {tmp_path / 'other.db'} is an SQLite database but not "
                                          f"an NSI registry (no alembic_version or catalog table)\n")
    r = nsi("restore", str(tmp_path / "missing.db"), "--yes")
    assert (r.exit_code, r.stderr) == (1, f"Error: no backup file {tmp_path / 'missing.db'}\n")
    assert len(sqlite_store.list_versions("icd")) == 3


@pytest.mark.parametrize("db_env", ["postgresql"], indirect=True)  # only PostgreSQL: a skip would hide it on CI
def test_backup_refuses_postgresql_with_the_tools_to_use(store, nsi, tmp_path):
    assert store.engine.dialect.name == "postgresql"
    r = nsi("backup", str(tmp_path / "b.db"))
    assert (r.exit_code, r.stderr) == (1, "Error: nsi backup and nsi restore copy the embedded SQLite store; back up "
                                          "PostgreSQL with its own tools (pg_dump, or a base backup with WAL "
                                          "archiving)\n")
