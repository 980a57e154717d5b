"""End-to-end matching against published catalog versions, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from registry.errors import BadRequest, InvalidState, NotFound
from registry.matching import match, parse_target

from matching_fixtures import DRUGS, publish


def codes(result):
    return [(c["code"], c["score"]) for c in result["candidates"]]


def test_match_ranks_doses_scripts_and_synonyms(store):
    publish(store, "drugs", DRUGS)
    results = match([
        {"code": "L1", "name": "Парацетамол табл. 500 мг"},
        {"code": "L2", "name": "Клотримазол крем 1%"},
        {"code": "L3", "name": "canesten"},
        {"code": "L4", "name": "Натрия хлорид р-р 0,9%"},
    ], target=("drugs", "1"), limit=3, store=store)
    assert [r["term"]["code"] for r in results] == ["L1", "L2", "L3", "L4"]
    first = results[0]["candidates"]
    # same words and dose; then the other dose of the same tablets; then the syrup of the same dose
    assert [c["code"] for c in first] == ["P500", "PS500", "P250"]
    assert first[0] == {"rank": 1, "code": "P500", "display": "Paracetamol tablets 500 mg", "score": 100.0,
                        "reason": 'display "Paracetamol tablets 500 mg": same words after normalisation; '
                                  "same 500mg"}
    assert "different amounts (500mg vs 250mg)" in first[2]["reason"]
    assert first[1]["score"] > first[2]["score"]
    assert results[1]["candidates"][0]["code"] == "C1"
    assert results[1]["candidates"][0]["score"] == 100.0
    assert results[2]["candidates"][0]["code"] == "C1"
    assert results[2]["candidates"][0]["reason"].startswith('synonym "Canesten": ')
    assert results[3]["candidates"][0]["code"] == "N9"


def test_attributes_and_codes_break_ties(store):
    publish(store, "drugs", DRUGS)
    plain, syrup = match([{"name": "paracetamol 500 mg"},
                                 {"name": "paracetamol 500 mg", "attributes": {"Form": "Syrup"}}],
                         target="drugs@1", limit=2, store=store)
    # without attributes the tablets come first: their extra word is commoner than `syrup`
    assert [c for c, _ in codes(plain)] == ["P500", "PS500"]
    assert codes(plain)[0][1] > codes(plain)[1][1]
    assert [c for c, _ in codes(syrup)] == ["PS500", "P500"]
    assert "same form" in syrup["candidates"][0]["reason"]
    assert "different form (syrup vs tablet)" in syrup["candidates"][1]["reason"]
    by_code = match([{"code": "P250", "name": "paracetamol"}], target="drugs", limit=1, store=store)
    assert by_code[0]["candidates"][0]["code"] == "P250"
    assert by_code[0]["candidates"][0]["reason"].endswith("same code")


def test_the_same_code_ranks_first_among_names_that_all_score_100(store):
    # Two entries with one display: a name scoring 100 on both must still go to the local code's entry,
    # although the clamp to 100 leaves both at 100 (the code bonus decides, not code order).
    publish(store, "twins", [{"code": "A01AB11", "display": "various"}, {"code": "A01AD11", "display": "various"}])
    (result,) = match([{"code": "A01AD11", "name": "various"}], target="twins", limit=2, store=store)
    assert codes(result) == [("A01AD11", 100.0), ("A01AB11", 100.0)]
    assert result["candidates"][0]["reason"].endswith("same code")


def test_errors_are_clear(store):
    publish(store, "drugs", DRUGS)
    with pytest.raises(NotFound, match="no catalog 'nope'"):
        match(["x"], target="nope@1", store=store)
    with pytest.raises(NotFound, match="catalog drugs has no version '9'"):
        match(["x"], target="drugs@9", store=store)
    with pytest.raises(BadRequest, match="limit must be between 1 and 50"):
        match(["x"], target="drugs@1", limit=0, store=store)
    with pytest.raises(BadRequest, match="term 2 has no name"):
        match([{"name": "a"}, {"code": "x"}], target="drugs@1", store=store)
    store.stage_draft("drugs", "draft", DRUGS[:1], source_name="test")
    with pytest.raises(InvalidState, match="drugs draft is a draft: publish it before matching against it"):
        match(["x"], target="drugs@draft", store=store)


def test_parse_target():
    assert parse_target("icd10@2.27") == ("icd10", "2.27")
    assert parse_target("icd10") == ("icd10", "latest")
    assert parse_target(("icd10", "1")) == ("icd10", "1")
    with pytest.raises(BadRequest):
        parse_target("@1")


@pytest.mark.parametrize("name, language", [
    ("Non-traumatic subarachnoid haemorrhage", "en"), ("non traumatic subarachnoid haemorrhage", "en"),
    ("Не травматическое субарахноидальное кровоизлияние", "ru")])
def test_a_negation_written_apart_goes_to_the_negated_entry(store, name, language):
    publish(store, "icd", [
        {"code": "I60", "display": "Nontraumatic subarachnoid haemorrhage" if language == "en" else
         "Нетравматическое субарахноидальное кровоизлияние"},
        {"code": "S06.6", "display": "Traumatic subarachnoid haemorrhage" if language == "en" else
         "Травматическое субарахноидальное кровоизлияние"}], language=language)
    (result,) = match([name], target="icd", limit=2, store=store)
    assert codes(result)[0] == ("I60", 100.0)
    assert codes(result)[1][0] == "S06.6" and codes(result)[1][1] < 80


def test_a_dose_in_another_unit_is_the_same_dose(store):
    publish(store, "drugs", DRUGS)
    (result,) = match(["Paracetamol tablets 0,5 g"], target="drugs", limit=2, store=store)
    assert codes(result)[0] == ("P500", 100.0)
    assert result["candidates"][0]["reason"].endswith("same 500mg")
    assert "different amounts" not in result["candidates"][0]["reason"]


def test_a_dose_only_in_the_query_does_not_sink_the_name(store):
    publish(store, "inn", [{"code": "N02BE01", "display": "paracetamol"}, {"code": "N02BA01", "display": "aspirin"},
                           {"code": "M01AE01", "display": "ibuprofen"}])
    (result,) = match(["Paracetamol 500 mg"], target="inn", limit=1, store=store)
    code, score = codes(result)[0]
    # 60 × 8/9 for the words, 0.25 × 78.6 token sort ratio, 0.15 × 100 token set ratio: about 88
    assert code == "N02BE01" and 85 <= score < 90


def test_a_local_code_typed_with_cyrillic_look_alikes_is_the_same_code(store):
    publish(store, "icd", [{"code": "C50.1", "display": "Malignant neoplasm of breast"},
                           {"code": "C50.2", "display": "Malignant neoplasm of breast"}])
    (result,) = match([{"code": "С50.1", "name": "Malignant neoplasm of breast"}], target="icd", limit=2, store=store)
    assert codes(result)[0] == ("C50.1", 100.0)
    assert result["candidates"][0]["reason"].endswith("same code")


def test_the_same_words_in_another_order_score_100(store):
    from registry.matching.normalise import analyse
    from registry.matching.rerank import similarity
    doc = analyse("Paracetamol tablets 500 mg", "en").key_text
    assert similarity(analyse("500 mg tablets paracetamol", "en"), doc, {}, 1.0) == \
        (100.0, "same words after normalisation, in another order")
    # the same words but one twice are not the same bag
    assert similarity(analyse("paracetamol tablets tablets 500 mg", "en"), doc, {}, 1.0)[0] < 100
    publish(store, "drugs", DRUGS)
    (result,) = match(["500 mg tablets of paracetamol"], target="drugs", limit=1, store=store)
    assert codes(result)[0][0] == "P500" and codes(result)[0][1] < 100  # `of` is a word too
    (result,) = match(["500 mg tablets paracetamol"], target="drugs", limit=1, store=store)
    assert codes(result)[0] == ("P500", 100.0)


@pytest.mark.parametrize("code", [True, False, 1.5, ["K1"]])
def test_a_term_code_must_be_text_or_a_whole_number(code):
    from registry.matching import Term
    with pytest.raises(BadRequest, match=f"term 3: code must be text or a whole number, not {type(code).__name__}"):
        Term.of({"name": "x", "code": code}, 3)
    assert Term.of({"name": "x", "code": 7}).code == "7"


def test_match_takes_the_issue_s_form_with_the_store_of_the_environment(store):
    # match(terms, target=(slug, version), limit=5) as the issue writes it: the store is the one NSI_DATA_DIR
    # and NSI_DATABASE_URL configure (the fixture set them), as the CLI opens it.
    publish(store, "drugs", DRUGS)
    expected = match(["Парацетамол табл. 500 мг"], target=("drugs", "1"), limit=2, store=store)
    assert expected[0]["candidates"][0]["code"] == "P500"
    assert match(["Парацетамол табл. 500 мг"], target=("drugs", "1"), limit=2) == expected
    assert match(["Парацетамол табл. 500 мг"], ("drugs", "1"), 2) == expected
    assert match(["Парацетамол табл. 500 мг"], target="drugs@1", limit=2, store=store) == expected
    with pytest.raises(BadRequest, match="give the target catalog version"):
        match(["x"])
    with pytest.raises(TypeError, match="takes the terms first; pass the store as store="):
        match(store, ["x"])


@pytest.mark.parametrize("terms", ["Парацетамол", {"name": "Парацетамол"}, None, 5])
def test_match_refuses_terms_that_are_not_a_list(store, terms):
    publish(store, "drugs", DRUGS)
    with pytest.raises(BadRequest, match="terms must be a list of names or of objects with a name"):
        match(terms, target=("drugs", "1"), store=store)


@pytest.mark.parametrize("limit", [2.7, True, "3", None])
def test_match_refuses_a_limit_that_is_not_a_whole_number(store, limit):
    publish(store, "drugs", DRUGS)
    with pytest.raises(BadRequest, match="limit must be a whole number"):
        match(["Парацетамол"], target=("drugs", "1"), limit=limit, store=store)


def test_match_without_a_store_opens_the_configured_one_each_time(sqlite_store, tmp_path, monkeypatch):
    from registry.store import Store
    publish(sqlite_store, "drugs", DRUGS)
    assert match(["Парацетамол табл. 250 мг"], target="drugs@1", limit=1)[0]["candidates"][0]["code"] == "P250"
    # another data directory is another registry at once: no store is kept from the first call
    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path / "other"))
    Store.init().engine.dispose()
    with pytest.raises(NotFound):
        match(["Парацетамол"], target="drugs@1")
