"""Instructions, CPU and context switches of one request kind through the WSGI app, for comparing exactly.

Timings on a shared two-CPU machine swing by tens of percent; instruction counts do not. The measured
requests run inside one `functools.reduce` call, so callgrind can collect them and nothing else:

    valgrind --tool=callgrind --toggle-collect=functools_reduce \\
        "$(python -c 'import sys; print(sys.executable)')" bench/request_instructions.py --kind cold
    callgrind_annotate --inclusive=yes callgrind.out.<pid> | head -60

(valgrind must start the interpreter itself, not a pyenv shim.) Kinds, on the store `bench/load.py`
prepares (demo catalogs and the real FNSI ICD-10 when ../shared/data is there) and with its lookup codes:
`bare` (GET /api/v1/healthz), `cold` (lookups, no response cache), `warm` (lookups from a filled response
cache). Without valgrind it prints CPU per request and context switches per request, with `--threads`
threads sharing the requests as a gthread worker's threads do (each sqlite3 step lets the GIL go, and with
another thread waiting that is a hand-over).

    python bench/request_instructions.py --kind cold --threads 4
    python bench/request_instructions.py --store /tmp/store --kind warm   # reuse a prepared store
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def prepared(store: Path | None) -> Path:
    """A data folder holding the load bench's store and its lookup paths (`paths.json`), made when missing."""
    from bench import load
    folder = store or Path(tempfile.mkdtemp(prefix="nsi-bench-instructions-"))
    if not (folder / "paths.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        data = load.prepare(folder, False)
        paths = [line.split("\t")[1] for line in load.lookup_lines(data["catalogs"])][:5000]
        (folder / "paths.json").write_text(json.dumps(paths))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=("bare", "cold", "warm"), default="cold")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--store", type=Path, help="a data folder from an earlier run (kept), else a new one")
    args = ap.parse_args()
    folder = prepared(args.store)
    os.environ["NSI_DATA_DIR"] = str(folder)
    os.environ.pop("NSI_DATABASE_URL", None)
    from werkzeug.test import EnvironBuilder
    from registry.web import create_app
    paths = json.loads((folder / "paths.json").read_text())[:args.requests]
    if args.kind == "bare":
        paths = ["/api/v1/healthz"] * len(paths)
    environs = [EnvironBuilder(path=urllib.parse.unquote(p), base_url="http://127.0.0.1").get_environ()
                for p in paths]
    app = create_app({"NSI_RESPONSE_CACHE_MB": 256 if args.kind == "warm" else 0})
    statuses = []

    def one(_acc, environ) -> None:
        b"".join(app(dict(environ), lambda status, headers, exc_info=None: statuses.append(status)))

    for _ in range(2):  # warm-up (a plain loop, so callgrind does not collect it): statement caches, the cache
        for environ in environs:
            one(None, environ)
    statuses.clear()
    chunks = [environs[i::args.threads] for i in range(args.threads)]
    workers = [threading.Thread(target=functools.reduce, args=(one, chunk, None)) for chunk in chunks[1:]]
    usage, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
    for worker in workers:
        worker.start()
    functools.reduce(one, chunks[0], None)  # the measured requests (this thread's share)
    for worker in workers:
        worker.join()
    cpu, after = time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF)
    if len(statuses) != len(environs) or any(not s.startswith("200") for s in statuses):
        raise SystemExit(f"not every request answered 200: {sorted(set(statuses))}")
    switches = (after.ru_nvcsw + after.ru_nivcsw - usage.ru_nvcsw - usage.ru_nivcsw) / len(environs)
    print(f"{args.kind}: {len(environs)} requests on {args.threads} thread(s), CPU {cpu / len(environs) * 1e6:.1f} us "
          f"and {switches:.2f} context switches per request (load average {os.getloadavg()[0]:.1f}); store {folder}")
    app.extensions["nsi_store"].engine.dispose()


if __name__ == "__main__":
    main()
