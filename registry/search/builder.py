"""Search index builds in a process of their own, started by a serving process (`nsi serve`'s workers).

A build analyses every entry row in Python (stems, lexemes): run as a thread of a gunicorn worker, it shared that
worker's interpreter lock with the requests the worker serves. Measured on a 1M-entry catalog, the worker that
built answered the bare endpoint with a p99 of 122-142 ms (15-19 ms settled) for the build's 215 s
(docs/performance.md, "Search index builds outside the serving workers"). So a serving process's indexer thread
only looks for work and waits: when a catalog is behind and no live lease holds its build, or this instance's
lookup files are behind (`registry.lookup_files`), it starts `python -m registry.search.builder`, which writes
the lookup files and builds at a lower CPU priority (`NICE`) and exits.

The builder is tied to the process that started it: it stops when that process ends, however it ends (on Linux
the kernel signals it, `PR_SET_PDEATHSIG`; elsewhere it sees the new parent between batches), and the indexer
stops it when its process exits normally (a server's SIGTERM or SIGINT). A builder killed mid-batch loses that
batch only (each batch commits with its watermark, `registry.search.index`); its lease is handed back by the
process that started it, so the next poll resumes the build from the watermark at once, not after the lease
expires.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
import threading
import uuid

log = logging.getLogger(__name__)

NICE = 10
"""How much lower than the server's the builder's CPU priority is (`os.nice`): with the cores busy, Linux gives
it about a tenth of a serving process's share, and all that is idle otherwise."""
STOP_SECONDS = 10
"""How long a stopping server waits for its builder to end its batch after SIGTERM, before SIGKILL."""
PARENT = "NSI_INDEXER_PARENT"
LEASE = "NSI_INDEXER_LEASE"
SEARCH = "NSI_INDEXER_SEARCH"  # "0": started for lookup files only, no search lease won (no build to compete)


def command() -> list[str]:
    """The builder's command line (a function, so that tests can run a hook in the builder first)."""
    return [sys.executable, "-m", "registry.search.builder"]


class BuilderProcess:
    """The builder process of one serving process: started for each build, stopped with its parent."""

    def __init__(self, store):
        self.store = store
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._running = threading.Lock()  # held by run() until its leases are handed back
        self._closing = False
        atexit.register(self.stop)

    def run(self, lookup_files: bool = False) -> int | None:
        """Build what is behind in a builder process and wait for it; its exit status, or None when there was
        nothing to start (nothing behind, or every such build leased to a live builder elsewhere, and no
        `lookup_files` to write).

        The leases are taken here, before the builder starts, under a name of this process's that the builder
        then builds as; they are handed back here if the builder fails, or could not start. With `lookup_files`
        the builder also brings this instance's lookup files up to date (`registry.lookup_files.sync`), first.
        """
        with self._running:
            return self._run(lookup_files)

    def _run(self, lookup_files: bool) -> int | None:
        from registry.search import index as search_index
        if self._closing:  # stop() has returned or is waiting for this: take no lease
            return None
        me = f"{search_index.owner_prefix(os.getpid())}builder-{uuid.uuid4().hex[:8]}"
        leased = search_index.lease_for(self.store, me)  # the usual poll: nothing behind, one read
        if not leased and not lookup_files:
            return None
        url = self.store.engine.url
        env = {**os.environ, "NSI_DATABASE_URL": url.render_as_string(hide_password=False),
               "NSI_DATA_DIR": str(self.store.data_dir), PARENT: str(os.getpid()), LEASE: me,
               SEARCH: "1" if leased else "0", "NSI_LOOKUP_FILES": "1" if lookup_files else "0",
               # The modules this process imported, in its order (the code of a checkout run with PYTHONPATH
               # or from its folder, not another installed copy).
               "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        status = None
        try:
            with self._lock:
                if self._closing:
                    return None
                self._proc = proc = subprocess.Popen(command(), env=env, stdin=subprocess.DEVNULL)
            try:
                status = proc.wait()
            finally:
                with self._lock:
                    self._proc = None
        finally:
            if status != 0:
                search_index.release_leases_of(self.store, me)
        if status != 0 and self._closing:
            log.info("search index builder (pid %d) stopped with this process", proc.pid)
        elif status != 0:
            log.warning("search index builder (pid %d) ended with status %d; the next poll resumes its build",
                        proc.pid, status)
        return status

    @property
    def closing(self) -> bool:
        """Whether this process is stopping (no builder is started any more)."""
        return self._closing

    def stop(self) -> None:
        """Stop the running builder, if any (SIGTERM, then SIGKILL after STOP_SECONDS), start no other, and wait
        until run() has handed its leases back.

        At exit this runs before the interpreter stops its daemon threads; without the wait, the indexer
        thread could be stopped between the builder's end and the hand-back, and the lease would hold the
        catalog's build back until it lapsed."""
        with self._lock:
            self._closing = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._running.acquire(timeout=STOP_SECONDS):
            self._running.release()


def _die_with_parent(parent: int) -> None:
    """End this process when `parent` ends: the kernel's parent-death signal on Linux, and a check now (the
    parent may have ended before the signal was asked for)."""
    if sys.platform.startswith("linux"):
        import ctypes
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if parent and os.getppid() != parent:
        raise SystemExit(0)


def _stop(signum, _frame):
    """Unwind the build at the first SIGTERM or SIGINT (its batch rolls back, its lease is handed back), and
    ignore the next ones, which would cut the unwinding short: when a worker is killed, the kernel sends the
    parent-death signal again as each of the worker's threads ends."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def main() -> None:
    """The builder process: bring this instance's lookup files (when asked) and every catalog's search index up to
    date, at a lower priority, then exit."""
    from registry import config, logs, lookup_files
    from registry.search import index as search_index
    from registry.store import Store
    parent = int(os.environ.get(PARENT) or 0)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    _die_with_parent(parent)
    os.nice(NICE)
    logs.configure(config.get("NSI_LOG_FORMAT") or "text")

    def parent_alive(_rows):
        if parent and os.getppid() != parent:
            raise SystemExit(0)
    store = Store.open()
    try:
        # The search builds first: their leases were taken for this process and lapse if they wait behind the
        # files (a 1M-entry file takes 35 s on SQLite, about 70 s on PostgreSQL); lookups go by SQL meanwhile.
        if os.environ.get(SEARCH) != "0":
            done = search_index.build_all(store, after_batch=parent_alive, me=os.environ.get(LEASE) or None)
            if done:
                log.info("search index: %s", ", ".join(f"{n:,} rows of catalog id {c}" for c, n in done.items()))
        if config.get("NSI_LOOKUP_FILES"):
            lookup_files.sync_logged(store)
    finally:
        store.engine.dispose()


if __name__ == "__main__":
    main()
