"""Query parameters: each view declares its own once, and they are checked here, a malformed one being a 400.

    @bp.get("/feed")
    @query(since=Time(), limit=Int(1, 1000, default=100))
    def feed_json(args):            # args["since"] is a datetime or None, args["limit"] an int
        ...

Views read the query string only through `query`, so every parameter of every
route has a type, a range or a list of values, and a wrong value is answered with
400 naming it (the JSON error shape on the API, the error page on the review
pages) instead of a 500 from deep inside. The declarations are kept on the view
(`view.nsi_query`), where the tests find them. `check_request_values` refuses,
for every route, query values and path segments holding NUL or other control
characters (PostgreSQL cannot store them in text) or longer than any real value.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from flask import request

from registry.errors import BadRequest

MAX_VALUE_LENGTH = 2000  # characters of one query value or path segment: codes, labels and searches are shorter
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
INTEGER = re.compile(r"-?[0-9]{1,18}")


@dataclass(frozen=True)
class Int:
    """An integer within [low, high]; `default` when absent or empty."""

    low: int
    high: int
    default: int | None = None

    def parse(self, name: str, raw: str) -> int:
        if not INTEGER.fullmatch(raw):
            raise BadRequest(f"{name} must be an integer, got {raw!r}")
        value = int(raw)
        if not self.low <= value <= self.high:
            raise BadRequest(f"{name} must be between {self.low} and {self.high}")
        return value

    def schema(self) -> dict:
        """The OpenAPI schema of the parameter."""
        return {"type": "integer", "minimum": self.low, "maximum": self.high,
                **({"default": self.default} if self.default is not None else {})}


@dataclass(frozen=True)
class Number:
    """A finite number, optionally within [low, high]; `default` when absent or empty."""

    low: float | None = None
    high: float | None = None
    default: float | None = None

    def parse(self, name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise BadRequest(f"{name} must be a number, got {raw!r}") from None
        if not math.isfinite(value):
            raise BadRequest(f"{name} must be a finite number, got {raw!r}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise BadRequest(f"{name} must be between {self.low:g} and {self.high:g}")
        return value

    def schema(self) -> dict:
        """The OpenAPI schema of the parameter."""
        bounds = {"minimum": self.low, "maximum": self.high}
        return {"type": "number", **{k: v for k, v in bounds.items() if v is not None}}


@dataclass(frozen=True)
class OneOf:
    """One of `choices` (or, with `many`, a comma-separated list of them, kept as that text)."""

    choices: tuple[str, ...]
    default: str | None = None
    many: bool = False

    def parse(self, name: str, raw: str) -> str:
        values = [v.strip() for v in raw.split(",") if v.strip()] if self.many else [raw]
        bad = [v for v in values if v not in self.choices]
        if bad or not values:
            listing = "a comma-separated list of " if self.many else ""
            raise BadRequest(f"{name} must be {listing}one of {', '.join(self.choices)}"
                             + (f" (got {bad[0]!r})" if bad else ""))
        return ",".join(values)

    def schema(self) -> dict:
        """The OpenAPI schema of the parameter (a comma-separated list stays a string with a pattern)."""
        if self.many:
            choice = "|".join(self.choices)
            return {"type": "string", "pattern": f"^({choice})(,({choice}))*$",
                    **({"default": self.default} if self.default else {})}
        return {"type": "string", "enum": list(self.choices), **({"default": self.default} if self.default else {})}


@dataclass(frozen=True)
class Text:
    """Free text (a code, a label, a search); controls and length are checked for every value already."""

    default: str | None = None

    def parse(self, name: str, raw: str) -> str:
        return raw

    def schema(self) -> dict:
        """The OpenAPI schema of the parameter."""
        return {"type": "string", "maxLength": MAX_VALUE_LENGTH}


@dataclass(frozen=True)
class Time:
    """An ISO 8601 time; without a zone it is taken as UTC."""

    default: datetime | None = None

    def parse(self, name: str, raw: str) -> datetime:
        try:
            value = datetime.fromisoformat(raw.replace(" ", "+"))
        except ValueError:
            raise BadRequest(f"{name} must be an ISO 8601 time such as 2024-01-31T00:00:00Z, got {raw!r}") from None
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    def schema(self) -> dict:
        """The OpenAPI schema of the parameter."""
        return {"type": "string", "format": "date-time"}


def read(name: str, spec):
    """The query parameter `name` of the current request, checked against `spec` (its default when absent or empty)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return spec.default
    return spec.parse(name, raw)


def query(**specs) -> Callable:
    """Declare a view's query parameters; the view gets them checked, as a dict, in its `args` argument.

    Put it below the route decorator. A parameter the view does not declare is ignored.
    """
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*a, **kw):
            return view(*a, **kw, args={name: read(name, spec) for name, spec in specs.items()})
        wrapper.nsi_query = dict(specs)
        return wrapper
    return decorate


def check_request_values() -> None:
    """Refuse (400) a request whose query values or path segments hold control characters or are far too long.

    Runs before every view, declared parameters or not: a NUL that reached PostgreSQL would be a 500.
    Without a query string, a path that is short enough and holds no control character has no segment
    that could be refused (each segment is a piece of it), so the common request is one regex search.
    """
    if not request.query_string:
        path = request.path
        if len(path) <= MAX_VALUE_LENGTH and not CONTROL.search(path):
            return
    values = [("query parameter", name, text) for name, value in request.args.items(multi=True)
              for text in (name, value)] if request.query_string else []
    values += [("the URL segment", name, value) for name, value in (request.view_args or {}).items()
               if isinstance(value, str)]
    for kind, name, value in values:  # put in words only when something is wrong: every request runs this
        control = CONTROL.search(value)
        if control:
            raise BadRequest(f"{kind} {name!r} holds the control character U+{ord(control.group()):04X}, "
                             f"which no value may hold")
        if len(value) > MAX_VALUE_LENGTH:
            raise BadRequest(f"{kind} {name!r} is {len(value):,} characters long; at most {MAX_VALUE_LENGTH:,}")
