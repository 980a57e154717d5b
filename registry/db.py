"""Database engines, sessions and schema migrations.

SQLite in the data directory is the embedded default; PostgreSQL is the
production store. The schema belongs to the alembic migrations in
`registry/migrations`, never to `create_all`, so upgrades keep data.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from registry.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
WAL_LIMIT_BYTES = 64 * 1024 * 1024
"""The most disk an SQLite WAL file keeps once a checkpoint has emptied it (`PRAGMA journal_size_limit`); without
a limit the file stays as large as it ever grew (315 MB after a 1M-entry search index build)."""
CHECKPOINT_WAIT_MS = 1000
"""How long `truncate_wal` waits for readers of older snapshots (writers wait behind it meanwhile)."""
WAL_KEEP_BYTES = 4 * 1024 * 1024
"""The WAL size `truncate_wal` leaves alone: about what SQLite's automatic checkpoints (every 1,000 pages) keep."""


def _fold(value):
    return value.casefold() if isinstance(value, str) else value


def make_engine(url: str, schema: str | None = None) -> Engine:
    """An engine for `url`. SQLite gets WAL, foreign keys and a busy timeout for concurrent CLI and server use.

    `schema` (PostgreSQL only) puts every table in that schema; tests use it to isolate themselves.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            make_dir(Path(path).parent, "the SQLite database's directory (NSI_DATABASE_URL)")
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, see below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA journal_size_limit={int(WAL_LIMIT_BYTES)}")
            cur.close()
            dbapi_conn.create_function("nsi_fold", 1, _fold, deterministic=True)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Writers take the write lock at the start (IMMEDIATE), so two writers queue
            # instead of failing when both try to upgrade a read lock; readers never wait.
            immediate = conn.get_execution_options().get("nsi_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql"):
        kwargs = {"pool_pre_ping": True}
        if schema:
            kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
        try:
            return sa.create_engine(url, **kwargs)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"PostgreSQL driver missing ({exc.name}): pip install 'nsi-registry[postgres]'")
        except sa.exc.ArgumentError as exc:
            raise ConfigError(f"NSI_DATABASE_URL is not a valid database URL: {exc}") from None
    raise ConfigError(f"NSI_DATABASE_URL {_redacted(url)!r} is not supported: use sqlite:///PATH or "
                      f"postgresql+psycopg://USER@HOST:PORT/DATABASE")


def _redacted(url: str) -> str:
    """The URL without a password, for error messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def make_dir(path: Path, what: str) -> Path:
    """Create a directory (and its parents) or fail with a ConfigError naming it and the setting behind it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {what} {path}: {exc.strerror or exc}") from None
    return path


def alembic_config(engine: Engine):
    """An alembic Config whose migrations run on `engine` (passed through attributes, not a URL)."""
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to `revision` by running the migrations."""
    from alembic import command
    try:
        with engine.connect():
            pass
    except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.InterfaceError) as exc:
        raise ConfigError(f"cannot open the database at {engine.url.render_as_string(hide_password=True)}: "
                          f"{exc.orig}") from None
    _incremental_auto_vacuum(engine)
    command.upgrade(alembic_config(engine), revision)


def _incremental_auto_vacuum(engine: Engine) -> None:
    """Put an SQLite file in incremental auto-vacuum mode, once (a VACUUM, instant on a new database).

    Publishing or discarding a draft drops its staging table; in this mode the store then hands the
    freed pages back to the file system (`PRAGMA incremental_vacuum`) instead of keeping them as free
    pages inside the file, so the file stays the size of what it holds.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    raw = engine.raw_connection()
    try:
        sqlite = raw.dbapi_connection
        if sqlite.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            sqlite.execute("PRAGMA auto_vacuum = INCREMENTAL")
            try:
                sqlite.execute("VACUUM")
            except Exception as exc:  # sqlite3.OperationalError: locked by a running server, or no disk space
                raise ConfigError(f"cannot rewrite the SQLite database {engine.url.database} into incremental "
                                  f"auto-vacuum mode (a one-time step of this upgrade): {exc}; stop the processes "
                                  f"using it, make sure the disk has room for a copy of the file, and run "
                                  f"`nsi db upgrade` again") from None
    finally:
        raw.close()


def current_revision(engine: Engine) -> str | None:
    """The schema revision in the database, or None for an empty database."""
    # Read alembic's version table directly: importing alembic's runtime costs more than the rest of
    # opening a store, and every CLI command opens one.
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        revisions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(revisions) > 1:
        raise ConfigError(f"the database has several schema revisions ({', '.join(sorted(revisions))}): "
                          f"run `nsi db upgrade`")
    return revisions[0] if revisions else None


# The newest migration in registry/migrations/versions. Every CLI command checks the schema against
# it, and reading it from the scripts through alembic costs 0.1 s each time; a test keeps the two equal.
HEAD_REVISION = "0017"


def head_revision() -> str:
    """The newest schema revision the code knows."""
    return HEAD_REVISION


def alembic_head() -> str:
    """The head revision as alembic reads it from the migration scripts (what HEAD_REVISION must equal)."""
    from alembic.script import ScriptDirectory
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def check_schema(engine: Engine) -> None:
    """Fail with a clear message when the database is missing or older than the code."""
    try:
        rev = current_revision(engine)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.InterfaceError) as exc:
        raise ConfigError(f"cannot open the database at {engine.url.render_as_string(hide_password=True)}: "
                          f"{exc.orig}") from None
    if rev is None:
        raise ConfigError(f"the database at {engine.url.render_as_string(hide_password=True)} is not initialised: "
                          f"run `nsi init` (or `nsi db upgrade`)")
    if rev != head_revision():
        raise ConfigError(f"the database schema is at revision {rev}, the code needs {head_revision()}: "
                          f"run `nsi db upgrade`")


def truncate_wal(engine: Engine, above: int | None = None) -> int | None:
    """On a SQLite file, when its WAL has grown past `above` bytes (WAL_KEEP_BYTES by default), copy the WAL into
    the database and truncate it to nothing (`PRAGMA wal_checkpoint(TRUNCATE)`); the WAL's size after, or None
    for other databases.

    For after large writes (a search index build): the WAL grows while readers keep old snapshots, and SQLite's
    automatic checkpoints never shrink it. The checkpoint waits for readers of older snapshots to finish, and
    holds off other writers meanwhile (readers go on), for at most CHECKPOINT_WAIT_MS; then it gives up and
    leaves the WAL as it is.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    wal = Path(engine.url.database + "-wal")
    limit = WAL_KEEP_BYTES if above is None else above
    if not wal.exists() or wal.stat().st_size <= limit:
        return wal.stat().st_size if wal.exists() else 0
    raw = engine.raw_connection()
    try:
        connection = raw.dbapi_connection
        # A reader of an older snapshot makes the checkpoint wait, and writers wait behind it: give up after a
        # second (the WAL is then truncated after a later build, and journal_size_limit caps it meanwhile).
        connection.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()  # autocommit: no BEGIN
        finally:
            connection.execute("PRAGMA busy_timeout=30000")
    finally:
        raw.close()
    return wal.stat().st_size if wal.exists() else 0


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside one write transaction: committed on success, rolled back on any error.

    On SQLite the write lock is taken at BEGIN, so concurrent writers wait their turn.
    """
    with engine.connect() as conn:
        conn.execution_options(nsi_write=True)
        with conn.begin():
            yield conn


def write_connection(engine: Engine) -> Connection:
    """A connection whose transactions are write transactions (see write_transaction); caller closes it."""
    conn = engine.connect()
    conn.execution_options(nsi_write=True)
    return conn


_NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def driver_sql(sql: str, dialect: str) -> str:
    """Plain SQL written with `:name` parameters, in the driver's own style: sqlite3 takes it as is, psycopg
    wants `%(name)s` (and a literal `%` doubled). For the hot reads that skip SQLAlchemy's compiler; a `::`
    cast is left alone.
    """
    if dialect == "sqlite":
        return sql
    return _NAMED_PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))
