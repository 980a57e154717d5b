"""Public reads of the REST API through the Flask test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from importers import run_import
from registry.models import CatalogCreate
from pathlib import Path

API_DATA = Path(__file__).resolve().parent.parent / "data" / "api"

pytestmark = pytest.mark.usefixtures("loaded")
V = "/api/v1/catalogs/icd10/versions"


def test_catalog_list_and_passport(client):
    listing = client.get("/api/v1/catalogs").get_json()
    assert [c["slug"] for c in listing["items"]] == ["icd10"]
    passport = client.get("/api/v1/catalogs/icd10").get_json()
    assert passport["oid"] == "1.2.643.5.1.13.13.11.1005"
    assert passport["owner"] == "Минздрав"
    assert passport["latest_version"] == "2024"
    assert passport["latest_entry_count"] == 9
    assert passport["version_count"] == 2
    assert passport["field_schema"] == {}
    assert passport["links"]["latest"] == f"{V}/latest"


def test_unknown_catalog_is_a_json_404(client):
    r = client.get("/api/v1/catalogs/nope")
    assert r.status_code == 404
    assert r.get_json() == {"error": {"code": "not_found", "message": "no catalog 'nope'", "details": None}}


def test_unknown_route_and_wrong_method_use_the_error_shape(client):
    r = client.get("/api/v1/no/such/thing")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = client.delete("/api/v1/catalogs")
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in r.headers["Allow"]


def test_a_bug_gives_a_json_500_without_a_traceback(app, client, monkeypatch):
    from registry import publishing

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(publishing, "entry_detail_json", broken)
    r = client.get(f"{V}/2024/entries/A00")
    assert r.status_code == 500
    request_id = r.headers["X-Request-Id"]
    assert r.get_json() == {"error": {"code": "internal_error", "message": "internal server error; the details are "
                                      f"in the server log under request id {request_id}",
                                      "details": {"request_id": request_id}}}
    assert b"secret internals" not in r.data and b"Traceback" not in r.data


def test_versions_and_latest_alias(client):
    versions = client.get(V).get_json()["items"]
    assert [(v["label"], v["seq"], v["status"]) for v in versions] == [("2023", 1, "published"),
                                                                        ("2024", 2, "published")]
    latest = client.get(f"{V}/latest").get_json()
    assert latest["label"] == "2024"
    assert latest["checksum"] == versions[1]["checksum"] and len(latest["checksum"]) == 64
    assert (latest["added_count"], latest["changed_count"], latest["removed_count"]) == (1, 1, 1)


def test_drafts_are_listed_and_read_only_with_a_token(store, client, tokens, bearer, tmp_path):
    changed = tmp_path / "draft.jsonl"
    changed.write_text((API_DATA / "icd_v1.jsonl").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    run_import(store, changed, catalog="icd10", version="draft-1")
    assert "draft-1" not in [v["label"] for v in client.get(V).get_json()["items"]]
    assert client.get(f"{V}/draft-1").status_code == 401
    r = client.get(V, headers=bearer(tokens["importer"]))
    assert "draft-1" in [v["label"] for v in r.get_json()["items"]]
    r = client.get(f"{V}/draft-1/entries/A00.9", headers=bearer(tokens["reviewer"]))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert client.get(f"{V}/draft-1", headers=bearer(tokens["reader"])).status_code == 403


def test_entries_pages_follow_the_cursor(client):
    codes, url = [], f"{V}/2024/entries?limit=4"
    while url:
        page = client.get(url).get_json()
        assert len(page["items"]) <= 4
        codes += [e["code"] for e in page["items"]]
        url = page.get("next")
    assert codes == ["A00", "A00-A09", "A00.0", "A00.1", "A01", "A01.0", "A01.1", "A02", "A03"]


def test_paging_through_latest_stays_on_the_version_of_the_first_page(client, store, tmp_path):
    """A publish during a sync must not switch the client to another version half-way."""
    first = client.get(f"{V}/latest/entries?limit=4&status=active").get_json()
    assert first["version"] == "2024"
    assert first["next"].startswith(f"{V}/2024/entries?") and "status=active" in first["next"]
    newer = tmp_path / "2025.jsonl"
    newer.write_text('{"code": "B00", "display": "Herpes"}\n', encoding="utf-8")
    run_import(store, newer, catalog="icd10", version="2025", publish=True)
    codes, url = [e["code"] for e in first["items"]], first["next"]
    while url:
        page = client.get(url).get_json()
        assert page["version"] == "2024"
        codes += [e["code"] for e in page["items"]]
        url = page.get("next")
    assert codes == ["A00", "A00-A09", "A00.0", "A00.1", "A01", "A01.0", "A01.1", "A03"]   # A02 is inactive
    assert client.get(f"{V}/latest/entries").get_json()["version"] == "2025"


def test_entry_filters(client):
    for query, expected in [("status=inactive", ["A02"]), ("parent=A01", ["A01.0", "A01.1"]),
                            ("q=холера", ["A00", "A00.0", "A00.1"]), ("q=A01.0", ["A01.0"]),
                            ("q=ХОЛЕРА&limit=1", ["A00"])]:
        page = client.get(f"{V}/2024/entries?{query}").get_json()
        assert [e["code"] for e in page["items"]] == expected, query
        assert (page["next_cursor"] is None) == ("limit" not in query)


def test_entry_filters_reject_bad_values(client):
    r = client.get(f"{V}/2024/entries?status=gone")
    assert r.status_code == 400
    assert r.get_json()["error"]["message"] == "status must be one of active, inactive, deprecated (got 'gone')"
    assert client.get(f"{V}/2024/entries?limit=0").status_code == 400
    assert client.get(f"{V}/2024/entries?cursor=_w").status_code == 400


def test_one_entry_with_parents_and_children(client):
    entry = client.get(f"{V}/2024/entries/A01").get_json()
    assert (entry["code"], entry["display"], entry["version"]) == ("A01", "Тиф и паратиф", "2024")
    assert entry["parent_entries"] == [{"code": "A00-A09", "display": "Кишечные инфекции", "status": "active"}]
    assert [c["code"] for c in entry["children"]] == ["A01.0", "A01.1"]
    # A01.1 lists A00-A09 as its second parent: it is a child of the chapter too
    chapter = client.get(f"{V}/2024/entries/A00-A09").get_json()
    assert [c["code"] for c in chapter["children"]] == ["A00", "A01", "A01.1", "A02", "A03"]
    old = client.get(f"{V}/2023/entries/A00.9").get_json()
    assert old["display"] == "Холера неуточненная"
    r = client.get(f"{V}/2024/entries/A00.9")
    assert r.status_code == 404
    assert r.get_json()["error"]["message"] == "code 'A00.9' is not in icd10 version 2024"


def test_download_jsonl_is_the_whole_version_in_code_order(client, store):
    r = client.get(f"{V}/2024/download?format=jsonl")
    assert r.status_code == 200 and r.is_streamed
    assert r.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    lines = r.get_data(as_text=True).splitlines()
    assert lines == list(store.iter_lines("icd10", "2024"))
    assert json.loads(lines[0])["code"] == "A00"
    assert 'filename="icd10-2024.jsonl"' in r.headers["Content-Disposition"]


def test_download_csv_and_xlsx_escape_formulas(client):
    r = client.get(f"{V}/2023/download?format=csv")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["code", "display", "parents", "status", "designations", "attributes"]
    assert len(rows) == 10
    assert rows[-1][:2] == ["A03", "'=HYPERLINK(\"http://evil\")"]
    r = client.get(f"{V}/2023/download?format=xlsx")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(r.data), read_only=True).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][0] == "code" and len(cells) == 10
    assert cells[-1][:2] == ["A03", "'=HYPERLINK(\"http://evil\")"]
    assert cells[2][:2] == ["A00-A09", "Кишечные инфекции"]
    assert client.get(f"{V}/2023/download?format=pdf").status_code == 400


FORMULA_ROWS = [{"code": "=1+2", "display": "formula code"},
                {"code": "B1", "display": "child of a formula code", "parents": ["=1+2"],
                 "status": "inactive", "attributes": {"note": "x"}}]


@pytest.fixture
def formula_catalog(store, tmp_path):
    """Catalog `evil`, version 1 published: an entry whose parent code reads as a formula."""
    path = tmp_path / "evil.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in FORMULA_ROWS), encoding="utf-8")
    store.create_catalog(CatalogCreate(slug="evil", title="Formulas", kind="classification"))
    run_import(store, path, catalog="evil", version="1", publish=True)
    return "/api/v1/catalogs/evil/versions/1"


def test_download_escapes_formula_parents_in_csv_and_xlsx(client, formula_catalog):
    import zipfile
    rows = list(csv.reader(io.StringIO(client.get(f"{formula_catalog}/download?format=csv").get_data(as_text=True))))
    assert rows[1:] == [["'=1+2", "formula code", "", "active", "", ""],
                        ["B1", "child of a formula code", "'=1+2", "inactive", "", '{"note": "x"}']]
    r = client.get(f"{formula_catalog}/download?format=xlsx")
    assert r.status_code == 200
    cells = [[c.value for c in row] for row in load_workbook(io.BytesIO(r.data), read_only=True).active.iter_rows()]
    assert cells[2][:3] == ["B1", "child of a formula code", "'=1+2"]
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and all(b"<f>" not in zf.read(n) and b"<f " not in zf.read(n) for n in sheets)


def test_diff_between_versions(client):
    d = client.get("/api/v1/catalogs/icd10/diff?from=2023&to=latest").get_json()
    assert d["counts"] == {"added": 1, "removed": 1, "changed": 1}
    assert [e["code"] for e in d["added"]] == ["A01.1"]
    assert [e["code"] for e in d["removed"]] == ["A00.9"]
    assert d["changed"][0]["fields"] == {"display": {
        "before": "Холера, вызванная холерным вибрионом 01, биовар eltor",
        "after": "Холера, вызванная холерным вибрионом 01, биовар эльтор"}}
    r = client.get("/api/v1/catalogs/icd10/diff?from=2023")
    assert r.status_code == 400 and "from= and to=" in r.get_json()["error"]["message"]


def test_validate_a_batch(client):
    r = client.post(f"{V}/latest/validate", json={"codes": ["A00", "A02", "A00.9", "A00"]})
    assert r.status_code == 200
    body = r.get_json()
    assert body["version"] == "2024"
    assert [(i["code"], i["result"], i["display"]) for i in body["items"]] == [
        ("A00", "valid", "Холера"), ("A02", "inactive", "Другие сальмонеллезные инфекции"),
        ("A00.9", "unknown", None), ("A00", "valid", "Холера")]
    assert body["counts"] == {"valid": 2, "inactive": 1, "unknown": 1}
    r = client.post(f"{V}/latest/validate", data="not json", content_type="text/plain")
    assert r.status_code == 400


def test_search_stems_russian_and_english(client):
    hits = client.get("/api/v1/search?q=холерой").get_json()["items"]
    assert {h["code"] for h in hits} == {"A00", "A00.0", "A00.1"}
    assert all(h["version"] == "2024" for h in hits)
    hits = client.get("/api/v1/search?q=fevers&catalog=icd10").get_json()["items"]
    assert [h["code"] for h in hits] == ["A01.0"]
    hits = client.get("/api/v1/search?q=холерой&catalog=icd10&version=2023").get_json()["items"]
    assert "A00.9" in {h["code"] for h in hits}
    assert client.get("/api/v1/search?q=").status_code == 400
    assert client.get("/api/v1/search?q=x&version=2023").status_code == 400


def test_search_everywhere_passes_over_catalogs_without_a_published_version(client, store, tmp_path):
    store.create_catalog(CatalogCreate(slug="retired", title="Retired", kind="other"))
    store.create_catalog(CatalogCreate(slug="drafted", title="Drafted", kind="other"))
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"code": "R1", "display": "Холера старая"}\n', encoding="utf-8")
    run_import(store, rows, catalog="retired", version="1", publish=True)
    store.retire("retired", "1")
    run_import(store, rows, catalog="drafted", version="1")
    r = client.get("/api/v1/search?q=холерой")
    assert r.status_code == 200
    assert {(h["catalog"], h["code"]) for h in r.get_json()["items"]} == {
        ("icd10", "A00"), ("icd10", "A00.0"), ("icd10", "A00.1")}
    assert client.get("/api/v1/search?q=холерой&catalog=retired").status_code == 404


def test_search_is_never_stale_after_a_publish(client, store, tmp_path):
    assert client.get("/api/v1/search?q=дизентерия").get_json()["items"] == []
    extra = tmp_path / "v3.jsonl"
    extra.write_text((API_DATA / "icd_v2.jsonl").read_text(encoding="utf-8")
                     + '{"code": "A03.9", "display": "Шигеллез неуточненный, дизентерия", "parents": ["A03"]}\n',
                     encoding="utf-8")
    run_import(store, extra, catalog="icd10", version="2025", publish=True)
    hits = client.get("/api/v1/search?q=дизентерии").get_json()["items"]
    assert [(h["code"], h["version"]) for h in hits] == [("A03.9", "2025")]


def test_feed_lists_releases_newest_first(client):
    items = client.get("/api/v1/feed").get_json()["items"]
    assert [(i["catalog"], i["version"]) for i in items] == [("icd10", "2024"), ("icd10", "2023")]
    since = items[0]["published_at"]
    assert client.get(f"/api/v1/feed?since={since}").get_json()["items"] == []
    assert len(client.get("/api/v1/feed?since=2000-01-01T00:00:00Z").get_json()["items"]) == 2
    assert client.get("/api/v1/feed?since=yesterday").status_code == 400
    atom = client.get("/api/v1/feed.atom")
    assert atom.mimetype == "application/atom+xml"
    from lxml import etree
    root = etree.fromstring(atom.data)
    titles = root.findall("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title")
    assert [t.text for t in titles] == ["МКБ-10 2024", "МКБ-10 2023"]


def test_versions_and_feed_count_against_the_latest_after_a_retire(client, store):
    """2024 retired, its file published again as 2024b: the change is counted from 2023, the version now latest."""
    store.retire("icd10", "2024")
    run_import(store, API_DATA / "icd_v2.jsonl", catalog="icd10", version="2024b", publish=True)
    versions = {v["label"]: v for v in client.get(V).get_json()["items"]}
    counts = client.get(f"/api/v1/catalogs/icd10/diff?from=2023&to=2024b").get_json()["counts"]
    assert counts == {"added": 1, "changed": 1, "removed": 1}
    assert (versions["2024b"]["added_count"], versions["2024b"]["changed_count"],
            versions["2024b"]["removed_count"]) == (1, 1, 1)
    assert versions["2024b"]["previous_version"] == "2023" and versions["2023"]["previous_version"] is None
    item = client.get("/api/v1/feed").get_json()["items"][0]
    assert (item["version"], item["previous_version"]) == ("2024b", "2023")
    assert (item["added_count"], item["changed_count"], item["removed_count"]) == (1, 1, 1)
    assert b"1 added, 1 changed, 1 removed since 2023" in client.get("/api/v1/feed.atom").data


def test_health_and_readiness(client):
    assert client.get("/api/v1/healthz").get_json() == {"status": "ok"}
    ready = client.get("/api/v1/readyz").get_json()
    assert ready["status"] == "ready"


def test_match_terms_against_a_version(client):
    r = client.post("/api/v1/match", json={"terms": ["холера неуточненная", {"name": "брюшной тиф"}],
                                           "catalog": "icd10", "version": "2023", "limit": 3})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["version"] == "2023"
    assert [item["candidates"][0]["code"] for item in body["items"]] == ["A00.9", "A01.0"]
    assert client.post("/api/v1/match", json={"terms": [1], "catalog": "icd10"}).status_code == 400
    assert client.post("/api/v1/match", json={"terms": ["x"], "catalog": "nope"}).status_code == 404


def test_match_takes_the_contract_body_with_target(client):
    r = client.post("/api/v1/match", json={"target": "icd10@2023", "limit": 2,
                                           "terms": [{"code": "L1", "name": "холера неуточненная"}]})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["catalog"], body["version"]) == ("icd10", "2023")
    item = body["items"][0]
    assert item["term"] == {"code": "L1", "name": "холера неуточненная", "attributes": {}}
    assert item["candidates"][0]["code"] == "A00.9" and len(item["candidates"]) == 2
    latest = client.post("/api/v1/match", json={"target": "icd10", "terms": ["холера неуточненная"]}).get_json()
    assert latest["version"] == "2024"


@pytest.mark.parametrize("body", [
    {"target": "icd10", "terms": [""]},
    {"target": "icd10", "terms": ["   "]},
    {"target": "icd10", "terms": [{"name": "x", "code": {"a": 1}}]},
    {"target": "icd10", "terms": ["x"], "limit": True},
    {"target": 5, "terms": ["x"]},
    {"target": "@2023", "terms": ["x"]},
    {"catalog": "icd10", "version": ["2023"], "terms": ["x"]},
    {"catalog": "icd10", "version": True, "terms": ["x"]},
    {"target": "icd10", "terms": ["холера " * 200]},
    {"target": "icd10", "terms": [{"name": "холера " * 200}]},
    {"target": "icd10", "terms": ["холера " * 140] * 300},  # 980 characters each, 294,000 in all
])
def test_match_refuses_bad_terms_and_targets(client, body):
    r = client.post("/api/v1/match", json=body)
    assert r.status_code == 400, r.get_json()
