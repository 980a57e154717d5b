"""The start page at `/`: a browser gets a page linking the review pages, the API reference and the catalogs."""

from __future__ import annotations

import re

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_gets_a_page_whose_links_all_work(client, loaded):
    page = client.get("/", headers=BROWSER)
    assert (page.status_code, page.mimetype) == (200, "text/html")
    assert "Accept" in page.headers["Vary"]
    html = page.get_data(as_text=True)
    hrefs = re.findall(r'href="([^"]+)"', html)
    for expected in ("/review/", "/review/catalogs/icd10", "/api/v1/docs", "/api/v1/openapi.json", "/api/v1/catalogs",
                     "/api/v1/catalogs/icd10", "/api/v1/catalogs/icd10/versions/latest/entries"):
        assert expected in hrefs
    assert "МКБ-10" in html and "<td>2024</td>" in html
    for href in hrefs:
        answer = client.get(href)
        # The review pages send a visitor who has not signed in to the sign-in page.
        assert answer.status_code == 200 or (href.startswith("/review/") and answer.status_code == 302), href


def test_an_api_client_gets_a_json_index_of_the_same_links(client, loaded):
    for accept in ({"Accept": "application/json"}, {"Accept": "*/*"}, {}):
        index = client.get("/", headers=accept)
        assert (index.status_code, index.mimetype) == (200, "application/json"), accept
    links = index.get_json()["links"]
    assert links["api_docs"] == "/api/v1/docs" and links["catalogs"] == "/api/v1/catalogs"
    assert links["review"] == "/review/" and links["openapi"] == "/api/v1/openapi.json"
    assert all(client.get(href).status_code in (200, 302) for href in links.values())


def test_with_closed_reads_the_page_is_public_but_lists_no_catalogs(loaded):
    from registry.web import create_app
    client = create_app({"TESTING": True, "NSI_STORE": loaded, "NSI_READS_NEED_TOKEN": True}).test_client()
    page = client.get("/", headers=BROWSER)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "МКБ-10" not in html and "Reads on this server need a token" in html
    assert client.get("/api/v1/catalogs").status_code == 401
