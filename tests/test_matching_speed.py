"""The matcher's exact shortcuts give what the general paths give, on the real ATC ru -> en names."""

from __future__ import annotations

import csv
import random

import numpy
import pytest
from rapidfuzz import fuzz

from registry.matching.analysis import use_hand_written_tables
from registry.matching.index import MatchIndex, _weight_sums, build_from_entries
from registry.matching.overlap import key_side, near_words, side_overlap, side_overlaps
from registry.matching.rerank import _pair_scores, qualifier_agreement
from registry.matching.weights import INEXACT_MAX, RETRIEVE, TOKEN_SET, TOKEN_SORT, WORD_OVERLAP
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def atc(tmp_path_factory):
    """The index of the ATC ru -> en benchmark's WHO names, and its Russian names (as `bench/match.py` has them)."""
    with open(SHARED_DATA / "benchmarks" / "atc_en_who_vs_ru_kz.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    use_hand_written_tables(True)
    entries = [{"code": r["atc_code"], "display": r["who_en"], "attributes": {"level": r["level"]}} for r in rows]
    index = MatchIndex(build_from_entries(tmp_path_factory.mktemp("atc") / "ix", entries, "en", "1", "atc").path)
    names = random.Random(5).sample([r["kz_knf_ru"] for r in rows], 300)
    yield index, names
    index.close()


def test_one_term_is_retrieved_as_the_general_sum_retrieves_it(atc):
    # `find_candidates` skips `_weight_sums` for one term (half the names of a list): its postings, ascending and
    # each once, with the term's weight, must be what the general sum gives, and so must the candidates.
    index, _names = atc
    checked = 0
    for key in sorted(index.df):
        postings = index.key_postings(key)
        weight = index.idf[key]
        if weight <= 0:
            continue
        docs, sums = _weight_sums([postings], [weight])
        assert docs.tolist() == postings.tolist(), key
        assert sums.tolist() == [weight] * len(postings), key
        ranking = sums * index._damping[docs] - index._tie[docs]
        general = docs[numpy.argsort(-ranking, kind="stable")[:RETRIEVE]].tolist()
        exact = index.by_key_text.get(key, [])
        assert index.find_candidates([key], RETRIEVE) == exact + [d for d in general if d not in exact], key
        checked += 1
    assert checked > 1000


def test_word_overlaps_of_a_query_in_one_loop_are_those_pair_by_pair(atc):
    # `side_overlaps` sums a name's precision over the one word the query meets in it without the sum over all
    # its words (most names): the same floats as `side_overlap` pair by pair, which `near_words` does not touch.
    index, names = atc
    one = several = 0
    for name in names:
        query = index.analysed(name)
        if not query.keys:
            continue
        doc_ids = index.candidates(query.keys, RETRIEVE)
        sides = [index.key_side(d) for d in doc_ids]
        table = key_side(tuple(query.keys), index.idf, index.max_idf)
        near_words(table, list(dict.fromkeys(k for side in sides for k in side.keys)))
        plain = key_side(tuple(query.keys), index.idf, index.max_idf)  # near left unset: `_best_word` for each
        assert side_overlaps(table, sides) == [side_overlap(plain, side) for side in sides], name
        met = {word for word, score in table.seen.items() if score}
        one += sum(len(side.key_set & met) == 1 for side in sides)
        several += sum(len(side.key_set & met) > 1 for side in sides)
    assert one > 1000 and several > 100  # both ways of summing were compared


def test_base_scores_in_one_loop_are_the_blend_of_each_pair(atc):
    # `_pair_scores` blends a reading's candidates in one loop: each must be the documented blend of its pair
    # (the same words, the same bag, or the weighted overlap and ratios with the qualifiers' adjustment, capped).
    index, names = atc

    def blend(query, text, qualifiers, overlap, sort, tset):
        same = query.qualifiers == qualifiers
        if same and query.key_text == text:
            return 100.0, ("same",)
        if same and sorted(query.keys) == sorted(text.split()):
            return 100.0, ("bag",)
        score = WORD_OVERLAP * overlap + TOKEN_SORT * sort + TOKEN_SET * tset
        if not same or qualifiers:
            score += qualifier_agreement(query.qualifiers, qualifiers)
        return min(score, INEXACT_MAX), (overlap, max(sort, tset), same)

    kinds = set()
    for name in names + ["Other antibacterials", "antibacterials other", "Antibacterials for systemic use"]:
        query = index.analysed(name)
        if not query.keys:
            continue
        doc_ids = index.candidates(query.keys, RETRIEVE)
        side = key_side(tuple(query.keys), index.idf, index.max_idf)
        docs = [index.docs[d] for d in doc_ids]
        pairs = [(d[4], d[6], side_overlap(side, index.key_side(i)), fuzz.token_sort_ratio(query.key_text, d[4]),
                  fuzz.token_set_ratio(query.key_text, d[4])) for i, d in zip(doc_ids, docs)]
        got = _pair_scores(query, *map(list, zip(*pairs))) if pairs else []
        assert got == [blend(query, *pair) for pair in pairs], name
        kinds.update(score[1][0] if score[0] == 100.0 else bool(score[1][2]) for score in got)
    assert {"same", "bag", True, False} <= kinds  # every branch of the blend was met
