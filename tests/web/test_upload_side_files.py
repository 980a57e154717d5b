"""Side files through the upload API: file parts `with.NAME` make the version `nsi import --with NAME=PATH` makes."""

from __future__ import annotations

import io
import time

import pytest

from cli import cli
from registry import jobs
from test_importers_side_files import BLOCKS, ENGLISH, FLAGS, MAIN, PROFILE

FILES = {"main.csv": MAIN, "en.csv": ENGLISH, "flags.csv": FLAGS, "blocks.txt": BLOCKS}
SIDES = {"english": "en.csv", "flags": "flags.csv", "blocks": "blocks.txt"}


@pytest.fixture
def profiles(tmp_path, monkeypatch):
    """Profile `icd-sides` (three side files: translations, attributes, groups) in an operator's NSI_CATALOGS_DIR."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "icd-sides.toml").write_text(PROFILE, encoding="utf-8")
    monkeypatch.setenv("NSI_CATALOGS_DIR", str(folder))
    return folder


@pytest.fixture
def files(tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.fixture
def headers(tokens, bearer):
    return bearer(tokens["importer"])


def post(client, headers, files, sides=SIDES, **form):
    """Upload main.csv with the side files `sides` ({part name without `with.`: file name}) into catalog `icd`."""
    data = {"file": (io.BytesIO((files / "main.csv").read_bytes()), "main.csv"), "version": "1",
            "profile": "icd-sides", **form}
    for name, file_name in sides.items():
        data[f"with.{name}"] = (io.BytesIO((files / file_name).read_bytes()), file_name)
    return client.post("/api/v1/catalogs/icd/imports", headers=headers, content_type="multipart/form-data",
                       data=data)


def finished(client, headers, response) -> dict:
    assert response.status_code == 202, response.get_json()
    deadline = time.monotonic() + 30
    while True:
        job = client.get(response.headers["Location"], headers=headers).get_json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def cli_import(runner, files, catalog: str):
    return runner.invoke(cli, ["import", str(files / "main.csv"), "--catalog", catalog, "--version", "1",
                               "--profile", "icd-sides", *[a for name, file_name in SIDES.items()
                                                          for a in ("--with", f"{name}={files / file_name}")]])


def test_an_upload_with_side_files_is_the_version_nsi_import_with_makes(store, client, headers, profiles, files,
                                                                         runner):
    job = finished(client, headers, post(client, headers, files))
    assert job["status"] == "succeeded", job
    assert (job["report"]["status"], job["report"]["entries"]) == ("staged", 7)
    result = cli_import(runner, files, "icd-cli")
    assert result.exit_code == 0, result.output
    api, by_cli = store.resolve("icd", "1"), store.resolve("icd-cli", "1")
    assert api.checksum and api.checksum == by_cli.checksum
    assert store.get_version("icd", "1").source_sha256 == store.get_version("icd-cli", "1").source_sha256
    entries = {e["code"]: e for e in store.iter_entries("icd", "1")}
    assert entries == {e["code"]: e for e in store.iter_entries("icd-cli", "1")}
    # what each side file brought: an English designation, an attribute, a block as parent
    assert entries["A00.0"]["designations"] == [{"language": "en", "use": "translation",
                                                 "text": "Cholera due to Vibrio cholerae 01"}]
    assert entries["B15"]["attributes"] == {"notifiable": False} and entries["B15"]["parents"] == ["B15-B19"]
    assert not (store.data_dir / "uploads" / job["id"]).exists()  # the job cleared its files


def test_side_files_wait_beside_the_upload_for_a_queued_job(store, profiles, files, tokens, bearer):
    from registry.web import create_app
    headers = bearer(tokens["importer"])
    client = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False,
                         "NSI_RUN_JOBS": False}).test_client()
    r = post(client, headers, files)
    assert r.status_code == 202 and r.get_json()["status"] == "queued"
    job_id = r.get_json()["id"]
    folder = store.data_dir / "uploads" / job_id
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "+with/blocks/blocks.txt", "+with/english/en.csv", "+with/flags/flags.csv", "main.csv"]
    [thread] = jobs.run_queued(store)
    thread.join(30)
    job = jobs.get_job(store, job_id)
    assert (job["status"], job["report"]["entries"]) == ("succeeded", 7), job
    assert not folder.exists()


def test_an_empty_side_file_is_a_400_before_any_job(store, client, headers, profiles, files):
    (files / "flags.csv").write_text("", encoding="utf-8")
    r = post(client, headers, files)
    assert r.status_code == 400
    assert r.get_json()["error"]["message"] == "file part with.flags: the file flags.csv is empty"
    assert jobs_count(store) == 0 and list((store.data_dir / "uploads").glob("*/*")) == []


@pytest.mark.parametrize("sides, form, message", [
    ({**SIDES, "french": "en.csv"}, {}, "file part with.french: profile icd-sides has no side file 'french' (it "
                                        "joins english, flags, blocks; see its [[with]] tables)"),
    ({"english": "en.csv", "flags": "flags.csv"}, {},
     "profile icd-sides joins the groups file 'blocks': upload it as file part with.blocks"),
    ({"english": "en.csv"}, {"profile": "", "format": "csv"},
     "file part(s) with.english: side files need a profile that declares them ([[with]] tables); the upload "
     "names no profile"),
    ({"english": "en.csv"}, {"profile": "icd10-ru-fnsi"},
     "file part(s) with.english: side files need a profile that declares them ([[with]] tables); profile "
     "icd10-ru-fnsi declares none"),
])
def test_a_wrong_or_missing_side_file_is_a_400_before_any_job(store, client, headers, profiles, files, sides, form,
                                                              message):
    r = post(client, headers, files, sides, **form)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["message"] == message
    assert jobs_count(store) == 0 and not store.has_catalog("icd")
    assert list((store.data_dir / "uploads").glob("*/*")) == []  # nothing of the upload is left


def test_a_file_part_that_is_neither_file_nor_a_side_file_is_refused(store, client, headers, profiles, files):
    r = client.post("/api/v1/catalogs/icd/imports", headers=headers, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(MAIN.encode()), "main.csv"), "version": "1", "profile": "icd-sides",
                          "attachment": (io.BytesIO(b"x"), "x.csv")})
    assert r.status_code == 400
    assert r.get_json()["error"]["message"] == ("unknown file part `attachment`: the upload takes `file` and side "
                                                "files as `with.NAME`")
    assert jobs_count(store) == 0


def jobs_count(store) -> int:
    import sqlalchemy as sa
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(jobs.J)).scalar()


def test_a_bad_row_in_a_side_file_fails_the_job_naming_the_file_row_and_column(store, client, headers, profiles,
                                                                                files, runner):
    (files / "flags.csv").write_text(FLAGS.replace("B15;;N", "B15;;vielleicht"), encoding="utf-8")
    job = finished(client, headers, post(client, headers, files))
    assert job["status"] == "failed"
    error = job["error"]["error"]
    assert error["code"] == "import_rejected"
    assert [(e["file"], e["row"], e["column"], e["message"]) for e in error["details"]["errors"]] == [
        ("flags.csv", 4, "REPORT", "'vielleicht' is not a yes/no value (attribute notifiable)")]
    assert not store.has_catalog("icd")  # nothing stored, not even the catalog the profile would create
    by_cli = cli_import(runner, files, "icd")  # `nsi import --with` says the same of the same file
    assert by_cli.exit_code == 1
    assert by_cli.stderr.splitlines()[0] == (f"Error: import rejected: {files / 'flags.csv'}, row 4, column REPORT: "
                                             f"'vielleicht' is not a yes/no value (attribute notifiable)")



@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)  # PostgreSQL keeps both in the job row
@pytest.mark.parametrize("upload_name", ["progress", "progress.tmp"])
def test_the_jobs_own_files_never_overwrite_an_upload_of_their_name(store, upload_name):
    """A job keeps its row count and heartbeat (SQLite) beside the upload: an upload of that name stays intact."""
    folder = jobs.upload_dir(store, "job-1")
    upload = folder / upload_name
    upload.write_text(MAIN, encoding="utf-8")
    jobs._progress_writer(store, "job-1", upload)(1234)
    assert upload.read_text(encoding="utf-8") == MAIN
    assert jobs._read_progress_file(folder) == 1234
    assert {jobs._progress_file(folder).name, jobs._heartbeat_file(folder).name}.isdisjoint(
        {"progress", "heartbeat"})  # names an upload may have (secure_filename keeps them)
