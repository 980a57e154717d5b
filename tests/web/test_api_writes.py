"""Writes through the API: tokens and roles, creating catalogs, uploads as jobs, publish/discard/retire, recovery."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

from registry import auth, jobs

ROOT = Path(__file__).resolve().parents[2]
V = "/api/v1/catalogs/icd10/versions"


def wait_job(client, location, headers, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(location, headers=headers).get_json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def upload(client, api_data, headers, version="2025", name="icd_v2.jsonl", extra=b""):
    data = (api_data / name).read_bytes() + extra
    return client.post("/api/v1/catalogs/icd10/imports", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name), "version": version, "format": "jsonl"})


def test_writes_need_a_token_with_the_right_role(client, tokens, bearer):
    body = {"slug": "atc", "title": "ATC", "kind": "drug"}
    r = client.post("/api/v1/catalogs", json=body)
    assert r.status_code == 401
    assert r.get_json()["error"] == {"code": "unauthorized", "details": None, "message":
                                     "this operation needs an API token (Authorization: Bearer ...) with role "
                                     "importer or admin"}
    r = client.post("/api/v1/catalogs", json=body, headers=bearer("nsi_wrong"))
    assert r.status_code == 401
    assert r.get_json()["error"]["message"] == "the API token is not valid (revoked or mistyped)"
    r = client.post("/api/v1/catalogs", json=body, headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    for role in ("reader", "reviewer"):
        r = client.post("/api/v1/catalogs", json=body, headers=bearer(tokens[role]))
        assert r.status_code == 403
        assert r.get_json()["error"]["message"] == (f"token 't-{role}' has role {role}; this operation needs "
                                                    f"importer or admin")
    r = client.post("/api/v1/catalogs", json=body, headers=bearer(tokens["admin"]))
    assert r.status_code == 201
    assert r.headers["Location"] == "/api/v1/catalogs/atc"
    assert r.get_json()["kind"] == "drug"
    assert client.post("/api/v1/catalogs", json=body, headers=bearer(tokens["admin"])).status_code == 409
    r = client.post("/api/v1/catalogs", json={"slug": "x"}, headers=bearer(tokens["admin"]))
    assert r.status_code == 400 and r.get_json()["error"]["details"]["errors"][0]["field"] == "title"


def test_401_names_the_bearer_scheme(client, tokens, bearer):
    for r in (client.post("/api/v1/catalogs", json={}), client.post("/api/v1/catalogs", json={},
                                                                    headers=bearer("nsi_wrong"))):
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="NSI Registry"'
    assert "WWW-Authenticate" not in client.post("/api/v1/catalogs", json={},
                                                 headers=bearer(tokens["reader"])).headers  # 403


def test_revoked_tokens_stop_working(store, client, tokens, bearer):
    auth.revoke_token(store, "t-importer")
    r = client.post("/api/v1/catalogs", json={"slug": "a", "title": "A"}, headers=bearer(tokens["importer"]))
    assert r.status_code == 401


def test_tokens_are_stored_hashed(store, tokens):
    import sqlalchemy as sa
    with store.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(sa.text("SELECT token_hash, prefix FROM api_token"))]
    assert len(stored) == 4
    for secret in tokens.values():
        assert (auth.hash_secret(secret), secret[:12]) in stored
        assert all(secret not in h for h, _ in stored)


def test_upload_runs_as_a_job_into_a_draft_that_can_be_published(loaded, client, tokens, bearer, api_data):
    headers = bearer(tokens["importer"])
    r = upload(client, api_data, headers, extra=b'{"code": "B00", "display": "Herpes"}\n')
    assert r.status_code == 202
    location = r.headers["Location"]
    assert location == f"/api/v1/jobs/{r.get_json()['id']}"
    job = wait_job(client, location, headers)
    assert job["status"] == "succeeded", job
    assert job["report"]["status"] == "staged"
    assert (job["report"]["entries"], job["report"]["added"]) == (10, 1)
    assert job["progress"]["rows"] == 10
    assert job["created_by"] == "t-importer" and job["source_name"] == "icd_v2.jsonl"
    assert job["links"]["draft"] == f"{V}/2025"
    assert client.get(f"{V}/2025", headers=headers).get_json()["status"] == "draft"
    assert client.get(location).status_code == 401
    r = client.post(f"{V}/2025/publish", headers=headers, json={"release_notes": "adds B00"})
    assert r.status_code == 200
    assert (r.get_json()["status"], r.get_json()["seq"], r.get_json()["release_notes"]) == ("published", 3, "adds B00")
    assert client.get(f"{V}/latest/entries/B00").get_json()["display"] == "Herpes"
    assert [t.last_used_at is not None for t in auth.list_tokens(client.application.extensions["nsi_store"])
            if t.name == "t-importer"] == [True]


def test_a_rejected_upload_fails_the_job_with_located_errors(loaded, client, tokens, bearer, api_data):
    headers = bearer(tokens["admin"])
    r = client.post("/api/v1/catalogs/icd10/imports", headers=headers, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b'{"code": "A"}\nnot json\n'), "bad.jsonl"), "version": "bad"})
    job = wait_job(client, r.headers["Location"], headers)
    assert job["status"] == "failed"
    assert job["error"]["error"]["code"] == "import_rejected"
    assert job["error"]["error"]["details"]["errors"][0]["row"] == 2
    assert job["error"]["error"]["details"]["errors"][0]["file"] == "bad.jsonl"
    assert "links" in job and "draft" not in job["links"]
    assert client.get(f"{V}/bad", headers=headers).status_code == 404


def test_upload_checks(loaded, client, tokens, bearer, api_data):
    headers = bearer(tokens["importer"])
    assert upload(client, api_data, {}).status_code == 401
    assert upload(client, api_data, bearer(tokens["reviewer"])).status_code == 403
    r = upload(client, api_data, headers, version="2024")
    assert r.status_code == 409 and r.get_json()["error"]["message"] == "catalog icd10 already has a version '2024'"
    r = client.post("/api/v1/catalogs/icd10/imports", headers=headers, data={"version": "x"})
    assert r.status_code == 400
    r = client.post("/api/v1/catalogs/nope/imports", headers=headers, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"{}"), "a.jsonl"), "version": "1"})
    assert r.status_code == 404


def test_upload_accepts_only_known_formats_and_shipped_profile_names(loaded, store, client, tokens, bearer, api_data):
    headers = bearer(tokens["importer"])

    def post(**fields):
        data = {"file": (io.BytesIO((api_data / "icd_v2.jsonl").read_bytes()), "icd.jsonl"), "version": "2025",
                **fields}
        return client.post("/api/v1/catalogs/icd10/imports", headers=headers, content_type="multipart/form-data",
                           data=data)

    known = ", ".join(sorted(p.stem for p in (ROOT / "catalogs").glob("*.toml")))
    for profile in ["/etc/passwd", str(ROOT / "catalogs" / "atc-who.toml"), "atc-who.toml", "../catalogs/atc-who",
                    "nope"]:
        r = post(profile=profile)
        assert r.status_code == 400, profile
        assert r.get_json()["error"] == {"code": "bad_request",
                                         "message": f"unknown profile {profile!r}; known profiles: {known}",
                                         "details": {"field": "profile", "known": known.split(", ")}}
    r = post(format="pdf")
    assert r.status_code == 400
    assert r.get_json()["error"]["message"] == ("unknown format 'pdf'; known formats: claml, csv, fhir-codesystem, "
                                                "fixed-width, fnsi, json, jsonl, xlsx, xml")
    with store.engine.connect() as conn:
        assert conn.execute(jobs.J.select()).all() == []  # refused before any job or upload file existed
    assert not (store.data_dir / "uploads").exists() or not any((store.data_dir / "uploads").iterdir())
    r = post(profile="icd10-ru-fnsi")
    assert r.status_code == 202 and r.get_json()["profile"] == "icd10-ru-fnsi"


def test_upload_size_limit(store, tokens, bearer):
    from registry.web import create_app
    client = create_app({"TESTING": True, "NSI_STORE": store, "NSI_MAX_UPLOAD_MB": 1}).test_client()
    r = client.post("/api/v1/catalogs/icd10/imports", headers=bearer(tokens["importer"]),
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"x" * (1024 * 1024 + 10)), "big.jsonl"), "version": "1"})
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "request_entity_too_large"


def test_discard_and_retire(loaded, store, client, tokens, bearer, tmp_path, api_data):
    from importers import run_import
    draft = tmp_path / "d.jsonl"
    draft.write_text((api_data / "icd_v1.jsonl").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    run_import(store, draft, catalog="icd10", version="tmp")
    headers = bearer(tokens["importer"])
    assert client.post(f"{V}/tmp/discard").status_code == 401
    assert client.post(f"{V}/tmp/discard", headers=headers).get_json()["status"] == "discarded"
    assert client.get(f"{V}/tmp", headers=headers).status_code == 404
    r = client.post(f"{V}/2024/discard", headers=headers)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "invalid_state"
    r = client.post(f"{V}/2024/retire", headers=headers)
    assert r.status_code == 200 and r.get_json()["status"] == "retired"
    assert client.get(f"{V}/latest").get_json()["label"] == "2023"
    assert client.get(f"{V}/2024/entries/A01.1").status_code == 200


def test_reads_can_be_closed(store, loaded, tokens, bearer):
    from registry.web import create_app
    client = create_app({"TESTING": True, "NSI_STORE": store, "NSI_READS_NEED_TOKEN": True}).test_client()
    r = client.get("/api/v1/catalogs")
    assert r.status_code == 401
    assert client.get(f"{V}/2024/entries/A00", headers=bearer("nsi_nope")).status_code == 401
    r = client.get(f"{V}/2024/entries/A00", headers=bearer(tokens["reader"]))
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "private, max-age=86400"
    assert client.get("/api/v1/healthz").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    reads = [(f"{V}/2024/validate", {"codes": ["A00"]}), ("/api/v1/translate", {"source": "icd10", "codes": ["A00"]}),
             ("/api/v1/match", {"terms": ["холера"], "catalog": "icd10"})]
    for url, body in reads:
        r = client.post(url, json=body)
        assert (r.status_code, r.get_json()["error"]["code"]) == (401, "unauthorized"), url
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="NSI Registry"'
    r = client.post(f"{V}/2024/validate", json={"codes": ["A00"]}, headers=bearer(tokens["reader"]))
    assert (r.status_code, r.get_json()["counts"]) == (200, {"valid": 1})
    r = client.post("/api/v1/translate", json={"source": "icd10", "codes": ["A00"]}, headers=bearer(tokens["reader"]))
    assert r.status_code != 401  # past the guard (404: icd10 has no published map set)
    # every POST route of the API is closed to callers without a token
    app = client.application
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.endpoint.startswith("review."):
            url = rule.rule.replace("<", "").replace(">", "").replace("path:", "")
            assert client.post(url, json={}).status_code == 401, rule.rule


def test_a_job_cut_off_by_a_crash_is_queued_again_at_start_and_runs_to_the_end(loaded, store, api_data, tmp_path):
    from importers import run_import
    from registry.web import create_app
    leftover = tmp_path / "half.jsonl"
    leftover.write_text((api_data / "icd_v1.jsonl").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    path = jobs.upload_dir(store, "deadbeef") / "half.jsonl"
    path.write_bytes(leftover.read_bytes())
    jobs.create_job(store, "deadbeef", catalog="icd10", version="half", upload_path=path, source_name="half.jsonl")
    with store.engine.begin() as conn:
        conn.execute(jobs.J.update().values(status="running", owner_pid=ended_pid()))  # its worker has died
    run_import(store, leftover, catalog="icd10", version="half", source_name="other.jsonl")  # the draft it left
    assert store.get_version("icd10", "half").status == "draft"
    create_app({"TESTING": True, "NSI_STORE": store})
    job = jobs.get_job(store, "deadbeef")
    assert (job["status"], job["error"], job["started_at"]) == ("queued", None, None)
    assert [v.label for v in store.list_versions("icd10")] == ["2023", "2024"]  # its half-made draft is gone
    assert path.is_file()  # the upload waits for a worker
    [thread] = jobs.run_queued(store, limit=5)
    thread.join(30)
    job = jobs.get_job(store, "deadbeef")
    entries = sum(1 for line in leftover.read_text(encoding="utf-8").splitlines() if line.strip())
    assert (job["status"], job["report"]["entries"], job["rows"]) == ("succeeded", entries, entries)
    assert store.get_version("icd10", "half").status == "draft"
    assert not path.parent.exists()


def test_a_cut_off_job_whose_file_is_gone_is_failed_and_its_draft_removed(loaded, store, api_data):
    from importers import run_import
    from registry.web import create_app
    path = jobs.upload_dir(store, "gone") / "v.jsonl"
    jobs.create_job(store, "gone", catalog="icd10", version="gone", upload_path=path, source_name="v.jsonl")
    with store.engine.begin() as conn:
        conn.execute(jobs.J.update().values(status="running", owner_pid=ended_pid()))
    run_import(store, api_data / "icd_v1.jsonl", catalog="icd10", version="gone", source_name="v.jsonl")
    create_app({"TESTING": True, "NSI_STORE": store})
    job = jobs.get_job(store, "gone")
    assert (job["status"], job["error"]["error"]["code"]) == ("failed", "interrupted")
    assert [v.label for v in store.list_versions("icd10")] == ["2023", "2024"]
    assert jobs.run_queued(store) == []


def ended_pid() -> int:
    """The id of a process of this host that has already ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def running_job(store, job_id, **owner):
    """A job row marked running with the given owner columns (host, pid, heartbeat_at)."""
    jobs.create_job(store, job_id, catalog="icd10", version=job_id, upload_path=jobs.upload_dir(store, job_id) / "f",
                    source_name="f.jsonl")
    with store.engine.begin() as conn:
        conn.execute(jobs.J.update().where(jobs.J.c.id == job_id).values(status="running", **owner))


def test_start_up_recovery_leaves_jobs_of_live_workers_alone(loaded, store):
    from datetime import datetime, timedelta, timezone
    from registry.web import create_app
    now = datetime.now(timezone.utc)
    this_host = jobs.this_owner()["owner_host"]
    running_job(store, "mine", owner_host=this_host, owner_pid=os.getpid(), heartbeat_at=now)
    running_job(store, "deadhere", owner_host=this_host, owner_pid=ended_pid(), heartbeat_at=now)
    running_job(store, "othernode", owner_host="node-b", owner_pid=os.getpid(), heartbeat_at=now - timedelta(seconds=30),
                started_at=now - timedelta(hours=1), created_at=now - timedelta(hours=1))
    running_job(store, "silentnode", owner_host="node-c", owner_pid=1, heartbeat_at=now - timedelta(minutes=10),
                started_at=now - timedelta(hours=1), created_at=now - timedelta(hours=1))
    create_app({"TESTING": True, "NSI_STORE": store, "NSI_JOB_STALE_SECONDS": 120})
    status = {j: jobs.get_job(store, j)["status"] for j in ("mine", "deadhere", "othernode", "silentnode")}
    assert status == {"mine": "running", "deadhere": "failed", "othernode": "running", "silentnode": "failed"}
    assert jobs.get_job(store, "silentnode")["error"]["error"]["code"] == "interrupted"
    assert jobs.recover_interrupted(store, stale_after=10) == ["othernode"]  # its heartbeat is 30 s old


def test_a_running_job_refreshes_its_heartbeat(loaded, store, tmp_path, monkeypatch, api_data):
    import threading
    monkeypatch.setattr(jobs, "HEARTBEAT_EVERY_SECONDS", 0.05)
    release = threading.Event()
    seen = []

    def slow_import(store_, path, **kwargs):
        with store.engine.connect() as conn:
            row = conn.execute(jobs.J.select().where(jobs.J.c.id == "slow")).first()
        seen.append(jobs.last_sign_of_life(row))
        release.wait(5)
        time.sleep(0.3)
        with store.engine.connect() as conn:
            row = conn.execute(jobs.J.select().where(jobs.J.c.id == "slow")).first()
        seen.append(jobs.last_sign_of_life(row))
        raise RuntimeError("stop here")

    monkeypatch.setattr("importers.run_import", slow_import)
    path = jobs.upload_dir(store, "slow") / "a.jsonl"
    path.write_bytes((api_data / "icd_v2.jsonl").read_bytes())
    jobs.create_job(store, "slow", catalog="icd10", version="slow", upload_path=path, source_name="a.jsonl")
    thread = jobs.start_job(store, "slow")
    time.sleep(0.2)
    release.set()
    thread.join(10)
    assert len(seen) == 2 and seen[1] > seen[0]
    with store.engine.connect() as conn:
        row = conn.execute(jobs.J.select().where(jobs.J.c.id == "slow")).first()
    assert (row.owner_host, row.owner_pid) == (jobs.this_owner()["owner_host"], os.getpid())


def test_a_server_workers_poller_takes_up_a_job_cut_off_by_a_crash(loaded, store, api_data):
    path = jobs.upload_dir(store, "polled") / "v.jsonl"
    path.write_bytes((api_data / "icd_v2.jsonl").read_bytes())
    jobs.create_job(store, "polled", catalog="icd10", version="polled", upload_path=path, source_name="v.jsonl")
    with store.engine.begin() as conn:
        conn.execute(jobs.J.update().values(status="running", owner_pid=ended_pid()))  # a sibling worker died
    poller = jobs.JobPoller(store, interval=60, stale_after=300)
    [thread] = poller.poll()
    thread.join(30)
    assert jobs.get_job(store, "polled")["status"] == "succeeded"
    assert poller.poll() == []  # nothing left to do
