"""End to end on real data: FNSI ICD-10 2.27 as the target, a "local" list with the older FNSI version's names.

Suggest with the real matcher; in the browser approve some, reject one and
re-map one through the search; fill the remaining decisions in the exported
worksheet with openpyxl as a reviewer would and import it; publish; translate
returns the approved targets.
"""

from __future__ import annotations

import csv

import pytest
from openpyxl import load_workbook

import browser
from registry import auth
from registry.mapping import (create_map_set, export_xlsx, get_map_set, get_mapping, import_decisions,
                              list_mappings, publish_map_set, suggest, translate_codes)
from registry.models import CatalogCreate, MapSetCreate
from test_mapping_browser import counts, page, shoot  # noqa: F401  (page: the browser tests' fixture)

pytestmark = [pytest.mark.realdata, *browser.MARKS]
REWORDED, IDENTICAL = 14, 10


@pytest.fixture
def realdata_store(sqlite_store, shared_data):
    """icd10-ru 2.27 imported from FNSI, and `local` built from old-version names of a few codes (some reworded).

    Returns (store, {local code: true ICD-10 code}).
    """
    from importers import run_import
    run_import(sqlite_store, shared_data / "icd10_ru" / "fnsi_1.2.643.5.1.13.13.11.1005_v2.27.csv",
               catalog="icd10-ru", version="2.27", profile="icd10-ru-fnsi", publish=True)
    with open(shared_data / "benchmarks" / "icd10_ru_fnsi_old_vs_v2.27.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    reworded = [r for r in rows if r["identical"] == "0"][:REWORDED]
    identical = [r for r in rows if r["identical"] == "1" and "." in r["code"]][:IDENTICAL]
    truth = {f"LOC-{r['code']}": r["code"] for r in reworded + identical}
    sqlite_store.create_catalog(CatalogCreate(slug="local", title="Local diagnoses", kind="classification"))
    sqlite_store.stage_draft("local", "old", [{"code": f"LOC-{r['code']}", "display": r["fnsi_old_ru"]}
                                              for r in reworded + identical])
    sqlite_store.publish("local", "old")
    return sqlite_store, truth


@pytest.fixture
def server(realdata_store):
    """The web app over the real-data store (the browser test's server fixture, reused)."""
    store, _ = realdata_store
    with browser.serving(store) as base:
        yield base, store


def test_end_to_end_on_fnsi_icd10(realdata_store, server, page, tmp_path):
    store, truth = realdata_store
    base, _ = server
    create_map_set(store, MapSetCreate(slug="local-icd", source="local@old", target="icd10-ru@latest"),
                   actor="lead")
    report = suggest(store, "local-icd")
    assert (report.created, report.without_candidates) == (REWORDED + IDENTICAL, 0)
    items = {m.source_code: m for m in list_mappings(store, "local-icd", limit=1000)["items"]}
    top_right = sorted(c for c, m in items.items() if m.target_code == truth[c])
    assert len(top_right) >= (REWORDED + IDENTICAL) * 0.6  # the matcher gets most right on its own
    wrong = sorted(c for c in items if c not in top_right)
    to_approve = top_right[:3]
    to_reject = top_right[3]
    to_remap = wrong[0] if wrong else top_right[4]

    page.goto(f"{base}/review/login")
    page.fill("#token", auth.create_token(store, "anna", "reviewer")[1])
    page.click("button[type=submit].primary")
    for code in to_approve:
        page.goto(f"{base}/review/mapsets/local-icd/m/{code}")
        page.keyboard.press("a")
        page.wait_for_selector(".flash")
    page.goto(f"{base}/review/mapsets/local-icd/m/{to_reject}")
    page.click("#reject")
    page.wait_for_selector(".flash")
    page.goto(f"{base}/review/mapsets/local-icd/m/{to_remap}")
    page.fill("#search", truth[to_remap])
    page.press("#search", "Enter")
    page.wait_for_url("**search=*")
    page.locator(f"#candidates tr.found input[value='{truth[to_remap]}']").check()
    page.click("#approve")
    page.wait_for_selector(".flash")
    page.goto(f"{base}/review/mapsets/local-icd")
    assert counts(page) == {"candidate": REWORDED + IDENTICAL - 5, "proposed": 0, "approved": 4, "not-mappable": 0,
                            "rejected": 1}
    shoot(page, "realdata-dashboard.png")
    assert get_mapping(store, "local-icd", to_remap).target_code == truth[to_remap]

    # The rest in Excel, as a reviewer would: the right candidate, another code, or not-mappable.
    path = tmp_path / "review.xlsx"
    assert export_xlsx(store, "local-icd", path) == REWORDED + IDENTICAL - 4
    wb = load_workbook(path)
    ws = wb["Review"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) for name in header}
    for row in ws.iter_rows(min_row=2):
        source, current = row[0].value, row[col["Current target"]].value
        candidates = [row[col[f"Candidate {i}"]].value for i in (1, 2, 3)]
        right = truth[source]
        if current == right:
            row[col["Decision"]].value = "approve"
        elif right in candidates:
            row[col["Decision"]].value, row[col["Other target code"]].value = "approve", right
        else:
            row[col["Decision"]].value, row[col["Other target code"]].value = "remap", right
            row[col["Comment"]].value = "найдено вручную"
    wb.save(path)
    result = import_decisions(store, "local-icd", path, reviewer="olga")
    assert result.applied == REWORDED + IDENTICAL - 4
    assert get_map_set(store, "local-icd").counts == {"candidate": 0, "proposed": 0,
                                                      "approved": REWORDED + IDENTICAL, "rejected": 0}

    version = publish_map_set(store, "local-icd", "2025-1", actor="lead")
    assert version.mapping_count == REWORDED + IDENTICAL
    translated = translate_codes(store, "local", sorted(truth), target="icd10-ru")
    assert {t["code"]: t["matches"][0]["code"] for t in translated} == truth
    assert all(t["matches"][0]["map_set_version"] == "2025-1" for t in translated)
