"""Reranking (`registry/matching/rerank.py`): qualifier and attribute agreement, the base score, rounding and
the ranking of rows (no database).
"""

from __future__ import annotations

from matching_fixtures import ATC_NYSTATIN, DRUGS, small_index


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
