"""SIGKILL during `nsi import` and `nsi publish`: the store holds the version before or the whole new one.

A real `nsi` process is killed with SIGKILL (no cleanup of any kind runs) while it reads and stages a
large file, and inside the publish transaction once the new rows are
written but not committed. After each kill the published catalog is exactly what it was, `nsi check`
finds no fault (on SQLite that includes `PRAGMA integrity_check`), and the next import of the same
file works. Where the kill lands is pinned by the progress line or by a hook that pauses the process
there (as in tests/test_cli_interrupt.py), never by sleeping in the test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from nsi_process import MARKER, PAUSE, ROOT, nsi, run_nsi, signal_when
from registry.models import CatalogCreate
from registry.store import Store
from registry.store.check import check_store

ROWS = 60_000  # still streaming when the first progress line (at 50,000 rows) appears
# Inside publish's transaction, after the new version's rows are inserted and the old ones closed:
# the last statement drops the draft's staging table.
ROWS_WRITTEN_NOT_COMMITTED = PAUSE + """
from sqlalchemy.engine import Connection
from sqlalchemy.sql.ddl import DropTable
_execute = Connection.execute
def execute(self, statement, *args, **kwargs):
    if isinstance(statement, DropTable) and statement.element.name.startswith("staged_v"):
        pause()
    return _execute(self, statement, *args, **kwargs)
Connection.execute = execute
"""


def kill_when(proc: subprocess.Popen, seen: str) -> None:
    """SIGKILL the process as soon as its stderr shows `seen`."""
    signal_when(proc, seen, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def entry(i: int, suffix: str = "") -> dict:
    return {"code": f"C{i:06d}", "display": f"Запись {i}{suffix}"}


@pytest.fixture(scope="module")
def new_file(tmp_path_factory):
    """Version 2: the 500 entries of version 1, 10 of them reworded, plus enough new ones to take seconds."""
    path = tmp_path_factory.mktemp("crash") / "v2.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(ROWS):
            f.write(json.dumps(entry(i, " (new)" if i < 10 else ""), ensure_ascii=False) + "\n")
    return path


def state(store: Store) -> tuple[list[tuple[str, str]], list[str]]:
    """The catalog's versions and every line of its latest published version."""
    return [(v.label, v.status) for v in store.list_versions("big")], list(store.iter_lines("big"))


def assert_sound(store: Store):
    """`nsi check` (its Python API) finds no fault; on SQLite this includes PRAGMA integrity_check."""
    report = check_store(store)
    assert report.faults == []


def test_sigkill_while_reading_staging_or_publishing_leaves_the_old_version_whole(db_env, new_file):
    store = Store.open()
    store.create_catalog(CatalogCreate(slug="big", title="Big"))
    store.stage_draft("big", "1", [entry(i) for i in range(500)])
    store.publish("big", "1")
    before = state(store)
    assert before[0] == [("1", "published")] and len(before[1]) == 500
    importing = ("import", str(new_file), "--catalog", "big", "--version", "2", "--format", "jsonl", "--publish")

    kill_when(nsi(*importing), "50,000 rows")  # reading and staging
    assert state(store) == before
    assert_sound(store)

    staged = run_nsi(*importing[:-1])  # the next import of the same file works
    assert staged.stdout.startswith(f"Staged draft big 2: {ROWS} entries; against the latest version "
                                    f"{ROWS - 500} added, 10 changed, 0 removed"), staged.stderr
    kill_when(nsi("publish", "big", "2", hook=ROWS_WRITTEN_NOT_COMMITTED), MARKER)  # inside publish
    assert state(store) == ([("1", "published"), ("2", "draft")], before[1])
    assert_sound(store)

    published = run_nsi("publish", "big", "2")
    assert published.stdout == (f"Published big 2 as sequence 2: {ROWS} entries, {ROWS - 500} added, 10 changed, "
                                f"0 removed\n"), published.stderr
    versions, lines = state(store)
    assert versions == [("1", "published"), ("2", "published")]
    assert [json.loads(line)["display"] for line in lines] == [entry(i, " (new)" if i < 10 else "")["display"]
                                                               for i in range(ROWS)]
    assert_sound(store)
    store.engine.dispose()


DECIDER = """
import sys
from registry.mapping import decide
from registry.store import Store
store = Store.open()
for i in range({n}):
    decide(store, "burst", f"L{{i:04d}}", "reject", actor="anna", revision=1, comment=f"burst {{i}}")
    print(f"ACK L{{i:04d}}", flush=True)
"""


def test_sigkill_during_a_burst_of_decisions_keeps_every_acknowledged_one(db_env):
    from mapping_fixtures import SHARED, FakeMatcher
    from registry.mapping import create_map_set, list_mappings, map_set_history, suggest
    from registry.models import MapSetCreate
    n = 400
    store = Store.open()
    for slug, entries in (("local", [{"code": f"L{i:04d}", "display": f"Местный {i}"} for i in range(n)]),
                          ("icd10", SHARED)):
        store.create_catalog(CatalogCreate(slug=slug, title=slug))
        store.stage_draft(slug, "1", [dict(e) for e in entries])
        store.publish(slug, "1")
    create_map_set(store, MapSetCreate(slug="burst", source="local@1", target="icd10"), actor="admin")
    suggest(store, "burst", matcher=FakeMatcher(answers={}))
    proc = subprocess.Popen([sys.executable, "-c", DECIDER.format(n=n)], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acknowledged = []
    for line in proc.stdout:
        acknowledged.append(line.split()[1])
        if len(acknowledged) == 40:
            proc.send_signal(signal.SIGKILL)
            break
    rest, _ = proc.communicate(timeout=60)
    acknowledged += [line.split()[1] for line in rest.splitlines()]  # printed before the kill, read after it
    assert proc.returncode == -signal.SIGKILL and len(acknowledged) < n
    decided = [m.source_code for m in list_mappings(store, "burst", status="rejected", limit=1000)["items"]]
    # Every acknowledged decision is stored; beyond them at most the one in flight (committed, not yet
    # acknowledged when the kill came), never one that was not made yet.
    assert decided[:len(acknowledged)] == acknowledged
    assert decided[len(acknowledged):] in ([], [f"L{len(acknowledged):04d}"])
    history = [e for e in map_set_history(store, "burst", limit=1000) if e["action"] == "reject"]
    assert sorted(e["source_code"] for e in history) == decided  # one audit row per stored decision
    assert check_store(store).faults == []
    store.engine.dispose()
