"""Import jobs: an API upload runs in a background thread through the same `run_import` as `nsi import`.

A job row records the state (queued → running → succeeded | failed), the rows
read so far, the import report and the error, and its owner: the host and
process id that runs it, with a heartbeat the worker refreshes while the job
runs (in the job row on PostgreSQL; on SQLite, where the import holds the only
write lock, in a file beside the upload). A process that dies mid-import leaves
its job `running`; `recover_interrupted` (called when the app starts) fails the
jobs whose owner process on this host is gone or whose heartbeat is older than
NSI_JOB_STALE_SECONDS, and removes any draft they left. Jobs of live processes,
on this node or another sharing the database, are left alone.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from registry import config, db
from registry.errors import ImportRejected, InvalidState, NotFound, NsiError
from registry.models.catalog import Catalog, CatalogVersion, utcnow
from registry.models.jobs import ImportJob

log = logging.getLogger(__name__)
J = ImportJob.__table__
PROGRESS_EVERY_SECONDS = 0.5
HEARTBEAT_EVERY_SECONDS = 10.0
OWNER_COLUMNS = ("owner_host", "owner_pid", "heartbeat_at")
_threads: dict[str, threading.Thread] = {}



def precise_now() -> datetime:
    """Now in UTC to the microsecond: heartbeats a fraction of a second apart must differ."""
    return datetime.now(timezone.utc)

def upload_dir(store, job_id: str) -> Path:
    """Where the uploaded file of a job waits until the job has run."""
    path = store.data_dir / "uploads" / job_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_job_id() -> str:
    """A random, unguessable job identifier."""
    return uuid.uuid4().hex


def this_owner() -> dict:
    """The owner columns of a job run by this process: host name and process id."""
    return {"owner_host": socket.gethostname(), "owner_pid": os.getpid()}


def create_job(store, job_id: str, *, catalog: str, version: str, upload_path: Path, source_name: str,
               format: str | None = None, profile: str | None = None, created_by: str | None = None) -> dict:
    """Record a queued job for a file already saved at `upload_path`."""
    with db.write_transaction(store.engine) as conn:
        conn.execute(J.insert().values(id=job_id, catalog=catalog, version=version, format=format,
                                       profile=profile, source_name=source_name, upload_path=str(upload_path),
                                       status="queued", rows=0, created_by=created_by, created_at=utcnow(),
                                       heartbeat_at=precise_now(), **this_owner()))
    return get_job(store, job_id)


def get_job(store, job_id: str) -> dict:
    """The job as a dict (status, rows, report, error, times), or NotFound."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(J).where(J.c.id == job_id)).first()
    if row is None:
        raise NotFound(f"no import job {job_id!r}")
    job = dict(row._mapping)
    for name in OWNER_COLUMNS:  # internal: which process runs it
        job.pop(name, None)
    upload_path = job.pop("upload_path", None)
    if job["status"] == "running" and upload_path:
        job["rows"] = max(job["rows"], _read_progress_file(Path(upload_path).parent))
    return job


def _progress_file(folder: Path) -> Path:
    return folder / "progress"


def _heartbeat_file(folder: Path) -> Path:
    return folder / "heartbeat"


class _Heartbeat:
    """Refreshes a running job's sign of life every HEARTBEAT_EVERY_SECONDS until stopped.

    PostgreSQL: `heartbeat_at` in the job row, visible to every node. SQLite: the
    mtime of a file beside the upload, because the import holds the database's
    only write lock while it stages (a SQLite database has one host anyway).
    """

    def __init__(self, store, job_id: str, folder: Path):
        self.store, self.job_id, self.folder = store, job_id, folder
        self.on_sqlite = store.engine.dialect.name == "sqlite"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id[:8]}", daemon=True)

    def start(self) -> "_Heartbeat":
        self.beat()
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)

    def beat(self) -> None:
        """Record one sign of life now; a failure is logged, never raised (the import goes on)."""
        try:
            if self.on_sqlite:
                _heartbeat_file(self.folder).touch()
            else:
                _update(self.store, self.job_id, heartbeat_at=precise_now())
        except Exception:  # noqa: BLE001 - a missed beat must not break the import
            log.warning("could not record the heartbeat of import job %s", self.job_id, exc_info=True)

    def _run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_EVERY_SECONDS):
            self.beat()


def _read_progress_file(folder: Path) -> int:
    try:
        return int(_progress_file(folder).read_text() or 0)
    except (OSError, ValueError):
        return 0


def _progress_writer(store, job_id: str, upload_path: Path):
    """A progress callback that records rows read, at most every PROGRESS_EVERY_SECONDS.

    On SQLite the import holds the database's only write lock while it stages,
    so progress goes to a small file beside the upload (every worker of the
    host can read it); on PostgreSQL it goes to the job row.
    """
    last = [0.0]
    on_sqlite = store.engine.dialect.name == "sqlite"

    def progress(rows: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_SECONDS:
            return
        last[0] = now
        if on_sqlite:
            tmp = _progress_file(upload_path.parent).with_suffix(".tmp")
            tmp.write_text(str(rows))
            tmp.replace(_progress_file(upload_path.parent))
        else:
            _update(store, job_id, rows=rows)

    return progress


def _update(store, job_id: str, **values) -> None:
    with db.write_transaction(store.engine) as conn:
        conn.execute(J.update().where(J.c.id == job_id).values(**values))


def run_job(store, job_id: str) -> None:
    """Run one queued job to its end in this thread; never raises (the outcome is in the job row)."""
    from importers import run_import
    job = get_job(store, job_id)
    with store.engine.connect() as conn:
        upload_path = conn.execute(sa.select(J.c.upload_path).where(J.c.id == job_id)).scalar()
    _update(store, job_id, status="running", started_at=utcnow(), heartbeat_at=precise_now(), **this_owner())
    progress = _progress_writer(store, job_id, Path(upload_path))
    heartbeat = _Heartbeat(store, job_id, Path(upload_path).parent).start()
    try:
        report = run_import(store, upload_path, catalog=job["catalog"], version=job["version"],
                            format=job["format"], profile=job["profile"], created_by=job["created_by"],
                            progress=progress, source_name=job["source_name"])
        _update(store, job_id, status="succeeded", rows=report.entries, report=report.to_dict(),
                finished_at=utcnow())
    except NsiError as exc:
        _update(store, job_id, status="failed", error=exc.to_dict(), finished_at=utcnow(),
                report={"error_count": len(exc.problems)} if isinstance(exc, ImportRejected) else None)
    except Exception as exc:  # a bug: keep the server up, record it, log the traceback
        log.exception("import job %s crashed", job_id)
        _update(store, job_id, status="failed", finished_at=utcnow(),
                error={"error": {"code": "internal_error", "message": f"the import crashed: {type(exc).__name__}",
                                 "details": None}})
    finally:
        heartbeat.stop()
        shutil.rmtree(Path(upload_path).parent, ignore_errors=True)
        _threads.pop(job_id, None)


def start_job(store, job_id: str) -> threading.Thread:
    """Run a queued job in a background thread of this process."""
    thread = threading.Thread(target=run_job, args=(store, job_id), name=f"import-{job_id[:8]}", daemon=True)
    _threads[job_id] = thread
    thread.start()
    return thread


def wait_for_jobs(timeout: float = 60.0) -> None:
    """Wait until this process's running jobs end (tests and a graceful shutdown use it)."""
    deadline = time.monotonic() + timeout
    for thread in list(_threads.values()):
        thread.join(max(0.0, deadline - time.monotonic()))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return False
    return True


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def last_sign_of_life(job) -> datetime:
    """When the job's worker last showed it was alive: heartbeat (row or SQLite file), start or creation."""
    times = [_utc(t) for t in (job.heartbeat_at, job.started_at, job.created_at) if t is not None]
    if job.upload_path:
        try:
            times.append(datetime.fromtimestamp(_heartbeat_file(Path(job.upload_path).parent).stat().st_mtime,
                                                tz=timezone.utc))
        except OSError:
            pass
    return max(times)


def is_abandoned(job, stale_after: timedelta, now: datetime | None = None) -> bool:
    """Whether a queued or running job has lost its worker.

    Its owner process on this host has ended, or (any host, the only test for
    another node's jobs) its last sign of life is older than `stale_after`.
    """
    host, pid = this_owner()["owner_host"], os.getpid()
    if job.owner_host == host and job.owner_pid is not None and job.owner_pid != pid \
            and not _pid_alive(job.owner_pid):
        return True
    return (now or datetime.now(timezone.utc)) - last_sign_of_life(job) > stale_after


def recover_interrupted(store, stale_after: float | None = None) -> list[str]:
    """Fail the queued or running jobs that lost their worker (`is_abandoned`) and discard the drafts they left.

    Called when a server starts. Jobs of live processes, including those on
    other nodes sharing a PostgreSQL database, are left running. `stale_after`
    is in seconds (default NSI_JOB_STALE_SECONDS). Returns the ids of the jobs it failed.
    """
    V, C = CatalogVersion.__table__, Catalog.__table__
    if stale_after is None:
        stale_after = config.get("NSI_JOB_STALE_SECONDS")
    limit = timedelta(seconds=float(stale_after))
    with store.engine.connect() as conn:
        pending = conn.execute(sa.select(J).where(J.c.status.in_(("queued", "running")))).all()
    failed = []
    for job in pending:
        if not is_abandoned(job, limit):
            continue
        with db.write_transaction(store.engine) as conn:  # claim it: two servers starting at once fail it once
            claimed = conn.execute(J.update().where(J.c.id == job.id, J.c.status == job.status).values(
                status="failed", finished_at=utcnow(), error={"error": {
                    "code": "interrupted", "message": "the server stopped while this import ran; upload the file "
                                                      "again", "details": None}})).rowcount
        if claimed != 1:
            continue
        with store.engine.connect() as conn:
            draft = conn.execute(sa.select(V.c.id, V.c.created_at).join(C, C.c.id == V.c.catalog_id).where(
                C.c.slug == job.catalog, V.c.label == job.version, V.c.status == "draft")).first()
        if draft is not None and _not_before(draft.created_at, job.created_at):
            try:
                store.discard(job.catalog, job.version)
            except (NotFound, InvalidState):
                pass
        if job.upload_path:
            shutil.rmtree(Path(job.upload_path).parent, ignore_errors=True)
        failed.append(job.id)
    return failed


def _not_before(a, b) -> bool:
    """a >= b for timestamps that may come back naive (SQLite) or aware (PostgreSQL)."""
    if a is None or b is None:
        return True
    return a.replace(tzinfo=None) >= b.replace(tzinfo=None)
