"""Success responses: each API view declares its own once, and the OpenAPI document is built from it.

    @bp.get("/mapsets/<mapset>")
    @responds(MapSetPublic)
    def show_map_set(mapset): ...

    @bp.get("/feed.atom")
    @responds(content={"application/atom+xml": TEXT}, etag=True)

The declaration (`view.nsi_response`) names the status, the JSON model (or the
other content types), and whether the route answers If-None-Match with 304.
While the app is testing, `check_response` validates every JSON body of a
declared status against its model, so the whole test suite proves the
declarations true; in production nothing is checked per request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from flask import Response, current_app, request
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)
TEXT = {"type": "string"}
BINARY = {"type": "string", "format": "binary"}


@dataclass(frozen=True)
class Declared:
    """A view's success response: status, JSON model or {content type: schema}, and 304 on If-None-Match."""

    status: int = 200
    model: type[BaseModel] | None = None
    content: dict = field(default_factory=dict)
    etag: bool = False
    location: str | None = None


def responds(model: type[BaseModel] | None = None, status: int = 200, *, content: dict | None = None,
             etag: bool = False, location: str | None = None) -> Callable:
    """Declare a view's success response (put it right below the route decorator); `location` describes a
    Location header sent with it."""
    def decorate(view: Callable) -> Callable:
        view.nsi_response = Declared(status, model, dict(content or {}), etag, location)
        return view
    return decorate


class ResponseContractError(AssertionError):
    """A response that does not match the view's declaration (raised only while testing)."""


def check_response(response: Response) -> Response:
    """Under test, the JSON body of a declared success status is validated against the declared model."""
    view = current_app.view_functions.get(request.endpoint or "")
    declared: Declared | None = getattr(view, "nsi_response", None)
    if declared is None or response.status_code != declared.status or response.is_streamed \
            or request.method in ("HEAD", "OPTIONS"):  # answered by Flask itself, without the view
        return response
    if declared.model is not None:
        if response.mimetype != "application/json":
            raise ResponseContractError(f"{request.path}: {response.mimetype}, declared application/json")
        try:
            declared.model.model_validate_json(response.get_data())
        except ValidationError as exc:
            raise ResponseContractError(f"{request.method} {request.path}: the response is not a "
                                        f"{declared.model.__name__}: {exc}") from None
    elif declared.content and response.mimetype not in declared.content:
        raise ResponseContractError(f"{request.path}: {response.mimetype}, declared {sorted(declared.content)}")
    return response
