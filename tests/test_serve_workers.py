"""`nsi serve` spreads connections over its workers: a listening socket per worker (SO_REUSEPORT).

With one socket shared by every worker (gunicorn's default), a burst of keep-alive connections could all be
taken by one worker, which then served every client on one CPU while the other idled. Which process holds
which socket is read from /proc (Linux), so the tests check the sockets themselves, not a response header.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 32

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads sockets from /proc (Linux)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid` (the gunicorn master's workers)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return sorted(out)


def socket_holders(pids: list[int]) -> dict[int, set[int]]:
    """Socket inode -> the pids holding it open, for every socket the given processes hold."""
    holders: dict[int, set[int]] = {}
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                holders.setdefault(int(target[8:-1]), set()).add(pid)
    return holders


def server_sockets(port: int, state: str) -> list[int]:
    """Inodes of the TCP sockets whose local port is `port`, in `state` (0A listening, 01 established)."""
    inodes = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.append(int(fields[9]))
    return inodes


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`nsi serve --workers 2` on an empty SQLite store; yields (port, master pid, worker pids)."""
    data = tmp_path_factory.mktemp("data")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NSI_DATA_DIR": str(data), "NSI_JOB_POLL_SECONDS": "0"}
    env.pop("NSI_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "registry.cli", "init"], env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "registry.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/healthz", timeout=5).read()
                workers = children(proc.pid)
                holders = socket_holders(workers)
                listening = set().union(*(holders.get(i, set()) for i in server_sockets(port, "0A")))
                if len(workers) == 2 and listening == set(workers):
                    break  # both workers booted: each holds a socket listening on the port
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"nsi serve did not come up: {proc.communicate()[1].decode()[-2000:]}")
            time.sleep(0.1)
        yield port, proc.pid, workers
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_each_worker_listens_on_a_socket_of_its_own(served):
    port, master, workers = served
    holders = socket_holders([master, *workers])
    # gunicorn's default was one socket, opened by the master and held by it and both workers
    assert sorted(tuple(holders[inode]) for inode in server_sockets(port, "0A")) == [(pid,) for pid in workers]


def test_a_burst_of_keep_alive_connections_is_served_by_both_workers(served):
    port, master, workers = served
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(CONNECTIONS)]
    try:
        for conn in conns:  # opened at once, as a load generator or a proxy's pool does
            conn.connect()
        for _ in range(2):  # two requests on every connection: they are kept alive, where they landed
            for conn in conns:
                conn.request("GET", "/api/v1/healthz")
            for conn in conns:
                response = conn.getresponse()
                assert response.status == 200
                response.read()
        holders = socket_holders(workers)
        per_worker = {pid: 0 for pid in workers}
        for inode in server_sockets(port, "01"):
            for pid in holders.get(inode, ()):
                per_worker[pid] += 1
    finally:
        for conn in conns:
            conn.close()
    assert sum(per_worker.values()) == CONNECTIONS
    # The kernel hashes each connection to a worker: fewer than 4 of 32 on one worker has odds of 3 in a million.
    assert min(per_worker.values()) >= 4, per_worker


def test_a_second_server_on_the_same_port_is_refused(served, runner, monkeypatch, tmp_path):
    """SO_REUSEPORT would let it bind beside the first and take half of its connections: it is stopped first."""
    port, _, _ = served
    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("NSI_DATABASE_URL", raising=False)
    result = runner.invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: 127.0.0.1:{port} is already in use by another process; "
                             f"stop it or choose another --port\n")
    assert list(tmp_path.iterdir()) == []  # refused before the app (and its store) was built


def test_the_probe_checks_what_the_workers_bind(served):
    """gunicorn binds IPv4 for a host name: `localhost` is probed on 127.0.0.1 even where it resolves to ::1
    first, so a taken port is refused instead of workers failing to bind and being restarted forever."""
    from registry.web.server import PortInUse, check_port_free
    port, _, _ = served
    with pytest.raises(PortInUse):
        check_port_free("localhost", port)


def test_addresses_are_bound_as_gunicorn_binds_them():
    from registry.web.server import listen_address
    assert listen_address("[::1]", 8000) == (socket.AF_INET6, "::1", "[::1]:8000")
    assert listen_address("::1", 8000) == (socket.AF_INET6, "::1", "[::1]:8000")
    assert listen_address("127.0.0.1", 8000) == (socket.AF_INET, "127.0.0.1", "127.0.0.1:8000")
    assert listen_address("localhost", 8000) == (socket.AF_INET, "localhost", "localhost:8000")


def test_port_0_is_refused(runner, monkeypatch, tmp_path):
    """Every worker binds its own socket: with port 0 each would listen on another random port."""
    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("NSI_DATABASE_URL", raising=False)
    result = runner.invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 1
    assert result.stderr == "Error: port 0 would give each worker a different random port; choose a port\n"
    assert list(tmp_path.iterdir()) == []
