"""The FNSI-compatible API on the sample FNSI exports (2.26 and 2.27 of ICD-10) and on a catalog of our own."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from importers import run_import
from registry import auth
from registry.models import CatalogCreate
from registry.models.catalog import CatalogVersion
from registry.web import create_app

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLES = ROOT / "catalogs" / "samples"
OID = "1.2.643.5.1.13.13.11.1005"
HEADER = ["ID", "REC_CODE", "MKB_CODE", "MKB_NAME", "ID_PARENT", "ADDL_CODE", "ACTUAL", "DATE"]


def sample_rows(label: str) -> list[dict]:
    """The rows of a sample export as the register holds them: column → text, empty cells left out."""
    with open(SAMPLES / f"icd10-ru-fnsi-{label}.csv", encoding="utf-8", newline="") as f:
        return [{k: v for k, v in r.items() if v} for r in csv.DictReader(f, delimiter=";")]


def as_record(row: list[dict]) -> dict:
    """A /data row ([{column, value}]) as column → value without empty cells."""
    return {c["column"]: c["value"] for c in row if c["value"] is not None}


@pytest.fixture
def fnsi(store):
    """icd10-ru from the sample exports 2.26 and 2.27 (latest), both published."""
    for label in ("2.26", "2.27"):
        run_import(store, SAMPLES / f"icd10-ru-fnsi-{label}.csv", catalog="icd10-ru", version=label,
                   profile="icd10-ru-fnsi", publish=True)
    return store


@pytest.fixture
def fnsi_client(fnsi):
    return create_app({"TESTING": True, "NSI_STORE": fnsi}).test_client()


def test_passport_versions_and_data_pages_serve_the_export_as_it_was(fnsi_client):
    passport = fnsi_client.get(f"/port/rest/passport?identifier={OID}").get_json()
    assert passport["result"] == "OK" and passport["resultCode"] is None
    assert (passport["identifier"], passport["oid"], passport["version"]) == (OID, OID, "2.27")
    assert passport["rowsCount"] == len(sample_rows("2.27")) == 43
    assert [f["field"] for f in passport["fields"]] == HEADER
    assert {f["field"]: f["dataType"] for f in passport["fields"]}["DATE"] == "DATE"
    assert passport["keys"] == [{"field": "ID", "type": "PRIMARY"}]
    assert passport["codes"] == [{"value": OID, "type": "TYPE_OID"}]
    assert passport["hierarchical"] is True and passport["archive"] is False
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", passport["publishDate"])

    versions = fnsi_client.get(f"/port/rest/versions?identifier={OID}&page=1&size=10").get_json()
    assert versions["total"] == 2 and [v["version"] for v in versions["list"]] == ["2.27", "2.26"]
    latest = versions["list"][0]["version"]

    served = []
    for page in range(1, 10):
        body = fnsi_client.get(f"/port/rest/data?identifier={OID}&version={latest}&page={page}&size=10").get_json()
        assert body["result"] == "OK" and body["total"] == 43
        if not body["list"]:
            break
        assert all([c["column"] for c in row] == HEADER for row in body["list"])
        served += [as_record(row) for row in body["list"]]
    assert page == 6  # 43 rows in pages of 10, then an empty page
    key = lambda r: int(r["ID"])  # noqa: E731
    assert sorted(served, key=key) == sorted(sample_rows("2.27"), key=key)


def test_the_slug_is_an_identifier_too_and_an_older_version_is_served_as_it_was(fnsi_client):
    body = fnsi_client.get("/port/rest/data?identifier=icd10-ru&version=2.26&size=100").get_json()
    assert body["total"] == 44
    by_id = lambda r: int(r["ID"])  # noqa: E731
    assert sorted((as_record(r) for r in body["list"]), key=by_id) == sorted(sample_rows("2.26"), key=by_id)


def test_data_columns_and_filters(fnsi_client):
    body = fnsi_client.get(f"/port/rest/data?identifier={OID}&columns=MKB_CODE,MKB_NAME"
                           f"&filters=MKB_CODE|A02.1|EXACT").get_json()
    assert body == {"result": "OK", "resultText": None, "resultCode": None, "total": 1, "list": [
        [{"column": "MKB_CODE", "value": "A02.1"}, {"column": "MKB_NAME", "value": "Сальмонеллезный сепсис"}]]}
    like = fnsi_client.get(f"/port/rest/data?identifier={OID}&columns=MKB_CODE&filters=MKB_NAME|covid|LIKE"
                           f"&filters=DATE|15.03.2024|EXACT").get_json()
    assert like["total"] == 2
    assert [r[0]["value"] for r in like["list"]] == ["U07.1", "U07.2"]
    paged = fnsi_client.get(f"/port/rest/data?identifier={OID}&columns=MKB_CODE&filters=MKB_CODE|I1%|LIKE"
                            f"&page=2&size=2").get_json()
    # I10, I10-I15, I11, I11.0, I11.9 in code order: the second page of two
    assert paged["total"] == 5 and [r[0]["value"] for r in paged["list"]] == ["I11", "I11.0"]


@pytest.mark.parametrize("query, status, text", [
    (f"passport?identifier={OID}&version=9.99", 200, "Запрашиваемая версия не существует"),
    (f"data?identifier={OID}&version=9.99", 200, "Запрашиваемая версия не существует"),
    ("versions?identifier=1.2.3", 200, "Справочник не найден"),
    ("data", 400, "the parameter identifier is required (the dictionary's OID)"),
    (f"data?identifier={OID}&page=0", 400, "page must be between 1 and 1000000000"),
    (f"data?identifier={OID}&size=x", 400, "size must be a whole number, got 'x'"),
    (f"data?identifier={OID}&columns=NOPE", 400, "no column NOPE in this dictionary; its columns are "
                                                 "ID, REC_CODE, MKB_CODE, MKB_NAME, ID_PARENT, ADDL_CODE, ACTUAL, DATE"),
    (f"data?identifier={OID}&filters=MKB_CODE|A00", 400, None),
    (f"compare?identifier={OID}", 400, "the parameter date1 is required (or version1)"),
    (f"compare?identifier={OID}&date1=yesterday", 400, "date1 'yesterday' is not a date (dd.mm.yyyy or yyyy-mm-dd)"),
])
def test_errors_come_in_the_registers_shape(fnsi_client, query, status, text):
    response = fnsi_client.get(f"/port/rest/{query}")
    body = response.get_json()
    assert response.status_code == status
    assert body["result"] == "ERROR" and set(body) == {"result", "resultText", "resultCode"}
    if text:
        assert body["resultText"] == text
    if "9.99" in query:
        assert body["resultCode"] == "03x0006"


def test_a_draft_is_not_a_version_of_the_register(fnsi, fnsi_client, tmp_path):
    text = (SAMPLES / "icd10-ru-fnsi-2.27.csv").read_text(encoding="utf-8")
    (tmp_path / "draft.csv").write_text(text.replace("COVID-19, вирус идентифицирован", "COVID-19"), encoding="utf-8")
    run_import(fnsi, tmp_path / "draft.csv", catalog="icd10-ru", version="2.28", profile="icd10-ru-fnsi")
    assert fnsi_client.get(f"/port/rest/passport?identifier={OID}&version=2.28").get_json()["resultCode"] == "03x0006"
    assert [v["version"] for v in fnsi_client.get(f"/port/rest/versions?identifier={OID}").get_json()["list"]] == \
        ["2.27", "2.26"]


def test_compare_by_versions_lists_each_change_with_its_columns(fnsi_client):
    body = fnsi_client.get(f"/port/rest/compare?identifier={OID}&version1=2.26&version2=2.27").get_json()
    assert body["result"] == "OK" and (body["version1"], body["version2"], body["total"]) == ("2.26", "2.27", 7)
    ops = [(c["operation"], as_record(c["data"])["MKB_CODE"]) for c in body["list"]]
    assert ops == [("UPDATE", "A02.1"), ("UPDATE", "I11.0"), ("UPDATE", "I11.9"), ("DELETE", "U04"),
                   ("DELETE", "U04.9"), ("UPDATE", "U07.1"), ("INSERT", "U07.2")]
    a021 = body["list"][0]
    assert a021["fields"] == [
        {"field": "MKB_NAME", "oldValue": "Сальмонеллезная септицемия", "newValue": "Сальмонеллезный сепсис"},
        {"field": "DATE", "oldValue": None, "newValue": "15.03.2024"}]
    assert as_record(body["list"][6]["data"]) == sample_rows("2.27")[-1]  # the inserted row, as exported
    page2 = fnsi_client.get(f"/port/rest/compare?identifier={OID}&version1=2.26&version2=2.27&page=2&size=5")
    assert [c["operation"] for c in page2.get_json()["list"]] == ["UPDATE", "INSERT"]


def test_compare_by_dates_takes_the_versions_in_force_on_those_days(fnsi, fnsi_client):
    table = CatalogVersion.__table__
    with fnsi.engine.begin() as conn:
        for label, day in (("2.26", datetime(2023, 5, 2, 9, 0)), ("2.27", datetime(2024, 3, 15, 12, 30))):
            conn.execute(sa.update(table).where(table.c.label == label)
                         .values(published_at=day.replace(tzinfo=timezone.utc)))
    body = fnsi_client.get(f"/port/rest/compare?identifier={OID}&date1=01.01.2024&date2=2024-03-15").get_json()
    assert (body["version1"], body["version2"], body["total"]) == ("2.26", "2.27", 7)
    assert fnsi_client.get(f"/port/rest/compare?identifier={OID}&date1=02.05.2023").get_json()["version2"] == "2.27"
    same = fnsi_client.get(f"/port/rest/compare?identifier={OID}&date1=02.05.2023&date2=14.03.2024").get_json()
    assert (same["version1"], same["version2"], same["total"], same["list"]) == ("2.26", "2.26", 0, [])
    early = fnsi_client.get(f"/port/rest/compare?identifier={OID}&date1=01.05.2023").get_json()
    assert early["resultCode"] == "03x0006"
    listed = fnsi_client.get(f"/port/rest/versions?identifier={OID}").get_json()["list"]
    assert [v["publishDate"] for v in listed] == ["15.03.2024 12:30", "02.05.2023 09:00"]


@pytest.mark.parametrize("fmt", ["JSON", "CSV", "XML"])
def test_data_files_list_and_download_the_version_in_the_registers_layout(fnsi_client, fmt):
    names = fnsi_client.get(f"/api/dataFiles?identifier={OID}&version=2.26&format={fmt}").get_json()
    assert names == [f"{OID}_2.26_{fmt.lower()}.zip"]
    response = fnsi_client.get(f"/api/dataFiles/{names[0]}")
    assert response.status_code == 200 and response.mimetype == "application/zip" and response.is_streamed
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == [f"{OID}_2.26.{fmt.lower()}"]
    content = archive.read(archive.namelist()[0]).decode("utf-8")
    if fmt == "JSON":
        records = json.loads(content)["records"]
    elif fmt == "CSV":
        reader = csv.DictReader(io.StringIO(content), delimiter=";")
        assert reader.fieldnames == HEADER
        records = [{k: v for k, v in r.items() if v} for r in reader]
    else:
        from lxml import etree
        records = [{cell.tag: cell.text for cell in rec} for rec in etree.fromstring(content.encode("utf-8"))]
    by_id = lambda r: int(r["ID"])  # noqa: E731
    assert sorted(records, key=by_id) == sorted(sample_rows("2.26"), key=by_id)
    again = fnsi_client.get(f"/api/dataFiles/{names[0]}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_data_files_of_what_does_not_exist(fnsi_client):
    assert fnsi_client.get(f"/api/dataFiles?identifier={OID}&version=9.99&format=JSON").get_json() == []
    assert fnsi_client.get("/api/dataFiles?identifier=nope&format=JSON").get_json() == []
    bad = fnsi_client.get(f"/api/dataFiles?identifier={OID}&format=DBF")
    assert bad.status_code == 400 and bad.get_json()["resultText"] == "format 'DBF' is not one of JSON, XML, CSV"
    missing = fnsi_client.get(f"/api/dataFiles/{OID}_9.99_json.zip")
    assert missing.status_code == 404
    assert missing.get_json() == {"result": "ERROR", "resultText": f"no file {OID}_9.99_json.zip",
                                  "resultCode": "nsi.not_found"}


def test_search_dictionary(fnsi, fnsi_client, api_data):
    fnsi.create_catalog(CatalogCreate(slug="other", title="Another list"))
    run_import(fnsi, api_data / "icd_v1.jsonl", catalog="other", version="1", publish=True)
    assert fnsi_client.get("/port/rest/searchDictionary").get_json()["total"] == 2
    found = fnsi_client.get("/port/rest/searchDictionary?name=мкб").get_json()
    assert found["total"] == 1
    assert {k: found["list"][0][k] for k in ("identifier", "version", "rowsCount", "archive")} == \
        {"identifier": OID, "version": "2.27", "rowsCount": 43, "archive": False}
    assert fnsi_client.get(f"/port/rest/searchDictionary?identifier={OID}").get_json()["total"] == 1
    assert fnsi_client.get("/port/rest/searchDictionary?name=nothing-like-it").get_json() == {
        "result": "OK", "resultText": None, "resultCode": None, "total": 0, "list": []}
    fnsi.retire("icd10-ru", "2.26")
    fnsi.retire("icd10-ru", "2.27")
    assert [d["identifier"] for d in fnsi_client.get("/port/rest/searchDictionary").get_json()["list"]] == ["other"]
    archived = fnsi_client.get("/port/rest/searchDictionary?showArchive=true").get_json()["list"]
    assert [(d["identifier"], d["archive"]) for d in archived] == [("other", False), (OID, True)]


def test_a_catalog_of_our_own_is_served_with_the_canonical_columns(loaded):
    client = create_app({"TESTING": True, "NSI_STORE": loaded}).test_client()
    passport = client.get("/port/rest/passport?identifier=icd10").get_json()
    assert [f["field"] for f in passport["fields"]][:4] == ["code", "display", "parent", "status"]
    entry = loaded.iter_entries("icd10", "2024").__next__()
    body = client.get(f"/port/rest/data?identifier=icd10&filters=code|{entry['code']}|EXACT").get_json()
    assert body["total"] == 1
    assert as_record(body["list"][0]) == {k: v for k, v in {
        "code": entry["code"], "display": entry["display"], "parent": "|".join(entry["parents"]) or None,
        "status": entry["status"]}.items() if v}


def test_user_key_is_the_token_when_reads_need_one(fnsi):
    _, secret = auth.create_token(fnsi, "sync", "reader")
    client = create_app({"TESTING": True, "NSI_STORE": fnsi, "NSI_READS_NEED_TOKEN": True}).test_client()
    refused = client.get(f"/port/rest/passport?identifier={OID}")
    assert refused.status_code == 401 and refused.get_json()["result"] == "ERROR"
    assert refused.get_json()["resultCode"] == "nsi.unauthorized"
    wrong = client.get(f"/port/rest/passport?identifier={OID}&userKey=not-a-key")
    assert wrong.status_code == 401
    assert wrong.get_json()["resultText"] == "the API token is not valid (revoked or mistyped)"
    good = client.get(f"/port/rest/passport?identifier={OID}&userKey={secret}")
    assert good.status_code == 200 and good.get_json()["result"] == "OK"
    assert client.get(f"/api/dataFiles?identifier={OID}&format=JSON&userKey={secret}").get_json() == \
        [f"{OID}_2.27_json.zip"]
    open_app = create_app({"TESTING": True, "NSI_STORE": fnsi}).test_client()
    assert open_app.get(f"/port/rest/versions?identifier={OID}").get_json()["result"] == "OK"


def test_documented_examples(fnsi_client):
    """Each `GET ...` example of docs/fnsi.md gives the JSON shown there (the run's dates aside)."""
    text = (ROOT / "docs" / "fnsi.md").read_text(encoding="utf-8")
    examples = re.findall(r"```\nGET (\S+)\n```\n```json\n(.*?)\n```", text, re.DOTALL)
    assert len(examples) == 10
    stamp = re.compile(r"\d\d\.\d\d\.\d{4} \d\d:\d\d")
    for url, shown in examples:
        got = fnsi_client.get(url).get_json()
        assert json.loads(stamp.sub("*", json.dumps(got, ensure_ascii=False))) == \
            json.loads(stamp.sub("*", shown)), url


def test_every_fnsi_route_is_documented(fnsi_client):
    text = (ROOT / "docs" / "fnsi.md").read_text(encoding="utf-8")
    routes = [re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in fnsi_client.application.url_map.iter_rules()
              if rule.endpoint.startswith("fnsi.")]
    assert len(routes) == 7
    assert [r for r in routes if f"`GET {r}`" not in text] == []


def test_an_unexpected_failure_is_logged_and_answered_without_a_traceback(fnsi, monkeypatch, caplog):
    client = create_app({"TESTING": True, "NSI_STORE": fnsi, "PROPAGATE_EXCEPTIONS": False}).test_client()

    def broken():
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(fnsi, "list_catalogs", broken)
    response = client.get(f"/port/rest/passport?identifier={OID}")
    assert response.status_code == 500
    assert response.get_json() == {"result": "ERROR", "resultCode": "nsi.internal_error",
                                   "resultText": "internal server error; the details are in the server log"}
    assert "disk on fire" in caplog.text and "disk on fire" not in response.get_data(as_text=True)


def test_search_dictionary_sorts_and_bounds_the_publication_date(fnsi, fnsi_client, api_data):
    fnsi.create_catalog(CatalogCreate(slug="other", title="Another list"))
    run_import(fnsi, api_data / "icd_v1.jsonl", catalog="other", version="1", publish=True)
    table = CatalogVersion.__table__
    with fnsi.engine.begin() as conn:
        for label, day in (("2.27", datetime(2024, 3, 15, 12, 30)), ("1", datetime(2024, 6, 1, 8, 0))):
            conn.execute(sa.update(table).where(table.c.label == label)
                         .values(published_at=day.replace(tzinfo=timezone.utc)))

    def ids(query):
        body = fnsi_client.get(f"/port/rest/searchDictionary?{query}").get_json()
        assert body["result"] == "OK", body
        return [d["identifier"] for d in body["list"]]

    assert ids("") == ["other", OID]  # by name: "Another list" before "МКБ-10"
    assert ids("sorting=fullName&sortingDirection=DESC") == [OID, "other"]
    assert ids("sorting=publishDate&sortingDirection=desc") == ["other", OID]
    assert ids("sorting=rowsCount") == ["other", OID]  # 9 entries (icd_v1.jsonl), then 43
    assert ids("publishDateFrom=01.04.2024") == ["other"]
    assert ids("publishDateTo=15.03.2024") == [OID]
    assert ids("publishDateFrom=2024-03-15&publishDateTo=2024-06-01") == ["other", OID]
    refused = fnsi_client.get("/port/rest/searchDictionary?sorting=colour").get_json()
    assert refused["resultText"] == "sorting 'colour' is not one of fullName, name, identifier, oid, publishDate, " \
                                    "rowsCount"


def test_a_field_schema_keeps_the_source_column_of_an_attribute():
    from registry.errors import BadRequest
    from registry.store.catalogs import check_field_schema
    assert check_field_schema({"rec_code": {"type": "string", "column": " REC_CODE "}, "n": "integer"}) == {
        "rec_code": {"type": "string", "required": False, "column": "REC_CODE"},
        "n": {"type": "integer", "required": False}}
    for bad in ("", "  ", 7):
        with pytest.raises(BadRequest, match=r"field_schema.rec_code.column must be a column name"):
            check_field_schema({"rec_code": {"column": bad}})
