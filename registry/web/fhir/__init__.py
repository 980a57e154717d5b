"""The FHIR R4 terminology wing under /fhir: routes, request parsing and the one OperationOutcome error path.

One provider module per resource type (`codesystem`, `valueset`, `metadata`);
each operation is a function from parsed `Params` to a resource. Everything here
answers `application/fhir+json`; every error is an OperationOutcome with its
status, never HTML and never a stack trace.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, current_app, request, stream_with_context
from werkzeug.exceptions import HTTPException

from registry.errors import NsiError
from registry.web.common import read_only_post, store
from registry.web.fhir import codesystem, conceptmap, metadata, valueset
from registry.web.fhir.outcome import FhirError, bad_request, issue, operation_outcome
from registry.web.fhir.params import Params
from registry.web.fhir.terminology import Terminology
from registry.web.fhir.versions import VersionRules

log = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"
PREFIX = "/fhir"
bp = Blueprint("fhir", __name__, url_prefix=PREFIX)
NSI_ISSUE_CODES = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 409: "conflict",
                   413: "too-costly"}


def base_url() -> str:
    """The canonical base of our CodeSystem and ValueSet URLs: NSI_FHIR_BASE_URL, else this server's /fhir."""
    configured = current_app.config.get("NSI_FHIR_BASE_URL")
    return (configured or request.host_url.rstrip("/") + PREFIX).rstrip("/")


def fhir_response(resource: dict, status: int = 200) -> Response:
    """A FHIR JSON response."""
    return Response(json.dumps(resource, ensure_ascii=False), status=status, mimetype=FHIR_JSON)


def outcome_response(exc: BaseException) -> Response:
    """Any exception as an OperationOutcome response with the matching HTTP status."""
    if isinstance(exc, FhirError):
        return fhir_response(exc.outcome(), exc.status)
    if isinstance(exc, NsiError):
        status = exc.http_status
        code = NSI_ISSUE_CODES.get(status, "invalid" if status < 500 else "exception")
        response = fhir_response(operation_outcome([issue("error", code, exc.message)]), status)
    elif isinstance(exc, HTTPException):
        status = exc.code or 500
        code = NSI_ISSUE_CODES.get(status, "invalid" if status < 500 else "exception")
        text = exc.description or exc.name
        if status == 404:
            text = f"{request.method} {request.path} is not a FHIR endpoint of this server"
        response = fhir_response(operation_outcome([issue("error", code, text)]), status)
        if status == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
    else:
        log.exception("unhandled error under /fhir")
        response = fhir_response(operation_outcome([issue(
            "error", "exception", "internal server error; the details are in the server log")]), 500)
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="NSI Registry"'
    return response


@bp.errorhandler(Exception)
def any_error(exc: Exception):
    """Every error raised under /fhir as an OperationOutcome."""
    return outcome_response(exc)


def operation_params() -> Params:
    """The operation's parameters: the query string of a GET, the Parameters resource of a POST.

    The Accept-Language header goes with them (a default for `displayLanguage`).
    """
    if request.method == "GET":
        params = Params.from_query(request.args)
    else:
        body = request.get_json(force=True, silent=True)
        if body is None:
            raise bad_request("the request body must be a FHIR Parameters resource in JSON")
        params = Params.from_resource(body)
    params.accept_language = request.headers.get("Accept-Language")
    return params


def terminology(params: Params | None = None) -> Terminology:
    """The code systems and value sets this request sees: the store plus its `tx-resource` parameters."""
    return Terminology(store(), base_url(), params.all("tx-resource") if params else None,
                       VersionRules.from_params(params) if params else None)


def run(operation) -> Response:
    """Parse the parameters, run `operation(term, params)` and answer with its resource."""
    params = operation_params()
    term = terminology(params)
    term.require_supplements(params.all("useSupplement"))
    return fhir_response(operation(term, params))


@bp.get("/metadata")
def capabilities():
    """The CapabilityStatement, or with ?mode=terminology the TerminologyCapabilities."""
    mode = request.args.get("mode")
    if mode == "terminology":
        return fhir_response(metadata.terminology_capabilities(terminology(), base_url()))
    if mode not in (None, "", "full", "normative"):
        raise bad_request(f"mode {mode!r} is not supported (full, normative or terminology)", "mode")
    return fhir_response(metadata.capability_statement(base_url()))


@bp.get("/$versions")
def fhir_versions():
    """The FHIR versions served (R4)."""
    return fhir_response(metadata.versions())


@bp.get("/CodeSystem")
def codesystem_search():
    """Search code systems by url, version, name, title and status."""
    return fhir_response(codesystem.search(terminology(), Params.from_query(request.args), base_url()))


@bp.get("/CodeSystem/<rid>")
def codesystem_read(rid: str):
    """One CodeSystem with all its concepts, streamed."""
    cs, _ = codesystem.find_by_id(terminology(), rid)
    return Response(stream_with_context(codesystem.stream_resource(cs, rid)), mimetype=FHIR_JSON)


@bp.route("/CodeSystem/$lookup", methods=["GET", "POST"])
@read_only_post
def codesystem_lookup():
    """CodeSystem/$lookup."""
    return run(codesystem.lookup)


@bp.route("/CodeSystem/$validate-code", methods=["GET", "POST"])
@read_only_post
def codesystem_validate_code():
    """CodeSystem/$validate-code."""
    return run(codesystem.validate_code)


@bp.get("/ValueSet")
def valueset_search():
    """Search the stored value sets and the catalogs' implicit ones by url, version, name, title and status."""
    return fhir_response(valueset.search(terminology(), Params.from_query(request.args), base_url()))


@bp.get("/ValueSet/<rid>")
def valueset_read(rid: str):
    """One stored value set (`{id}` or `{id}--{version}`), or a catalog's implicit all-codes value set."""
    return fhir_response(valueset.read(terminology(), rid))


@bp.route("/ValueSet/$expand", methods=["GET", "POST"])
@read_only_post
def valueset_expand():
    """ValueSet/$expand."""
    return run(valueset.expand)


@bp.route("/ValueSet/$validate-code", methods=["GET", "POST"])
@read_only_post
def valueset_validate_code():
    """ValueSet/$validate-code."""
    return run(valueset.validate_code)


@bp.post("/ValueSet/$batch-validate-code")
@read_only_post
def valueset_batch_validate_code():
    """ValueSet/$batch-validate-code: several $validate-code calls in one request."""
    return run(valueset.batch_validate_code)


@bp.get("/ConceptMap")
def conceptmap_search():
    """Search the published map-set versions by url, version, name, title and status."""
    return fhir_response(conceptmap.search(terminology(), Params.from_query(request.args), base_url()))


@bp.route("/ConceptMap/$translate", methods=["GET", "POST"])
@read_only_post
def conceptmap_translate():
    """ConceptMap/$translate through published map-set versions and supplied ConceptMaps."""
    return run(conceptmap.translate)


@bp.get("/ConceptMap/<rid>")
def conceptmap_read(rid: str):
    """One published map-set version as a ConceptMap."""
    return fhir_response(conceptmap.read(terminology(), rid))


@bp.route("/ConceptMap/<rid>/$translate", methods=["GET", "POST"])
@read_only_post
def conceptmap_instance_translate(rid: str):
    """$translate through one published map-set version."""
    params = operation_params()
    return fhir_response(conceptmap.translate_instance(terminology(params), rid, params))


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@read_only_post
def unknown(rest: str):
    """Anything else under /fhir: 404 as an OperationOutcome (not the API's JSON error or an HTML page).

    Marked read-only so that, where reads need a token, an unknown path without one is a 401 like the rest.
    """
    raise FhirError(404, "not-found", f"{request.method} {request.path} is not a FHIR endpoint of this server")
