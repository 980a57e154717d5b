"""File-level defects through the upload API: the job's report says what `nsi import` says for the same file."""

from __future__ import annotations

import io
import time

import pytest

from registry.models import CatalogCreate


def import_job(client, headers, data: bytes, name: str, **form) -> dict:
    """Upload `data` as file `name` into catalog `local` and wait for the job to end; the job's JSON."""
    r = client.post("/api/v1/catalogs/local/imports", headers=headers, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(data), name), "version": "1", **form})
    assert r.status_code == 202, r.get_json()
    deadline = time.monotonic() + 30
    while True:
        job = client.get(r.headers["Location"], headers=headers).get_json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


@pytest.fixture
def headers(store, tokens, bearer):
    store.create_catalog(CatalogCreate(slug="local", title="Local"))
    return bearer(tokens["importer"])


def test_csv_with_a_blank_first_line_imports_with_a_warning(store, client, headers):
    job = import_job(client, headers, b"\ncode,display\nA,Alpha\n", "b.csv", format="csv")
    assert job["status"] == "succeeded", job
    assert job["report"]["entries"] == 1
    assert job["report"]["warnings"] == [{"file": "b.csv", "row": 1, "severity": "warning", "kind": "blank_lines",
                                          "message": "a blank line before the header was skipped"}]


def test_csv_of_blank_lines_only_fails_the_job_with_the_reason(store, client, headers):
    job = import_job(client, headers, b"\n  \n\n", "b.csv", format="csv")
    assert job["status"] == "failed"
    assert job["error"]["error"]["code"] == "import_rejected"
    assert job["error"]["error"]["message"] == "import rejected: b.csv: the file holds only blank lines"
    assert store.list_versions("local") == []


def test_xlsx_uploaded_with_a_csv_profile_is_named_a_workbook(store, client, headers, tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.append(["atc_code", "atc_name", "ddd", "uom", "adm_r", "note"])
    wb.active.append(["A", "ALIMENTARY TRACT AND METABOLISM", "NA", "NA", "NA", "NA"])
    wb.save(tmp_path / "atc.xlsx")
    job = import_job(client, headers, (tmp_path / "atc.xlsx").read_bytes(), "atc.xlsx", profile="atc-who")
    assert job["status"] == "failed"
    assert job["error"]["error"]["message"] == (
        "import rejected: atc.xlsx: the file is an Excel workbook (.xlsx), not text: profile atc-who reads csv files; "
        "import it with a profile of format xlsx (atc-who-xlsx), or save the sheet as CSV (UTF-8) and import that")
    assert job["error"]["error"]["details"]["errors"][0]["kind"] == "wrong_format"
