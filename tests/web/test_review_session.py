"""Review pages through the Flask test client: server-side sessions, CSRF errors, decisions and what they say."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mapping_fixtures import make_map_set
from registry import auth
from registry.mapping import decide, get_mapping, mapping_history
from registry.models import ApiToken, ReviewSession
from registry.models.catalog import utcnow
from registry.web import create_app

SESSIONS = ReviewSession.__table__
TOKENS = ApiToken.__table__


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
    assert set(data) == {"sid", "lang"}  # a random session id; not the token's name, secret or hash
    assert reviewer not in repr(data) and reviewer not in set_cookie and "anna" not in repr(data)
    assert auth.hash_secret(reviewer) not in repr(data)
    with store.engine.connect() as conn:  # the database keeps only the id's hash
        assert conn.execute(sa.select(SESSIONS.c.id_hash)).scalars().all() == [auth.hash_secret(data["sid"])]
    assert client.get("/review/").status_code == 200


def test_cookies_are_secure_when_served_over_https(store, reviewer):
    client = make_client(store, NSI_HTTPS=True)
    assert "Secure" in sign_in(client, reviewer).headers["Set-Cookie"]


def test_cookies_are_secure_behind_a_trusted_tls_proxy_only(store, reviewer):
    """Behind NSI_TRUSTED_PROXIES proxies, X-Forwarded-Proto: https makes the cookie Secure; without that
    setting the header is not believed (anyone can send it), and a direct https request is Secure either way."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}

    def cookie(client, **kw):
        secret = csrf_of(client)
        r = client.post("/review/login", data={"token": reviewer, "csrf": secret}, **kw)
        assert r.status_code == 302
        return r.headers["Set-Cookie"]

    assert "Secure" in cookie(make_client(store, NSI_TRUSTED_PROXIES=1), headers=forwarded)
    assert "Secure" not in cookie(make_client(store), headers=forwarded)
    assert "Secure" not in cookie(make_client(store, NSI_TRUSTED_PROXIES=1))
    assert "Secure" in cookie(make_client(store), base_url="https://localhost")


def test_revoking_the_token_signs_the_reviewer_out(store, reviewer):
    client = make_client(store)
    sign_in(client, reviewer)
    assert client.get("/review/").status_code == 200
    auth.revoke_token(store, "anna")
    r = client.get("/review/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/review/login")
    auth.create_token(store, "anna", "reviewer")  # a new token under the same name does not revive the session
    assert client.get("/review/").status_code == 302
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(SESSIONS)).scalar() == 0


def test_a_session_ends_when_its_token_expires(store):
    """A token made with an expiry signs in; once the expiry passes, its session ends (deleted) and it cannot sign
    in again: the login page refuses it."""
    secret = auth.create_token(store, "brief", "reviewer", timedelta(hours=1))[1]
    client = make_client(store)
    assert sign_in(client, secret).status_code == 302
    assert client.get("/review/").status_code == 200
    with store.engine.begin() as conn:
        conn.execute(TOKENS.update().where(TOKENS.c.name == "brief").values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.get("/review/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/review/login")
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(SESSIONS)).scalar() == 0
    assert sign_in(make_client(store), secret).status_code == 401


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


def cookie_of(client) -> str:
    return client.get_cookie(client.application.config["SESSION_COOKIE_NAME"]).value


def with_cookie(store, value: str):
    """Another browser holding a copy of a session cookie."""
    other = make_client(store)
    other.set_cookie(other.application.config["SESSION_COOKIE_NAME"], value)
    return other


def form_of(client, path: str) -> dict:
    """The hidden fields of the review form at `path` (csrf, revision)."""
    page = client.get(path).get_data(as_text=True)
    return {name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1) for name in ("csrf", "revision")}


def textarea(page: str) -> str:
    return re.search(r'<textarea name="comment" id="comment"[^>]*>(.*?)</textarea>', page, re.S).group(1)


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(store, reviewer):
    """Issue 16, item 12: a cookie copied before sign-out still opened pages and saved comments."""
    make_map_set(store)
    client = make_client(store)
    sign_in(client, reviewer)
    form = form_of(client, "/review/mapsets/local-icd/m/L04")
    copied = cookie_of(client)
    assert with_cookie(store, copied).get("/review/").status_code == 200
    client.post("/review/logout", data={"csrf": form["csrf"]})
    thief = with_cookie(store, copied)
    r = thief.get("/review/mapsets/local-icd")
    assert r.status_code == 302 and r.headers["Location"].startswith("/review/login")
    r = thief.post("/review/mapsets/local-icd/m/L04", data={**form, "decision": "comment", "comment": "not mine"})
    assert r.status_code in (302, 401)
    assert get_mapping(store, "local-icd", "L04").comment is None
    assert [e["action"] for e in mapping_history(store, "local-icd", "L04")] == ["suggest"]


@pytest.mark.parametrize("column, age", [("last_seen_at", timedelta(minutes=241)),
                                         ("created_at", timedelta(hours=12, minutes=1))])
def test_sessions_expire_when_idle_and_after_their_lifetime(store, reviewer, column, age):
    client = make_client(store)
    sign_in(client, reviewer)
    assert client.get("/review/").status_code == 200
    with store.engine.begin() as conn:
        conn.execute(SESSIONS.update().values({column: utcnow() - age}))
    sign_in(make_client(store), reviewer)  # a sign-in elsewhere deletes the expired sessions
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(SESSIONS)).scalar() == 1
    r = client.get("/review/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/review/login")


def test_session_lifetimes_are_settings(store, reviewer):
    client = make_client(store, NSI_SESSION_IDLE_MINUTES=5, NSI_SESSION_MAX_HOURS=1)
    sign_in(client, reviewer)
    with store.engine.begin() as conn:
        conn.execute(SESSIONS.update().values(last_seen_at=utcnow() - timedelta(minutes=4)))
    assert client.get("/review/").status_code == 200  # used 4 minutes ago: alive, and its clock moves on
    with store.engine.connect() as conn:
        seen = conn.execute(sa.select(SESSIONS.c.last_seen_at)).scalar()
    assert auth._aware(seen) > utcnow() - timedelta(minutes=1)
    with store.engine.begin() as conn:
        conn.execute(SESSIONS.update().values(created_at=utcnow() - timedelta(minutes=61)))
    assert client.get("/review/").status_code == 302


def test_a_cross_site_post_does_not_sign_the_reviewer_out(store, reviewer):
    """Issue 16, item 13: the CSRF error page sent a fresh session cookie that replaced the signed-in one."""
    client = make_client(store)
    sign_in(client, reviewer)
    # A cross-site form post arrives without the SameSite=Lax cookie, as from a browser without one.
    r = make_client(store).post("/review/logout", data={"csrf": "forged"})
    assert r.status_code == 400
    assert "Set-Cookie" not in r.headers
    r = client.post("/review/logout", data={"csrf": "forged"})  # with the cookie but a wrong token: same
    assert r.status_code == 400 and "Set-Cookie" not in r.headers
    assert client.get("/review/").status_code == 200


def test_a_typed_comment_survives_a_conflict_and_a_refused_form(store, reviewer):
    """Issue 16, item 15: the comment was lost on a conflict, after a refused form and after a revoked token."""
    make_map_set(store, four_eyes=True)
    client = make_client(store)
    sign_in(client, reviewer)
    path = "/review/mapsets/local-icd/m/L04"
    form = form_of(client, path)
    decide(store, "local-icd", "L04", "reject", actor="boris", revision=1)  # someone else, meanwhile
    r = client.post(path, data={**form, "decision": "approve", "comment": "Лаборатория <подтвердила>"})
    assert r.status_code == 409
    assert textarea(r.get_data(as_text=True)) == "Лаборатория &lt;подтвердила&gt;"
    r = client.post(path, data={**form, "csrf": "expired", "decision": "approve", "comment": "second try"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "This form has expired" in page and textarea(page) == "second try"
    form = form_of(client, "/review/mapsets/local-icd/m/L01")
    client.post("/review/mapsets/local-icd/m/L01", data={**form, "decision": "approve"})  # anna proposes
    r = client.post("/review/mapsets/local-icd/m/L01", data={**form_of(client, "/review/mapsets/local-icd/m/L01"),
                                                            "decision": "approve", "comment": "own proposal"})
    assert r.status_code == 403 and textarea(r.get_data(as_text=True)) == "own proposal"  # four-eyes refusal


def test_a_typed_comment_survives_a_revoked_token(store, reviewer):
    make_map_set(store)
    client = make_client(store)
    sign_in(client, reviewer)
    path = "/review/mapsets/local-icd/m/L02"
    form = form_of(client, path)
    auth.revoke_token(store, "anna")
    r = client.post(path, data={**form, "decision": "reject", "comment": "wrong typhus, see the lab report"})
    assert r.status_code == 401
    page = r.get_data(as_text=True)
    assert 'value="wrong typhus, see the lab report"' in page  # carried through the sign-in form
    new_secret = auth.create_token(store, "anna", "reviewer")[1]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    action = re.search(r'<form method="post" action="([^"]+)"', page.split("<main>")[1]).group(1)
    r = client.post(action.replace("&amp;", "&"), data={**fields, "token": new_secret})
    assert r.status_code == 302 and r.headers["Location"] == path
    assert textarea(client.get(path).get_data(as_text=True)) == "wrong typhus, see the lab report"
    assert textarea(client.get(path).get_data(as_text=True)) == ""  # handed over once
    assert get_mapping(store, "local-icd", "L02").status == "candidate"  # nothing was decided meanwhile


def test_not_mappable_is_not_called_or_counted_approved(store, reviewer):
    """Issue 16, item 16: "Not mappable" said "is now approved" and counted in the approved total."""
    make_map_set(store)
    client = make_client(store)
    sign_in(client, reviewer)
    path = "/review/mapsets/local-icd/m/L05"
    r = client.post(path, data={**form_of(client, path), "decision": "not-mappable"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "Saved: L05 is now not mappable." in page and "L05 is now approved" not in page
    path = "/review/mapsets/local-icd/m/L01"
    client.post(path, data={**form_of(client, path), "decision": "approve"})
    page = client.get("/review/mapsets/local-icd").get_data(as_text=True)
    tiles = dict(re.findall(r'data-status="([^"]+)">\s*<b>(\d+)</b>', page))
    assert tiles == {"candidate": "3", "proposed": "0", "approved": "1", "not-mappable": "1", "rejected": "0"}
    listed = client.get("/review/mapsets/local-icd?status=approved").get_data(as_text=True)
    assert ">L01<" in listed and ">L05<" not in listed
    listed = client.get("/review/mapsets/local-icd?status=not-mappable").get_data(as_text=True)
    assert ">L05<" in listed and ">L01<" not in listed
    home = client.get("/review/").get_data(as_text=True)
    assert "2 of 5 decided" in home


def test_a_decision_that_changes_nothing_says_so(store, reviewer):
    make_map_set(store)
    client = make_client(store)
    sign_in(client, reviewer)
    path = "/review/mapsets/local-icd/m/L01"
    client.post(path, data={**form_of(client, path), "decision": "approve"})
    r = client.post(path, data={**form_of(client, path), "decision": "approve", "stay": "1"}, follow_redirects=True)
    assert "L01 was already approved; nothing changed." in r.get_data(as_text=True)
    assert [e["action"] for e in mapping_history(store, "local-icd", "L01")] == ["suggest", "approve"]


def sign_in_from(client, secret, address="198.51.100.7"):
    return client.post("/review/login", data={"token": secret, "csrf": csrf_of(client)},
                       environ_base={"REMOTE_ADDR": address})


def test_failed_sign_ins_are_throttled_per_address(store, reviewer):
    """After NSI_SIGN_IN_FAILURES wrong tokens from one address within the window, that address gets 429 with
    Retry-After, even with the right token; another address is not held back; once the window has passed, the
    right token signs in and the count starts again."""
    client = make_client(store, NSI_SIGN_IN_FAILURES=3, NSI_SIGN_IN_WINDOW_MINUTES=10)
    now = [utcnow()]
    client.application.extensions["nsi_sign_in_throttle"].clock = lambda: now[0]

    for _ in range(3):
        assert sign_in_from(client, "nsi_wrong").status_code == 401
    refused = sign_in_from(client, reviewer)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "600"
    assert "Too many failed sign-ins from your address. Try again in 10 min." in refused.get_data(as_text=True)
    assert client.get("/review/").status_code == 302  # not signed in
    now[0] += timedelta(seconds=599)
    assert sign_in_from(client, reviewer).headers["Retry-After"] == "1"
    assert sign_in_from(client, reviewer, address="203.0.113.5").status_code == 302  # another address signs in
    now[0] += timedelta(seconds=1)
    assert sign_in_from(client, reviewer).status_code == 302
    assert client.get("/review/").status_code == 200


def test_two_instances_on_one_database_share_the_sign_in_count(store, reviewer):
    """Failures made through one instance count at the other (two apps, each with its own Store and engine,
    as two `nsi serve` processes or nodes have): 2 failures at A and 1 at B reach the limit of 3 at both, and a
    success at B frees the address at A too."""
    from registry.store import Store
    other_store = Store.open()
    try:
        settings = {"NSI_SIGN_IN_FAILURES": 3, "NSI_SIGN_IN_WINDOW_MINUTES": 10}
        a, b = make_client(store, **settings), make_client(other_store, **settings)
        assert sign_in_from(a, "nsi_wrong").status_code == 401
        assert sign_in_from(b, "nsi_wrong").status_code == 401
        assert sign_in_from(a, reviewer).status_code == 302  # 2 failures: still allowed, and forgotten
        for client in (a, a, b):
            assert sign_in_from(client, "nsi_wrong").status_code == 401
        for client in (a, b):
            refused = sign_in_from(client, reviewer)
            assert refused.status_code == 429 and refused.headers["Retry-After"] in ("600", "599")
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM sign_in_failure")).scalar() == 3
    finally:
        other_store.engine.dispose()
