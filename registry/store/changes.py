"""Knowing cheaply, in a serving process, whether catalogs or versions may have changed anywhere.

`latest` and the catalog list change only when some process publishes, retires, stages or creates
something, which is rare next to the reads that ask for them. A `ChangeWatch` gives a token that
stays equal while nothing was committed to the database and moves as soon as anything may have been,
by this process or any other (another worker, `nsi import`, another `nsi serve` instance on the same
PostgreSQL), so readers can keep what they resolved and check the token instead of the database:

- SQLite: `PRAGMA data_version` on a connection kept for it (one per process), which changes whenever
  another connection commits (about 10 µs, no table read).
- PostgreSQL: a background thread LISTENs on the channel `nsi_catalogs`, to which triggers on the
  catalog and version tables (migration 0009) send a notification at each commit that changes them;
  each notification moves the token. A commit made through this process's engine moves it at once,
  so a process reads its own writes. While the listener is not connected, `token()` is None and
  nothing may be cached.

Tokens are per process: the watch notices a fork (gunicorn workers) and starts afresh in the child.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
CHANNEL = "nsi_catalogs"
RECONNECT_SECONDS = 1.0
WAIT_SECONDS = 1.0  # how often the listener looks whether it should stop


class ChangeWatch:
    """Tokens that move whenever the catalogs or versions of `engine`'s database may have changed."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._lock = threading.Lock()
        self._pid = None
        self._generation = 0
        self._sqlite: sqlite3.Connection | None = None
        self._listening = False
        event.listen(engine, "commit", self._committed)
        event.listen(engine, "engine_disposed", self.close)

    def token(self):
        """A value equal to the previous one only if nothing may have changed since; None when unknown."""
        if self._pid != os.getpid():
            self._start()
        with self._lock:
            if self._sqlite is not None:
                try:
                    return self._generation, self._sqlite.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error:
                    return None
            return self._generation if self._listening else None

    def close(self, *_args) -> None:
        """Stop watching in this process (the engine was disposed); the next `token()` starts afresh.

        The listener thread notices within WAIT_SECONDS and closes its connection.
        """
        with self._lock:
            self._pid = None
            self._listening = False
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None

    def _committed(self, _conn) -> None:
        with self._lock:
            self._generation += 1

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._sqlite, self._listening = None, False
            url = self.engine.url
            if url.get_backend_name() == "sqlite":
                if url.database and url.database != ":memory:":
                    self._sqlite = sqlite3.connect(url.database, check_same_thread=False, isolation_level=None)
                return
            if url.get_backend_name() == "postgresql":
                conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
                threading.Thread(target=self._listen, args=(conninfo, self._pid), daemon=True,
                                 name="nsi-change-listener").start()

    def _listen(self, conninfo: str, pid: int) -> None:
        import psycopg
        while self._pid == pid:
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    with self._lock:  # whatever was resolved before listening is stale
                        self._generation += 1
                        self._listening = self._pid == pid
                    while self._pid == pid:
                        for _ in conn.notifies(timeout=WAIT_SECONDS):
                            with self._lock:
                                self._generation += 1
            except Exception as exc:  # the database restarted or is unreachable: nothing is kept meanwhile
                log.warning("listening for catalog changes failed (%s); retrying", exc)
            finally:
                with self._lock:
                    if self._pid == pid:
                        self._listening = False
                    self._generation += 1
            if self._pid == pid:
                time.sleep(RECONNECT_SECONDS)


__all__ = ["ChangeWatch", "CHANNEL"]
