"""The server under test and the load generator of `bench/load.py`: `nsi serve` in a subprocess on a free loopback
port, each worker's CPU read from /proc, and wrk with a Lua script cycling request lines (Debian's wrk).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

API = "/api/v1"

# Each line of the request file: METHOD, path, one header ("-" for none) and body ("-" for none), tab-separated.
LUA = r'''
local requests = {}
init = function(args)
  for line in io.lines(args[1]) do
    local method, path, header, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    if header ~= "-" then
      local name, value = header:match("^([^:]+):%s*(.*)$")
      headers[name] = value
    end
    if body ~= "-" then headers["Content-Type"] = "application/json" else body = nil end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + #tostring({}))
end
request = function()
  return requests[math.random(#requests)]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "seconds": %.3f, "p50": %.3f, "p99": %.3f, ' ..
    '"bad_status": %d, "socket_errors": %d}\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
'''


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers: dict | None = None, body: bytes | None = None, timeout: float = 30):
    """(status, headers, body) of one request (a JSON body when `body` is given); raises on 4xx/5xx."""
    req = urllib.request.Request(url, data=body, headers={**(headers or {}),
                                 **({"Content-Type": "application/json"} if body else {})})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


def parents() -> dict[int, int]:
    """Every process's parent pid, from /proc (a process that ends meanwhile is left out)."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent_of[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parent_of


class Server:
    """`nsi serve` in a subprocess on a free loopback port."""

    def __init__(self, env: dict, workers: int, name: str, threads: int = 4, trace: bool = False):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.name = name
        self.log = open(Path(env["NSI_DATA_DIR"]) / f"{name}.log", "wb")
        command = [sys.executable, "-m", "registry.cli"]
        self.trace = None
        if trace:  # each request's stages in the workers timed (bench/serve_trace.py)
            self.trace = Path(env["NSI_DATA_DIR"]) / f"trace-{name}"
            self.trace.mkdir(exist_ok=True)
            env = {**env, "NSI_TRACE_DIR": str(self.trace)}
            command = [sys.executable, str(Path(__file__).resolve().parent / "serve_trace.py")]
        self.proc = subprocess.Popen(command + ["serve", "--port", str(self.port), "--workers", str(workers),
                                                "--threads", str(threads)], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"{name} server exited; see {self.log.name}")
            try:
                get(self.base + API + "/healthz")
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"{name} server did not answer in 60 s")
                time.sleep(0.2)

    def workers(self) -> list[int]:
        """The pids of the server's gunicorn workers (the master's children), from /proc."""
        return sorted(pid for pid, parent in parents().items() if parent == self.proc.pid)

    def cpu(self) -> dict[int, float]:
        """CPU seconds (user + system) each worker has used so far."""
        out = {}
        for pid in self.workers():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def wrk(server: Server, lines: list[str], seconds: int, connections: int, work: Path) -> dict:
    """One wrk run over the request lines; requests/s, p50/p99 in ms, bad statuses and socket errors, and
    each worker's share of the CPU the server's workers used (a balanced server splits it evenly)."""
    requests_file, script = work / "requests.tsv", work / "requests.lua"
    requests_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script.write_text(LUA)
    if server.trace:
        from bench.serve_trace import summary
        summary(server.trace)  # what the workers timed before this run (warm-up, the run before) is dropped
    before = server.cpu()
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
                          server.base, "--", str(requests_file)], capture_output=True, text=True, check=True).stdout
    after = server.cpu()
    if server.trace:
        time.sleep(0.2)  # the workers write what they timed in batches
        result_trace = summary(server.trace)
    result = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    result["rps"] = result["requests"] / result["seconds"]
    used = [after[pid] - before.get(pid, 0.0) for pid in after]
    result["worker_cpu"] = sorted((u / sum(used) if sum(used) else 0.0 for u in used), reverse=True)
    result["cpu_ms"] = sum(used) * 1000 / max(result["requests"], 1)
    if server.trace:
        result["trace"] = result_trace
    return result


def line(method: str, path: str, header: str = "-", body: str = "-") -> str:
    """One line of wrk's request file: method, path, one header and body, tab-separated (`-` for none)."""
    return "\t".join((method, path, header, body))
