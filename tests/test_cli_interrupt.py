"""Ctrl-C during `nsi import --publish` and `nsi publish`: a real SIGINT to a real `nsi` process.

The process must end with exit 130 and one `Interrupted: ...` line that says exactly what state the
store was left in (nothing, or a staged draft and how to publish it), never a traceback, and the
store must be in that state, with the next import or publish working.

Where the signal lands is pinned down without sleeping in the test: during staging the test waits for
the progress line of a large file; for the later phases a hook (run in the `nsi` process before the
CLI) prints a marker and then sleeps at the chosen point, so the SIGINT arrives exactly there.
"""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from nsi_process import MARKER, PAUSE, nsi, run_nsi, signal_when
from registry.models import CatalogCreate
from registry.store import Store

ROWS = 120_000  # the import is still streaming well after its first progress line (every 50,000 rows)
DRAFT_LEFT = ("Interrupted: draft 1 of big is staged but not published: publish it with `nsi publish big 1` "
              "or discard it with `nsi discard big 1`.")
NOTHING_LEFT = "Interrupted: nothing was stored (catalog big has no version 1)."

HOOKS = {
    # Staged and committed; Store.publish not called yet.
    "before publish": PAUSE + """
from registry.store import Store
_publish = Store.publish
def publish(self, *args, **kwargs):
    pause()
    return _publish(self, *args, **kwargs)
Store.publish = publish
""",
    # Inside publish's write transaction (its second call of refresh_statistics; staging made the first).
    "inside the publish transaction": PAUSE + """
import registry.store.drafts as drafts
_refresh, calls = drafts.refresh_statistics, []
def refresh_statistics(*args):
    calls.append(1)
    if len(calls) == 2:
        pause()
    return _refresh(*args)
drafts.refresh_statistics = refresh_statistics
""",
    # Right after the database committed the staged draft, still inside SQLAlchemy's commit: this is
    # where the interrupted connection used to be invalidated and its cleanup raised "closed database".
    "inside the staging commit": PAUSE + """
import registry.store.drafts as drafts
from sqlalchemy.engine.default import DefaultDialect
_hashes, _commit, staged = drafts._hashes_in_code_order, DefaultDialect.do_commit, []
def hashes(*args):
    staged.append(1)
    return _hashes(*args)
def do_commit(self, dbapi_connection):
    _commit(self, dbapi_connection)
    if staged == [1]:
        staged.append(1)
        pause()
drafts._hashes_in_code_order = hashes
DefaultDialect.do_commit = do_commit
""",
}


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """A JSONL catalog large enough that staging takes a few seconds."""
    path = tmp_path_factory.mktemp("interrupt") / "big.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(ROWS):
            f.write(json.dumps({"code": f"C{i:07d}", "display": f"Запись {i}"}, ensure_ascii=False) + "\n")
    return path


@pytest.fixture
def small_file(tmp_path):
    """A three-entry JSONL catalog: the hooks pin the timing, so size does not matter there."""
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps({"code": f"S{i}", "display": f"Запись {i}"}, ensure_ascii=False) + "\n"
                            for i in range(3)), encoding="utf-8")
    return path


@pytest.fixture
def catalog(db_env):
    """Catalog `big` on a fresh database (SQLite and PostgreSQL in turn); yields a function reading its versions."""
    store = Store.open()
    store.create_catalog(CatalogCreate(slug="big", title="Big"))
    store.engine.dispose()

    def versions():
        s = Store.open()
        try:
            return [(v.label, v.status) for v in s.list_versions("big")]
        finally:
            s.engine.dispose()
    return versions


def interrupt_when(proc: subprocess.Popen, seen: str) -> tuple[int, str, str]:
    """Send SIGINT once stderr shows a line containing `seen`; return (exit code, stdout, all of stderr)."""
    before = signal_when(proc, seen, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, before + err


def assert_clean_interrupt(code: int, out: str, err: str, state_line: str) -> None:
    """Exit 130, nothing on stdout, and stderr ending with exactly `state_line`: no traceback, no bare Aborted!."""
    assert "Traceback" not in err and "Aborted!" not in err, err
    assert (code, out) == (130, "")
    assert err.splitlines()[-1] == state_line


def test_interrupt_while_staging_stores_nothing_and_the_next_import_works(catalog, big_file):
    args = ("import", str(big_file), "--catalog", "big", "--version", "1", "--format", "jsonl", "--publish")
    code, out, err = interrupt_when(nsi(*args), "50,000 rows")
    assert_clean_interrupt(code, out, err, NOTHING_LEFT)
    assert catalog() == []
    again = run_nsi(*args)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"Published big 1: {ROWS} entries; the catalog's first version (")
    assert catalog() == [("1", "published")]


@pytest.mark.parametrize("phase", list(HOOKS))
def test_interrupt_after_staging_leaves_the_draft_and_says_how_to_publish_it(catalog, small_file, phase):
    proc = nsi("import", str(small_file), "--catalog", "big", "--version", "1", "--format", "jsonl", "--publish",
               hook=HOOKS[phase])
    code, out, err = interrupt_when(proc, MARKER)
    assert_clean_interrupt(code, out, err, DRAFT_LEFT)
    assert catalog() == [("1", "draft")]
    published = run_nsi("publish", "big", "1")
    assert (published.returncode, published.stdout) == (
        0, "Published big 1 as sequence 1: 3 entries, 3 added, 0 changed, 0 removed\n")
    assert catalog() == [("1", "published")]


def test_interrupted_publish_leaves_the_draft(catalog, small_file):
    staged = run_nsi("import", str(small_file), "--catalog", "big", "--version", "1", "--format", "jsonl")
    assert staged.returncode == 0, staged.stderr
    hook = HOOKS["inside the publish transaction"].replace("len(calls) == 2", "len(calls) == 1")
    code, out, err = interrupt_when(nsi("publish", "big", "1", hook=hook), MARKER)
    assert_clean_interrupt(code, out, err, DRAFT_LEFT)
    assert catalog() == [("1", "draft")]
