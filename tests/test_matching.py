"""End-to-end matching against published catalog versions, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest

from registry.errors import BadRequest, InvalidState, NotFound
from registry.matching import build_index, match, parse_target
from registry.matching.index import MatchIndex, build_from_entries, index_dir
from registry.models import CatalogCreate

DRUGS = [
    {"code": "P250", "display": "Paracetamol tablets 250 mg", "attributes": {"form": "tablet"}},
    {"code": "P500", "display": "Paracetamol tablets 500 mg", "attributes": {"form": "tablet"}},
    {"code": "PS500", "display": "Paracetamol syrup 500 mg", "attributes": {"form": "syrup"}},
    {"code": "C1", "display": "Clotrimazole cream 1%",
     "designations": [{"language": "en", "use": "synonym", "text": "Canesten"}]},
    {"code": "N9", "display": "Sodium chloride solution 0.9%"},
]


def publish(store, slug, entries, language="en", label="1"):
    store.create_catalog(CatalogCreate(slug=slug, title=slug, kind="drug", language=language))
    store.stage_draft(slug, label, entries, source_name="test")
    store.publish(slug, label)


@contextmanager
def small_index(tmp_path, entries, language="en"):
    """A match index of `entries` built under tmp_path, closed when the block ends."""
    index = MatchIndex(build_from_entries(tmp_path / "ix", entries, language, "1", "t").path)
    try:
        yield index
    finally:
        index.close()


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


def test_index_is_built_on_first_use_and_new_versions_get_their_own(store):
    publish(store, "drugs", DRUGS)
    path, _ = index_dir(store, "drugs", "1")
    assert not path.exists()
    match(["paracetamol"], target=("drugs", "latest"), store=store)
    assert (path / "entries.json").is_file()
    store.stage_draft("drugs", "2", DRUGS + [{"code": "I200", "display": "Ibuprofen tablets 200 mg"}],
                      source_name="test")
    store.publish("drugs", "2")
    result = match(["ibuprofen 200 mg"], target=("drugs", "latest"), limit=1, store=store)
    assert result[0]["candidates"][0]["code"] == "I200"
    new_path, _ = index_dir(store, "drugs", "2")
    assert new_path != path and new_path.is_dir()
    report = build_index(store, "drugs", "2")
    assert (report.entries, report.designations) == (6, 7)


DAMAGES = ["truncate entries.json", "delete entries.json", "zero the body", "a changed dose in the body",
           "a head that is not JSON", "no head line"]


def damage_index_file(meta: Path, damage: str) -> None:
    """Damage an index file one way; each leaves a file whose body, if believed, would answer wrongly or fail."""
    raw = meta.read_bytes()
    head, body = raw.split(b"\n", 1)
    if damage == "truncate entries.json":
        meta.write_bytes(raw[:300])
    elif damage == "delete entries.json":
        meta.unlink()
    elif damage == "zero the body":
        meta.write_bytes(head + b"\n" + b"\0" * len(body))
    elif damage == "a changed dose in the body":  # still valid JSON of the same length: only the CRC-32 tells
        changed = body.replace(b"Paracetamol tablets 500 mg", b"Paracetamol tablets 900 mg", 1)
        assert changed != body and json.loads(changed)
        meta.write_bytes(head + b"\n" + changed)
    elif damage == "a head that is not JSON":
        meta.write_bytes(b"{" + head[:-2] + b"\n" + body)
    else:
        meta.write_bytes(body)


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_index_is_rebuilt_on_next_use(store, damage):
    import registry.matching as matching
    from registry.matching.index import FORMAT, read_index_file
    publish(store, "drugs", DRUGS)
    path, _ = index_dir(store, "drugs", "1")
    matching._OPEN.clear()
    match(["paracetamol 500 mg"], target="drugs", store=store)
    matching._OPEN.pop(str(path)).close()  # a new process: nothing open yet
    meta = path / "entries.json"
    damage_index_file(meta, damage)
    with pytest.raises((InvalidState, OSError)):
        MatchIndex(path)
    (result,) = match(["paracetamol 500 mg"], target="drugs", limit=1, store=store)
    assert (result["candidates"][0]["code"], result["candidates"][0]["display"]) == (
        "P500", "Paracetamol tablets 500 mg")
    assert "Paracetamol tablets 500 mg" in read_index_file(meta, FORMAT)["displays"]  # whole again
    assert [f.name for f in path.iterdir()] == ["entries.json"]


def test_an_index_of_an_older_format_is_stale_and_rebuilt(store):
    # An index from before FORMAT 24 (entries.json a single JSON object, next to whoosh's files) is stale although
    # its rules and entries are the same: it is rebuilt on next use, and the whoosh files go with the old folder.
    import registry.matching as matching
    from registry.matching.index import FORMAT, read_index_file, rules_fingerprint
    publish(store, "drugs", DRUGS)
    path, _ = index_dir(store, "drugs", "1")
    matching._OPEN.clear()
    match(["paracetamol 500 mg"], target="drugs", store=store)
    matching._OPEN.pop(str(path)).close()
    meta = path / "entries.json"
    body = read_index_file(meta, FORMAT)
    body["displays"] = ["an old display"] * len(body["displays"])
    meta.write_text(json.dumps({"format": 23, "rules": rules_fingerprint(), **body}), encoding="utf-8")
    for name in ("_MAIN_1.toc", "MAIN_abcdef.seg"):
        (path / name).write_bytes(b"whoosh")
    assert not MatchIndex.is_current(path)
    (result,) = match(["paracetamol 500 mg"], target="drugs", limit=1, store=store)
    assert result["candidates"][0]["display"] == "Paracetamol tablets 500 mg"
    assert MatchIndex.is_current(path) and sorted(f.name for f in path.iterdir()) == ["entries.json"]


def test_an_index_built_with_other_rules_is_not_current(tmp_path):
    from registry.matching.index import FORMAT
    path = build_from_entries(tmp_path / "ix", DRUGS, "en").path
    assert MatchIndex.is_current(path)
    meta = path / "entries.json"
    head, body = meta.read_bytes().split(b"\n", 1)
    assert json.loads(head)["format"] == FORMAT
    meta.write_bytes(head.replace(b'"rules": "', b'"rules": "0') + b"\n" + body)
    assert not MatchIndex.is_current(path)
    assert not MatchIndex.is_current(tmp_path / "nothing here")


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


def test_negated_words_are_not_near_identical():
    from registry.matching.overlap import negated_pair, word_overlap
    assert negated_pair("nontraumat", "traumat") and negated_pair("traumat", "nontraumat")
    assert negated_pair("neinfekcion", "infekcion")
    assert not negated_pair("unilater", "bilater")
    assert not negated_pair("parasetamol", "paracetamol")
    idf = {"subarachnoid": 1.0, "haemorrhag": 1.0, "nontraumat": 1.0, "traumat": 1.0}
    # Only the two shared words count: "nontraumatic" does not half-meet "traumatic".
    assert word_overlap(["nontraumat", "subarachnoid", "haemorrhag"], ["traumat", "subarachnoid", "haemorrhag"],
                        idf, 1.0) == pytest.approx(2 / 3)


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


def test_non_specified_stays_the_qualifier_unspecified():
    from registry.matching.normalise import analyse
    for text in ("Pneumonia, non specified", "Pneumonia, non-specified", "Pneumonia, unspecified"):
        assert analyse(text, "en").qualifiers == {"unspecified"}
    assert analyse("non-specific colitis", "en").keys == analyse("nonspecific colitis", "en").keys


def test_a_name_without_qualifier_maps_to_the_category_its_subdivisions_share(tmp_path):
    from registry.matching import Term, match_term
    icd = [{"code": "O22", "display": "Venous complications and haemorrhoids in pregnancy"},
           {"code": "O22.8", "display": "Other venous complications in pregnancy"},
           {"code": "O22.9", "display": "Venous complication in pregnancy, unspecified"},
           {"code": "G82", "display": "Paraplegia and tetraplegia"},
           {"code": "G82.2", "display": "Paraplegia, unspecified"}]
    with small_index(tmp_path, icd, "en") as index:
        ranked = match_term(index, Term("Venous complications in pregnancy"), limit=3)
        # Both subdivisions differ from the name only by a qualifier: the name is their category's.
        assert [c["code"] for c in ranked] == ["O22", "O22.8", "O22.9"]
        assert ranked[0]["score"] == ranked[1]["score"] + 1
        assert ranked[0]["reason"].endswith("lifted above its subdivisions O22.8, O22.9, as the name has no qualifier")
        # One subdivision only: the name is as likely that subdivision without its qualifier; nothing is lifted.
        assert [c["code"] for c in match_term(index, Term("Paraplegia"), limit=2)] == ["G82.2", "G82"]
        # A name with a qualifier of its own is not lifted either.
        assert match_term(index, Term("Other venous complications in pregnancy"), limit=1)[0]["code"] == "O22.8"


def test_other_and_unspecified_counts_as_one_qualifier_difference():
    from registry.matching.rerank import qualifier_agreement
    # The catch-all `Other and unspecified X` differs from a plain `X` as much as `Other X` or `X, unspecified` do.
    assert qualifier_agreement(frozenset(), frozenset({"other", "unspecified"})) == -6
    assert qualifier_agreement(frozenset({"other", "unspecified"}), frozenset()) == -6
    assert qualifier_agreement(frozenset(), frozenset({"other"})) == -6
    assert qualifier_agreement(frozenset({"without"}), frozenset({"other", "unspecified", "without"})) == 2 - 6
    # `Other X` against `X, unspecified` are two different qualifiers, as before.
    assert qualifier_agreement(frozenset({"other"}), frozenset({"unspecified"})) == -12
    assert qualifier_agreement(frozenset({"other", "unspecified"}), frozenset({"other"})) == 2 - 6


def test_a_plain_name_prefers_its_catch_all_category_to_a_sibling_missing_its_words(tmp_path):
    from registry.matching import Term, match_term
    icd = [{"code": "K43", "display": "Грыжа передней брюшной стенки"},
           {"code": "K43.2", "display": "Инцизионная грыжа без непроходимости или гангрены"},
           {"code": "K43.9", "display": "Другая и неуточненная грыжа передней брюшной стенки без непроходимости "
                                        "или гангрены"},
           {"code": "K40.9", "display": "Односторонняя паховая грыжа без непроходимости или гангрены"},
           {"code": "L02.2", "display": "Абсцесс кожи, фурункул и карбункул туловища, передней брюшной стенки"},
           {"code": "S31.1", "display": "Открытая рана передней брюшной стенки"}]
    with small_index(tmp_path, icd, "ru") as index:
        ranked = match_term(index, Term("Грыжа передней брюшной стенки без непроходимости или гангрены"), limit=3)
        assert [c["code"] for c in ranked[:2]] == ["K43.9", "K43.2"]
        # Every word, one qualifier difference (-6) and one shared (+2): 96. K43.2 (read under its parent
        # K43) has every word of the name but adds one; with two differences counted, K43.9 had 90 to its 89.7.
        assert ranked[0]["score"] == 96.0 and ranked[0]["score"] - ranked[1]["score"] > 5


def test_retrieval_finds_a_short_name_among_many_long_ones_holding_the_same_words(tmp_path):
    from registry.matching import Term, match_term
    vehicles = ["car", "bus", "van", "truck", "tram", "cart", "cycle", "train"]
    siblings = [{"code": f"V{i:02d}.{j}", "display": f"Car occupant injured in collision with {v} {w} : "
                                                     f"driver injured in nontraffic accident"}
                for i, v in enumerate(vehicles) for j, w in enumerate(["wheel", "frame", "door", "roof", "seat",
                                                                       "axle", "lamp", "horn", "mirror"])]
    assert len(siblings) > 60  # more than the candidate step keeps
    target = {"code": "V99.3", "display": "Car occupant [any] injured in unspecified nontraffic accident"}
    with small_index(tmp_path, siblings + [target], "en") as index:
        ranked = match_term(index, Term("Car occupant person injured in unspecified nontraffic accident"))
        assert ranked[0]["code"] == "V99.3"


def test_parents_by_code_are_subdivisions_not_blocks_or_chapters():
    from registry.matching.code_tree import parent_rows

    def parents(entries):
        return {entries[row]["code"]: entries[p]["code"] for row, p in parent_rows(entries).items()}
    # The catalog's own hierarchy: only a parent whose code the entry's code extends.
    tree = [{"code": "I", "parents": []}, {"code": "A00-A09", "parents": ["I"]},
            {"code": "A00", "parents": ["A00-A09"]}, {"code": "A00.1", "parents": ["A00"]},
            {"code": "IX", "parents": []}, {"code": "I10-I15", "parents": ["IX"]}, {"code": "I10", "parents": ["I10-I15"]}]
    assert parents(tree) == {"A00.1": "A00"}
    # A flat list: by code, with ranges and Roman chapter numbers never taken for a prefix.
    flat = [{"code": c} for c in ["I", "II", "A00-A09", "A00", "A00.1", "I10", "X", "X54", "Y84", "Y84.4"]]
    assert parents(flat) == {"A00.1": "A00", "Y84.4": "Y84"}
    # ATC's single-letter groups are groups, not chapters.
    atc = [{"code": c} for c in ["V", "V03", "V03AB", "N02BE", "N02BE01"]]
    assert parents(atc) == {"V03": "V", "V03AB": "V03", "N02BE01": "N02BE"}


def test_a_dose_in_another_unit_is_the_same_dose(store):
    publish(store, "drugs", DRUGS)
    (result,) = match(["Paracetamol tablets 0,5 g"], target="drugs", limit=2, store=store)
    assert codes(result)[0] == ("P500", 100.0)
    assert result["candidates"][0]["reason"].endswith("same 500mg")
    assert "different amounts" not in result["candidates"][0]["reason"]


def test_a_dose_on_one_side_only_counts_a_little():
    from registry.matching.overlap import word_overlap
    idf = {"parasetamol": 2.0}
    # 500mg is not in the catalog (maximal IDF 5) and the name has no dose at all: it weighs a quarter of
    # the mean word of its side, so recall is 1 / 1.25 = 0.8 and the overlap 2 * 0.8 / 1.8.
    assert word_overlap(["parasetamol", "500mg"], ["parasetamol"], idf, 5.0) == pytest.approx(8 / 9)
    assert word_overlap(["parasetamol"], ["parasetamol", "500mg"], idf, 5.0) == pytest.approx(8 / 9)
    # A dose that the name has another of still counts in full.
    assert word_overlap(["parasetamol", "500mg"], ["parasetamol", "250mg"], idf, 5.0) == pytest.approx(2 / 7)
    # Plain numbers are words (type 1, stage 3), not doses.
    assert word_overlap(["diabet", "1"], ["diabet"], {"diabet": 2.0}, 5.0) == pytest.approx(2 * (2 / 7) / (1 + 2 / 7))


def test_a_dose_only_in_the_query_does_not_sink_the_name(store):
    publish(store, "inn", [{"code": "N02BE01", "display": "paracetamol"}, {"code": "N02BA01", "display": "aspirin"},
                           {"code": "M01AE01", "display": "ibuprofen"}])
    (result,) = match(["Paracetamol 500 mg"], target="inn", limit=1, store=store)
    code, score = codes(result)[0]
    # 60 × 8/9 for the words, 0.25 × 78.6 token sort ratio, 0.15 × 100 token set ratio: about 88
    assert code == "N02BE01" and 85 <= score < 90


def test_a_flat_code_extends_another_only_at_a_boundary_not_inside_a_number():
    from registry.matching.code_tree import parent_rows

    def parents(entries):
        return {entries[row]["code"]: entries[p]["code"] for row, p in parent_rows(entries).items()}
    # D10-D18 are D1's siblings, not its subdivisions; D1.1 and D10.5 subdivide at the dot.
    flat = [{"code": c} for c in ["D", "D1", "D2", "D10", "D18", "D1.1", "D10.5", "12", "120", "12 1"]]
    assert parents(flat) == {"D1": "D", "D2": "D", "D10": "D", "D18": "D", "D1.1": "D1", "D10.5": "D10",
                             "12 1": "12"}
    # ATC: a letter after a digit, a digit after a letter, a letter after a letter.
    atc = [{"code": c} for c in ["N", "N02", "N02B", "N02BE", "N02BE01"]]
    assert parents(atc) == {"N02": "N", "N02B": "N02", "N02BE": "N02B", "N02BE01": "N02BE"}
    # A parent the catalog states is taken even inside a number (ICD-10-CM's S72.0 → S72.00).
    tree = [{"code": "S72", "parents": []}, {"code": "S72.0", "parents": ["S72"]},
            {"code": "S72.00", "parents": ["S72.0"]}]
    assert parents(tree) == {"S72.0": "S72", "S72.00": "S72.0"}


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


@pytest.mark.parametrize("name", ["of the", "The", "and", "и", "в", "und der", "с и без", "of, the (and)"])
def test_a_name_of_stop_words_only_gets_no_candidates(tmp_path, name):
    from registry.matching import Term, match_term
    icd = [{"code": "B01", "display": "Disease of the liver"},
           {"code": "A01", "display": "Typhoid and paratyphoid fevers"},
           {"code": "K70", "display": "Болезнь печени в стадии и с осложнениями"},
           {"code": "G01", "display": "Krankheit der Leber und der Niere"}]
    with small_index(tmp_path, icd, "en") as index:
        # Such a name says nothing: a token set ratio of 100 against every name holding `of the` is no match.
        assert match_term(index, Term(name)) == []
        assert match_term(index, Term("disease of the liver"))[0]["code"] == "B01"


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


def test_us_substance_and_organic_wording_finds_the_who_category(tmp_path):
    from registry.matching import Term, match_term
    icd = [{"code": "F10", "display": "Mental and behavioural disorders due to use of alcohol"},
           {"code": "F12", "display": "Mental and behavioural disorders due to use of cannabinoids"},
           {"code": "U07.0", "display": "Vaping-related disorder"},
           {"code": "K70", "display": "Alcoholic liver disease"},
           {"code": "F10.2", "display": "Mental and behavioural disorders due to use of alcohol : dependence syndrome"},
           {"code": "F60.7", "display": "Dependent personality disorder"},
           {"code": "K70.1", "display": "Alcoholic hepatitis"},
           {"code": "F51", "display": "Nonorganic sleep disorders"},
           {"code": "G47", "display": "Sleep disorders"}]
    with small_index(tmp_path, icd, "en") as index:
        assert match_term(index, Term("Sleep disorders not due to a substance or known physiological condition"),
                          1)[0]["code"] == "F51"
        assert match_term(index, Term("Sleep disorders"), 1)[0]["code"] == "G47"
        assert match_term(index, Term("Alcohol dependence"), 1)[0]["code"] == "F10.2"


def test_an_abbreviation_in_brackets_names_the_entry_by_its_expansion(tmp_path):
    from registry.matching import Term, match_term
    icd = [{"code": "C92", "display": "Миелоидный лейкоз [миелолейкоз]"},
           {"code": "C92.0", "display": "Острый миелобластный лейкоз [ОМЛ]"},
           {"code": "C92.7", "display": "Другой миелоидный лейкоз"}]
    with small_index(tmp_path, icd, "ru") as index:
        best = match_term(index, Term("Острый миелоидный лейкоз"), 1)[0]
        assert best["code"] == "C92.0" and best["score"] == 100
        assert best["reason"].startswith('abbreviation "острый миелоидный лейкоз"')
        # an aside that is no abbreviation adds nothing
        assert sum(d[0] == 0 for d in index.docs) == 2  # C92: the display and the display without its aside


def test_phrase_rules_skip_words_that_start_no_phrase_and_still_find_later_phrases():
    from registry.matching.normalise import phrase_rules
    rules = phrase_rules("en")
    assert rules.starts and max(rules.starts.values()) == rules.longest
    keys = ["seps", "not", "due", "to", "a", "substank", "or", "knovn", "fisiologikal", "kondit"]
    out, qualifiers = rules.apply(keys)
    assert out == ["seps", "nonorgan"] and qualifiers == frozenset()


def test_quantities_and_attribute_agreement_read_the_same_with_their_shortcuts():
    from registry.matching.normalise import analyse
    from registry.matching.overlap import is_quantity
    from registry.matching.rerank import agreement
    assert is_quantity("500mg") and is_quantity("0.9%") and not is_quantity("12") and not is_quantity("mg")
    query = analyse("Paracetamol", "en")
    # the entry's attributes are folded once and reused; a value that cannot be cached is folded in place
    assert agreement(None, {"form": "tablet"}, query, "N02BE01", {"Form": "Tablet"}, []) == (3.0, ["same Form"])
    assert agreement(None, {"form": "tablet"}, query, "N02BE01", {"Form": "Tablet"}, []) == (3.0, ["same Form"])
    assert agreement(None, {"form": "tablet"}, query, "N02BE01", {"Form": "Syrup", "x": ["a"]}, [])[0] == -8.0


def test_an_attribute_joined_from_several_values_agrees_with_each():
    # ATC gives one substance several routes, which the importer joins as `O | P | R`
    from registry.matching.normalise import analyse
    from registry.matching.rerank import agreement
    query = analyse("Ibuprofen", "en")
    assert agreement(None, {"adm_r": "o"}, query, "M01AE01", {"adm_r": "O | P | R"}, []) == (3.0, ["same adm_r"])
    assert agreement(None, {"adm_r": "v"}, query, "M01AE01", {"adm_r": "O | P | R"}, []) == \
        (-8.0, ["different adm_r (v vs O | P | R)"])


def test_similar_words_do_not_depend_on_the_process_hash_seed(tmp_path):
    import os
    import subprocess
    import sys
    # Six one-letter variants of a word the catalog lacks; four share as many of its 3-grams, each a
    # different set of them. Which variant is proposed must not follow the order of sets and dicts.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from registry.matching.index import MatchIndex, build_from_entries\n"
        "from registry.matching.normalise import analyse\n"
        "query = 'zolbarimuk'\n"
        "words = [query[:i] + 'q' + query[i + 1:] for i in range(2, 8)]\n"
        "entries = [{'code': str(i), 'display': w} for i, w in enumerate(words)]\n"
        "ix = MatchIndex(build_from_entries(Path(sys.argv[1]), entries, 'en', '1', 't').path)\n"
        "print(ix.similar_words(analyse(query, 'en').keys[0], 1))\n"
        "ix.close()\n")
    answers = set()
    for seed in ("0", "1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", script, str(tmp_path / f"ix{seed}")], env=env,
                              capture_output=True, text=True, check=True)
        answers.add(done.stdout.strip())
    # The nearest in length among the variants sharing most grams, then the greatest word: always the same one.
    assert answers == {"[('solkarimuk', 0.9)]"}


def test_the_close_words_table_gives_what_the_pairwise_lookup_gives():
    # rerank looks a query key up in its table of close words (`near_words`, `_best_near`) instead of asking
    # rapidfuzz per designation (`_best_word`): both must say the same, ties and negating prefixes included.
    from registry.matching.overlap import _best_near, _best_word, key_side, near_words
    words = ["traumatic", "nontraumatic", "traumatik", "anaemia", "anemia", "anemias", "fracture", "fractures",
             "fracturs", "neinfekc", "infekc", "500mg", "ulcer", "ulcers", "renal"]
    queries = [("nontraumatic", "anemia", "fractur"), ("traumatic", "infekc", "500mg"), ("ulcer", "renal", "anaemi")]
    for keys in queries:
        side = key_side(keys, {}, 1.0)
        near_words(side, words)
        for others in (tuple(words[i:i + 4]) for i in range(0, len(words), 2)):
            for key in side.keys:
                assert _best_near(key, side.near.get(key, {}), others) == _best_word(key, others), (key, others)
        # the other way round, from the same table: how well the query's keys meet each word
        assert side.seen == {word: _best_word(word, side.keys) for word in words}, keys
    # of two equally close query keys the first is taken, and a negating prefix is no match
    side = key_side(("anemic", "anemiz", "traumatic"), {}, 1.0)
    near_words(side, ["anemix", "nontraumatic"])
    assert side.seen == {"anemix": _best_word("anemix", side.keys), "nontraumatic": 0.0}


ATC_NYSTATIN = [{"code": "A07", "display": "Antidiarrheals, intestinal antiinflammatory/antiinfective agents"},
                {"code": "A07AA", "display": "Antibiotics"},
                {"code": "A07AA02", "display": "nystatin"},
                {"code": "D01", "display": "Antifungals for dermatological use"},
                {"code": "D01AA", "display": "Antibiotics"},
                {"code": "D01AA01", "display": "nystatin"},
                {"code": "G01AA", "display": "Antibiotics"},
                {"code": "G01AA01", "display": "nystatin"}]


def test_the_local_group_picks_among_namesakes_under_other_parents(tmp_path):
    from registry.matching import Term, match_term
    with small_index(tmp_path, ATC_NYSTATIN, "en") as index:
        alone = match_term(index, Term("Нистатин"), 3)
        assert [c["code"] for c in alone] == ["A07AA02", "D01AA01", "G01AA01"]  # a tie, in code order
        assert {c["score"] for c in alone} == {100.0}
        # the parent names the group; all three parents are `Antibiotics`, so the grandparent decides
        found = match_term(index, Term("Нистатин", None, {"parent": ["Антибиотики", "Противогрибковые препараты "
                                                                      "для лечения заболеваний кожи"]}), 3)
        assert found[0]["code"] == "D01AA01"
        assert "in a group like the local one (\"Antibiotics\"" in found[0]["reason"]
        # one parent name (a CSV column) still ranks the candidates under a parent so named first
        only_parent = match_term(index, Term("Нистатин", None, {"parent": "Антибиотики"}), 3)
        assert [c["code"] for c in only_parent] == ["A07AA02", "D01AA01", "G01AA01"]
        assert all("+8.0" in c["reason"] for c in only_parent)
        # a parent named otherwise adds nothing, and the context is not compared as an attribute
        other = match_term(index, Term("Нистатин", None, {"parent": "Витамины"}), 3)
        assert [c["reason"] for c in other] == [c["reason"] for c in alone]


def test_what_an_index_keeps_between_queries_changes_no_answer(tmp_path):
    # A group's name is analysed, looked up and scored once as a query and once as its members' context
    # (`MatchIndex.analysed`, `candidates`, `base_scores`): in whichever order they come, each answer is the
    # one a fresh index gives to that query alone.
    from registry.matching import Term, match_term
    terms = [Term("Антибиотики"),
             Term("Нистатин", None, {"parent": ["Антибиотики", "Противогрибковые препараты"]}),
             Term("Противогрибковые препараты для лечения заболеваний кожи"),
             Term("Нистатин"), Term("Нистатин (антибиотики)", None, {"parent": "Антибиотики"})]
    alone = []
    for i, term in enumerate(terms):
        with small_index(tmp_path / f"alone{i}", ATC_NYSTATIN, "en") as index:
            alone.append(match_term(index, term, 5))
    assert all(alone) and alone[1][0]["code"] != alone[3][0]["code"]  # the context did change an answer
    for order in (terms, terms[::-1], terms[1:] + terms[:1]):
        with small_index(tmp_path / f"order{terms.index(order[0])}", ATC_NYSTATIN, "en") as index:
            answers = {id(term): match_term(index, term, 5) for term in order}
            assert index.base_scores  # scores were kept, and reused by the later queries
            assert index.context_bonuses  # so were the bonuses of the local ancestries
        assert [answers[id(term)] for term in terms] == alone


def test_match_without_a_store_opens_the_configured_one_each_time(sqlite_store, tmp_path, monkeypatch):
    from registry.store import Store
    publish(sqlite_store, "drugs", DRUGS)
    assert match(["Парацетамол табл. 250 мг"], target="drugs@1", limit=1)[0]["candidates"][0]["code"] == "P250"
    # another data directory is another registry at once: no store is kept from the first call
    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path / "other"))
    Store.init().engine.dispose()
    with pytest.raises(NotFound):
        match(["Парацетамол"], target="drugs@1")


def test_the_overlap_shortcuts_sum_what_the_pairwise_lookup_sums():
    # side_overlap skips `_best_near` for the keys a name holds (1.0) or holds no close word of (0.0): the sum
    # must be the same float as the word-by-word one (`near` unset asks rapidfuzz per pair), doses, negating
    # prefixes and names holding a key twice included.
    from registry.matching.overlap import key_side, near_words, side_overlap, side_overlaps
    idf = {"traumatic": 2.0, "fracture": 1.5, "anemia": 3.0, "renal": 0.7, "500mg": 4.0, "ulcer": 1.1}
    names = [("nontraumatic", "fracture", "fracture"), ("traumatic", "fractures", "500mg"), ("anaemia", "renal"),
             ("ulcer", "ulcers", "renal", "1g"), ("traumatik", "anemia"), ("kidney",), ("500mg",)]
    words = sorted({k for name in names for k in name})
    for query in names:
        table = key_side(query, idf, 5.0)
        near_words(table, words)
        for doc in names:
            plain = key_side(query, idf, 5.0)  # near left unset: `_best_word` for every pair
            pair = key_side(doc, idf, 5.0)
            assert side_overlap(table, pair) == side_overlap(plain, pair), (query, doc)
        # all of a query's names in one loop (`side_overlaps`, as the reranker scores them): the same floats
        plain = key_side(query, idf, 5.0)
        sides = [key_side(doc, idf, 5.0) for doc in names + [()]]
        assert side_overlaps(table, sides) == [side_overlap(plain, side) for side in sides], query
    assert side_overlap(key_side(("renal",), idf, 5.0), key_side(("renal",), idf, 5.0)) == 1.0


def test_the_reranker_scores_each_name_as_the_pairwise_base_score_does(tmp_path):
    # `rerank` scores a query's new names in one loop (`_score_pending`: the ratios of all of them in one call,
    # the word overlaps in one loop): each base score and its reason's parts must be what `_base_score` gives
    # the pair alone, same words, another order, qualifiers and doses included.
    from registry.matching.overlap import key_side
    from registry.matching.rerank import _base_score, rerank
    entries = ATC_NYSTATIN + DRUGS + [{"code": "Q1", "display": "Other anaemia, unspecified"},
                                      {"code": "Q2", "display": "Anaemia other"},
                                      {"code": "Q3", "display": "Tablets paracetamol 500 mg"}]
    with small_index(tmp_path, entries) as index:
        for name in ["Other anaemia", "anaemia, unspecified", "paracetamol tablets 500 mg", "Nystatin",
                     "Парацетамол 500 мг", "antiinfective agents"]:
            query = index.analysed(name)
            doc_ids = list(range(len(index.docs)))
            rerank(index, query, doc_ids)
            memo = index.base_scores[(tuple(query.keys), query.qualifiers)]
            assert sorted(memo) == doc_ids
            side = key_side(tuple(query.keys), index.idf, index.max_idf)
            for doc_id, doc in enumerate(index.docs):
                alone = _base_score(query, doc[4], doc[6], (side, index.key_side(doc_id)))
                assert memo[doc_id] == alone, (name, doc[2])


def test_the_postings_are_those_of_a_scan_of_the_analysed_names(tmp_path):
    # `MatchIndex.postings` answers from tables built from the index's documents on first use: for every term of
    # both fields, the documents found by scanning every name analysed afresh (every vocabulary word's 3-grams),
    # in ascending order, and no other term; the document frequencies written at build agree with them.
    from registry.matching.index import grams_of
    from registry.matching.normalise import analyse
    from registry.matching.weights import FUZZY_MIN_LEN
    entries = ATC_NYSTATIN + DRUGS + [{"code": "X1", "display": "Paracetamol 500 mg tablets (oral)"},
                                      {"code": "X2", "display": "Острый миелобластный лейкоз [ОМЛ]"}]
    with small_index(tmp_path, entries, "ru") as index:
        keys = [set(analyse(d[2], "ru").keys) for d in index.docs]
        assert keys == [set(d[4].split()) for d in index.docs]
        first = len(index.docs)
        assert index.vocabulary == [k for k in index.df if len(k) >= FUZZY_MIN_LEN and not k[0].isdigit()]
        grams = [set(grams_of([word])) for word in index.vocabulary]
        for field, terms, scan in (
                ("keys", set().union(*keys), lambda t: [i for i, held in enumerate(keys) if t in held]),
                ("grams", set().union(*grams), lambda t: [first + i for i, held in enumerate(grams) if t in held])):
            assert len(terms) > 20, field
            for term in terms:
                assert index.postings(field, term) == scan(term), term
            assert sorted(index._inverted[field]) == sorted(terms)
            assert index.postings(field, "no-such-term") == []
        assert {k: len(index.postings("keys", k)) for k in index.df} == index.df
        assert sorted(index.df) == sorted(set().union(*keys))
        key = sorted(index.df)[0]
        assert index.key_postings(key).tolist() == index.postings("keys", key)
        # the keys of a row's display, read from its display designation, are those of analysing the display
        for row, display in enumerate(index.displays):
            assert index.display_keys(row) == frozenset(index.analysed(display).keys), display


@pytest.mark.parametrize("compiled", [True, False])
def test_cdist64_is_rapidfuzz_cdist_in_float64(monkeypatch, compiled):
    # The ratios are read from rapidfuzz's compiled cdist directly (or through its public wrapper when it has
    # none): the same floats as `process.cdist(..., dtype=numpy.float64)`.
    import numpy
    from rapidfuzz import fuzz, process
    from registry.matching import overlap
    if not compiled:
        monkeypatch.setattr(overlap, "_cdist", None)
    queries, choices = ["renal failure acute", "anemia"], ["acute renal failure", "anaemia", "renal", "", "a b c"]
    for scorer, options in ((fuzz.token_sort_ratio, {}), (fuzz.token_set_ratio, {}),
                            (fuzz.ratio, {"score_cutoff": 80.0})):
        got = overlap.cdist64(queries, choices, scorer=scorer, **options)
        want = process.cdist(queries, choices, scorer=scorer, dtype=numpy.float64, **options)
        assert got.dtype == numpy.float64 and got.tolist() == want.tolist(), scorer


def test_round_score_is_round_to_a_tenth():
    # The reranking loop rounds with `round_score` instead of `round(x, 1)`: the same float for every score,
    # ties of the decimal rounding (x.x5 and the doubles beside them), zero and its sign included.
    import math
    import random
    from registry.matching.rerank import round_score
    rng = random.Random(7)
    values = [rng.uniform(0, 110) for _ in range(100_000)] + [k / 100 for k in range(11_000)]
    values += [60 * rng.random() + 0.25 * rng.randint(0, 100) + 0.15 * rng.randint(0, 100) for _ in range(50_000)]
    values += [math.nextafter(v, d) for v in values[100_000:111_000] for d in (0.0, 200.0)]
    values += [0.0, -0.0, 100.0, 99.0, 1e-300, -0.27, -2.35]
    for x in values:
        got, want = round_score(x), round(x, 1)
        assert got == want and math.copysign(1.0, got) == math.copysign(1.0, want), x


def test_similar_words_are_kept_per_index_and_equal_to_a_fresh_lookup(tmp_path):
    # A word the catalog lacks recurs from name to name: its close words are looked up once per index.
    entries = [{"code": "1", "display": "paracetamol"}, {"code": "2", "display": "paramethasone"},
               {"code": "3", "display": "parecoxib"}]
    with small_index(tmp_path, entries, "en") as index:
        (word,), (catalog_word,) = index.analysed("paracetamoll").keys, index.analysed("paracetamol").keys
        first = index.similar_words(word, 4)
        assert first == index._similar_words(word, 4)
        assert first[0][0] == catalog_word
        assert index.similar_words(word, 4) is first  # kept, not worked out again
        assert index.similar_words(word, 1) == first[:1]  # another limit, another entry


def test_opening_an_index_loads_the_russian_morphology(tmp_path):
    # pymorphy3's dictionary takes a tenth of a second to load: on opening, not inside the first Russian query.
    from registry.matching.analysis.words import _morph
    _morph.cache_clear()
    with small_index(tmp_path, [{"code": "1", "display": "nystatin"}], "en"):
        assert _morph.cache_info().currsize == 1


def test_the_ratios_of_many_names_at_once_equal_those_of_each_pair():
    # rerank asks rapidfuzz for a query's two ratios against all its candidates in one call each (`cdist`): the
    # scores must be the very floats of the pairwise calls, or rankings could change at a tie.
    from rapidfuzz import fuzz
    from registry.matching.rerank import _ratio_columns
    query = "acut myeloid leukaemia remiss"
    names = ["acut myeloid leukaemia", "myeloid leukaemia acut", "chronic lymphocyt leukaemia", "remiss", "",
             "acut acut myeloid", "leukaemia remiss acut myeloid x"]

    # with the words of each text sorted once (`KeySide.sorted_text`), token_sort_ratio as the plain ratio of those
    def ordered(text):
        return " ".join(sorted(text.split()))

    def ratios(one):
        return list(zip(*_ratio_columns(one, names, ordered(one), [ordered(n) for n in names])))
    assert ratios(query) == [(fuzz.token_sort_ratio(query, n), fuzz.token_set_ratio(query, n)) for n in names]
    assert all(type(a) is float and type(b) is float for a, b in ratios(query))
    assert _ratio_columns(query, [], ordered(query), []) == ([], [])
    for one in names:
        assert ratios(one) == [(fuzz.token_sort_ratio(one, n), fuzz.token_set_ratio(one, n)) for n in names], one


def test_retrieval_sums_and_ties_are_those_of_a_plain_dict_and_sort(tmp_path):
    # find_candidates adds each designation's term weights with numpy and sorts stably: the same sums and the
    # same order as adding them in a dict in the order met and sorting it, ties (equal names) included.
    import heapq
    entries = [{"code": str(i), "display": name} for i, name in enumerate(
        ["renal failure", "failure renal", "renal colic", "acute renal failure", "heart failure", "renal",
         "renal failure", "chronic renal failure unspecified", "colic", "renal cyst", "gamma", "delta"])]
    with small_index(tmp_path, entries, "en") as index:
        # `delta gamma`: two names of equal score, the later one met first
        for query in ("renal failure", "acute renal colic", "failure", "renal cyst colic heart", "renall failur",
                      "delta gamma"):
            keys = index.analysed(query).keys
            found = index.find_candidates(keys, 4)
            unique = list(dict.fromkeys(keys))
            terms = [(k, 1.0) for k in unique if k in index.df]
            terms += [t for k in unique if k not in index.df and len(k) >= 5 for t in index.similar_words(k, 4)]
            scores: dict[int, float] = {}
            for text, similarity in terms:
                for doc in index.postings("keys", text):
                    scores[doc] = scores.get(doc, 0.0) + similarity * index.idf.get(text, 0.0)
            exact = index.by_key_text.get(" ".join(keys), [])
            best = heapq.nlargest(4, scores, key=lambda d: scores[d] * index.length_factor[d] - 1e-9 * index.lengths[d])
            assert found == exact + [d for d in best if d not in exact], query


def test_ranking_by_the_unclamped_score_is_the_order_of_the_rounded_scores(tmp_path):
    # rerank keeps each row's best name and orders the rows by their unclamped score alone, rounding only the
    # rows that rank (`final_score`): the same rows, scores and order as rounding every name's score and
    # ranking by (rounded score, unclamped score, code), ties, scores above 100 (the same code) and below 0
    # (a different attribute) included.
    from registry.matching.analysis import fold_code
    from registry.matching.rerank import _norm_value, agreement, final_score, rerank
    entries = ATC_NYSTATIN + DRUGS + [{"code": "X1", "display": "nystatin", "attributes": {"form": "syrup"}},
                                      {"code": "X2", "display": "Nystatin tablets"},
                                      {"code": "X3", "display": "Paracetamol tablets 250 mg"},
                                      {"code": "X4", "display": "tablets", "attributes": {"form": "cream"}}]

    def slow(index, query, doc_ids, code, attributes, limit):
        memo = index.base_scores[(tuple(query.keys), query.qualifiers)]
        wanted = {_norm_value(k): _norm_value(v) for k, v in attributes.items()}
        best = {}
        for doc_id in doc_ids:
            doc = index.docs[doc_id]
            row = doc[0]
            bonus, _notes = agreement(fold_code(code) if code else None, wanted, query, index.codes[row],
                                      index.attributes[row], doc[5])
            unclamped = memo[doc_id][0] + bonus
            scored = (round(max(0.0, min(100.0, unclamped)), 1), unclamped)
            if row not in best or scored > best[row]:
                best[row] = scored
        ordered = sorted(best, key=lambda row: (-best[row][0], -best[row][1], index.codes[row]))
        return [(row, *best[row]) for row in ordered[:limit]]

    with small_index(tmp_path, entries) as index:
        for name, code, attributes in [("nystatin", None, {}), ("nystatin", "X1", {}), ("Nystatin", "A07AA02", {}),
                                       ("tablets", None, {"form": "tablet"}), ("paracetamol 250 mg", "P250", {}),
                                       ("paracetamol tablets 500 mg", None, {"form": "syrup"}),
                                       ("antibiotics", None, {}), ("nystatin tablets", "G01AA01", {"form": "x"})]:
            query = index.analysed(name)
            doc_ids = list(range(len(index.docs)))
            for limit in (1, 3, 20):
                got = rerank(index, query, doc_ids, code, attributes, limit)
                assert [(s.row, s.score, s.unclamped) for s in got] == slow(index, query, doc_ids, code,
                                                                           attributes, limit), (name, code)
        # base scores set so that names of one row and rows differ below the rounding (87.21, 87.24) or tie
        import random
        rng = random.Random(3)
        query = index.analysed("nystatin syrup")
        memo = index.base_scores.setdefault((tuple(query.keys), query.qualifiers), {})
        for _round in range(200):
            for doc_id in doc_ids:
                memo[doc_id] = (rng.choice([87.21, 87.24, 87.25, 87.26, 99.0, 3.0, 50.04, 50.05]), (0.5, 50.0, True))
            for code, attributes in ((None, {}), ("X1", {}), (None, {"form": "syrup"})):
                got = rerank(index, query, doc_ids, code, attributes, 4)
                assert [(s.row, s.score, s.unclamped) for s in got] == slow(index, query, doc_ids, code, attributes, 4)
    # the score shown never falls as the unclamped score grows, so ordering by either gives one order
    values = sorted([-20.0, -0.04, 0.0, 0.04, 0.05, 99.94, 99.95, 100.0, 100.04, 112.5] + [k / 37 for k in range(4000)])
    shown = [final_score(v) for v in values]
    assert shown == sorted(shown) and shown[0] == 0.0 and shown[-1] == 100.0


def test_a_rows_group_bonus_is_kept_per_parent_and_equal_to_a_fresh_one(tmp_path):
    # apply_context keeps a row's bonus under its parent's row (siblings have the same ancestors, so the same
    # bonus): what it kept must be what `_context_bonus` gives each row worked out afresh.
    from registry.matching.context import _context_bonus, apply_context
    from registry.matching.rerank import rerank
    contexts = [["Антибиотики"], ["Антибиотики", "Противогрибковые препараты"], ["antibiotics", "antidiarrheals"],
                ["Antifungals for dermatological use"]]
    with small_index(tmp_path, ATC_NYSTATIN + [{"code": "D01AA02", "display": "natamycin"}], "en") as index:
        for name in ("nystatin", "antibiotics", "natamycin"):
            ranked = rerank(index, index.analysed(name), list(range(len(index.docs))), limit=50, word=False)
            for context in contexts:
                apply_context(index, ranked, context, 5)
                kept = index.context_bonuses[tuple(context)]
                assert any(bonus for bonus, _named in kept.values())
                for s in ranked:
                    assert kept[index.parents[s.row]] == _context_bonus(index, s.row, context), (name, context)
