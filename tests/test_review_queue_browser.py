"""The review queue in chromium at 1280x720, as a coder works through a whole register.

130 source entries, every tenth without a candidate. The coder filters the queue to the entries without
a candidate, walks it with Next (which stays in the filter), decides one (and lands on the next item of the
same filter), sorts by score and jumps to the last page. Screenshots go to test-artifacts/ (and, with
NSI_UPDATE_DOC_SCREENSHOTS=1, into docs/img/ for the review guide).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

import browser
from mapping_fixtures import SHARED, FakeMatcher
from registry import auth
from registry.mapping import create_map_set, get_mapping, map_set_history, suggest
from registry.models import CatalogCreate, MapSetCreate

pytestmark = browser.MARKS
N = 130
TARGETS = [e["code"] for e in SHARED if e.get("status") != "deprecated"]
DOC_SHOTS = {"review-queue.png", "review-queue-screen.png", "review-bulk.png", "review-worksheet.png",
             "review-facts.png", "review-queue.ru.png", "review-bulk.ru.png", "review-worksheet.ru.png",
             "review-facts.ru.png"}


def answers() -> dict:
    """Every tenth local code without a candidate; the others with up to five, scores falling with the code."""
    out = {}
    for i in range(1, N + 1):
        code = f"L{i:03d}"
        out[code] = [] if i % 10 == 0 else [(t, round(99 - (i % 37) - k * 7, 1)) for k, t in
                                            enumerate(TARGETS[: 1 + i % 5])]
    return out


@pytest.fixture
def server(sqlite_store):
    store = sqlite_store
    for slug, label, entries in (("local", "1", [{"code": f"L{i:03d}", "display": f"Локальный диагноз {i}"}
                                                for i in range(1, N + 1)]),
                                 ("icd10", "2.27", SHARED)):
        store.create_catalog(CatalogCreate(slug=slug, title=slug, kind="classification"))
        store.stage_draft(slug, label, [dict(e) for e in entries])
        store.publish(slug, label)
    create_map_set(store, MapSetCreate(slug="local-icd", source="local@1", target="icd10"), actor="admin")
    suggest(store, "local-icd", matcher=FakeMatcher(answers()))
    with browser.serving(store) as base:
        yield base, store


@pytest.fixture
def page():
    with browser.chromium_page(1280, 720) as page:
        yield page


def shoot(page, name: str, full: bool = True) -> None:
    browser.shoot(page, name, DOC_SHOTS, full)


def here(page) -> tuple[str, dict]:
    parts = urlsplit(page.url)
    return parts.path.rsplit("/", 1)[-1], {k: v[0] for k, v in parse_qs(parts.query).items()}


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 720


def test_work_through_a_filtered_queue(server, page):
    base, store = server
    page.goto(f"{base}/review/login")
    page.fill("#token", auth.create_token(store, "anna", "reviewer")[1])
    page.click("button[type=submit].primary")
    page.goto(f"{base}/review/mapsets/local-icd")
    assert page.locator("#showing").inner_text() == "showing 1–50 of 130"
    assert page.locator("#pager .page-current").inner_text() == "1"

    # the entries without a candidate: every tenth
    page.select_option("#filter-candidates", "none")
    page.click("#filter")
    assert page.locator("#showing").inner_text() == "showing 1–13 of 13"
    assert page.locator("#queue tr td a[href*='/m/']").all_inner_texts()[:3] == ["L010", "L020", "L030"]
    page.click("#queue >> text=L010")
    assert here(page) == ("L010", {"candidates": "none"})
    assert page.locator("#queue-position").inner_text() == "· 1 of 13 in this queue"
    page.click("#next")
    assert here(page) == ("L020", {"candidates": "none"})
    page.wait_for_load_state("load")  # the J/K keys work once the page's script has run; a loaded machine is slow
    page.keyboard.press("k")
    page.wait_for_url("**/m/L010?candidates=none")
    page.wait_for_load_state("load")
    page.keyboard.press("j")
    page.wait_for_url("**/m/L020?candidates=none")
    # a decision takes L020 out of nothing (it still has no candidate) and moves on within the filter
    page.click("#not-mappable")
    page.wait_for_url("**/m/L030?candidates=none")
    assert get_mapping(store, "local-icd", "L020").relationship == "not-mappable"

    # sorted by score, a full review screen: the decision buttons are on the first screen
    page.goto(f"{base}/review/mapsets/local-icd?sort=-score&status=candidate")
    first = page.locator("#queue tr td a[href*='/m/']").first.inner_text()
    page.locator("#queue tr td a[href*='/m/']").first.click()
    assert here(page) == (first, {"sort": "-score", "status": "candidate"})
    assert page.locator("#candidates tr").count() >= 2
    assert in_view(page, "#approve") and in_view(page, "#reject") and in_view(page, "#not-mappable")
    shoot(page, "review-queue-screen.png", full=False)
    page.click("#approve")
    code, args = here(page)
    assert args == {"sort": "-score", "status": "candidate"} and code != first

    # the jump to a page
    page.goto(f"{base}/review/mapsets/local-icd")
    page.fill("#page-number", "3")
    page.click("#jump button")
    assert page.locator("#showing").inner_text() == "showing 101–130 of 130"
    assert page.locator("#pager .page-current").inner_text() == "3"
    assert page.locator("#queue tr td a[href*='/m/']").first.inner_text() == "L101"
    page.goto(f"{base}/review/mapsets/local-icd?candidates=some&sort=-score")
    shoot(page, "review-queue.png")


def test_bulk_approve_of_twenty_rows(server, page):
    base, store = server
    page.goto(f"{base}/review/login")
    page.fill("#token", auth.create_token(store, "boris", "reviewer")[1])
    page.click("button[type=submit].primary")
    page.goto(f"{base}/review/mapsets/local-icd?candidates=some")
    rows = page.locator("#queue input[name=pick]")
    chosen = [rows.nth(i).get_attribute("value").split(":")[0] for i in range(20)]
    for i in range(20):
        rows.nth(i).check()
    assert page.locator("#bulk-count").inner_text() == "20 selected"
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    shoot(page, "review-bulk.png")
    page.click("#bulk-approve")
    page.wait_for_selector(".flash")
    assert asked == ["Approve the top candidate of 20 mappings?"]
    assert page.locator(".flash").inner_text() == "20 mappings decided; they are now approved."
    assert here(page) == ("local-icd", {"candidates": "some"})
    for code in chosen:
        m = get_mapping(store, "local-icd", code)
        assert (m.status, m.decided_by, m.target_code) == ("approved", "boris", answers()[code][0][0])
    events = [e for e in map_set_history(store, "local-icd", limit=1000) if e["action"] == "approve"]
    assert sorted(e["source_code"] for e in events) == sorted(chosen)  # one audit row per mapping
    # a dismissed confirmation decides nothing
    page.locator("#queue input[name=pick]").first.check()
    page.once("dialog", lambda d: d.dismiss())
    page.click("#bulk-reject")
    assert not any(get_mapping(store, "local-icd", c).status == "rejected" for c in chosen)


def test_worksheet_download_and_upload_from_the_map_set_page(server, page, tmp_path):
    from openpyxl import load_workbook
    base, store = server
    page.goto(f"{base}/review/login")
    page.fill("#token", auth.create_token(store, "vera", "reviewer")[1])
    page.click("button[type=submit].primary")
    page.goto(f"{base}/review/mapsets/local-icd")
    with page.expect_download() as info:
        page.click("#worksheet-download")
    book = tmp_path / "sheet.xlsx"
    info.value.save_as(book)
    assert info.value.suggested_filename == "local-icd-review.xlsx"
    wb = load_workbook(book)
    ws = wb["Review"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) + 1 for name in ("Source code", "Decision", "Relationship", "Other target code")}
    assert ws.max_row - 1 == N
    decided = {}
    for row in range(2, ws.max_row + 1):
        code = ws.cell(row, col["Source code"]).value
        if code in ("L001", "L002"):
            ws.cell(row, col["Decision"]).value = "approve"
            decided[code] = row
        if code == "L003":
            ws.cell(row, col["Decision"]).value = "remap"
            ws.cell(row, col["Other target code"]).value = "NOPE"
            bad_row = row
    wb.save(book)

    # a wrong row: the report page lists it with its place, and nothing is applied
    page.set_input_files("#worksheet-file", str(book))
    page.click("#worksheet-upload button")
    assert page.locator("#worksheet-refused").inner_text().startswith("1 rows refused; no decision was applied.")
    cells = page.locator("#worksheet-problems tr").nth(1).locator("td").all_inner_texts()
    assert cells[:3] == [str(bad_row), "Other target code", "L003"] and "NOPE" in cells[3]
    shoot(page, "review-worksheet-refused.png")
    assert get_mapping(store, "local-icd", "L001").status == "candidate"

    ws.cell(bad_row, col["Decision"]).value = None
    ws.cell(bad_row, col["Other target code"]).value = None
    wb.save(book)
    page.goto(f"{base}/review/mapsets/local-icd")
    page.set_input_files("#worksheet-file", str(book))
    page.click("#worksheet-upload button")
    assert page.locator("#worksheet-report p").first.inner_text() == (
        f"2 decisions applied from {N} rows; {N - 2} rows without a decision left as they were.")
    shoot(page, "review-worksheet.png")
    assert [get_mapping(store, "local-icd", c).status for c in decided] == ["approved", "approved"]


def test_worksheet_upload_needs_the_csrf_token(server, page):
    base, store = server
    page.goto(f"{base}/review/login")
    page.fill("#token", auth.create_token(store, "olga", "reviewer")[1])
    page.click("button[type=submit].primary")
    r = page.request.post(f"{base}/review/mapsets/local-icd/worksheet", multipart={"csrf": "forged"})
    assert r.status == 400


def test_the_russian_guides_screens_in_russian(server, tmp_path):
    """The screens of docs/review-guide.ru.md, taken with the browser asking for Russian: the queue, a bulk
    selection and a worksheet's report, each checked to be in Russian."""
    from openpyxl import load_workbook
    base, store = server
    with browser.chromium_page(1280, 720, locale="ru-RU") as page:
        page.goto(f"{base}/review/login")
        page.fill("#token", auth.create_token(store, "nina", "reviewer")[1])
        page.click("button[type=submit].primary")
        page.goto(f"{base}/review/mapsets/local-icd?candidates=some&sort=-score")
        assert page.locator("#showing").inner_text() == "показаны 1–50 из 117"
        assert page.locator("#filter").inner_text() == "Отобрать"
        shoot(page, "review-queue.ru.png")

        rows = page.locator("#queue input[name=pick]")
        for i in range(20):
            rows.nth(i).check()
        assert page.locator("#bulk-count").inner_text() == "выбрано: 20"
        shoot(page, "review-bulk.ru.png")

        page.goto(f"{base}/review/mapsets/local-icd")
        with page.expect_download() as info:
            page.click("#worksheet-download")
        book = tmp_path / "sheet.xlsx"
        info.value.save_as(book)
        wb = load_workbook(book)
        ws = wb["Review"]
        header = [c.value for c in ws[1]]
        code_col, decision_col = header.index("Source code") + 1, header.index("Decision") + 1
        for row in range(2, ws.max_row + 1):
            if ws.cell(row, code_col).value in ("L001", "L002", "L003"):
                ws.cell(row, decision_col).value = "approve"
        wb.save(book)
        page.set_input_files("#worksheet-file", str(book))
        page.click("#worksheet-upload button")
        assert page.locator("#worksheet-report p").first.inner_text() == (
            f"Применено решений: 3 из {N} строк; строк без решения оставлено как есть: {N - 3}.")
        shoot(page, "review-worksheet.ru.png")
    assert [get_mapping(store, "local-icd", c).status for c in ("L001", "L002", "L003")] == ["approved"] * 3
