"""HTTP caching of published versions: ETag from the checksum, 304, long max-age by label, revalidation via latest."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("loaded")
V = "/api/v1/catalogs/icd10/versions"


def test_label_responses_carry_checksum_etag_and_long_max_age(client, store):
    checksum = store.get_version("icd10", "2024").checksum
    for path in ["/2024/entries/A00", "/2024/entries?limit=2", "/2024/download?format=csv"]:
        r = client.get(V + path)
        assert r.status_code == 200
        etag = r.headers["ETag"]
        assert etag.startswith(f'"{checksum[:16]}-')
        assert r.headers["Cache-Control"] == "public, max-age=86400"
        again = client.get(V + path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.data == b""
        assert again.headers["ETag"] == etag
    diff = client.get("/api/v1/catalogs/icd10/diff?from=2023&to=2024")
    assert client.get("/api/v1/catalogs/icd10/diff?from=2023&to=2024",
                      headers={"If-None-Match": diff.headers["ETag"]}).status_code == 304


def test_version_metadata_shows_a_retirement_at_once(client, store, tokens, bearer):
    first = client.get(V + "/2024")
    etag = first.headers["ETag"]
    assert first.get_json()["status"] == "published"
    assert first.headers["Cache-Control"] == "public, max-age=60, must-revalidate"
    assert client.get(V + "/2024", headers={"If-None-Match": etag}).status_code == 304
    assert client.post(V + "/2024/retire", headers=bearer(tokens["admin"])).status_code == 200
    after = client.get(V + "/2024", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.get_json()["status"] == "retired" and after.get_json()["retired_at"]
    assert after.headers["ETag"] not in (etag, None)
    assert client.get(V + "/2024").get_json()["status"] == "retired"  # not the old body from the response cache


def test_each_representation_has_its_own_etag(client):
    tags = {client.get(V + p).headers["ETag"] for p in
            ["/2024/entries/A00", "/2024/entries/A01", "/2024/download?format=csv", "/2024/download?format=jsonl",
             "/2024/entries?limit=2", "/2024/entries?limit=3", "/2023/entries/A00"]}
    assert len(tags) == 7


def test_if_none_match_uses_the_weak_comparison_lists_and_star(client):
    url = V + "/2024/entries/A00"
    etag = client.get(url).headers["ETag"]
    other = '"0000000000000000-000000000000"'
    for header in ["W/" + etag, f"{other}, {etag}", f"{other},W/{etag}", "*"]:
        r = client.get(url, headers={"If-None-Match": header})
        assert (r.status_code, r.headers["ETag"]) == (304, etag), header
    assert client.get(url, headers={"If-None-Match": f"{other}, W/{other}"}).status_code == 200


def test_a_stale_etag_gets_the_full_response(client):
    r = client.get(V + "/2024/entries/A00", headers={"If-None-Match": '"0000000000000000-000000000000"'})
    assert r.status_code == 200 and r.get_json()["code"] == "A00"


def test_latest_is_revalidated_and_moves_on_publish(client, store, api_data, tmp_path):
    from importers import run_import
    r = client.get(V + "/latest/entries/A00")
    assert r.headers["Cache-Control"] == "public, max-age=60, must-revalidate"
    etag = r.headers["ETag"]
    assert client.get(V + "/latest/entries/A00", headers={"If-None-Match": etag}).status_code == 304
    newer = tmp_path / "v3.jsonl"
    newer.write_text((api_data / "icd_v2.jsonl").read_text(encoding="utf-8").replace("Холера\"", "Холера азиатская\""),
                     encoding="utf-8")
    run_import(store, newer, catalog="icd10", version="2025", publish=True)
    r = client.get(V + "/latest/entries/A00", headers={"If-None-Match": etag})
    assert r.status_code == 200
    assert r.get_json()["display"] == "Холера азиатская"
    assert r.headers["ETag"] != etag


def test_max_age_comes_from_the_settings(store):
    from registry.web import create_app
    client = create_app({"TESTING": True, "NSI_STORE": store, "NSI_CACHE_MAX_AGE": 7,
                         "NSI_LATEST_MAX_AGE": 3}).test_client()
    assert client.get(V + "/2024/entries/A00").headers["Cache-Control"] == "public, max-age=7"
    assert client.get(V + "/2024").headers["Cache-Control"] == "public, max-age=3, must-revalidate"
    assert client.get(V + "/latest").headers["Cache-Control"] == "public, max-age=3, must-revalidate"


def test_lookups_from_the_response_cache_equal_fresh_ones(store, client):
    from registry.web import create_app
    uncached = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RESPONSE_CACHE_MB": 0}).test_client()
    codes = [e["code"] for e in store.iter_entries("icd10", "2024")]
    for code in codes + codes:  # the first request renders the whole version into the cache
        a = client.get(f"{V}/2024/entries/{code}")
        b = uncached.get(f"{V}/2024/entries/{code}")
        assert (a.status_code, a.headers["ETag"], a.get_json()) == (200, b.headers["ETag"], b.get_json())
    memory = client.application.extensions["nsi_response_cache"]
    assert len(memory.prefilled) == 1 and memory.size > 0


def test_catalog_list_passport_and_feed_have_an_etag_that_moves_with_every_change(client, store, tokens, bearer,
                                                                                  tmp_path):
    """What systems poll for news answers 304 until something it shows changes, then a new ETag."""
    from importers import run_import
    from registry.models import CatalogCreate
    from tests.web.conftest import API_DATA
    urls = ["/api/v1/catalogs", "/api/v1/catalogs/icd10", "/api/v1/feed", "/api/v1/feed.atom", V]

    def tags():
        out = {}
        for url in urls:
            r = client.get(url)
            assert r.status_code == 200 and r.headers["ETag"], url
            assert r.headers["Cache-Control"] == "public, max-age=60, must-revalidate" or url == V, url
            assert client.get(url, headers={"If-None-Match": r.headers["ETag"]}).status_code == 304, url
            out[url] = r.headers["ETag"]
        return out

    def moved(before, after):
        return {url for url in urls if before[url] != after[url]}

    start = tags()
    assert tags() == start                     # nothing changed, nothing moves
    store.create_catalog(CatalogCreate(slug="atc", title="ATC", kind="drug"))
    step = tags()
    assert moved(start, step) == {"/api/v1/catalogs"}
    draft = tmp_path / "2025.jsonl"
    draft.write_text((API_DATA / "icd_v1.jsonl").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    run_import(store, draft, catalog="icd10", version="2025")          # a draft: the passports count it
    assert moved(step, step := tags()) == {"/api/v1/catalogs", "/api/v1/catalogs/icd10"}
    assert client.post(V + "/2025/publish", headers=bearer(tokens["admin"])).status_code == 200
    assert moved(step, step := tags()) == set(urls)
    assert client.post(V + "/2025/retire", headers=bearer(tokens["admin"])).status_code == 200
    assert moved(step, step := tags()) == set(urls) - {"/api/v1/feed.atom"}   # Atom entries show no status
    store.update_field_schema("icd10", {"chapter": "string"})                            # a passport edit
    assert moved(step, step := tags()) == {"/api/v1/catalogs", "/api/v1/catalogs/icd10"}
    r = client.get(V)
    assert "Authorization" in r.headers["Vary"] and r.headers["Cache-Control"].startswith("private")


def test_the_openapi_document_names_the_304_of_every_route_with_an_etag(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ["/catalogs", "/catalogs/{slug}", "/catalogs/{slug}/versions", "/feed", "/feed.atom",
                 "/catalogs/{slug}/versions/{version}/entries"]:
        assert "304" in paths[path]["get"]["responses"], path
    assert "304" not in paths["/mapsets"]["get"]["responses"]
