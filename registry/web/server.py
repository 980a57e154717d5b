"""Production serving through gunicorn, started from Python (`nsi serve`, `nsi demo`).

The app is built once in the master process (so interrupted jobs are recovered
exactly once, before any worker runs an import) and the workers are forked
from it; each worker drops the database connections inherited from the master
and opens its own. Workers share the database, not memory.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):
    """A gunicorn application serving an already built WSGI app with the given options."""

    def __init__(self, app, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return self.application


def _post_fork(server, worker):
    app = worker.app.application
    store = app.extensions.get("nsi_store") if hasattr(app, "extensions") else None
    if store is not None:
        store.engine.dispose(close=False)
        interval = float(app.config.get("NSI_JOB_POLL_SECONDS") or 0)
        if interval > 0:  # every worker takes its share of the queued import jobs
            from registry import jobs
            jobs.JobPoller(store, interval, float(app.config["NSI_JOB_STALE_SECONDS"])).start()
        # Search indexes of versions published by the CLI, another node, or before a crash or an upgrade:
        # built now in the background (one worker at a time, by lease), then looked for at every poll.
        from registry.search import index as search_index
        search_index.indexer(store, interval).wake()


def serve(app, host: str = "127.0.0.1", port: int = 8000, workers: int = 2, threads: int = 4,
          timeout: int = 300, access_log: bool = False, on_ready=None) -> None:
    """Serve `app` with gunicorn until interrupted (threaded workers, so long downloads do not block others).

    The app writes its own log lines (NSI_LOG_FORMAT, with request ids); `access_log` turns on its access
    log rather than gunicorn's, so every line of a request shares one format and one id.
    """
    from registry import logs
    logs.configure(app.config.get("NSI_LOG_FORMAT") or "text")
    if access_log:
        app.config["NSI_ACCESS_LOG"] = True
    options = {"bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": threads,
               "timeout": timeout, "graceful_timeout": 30, "post_fork": _post_fork,
               "accesslog": None, "errorlog": "-", "loglevel": "info",
               "when_ready": (lambda server: on_ready()) if on_ready else None,
               "control_socket_disable": True}
    GunicornServer(app, options).run()
