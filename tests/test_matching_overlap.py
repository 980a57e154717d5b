"""Word overlap (`registry/matching/overlap.py`): negated words, doses, the close-words table and the ratios
of many names at once (no database).
"""

from __future__ import annotations

import pytest


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
