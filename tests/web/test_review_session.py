"""Review-page sessions through the Flask test client: what the cookie holds, sign-out on revoke, CSRF errors."""

from __future__ import annotations

import re

import pytest

from registry import auth
from registry.web import create_app


@pytest.fixture
def reviewer(store):
    """A reviewer token secret (name `anna`)."""
    return auth.create_token(store, "anna", "reviewer")[1]


def make_client(store, **config):
    return create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False, **config}).test_client()


def csrf_of(client, path="/review/login") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, secret):
    return client.post("/review/login", data={"token": secret, "csrf": csrf_of(client)})


def session_data(client) -> dict:
    app = client.application
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_the_session_cookie_never_holds_the_token_secret(store, reviewer):
    client = make_client(store)
    r = sign_in(client, reviewer)
    assert r.status_code == 302
    set_cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Secure" not in set_cookie
    data = session_data(client)
    assert data["reviewer"]["name"] == "anna"
    assert reviewer not in repr(data) and reviewer not in set_cookie
    assert auth.hash_secret(reviewer) not in repr(data)
    assert client.get("/review/").status_code == 200


def test_cookies_are_secure_when_served_over_https(store, reviewer):
    client = make_client(store, NSI_HTTPS=True)
    assert "Secure" in sign_in(client, reviewer).headers["Set-Cookie"]


def test_revoking_the_token_signs_the_reviewer_out(store, reviewer):
    client = make_client(store)
    sign_in(client, reviewer)
    assert client.get("/review/").status_code == 200
    auth.revoke_token(store, "anna")
    r = client.get("/review/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/review/login")
    auth.create_token(store, "anna", "reviewer")  # a new token under the same name does not revive the session
    assert client.get("/review/").status_code == 302


def test_a_failed_csrf_check_shows_the_localised_error_page(store, reviewer):
    client = make_client(store)
    sign_in(client, reviewer)
    r = client.post("/review/logout", data={"csrf": "forged"})
    assert r.status_code == 400 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "This form has expired or did not come from this site. Reload the page and try again." in page
    assert page.lstrip().startswith("<!doctype html>") and "bad_request" not in page
    r = client.post("/review/logout", data={"csrf": "подделка"}, headers={"Accept-Language": "ru"})
    assert r.status_code == 400
    assert "Срок действия формы истёк или она отправлена не с этого сайта." in r.get_data(as_text=True)
    assert client.get("/review/").status_code == 200  # still signed in: the forged form did nothing


def test_the_diff_page_shows_changed_fields_readably(loaded, reviewer, tmp_path):
    from importers import run_import
    rows = tmp_path / "v3.jsonl"
    rows.write_text('{"code": "A00", "display": "Холера", "attributes": {"changed_on": "2024-03-15"}}\n'
                    '{"code": "A01", "display": "Тиф", "parents": ["A00"]}\n', encoding="utf-8")
    run_import(loaded, rows, catalog="icd10", version="2025", publish=True)
    client = make_client(loaded)
    sign_in(client, reviewer)
    page = client.get("/review/catalogs/icd10/diff?from=2024&to=2025").get_data(as_text=True)
    assert "attributes: <del>—</del> → <ins>{&#34;changed_on&#34;: &#34;2024-03-15&#34;}</ins>" in page
    assert "{&#39;changed_on&#39;" not in page  # never a Python repr
