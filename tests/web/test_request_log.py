"""Request ids (X-Request-Id) and the JSON access and error log (registry/logs.py, registry/web/request_log.py)."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from registry import logs
from registry.errors import ConfigError


@pytest.fixture(autouse=True)
def registry_logger_restored():
    """Leave the `registry` logger as found: `logs.configure` stops propagation, which other tests' caplog needs."""
    logger = logging.getLogger("registry")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]


@pytest.fixture
def json_log():
    """The registry's log lines as JSON objects, written to a buffer for the test."""
    buffer = io.StringIO()
    logs.configure("json", stream=buffer)
    return lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_every_response_carries_a_request_id_and_a_sane_client_id_is_kept(client):
    first, second = client.get("/api/v1/catalogs"), client.get("/api/v1/catalogs/nope")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Request-Id"])
    assert second.status_code == 404 and re.fullmatch(r"[0-9a-f]{32}", second.headers["X-Request-Id"])
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    kept = client.get("/api/v1/catalogs", headers={"X-Request-Id": "proxy-7f3a.1:2"})
    assert kept.headers["X-Request-Id"] == "proxy-7f3a.1:2"
    for unsafe in ("two words", "x" * 129, "semi;colon"):  # not echoed into headers or logs as given
        replaced = client.get("/api/v1/catalogs", headers={"X-Request-Id": unsafe})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-Id"])


def test_the_access_log_is_one_json_object_per_request(app, client, json_log):
    app.config["NSI_ACCESS_LOG"] = True
    r = client.get("/api/v1/catalogs?limit=5", headers={"X-Request-Id": "abc-1"})
    missing = client.get("/api/v1/catalogs/nope")
    lines = json_log()
    assert [(x["logger"], x["method"], x["path"], x["status"]) for x in lines] == [
        ("registry.request", "GET", "/api/v1/catalogs?limit=5", 200),
        ("registry.request", "GET", "/api/v1/catalogs/nope", 404)]
    first = lines[0]
    assert (first["level"], first["request_id"], first["bytes"]) == ("INFO", "abc-1", len(r.data))
    assert first["message"].startswith("GET /api/v1/catalogs?limit=5 200 ")
    assert first["duration_ms"] >= 0 and first["time"].endswith("+00:00")
    assert lines[1]["request_id"] == missing.headers["X-Request-Id"]


def test_a_bug_is_logged_with_its_traceback_under_the_id_the_client_got(loaded, client, json_log, monkeypatch):
    from registry import publishing

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(publishing, "entry_detail_json", broken)
    r = client.get("/api/v1/catalogs/icd10/versions/2024/entries/A00")
    assert r.status_code == 500
    request_id = r.headers["X-Request-Id"]
    assert r.get_json()["error"]["details"] == {"request_id": request_id}
    assert b"secret internals" not in r.data
    [line] = json_log()
    assert (line["level"], line["logger"], line["request_id"]) == ("ERROR", "registry.web", request_id)
    assert "RuntimeError: secret internals" in line["exc"]


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ConfigError, match="NSI_LOG_FORMAT must be one of text, json, not 'xml'"):
        logs.configure("xml")


def test_nsi_serve_logs_through_the_app_in_the_configured_format(app, monkeypatch):
    from registry.web import server
    started = {}
    monkeypatch.setattr(server.GunicornServer, "run", lambda self: started.update(self.options))
    monkeypatch.setattr(server, "check_port_free", lambda host, port: None)  # 8123 is never bound here
    app.config["NSI_LOG_FORMAT"] = "json"
    server.serve(app, port=8123, access_log=True)
    [handler] = [h for h in logging.getLogger("registry").handlers if getattr(h, "nsi_handler", False)]
    assert isinstance(handler.formatter, logs.JsonFormatter)
    assert app.config["NSI_ACCESS_LOG"] is True
    assert (started["bind"], started["accesslog"]) == ("127.0.0.1:8123", None)  # one access log: the app's
