"""Slow clients (slowloris) do not stop lookups: `nsi serve` behind the nginx configuration of docs/deploy.md.

The test takes the ```nginx block of docs/deploy.md as it is written, changes only what must differ on a
test machine (the instances' addresses, the listening address, no TLS), runs nginx from Debian's package as
a foreground process on free ports in front of `nsi serve`, opens 50 connections that send their request
headers a few bytes at a time, and meanwhile looks codes up through the proxy from another client.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "deploy.md"
SLOW_CLIENTS = 50
SECONDS = 5.0


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        from registry import config
        if config.get("NSI_NGINX_REQUIRED"):
            pytest.fail("nginx is required (NSI_NGINX_REQUIRED) but not installed: apt-get install nginx")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def documented_config() -> str:
    """The one ```nginx block of docs/deploy.md."""
    blocks = re.findall(r"```nginx\n(.*?)```", DEPLOY.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "docs/deploy.md should show one nginx configuration"
    return blocks[0]


def site_for_test(documented: str, upstream_port: int, port: int) -> str:
    """The documented configuration with the test's addresses and without TLS; everything else as written."""
    lines, upstream_done = [], False
    for line in documented.splitlines():
        stripped = line.strip()
        if re.match(r"server \d+\.\d+\.\d+\.\d+:\d+", stripped):  # the instances: here, the one test instance
            if not upstream_done:
                lines.append(f"    server 127.0.0.1:{upstream_port};")
                upstream_done = True
            continue
        if stripped.startswith("listen "):
            lines.append(f"    listen 127.0.0.1:{port};")
            continue
        if stripped.startswith("ssl_certificate"):
            continue
        lines.append(line)
    config = "\n".join(lines)
    assert upstream_done and f"listen 127.0.0.1:{port};" in config
    return config


def start_nginx(tmp: Path, site: str) -> subprocess.Popen:
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):  # nginx's scratch folders, here
        (tmp / name).mkdir(parents=True)
    temp_paths = "\n".join(f"    {name}_temp_path {tmp / name};"
                           for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} warn;
events {{ worker_connections 768; }}  # Debian's default
http {{
    access_log off;
{temp_paths}
{site}
}}
""")
    binary = nginx_binary()
    check = subprocess.run([binary, "-t", "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    return subprocess.Popen([binary, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_answering(url: str, proc: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)  # its stderr ends only when it does
                pytest.fail(f"{what} did not come up: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """`nsi serve` (2 workers) on a store with one published catalog; yields its port and the codes."""
    from registry.models import CatalogCreate
    from registry.store import Store
    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("NSI_DATABASE_URL", raising=False)
    store = Store.init()
    store.create_catalog(CatalogCreate(slug="icd", title="ICD"))
    codes = [f"A{i:03d}" for i in range(500)]
    store.stage_draft("icd", "1", [{"code": c, "display": f"disease {c}"} for c in codes])
    store.publish("icd", "1")
    store.engine.dispose()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "registry.cli", "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_answering(f"http://127.0.0.1:{port}/api/v1/healthz", server, "nsi serve")
        yield port, codes
    finally:
        stop(server, signal.SIGINT)


def trickle(port: int, until: float, opened: list, stop_event: threading.Event) -> None:
    """One slowloris client: a request line, then a header byte every 0.2 s until `until` (never the blank line)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        return
    opened.append(1)
    try:
        s.sendall(b"GET /api/v1/catalogs/icd/versions/1/entries/A001 HTTP/1.1\r\nHost: nsi\r\n")
        while time.monotonic() < until and not stop_event.is_set():
            s.sendall(b"X")
            time.sleep(0.2)
    except OSError:
        pass  # the proxy may drop it: that is the point
    finally:
        s.close()


def lookups_during_slow_clients(port: int, codes: list[str]) -> tuple[list[float], list[int], int]:
    """(latencies in ms, non-200 statuses, slow connections opened) of lookups made while 50 clients trickle."""
    stop_event = threading.Event()
    until = time.monotonic() + SECONDS + 1
    opened: list = []
    slow = [threading.Thread(target=trickle, args=(port, until, opened, stop_event), daemon=True)
            for _ in range(SLOW_CLIENTS)]
    for t in slow:
        t.start()
    time.sleep(1.0)  # every slow client is connected and has started its headers
    latencies, bad = [], []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    end = time.monotonic() + SECONDS
    i = 0
    try:
        while time.monotonic() < end:
            code = codes[i % len(codes)]
            i += 1
            started = time.perf_counter()
            try:
                conn.request("GET", f"/api/v1/catalogs/icd/versions/1/entries/{code}")
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                bad.append(status)
    finally:
        stop_event.set()
        conn.close()
        for t in slow:
            t.join(5)
    return latencies, bad, len(opened)


def test_lookups_go_on_through_the_documented_nginx_while_50_clients_trickle_headers(served, tmp_path):
    upstream_port, codes = served
    port = free_port()
    nginx = start_nginx(tmp_path / "nginx", site_for_test(documented_config(), upstream_port, port))
    try:
        wait_answering(f"http://127.0.0.1:{port}/api/v1/healthz", nginx, "nginx")
        for code in codes[:50]:  # warm: the version's lookups rendered in both workers
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/catalogs/icd/versions/1/entries/{code}").read()
        latencies, bad, opened = lookups_during_slow_clients(port, codes)
    finally:
        stop(nginx, signal.SIGQUIT)
    assert opened == SLOW_CLIENTS
    assert bad == []
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    assert len(latencies) > 100, f"only {len(latencies)} lookups in {SECONDS} s"
    assert p99 < 100, f"p99 {p99:.0f} ms over {len(latencies)} lookups"


def test_the_documented_config_is_what_the_test_runs():
    """Only addresses and TLS differ between the page and the test; the timeouts and buffering are as documented."""
    documented = documented_config()
    tested = site_for_test(documented, 8001, 8002)
    for directive in ("client_header_timeout 10s;", "client_body_timeout 30s;", "proxy_request_buffering on;",
                      "proxy_buffering on;", "keepalive 32;", "proxy_http_version 1.1;"):
        assert directive in documented and directive in tested
    changed = set(documented.splitlines()) ^ set(tested.splitlines())
    assert {line.strip() for line in changed} == {
        "server 10.0.0.11:8000 max_fails=3 fail_timeout=10s;", "server 10.0.0.12:8000 max_fails=3 fail_timeout=10s;",
        "server 127.0.0.1:8001;", "listen 443 ssl;", "listen 127.0.0.1:8002;",
        "ssl_certificate /etc/ssl/nsi/fullchain.pem;", "ssl_certificate_key /etc/ssl/nsi/privkey.pem;"}


def test_the_proxy_drops_idle_upstream_connections_before_the_workers_do():
    """nginx must not send a request on a connection a worker is closing: its upstream keepalive_timeout is
    shorter than the workers' keep-alive (nginx does not retry a POST that failed that way)."""
    from registry.web.server import KEEPALIVE_SECONDS
    upstream = re.search(r"upstream nsi \{(.*?)\}", documented_config(), re.S).group(1)
    seconds = re.search(r"keepalive_timeout (\d+)s;", upstream)
    assert seconds and int(seconds.group(1)) < KEEPALIVE_SECONDS
