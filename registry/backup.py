"""Backup and restore of the embedded SQLite store, while it serves.

`backup` copies the live database with SQLite's online backup API in one step, so the copy is
one consistent snapshot (a WAL reader's view) even while imports and publishes write; the copy
is checked and then renamed into place, so a half-written backup never carries the final name.
`restore` checks a backup file and copies it back over the configured database the same way,
then upgrades its schema if the backup is older than the code.

PostgreSQL has its own tools for this (`pg_dump`, base backups); these functions refuse it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from registry import db
from registry.errors import AlreadyExists, BadRequest, ConfigError, NotFound


@dataclass
class BackupResult:
    """What a backup or restore copied: the file, its size, the schema revision and catalogs in it."""

    path: str
    bytes: int
    revision: str | None
    catalogs: int
    seconds: float


def _sqlite_path(engine) -> Path:
    """The file of the store's SQLite database; ConfigError for PostgreSQL or an in-memory database."""
    if engine.dialect.name != "sqlite":
        raise ConfigError("nsi backup and nsi restore copy the embedded SQLite store; back up PostgreSQL with its "
                          "own tools (pg_dump, or a base backup with WAL archiving)")
    database = engine.url.database
    if not database or database == ":memory:":
        raise ConfigError("the SQLite database is in memory: there is no file to back up or restore")
    return Path(database)


def _describe(conn: sqlite3.Connection, path: Path, what: str) -> tuple[str | None, int]:
    """Check a database file's integrity and read its schema revision and catalog count, or fail naming it."""
    try:
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise BadRequest(f"{what} {path} is not a readable SQLite database: {exc}") from None
    if integrity != ["ok"]:
        raise BadRequest(f"{what} {path} is damaged: {'; '.join(integrity[:5])}")
    if "alembic_version" not in tables or "catalog" not in tables:
        raise BadRequest(f"{what} {path} is an SQLite database but not an NSI registry (no alembic_version or "
                         f"catalog table)")
    revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    catalogs = conn.execute("SELECT count(*) FROM catalog").fetchone()[0]
    return (revision[0] if revision else None), catalogs


def backup(store, destination: Path | str) -> BackupResult:
    """Write a consistent snapshot of the store's SQLite database to `destination` (a new file)."""
    started = time.perf_counter()
    source_path = _sqlite_path(store.engine)
    destination = Path(destination).expanduser().resolve()
    if destination.exists():
        raise AlreadyExists(f"{destination} exists already; a backup never overwrites a file, choose a new name")
    if not destination.parent.is_dir():
        raise NotFound(f"the folder {destination.parent} does not exist")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(partial)
    try:
        # One step (pages=-1) reads every page inside one read transaction: a snapshot that writers
        # running meanwhile neither block nor change (WAL). Stepping in parts would restart on every write.
        source.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        revision, catalogs = _describe(target, partial, "the backup")
    except BaseException:
        target.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    target.close()
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, destination)
    return BackupResult(str(destination), destination.stat().st_size, revision, catalogs,
                        round(time.perf_counter() - started, 3))


def restore(store, source_path: Path | str) -> BackupResult:
    """Replace the store's SQLite database by the backup at `source_path`, then upgrade its schema.

    The backup is checked first (integrity, an NSI schema no newer than the code); a bad file
    changes nothing. Running servers keep rendered responses cached: restart them afterwards.
    """
    started = time.perf_counter()
    target_path = _sqlite_path(store.engine)
    source_path = Path(source_path).expanduser().resolve()
    if not source_path.is_file():
        raise NotFound(f"no backup file {source_path}")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        revision, catalogs = _describe(source, source_path, "the backup")
        known = _known_revisions()
        if revision not in known:
            raise BadRequest(f"the backup {source_path} has schema revision {revision}, which this version of NSI "
                             f"does not know (it knows up to {db.head_revision()}): restore it with a newer NSI")
        store.engine.dispose()  # no pooled connection of ours holds the old file while it is replaced
        db.make_dir(target_path.parent, "the SQLite database's directory (NSI_DATABASE_URL)")
        target = sqlite3.connect(target_path, timeout=30)
        try:
            source.backup(target, pages=-1)
        finally:
            target.close()
    finally:
        source.close()
    db.upgrade(store.engine)
    return BackupResult(str(target_path), target_path.stat().st_size, db.current_revision(store.engine), catalogs,
                        round(time.perf_counter() - started, 3))


def _known_revisions() -> set[str]:
    """Every schema revision of the migration scripts (a backup at any of them can be restored)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    return {script.revision for script in ScriptDirectory.from_config(cfg).walk_revisions()}
