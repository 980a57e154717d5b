"""The FNSI-compatible wing: the federal NSI register's REST API (`/port/rest/...`, `/api/dataFiles`) over our store.

Systems built against nsi.rosminzdrav.ru sync from this registry by changing
their base URL: same paths, parameter names and response shapes (docs/fnsi.md
lists what they are, where they come from and what differs). Every answer
carries `result` (`OK` or `ERROR`); an error is
`{"result": "ERROR", "resultText", "resultCode"}` with the register's code where
one is known. The token comes as `userKey` (or our Bearer header), with the
same roles as everywhere; reads stay open unless NSI_READS_NEED_TOKEN.
"""

from __future__ import annotations

import logging

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from registry import auth
from registry.errors import NsiError

log = logging.getLogger(__name__)
bp = Blueprint("fnsi", __name__)

VERSION_MISSING = "03x0006"  # the register's code, seen in public clients (docs/fnsi.md)
VERSION_MISSING_TEXT = "Запрашиваемая версия не существует"
DICTIONARY_MISSING_TEXT = "Справочник не найден"


class FnsiError(Exception):
    """An error answered in the register's shape: text, code and HTTP status."""

    def __init__(self, text: str, code: str, status: int = 200):
        super().__init__(text)
        self.text, self.code, self.status = text, code, status


def ok(body: dict):
    """A success answer: the register puts result/resultText/resultCode before the payload."""
    return jsonify({"result": "OK", "resultText": None, "resultCode": None, **body})


def error_response(text: str, code: str, status: int):
    """The register's error body with an HTTP status."""
    response = jsonify({"result": "ERROR", "resultText": text, "resultCode": code})
    response.status_code = status
    return response


def page_and_size(default_size: int, max_size: int = 1000) -> tuple[int, int]:
    """The `page` (from 1) and `size` parameters, checked; a malformed one is refused naming it."""
    out = []
    for name, default, high in (("page", 1, 10 ** 9), ("size", default_size, max_size)):
        raw = request.args.get(name, "")
        try:
            value = int(raw) if raw.strip() else default
        except ValueError:
            raise FnsiError(f"{name} must be a whole number, got {raw!r}", "nsi.bad_request", 400) from None
        if not 1 <= value <= high:
            raise FnsiError(f"{name} must be between 1 and {high}", "nsi.bad_request", 400)
        out.append(value)
    return out[0], out[1]


@bp.before_app_request
def user_key_as_token():
    """Take `userKey` (the register's token parameter) as this request's token, before the app's read guard runs.

    A wrong key is refused (401) like a wrong Bearer token; with no key, the
    Authorization header (if any) is used as everywhere else.
    """
    if request.blueprint != "fnsi":
        return
    key = request.args.get("userKey")
    if key:
        from registry.web.common import store
        g.token = auth.authenticate(store(), key)


@bp.errorhandler(FnsiError)
def fnsi_error(exc: FnsiError):
    """An error the wing raised itself, already in the register's terms."""
    return error_response(exc.text, exc.code, exc.status)


@bp.errorhandler(NsiError)
def nsi_error(exc: NsiError):
    """Our errors in the register's shape; the code says which of ours it is (the register's own codes are unknown)."""
    if exc.http_status >= 500:
        log.error("server-side error: %s", exc.message)
    return error_response(exc.message, f"nsi.{exc.code}", exc.http_status)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Werkzeug's HTTP errors (a route matched, then refused) in the register's shape."""
    code = (exc.name or "error").lower().replace(" ", "_").replace("'", "")
    return error_response(exc.description or exc.name, f"nsi.{code}", exc.code or 500)


@bp.errorhandler(Exception)
def unexpected(exc: Exception):
    """A bug: logged with its traceback, answered without it."""
    log.exception("unhandled error in the FNSI API")
    return error_response("internal server error; the details are in the server log", "nsi.internal_error", 500)


from registry.web.fnsi import dictionaries, data, files  # noqa: E402,F401  (their routes join `bp`)
