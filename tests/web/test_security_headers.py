"""Security headers on every route of the app × anonymous and signed-in callers, generated from the url_map so a new
route is covered without touching this file: nosniff, no framing (CSP frame-ancestors 'none' and X-Frame-Options),
a referrer policy, `no-store` on the review pages, a CSP that lets a page run only its own nonce-marked scripts,
and HttpOnly + SameSite cookies.
"""

from __future__ import annotations

import re

import pytest

from mapping_fixtures import make_map_set
from registry import auth
from registry.web import create_app

# An example value for each path parameter name; (endpoint, name) overrides where one name means different things.
EXAMPLE = {"slug": "icd10", "version": "2.27", "code": "A00.9", "mapset": "local-icd", "job_id": "no-such-job",
           "rid": "icd10", "rest": "Patient/1", "name": "icd10.csv", "filename": "style.css"}
FOR_ENDPOINT = {"review": {"slug": "local-icd", "code": "L01"}, "fhir.conceptmap_read": {"rid": "local-icd"},
                "fhir.conceptmap_instance_translate": {"rid": "local-icd"}, "mapsets.show_mapping": {"code": "L01"},
                "mapsets.history": {"code": "L01"}, "mapsets.decide": {"code": "L01"}}
CATALOG_PAGES = {"review.catalog", "review.entry", "review.diff"}  # review pages about a catalog, not a map set


def example(endpoint: str, name: str) -> str:
    if endpoint in FOR_ENDPOINT and name in FOR_ENDPOINT[endpoint]:
        return FOR_ENDPOINT[endpoint][name]
    if endpoint.startswith("review.") and endpoint not in CATALOG_PAGES and name in FOR_ENDPOINT["review"]:
        return FOR_ENDPOINT["review"][name]
    assert name in EXAMPLE, f"path parameter {name!r} of {endpoint} has no example value in this test"
    return EXAMPLE[name]


def every_request(app) -> list[tuple[str, str, str]]:
    """(method, URL, endpoint) of every route and method of the app."""
    requests = []
    for rule in app.url_map.iter_rules():
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{name}>", example(rule.endpoint, name), url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            requests.append((method, url, rule.endpoint))
    return requests


@pytest.fixture
def app(sqlite_store):
    make_map_set(sqlite_store)
    return create_app({"TESTING": True, "NSI_STORE": sqlite_store, "NSI_RECOVER_JOBS": False, "NSI_RUN_JOBS": False})


def signed_in(app, store):
    """A test client signed in to the review pages as an admin, and the headers of a browser with the admin's token."""
    secret = auth.create_token(store, "root", "admin")[1]
    client = app.test_client()
    page = client.get("/review/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert client.post("/review/login", data={"token": secret, "csrf": csrf}).status_code == 302
    return client, {"Authorization": f"Bearer {secret}", "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def check_headers(method: str, url: str, response, signed_in: bool) -> None:
    where = (method, url, response.status_code)
    assert response.status_code < 500, where
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    policy = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, where
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), where
    if url.startswith("/review"):
        assert headers.get("Cache-Control") == "no-store", where
    if response.mimetype == "text/html":
        nonce = re.search(r"script-src 'nonce-([A-Za-z0-9_-]{16,})'", policy)
        assert nonce and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0], (where, policy)
        body = response.get_data(as_text=True)
        scripts = re.findall(r"<script\b[^>]*>", body)
        assert all(f'nonce="{nonce[1]}"' in tag for tag in scripts), (where, scripts)
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", body), where  # no inline handlers: CSP would block them
    else:
        assert policy.startswith("default-src 'none'"), (where, policy)
    for cookie in headers.getlist("Set-Cookie"):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, (where, cookie)


def test_every_route_sends_the_security_headers_anonymous_and_signed_in(app):
    store = app.extensions["nsi_store"]
    requests = every_request(app)
    assert len(requests) >= 80
    anonymous = app.test_client()
    client, bearer = signed_in(app, store)
    html_pages = set()
    for method, url, endpoint in requests:
        for who, caller, headers in (("anonymous", anonymous, {}), ("signed in", client, bearer)):
            if who == "signed in" and method != "GET" and not url.startswith("/review"):
                continue  # writes with a token are the access matrix's business; only their refusals are here
            response = caller.open(url, method=method, headers=headers)
            check_headers(method, url, response, who == "signed in")
            response.get_data()
            response.close()
            if response.mimetype == "text/html" and response.status_code == 200:
                html_pages.add(endpoint)
    # the pages were really rendered (not only redirects to the login page)
    assert {"landing.index", "openapi.docs_page", "review.login", "review.home", "review.dashboard",
            "review.review_item", "review.history", "review.catalog", "review.entry"} <= html_pages
    assert client.get("/review/").status_code == 200  # still signed in: no request above signed out


def test_review_pages_are_no_store_and_api_reads_stay_cacheable(app):
    """no-store is for what a signed-in reviewer sees; published API reads keep their long max-age."""
    store = app.extensions["nsi_store"]
    client, bearer = signed_in(app, store)
    assert client.get("/review/mapsets/local-icd").headers["Cache-Control"] == "no-store"
    read = app.test_client().get("/api/v1/catalogs/icd10/versions/2.27/entries/A00.9")
    assert read.status_code == 200 and read.headers["Cache-Control"].startswith("public, max-age=")


def test_each_page_gets_a_fresh_script_nonce(app):
    first, second = (app.test_client().get("/review/login").headers["Content-Security-Policy"] for _ in range(2))
    assert first != second
