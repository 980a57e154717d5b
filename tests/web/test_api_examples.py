"""Every example of docs/api.md, run in order with the real curl against `nsi serve` (gunicorn), so none goes stale.

The examples are read from the ```sh blocks: assignments (`TOKEN=$(nsi token create ...)`, `ETAG=$(curl ...)`)
run in bash and carry over; each curl line must answer 2xx, or the status its comment names (`# 304`); a
comment holding JSON is compared with the body (`"<...>"` stands for any value). The catalogs the examples
read exist beforehand (`icd10` 2023 and 2024 published, draft 2026, a source catalog `local`; the side-file
upload's files and its profile `icd-sides`); each upload's job is waited for, and `JOB` set from its Location,
before the next example.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "api.md"
API_DATA = ROOT / "tests" / "data" / "api"
COMMENT = re.compile(r"^(?P<command>.*?)\s+#\s*(?P<comment>.*)$")
ASSIGNMENT = re.compile(r"^(?P<name>[A-Z_]+)=(?P<value>.*)$")

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the examples need the curl program")


def examples() -> list[tuple[int, str, str]]:
    """(line number, command, comment) of every line of the doc's ```sh blocks, continuation lines joined."""
    found, block, pending, start = [], False, "", 0
    for number, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            block = line.strip() == "```sh"
            continue
        if not block or not line.strip():
            continue
        start = start or number
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        line, pending = pending + line, ""
        match = COMMENT.match(line)
        if match and match["command"].count("'") % 2 == 0 and match["command"].count('"') % 2 == 0:
            found.append((start, match["command"].strip(), match["comment"].strip()))
        else:
            found.append((start, line.strip(), ""))
        start = 0
    return found


def same_json(expected, actual) -> bool:
    """Equal, where an expected string written as `<...>` matches any value."""
    if isinstance(expected, str) and expected.startswith("<") and expected.endswith(">"):
        return actual is not None
    if isinstance(expected, dict):
        return isinstance(actual, dict) and expected.keys() == actual.keys() and all(
            same_json(v, actual[k]) for k, v in expected.items())
    return expected == actual


def get_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The world the examples read, served by `nsi serve` on a free port; yields (port, environment, folder)."""
    from importers import run_import
    from registry.models import CatalogCreate
    from registry.store import Store
    env = {k: v for k, v in os.environ.items() if not k.startswith("NSI_")}
    env.update(NSI_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    monkeypatch.setenv("NSI_DATA_DIR", env["NSI_DATA_DIR"])
    monkeypatch.delenv("NSI_DATABASE_URL", raising=False)
    store = Store.init()
    store.create_catalog(CatalogCreate(slug="icd10", title="МКБ-10", kind="classification"))
    for label, name in (("2023", "icd_v1.jsonl"), ("2024", "icd_v2.jsonl")):
        run_import(store, API_DATA / name, catalog="icd10", version=label, publish=True)
    lines = (API_DATA / "icd_v2.jsonl").read_text(encoding="utf-8").splitlines()
    work = tmp_path / "work"
    work.mkdir()
    (work / "icd10-2025.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # A03 removed
    (tmp_path / "2026.jsonl").write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")
    run_import(store, tmp_path / "2026.jsonl", catalog="icd10", version="2026")  # a draft, to be discarded
    store.create_catalog(CatalogCreate(slug="local", title="Local codes"))
    (tmp_path / "local.jsonl").write_text('{"code": "L01", "display": "Холера"}\n'
                                          '{"code": "L02", "display": "Брюшной тиф"}\n', encoding="utf-8")
    run_import(store, tmp_path / "local.jsonl", catalog="local", version="1", publish=True)
    store.engine.dispose()
    from test_importers_side_files import BLOCKS, ENGLISH, FLAGS, MAIN, PROFILE  # the side-file upload's files
    for name, text in {"main.csv": MAIN, "en.csv": ENGLISH, "flags.csv": FLAGS, "blocks.txt": BLOCKS}.items():
        (work / name).write_text(text, encoding="utf-8")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "icd-sides.toml").write_text(PROFILE, encoding="utf-8")
    env["NSI_CATALOGS_DIR"] = str(tmp_path / "profiles")
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", "from cli import main; main()", "serve", "--port", str(port),
                               "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/healthz", timeout=5)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nsi serve did not come up: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield port, env, work
    server.send_signal(signal.SIGINT)
    server.communicate(timeout=60)


def test_every_example_of_api_md_answers_as_documented(served):
    port, env, work = served
    base = f"http://127.0.0.1:{port}"
    nsi = f"nsi() {{ '{sys.executable}' -c 'from cli import main; main()' \"$@\"; }}; "
    variables: dict[str, str] = {}
    ran = 0

    def bash(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", nsi + script], cwd=work, env={**env, **variables},
                              capture_output=True, text=True, encoding="utf-8", timeout=120)

    for number, command, comment in examples():
        command = command.replace("http://localhost:8000", base)
        where = f"docs/api.md line {number}: {command}"
        assignment = ASSIGNMENT.match(command)
        if assignment:
            if "..." in assignment["value"]:  # a placeholder the test fills in (JOB, from the upload)
                assert assignment["name"] in variables, where
                continue
            done = bash(f'{command}; printf %s "${assignment["name"]}"')
            assert done.returncode == 0 and done.stdout, f"{where}: {done.stderr}"
            variables[assignment["name"]] = done.stdout
            continue
        assert command.startswith("curl "), where
        urls = [word for word in shlex.split(command) if word.startswith(("$API", "http"))]
        assert len(urls) == 1 and urls[0].isascii(), f"{where}: raw UTF-8 in a URL gets a 400 from gunicorn"
        done = bash(command + " -w '%{stderr}@@%{http_code}'")
        status = int(done.stderr.rsplit("@@", 1)[-1])
        expected = int(comment.split()[0]) if comment[:3].isdigit() else None
        if expected:
            assert status == expected, f"{where}: {status} {done.stdout[:500]}"
        else:
            assert 200 <= status < 300, f"{where}: {status} {done.stdout[:500]}"
        if comment.startswith("{"):
            assert same_json(json.loads(comment), json.loads(done.stdout)), f"{where}: {done.stdout}"
        location = re.search(r"^Location: (\S+)", done.stdout, re.MULTILINE | re.IGNORECASE)
        if location and "/jobs/" in location[1]:
            variables["JOB"] = location[1].rsplit("/", 1)[1]
            for _ in range(300):
                job = get_json(base + location[1], variables["TOKEN"])
                if job["status"] in ("succeeded", "failed"):
                    break
                time.sleep(0.1)
            assert job["status"] == "succeeded", f"{where}: {job}"
        ran += 1
    assert ran >= 40  # every curl example ran, not a handful (48 when written)
