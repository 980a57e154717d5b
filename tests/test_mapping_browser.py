"""Review pages in a real browser: Playwright drives Debian's chromium (never a downloaded browser).

Signs in with a token, reviews three mappings (keyboard approve, reject, and a
re-map found through the search), checks that the dashboard counts change and
the history shows who did what, and saves a screenshot of the review screen in
test-artifacts/. With NSI_UPDATE_DOC_SCREENSHOTS=1 it also refreshes the
screenshots of docs/review-guide.md in docs/img/.
"""

from __future__ import annotations

import pytest

import browser
from mapping_fixtures import make_map_set
from registry import auth
from registry.mapping import get_map_set, get_mapping, mapping_history

DOC_SHOTS = {"review-login.png", "review-dashboard.png", "review-screen.png", "review-search.png",
             "review-history.png"}
pytestmark = browser.MARKS


@pytest.fixture
def server(sqlite_store):
    """The web app on a free local port, in a thread, serving map set `local-icd` with candidates."""
    from registry.matching import match
    make_map_set(sqlite_store, matcher=match)   # the real matcher: its scores and reasons are what reviewers see
    with browser.serving(sqlite_store, NSI_SECRET_KEY="test-secret") as base:
        yield base, sqlite_store


@pytest.fixture
def page():
    """A chromium page at a laptop-sized viewport."""
    with browser.chromium_page(1366, 768) as page:
        yield page


def shoot(page, name: str) -> None:
    """Save a screenshot into test-artifacts/ (and docs/img/ when asked to refresh the guide's images)."""
    browser.shoot(page, name, DOC_SHOTS)


def counts(page) -> dict:
    """The dashboard's counts per status."""
    return {a.get_attribute("data-status"): int(a.locator("b").inner_text())
            for a in page.locator("#counts a").all()}


def test_sign_in_review_three_mappings(server, page):
    base, store = server
    secret = auth.create_token(store, "anna", "reviewer")[1]
    page.goto(f"{base}/review/mapsets/local-icd")
    assert page.url.startswith(f"{base}/review/login")
    shoot(page, "review-login.png")
    page.fill("#token", "wrong")
    page.click("button[type=submit].primary")
    assert page.locator("[role=alert]").inner_text() == "This token is not valid, has expired or has been revoked."
    page.fill("#token", secret)
    page.click("button[type=submit].primary")
    assert page.url == f"{base}/review/mapsets/local-icd"
    assert counts(page) == {"candidate": 5, "proposed": 0, "approved": 0, "not-mappable": 0, "rejected": 0}
    shoot(page, "review-dashboard-before.png")

    page.click("#queue >> text=L01")
    assert page.locator("#source").inner_text() == "L01 Холера неуточнённая"
    assert page.locator("#candidates tr").nth(1).inner_text().split("\t")[2:5] == ["A00.9", "Холера неуточненная",
                                                                                  "100"]  # same words once ё = е
    shoot(page, "review-screen.png")
    page.fill("#comment", "same disease")
    page.locator("#comment").press("Escape")
    page.keyboard.press("a")  # approve the preselected first candidate
    page.wait_for_url(f"{base}/review/mapsets/local-icd/m/L02")
    assert page.locator(".flash").inner_text() == "Saved: L01 is now approved."

    page.keyboard.press("r")  # reject L02's suggestion
    page.wait_for_url(f"{base}/review/mapsets/local-icd/m/L03")

    page.keyboard.press("s")
    page.keyboard.type("Паратиф B")
    page.keyboard.press("Enter")
    page.wait_for_url("**/m/L03?search=*")
    page.check("#found-1")
    page.select_option("#relationship", "broader")
    shoot(page, "review-search.png")
    page.click("#approve")
    page.wait_for_url(f"{base}/review/mapsets/local-icd/m/L04")

    page.goto(f"{base}/review/mapsets/local-icd")
    assert counts(page) == {"candidate": 2, "proposed": 0, "approved": 2, "not-mappable": 0, "rejected": 1}
    shoot(page, "review-dashboard.png")
    l03 = get_mapping(store, "local-icd", "L03")
    assert (l03.status, l03.target_code, l03.relationship, l03.method, l03.decided_by) == (
        "approved", "A01.2", "broader", "manual", "anna")
    assert mapping_history(store, "local-icd", "L01")[-1]["comment"] == "same disease"

    page.goto(f"{base}/review/mapsets/local-icd/m/L03/history")
    rows = page.locator("#events tr").all()[1:]
    assert [r.inner_text().split("\t")[1:3] for r in rows] == [["matcher", "suggest"], ["anna", "approve"]]
    shoot(page, "review-history.png")

    page.click("header button[value=ru]")
    assert page.locator("h1").inner_text() == "История L03"
    page.goto(f"{base}/review/mapsets/local-icd/m/L04")
    assert page.locator("#approve").inner_text().startswith("Утвердить")


def test_stale_page_shows_conflict_and_current_state(server, page):
    base, store = server
    secret = auth.create_token(store, "anna", "reviewer")[1]
    page.goto(f"{base}/review/login")
    page.fill("#token", secret)
    page.click("button[type=submit].primary")
    page.goto(f"{base}/review/mapsets/local-icd/m/L04")
    from registry.mapping import decide
    decide(store, "local-icd", "L04", "reject", actor="boris", revision=1)  # someone else, meanwhile
    page.fill("#comment", "the lab confirmed salmonella")
    page.click("#approve")
    assert page.locator("#error").inner_text().startswith("mapping L04 was changed (revision 2")
    assert page.locator("#status").inner_text() == "rejected"
    assert page.locator("#comment").input_value() == "the lab confirmed salmonella"  # kept to decide again
    assert get_map_set(store, "local-icd").counts["approved"] == 0


def test_a_cross_site_form_post_leaves_the_reviewer_signed_in(server, page):
    """Issue 16, item 13: the refused post's error page sent a fresh cookie that replaced the signed-in one."""
    base, store = server
    secret = auth.create_token(store, "anna", "reviewer")[1]
    page.goto(f"{base}/review/login")
    page.fill("#token", secret)
    page.click("button[type=submit].primary")
    assert page.locator("header").inner_text().count("anna (reviewer)") == 1
    # Another site's page posts a form to the registry; the browser leaves the SameSite=Lax cookie out.
    page.route("http://other-site.example/**", lambda route: route.fulfill(content_type="text/html", body=(
        f'<form method="post" action="{base}/review/logout"><input name="csrf" value="guess"></form>'
        f'<script>document.forms[0].submit()</script>')))
    page.goto("http://other-site.example/")
    page.wait_for_url(f"{base}/review/logout")
    assert page.locator("[role=alert]").inner_text().startswith("This form has expired or did not come from this site")
    page.goto(f"{base}/review/mapsets/local-icd")
    assert page.url == f"{base}/review/mapsets/local-icd"  # still signed in
    assert "anna (reviewer)" in page.locator("header").inner_text()
