"""What `nsi import` and `nsi match` load: never the web stack, and `nsi match` no table models but the catalogs'.

Every module a command imports is start-up time it pays on each run; `nsi match` is timed as a whole
command against brute force (issue 22), so Flask or table models loaded by accident would show there
first. Each command runs as a real process, which reports the modules it ended with.
"""

from __future__ import annotations

import ast
import json

import pytest

from nsi_process import run_nsi

# Run before the CLI: at exit, print the loaded modules of the web stack and the table models on stderr.
REPORT = """
import atexit, sys
def _report():
    print("web modules:", sorted(m for m in sys.modules if m.split(".")[0] in ("flask", "werkzeug", "jinja2")),
          file=sys.stderr)
    print("table models:", sorted(m for m in sys.modules if m.startswith("registry.models.")), file=sys.stderr)
atexit.register(_report)
"""


def loaded(stderr: str, what: str) -> list[str]:
    """The module list the report printed after `what:`."""
    line = next(line for line in stderr.splitlines() if line.startswith(f"{what}: "))
    return ast.literal_eval(line.partition(": ")[2])


@pytest.fixture
def published(db_env, tmp_path):
    """Catalog `atc` with a published version of two entries, imported by `nsi import` (whose run is returned)."""
    target = tmp_path / "atc.jsonl"
    target.write_text("".join(json.dumps(e) + "\n" for e in (
        {"code": "N02BE01", "display": "paracetamol"}, {"code": "M01AE01", "display": "ibuprofen"})),
        encoding="utf-8")
    created = run_nsi("catalog", "create", "atc", "--title", "ATC", "--kind", "drug", "--language", "en")
    assert created.returncode == 0, created.stderr
    return run_nsi("import", str(target), "--catalog", "atc", "--version", "1", "--format", "jsonl", "--publish",
                   hook=REPORT)


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_import_loads_no_web_modules(published):
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith("Published atc 1: 2 entries; the catalog's first version (")
    assert loaded(published.stderr, "web modules") == []


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_match_loads_no_web_modules_and_only_the_catalog_tables(published, tmp_path):
    queries = tmp_path / "local.csv"
    queries.write_text("local_code,local_name\nL1,Парацетамол\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    run = run_nsi("match", "--target", "atc@1", "--input", str(queries), "--output", str(out), "--limit", "1",
                  hook=REPORT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"Matched 1 entries against atc 1: 1 candidates written to {out} (")
    assert out.read_text(encoding="utf-8").splitlines()[1].split(",")[:4] == ["L1", "Парацетамол", "1", "N02BE01"]
    assert loaded(run.stderr, "web modules") == []
    assert loaded(run.stderr, "table models") == ["registry.models.catalog"]


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_the_report_sees_a_web_module_when_one_is_loaded(published, tmp_path):
    """The check above can fail: a command that did load Flask is reported."""
    run = run_nsi("catalog", "list", hook=REPORT + "import flask\n")
    assert run.returncode == 0, run.stderr
    assert "flask" in loaded(run.stderr, "web modules")
