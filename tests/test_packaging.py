"""The built wheel works like the checkout: installed in a fresh virtual environment and run from another folder.

The wheel is built from a copy of the project's files (so the checkout gets no build/ or egg-info),
installed with --no-deps into a venv that borrows this interpreter's packages (flask, sqlalchemy, ...)
through a plain path entry: the venv sees neither the checkout nor an editable install of it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import flask
import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ["setup.py", "setup.cfg", "pyproject.toml", "README.md", "cli.py", "registry", "importers",
                 "catalogs"]
SAMPLE_CATALOGS = ["atc-who", "drugs-kz-knf", "facilities-cms", "icd10-ru", "icd10-who"]


def can_build_offline() -> bool:
    """Whether this interpreter's setuptools builds wheels by itself (70.1 on) or has the `wheel` package."""
    try:
        version = tuple(int(p) for p in importlib.metadata.version("setuptools").split(".")[:2])
    except importlib.metadata.PackageNotFoundError:
        return False
    return version >= (70, 1) or importlib.util.find_spec("wheel") is not None


def build_wheel(tmp: Path) -> Path:
    """Build the project's wheel from a copy of its files; offline when the test extra's setuptools is there."""
    src = tmp / "src"
    src.mkdir()
    for name in PROJECT_FILES:
        if not (ROOT / name).exists():
            continue
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    isolation = ["--no-build-isolation"] if can_build_offline() else []
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w",
                            str(tmp / "dist"), str(src)], cwd=tmp, capture_output=True, text=True, timeout=300)
    if built.returncode != 0 and not isolation:
        pytest.skip(f"cannot build the wheel: no setuptools>=70.1 here (pip install -e '.[test]') and the build "
                    f"environment could not be fetched: {built.stderr[-300:]}")
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("nsi_registry-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel path, venv bin folder, environment) of the wheel installed in a fresh venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(tmp)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # A plain path line: this interpreter's packages come after the venv's own, and its .pth files (an editable
    # install of the checkout, say) are not run.
    Path(purelib, "_dependencies.pth").write_text(str(Path(flask.__file__).parent.parent) + "\n")
    # Without PYTHONPATH (a checkout there may hold an egg-info that pip takes for this very package, installed).
    env = {k: v for k, v in os.environ.items() if not k.startswith("NSI_") and k != "PYTHONPATH"}
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                              "--no-index", "--force-reinstall", str(wheel)], env=env, capture_output=True, text=True,
                             timeout=300)
    assert install.returncode == 0, install.stderr
    assert (venv / "bin" / "nsi").is_file(), install.stdout + install.stderr
    env["NSI_DATA_DIR"] = str(tmp / "data")
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return wheel, venv / "bin", env, elsewhere


def run(installed, *args, **kwargs) -> subprocess.CompletedProcess:
    """Run a program of the venv from the other folder."""
    _, bin_dir, env, elsewhere = installed
    return subprocess.run([str(bin_dir / args[0]), *args[1:]], cwd=elsewhere, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120, **kwargs)


def test_the_wheel_ships_profiles_and_samples_and_no_top_level_cli_module(installed):
    names = zipfile.ZipFile(installed[0]).namelist()
    top_level = sorted({n.split("/")[0] for n in names if not n.startswith("nsi_registry-")})
    assert top_level == ["importers", "registry"]  # no generic `cli` module that another package could shadow
    shipped = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "catalogs").rglob("*") if p.is_file())
    assert sorted(n for n in names if n.startswith("registry/catalogs/")) == sorted(f"registry/{p}" for p in shipped)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "nsi = registry.cli:main" in zipfile.ZipFile(installed[0]).read(entry_points).decode()


def test_the_installed_nsi_runs_from_another_folder(installed):
    where = run(installed, "python", "-c", "import registry, importers; print(registry.__file__, importers.__file__)")
    assert all(str(installed[1].parent) in path for path in where.stdout.split()), where.stdout
    helped = run(installed, "nsi", "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: nsi [OPTIONS] COMMAND [ARGS]...")
    assert {"import", "demo", "profiles", "serve"} <= {line.split()[0] for line in
                                                       helped.stdout.split("Commands:")[1].splitlines() if line}
    profiles = run(installed, "nsi", "profiles")
    assert profiles.returncode == 0, profiles.stderr
    assert [line.split("\t")[0] for line in profiles.stdout.splitlines()] == sorted(
        p.stem for p in (ROOT / "catalogs").glob("*.toml"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, accept: str = "*/*") -> tuple[int, str, str]:
    """GET url; (status, content type, body)."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers.get_content_type(), response.read().decode("utf-8")


def readme_curl_urls(port: int) -> list[str]:
    """The URLs of the README quick start's curl examples, on `port`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("curl -s") and "localhost:8000" in line]
    assert len(lines) >= 5
    return [line.split()[-1].strip("\"'").replace("localhost:8000", f"http://127.0.0.1:{port}") for line in lines]


def test_nsi_demo_from_the_wheel_imports_the_samples_and_serves_them(installed):
    _, bin_dir, env, elsewhere = installed
    port = free_port()
    demo = subprocess.Popen([str(bin_dir / "nsi"), "demo", "--port", str(port), "--workers", "1"], cwd=elsewhere,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                fetch(f"{base}/api/v1/healthz")
                break
            except OSError:
                if demo.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nsi demo did not come up: {demo.communicate(timeout=30)[1][-2000:]}")
                time.sleep(0.3)
        status, _, body = fetch(f"{base}/api/v1/catalogs")
        assert [c["slug"] for c in json.loads(body)["items"]] == SAMPLE_CATALOGS
        status, kind, page = fetch(f"{base}/", accept="text/html,*/*;q=0.8")
        assert (status, kind) == (200, "text/html") and "/api/v1/docs" in page and "МКБ-10" in page
        for url in readme_curl_urls(port):
            assert fetch(url)[0] == 200, url
    finally:
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)
    assert "Loaded the sample catalogs into sqlite:///" in err
    assert (Path(env["NSI_DATA_DIR"]) / "nsi.db").is_file()
