"""Import jobs: an API upload runs in the background through the same `run_import` as `nsi import`.

A job row records the state (queued → running → succeeded | failed), the rows
read so far, the import report and the error, and its owner: the host and
process id that runs it, with a heartbeat the worker refreshes while the job
runs (in the job row on PostgreSQL; on SQLite, where the import holds the only
write lock, in a file beside the upload).

The job table is the queue. A worker takes a queued job with `claim`, atomically
(`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock on SQLite), so
several `nsi serve` processes and instances share the work and never run one job
twice; only jobs uploaded on the worker's own host are taken, because the file
waits in that host's data directory (with the side files a profile joins to it,
each under `+with/NAME/` beside it). A process that dies mid-import leaves its
job `running`; `recover_interrupted` (when a server starts, and on every poll of
its workers) puts such a job back in the queue when its file is still there,
after removing any draft it left, and fails it otherwise. Jobs of live
processes, on this node or another sharing the database, are left alone.
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
SIDE_FILES = "+with"  # beside an upload, its side files, one folder per name (no saved upload is named so)
_threads: dict[str, threading.Thread] = {}



def precise_now() -> datetime:
    """Now in UTC to the microsecond: heartbeats a fraction of a second apart must differ."""
    return datetime.now(timezone.utc)

def upload_dir(store, job_id: str) -> Path:
    """Where the uploaded file of a job waits until the job has run."""
    path = store.data_dir / "uploads" / job_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def side_file_path(store, job_id: str, name: str, file_name: str) -> Path:
    """Where side file `name` (a `[[with]]` table's name) of a job's upload waits: `+with/NAME/FILE` beside it."""
    path = upload_dir(store, job_id) / SIDE_FILES / name
    path.mkdir(parents=True, exist_ok=True)
    return path / file_name


def side_files(upload_path: Path) -> dict:
    """The side files waiting beside a job's upload, as {name: Source named by its file name}; {} for none."""
    from importers.source import Source
    found = {}
    folder = Path(upload_path).parent / SIDE_FILES
    for side in sorted(folder.iterdir()) if folder.is_dir() else []:
        for path in side.iterdir():
            source = Source.from_path(path)
            source.name = path.name
            found[side.name] = source
    return found


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
    return folder / "+progress"  # '+': secure_filename never gives it, so no upload is named so


def _heartbeat_file(folder: Path) -> Path:
    return folder / "+heartbeat"


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


def run_job(store, job_id: str, claimed: bool = False) -> None:
    """Claim queued job `job_id` and run it to its end in this thread; never raises (the outcome is in the job row).

    Does nothing when the job cannot be claimed (another worker runs it, or it is no longer queued);
    `claimed` says this process has claimed it already (`run_queued`).
    """
    from importers import run_import
    if not claimed and claim(store, job_id) is None:  # another worker has taken it, or it is no longer queued
        _threads.pop(job_id, None)
        return
    job = get_job(store, job_id)
    with store.engine.connect() as conn:
        upload_path = conn.execute(sa.select(J.c.upload_path).where(J.c.id == job_id)).scalar()
    progress = _progress_writer(store, job_id, Path(upload_path))
    heartbeat = _Heartbeat(store, job_id, Path(upload_path).parent).start()
    try:
        report = run_import(store, upload_path, catalog=job["catalog"], version=job["version"],
                            format=job["format"], profile=job["profile"], created_by=job["created_by"],
                            progress=progress, source_name=job["source_name"], with_files=side_files(upload_path))
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


def start_job(store, job_id: str, claimed: bool = False) -> threading.Thread:
    """Run a queued job (or one this process has claimed) in a background thread of this process."""
    thread = threading.Thread(target=run_job, args=(store, job_id, claimed), name=f"import-{job_id[:8]}",
                              daemon=True)
    _threads[job_id] = thread
    thread.start()
    return thread


def claim(store, job_id: str | None = None) -> str | None:
    """Take a queued job for this process (the one named, or the oldest uploaded on this host); None if none is free.

    Atomic across processes and nodes: on PostgreSQL a row another worker is claiming is
    skipped (FOR UPDATE SKIP LOCKED) rather than waited for; on SQLite the write lock
    taken at BEGIN puts claims in turn. The job becomes `running`, owned by this process.
    """
    host = this_owner()["owner_host"]
    query = sa.select(J.c.id).where(J.c.status == "queued", J.c.owner_host == host)
    if job_id is not None:
        query = query.where(J.c.id == job_id)
    query = query.order_by(J.c.created_at, J.c.id).limit(1)
    with store.engine.connect() as conn:  # a read first: on SQLite an idle poll must not queue for the write lock
        if conn.execute(query).first() is None:
            return None
    with db.write_transaction(store.engine) as conn:
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        found = conn.execute(query).scalar()
        if found is None:
            return None
        taken = conn.execute(J.update().where(J.c.id == found, J.c.status == "queued").values(
            status="running", started_at=utcnow(), heartbeat_at=precise_now(), rows=0, **this_owner())).rowcount
    return found if taken == 1 else None


def run_queued(store, limit: int = 1) -> list[threading.Thread]:
    """Start up to `limit` queued jobs of this host in background threads of this process (fewer if others took them)."""
    started = []
    for _ in range(limit):
        job_id = claim(store)
        if job_id is None:
            break
        started.append(start_job(store, job_id, claimed=True))
    return started


class JobPoller:
    """A server worker's loop: every `interval` seconds, recover cut-off jobs and start one queued job if idle.

    Each `nsi serve` worker process runs one, so queued jobs (re-queued after a crash, or
    left by an instance that stopped) are picked up by whichever process is free.
    """

    def __init__(self, store, interval: float, stale_after: float):
        self.store, self.interval, self.stale_after = store, interval, stale_after
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="nsi-job-poller", daemon=True)

    def start(self) -> "JobPoller":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)

    def poll(self) -> list[threading.Thread]:
        """One round: recover, then start a queued job when this process runs none."""
        recover_interrupted(self.store, stale_after=self.stale_after)
        if any(t.is_alive() for t in _threads.values()):
            return []
        return run_queued(self.store)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.poll()
            except sa.exc.OperationalError as exc:  # SQLite busy with a long import: the next round will do
                log.info("the import job poller waits for the database: %s", exc.orig)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
                log.warning("the import job poller failed; trying again in %s s", self.interval, exc_info=True)


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
    """Re-queue or fail the queued or running jobs that lost their worker (`is_abandoned`); discard their drafts.

    A job whose upload is still in this host's data directory goes back to the queue; any
    other (its file gone, or on another node) is failed with code `interrupted`.

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
    host = this_owner()["owner_host"]
    for job in pending:
        if job.status == "queued" and job.owner_pid is None:
            continue  # queued again after a crash, waiting for a worker: nobody to lose
        if not is_abandoned(job, limit):
            continue
        upload = Path(job.upload_path) if job.upload_path else None
        retry = job.owner_host == host and upload is not None and upload.is_file()
        if retry:  # the file is here: back to the queue, for any worker of this host
            values = {"status": "queued", "owner_pid": None, "started_at": None, "rows": 0,
                      "heartbeat_at": precise_now()}
        else:
            values = {"status": "failed", "finished_at": utcnow(), "error": {"error": {
                "code": "interrupted", "message": "the server stopped while this import ran; upload the file again",
                "details": None}}}
        with db.write_transaction(store.engine) as conn:  # two servers starting at once handle it once
            claimed = conn.execute(J.update().where(J.c.id == job.id, J.c.status == job.status,
                                                    J.c.owner_pid.is_(job.owner_pid)
                                                    if job.owner_pid is None else J.c.owner_pid == job.owner_pid)
                                   .values(**values)).rowcount
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
        if retry:
            log.warning("import job %s was cut off; it is queued again", job.id)
            continue
        if job.upload_path:
            shutil.rmtree(Path(job.upload_path).parent, ignore_errors=True)
        failed.append(job.id)
    return failed


def _not_before(a, b) -> bool:
    """a >= b for timestamps that may come back naive (SQLite) or aware (PostgreSQL)."""
    if a is None or b is None:
        return True
    return a.replace(tzinfo=None) >= b.replace(tzinfo=None)
