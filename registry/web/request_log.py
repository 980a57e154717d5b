"""Request ids and the access log of the web app.

Each request gets an id: the client's `X-Request-Id` when it is a sane token (a proxy's id is kept,
so one request can be followed through proxy and registry), a new random one otherwise. The id is
echoed in the response's `X-Request-Id` header, put on every log line written while the request
runs (registry.logs), and named in the body of a 500 so a user can quote it. With NSI_ACCESS_LOG
(`nsi serve --access-log`) each request is logged once with method, path, status, size and duration.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request

from registry import logs

HEADER = "X-Request-Id"
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
access = logging.getLogger("registry.request")


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    return logs.request_id.get()


def init_app(app: Flask) -> None:
    """Register the request-id and access-log hooks; call before any other before_request hook."""

    @app.before_request
    def assign_request_id():
        offered = request.headers.get(HEADER, "")
        g.nsi_request_id = offered if SANE_ID.fullmatch(offered) else uuid.uuid4().hex
        g.nsi_request_token = logs.request_id.set(g.nsi_request_id)
        g.nsi_request_started = time.perf_counter()

    @app.after_request
    def echo_and_log(response):
        request_id = g.get("nsi_request_id")
        if request_id:
            response.headers[HEADER] = request_id
        if app.config.get("NSI_ACCESS_LOG") and request_id:
            duration = round((time.perf_counter() - g.nsi_request_started) * 1000, 2)
            access.info("%s %s %s %.1f ms", request.method, request.full_path.rstrip("?"), response.status_code,
                        duration, extra={"method": request.method, "path": request.full_path.rstrip("?"),
                                         "status": response.status_code, "duration_ms": duration,
                                         "bytes": response.calculate_content_length(),
                                         "remote": request.remote_addr})
        return response

    @app.teardown_request
    def forget_request_id(_exc):
        token = g.pop("nsi_request_token", None)
        if token is not None:
            logs.request_id.reset(token)
