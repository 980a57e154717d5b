"""Writes through the API: tokens and roles, creating catalogs, uploads as jobs, publish/discard/retire, recovery."""

from __future__ import annotations

import io
import time

from registry import auth, jobs

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


def test_a_job_cut_off_by_a_crash_is_failed_at_start_and_its_draft_removed(loaded, store, api_data, tmp_path):
    from importers import run_import
    from registry.web import create_app
    leftover = tmp_path / "half.jsonl"
    leftover.write_text((api_data / "icd_v1.jsonl").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    path = jobs.upload_dir(store, "deadbeef") / "half.jsonl"
    path.write_bytes(leftover.read_bytes())
    jobs.create_job(store, "deadbeef", catalog="icd10", version="half", upload_path=path, source_name="half.jsonl")
    with store.engine.begin() as conn:
        conn.execute(jobs.J.update().values(status="running"))
    run_import(store, leftover, catalog="icd10", version="half")
    assert store.get_version("icd10", "half").status == "draft"
    create_app({"TESTING": True, "NSI_STORE": store})
    job = jobs.get_job(store, "deadbeef")
    assert job["status"] == "failed"
    assert job["error"]["error"]["code"] == "interrupted"
    assert [v.label for v in store.list_versions("icd10")] == ["2023", "2024"]
    assert not path.parent.exists()
