"""End to end against a real `nsi serve` process (gunicorn, 2 workers) on loopback, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from registry import auth
from registry.models import CatalogCreate

API_DATA = Path(__file__).resolve().parent.parent / "data" / "api"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, data=None, headers=None, method=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def multipart(fields: dict, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def server(db_env, store):
    """A running `nsi serve --workers 2` on a free loopback port; yields its base URL."""
    nsi = shutil.which("nsi", path=os.path.dirname(sys.executable)) or shutil.which("nsi")
    port = free_port()
    env = {**os.environ, **db_env}
    proc = subprocess.Popen([nsi, "serve", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if call(base + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"nsi serve did not start: {proc.stdout.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_upload_job_publish_through_a_real_server(server, store):
    store.create_catalog(CatalogCreate(slug="icd10", title="МКБ-10", kind="classification"))
    _, secret = auth.create_token(store, "loader", "importer")
    body, ctype = multipart({"version": "2024", "format": "jsonl"}, "icd_v2.jsonl",
                            (API_DATA / "icd_v2.jsonl").read_bytes())
    status, _, reply = call(server + "/catalogs/icd10/imports", body, {"Content-Type": ctype}, "POST")
    assert status == 401
    assert json.loads(reply)["error"]["code"] == "unauthorized"

    headers = {"Content-Type": ctype, "Authorization": f"Bearer {secret}"}
    status, reply_headers, reply = call(server + "/catalogs/icd10/imports", body, headers, "POST")
    assert status == 202, reply
    location = reply_headers["Location"]
    assert location.endswith(f"/api/v1/jobs/{json.loads(reply)['id']}")
    job_url = location if location.startswith("http") else server.rsplit("/api/v1", 1)[0] + location
    deadline = time.monotonic() + 30
    while True:
        job = json.loads(call(job_url, headers={"Authorization": f"Bearer {secret}"})[2])
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded", job
    assert job["report"]["entries"] == 9
    status, _, reply = call(server + "/catalogs/icd10/versions/2024/publish", b"", {"Authorization": f"Bearer {secret}"},
                            "POST")
    assert status == 200 and json.loads(reply)["status"] == "published"
    status, headers, reply = call(server + "/catalogs/icd10/versions/2024/entries/A01.1")
    assert status == 200 and json.loads(reply)["display"] == "Паратиф A"
    assert call(server + "/catalogs/icd10/versions/2024/entries/A01.1",
                headers={"If-None-Match": headers["ETag"]})[0] == 304
    status, _, reply = call(server + "/catalogs/icd10/versions/latest/download?format=jsonl")
    assert status == 200 and len(reply.decode().splitlines()) == 9
