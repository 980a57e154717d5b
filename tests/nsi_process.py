"""Real `nsi` processes for the tests that signal them (Ctrl-C, SIGKILL) at a chosen point.

Where the signal lands is pinned by a line the process writes (its progress, or MARKER from a hook that
pauses it there), never by sleeping in the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKER = "HOOK: paused"
# Run in the `nsi` process before the CLI: `pause()` prints MARKER and sleeps, at a point a hook chooses.
PAUSE = f"""
import sys, time
def pause():
    print({MARKER!r}, file=sys.stderr, flush=True)
    time.sleep(120)
"""


def command(*args, hook: str = "") -> list[str]:
    """The command line running `nsi ARGS` from this checkout, with `hook` run first."""
    return [sys.executable, "-c", hook + "\nfrom cli import main\nmain()", *args]


def nsi(*args, hook: str = "") -> subprocess.Popen:
    """Start `nsi ARGS` as its own process (the database settings come from the db_env fixture's environment)."""
    return subprocess.Popen(command(*args, hook=hook), env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")


def run_nsi(*args, hook: str = "") -> subprocess.CompletedProcess:
    """Run `nsi ARGS` to the end, with `hook` run first."""
    return subprocess.run(command(*args, hook=hook), env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                          text=True, encoding="utf-8", timeout=300)


def signal_when(proc: subprocess.Popen, seen: str, signum: int) -> str:
    """Send `signum` once the process's stderr shows a line containing `seen`; the stderr read until then."""
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if seen in line:
            proc.send_signal(signum)
            return "".join(lines)
    proc.wait(timeout=60)
    pytest.fail(f"the process ended before {seen!r} appeared: exit {proc.returncode}, stderr {''.join(lines)}")
