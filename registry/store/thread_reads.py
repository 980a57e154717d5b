"""A read-only database connection per thread, for the reads a serving process makes most (the lookup).

A lookup that misses the response cache is one indexed query; checking a connection out of
SQLAlchemy's pool and back in cost about as much CPU as the query itself. `ThreadReads` keeps one
plain driver connection per thread instead, opened through the engine (so it gets the same
database file or server, WAL mode, busy timeout, SQL functions and PostgreSQL search path as every
other connection) and then taken out of the pool:

- it only reads: SQLite `PRAGMA query_only`, PostgreSQL sessions in READ ONLY transactions;
- SQLite reads the database file through a memory map (`PRAGMA mmap_size`), so a page is not copied into
  every thread's page cache, nor read with a system call when that small cache misses (the 1M catalog);
- it runs in autocommit, so every statement reads the latest committed state, and nothing holds a
  read snapshot between requests (a SQLite checkpoint is never held back by it). A version published
  by another process or worker is seen by the next statement;
- the driver keeps each thread's prepared statements (sqlite3's statement cache; psycopg prepares
  a query it has run a few times), so a lookup is bound parameters and a step, no SQL compiled;
- a connection that fails (a PostgreSQL restart) is dropped and the statement is run once more on a
  new one: it only reads, so running it again is safe;
- disposing the engine (shutdown, or a gunicorn worker after its fork) closes the connections this
  process opened; connections inherited from a parent process are dropped without being used. A
  thread that ends takes its connection with it;
- an in-memory SQLite database exists only in its pooled connection, so there the read borrows that one;
- `session`: settings of each PostgreSQL connection, for reads that want their own (the ranked reads of
  search, `registry.search.pg.RANKED_READS`, on connections of their own); `run` makes several statements.

Nothing here imports Flask.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Callable, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

from registry.db import driver_sql

# SQLite reads the first this many bytes of the database file through a memory map, not a copy into each
# connection's own page cache: address space, not memory (the pages are the operating system's file cache).
SQLITE_MMAP_BYTES = 1 << 30
T = TypeVar("T")


class _Held:
    """One thread's connection, with the process and the generation it was opened in."""

    __slots__ = ("dbapi", "pid", "generation", "__weakref__")

    def __init__(self, dbapi, pid: int, generation: int):
        self.dbapi, self.pid, self.generation = dbapi, pid, generation

    def close(self) -> None:
        dbapi, self.dbapi = self.dbapi, None
        if dbapi is not None:
            try:
                dbapi.close()
            except Exception:  # closing is best effort: the connection may already be broken
                pass

    def __del__(self):  # the thread ended (its thread-local went away): close its connection
        if self.pid == os.getpid():
            self.close()


class ThreadReads:
    """Per-thread read-only connections to `engine`'s database; `fetchall(sql, params)` runs one query."""

    def __init__(self, engine: Engine, session: tuple[str, ...] = (), prepared_max: int | None = None):
        self.engine = engine
        self.session = session  # PostgreSQL statements (settings) run once when each connection opens
        self.prepared_max = prepared_max  # psycopg's statements kept prepared per connection (None: its default)
        self.postgres = engine.dialect.name == "postgresql"
        # An in-memory SQLite database lives in its pooled connection alone: read through the pool there.
        self.in_memory = not self.postgres and engine.url.database in (None, "", ":memory:")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._generation = 0
        self._sql: dict[str, str] = {}  # the query in the driver's parameter style (psycopg: %(name)s)
        self._errors: tuple = ()
        event.listen(engine, "engine_disposed", self.close)

    def fetchall(self, sql: str, params: dict) -> list[tuple]:
        """The rows of one query written with `:name` parameters (given in `params`), on this thread's connection.

        A connection that fails is dropped and the query is run once more on a new one.
        """
        sql = self._sql.get(sql) or self._driver_sql(sql)
        return self.run(lambda cursor: cursor.execute(sql, params).fetchall())

    def run(self, read: Callable[..., T]) -> T:
        """`read(cursor)`, several statements of one read, on this thread's connection (each statement sees the
        latest committed state). A connection that fails is dropped and `read` is run once more on a new one."""
        if self.in_memory:
            connection = self.engine.raw_connection()
            try:
                return read(connection.cursor())
            finally:
                connection.close()
        held = getattr(self._local, "held", None)
        if held is None or held.dbapi is None or held.pid != os.getpid() or held.generation != self._generation:
            held = self._open()
        try:
            return self._read_on(held, read)
        except self._errors:
            held.close()
        return self._read_on(self._open(), read)

    @staticmethod
    def _read_on(held: _Held, read: Callable[..., T]) -> T:
        cursor = held.dbapi.cursor()
        try:
            return read(cursor)
        finally:
            cursor.close()

    def close(self, *_args) -> None:
        """Close every connection this process opened (the engine was disposed); the next read opens anew."""
        with self._lock:
            self._generation += 1
            held, self._held = list(self._held), weakref.WeakSet()
        for h in held:
            if h.pid == os.getpid():
                h.close()
            else:  # opened in the parent before a fork: dropped, never used here
                h.dbapi = None

    def _driver_sql(self, sql: str) -> str:
        driver = driver_sql(sql, self.engine.dialect.name)
        self._sql[sql] = driver
        return driver

    def _open(self) -> _Held:
        fairy = self.engine.raw_connection()  # the engine's connect events run: pragmas, functions, search_path
        fairy.detach()
        dbapi = fairy.dbapi_connection
        if self.postgres:
            import psycopg
            self._errors = (psycopg.OperationalError, psycopg.InterfaceError)
            dbapi.rollback()
            dbapi.autocommit = True
            dbapi.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            for statement in self.session:
                dbapi.execute(statement)
            if self.prepared_max is not None:
                dbapi.prepared_max = self.prepared_max
        else:
            import sqlite3
            self._errors = (sqlite3.OperationalError, sqlite3.ProgrammingError)
            dbapi.isolation_level = None
            dbapi.execute("PRAGMA query_only = 1")
            dbapi.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        with self._lock:
            held = _Held(dbapi, os.getpid(), self._generation)
            self._held.add(held)
        old = getattr(self._local, "held", None)
        if old is not None and old is not held and old.pid == os.getpid():
            old.close()
        self._local.held = held
        return held


__all__ = ["ThreadReads"]
