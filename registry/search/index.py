"""Building the search index in the database, in the background, after each publish (never on a query).

The index is a table of the database itself: SQLite FTS5 (`entry_search`, contentless, its rowid the entry's
catalog, length and id: `registry.search.fts5.rowid`) or a PostgreSQL tsvector with a GIN index
(`entry_search(catalog_id, entry_id, length, terms)`, a partition per catalog: `registry.search.pg`), both over
the terms of `registry.search.analysis`. It holds one row per *entry row*, and entry rows never change their
text (design §2: a publish inserts new or changed rows and closes old ones), so a publish of 1% changes costs 1% of an
index, every version of a catalog shares one index, and every server node reads the same one.

`build(store, catalog_id)` indexes the catalog's entry rows above its watermark (`search_index_state`) up to
its head, in batches of `BATCH` rows, each batch its own short transaction (SQLite's one write lock is never
held for long). A batch moves the watermark by compare-and-set, so a crash loses at most one batch and two
builders never index a row twice; a lease makes the other server workers leave the build to one of them.

`Indexer` is the background thread of a server process: woken at once by a publish through the API (or by a
query that met an unindexed version), and polling every few seconds for versions published by the CLI or by
another node. Under `nsi serve` it builds nothing itself: it takes the leases and starts a builder process at a
lower priority (`registry.search.builder`), so a build never shares a serving interpreter's lock. After a build
on SQLite the WAL that it grew is truncated (`db.truncate_wal`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import sqlalchemy as sa

from registry import db
from registry.models.catalog import Catalog, Entry
from registry.models.search import SearchIndexState
from registry.search import fts5, pg
from registry.search.analysis import WORD, terms

log = logging.getLogger(__name__)

C = Catalog.__table__
E = Entry.__table__
STATE = SearchIndexState.__table__
BATCH = 5000
MERGE_ROWS = 50_000  # a SQLite build of at least this many rows ends by merging the index into one segment
LEASE = timedelta(seconds=120)
BUILDER_FAILURES = 3  # builder processes failing in a row before a server builds in its own thread (Indexer)
UNINDEXABLE = -1  # indexed_entry_id of a catalog whose ids SQLite's index cannot hold (`fts5.fits`): it is scanned


def owner() -> str:
    """This thread, as a lease holder: host:pid:thread."""
    return f"{owner_prefix(os.getpid())}{threading.get_ident()}"


def owner_prefix(pid: int) -> str:
    """What every lease held by process `pid` of this host starts with."""
    return f"{socket.gethostname()}:{pid}:"


def indexed_seqs(cursor) -> dict[int, tuple[int, int]]:
    """catalog id -> (the sequence up to which its versions are searchable through the index, the last entry id
    indexed: none of the catalog's index rows lies above it; `UNINDEXABLE` for a catalog the index cannot hold,
    whose versions are scanned), from a driver cursor."""
    cursor.execute("SELECT catalog_id, indexed_seq, indexed_entry_id FROM search_index_state")
    return {catalog_id: (seq, entry_id) for catalog_id, seq, entry_id in cursor.fetchall()}


def catalogs_behind(store) -> list[int]:
    """Ids of the catalogs with a published version that is not indexed yet."""
    with store.engine.connect() as conn:
        return list(conn.execute(
            sa.select(C.c.id).select_from(C.outerjoin(STATE, STATE.c.catalog_id == C.c.id))
            .where(C.c.head_seq > sa.func.coalesce(STATE.c.indexed_seq, 0)).order_by(C.c.id)).scalars())


def catalogs_to_build(store) -> list[int]:
    """Ids of the catalogs behind, when no live lease holds any build: what a new builder would take on.

    Empty while any builder is at work (a live lease anywhere): it goes on to the other catalogs behind as it
    finishes each, and renews only the lease of the one it builds, so the others' leases (taken when it was
    started) lapse meanwhile; a second builder would only compete with it for the database's writes.
    """
    behind = catalogs_behind(store)
    if not behind:
        return []
    with store.engine.connect() as conn:
        busy = any(row.lease_owner is not None and not _expired(row.lease_until)
                   for row in conn.execute(sa.select(STATE.c.lease_owner, STATE.c.lease_until)))
    return [] if busy else behind


def lease_for(store, me: str) -> list[int]:
    """Take the lease of every catalog behind whose build no live lease holds, as `me`; the ids of those taken.

    So that a serving process starts a builder process only for builds it has won, and two workers polling at
    once do not both start one (a builder takes a second or so to start, time enough for the other to look)."""
    return [catalog_id for catalog_id in catalogs_to_build(store) if _take_lease(store, catalog_id, me)]


def release_leases_of(store, prefix: str) -> None:
    """Hand back the leases of a builder known to have ended (its owner starts with `prefix`), so that the next
    builder resumes at once instead of waiting for them to expire."""
    with db.write_transaction(store.engine) as conn:
        conn.execute(STATE.update().where(STATE.c.lease_owner.startswith(prefix, autoescape=True))
                     .values(lease_owner=None, lease_until=None))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _expired(until: datetime | None) -> bool:
    if until is None:
        return True
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    return until <= _now()


def _take_lease(store, catalog_id: int, me: str) -> bool:
    try:
        return _try_lease(store, catalog_id, me)
    except sa.exc.IntegrityError:  # another worker created the catalog's state row first: it builds
        return False


def _try_lease(store, catalog_id: int, me: str) -> bool:
    with db.write_transaction(store.engine) as conn:
        row = conn.execute(sa.select(STATE).where(STATE.c.catalog_id == catalog_id)).first()
        if row is None:
            conn.execute(STATE.insert().values(catalog_id=catalog_id, indexed_seq=0, indexed_entry_id=0,
                                               lease_owner=me, lease_until=_now() + LEASE))
            return True
        if row.lease_owner not in (None, me) and not _expired(row.lease_until):
            return False  # another worker is building it
        return conn.execute(STATE.update().where(STATE.c.catalog_id == catalog_id,
                                                 STATE.c.indexed_entry_id == row.indexed_entry_id)
                            .values(lease_owner=me, lease_until=_now() + LEASE)).rowcount == 1


def _release_lease(store, catalog_id: int, me: str) -> None:
    with db.write_transaction(store.engine) as conn:
        conn.execute(STATE.update().where(STATE.c.catalog_id == catalog_id, STATE.c.lease_owner == me)
                     .values(lease_owner=None, lease_until=None))


@lru_cache(maxsize=200_000)
def _lexeme(word: str) -> str:
    """A term as the start of a tsvector lexeme (quoted, up to its position); cached like the stems."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "':"


def _tsvector(catalog_terms: list[tuple[list[str], str]]) -> str:
    """A tsvector literal: code and display weigh A, designations B (positions capped as PostgreSQL requires)."""
    out, position = [], 0
    for words, weight in catalog_terms:
        for word in words:
            if position < 16383:
                position += 1
            out.append(f"{_lexeme(word)}{position}{weight}")
    return " ".join(out)


def _read_batch(store, catalog_id: int, mark: int) -> tuple[int, list, list[tuple]]:
    """The catalog's head, and its next `BATCH` published entry rows after entry id `mark`, analysed for writing.

    Runs in the builder's helper thread, so that reading and analysing the next batch (Python) overlaps with
    writing the current one (the database's work: FTS5 or GIN inserts), which about halves a large build.
    """
    with store.engine.connect() as conn:
        head = conn.execute(sa.select(C.c.head_seq).where(C.c.id == catalog_id)).scalar_one()
        rows = conn.execute(sa.select(E.c.id, E.c.code, E.c.display, E.c.designations)
                            .where(E.c.catalog_id == catalog_id, E.c.id > mark, E.c.valid_from <= head)
                            .order_by(E.c.id).limit(BATCH)).all()
    sqlite = store.engine.dialect.name == "sqlite"
    analysed = []
    for r in rows:
        names = terms(" ".join(d["text"] for d in json.loads(r.designations)))
        # A code's parts as the query analyser splits them (`A00-A09` → a00, a09), unstemmed.
        code, display = WORD.findall(r.code.lower()), terms(r.display)
        length = len(code) + len(display) + len(names)
        # PostgreSQL orders a catalog's rows by the same capped length as SQLite's rowid (registry.search.pg).
        analysed.append((fts5.rowid(catalog_id, length, r.id), " ".join(code), " ".join(display), " ".join(names))
                        if sqlite else (catalog_id, r.id, min(length, fts5.MAX_LENGTH),
                                        _tsvector([(code, "A"), (display, "A"), (names, "B")])))
    if sqlite:  # FTS5 takes a batch's rowids in order without flushing a segment per row
        analysed.sort(key=lambda row: row[0])
    else:  # each batch's rows lie in the table in the order a search walks them (registry.search.pg): fewer pages
        analysed.sort(key=lambda row: (row[2], row[1]))
    return head, rows, analysed


def _write_rows(conn, analysed: list[tuple]) -> None:
    """Write the index rows that `_read_batch` made (on PostgreSQL, into their catalog's partition directly)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "INSERT INTO entry_search (rowid, code, display, designations) VALUES (?, ?, ?, ?)", analysed)
    else:
        with conn.connection.dbapi_connection.cursor() as cur:
            with cur.copy(f"COPY {pg.partition(analysed[0][0])} (catalog_id, entry_id, length, terms) FROM STDIN") \
                    as copy:
                for row in analysed:
                    copy.write_row(row)


def build(store, catalog_id: int, *, after_batch=None, me: str | None = None) -> int | None:
    """Index every published entry row of catalog `catalog_id` not yet indexed; the number of rows it indexed.

    None when another builder holds the lease or moved the watermark meanwhile (it finishes the work).
    `after_batch(rows)` is called after each committed batch (progress, and tests that pause a build). `me` is
    the lease holder to build as (default: this thread), e.g. the name under which a builder process's parent
    took the lease for it. One helper thread reads and analyses the next batch while this one writes the current
    one.
    """
    me = me or owner()
    if not _take_lease(store, catalog_id, me):
        return None
    indexed = 0
    try:
        with store.engine.connect() as conn:
            mark = conn.execute(sa.select(STATE.c.indexed_entry_id)
                                .where(STATE.c.catalog_id == catalog_id)).scalar_one()
        if store.engine.dialect.name == "sqlite" and not _fits(store, catalog_id):
            return _leave_to_the_scan(store, catalog_id, me)
        if store.engine.dialect.name == "postgresql":
            with db.write_transaction(store.engine) as conn:
                pg.ensure_partition(conn, catalog_id)
        with ThreadPoolExecutor(1, thread_name_prefix="nsi-search-analyser") as helper:
            upcoming = helper.submit(_read_batch, store, catalog_id, mark)
            while True:
                head, rows, analysed = upcoming.result()
                last = len(rows) < BATCH
                if not last:
                    upcoming = helper.submit(_read_batch, store, catalog_id, rows[-1].id)
                with db.write_transaction(store.engine) as conn:
                    if conn.dialect.name == "postgresql":
                        # A batch and its watermark commit together, so a crash that loses the last commits
                        # loses them whole (they are built again): no need to wait for each one's flush.
                        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                    values = {"lease_until": _now() + LEASE}
                    if rows:
                        values["indexed_entry_id"] = rows[-1].id
                    if last:
                        values["indexed_seq"] = head
                    moved = conn.execute(STATE.update().where(STATE.c.catalog_id == catalog_id,
                                                              STATE.c.indexed_entry_id == mark,
                                                              STATE.c.lease_owner == me).values(**values)).rowcount
                    if moved != 1:
                        return None  # lost the lease to another builder: it carries on from the watermark
                    if rows:
                        _write_rows(conn, analysed)
                indexed += len(rows)
                mark = rows[-1].id if rows else mark
                if after_batch is not None:
                    after_batch(len(rows))
                if last:
                    break
        if indexed >= MERGE_ROWS and store.engine.dialect.name == "sqlite":
            with db.write_transaction(store.engine) as conn:
                # One segment instead of the several that batch commits leave: a prefix query gathers its terms
                # from each (`туберкулез*` on the 1M store: 0.59 -> 0.03 ms); 3.6 s wall, 0.7 s CPU after 1M rows.
                conn.exec_driver_sql("INSERT INTO entry_search (entry_search) VALUES ('optimize')")
        if indexed and store.engine.dialect.name == "postgresql":
            with store.engine.connect() as conn:
                pg.after_build(conn.execution_options(isolation_level="AUTOCOMMIT"), catalog_id)
        return indexed
    finally:
        _release_lease(store, catalog_id, me)


def _fits(store, catalog_id: int) -> bool:
    """Whether the catalog's ids fit SQLite's index rowid (`fts5.fits`); its own entries are read only when the
    store's last entry id does not fit (that one is a look-up of the table's last row)."""
    with store.engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(E.c.id))).scalar() or 0
        if last > fts5.ENTRY_MASK:
            last = conn.execute(sa.select(sa.func.max(E.c.id)).where(E.c.catalog_id == catalog_id)).scalar() or 0
    return fts5.fits(catalog_id, last)


def _leave_to_the_scan(store, catalog_id: int, me: str) -> int:
    """Mark a catalog that SQLite's index cannot hold as indexed up to its head with `UNINDEXABLE` rows, and
    say so once in the log: its searches are answered by the scan (named under `indexing`), and the next poll
    does not try again (before, its build failed with an OverflowError at every poll). A later publish tries
    again, and logs again."""
    with db.write_transaction(store.engine) as conn:
        head = conn.execute(sa.select(C.c.head_seq).where(C.c.id == catalog_id)).scalar_one()
        conn.execute(STATE.update().where(STATE.c.catalog_id == catalog_id, STATE.c.lease_owner == me)
                     .values(indexed_seq=head, indexed_entry_id=UNINDEXABLE))
    log.error("search index: catalog id %d cannot be indexed on SQLite: its id or an entry id is beyond the "
              "index's rowid (catalog ids up to %d, entry ids up to %d); its searches are answered by the unranked "
              "scan of its first entries (PostgreSQL has no such limit)", catalog_id, fts5.MAX_CATALOG,
              fts5.ENTRY_MASK)
    return 0


def clear(store) -> None:
    """Forget the whole index (after damage, or an analyser change); servers rebuild it in the background."""
    with db.write_transaction(store.engine) as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("INSERT INTO entry_search (entry_search) VALUES ('delete-all')")
        else:
            conn.exec_driver_sql("TRUNCATE entry_search")
        conn.execute(STATE.delete())


def build_all(store, *, after_batch=None, me: str | None = None) -> dict[int, int]:
    """Bring every catalog's index up to date in this thread; {catalog id: rows indexed} of what this call did.

    Then, on SQLite, the WAL is truncated if the builds grew it past `db.WAL_KEEP_BYTES`."""
    done = {}
    for catalog_id in catalogs_behind(store):
        rows = build(store, catalog_id, after_batch=after_batch, me=me)
        if rows:
            done[catalog_id] = rows
    if done:
        # On SQLite the WAL grew all along (the next batch's read keeps an older snapshot while a batch is
        # written, so checkpoints cannot restart it): its disk space is given back once the builds are done.
        db.truncate_wal(store.engine)
    return done


class Indexer:
    """The background builder of one server process: one daemon thread, woken by publishes and queries.

    With `separate_process` (what `nsi serve` uses) the thread builds nothing itself: it starts a builder
    process for what is behind and waits for it (`registry.search.builder`), so the build never holds the
    serving interpreter's lock; without it (tests, an app served otherwise) the thread builds.
    """

    def __init__(self, store, interval: float = 0, separate_process: bool = False, lookup_files: bool = False):
        self.store = store
        self.interval = interval
        self.separate_process = separate_process
        self.lookup_files = lookup_files  # also keep this instance's lookup files (registry.lookup_files)
        self._files_clean = None  # the change token at which the lookup files were last found complete or built
        self._files_token = None  # the change token read before the files were last found behind
        self._builder = None
        self._failures = 0
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.busy = threading.Event()  # set while a build runs (the tests wait on it)

    def wake(self) -> None:
        """Index whatever is behind, soon, without waiting for it."""
        with self._lock:
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="nsi-search-indexer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            if self.interval:
                self._wake.wait(self.interval)
            self.busy.set()
            self._wake.clear()
            try:
                files = self._files_due()
                done = self._build_in_process(files) if self.separate_process else self._build_here(files)
                if done:
                    log.info("search index: %s", ", ".join(f"{n:,} rows of catalog id {c}" for c, n in done.items()))
            except Exception:  # a database hiccup must not end a polling thread; the next wake or poll retries
                log.exception("search index build failed; retrying at the next publish, query or poll")
            finally:
                self.busy.clear()
            if not self.interval:
                with self._lock:  # without polling, the thread ends when nothing woke it meanwhile
                    if not self._wake.is_set():
                        self._thread = None
                        return

    def _files_due(self) -> bool:
        """Whether this instance's lookup files are behind (`lookup_files.due`): looked at again only when the
        change watch says the database may have changed since they were found complete (without a watch, at
        every poll: one query and a listing). After a build that ended (`_files_built`) they are not looked at
        again until the next change either: a build that could not write them (a full disk) is not repeated at
        every poll."""
        if not self.lookup_files:
            return False
        from registry import lookup_files
        token = self.store.change_token()
        if token is not None and token == self._files_clean:
            return False
        if lookup_files.due(self.store):
            self._files_token = token
            return True
        self._files_clean = token
        return False

    def _files_built(self) -> None:
        self._files_clean = self._files_token

    def _build_here(self, files: bool) -> dict:
        """Build in this thread (an app not served by `nsi serve`, tests): the search index, then the lookup files,
        in the builder process's order."""
        done = build_all(self.store)
        if files:
            from registry import lookup_files
            lookup_files.sync_logged(self.store)
            self._files_built()
        return done

    def _build_in_process(self, files: bool = False) -> dict:
        """Build in a builder process (which logs what it built); an empty dict, for the caller's log line.

        After `BUILDER_FAILURES` builder processes in a row that could not start or failed (an install that
        cannot run `python -m`, say), this process builds in its own thread from then on (`_build_here`), as
        before builder processes, rather than start a failing one at every poll and never build: the search
        index, then the lookup files, written and swept as the builder would (a file that is never swept would
        keep its disk, and one never written leaves its catalog's lookups to SQL, until a restart). Both then hold
        this interpreter's lock as they build, as the search builds did before builder processes."""
        if self._builder is None:
            from registry.search.builder import BuilderProcess
            self._builder = BuilderProcess(self.store)
        try:
            status = self._builder.run(files)
        except OSError as exc:  # the interpreter could not be started at all
            log.warning("search index builder could not start: %s", exc)
            status = -1
        if files and status == 0:  # not when killed midway: the next poll resumes (and sweeps its temporary file)
            self._files_built()
        if status in (None, 0) or self._builder.closing:
            self._failures = 0
            return {}
        self._failures += 1
        if self._failures < BUILDER_FAILURES:
            return {}
        log.error("search index builder failed %d times in a row; building search indexes and lookup files in "
                  "this process from now on", self._failures)
        self.separate_process = False
        return self._build_here(files)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Until the build this process started has ended (for tests); False on timeout."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout if not self.interval else 0)
            return not thread.is_alive()
        return True


_indexers: dict[int, Indexer] = {}
_indexers_lock = threading.Lock()


def indexer(store, interval: float = 0, separate_process: bool = False, lookup_files: bool | None = None) -> Indexer:
    """The one Indexer of this process for `store` (created on first use); `separate_process` makes it build in
    builder processes from then on (a serving worker's, see Indexer); `lookup_files`, when given, whether it
    also keeps the instance's lookup files (the app's `NSI_LOOKUP_FILES`)."""
    with _indexers_lock:
        found = _indexers.get(id(store))
        if found is None or found.store is not store:
            found = _indexers[id(store)] = Indexer(store, interval, separate_process, bool(lookup_files))
        else:
            if lookup_files is not None:
                found.lookup_files = lookup_files
            if interval and not found.interval:
                found.interval = interval
            found.separate_process = found.separate_process or separate_process
        return found
