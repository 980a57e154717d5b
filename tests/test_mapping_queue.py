"""Working through a review queue: filters, sorts, the position of an item and its neighbours in the queue."""

from __future__ import annotations

import pytest

from mapping_fixtures import ANSWERS, FakeMatcher, make_map_set
from registry.errors import BadRequest
from registry.mapping import decide, list_mappings, queue_position


def codes(store, **filters):
    return [m.source_code for m in list_mappings(store, "local-icd", **filters)["items"]]


def test_sorts_and_the_no_candidate_filter(store):
    make_map_set(store)
    assert codes(store) == ["L01", "L02", "L03", "L04", "L05"]
    assert codes(store, sort="-score") == ["L02", "L03", "L01", "L04", "L05"]  # 100, 100, 97, 96.5, none last
    assert codes(store, sort="score") == ["L04", "L01", "L02", "L03", "L05"]
    assert codes(store, sort="name") == ["L05", "L02", "L03", "L04", "L01"]  # Болезнь, Брюшной, Паратиф, Сальм., Холера
    assert codes(store, sort="-code")[0] == "L05"
    assert codes(store, candidates="none") == ["L05"] and ANSWERS["L05"] == []
    assert codes(store, candidates="some") == ["L01", "L02", "L03", "L04"]
    with pytest.raises(BadRequest, match="sort must be one of code, -code, score"):
        codes(store, sort="random")


def test_decided_by_me_and_by_others(store):
    make_map_set(store, matcher=FakeMatcher())
    decide(store, "local-icd", "L01", "approve", actor="anna", revision=1)
    decide(store, "local-icd", "L02", "reject", actor="boris", revision=1)
    decide(store, "local-icd", "L03", "not-mappable", actor="anna", revision=1)
    assert codes(store, decided_by="anna") == ["L01", "L03"]
    assert codes(store, decided_by_others="anna") == ["L02"]
    assert codes(store, decided_by_others="boris") == ["L01", "L03"]
    assert codes(store, not_mappable=True, status="approved") == ["L03"]


def test_position_previous_and_next_within_a_filtered_sorted_queue(store):
    make_map_set(store)
    where = queue_position(store, "local-icd", "L01", sort="-score")
    assert where == {"position": 3, "total": 5, "previous": "L03", "next": "L04"}
    assert queue_position(store, "local-icd", "L04", candidates="some") == {
        "position": 4, "total": 4, "previous": "L03", "next": None}
    # a code outside the queue: no position, Next leads to the queue's first item
    assert queue_position(store, "local-icd", "L05", candidates="some") == {
        "position": None, "total": 4, "previous": None, "next": "L01"}


def test_search_for_another_target_by_code_prefix_words_and_the_matcher(store):
    from registry.mapping.target_search import search_targets
    make_map_set(store)
    found = search_targets(store, "icd10", "2.27", "a01")
    assert [(h["code"], h["found"]) for h in found[:3]] == [("A01.0", "code"), ("A01.1", "code"), ("A01.2", "code")]
    found = search_targets(store, "icd10", "2.27", "паратиф")
    assert [(h["code"], h["found"]) for h in found[:2]] == [("A01.1", "words"), ("A01.2", "words")]
    # words found nothing as written (ё): the matcher's analysis still finds the entry
    asked = []

    def matcher(terms, target, limit, store, target_fields):
        asked.append((terms[0]["name"], target_fields))
        return [{"candidates": [{"code": "A02.0", "display": "Сальмонеллезный энтерит", "score": 88.0}]}]
    found = search_targets(store, "icd10", "2.27", "сальмонеллёзный энтерит", matcher=matcher)
    assert found[0] == {"code": "A02.0", "display": "Сальмонеллезный энтерит", "found": "words"}
    found = search_targets(store, "icd10", "2.27", "гиполипидемические", matcher=matcher)
    assert asked[-1] == ("гиполипидемические", ["display", "designations"])  # asked as typed, default fields
    assert found == [{"code": "A02.0", "display": "Сальмонеллезный энтерит", "found": "matcher", "score": 88.0}]


ATC_GROUPS = [
    {"code": "C", "display": "CARDIOVASCULAR SYSTEM"},
    {"code": "C09", "display": "AGENTS ACTING ON THE RENIN-ANGIOTENSIN SYSTEM", "parents": ["C"]},
    {"code": "C10", "display": "LIPID MODIFYING AGENTS", "parents": ["C"]},
    {"code": "C10A", "display": "LIPID MODIFYING AGENTS, PLAIN", "parents": ["C10"]},
    {"code": "C10AA", "display": "HMG CoA reductase inhibitors", "parents": ["C10A"]},
    {"code": "N04B", "display": "DOPAMINERGIC AGENTS"},
    {"code": "V04", "display": "DIAGNOSTIC AGENTS"},
    {"code": "B05AA06", "display": "gelatin agents"},
]


def test_a_bare_russian_group_adjective_finds_its_group_through_the_matchers_analysis(sqlite_store):
    from registry.mapping.target_search import search_targets
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="atc", title="ATC", kind="drug", language="en"))
    sqlite_store.stage_draft("atc", "2026", ATC_GROUPS)
    sqlite_store.publish("atc", "2026")
    found = search_targets(sqlite_store, "atc", "2026", "гиполипидемические")
    assert found[0]["code"] == "C10" and found[0]["found"] == "matcher" and found[0]["score"] >= 85
    assert [h["code"] for h in found[1:3]] == ["C10A", "C10AA"]  # the group's members, under the other agents
    assert all(h["score"] < 30 for h in found[3:])
