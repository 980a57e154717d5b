"""Import jobs: an API upload runs in a background thread through the same `run_import` as `nsi import`.

A job row records the state (queued → running → succeeded | failed), the rows
read so far, the import report and the error. A process that dies mid-import
leaves its job `running`; `recover_interrupted` (called when the app starts)
marks such jobs failed and removes any draft they left.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from registry import db
from registry.errors import ImportRejected, InvalidState, NotFound, NsiError
from registry.models.catalog import Catalog, CatalogVersion, utcnow
from registry.models.jobs import ImportJob

log = logging.getLogger(__name__)
J = ImportJob.__table__
PROGRESS_EVERY_SECONDS = 0.5
_threads: dict[str, threading.Thread] = {}


def upload_dir(store, job_id: str) -> Path:
    """Where the uploaded file of a job waits until the job has run."""
    path = store.data_dir / "uploads" / job_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_job_id() -> str:
    """A random, unguessable job identifier."""
    return uuid.uuid4().hex


def create_job(store, job_id: str, *, catalog: str, version: str, upload_path: Path, source_name: str,
               format: str | None = None, profile: str | None = None, created_by: str | None = None) -> dict:
    """Record a queued job for a file already saved at `upload_path`."""
    with db.write_transaction(store.engine) as conn:
        conn.execute(J.insert().values(id=job_id, catalog=catalog, version=version, format=format,
                                       profile=profile, source_name=source_name, upload_path=str(upload_path),
                                       status="queued", rows=0, created_by=created_by, created_at=utcnow()))
    return get_job(store, job_id)


def get_job(store, job_id: str) -> dict:
    """The job as a dict (status, rows, report, error, times), or NotFound."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(J).where(J.c.id == job_id)).first()
    if row is None:
        raise NotFound(f"no import job {job_id!r}")
    job = dict(row._mapping)
    upload_path = job.pop("upload_path", None)
    if job["status"] == "running" and upload_path:
        job["rows"] = max(job["rows"], _read_progress_file(Path(upload_path).parent))
    return job


def _progress_file(folder: Path) -> Path:
    return folder / "progress"


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
    _update(store, job_id, status="running", started_at=utcnow())
    progress = _progress_writer(store, job_id, Path(upload_path))
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


def recover_interrupted(store) -> list[str]:
    """Mark jobs left queued or running by a dead process as failed and discard the drafts they left.

    Called once when the server starts (before workers fork), so no job of this
    server can be running yet. Returns the ids of the jobs it failed.
    """
    V, C = CatalogVersion.__table__, Catalog.__table__
    with store.engine.connect() as conn:
        stuck = conn.execute(sa.select(J).where(J.c.status.in_(("queued", "running")))).all()
    failed = []
    for job in stuck:
        with store.engine.connect() as conn:
            draft = conn.execute(sa.select(V.c.id, V.c.created_at).join(C, C.c.id == V.c.catalog_id).where(
                C.c.slug == job.catalog, V.c.label == job.version, V.c.status == "draft")).first()
        if draft is not None and _not_before(draft.created_at, job.created_at):
            try:
                store.discard(job.catalog, job.version)
            except (NotFound, InvalidState):
                pass
        _update(store, job.id, status="failed", finished_at=utcnow(), error={"error": {
            "code": "interrupted", "message": "the server stopped while this import ran; upload the file again",
            "details": None}})
        if job.upload_path:
            shutil.rmtree(Path(job.upload_path).parent, ignore_errors=True)
        failed.append(job.id)
    return failed


def _not_before(a, b) -> bool:
    """a >= b for timestamps that may come back naive (SQLite) or aware (PostgreSQL)."""
    if a is None or b is None:
        return True
    return a.replace(tzinfo=None) >= b.replace(tzinfo=None)
