"""Map sets declare what is matched: name fields with weights, "first" or "best", a dosage form, a floor."""

from __future__ import annotations

import pytest

from registry.errors import BadRequest
from registry.mapping import create_map_set, get_map_set, list_mappings, suggest
from registry.mapping.forms import form_bonus, form_rule
from registry.mapping.match_config import check_match_config, entry_names
from registry.models import CatalogCreate, MapSetCreate

PRODUCTS = [
    {"code": "P1", "display": "Декса-Тарго", "attributes": {"inn": "Дексаметазон", "dosage_form": "капли глазные"}},
    {"code": "P2", "display": "Дексон", "attributes": {"inn": "Дексаметазон", "dosage_form": "таблетки 0,5 мг"}},
    {"code": "P3", "display": "Парацетамол-Дарница", "attributes": {"inn": "Неизвестное МНН"}},
    {"code": "P4", "display": "Шум", "attributes": {}},
    {"code": "", "display": "", "attributes": {}},
]
ATC = [
    {"code": "A01AC02", "display": "dexamethasone"},
    {"code": "H02AB02", "display": "dexamethasone", "attributes": {"adm_r": "O | P"}},
    {"code": "S01BA01", "display": "dexamethasone"},
    {"code": "N02BE01", "display": "paracetamol", "attributes": {"adm_r": "O"}},
]
ANSWERS = {"Дексаметазон": [("A01AC02", 100.0), ("H02AB02", 100.0), ("S01BA01", 100.0)],
           "Парацетамол-Дарница": [("N02BE01", 80.0)], "Шум": [("N02BE01", 20.0)]}


class NameMatcher:
    """Answers by name from ANSWERS and records every name asked."""

    def __init__(self):
        self.asked = []

    def __call__(self, terms, target, limit=5, *, store, target_fields=None):
        self.asked += [t["name"] for t in terms]
        return [{"candidates": [{"code": c, "display": "x", "score": s, "reason": f"name {t['name']}"}
                                for c, s in ANSWERS.get(t["name"], [])][:limit]} for t in terms]


@pytest.fixture
def drug_store(sqlite_store):
    for slug, entries in (("kz", PRODUCTS[:4]), ("atc", ATC)):
        sqlite_store.create_catalog(CatalogCreate(slug=slug, title=slug, kind="drug"))
        sqlite_store.stage_draft(slug, "1", [dict(e) for e in entries])
        sqlite_store.publish(slug, "1")
    return sqlite_store


def candidates(store, slug):
    return {m.source_code: m.candidates for m in list_mappings(store, slug, limit=100)["items"]}


def test_products_match_through_their_inn_and_the_form_picks_the_code(drug_store):
    create_map_set(drug_store, MapSetCreate(slug="kz-atc", source="kz@1", target="atc@1", match={
        "names": ["attributes.inn", {"field": "display", "weight": 0.5}], "combine": "first",
        "form": "attributes.dosage_form", "floor": 30}))
    matcher = NameMatcher()
    report = suggest(drug_store, "kz-atc", matcher=matcher)
    found = candidates(drug_store, "kz-atc")
    # one question per distinct name; trade names only where the INN found nothing
    assert sorted(matcher.asked) == sorted(["Дексаметазон", "Неизвестное МНН", "Парацетамол-Дарница", "Шум"])
    assert found["P1"][0]["code"] == "S01BA01" and 'form "глазн" fits S01' in found["P1"][0]["reason"]
    assert found["P2"][0]["code"] == "H02AB02" and "fits route O" in found["P2"][0]["reason"]
    assert found["P1"][0]["via"] == "attributes.inn"
    assert [(c["code"], c["score"]) for c in found["P3"]] == [("N02BE01", 40.0)]  # 80 x weight 0.5
    assert found["P4"] == []  # 20 x 0.5 is under the floor
    assert report.without == {"no_name": 0, "no_match": 0, "below_floor": 1}
    coverage = get_map_set(drug_store, "kz-atc").coverage
    assert (coverage["with_candidates"], coverage["without_candidates"], coverage["floor"]) == (3, 1, 30)


def test_best_asks_every_name_and_keeps_the_best_score(drug_store):
    create_map_set(drug_store, MapSetCreate(slug="kz-atc", source="kz@1", target="atc@1", match={
        "names": [{"field": "attributes.inn", "weight": 0.6}, "display"]}))
    matcher = NameMatcher()
    suggest(drug_store, "kz-atc", matcher=matcher)
    assert "Декса-Тарго" in matcher.asked and "Дексон" in matcher.asked
    found = candidates(drug_store, "kz-atc")
    assert [c["score"] for c in found["P1"]] == [60.0, 60.0, 60.0]
    assert found["P3"][0]["score"] == 80.0 and found["P3"][0]["via"] == "display"


def test_default_matches_the_display_and_the_map_set_shows_it(drug_store):
    ms = create_map_set(drug_store, MapSetCreate(slug="kz-atc", source="kz@1", target="atc@1"))
    assert ms.match == {"names": [{"field": "display", "weight": 1.0}], "combine": "best", "form": None,
                        "floor": 0.0, "targets": ["display", "designations"]}
    assert ms.coverage is None


@pytest.mark.parametrize("config, message", [
    ({"names": []}, "match.names must be a list"),
    ({"names": ["code"]}, "field 'code' is not display"),
    ({"names": [{"field": "display", "weight": 2}]}, "weight must be a number above 0"),
    ({"combine": "all"}, "match.combine must be one of best, first"),
    ({"floor": 101}, "match.floor must be a score between 0 and 100"),
    ({"form": "dosage"}, "match.form"),
    ({"fields": []}, "unknown key 'fields'"),
    ({"targets": []}, "match.targets must be a list of 1 to 10 fields"),
    ({"targets": ["display", "attributes"]}, r"match.targets\[2\]: field 'attributes' is not display"),
])
def test_a_bad_declaration_is_refused_with_what_to_fix(drug_store, config, message):
    with pytest.raises(BadRequest, match=message):
        create_map_set(drug_store, MapSetCreate(slug="kz-atc", source="kz@1", target="atc@1", match=config))
    with pytest.raises(BadRequest, match=message):
        check_match_config(config)


def test_entry_names_in_declared_order_each_once():
    entry = {"display": "Дексаметазон", "designations": [{"language": "en", "text": "dexamethasone"},
                                                         {"language": "kk", "text": "Дексаметазон"}],
             "attributes": {"inn": "дексаметазон"}}
    config = check_match_config({"names": ["attributes.inn", "display", "designations:en", "designations"]})
    assert entry_names(entry, config) == [("attributes.inn", "дексаметазон", 1.0),
                                          ("designations:en", "dexamethasone", 1.0)]


@pytest.mark.parametrize("form, code, route, bonus", [
    ("капли глазные 0,1%", "S01BA01", None, 6.0),
    ("мазь глазная", "D07AB19", None, 0.0),
    ("раствор для инъекций 4 мг/мл", "H02AB02", "O | P", 4.0),
    ("таблетки, покрытые оболочкой", "H02AB02", "O | P", 4.0),
    ("суппозитории ректальные", "H02AB02", "O | P", 0.0),
    ("крем для наружного применения", "D07AB19", None, 6.0),
    ("", "S01BA01", None, 0.0),
])
def test_dosage_forms_prefer_their_atc_group_or_route(form, code, route, bonus):
    assert form_bonus(form_rule(form), code, route)[0] == bonus


PRODUCT_REGISTER = [  # a target that names its entries by trade name and keeps the INN in an attribute
    {"code": "T1", "display": "Ozurdex", "attributes": {"inn": "dexamethasone", "holder": "Allergan"}},
    {"code": "T2", "display": "Panadol", "attributes": {"inn": "paracetamol"}},
    {"code": "T3", "display": "Dexa-Gentamicin", "designations": [
        {"language": "de", "use": "synonym", "text": "Dexamethason und Gentamicin"}],
     "attributes": {"inn": "dexamethasone, gentamicin"}},
]


@pytest.fixture
def register_store(sqlite_store):
    for slug, entries in (("inn", [{"code": "S1", "display": "Дексаметазон"}, {"code": "S2", "display": "Парацетамол"}]),
                          ("rx", PRODUCT_REGISTER)):
        sqlite_store.create_catalog(CatalogCreate(slug=slug, title=slug, kind="drug", language="en"))
        sqlite_store.stage_draft(slug, "1", [dict(e) for e in entries])
        sqlite_store.publish(slug, "1")
    return sqlite_store


def test_a_declared_target_attribute_finds_what_the_display_alone_does_not(register_store):
    create_map_set(register_store, MapSetCreate(slug="by-display", source="inn@1", target="rx@1"))
    create_map_set(register_store, MapSetCreate(slug="by-inn", source="inn@1", target="rx@1", match={
        "targets": ["display", "attributes.inn"]}))
    assert get_map_set(register_store, "by-inn").match["targets"] == ["display", "attributes.inn"]
    plain = suggest(register_store, "by-display")
    assert plain.without == {"no_name": 0, "no_match": 1, "below_floor": 0}
    by_display = candidates(register_store, "by-display")
    # display and designations only: paracetamol finds nothing, dexamethasone only the German combination's name
    assert by_display["S2"] == [] and [c["code"] for c in by_display["S1"]] == ["T3"]
    report = suggest(register_store, "by-inn")
    assert report.without_candidates == 0
    found = candidates(register_store, "by-inn")
    assert [c["code"] for c in found["S2"]] == ["T2"]
    assert found["S2"][0]["score"] == 100.0
    assert found["S2"][0]["reason"] == 'attributes.inn "paracetamol": same words after normalisation'
    # both dexamethasone products are found, the single substance first
    assert [c["code"] for c in found["S1"]][:2] == ["T1", "T3"]
    # each declaration has its own index beside the default one, so neither rebuilds the other's
    folders = sorted(p.name for p in register_store.cache_dir("match", "rx").iterdir() if not p.name.startswith("."))
    assert len(folders) == 2 and folders[1].startswith(folders[0] + "-t")


def test_target_designations_of_one_language_are_searched_alone(register_store):
    from registry.matching import match
    term = [{"name": "Dexamethason und Gentamicin"}]
    assert [c["code"] for c in match(term, target="rx@1", store=register_store)[0]["candidates"]][:1] == ["T3"]
    only_display = match(term, target="rx@1", store=register_store, target_fields=["display"])
    assert all(c["code"] != "T3" or c["score"] < 60 for c in only_display[0]["candidates"])
    german = match(term, target="rx@1", store=register_store, target_fields=["designations:de"])
    assert [(c["code"], c["score"]) for c in german[0]["candidates"]] == [("T3", 100.0)]
    with pytest.raises(BadRequest, match=r"match.targets\[1\]: field 'inn' is not display"):
        match(term, target="rx@1", store=register_store, target_fields=["inn"])
