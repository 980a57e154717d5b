"""Production serving through gunicorn, started from Python (`nsi serve`, `nsi demo`).

The app is built once in the master process (so interrupted jobs are recovered
exactly once, before any worker runs an import) and the workers are forked
from it; each worker drops the database connections inherited from the master
and opens its own. Workers share the database, not memory.

Each worker listens on a socket of its own (SO_REUSEPORT, bound after the fork), and the kernel spreads
new connections over those sockets by a hash of their addresses. With one socket shared by every worker
(gunicorn's default), whichever worker woke first took a whole burst of connections, and a keep-alive
connection stays with the worker that accepted it: under load one worker often served every client on one
CPU while the other idled (see docs/performance.md, Load).
"""

from __future__ import annotations

import errno
import socket

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
        # built now in the background (one builder at a time, by lease), then looked for at every poll. The
        # build runs in a process of its own at a lower priority, never in the serving interpreter.
        from registry.search import index as search_index
        search_index.indexer(store, interval, separate_process=True).wake()


KEEPALIVE_SECONDS = 2
"""How long a worker keeps an idle connection open; a fronting proxy must give up its idle upstream
connections sooner (docs/deploy.md), or a request it sends as the worker closes one fails with a 502."""


class PortInUse(OSError):
    """The address `nsi serve` was asked to listen on is taken by another process."""


class UnusableAddress(OSError):
    """The address `nsi serve` was asked to listen on cannot be served: an unknown host, or port 0."""


def listen_address(host: str, port: int) -> tuple[int, str, str]:
    """The socket family, the bare host and gunicorn's bind text for `host` (a name, an IPv4 address, or an IPv6
    address with or without brackets) and `port`, as gunicorn binds them: IPv6 only for an IPv6 literal, IPv4
    for everything else, names included."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        socket.inet_pton(socket.AF_INET6, bare)
    except OSError:
        return socket.AF_INET, bare, f"{bare}:{port}"
    return socket.AF_INET6, bare, f"[{bare}]:{port}"


def check_port_free(host: str, port: int) -> None:
    """Refuse an address something already listens on, or one that cannot be served, before any worker is forked.

    With SO_REUSEPORT, a second server of the same user could otherwise bind the same port and silently
    take half of the connections, and a worker that cannot bind would be restarted by gunicorn forever.
    The probe binds exactly what the workers will bind (`listen_address`), without SO_REUSEPORT
    (SO_REUSEADDR only, so connections closing in TIME_WAIT do not count), which any listening socket on the
    address refuses. Port 0 is refused: every worker binds its own socket, so each would get another port.
    """
    if port == 0:
        raise UnusableAddress(errno.EINVAL, "port 0 would give each worker a different random port; choose a port")
    family, bare, where = listen_address(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bare, port))
        except socket.gaierror:
            raise UnusableAddress(errno.EINVAL, f"cannot listen on {host}: no such host") from None
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(exc.errno, f"{where} is already in use by another process") from None
            raise UnusableAddress(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve(app, host: str = "127.0.0.1", port: int = 8000, workers: int = 2, threads: int = 4,
          timeout: int = 300, access_log: bool = False, on_ready=None) -> None:
    """Serve `app` with gunicorn until interrupted (threaded workers, so long downloads do not block others).

    Every worker has its own listening socket (SO_REUSEPORT), so the kernel spreads connections evenly
    over the workers; raises PortInUse when the address is taken. The app writes its own log lines
    (NSI_LOG_FORMAT, with request ids); `access_log` turns on its access log rather than gunicorn's, so
    every line of a request shares one format and one id.
    """
    from registry import logs
    check_port_free(host, port)
    logs.configure(app.config.get("NSI_LOG_FORMAT") or "text")
    if access_log:
        app.config["NSI_ACCESS_LOG"] = True
    options = {"bind": listen_address(host, port)[2], "workers": workers, "worker_class": "gthread",
               "threads": threads, "timeout": timeout, "graceful_timeout": 30, "post_fork": _post_fork,
               "accesslog": None, "errorlog": "-", "loglevel": "info",
               "when_ready": (lambda server: on_ready()) if on_ready else None,
               "control_socket_disable": True, "reuse_port": True, "keepalive": KEEPALIVE_SECONDS}
    GunicornServer(app, options).run()
