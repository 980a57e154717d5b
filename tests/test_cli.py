"""The core `nsi` commands through click's CliRunner: whole outputs, errors included."""

from __future__ import annotations

import json
import os

import pytest

from cli import cli


@pytest.fixture
def nsi(db_env, runner):
    """Run `nsi ARGS` on a fresh database; returns the click Result (stdout and stderr apart)."""
    def run(*args, input=None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    return run


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


V1 = [{"code": "A00", "display": "Холера"}, {"code": "A00.0", "display": "Холера классическая", "parents": ["A00"]},
      {"code": "A01", "display": "Тиф"}]
V2 = [{"code": "A00", "display": "Холера"}, {"code": "A00.0", "display": "Холера, вызванная вибрионом",
                                              "parents": ["A00"]},
      {"code": "A02", "display": "Сальмонеллез"}]


def test_catalog_commands(nsi):
    r = nsi("catalog", "create", "icd10", "--title", "МКБ-10", "--kind", "classification", "--oid", "1.2.3")
    assert (r.exit_code, r.stdout) == (0, "Created catalog icd10: МКБ-10\n")
    r = nsi("catalog", "create", "icd10", "--title", "again")
    assert (r.exit_code, r.stdout, r.stderr) == (1, "", "Error: catalog icd10 exists already\n")
    assert nsi("catalog", "list").stdout == "icd10\tclassification\tМКБ-10\tno published version\n"
    assert nsi("catalog", "show", "icd10").stdout == (
        "icd10: МКБ-10\n  kind: classification\n  oid: 1.2.3\n  language: ru\n  versions: 0\n")
    r = nsi("catalog", "show", "nope")
    assert (r.exit_code, r.stderr) == (1, "Error: no catalog 'nope'\n")


def test_import_publish_diff_export_lookup(nsi, tmp_path):
    nsi("catalog", "create", "icd10", "--title", "ICD-10", "--kind", "classification")
    r = nsi("import", write_jsonl(tmp_path / "v1.jsonl", V1), "--catalog", "icd10", "--version", "1",
            "--format", "jsonl", "--publish")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Published icd10 1: 3 entries; the catalog's first version (")
    r = nsi("import", write_jsonl(tmp_path / "v2.jsonl", V2), "--catalog", "icd10", "--version", "2",
            "--format", "jsonl")
    assert r.stdout.splitlines()[0].startswith("Staged draft icd10 2: 3 entries; against the latest version "
                                               "1 added, 1 changed, 1 removed (")
    assert r.stdout.splitlines()[1] == ("Review with `nsi diff icd10 latest 2`, then `nsi publish icd10 2` or "
                                        "`nsi discard icd10 2`.")
    r = nsi("publish", "icd10", "2")
    assert r.stdout == "Published icd10 2 as sequence 2: 3 entries, 1 added, 1 changed, 1 removed\n"
    assert nsi("diff", "icd10", "1", "2").stdout == (
        "icd10 1 -> 2: 1 added, 1 removed, 1 changed\n"
        "+ A02\tСальмонеллез\n"
        "- A01\tТиф\n"
        "~ A00.0\tdisplay: Холера классическая -> Холера, вызванная вибрионом\n")
    d = json.loads(nsi("diff", "icd10", "1", "latest", "--format", "json").stdout)
    assert (d["from"], d["to"], d["counts"]) == ("1", "2", {"added": 1, "removed": 1, "changed": 1})
    assert nsi("lookup", "icd10", "A00.0", "--version", "1").stdout == (
        "A00.0\tХолера классическая\n  version: 1\n  status: active\n  parents: A00\n")
    r = nsi("lookup", "icd10", "B99")
    assert (r.exit_code, r.stderr) == (1, "Error: code 'B99' is not in icd10 version 2\n")
    out = nsi("export", "icd10", "latest").stdout
    assert out == ('{"code":"A00","display":"Холера","designations":[],"parents":[],"status":"active","attributes":{}}\n'
                   '{"code":"A00.0","display":"Холера, вызванная вибрионом","designations":[],"parents":["A00"],'
                   '"status":"active","attributes":{}}\n'
                   '{"code":"A02","display":"Сальмонеллез","designations":[],"parents":[],"status":"active",'
                   '"attributes":{}}\n')
    assert nsi("export", "icd10", "1", "--format", "csv").stdout == (
        "code,display,parents,status,designations,attributes\n"
        "A00,Холера,,active,,\nA00.0,Холера классическая,A00,active,,\nA01,Тиф,,active,,\n")
    r = nsi("export", "icd10", "latest", "-o", str(tmp_path / "out.jsonl"))
    assert r.stdout == f"Wrote 3 entries of icd10 2 to {tmp_path / 'out.jsonl'}\n"
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == out
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o666 & ~_umask()  # not the temp file's private 0600
    r = nsi("export", "icd10", "9.99", "-o", str(tmp_path / "out.jsonl"))
    assert (r.exit_code, r.stderr) == (1, "Error: catalog icd10 has no version '9.99'\n")
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == out     # an existing file is never emptied
    r = nsi("export", "icd10", "latest", "-o", str(tmp_path / "no" / "dir.jsonl"))
    assert (r.exit_code, r.stderr) == (1, f"Error: cannot write {tmp_path / 'no' / 'dir.jsonl'}: "
                                          f"No such file or directory\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out.jsonl", "v1.jsonl", "v2.jsonl"]  # no temp left
    assert nsi("versions", "icd10").stdout.splitlines()[1].startswith("2\tpublished\tseq 2\t3 entries\t+1 ~1 -1\t")


def test_round_trip_is_byte_identical(nsi, tmp_path):
    rows = [{"code": f"C{i:03d}", "display": f"Entry «{i}» = \"x\"", "parents": ["C000"] if i else [],
             "designations": [{"language": "en", "use": "synonym", "text": f"entry {i}"}],
             "attributes": {"n": i, "flag": i % 2 == 0}} for i in range(30)]
    for slug in ("one", "two"):
        nsi("catalog", "create", slug, "--title", slug)
    nsi("import", write_jsonl(tmp_path / "a.jsonl", rows), "--catalog", "one", "--version", "1", "--publish")
    nsi("export", "one", "latest", "-o", str(tmp_path / "e1.jsonl"))
    nsi("import", str(tmp_path / "e1.jsonl"), "--catalog", "two", "--version", "1", "--publish")
    nsi("export", "two", "latest", "-o", str(tmp_path / "e2.jsonl"))
    first = (tmp_path / "e1.jsonl").read_bytes()
    assert first == (tmp_path / "e2.jsonl").read_bytes()
    assert [json.loads(line) for line in first.decode().splitlines()] == sorted(
        [{"code": r["code"], "display": r["display"], "designations": r["designations"], "parents": r["parents"],
          "status": "active", "attributes": dict(sorted(r["attributes"].items()))} for r in rows],
        key=lambda e: e["code"])


def test_import_errors_are_one_clear_story(nsi, tmp_path):
    nsi("catalog", "create", "icd10", "--title", "ICD-10")
    path = tmp_path / "bad.jsonl"
    path.write_text('{"code": "A", "display": "a"}\n{"code": "A", "display": "b"}\n{"code": "B", '
                    '"parents": ["Z"]}\n', encoding="utf-8")
    r = nsi("import", str(path), "--catalog", "icd10", "--version", "1")
    assert r.exit_code == 1
    assert r.stderr == (f"Error: import rejected: {path}, row 2, column code: duplicate code A (first at row 1) "
                        f"(and 1 more error)\n"
                        f"  {path}, row 3, column parents: entry B has unknown parent Z\n"
                        "Nothing was stored.\n")
    path.write_text('{"code": "A"\n', encoding="utf-8")
    r = nsi("import", str(path), "--catalog", "icd10", "--version", "1")
    assert r.stderr.startswith(f"Error: import rejected: {path}, row 1: not valid JSON: ")
    r = nsi("import", str(tmp_path / "missing.jsonl"), "--catalog", "icd10", "--version", "1")
    assert (r.exit_code, r.stderr) == (1, f"Error: import rejected: {tmp_path / 'missing.jsonl'}: no such file: "
                                          f"{tmp_path / 'missing.jsonl'}\nNothing was stored.\n")
    assert nsi("versions", "icd10").stdout == "Catalog icd10 has no versions yet.\n"


def test_dry_run_discard_retire(nsi, tmp_path):
    nsi("catalog", "create", "icd10", "--title", "ICD-10")
    f = write_jsonl(tmp_path / "v1.jsonl", V1)
    r = nsi("import", f, "--catalog", "icd10", "--version", "1", "--dry-run")
    assert r.stdout.startswith("Checked (dry run, nothing stored) icd10 1: 3 entries;")
    assert nsi("versions", "icd10").stdout == "Catalog icd10 has no versions yet.\n"
    nsi("import", f, "--catalog", "icd10", "--version", "1")
    assert nsi("import", f, "--catalog", "icd10", "--version", "1b").stdout == (
        "v1.jsonl was already imported as version 1 of icd10 (same sha256); no new version created. Version 1 "
        "is still a draft: `nsi publish icd10 1` publishes it, `nsi discard icd10 1` drops it so that the file can "
        "be imported again\n")
    assert nsi("discard", "icd10", "1").stdout == "Discarded draft icd10 1\n"
    nsi("import", f, "--catalog", "icd10", "--version", "1", "--publish")
    assert nsi("import", f, "--catalog", "icd10", "--version", "1b").stdout == (
        "v1.jsonl was already imported as version 1 of icd10 (same sha256); no new version created (to import the "
        "file again, with another profile say, retire version 1 first)\n")
    assert nsi("retire", "icd10", "1").stdout == "Retired icd10 1\n"
    # Retired, the version no longer stands for the file: it may be imported again.
    assert nsi("import", f, "--catalog", "icd10", "--version", "1b").stdout.startswith("Staged draft icd10 1b: 3 entries")
    r = nsi("retire", "icd10", "1")
    assert (r.exit_code, r.stderr) == (1, "Error: version 1 of icd10 is retired; only a published version can be "
                                          "retired\n")


def test_csv_export_escapes_formulas_in_every_cell(nsi, tmp_path):
    nsi("catalog", "create", "evil", "--title", "Formulas")
    rows = [{"code": "@SUM(1)", "display": "+cmd"}, {"code": "B1", "display": "child", "parents": ["@SUM(1)"]}]
    assert nsi("import", write_jsonl(tmp_path / "evil.jsonl", rows), "--catalog", "evil", "--version", "1",
               "--format", "jsonl", "--publish").exit_code == 0
    assert nsi("export", "evil", "1", "--format", "csv").stdout == (
        "code,display,parents,status,designations,attributes\n"
        "'@SUM(1),'+cmd,,active,,\nB1,child,'@SUM(1),active,,\n")


def test_uninitialised_database_is_a_clear_error(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("NSI_DATABASE_URL", raising=False)
    r = runner.invoke(cli, ["catalog", "list"])
    assert r.exit_code == 1
    assert r.stderr == (f"Error: the database at sqlite:///{tmp_path / 'empty' / 'nsi.db'} is not initialised: "
                        f"run `nsi init` (or `nsi db upgrade`)\n")
    r = runner.invoke(cli, ["init"])
    assert r.stdout == f"Initialised sqlite:///{tmp_path / 'empty' / 'nsi.db'} (data directory {tmp_path / 'empty'})\n"
    assert runner.invoke(cli, ["catalog", "list"]).stdout == (
        "No catalogs yet. Create one with: nsi catalog create SLUG --title TITLE\n")
    assert runner.invoke(cli, ["db", "upgrade"]).stdout.startswith("Database schema at ")


@pytest.mark.parametrize("url, message", [
    ("bogus://x", "Error: NSI_DATABASE_URL 'bogus://x' is not supported: use sqlite:///PATH or "
                  "postgresql+psycopg://USER@HOST:PORT/DATABASE\n"),
    ("notaurl", "Error: NSI_DATABASE_URL 'notaurl' is not supported: use sqlite:///PATH or "
                "postgresql+psycopg://USER@HOST:PORT/DATABASE\n"),
])
def test_a_wrong_database_url_is_one_clear_line(runner, monkeypatch, tmp_path, url, message):
    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NSI_DATABASE_URL", url)
    for args in (["catalog", "list"], ["init"]):
        r = runner.invoke(cli, args, catch_exceptions=False)
        assert (r.exit_code, r.stdout, r.stderr) == (1, "", message)


def test_an_unreachable_postgresql_server_is_one_clear_line(runner, monkeypatch, tmp_path):
    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NSI_DATABASE_URL", "postgresql+psycopg://nsi:secret@127.0.0.1:1/none")
    for args in (["catalog", "list"], ["init"]):
        r = runner.invoke(cli, args, catch_exceptions=False)
        assert r.exit_code == 1 and r.stdout == ""
        assert r.stderr.startswith("Error: cannot open the database at postgresql+psycopg://nsi:***@127.0.0.1:1/none: ")
        assert "secret" not in r.stderr and "Traceback" not in r.stderr


def test_a_data_dir_that_cannot_be_created_is_one_clear_line(runner, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("NSI_DATA_DIR", str(blocker / "data"))
    monkeypatch.delenv("NSI_DATABASE_URL", raising=False)
    r = runner.invoke(cli, ["init"], catch_exceptions=False)
    assert (r.exit_code, r.stdout, r.stderr) == (
        1, "", f"Error: cannot create the data directory (NSI_DATA_DIR) {blocker / 'data'}: Not a directory\n")
    assert blocker.read_text() == "not a directory"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_import_help_names_every_format_the_importers_read():
    """The --format help is written out (importing the importers would slow every command); it must not drift."""
    from importers.formats import FORMATS
    from registry.cli.imports import import_
    option = next(p for p in import_.params if p.name == "fmt")
    assert option.help == f"Input format ({', '.join(FORMATS)})"
