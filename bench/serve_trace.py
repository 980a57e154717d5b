"""`nsi serve` with every request's way through a gunicorn gthread worker timed: where a p99 comes from.

`python bench/serve_trace.py serve ARGS` runs `nsi serve ARGS` (the same CLI, app and options) after wrapping
three methods of gunicorn's `ThreadWorker`, so each worker appends, per request, to `$NSI_TRACE_DIR/<pid>.jsonl`:

- `queue`: from the poller handing the connection to the thread pool until a pool thread starts on it (waiting
  for a free thread, then for the GIL);
- `wall`, `cpu`: the pool thread's handling of the request (parse, app, write), wall clock and the thread's CPU;
- `runq`: of that wall time, how long the thread was runnable but had no CPU (`/proc/thread-self/schedstat`:
  other processes or threads on the CPUs);
- `blocked`: the rest of the wall time (`wall - cpu - runq`): waiting for the GIL or on a socket;
- `back`: from the end of the handling until the poller's thread takes the connection back (a keep-alive
  connection is not watched for its next request until then).

`bench/load.py --trace` serves through this and prints these figures for every run (`summary`). The
wrapped methods are gunicorn's internals (`enqueue_req`, `handle`, `finish_request`): a measuring tool only,
never part of the registry; it refuses to start when they are gone. Each request costs about 5 us of CPU more
(two reads of /proc, two clocks of each kind).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

FIELDS = ("queue", "wall", "cpu", "runq", "blocked", "back")


_schedstat = threading.local()


def _runq_ns() -> int:
    """Nanoseconds this thread has spent runnable but waiting for a CPU (Linux schedstat, second field).

    Each thread keeps its own file open and reads it again from the start (procfs makes it anew on each read).
    """
    fd = getattr(_schedstat, "fd", None)
    if fd is None:
        fd = _schedstat.fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    return int(os.pread(fd, 128, 0).split()[1])


def install(folder: Path, batch: int = 200) -> None:
    """Wrap gunicorn's gthread worker so that each worker process appends its requests' timings under `folder`
    (in batches of `batch`: the last few of a run are left out of its summary)."""
    from gunicorn.workers import gthread
    worker = gthread.ThreadWorker
    if not all(hasattr(worker, name) for name in ("enqueue_req", "handle", "finish_request")):
        raise SystemExit("this gunicorn's gthread worker has no enqueue_req/handle/finish_request to time")
    enqueue_req, handle, finish_request = worker.enqueue_req, worker.handle, worker.finish_request
    clock, cpu = time.perf_counter, time.thread_time
    records: list[list[float]] = []

    def timed_enqueue(self, conn):
        conn.nsi_queued = clock()
        return enqueue_req(self, conn)

    def timed_handle(self, conn):
        runq, started, used = _runq_ns(), clock(), cpu()
        result = handle(self, conn)
        conn.nsi_done = clock()
        wall, used, runq = conn.nsi_done - started, cpu() - used, (_runq_ns() - runq) / 1e9
        conn.nsi_record = [started - conn.nsi_queued, wall, used, runq, wall - used - runq]
        return result

    def timed_finish(self, conn, fs):
        record = getattr(conn, "nsi_record", None)
        if record is not None:
            conn.nsi_record = None
            records.append(record + [clock() - conn.nsi_done])
            if len(records) >= batch:
                with open(folder / f"{os.getpid()}.jsonl", "a", encoding="utf-8") as f:
                    f.write(json.dumps([[round(v * 1e3, 3) for v in r] for r in records]) + "\n")
                records.clear()
        return finish_request(self, conn, fs)

    worker.enqueue_req, worker.handle, worker.finish_request = timed_enqueue, timed_handle, timed_finish


def summary(folder: Path) -> str | None:
    """p50/p90/p99 in ms of each stage over the records written since the last call (which it removes), then per
    worker its requests and the p50/p99 of their time in the server (queue + handling + back): a worker holding
    more of the keep-alive connections (the kernel spreads them by a hash) shows a longer queue."""
    rows, workers = [], []
    for path in sorted(folder.glob("*.jsonl")):
        mine = []
        for line in path.read_text(encoding="utf-8").splitlines():
            mine += json.loads(line)
        path.unlink()
        rows += mine
        if mine:
            workers.append(sorted(r[0] + r[1] + r[5] for r in mine))
    if not rows:
        return None

    def at(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(len(values) * p))]

    def cut(values: list[float]) -> str:
        values.sort()
        return "/".join(f"{at(values, p):.2f}" for p in (0.5, 0.9, 0.99))

    return (f"{len(rows):,} requests, p50/p90/p99 ms: "
            + ", ".join(f"{name} {cut([r[i] for r in rows])}" for i, name in enumerate(FIELDS))
            + "; per worker, requests and time in the server p50/p99: "
            + ", ".join(f"{len(w):,} {at(w, 0.5):.2f}/{at(w, 0.99):.2f}" for w in workers))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    install(Path(os.environ["NSI_TRACE_DIR"]))
    from registry.cli import main
    main()
