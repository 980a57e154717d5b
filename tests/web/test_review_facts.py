"""The review screen shows what a coder decides on: the source entry's attributes and parents with names,
each candidate's hierarchy path and attributes, links to both entries, a readable score; and a decision
keeps the coder in their queue."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from registry import auth
from registry.mapping import create_map_set, suggest
from registry.models import CatalogCreate, MapSetCreate
from test_mapping_match import NameMatcher
from test_review_session import make_client, sign_in

KZ = [
    {"code": "H02AB02", "display": "Дексаметазон", "parents": []},
    {"code": "P1", "display": "Декса-Тарго", "parents": ["H02AB02"],
     "attributes": {"inn": "Дексаметазон", "dosage_form": "капли глазные", "reg_number": "РК-ЛС-5№1"}},
    {"code": "P2", "display": "Дексон", "parents": ["H02AB02"],
     "attributes": {"inn": "Дексаметазон", "dosage_form": "таблетки 0,5 мг"}},
]
ATC = [
    {"code": "S", "display": "SENSORY ORGANS"}, {"code": "S01", "display": "OPHTHALMOLOGICALS", "parents": ["S"]},
    {"code": "S01BA01", "display": "dexamethasone", "parents": ["S01"]},
    {"code": "A01AC02", "display": "dexamethasone"},
    {"code": "H02AB02", "display": "dexamethasone", "attributes": {"adm_r": "O | P", "ddd": "1.5"}},
]


@pytest.fixture
def client(sqlite_store):
    for slug, entries in (("kz", KZ), ("atc", ATC)):
        sqlite_store.create_catalog(CatalogCreate(slug=slug, title=slug, kind="drug"))
        sqlite_store.stage_draft(slug, "1", [dict(e) for e in entries])
        sqlite_store.publish(slug, "1")
    create_map_set(sqlite_store, MapSetCreate(slug="kz-atc", source="kz@1", target="atc@1", match={
        "names": ["attributes.inn", "display"], "combine": "first", "form": "attributes.dosage_form"}))
    suggest(sqlite_store, "kz-atc", matcher=NameMatcher())
    c = make_client(sqlite_store)
    sign_in(c, auth.create_token(sqlite_store, "anna", "reviewer")[1])
    return c


def text(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_review_screen_shows_what_decides(client):
    html = client.get("/review/mapsets/kz-atc/m/P1").get_data(as_text=True)
    facts = text(re.search(r'<dl class="facts" id="source-facts">(.*?)</dl>', html, re.S).group(1))
    assert facts.split() == ["dosage_form", "капли", "глазные", "inn", "Дексаметазон", "reg_number", "РК-ЛС-5№1"]
    assert text(re.search(r'id="source-path">(.*?)</p>', html, re.S).group(1)).strip() == \
        "Broader codes: H02AB02 Дексаметазон"
    assert 'href="/review/catalogs/kz/1/entries/P1"' in html
    rows = re.findall(r"<tr>\s*<td><input type=\"radio\".*?</tr>", html, re.S)
    first = text(rows[0])
    assert "S01BA01" in first and "S SENSORY ORGANS › S01 OPHTHALMOLOGICALS" in first
    assert 'form "глазн" fits S01' in first and "found by attributes.inn" in first
    assert 'href="/review/catalogs/atc/1/entries/S01BA01"' in rows[0]
    assert "adm_r: O | P · ddd: 1.5" in text(html)
    assert "a score of 80 means about one in seven such suggestions is wrong" in html


def test_a_decision_moves_on_within_the_queue(client):
    page = client.get("/review/mapsets/kz-atc/m/P1?sort=-code").get_data(as_text=True)
    assert "· 2 of 3 in this queue" in text(page)  # P2, P1, H02AB02 by code descending
    action = re.search(r'id="decision-form" action="([^"]+)"', page).group(1)
    assert action == "/review/mapsets/kz-atc/m/P1?sort=-code"
    form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1), "revision": "1",
            "decision": "approve", "candidate": "S01BA01"}
    r = client.post(action, data=form)
    assert (r.status_code, r.headers["Location"]) == (302, "/review/mapsets/kz-atc/m/H02AB02?sort=-code")


def test_the_map_set_page_says_what_is_matched_and_searched(client):
    page = text(client.get("/review/mapsets/kz-atc").get_data(as_text=True))
    assert "Matched on the source's attribute inn, name; searching the target's name, designations" in page
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    page = text(client.get("/review/mapsets/kz-atc").get_data(as_text=True))
    assert ("Сопоставляются поля источника: атрибут inn, название; поиск в полях цели: название, обозначения"
            in page)
