"""The FNSI API on the register's real ICD-10 export (v2.27, 15,038 rows): what public FNSI clients do, end to end.

The sequence is the one the public clients in docs/fnsi.md run: passport →
versions → data pages, or dataFiles list → download; then compare. What comes
back must be the export itself, column for column, and must import again into
the same version content with our own icd10-ru-fnsi profile.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from cli import cli
from importers import run_import
from registry.web import create_app

pytestmark = pytest.mark.realdata
OID = "1.2.643.5.1.13.13.11.1005"


def export_rows(path) -> tuple[list[str], list[dict]]:
    """The header and rows of the export as the register holds them: column → text, empty cells left out."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter=";")
        rows = [{k: v for k, v in r.items() if v} for r in reader]
        return reader.fieldnames, rows


def by_id(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: int(r["ID"]))


@pytest.fixture
def icd10(store, shared_data):
    """The real FNSI export loaded as version 2.27 of icd10-ru (the profile creates the catalog with its OID)."""
    path = shared_data / "icd10_ru" / "fnsi_1.2.643.5.1.13.13.11.1005_v2.27.csv"
    run_import(store, path, catalog="icd10-ru", version="2.27", profile="icd10-ru-fnsi", publish=True)
    return store, path


def test_a_client_syncing_from_us_gets_the_export_back_and_it_reimports_without_differences(icd10, runner, tmp_path):
    store, path = icd10
    header, rows = export_rows(path)
    client = create_app({"TESTING": True, "NSI_STORE": store}).test_client()

    passport = client.get(f"/port/rest/passport?identifier={OID}").get_json()
    assert (passport["result"], passport["oid"], passport["version"]) == ("OK", OID, "2.27")
    assert passport["rowsCount"] == len(rows) == 15038
    assert [f["field"] for f in passport["fields"]] == header
    versions = client.get(f"/port/rest/versions?identifier={OID}&page=1&size=1").get_json()
    assert versions["total"] == 1 and versions["list"][0]["version"] == "2.27"

    served, page = [], 1
    while True:  # as the public clients do: pages until rowsCount is reached
        body = client.get(f"/port/rest/data?identifier={OID}&version=2.27&page={page}&size=500").get_json()
        assert body["result"] == "OK" and body["total"] == len(rows)
        assert all([c["column"] for c in r] == header for r in body["list"])
        served += [{c["column"]: c["value"] for c in r if c["value"] is not None} for r in body["list"]]
        if len(served) >= passport["rowsCount"]:
            break
        page += 1
    assert page == 31
    assert by_id(served) == by_id(rows)

    names = client.get(f"/api/dataFiles?identifier={OID}&version=2.27&format=JSON").get_json()
    assert names == [f"{OID}_2.27_json.zip"]
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/dataFiles/{names[0]}").data))
    file_json = archive.read(f"{OID}_2.27.json")
    assert by_id(json.loads(file_json)["records"]) == by_id(rows)
    csv_name = client.get(f"/api/dataFiles?identifier={OID}&version=2.27&format=CSV").get_json()[0]
    csv_text = zipfile.ZipFile(io.BytesIO(client.get(f"/api/dataFiles/{csv_name}").data)).read(
        f"{OID}_2.27.csv").decode("utf-8")
    reader = csv.DictReader(io.StringIO(csv_text), delimiter=";")
    assert reader.fieldnames == header
    assert by_id([{k: v for k, v in r.items() if v} for r in reader]) == by_id(rows)

    # what came through /data (written as a `;` CSV) and the downloaded JSON import again with our own profile
    rest_file = tmp_path / "from_data.csv"
    with open(rest_file, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, delimiter=";")
        writer.writeheader()
        writer.writerows(served)
    (tmp_path / "from_files.json").write_bytes(file_json)
    for label, file in (("2.27-data", rest_file), ("2.27-files", tmp_path / "from_files.json")):
        result = runner.invoke(cli, ["import", str(file), "--catalog", "icd10-ru", "--version", label,
                                     "--profile", "icd10-ru-fnsi"])
        assert result.exit_code == 0, result.output
        diff = runner.invoke(cli, ["diff", "icd10-ru", "2.27", label])
        assert diff.exit_code == 0 and diff.stdout == f"icd10-ru 2.27 -> {label}: 0 added, 0 removed, 0 changed\n"


def test_compare_with_an_older_register_version(icd10, shared_data):
    store, path = icd10
    old = shared_data / "icd10_ru" / "ak4nv_mkb10_old.csv"
    run_import(store, old, catalog="icd10-ru", version="old", profile="icd10-ru-fnsi", publish=True)
    client = create_app({"TESTING": True, "NSI_STORE": store}).test_client()
    _, new_rows = export_rows(path)
    with open(old, encoding="utf-8", newline="") as f:  # the older file has names ending in a space: import trims
        old_rows = [{k: v.strip() for k, v in zip(["ID", "REC_CODE", "MKB_CODE", "MKB_NAME", "ID_PARENT", "ADDL_CODE",
                                                   "ACTUAL", "DATE"], r) if v.strip()} for r in csv.reader(f)]
    changes, page = [], 1
    while True:
        body = client.get(f"/port/rest/compare?identifier={OID}&version1=2.27&version2=old&page={page}"
                          f"&size=1000").get_json()
        assert body["result"] == "OK"
        changes += body["list"]
        if len(changes) >= body["total"]:
            break
        page += 1
    record = lambda change: {c["column"]: c["value"] for c in change["data"] if c["value"] is not None}  # noqa: E731
    key = lambda r: tuple(sorted(r.items()))  # noqa: E731
    old_keys, new_keys = {key(r) for r in old_rows}, {key(r) for r in new_rows}
    # version 2.27 -> old here: what the older export has that 2.27 lacks is INSERTed, and the other way round
    inserted = [record(c) for c in changes if c["operation"] == "INSERT"]
    deleted = [record(c) for c in changes if c["operation"] == "DELETE"]
    updated = [c for c in changes if c["operation"] == "UPDATE"]
    assert inserted and deleted and updated
    assert all(key(r) in old_keys and key(r) not in new_keys for r in inserted)
    assert all(key(r) in new_keys and key(r) not in old_keys for r in deleted)
    assert all(key(record(c)) in old_keys and c["fields"] for c in updated)
    counts = store.diff("icd10-ru", "2.27", "old")["counts"]
    assert (len(inserted), len(deleted)) == (counts["added"], counts["removed"]) == (7, 134)
    # a stored change that no column of the export shows (a parent's code, now a range) is not the register's change
    assert len(updated) < counts["changed"]
    new_by_id = {r["ID"]: r for r in new_rows}  # each UPDATE is a row of the register that the other version changed
    assert all(record(c)["ID"] in new_by_id and new_by_id[record(c)["ID"]] != record(c) for c in updated)
