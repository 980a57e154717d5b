"""`nsi serve` builds search indexes in a builder process of its own, at a lower priority, never in a serving
worker's interpreter: the builder stops with the server (SIGTERM, Ctrl-C), dies with the worker that started it,
and a killed builder leaves no half batch and is followed by another that resumes from the watermark.

Where a signal lands is pinned by a line the builder writes from a hook (tests/nsi_process.py), paused inside its
second batch's transaction, never by sleeping in the test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from importers import run_import
from registry import db, lookup_files
from registry.models import CatalogCreate
from registry.search import builder
from registry.search import index as search_index
from tests.nsi_process import ROOT, command
from tests.test_serve_workers import children, free_port

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
ENTRIES = 40
PAUSED = "BUILDER PAUSED"

# Run in the `nsi serve` master before the CLI: its workers start builders that index 5 rows a batch and pause
# inside their second batch (written, not committed) the first time, printing their pid.
HOOK = f"""
import os, sys
from registry.search import builder
BUILDER = '''
import os, sys, time
from registry.search import builder, index
index.BATCH = 5
write, batches = index._write_rows, []
def paused(conn, rows):
    write(conn, rows)
    batches.append(len(rows))
    flag = os.environ["TEST_PAUSED_ONCE"]
    if len(batches) == 2 and not os.path.exists(flag):
        open(flag, "w").close()
        print({PAUSED!r}, os.getpid(), file=sys.stderr, flush=True)
        time.sleep(120)
index._write_rows = paused
builder.main()
'''
builder.command = lambda: [sys.executable, "-c", BUILDER]
"""


def index_rows(store) -> tuple[int, int]:
    """(index rows, distinct entry rows among them)."""
    with store.engine.connect() as conn:
        key = "rowid" if conn.dialect.name == "sqlite" else "entry_id"
        return tuple(conn.execute(sa.text(f"SELECT count(*), count(DISTINCT {key}) FROM entry_search")).one())


def leases(store) -> list:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(search_index.STATE.c.lease_owner)).scalars())


def gone(pid: int, within: float = 20) -> bool:
    """Whether process `pid` has ended (or is a zombie nobody reaped yet) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state is [0], parent [1], nice [16])."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


@pytest.fixture
def published(store, tmp_path):
    """A catalog of ENTRIES entries published as `nsi import --publish` does, with no server running: no index."""
    path = tmp_path / "typhoid.jsonl"
    path.write_text("".join(f'{{"code": "T{i:03d}", "display": "Тифоидная лихорадка {i}"}}\n'
                            for i in range(ENTRIES)), encoding="utf-8")
    store.create_catalog(CatalogCreate(slug="typhoid", title="Typhoid", kind="other"))
    run_import(store, path, catalog="typhoid", version="1", publish=True)
    assert search_index.catalogs_behind(store) != []
    return store


class Served:
    """`nsi serve --workers 2` with the hook, in a session of its own; `paused()` waits for the builder's line."""

    def __init__(self, db_env: dict, tmp_path: Path):
        self.port = free_port()
        env = {**os.environ, **db_env, "PYTHONPATH": str(ROOT), "NSI_JOB_POLL_SECONDS": "1",
               "TEST_PAUSED_ONCE": str(tmp_path / "paused-once")}
        self.proc = subprocess.Popen(command("serve", "--port", str(self.port), "--workers", "2", hook=HOOK),
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     encoding="utf-8", start_new_session=True)
        self.seen: list[str] = []

    def paused(self) -> int:
        """The pid of the builder once it has paused in its second batch (the server is killed after 120 s)."""
        watchdog = threading.Timer(120, lambda: os.killpg(self.proc.pid, signal.SIGKILL))
        watchdog.start()
        try:
            for line in self.proc.stderr:
                self.seen.append(line)
                if line.startswith(PAUSED):
                    return int(line.split()[-1])
        finally:
            watchdog.cancel()
        self.proc.wait(30)
        pytest.fail(f"the server ended before a builder paused: exit {self.proc.returncode}, "
                    f"stderr {''.join(self.seen)[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        print("".join(self.seen) + self.proc.stderr.read())  # shown when the test failed


@pytest.fixture
def served(published, db_env, tmp_path):
    server = Served(db_env, tmp_path)
    yield server
    server.stop()


def wait_built(store, within: float = 90) -> None:
    deadline = time.monotonic() + within
    while search_index.catalogs_behind(store) or any(leases(store)):
        if time.monotonic() > deadline:
            with store.engine.connect() as conn:
                state = conn.execute(sa.select(search_index.STATE)).all()
            pytest.fail(f"the index was not built: {state}, {index_rows(store)}")
        time.sleep(0.2)


@pytest.mark.parametrize("how", ["SIGTERM to the master", "SIGINT to the process group (Ctrl-C)"])
def test_the_builder_is_a_lower_priority_process_that_stops_with_the_server(published, served, how):
    pid = served.paused()
    workers = children(served.proc.pid)
    assert stat(pid)[1] in map(str, workers)  # started by a worker: not the worker's own interpreter
    assert int(stat(pid)[16]) == min(19, int(stat(workers[0])[16]) + builder.NICE)
    if how.startswith("SIGTERM"):
        served.proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(served.proc.pid, signal.SIGINT)
    assert served.proc.wait(60) == 0
    assert gone(pid), "the builder outlived the server"
    # Its second batch was rolled back, its lease handed back: the index holds its first batch, once.
    assert index_rows(published) == (5, 5) and leases(published) == [None]
    assert search_index.build_all(published) == {published.resolve("typhoid").catalog_id: ENTRIES - 5}
    assert index_rows(published) == (ENTRIES, ENTRIES)


@pytest.mark.parametrize("killed", ["builder", "worker"])
def test_a_killed_builder_is_followed_by_one_that_resumes_from_the_watermark(published, served, killed):
    pid = served.paused()
    worker = int(stat(pid)[1])
    os.kill(pid if killed == "builder" else worker, signal.SIGKILL)
    assert gone(pid), "the builder outlived the worker that started it"
    wait_built(published)  # by another builder: the worker's next poll, or the restarted worker's first
    assert index_rows(published) == (ENTRIES, ENTRIES) and leases(published) == [None]
    url = f"http://127.0.0.1:{served.port}/api/v1/search?q=" + urllib.parse.quote("тифоидная 17")
    answer = json.loads(urllib.request.urlopen(url, timeout=30).read())
    assert [h["code"] for h in answer["items"]] == ["T017"] and answer["indexing"] == []
    deadline = time.monotonic() + 60  # the server's builders wrote this instance's lookup file, and nothing else
    while lookup_files.due(published):
        assert time.monotonic() < deadline, lookup_files.present(published)
        time.sleep(0.2)
    assert lookup_files.present(published) == {lookup_files.path_for(published, published.resolve("typhoid"))}


def test_a_worker_starts_no_builder_when_nothing_is_behind_or_another_holds_the_lease(published):
    catalog_id = published.resolve("typhoid").catalog_id
    taken = search_index._take_lease(published, catalog_id, "elsewhere:1:1")
    assert taken and search_index.catalogs_to_build(published) == []
    assert builder.BuilderProcess(published).run() is None
    search_index.release_leases_of(published, "elsewhere:1:")
    assert search_index.catalogs_to_build(published) == [catalog_id]
    assert builder.BuilderProcess(published).run() == 0  # a real builder process, from this one
    assert search_index.catalogs_to_build(published) == [] and index_rows(published) == (ENTRIES, ENTRIES)


def test_the_wal_is_truncated_after_a_build_that_grew_it(sqlite_store, tmp_path, monkeypatch):
    store = sqlite_store
    path = tmp_path / "many.jsonl"
    path.write_text("".join(f'{{"code": "M{i:05d}", "display": "Запись номер {i} длинного справочника"}}\n'
                            for i in range(3000)), encoding="utf-8")
    store.create_catalog(CatalogCreate(slug="many", title="Many", kind="other"))
    run_import(store, path, catalog="many", version="1", publish=True)
    wal = Path(store.engine.url.database + "-wal")
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert wal.stat().st_size == 0
    monkeypatch.setattr(search_index, "BATCH", 500)
    search_index.build_all(store)
    grown = wal.stat().st_size
    assert 0 < grown < db.WAL_KEEP_BYTES  # what automatic checkpoints leave anyway: left as it is
    search_index.clear(store)
    monkeypatch.setattr(db, "WAL_KEEP_BYTES", grown // 2)
    search_index.build_all(store)
    assert wal.stat().st_size == 0 and index_rows(store) == (3000, 3000)


def test_no_second_builder_starts_while_one_builds_though_the_leases_it_does_not_renew_lapse(published, tmp_path):
    # A builder renews only the lease of the catalog it builds; the others it was started for lapse meanwhile.
    # No worker starts another builder for them while any lease is live: it would only compete for the writes.
    path = tmp_path / "second.jsonl"
    path.write_text('{"code": "S1", "display": "Second"}\n', encoding="utf-8")
    published.create_catalog(CatalogCreate(slug="second", title="Second", kind="other"))
    run_import(published, path, catalog="second", version="1", publish=True)
    first, second = (published.resolve(slug).catalog_id for slug in ("typhoid", "second"))
    assert search_index.lease_for(published, "here:1:builder-a") == [first, second]
    with db.write_transaction(published.engine) as conn:  # the second's lease has lapsed, the first's is renewed
        conn.execute(search_index.STATE.update().where(search_index.STATE.c.catalog_id == second)
                     .values(lease_until=search_index._now() - search_index.LEASE))
    assert search_index.catalogs_to_build(published) == []
    assert builder.BuilderProcess(published).run() is None
    search_index.release_leases_of(published, "here:1:")
    assert search_index.catalogs_to_build(published) == [first, second]


def test_a_server_whose_builder_processes_keep_failing_builds_in_its_own_thread(published, monkeypatch, caplog):
    # An install that cannot run `python -m registry.search.builder` must still get its indexes built: after
    # BUILDER_FAILURES failed builders in a row, the server's indexer builds in its own thread, and keeps the
    # lookup files there too, in the builder's order: the search index first, then the files written and swept.
    monkeypatch.setattr(builder, "command", lambda: ["/bin/false"])
    real_sync, behind_at_sync = lookup_files.sync, []
    monkeypatch.setattr(lookup_files, "sync", lambda store: behind_at_sync.append(
        search_index.catalogs_behind(store)) or real_sync(store))
    indexer = search_index.Indexer(published, 0, separate_process=True, lookup_files=True)
    for attempt in range(search_index.BUILDER_FAILURES - 1):
        assert indexer._build_in_process(indexer._files_due()) == {}
        assert search_index.catalogs_behind(published) != [] and lookup_files.due(published)
    assert indexer._build_in_process(indexer._files_due()) == {published.resolve("typhoid").catalog_id: ENTRIES}
    assert not indexer.separate_process and search_index.catalogs_behind(published) == []
    assert lookup_files.present(published) == {lookup_files.path_for(published, published.resolve("typhoid"))}
    assert behind_at_sync == [[]]  # the files after the search index
    assert "failed 3 times in a row; building search indexes and lookup files in this process from now on" \
        in caplog.text
    first = lookup_files.path_for(published, published.resolve("typhoid"))
    published.stage_draft("typhoid", "2", [{"code": "T000", "display": "Тиф"}])
    published.publish("typhoid", "2")
    indexer.wake()  # a later poll, in this thread: the new version's file written, the old one swept
    assert indexer.wait_idle()
    assert lookup_files.present(published) == {lookup_files.path_for(published, published.resolve("typhoid"))} \
        != {first}
    assert not lookup_files.due(published) and behind_at_sync == [[], []]


def test_the_wal_checkpoint_gives_up_rather_than_hold_writers_behind_an_old_reader(sqlite_store, tmp_path,
                                                                                   monkeypatch):
    # TRUNCATE waits for readers of older snapshots and writers wait behind it: at most CHECKPOINT_WAIT_MS.
    store = sqlite_store
    store.create_catalog(CatalogCreate(slug="w", title="W", kind="other"))
    reader = store.engine.raw_connection()
    try:
        reader.dbapi_connection.isolation_level = None
        reader.dbapi_connection.execute("BEGIN")
        reader.dbapi_connection.execute("SELECT count(*) FROM catalog").fetchall()  # a snapshot held open
        store.create_catalog(CatalogCreate(slug="x", title="X", kind="other"))  # the WAL grows past the snapshot
        monkeypatch.setattr(db, "CHECKPOINT_WAIT_MS", 200)
        started = time.monotonic()
        left = db.truncate_wal(store.engine, above=0)
        assert time.monotonic() - started < 5 and left > 0  # gave up, the WAL as it was
    finally:
        reader.dbapi_connection.execute("COMMIT")
        reader.close()
    assert db.truncate_wal(store.engine, above=0) == 0


def test_stopping_waits_until_the_builders_leases_are_handed_back(published, monkeypatch):
    """At exit the interpreter stops the indexer's daemon thread soon after `stop()` returns (Ctrl-C reaches the
    worker and its builder at once): the builder's leases must be handed back by then, not left to lapse."""
    monkeypatch.setattr(builder, "command", lambda: [sys.executable, "-c", "import time; time.sleep(60)"])
    release = search_index.release_leases_of

    def slow_release(*args, **kwargs):
        time.sleep(0.5)
        return release(*args, **kwargs)
    monkeypatch.setattr(search_index, "release_leases_of", slow_release)
    process = builder.BuilderProcess(published)
    runner = threading.Thread(target=process.run, daemon=True)
    runner.start()
    deadline = time.monotonic() + 30
    while process._proc is None:
        assert time.monotonic() < deadline and runner.is_alive(), "the builder did not start"
        time.sleep(0.05)
    assert any(leases(published))
    process.stop()
    assert leases(published) == [None]
    runner.join(5)


def test_a_stopped_builder_process_takes_no_lease(published, monkeypatch):
    """After stop() (at exit), a poll of the indexer thread must not lease a build it would not start."""
    taken = []
    monkeypatch.setattr(search_index, "lease_for", lambda *args: taken.append(args) or [])
    process = builder.BuilderProcess(published)
    process.stop()
    assert process.run() is None and taken == []
