"""The registry's log lines: text for a terminal, or one JSON object a line for a log collector.

Every line carries the id of the request it belongs to (`request_id`, set by the web layer for the
duration of a request, echoed to the client in the `X-Request-Id` header), so a client's complaint
and the server's error with its traceback can be matched. `NSI_LOG_FORMAT` chooses the format.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import datetime, timezone

FORMATS = ("text", "json")
request_id: ContextVar[str | None] = ContextVar("nsi_request_id", default=None)
# Fields that a log call may add with `extra=` and that belong in the JSON object (the access log's).
EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "bytes", "remote", "job", "catalog", "version")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or `-` outside a request) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request_id, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "request_id": getattr(record, "request_id", None) or request_id.get()}
        if line["request_id"] == "-":
            line["request_id"] = None
        for name in EXTRA_FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(fmt: str = "text", stream=None, level: int = logging.INFO) -> logging.Handler:
    """Send the `registry` loggers' records to `stream` (stderr) in `fmt`; calling it again replaces the handler."""
    if fmt not in FORMATS:
        from registry.errors import ConfigError
        raise ConfigError(f"NSI_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    logger = logging.getLogger("registry")
    for old in [h for h in logger.handlers if getattr(h, "nsi_handler", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.nsi_handler = True
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler
