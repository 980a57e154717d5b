"""The web app: `create_app(config=None)` builds it, one blueprint per area of the API.

    app = create_app()                                   # settings from the environment
    app = create_app({"TESTING": True, "NSI_READS_NEED_TOKEN": True})

Every error leaves as `{"error": {"code", "message", "details"}}` with its HTTP
status; an unexpected exception is logged and answered with a plain 500 body,
never a stack trace.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from registry import config as settings
from registry.errors import NsiError

log = logging.getLogger(__name__)
BEARER_REALM = "NSI Registry"


class JSONProvider(DefaultJSONProvider):
    """JSON with UTF-8 text as is and ISO 8601 dates."""

    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o):
        if isinstance(o, (datetime, date)):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


def _error(code: str, message: str, status: int, details=None):
    from flask import jsonify
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    return response


def _draft_gone(exc: Exception) -> bool:
    """Whether a database error says a draft's staging table is gone: the draft was published or discarded
    (its table dropped) between resolving the version and reading its rows."""
    from sqlalchemy.exc import DBAPIError
    from registry.models.catalog import STAGED_PREFIX
    if not isinstance(exc, DBAPIError):
        return False
    message = str(exc.orig)
    return STAGED_PREFIX in message and ("no such table" in message or "does not exist" in message)


def register_error_handlers(app: Flask) -> None:
    """Every error as the one JSON error shape with the right status."""

    @app.errorhandler(NsiError)
    def nsi_error(exc: NsiError):
        if exc.http_status >= 500:
            log.error("server-side error: %s", exc.message)
        response = _error(exc.code, exc.message, exc.http_status, exc.details)
        if exc.http_status == 401:  # RFC 9110 §11.6.1: a 401 names the scheme to authenticate with
            response.headers["WWW-Authenticate"] = f'Bearer realm="{BEARER_REALM}"'
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        from flask import request
        if request.path == "/review" or request.path.startswith("/review/"):  # people, not programs: a page
            from registry.web.review import http_error_page
            return http_error_page(exc)
        code = (exc.name or "error").lower().replace(" ", "_").replace("'", "")
        response = _error(code, exc.description or exc.name, exc.code or 500)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        from registry.web.request_log import current_request_id
        if _draft_gone(exc):
            return _error("conflict", "the draft was published or discarded while it was being read; ask again "
                                      "(a published version is read by the same label)", 409)
        log.exception("unhandled error")
        request_id = current_request_id()
        return _error("internal_error", f"internal server error; the details are in the server log under request id "
                                        f"{request_id}", 500, {"request_id": request_id})


def create_app(config: dict | None = None) -> Flask:
    """Build the app. `config` overrides settings (NSI_* names) and may hand over a ready `NSI_STORE`.

    Jobs whose worker is gone (its process on this host has ended, or its
    heartbeat is older than NSI_JOB_STALE_SECONDS) are failed here, unless
    NSI_RECOVER_JOBS is False; running jobs of other live servers are left alone.
    """
    from registry import jobs
    from registry.store import Store
    from registry.web.response_cache import ResponseCache
    from registry.web import (catalogs, diff, feed, health, imports, match, openapi, search, validate,
                              versions)

    config = dict(config or {})
    app = Flask(__name__)
    app.json = JSONProvider(app)
    for name in settings.SETTINGS:
        app.config[name] = config.pop(name) if name in config else settings.get(name)
    app.config["NSI_RECOVER_JOBS"] = True
    app.config.update(config)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["NSI_MAX_UPLOAD_MB"]) * 1024 * 1024

    store = app.config.get("NSI_STORE")
    if store is None:
        environ = dict(os.environ)
        for name in ("NSI_DATA_DIR", "NSI_DATABASE_URL"):
            if app.config.get(name):
                environ[name] = str(app.config[name])
        store = Store.open(environ)
    app.extensions["nsi_store"] = store
    store.watch_changes()  # `latest` and the catalog list kept in memory between changes of the database
    app.extensions["nsi_ref_cache"] = {}
    if int(app.config["NSI_RESPONSE_CACHE_MB"]) > 0:
        app.extensions["nsi_response_cache"] = ResponseCache(int(app.config["NSI_RESPONSE_CACHE_MB"]) * 1024 * 1024)
    if app.config["NSI_LOOKUP_FILES"]:  # lookups of latest versions from this instance's files (registry.lookup_files)
        from registry.lookup_files import LookupFiles
        app.extensions["nsi_lookup_files"] = LookupFiles(store)
    from registry.search import index as search_index
    search_index.indexer(store, lookup_files=bool(app.config["NSI_LOOKUP_FILES"]))  # its poll writes the files
    if app.config["NSI_RECOVER_JOBS"]:
        failed = jobs.recover_interrupted(store, stale_after=app.config["NSI_JOB_STALE_SECONDS"])
        if failed:
            log.warning("marked %d interrupted import job(s) failed: %s", len(failed), ", ".join(failed))

    from registry.web import request_log, security_headers
    request_log.init_app(app)  # first: every later hook and error is logged under the request's id
    security_headers.init_app(app)
    register_error_handlers(app)
    for module in (health, catalogs, versions, diff, validate, search, imports, feed, match, openapi):
        app.register_blueprint(module.bp)
    from registry.web import fhir, fnsi, landing, mapsets, review
    for module in (mapsets, review, landing, fhir, fnsi):
        app.register_blueprint(module.bp)

    from registry.web.params import check_request_values
    app.before_request(check_request_values)
    if app.testing:  # the whole test suite proves each view's declared response true
        from registry.web.responses import check_response
        app.after_request(check_response)

    @app.before_request
    def reads_may_need_token():
        """With NSI_READS_NEED_TOKEN, every read (GETs and POSTs marked read-only) needs a token that may read."""
        from flask import request
        from registry.web.common import is_read_request, require
        if app.config["NSI_READS_NEED_TOKEN"] and request.endpoint not in PUBLIC_ENDPOINTS \
                and request.blueprint != "review" and is_read_request(app.view_functions.get(request.endpoint)):
            require("read")

    return app


PUBLIC_ENDPOINTS = {"health.healthz", "health.readyz", "openapi.openapi_document", "openapi.docs_page", "landing.index"}
