"""What every blueprint shares: the store, the caller's token, version resolution and HTTP caching.

Published versions never change, so their responses carry an ETag derived from
the version checksum (plus the label and the representation) and a long
`Cache-Control`; `If-None-Match` is answered with 304 before any entry is read.
Through `latest` the same ETag is sent with a short max-age and
must-revalidate, because `latest` moves on the next publish.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Callable

from flask import Response, current_app, g, jsonify, request

from registry import auth
from registry.store.reads import LATEST, VersionRef

API = "/api/v1"


def store():
    """The registry Store of this app."""
    return current_app.extensions["nsi_store"]


def current_token():
    """The token of this request (None without an Authorization header); a wrong token is Unauthorized."""
    if "token" not in g:
        header = request.headers.get("Authorization", "")
        secret = None
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                from registry.errors import Unauthorized
                raise Unauthorized("the Authorization header must be `Bearer <token>`")
            secret = value.strip()
        g.token = auth.authenticate(store(), secret)
    return g.token


def require(action: str):
    """The request's token, checked to allow `action` (401 without one, 403 for the wrong role).

    Writes record when the token was last used; reads do not, to stay cheap.
    """
    token = auth.require(current_token(), action)
    if not action.startswith("read"):
        auth.mark_used(store(), token.name)
    return token


def needs(action: str) -> Callable:
    """Declare what a write view's token must allow (`view.nsi_action`), checked before its body is read.

    Put it below the route decorator and above `body`/`form`: a request without
    the right token is a 401 or 403 whatever it sends. The view finds the token
    with `current_token()`.
    """
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*a, **kw):
            require(action)
            return view(*a, **kw)
        wrapper.nsi_action = action
        return wrapper
    return decorate


def read_only_post(view: Callable) -> Callable:
    """Declare a POST view that only reads (batch validate, translate, match).

    The app's one read guard (`reads_may_need_token` in registry.web) treats
    such views like GETs: with NSI_READS_NEED_TOKEN they need a token that may read.
    Put it below the route decorator.
    """
    view.nsi_read_only = True
    return view


def is_read_request(view: Callable | None) -> bool:
    """Whether this request only reads: a GET or HEAD, or a POST to a view marked with `read_only_post`."""
    return request.method in ("GET", "HEAD") or getattr(view, "nsi_read_only", False)


def resolve_for_read(slug: str, version: str, app=None) -> VersionRef:
    """Resolve a version for reading: published and retired ones are public, drafts need a token.

    `app`: the Flask app when the caller already has it (a look-up through the context proxy saved).
    """
    ref = resolve_cached(slug, version, app)
    if ref.is_draft:
        require("read_drafts")
    return ref


def resolve_cached(slug: str, version: str, app=None) -> VersionRef:
    """Resolve `slug`/`version`, remembering label lookups of published versions (they never change).

    Drafts are always looked up afresh: a draft can be published or discarded.
    `latest` moves on each publish: the store keeps it only until the database
    changes (registry.store.changes). `app`: as for `resolve_for_read`.
    """
    cache = (app or current_app).extensions["nsi_ref_cache"]
    key = (slug, version)
    ref = cache.get(key)
    if ref is None:
        ref = store().resolve(slug, version)
        if version != LATEST and not ref.is_draft and len(cache) < 10000:
            cache[key] = ref
    return ref


def etag_for(refs: list[VersionRef], representation: str) -> str:
    """An ETag (without quotes) for a representation of published versions: checksums, labels and what was asked."""
    h = hashlib.sha1(representation.encode("utf-8"))
    for ref in refs:
        h.update(f"|{ref.catalog}|{ref.label}|{ref.checksum}".encode("utf-8"))
    return f"{(refs[0].checksum or 'none')[:16]}-{h.hexdigest()[:12]}"


def cached(refs: list[VersionRef], through_latest: bool, representation: str,
           build: Callable[[], Response], keep: bool = True, app=None) -> Response:
    """Answer with caching headers for published versions: 304 when If-None-Match matches, else build().

    `through_latest` also serves representations that can change while the
    version exists (its metadata shows the status, which retiring changes): they
    get the short, must-revalidate max-age, and their `representation` must name
    that changeable state so that the ETag and the cache key move with it.
    With `keep`, the built body is remembered in the app's response cache under
    its ETag (never for streamed responses). Responses about drafts are built
    each time and marked `no-store`. `app`: as for `resolve_for_read`.
    """
    if refs[0].is_draft if len(refs) == 1 else any(ref.is_draft for ref in refs):
        response = build()
        response.headers["Cache-Control"] = "no-store"
        return response
    tag = etag_for(refs, representation)
    app = app or current_app._get_current_object()  # one look-up through the context, not one per attribute
    config = app.config
    if through_latest:
        control = f"public, max-age={config['NSI_LATEST_MAX_AGE']}, must-revalidate"
    else:
        control = f"public, max-age={config['NSI_CACHE_MAX_AGE']}"
    memory = app.extensions.get("nsi_response_cache") if keep else None
    # RFC 9110 §13.1.2: If-None-Match uses the weak comparison; the header is parsed only when it was sent.
    if request.environ.get("HTTP_IF_NONE_MATCH") and request.if_none_match.contains_weak(tag):
        response = Response(status=304)
    elif memory is not None and (hit := memory.get(tag)) is not None:
        response = Response(hit[0], content_type=hit[1])
    else:
        response = build()
        if memory is not None and response.status_code == 200 and not response.is_streamed:
            memory.put(tag, response.get_data(), response.content_type)
    headers = response.headers
    headers["ETag"] = f'"{tag}"'  # what set_etag writes: the tag holds no quote to escape
    if config["NSI_READS_NEED_TOKEN"]:
        headers["Cache-Control"] = control.replace("public", "private")
        response.vary.add("Authorization")
    else:
        headers["Cache-Control"] = control
    return response


def revalidated(response: Response, per_token: bool = False) -> Response:
    """A changeable read answered with an ETag made from its body, and 304 when If-None-Match matches it.

    For what systems poll but no checksum names (the catalog list, a passport, the feed): the
    tag changes whenever anything the body shows changes (a new catalog, a publish, a retire, a
    passport edit), and the short, must-revalidate max-age of `latest` applies. `per_token`
    marks a body that depends on the caller's token (drafts shown to some roles only).
    """
    response.add_etag()
    response.headers["Cache-Control"] = f"public, max-age={current_app.config['NSI_LATEST_MAX_AGE']}, must-revalidate"
    if per_token or current_app.config["NSI_READS_NEED_TOKEN"]:
        response.headers["Cache-Control"] = response.headers["Cache-Control"].replace("public", "private")
        response.vary.add("Authorization")
    return response.make_conditional(request)


def json_response(data, status: int = 200) -> Response:
    """A JSON response (UTF-8 as is, dates in ISO 8601)."""
    response = jsonify(data)
    response.status_code = status
    return response


def arg_int(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high], or BadRequest naming it (for views without `params.query`)."""
    from registry.web.params import Int, read
    return read(name, Int(low, high, default))


def json_body() -> dict | list:
    """The request's JSON value, size- and depth-checked (for views of other wings; API views declare a `body`)."""
    from registry.errors import BadRequest
    from registry.web.bodies import parse_json, raw_body
    raw = raw_body()
    if not raw.strip() or not request.is_json:
        raise BadRequest("the request body must be JSON (Content-Type: application/json)")
    return parse_json(raw)


def validated(model, body, what: str):
    """`body` validated into the pydantic `model`, or BadRequest listing each wrong field in `details`."""
    from registry.web.bodies import checked
    return checked(model, body, what)
