"""Request bodies: each write view declares its body once, as a pydantic model, and it is read and checked here.

    @bp.post("/mapsets/<mapset>/versions")
    @body(MapSetPublish)
    def publish(mapset, body):          # body is a checked MapSetPublish
        ...

Before anything is parsed the raw body is refused when it is larger than
MAX_JSON_BYTES (413) or nested deeper than MAX_JSON_DEPTH (400): Python's JSON
reader recurses, and a body of a thousand brackets would be a RecursionError.
Then the JSON is parsed and validated strictly (no "5" for 5, no true for 1): a
wrong body is a 400 naming each wrong field, with pydantic's location of it in
`details.errors[].loc`. Text fields refuse NUL and other control characters
(PostgreSQL cannot store NUL; the others are no part of a code, label or name)
and lone surrogates, and have a maximum length. Multipart uploads declare their
form fields the same way with `@form`. The OpenAPI document takes the request
schemas from these declarations (`view.nsi_body`, `view.nsi_form`).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Callable, ClassVar

from flask import request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from registry.errors import BadRequest, TooLarge

MAX_JSON_BYTES = 4 * 1024 * 1024  # the largest batch (10,000 codes, 1,000 names) is well under a megabyte
MAX_JSON_DEPTH = 64
LINE_CONTROLS = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # tab, LF and CR allowed
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def _refuse_controls(pattern: re.Pattern) -> Callable[[str], str]:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found:
            char = found.group()
            raise ValueError(f"holds the character U+{ord(char):04X}, which no text here may hold")
        return value
    return check


def Line(max_length: int, min_length: int = 0):  # noqa: N802 - a type, named like one
    """A one-line text field: at most `max_length` characters, no control characters."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length),
                     AfterValidator(_refuse_controls(LINE_CONTROLS)),
                     Field(description="One line of text: no control characters")]


def Prose(max_length: int):  # noqa: N802
    """A free-text field (notes, comments, descriptions): tabs and line breaks allowed, other controls not."""
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_refuse_controls(TEXT_CONTROLS)),
                     Field(description="Text: tabs and line breaks allowed, no other control characters")]


def _plain_json(value: Any, where: str = "") -> Any:
    """Refuse control characters in every key and string of a JSON value (field schemas, term attributes)."""
    if isinstance(value, str):
        _refuse_controls(TEXT_CONTROLS)(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_controls(LINE_CONTROLS)(key)
            _plain_json(item)
    elif isinstance(value, list):
        for item in value:
            _plain_json(item)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_plain_json)]


class Body(BaseModel):
    """Base of every request body: unknown fields refused, types strict, no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    noun: ClassVar[str] = "request body"  # what error messages call it: "the map set is not valid: ..."


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text `raw` nests arrays and objects deeper than `limit` (brackets inside strings ignored)."""
    depth = 0
    for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


def raw_body() -> bytes:
    """The request's bytes, refused (413) beyond MAX_JSON_BYTES without reading more than that."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise TooLarge(f"the request body is {request.content_length:,} bytes; JSON bodies may hold at most "
                       f"{MAX_JSON_BYTES:,}")
    data = request.stream.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise TooLarge(f"the request body is larger than {MAX_JSON_BYTES:,} bytes, the most a JSON body may hold")
    return data


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    """The JSON value of `raw`, or BadRequest naming what is wrong (encoding, depth, syntax and where)."""
    if json_depth_exceeds(raw):
        raise BadRequest(f"the request body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the request body is not UTF-8 (byte {exc.start})") from None
    except ValueError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


def validation_error(exc: ValidationError, what: str) -> BadRequest:
    """A 400 listing each wrong field: `field` (dotted), `loc` (pydantic's path) and `message`."""
    errors = [{"field": ".".join(str(p) for p in e["loc"]) or "(body)", "loc": list(e["loc"]), "message": e["msg"].removeprefix("Value error, ")}
              for e in exc.errors(include_url=False, include_input=False)]
    shown = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return BadRequest(f"the {what} is not valid: {shown}{more}", details={"errors": errors})


def checked(model: type[BaseModel], value: Any, what: str | None = None) -> BaseModel:
    """`value` validated into `model`, or the 400 of `validation_error`."""
    what = what or getattr(model, "noun", "request body")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise validation_error(exc, what) from None


def read_body(model: type[BaseModel], optional: bool = False) -> BaseModel:
    """The request's JSON body checked into `model`; with `optional`, no body at all means the model's defaults."""
    raw = raw_body()
    if not raw.strip():
        if optional:
            return model()
        raise BadRequest("the request needs a JSON body (Content-Type: application/json)")
    if not request.is_json:
        raise BadRequest(f"the request body must be JSON (Content-Type: application/json), not {request.mimetype!r}")
    return checked(model, parse_json(raw))


def body(model: type[BaseModel], optional: bool = False) -> Callable:
    """Declare a view's JSON body; the view gets it checked in its `body` argument. Put it below the route."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*a, **kw):
            return view(*a, **kw, body=read_body(model, optional))
        wrapper.nsi_body = model
        wrapper.nsi_body_optional = optional
        return wrapper
    return decorate


def form(model: type[BaseModel], file: str = "file", side_files: str | None = None) -> Callable:
    """Declare a multipart upload: the form fields checked into `model` (`form` argument) and the file part `file`.

    With `side_files` (a prefix, `with`), file parts named `with.NAME` come too, in the `sides` argument as
    {NAME: file}: the side files an import profile joins to the main file. Any other file part, or one given
    twice, is a 400 naming it. A missing file is a 400 naming the part; oversize uploads are refused by the
    app's MAX_CONTENT_LENGTH (413).
    """
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*a, **kw):
            upload = request.files.get(file)
            if upload is None or not upload.filename:
                raise BadRequest(f"the upload needs a file part named `{file}` (multipart/form-data)",
                                 details={"errors": [{"field": file, "loc": [file], "message": "Field required"}]})
            fields = {k: v for k, v in request.form.items() if v != ""}
            sides = _side_parts(file, side_files)
            extra = {"sides": sides} if side_files else {}
            return view(*a, **kw, form=checked(model, fields), upload=upload, **extra)
        wrapper.nsi_form = (model, file, side_files)
        return wrapper
    return decorate


def _side_parts(file: str, prefix: str | None) -> dict:
    """The file parts `PREFIX.NAME` of a multipart request as {NAME: file}; any other part but `file` is a 400."""
    sides = {}
    for part in request.files:
        if part == file:
            continue
        name = part[len(prefix) + 1:] if prefix and part.startswith(f"{prefix}.") else None
        if not name or not re.fullmatch(r"[\w-]+", name):
            takes = f"`{file}`" + (f" and side files as `{prefix}.NAME`" if prefix else "")
            raise BadRequest(f"unknown file part `{LINE_CONTROLS.sub('', part)[:100]}`: the upload takes {takes}",
                             details={"field": part})
        given = [f for f in request.files.getlist(part) if f.filename]
        if len(request.files.getlist(part)) > 1:
            raise BadRequest(f"file part `{part}` is given twice", details={"field": part})
        if not given:
            raise BadRequest(f"file part `{part}` has no file", details={"field": part})
        sides[name] = given[0]
    if len(request.files.getlist(file)) > 1:
        raise BadRequest(f"file part `{file}` is given twice", details={"field": file})
    return sides


def safe_file_name(name: str | None, default: str) -> str:
    """The last part of an uploaded file's name, safe to save under: no directories, controls, `.` or `..`.

    Non-Latin names stay as they are (a report shows the user's own file name); `default` when nothing is left.
    """
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = LINE_CONTROLS.sub("", base).strip()[:200]
    return default if base in ("", ".", "..") else base
