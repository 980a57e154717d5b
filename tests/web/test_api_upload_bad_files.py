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


def test_a_truncated_xml_upload_reports_only_its_syntax_error(store, client, headers):
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "data" / "importers" / "claml_doctype.xml").read_text()
    simple = ('<?xml version="1.0" encoding="utf-8"?>\n<icd_10_v2019>\n<item type="chapter"><name>I</name>'
              '<description>Infectious</description>\n<item type="block"><name>A00-A09</name>'
              '<description>Intestinal</description>\n<item type="category"><name>A00</name>'
              '<description>Cholera</description></item>\n<item type="category"><name>A01</name><descr')
    for data, name, form in ((simple, "who.xml", {"profile": "icd10-who-simplexml"}),
                             (text[:text.index("Giardiasis [")], "claml.xml", {"format": "claml"})):
        job = import_job(client, headers, data.encode(), name, **form)
        assert job["status"] == "failed"
        error = job["error"]["error"]
        assert error["details"]["error_count"] == 1 and job["report"] == {"error_count": 1}
        assert [(e["row"], e["kind"]) for e in error["details"]["errors"]] == [(6 if name == "who.xml" else 16,
                                                                                 "syntax")]
        assert error["message"].startswith(f"import rejected: {name}, row ")


def test_claml_with_its_usual_doctype_uploads_and_a_nameless_superclass_is_refused(store, client, headers):
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "data" / "importers" / "claml_doctype.xml").read_text()
    job = import_job(client, headers, text.encode(), "icd10.xml", format="claml")
    assert job["status"] == "succeeded", job
    assert job["report"]["entries"] == 6
    store.discard("local", "1")
    nameless = text.replace('<SuperClass code="A07"/>', '<SuperClass code=""/>')
    job = import_job(client, headers, nameless.encode(), "icd10.xml", format="claml")
    assert job["status"] == "failed"
    assert job["error"]["error"]["message"] == (
        "import rejected: icd10.xml, row 16 (/ClaML/Class[@code='A07.1']), column SuperClass: class A07.1 has a "
        "SuperClass without a code: it names no class")
