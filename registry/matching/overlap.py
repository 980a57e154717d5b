"""Word overlap: how many of a query's keys a designation holds and how many of its keys the query holds.

Each query key finds its best key in the designation (equal, or a rapidfuzz ratio of at least 80 for words
of five letters or more: misspellings, inflections, transliterations), weighted by how rare the key is in the
catalog (IDF); the overlap is the harmonic mean of the query side (recall) and the designation side
(precision). `side_overlap` scores one pair, with the tables `near_words` makes once per query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache, reduce
from operator import add, mul
from typing import Sequence

import numpy
from rapidfuzz import fuzz, process

from registry.matching.weights import FUZZY_MIN_LEN, FUZZY_WORD, QUANTITY_ALONE

try:  # rapidfuzz's compiled `cdist` itself: its Python wrapper spends some 10 µs a call telling the dtype
    from rapidfuzz.process_cpp_impl import FLOAT64 as _FLOAT64, cdist as _cdist
except ImportError:  # a build of rapidfuzz without its C++ extension: the public function
    _cdist = None


def cdist64(queries: Sequence[str], choices: Sequence[str], **options) -> numpy.ndarray:
    """`rapidfuzz.process.cdist(queries, choices, dtype=numpy.float64, **options)`: the same array, called
    straight into rapidfuzz's compiled module when it has one (a query's ratios are two or three such calls)."""
    if _cdist is None:
        return process.cdist(queries, choices, dtype=numpy.float64, **options)
    return numpy.asarray(_cdist(queries, choices, dtype=_FLOAT64, **options))


def _best_word(key: str, others: Sequence[str]) -> float:
    """How well `key` is met by the best of `others`: 1 when equal, the rapidfuzz ratio (0-1) when close."""
    if key in others:
        return 1.0
    if len(key) < FUZZY_MIN_LEN or key[0].isdigit():  # numbers and doses (500mg) only match exactly
        return 0.0
    found = process.extractOne(key, others, scorer=fuzz.ratio, score_cutoff=FUZZY_WORD * 100)
    if not found or negated_pair(key, found[0]):
        return 0.0
    return found[1] / 100


NEGATING_PREFIXES = ("non", "ne", "un")


def negated_pair(a: str, b: str) -> bool:
    """Whether one key is the other with a negating prefix (`nontraumat`/`traumat`, `neinfekc`/`infekc`).

    Such words look alike to a ratio but mean the opposite, so they must not count as near-identical.
    """
    if len(a) < len(b):
        a, b = b, a
    for prefix in NEGATING_PREFIXES:
        rest = a[len(prefix):]
        if a.startswith(prefix) and not b.startswith(prefix) and rest[:3] == b[:3] and fuzz.ratio(rest, b) >= 90:
            return True
    return False


_QUANTITY = re.compile(r"\d+(?:\.\d+)?[^\d.]")


def is_quantity(key: str) -> bool:
    """Whether a key is a dose or concentration (`500mg`, `0.9%`), not a word or a plain number."""
    return key[:1].isdigit() and bool(_QUANTITY.match(key))  # most keys are words: no regex for them


@lru_cache(maxsize=65536)
def _key_parts(keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[bool, ...], bool]:
    """A side's distinct keys, which of them are doses, and whether any is (cached: names recur in every query).

    Tuples, as the cache hands the same objects to every caller.
    """
    distinct = tuple(dict.fromkeys(keys))
    doses = tuple(map(is_quantity, distinct))
    return distinct, doses, any(doses)


def _weights(keys: Sequence[str], doses: tuple[bool, ...], other_has_dose: bool, idf: dict[str, float],
             max_idf: float) -> list[float]:
    """The IDF weight of each key; a dose weighs a quarter of the side's mean word when the other side has none.

    A dose is seldom in the catalog's names, so its IDF is the maximum: against a name without any
    dose (`paracetamol` for `Paracetamol 500 mg`) it would outweigh the words that do agree.
    """
    weights = [idf.get(k, max_idf) for k in keys]
    if other_has_dose or not any(doses) or all(doses):
        return weights
    words = [w for w, dose in zip(weights, doses) if not dose]
    modest = QUANTITY_ALONE * sum(words) / len(words)
    return [min(w, modest) if dose else w for w, dose in zip(weights, doses)]


# Compared by identity: `None in sides` must not call a field-by-field `__eq__` per side; slots: no `__dict__`
@dataclass(eq=False, slots=True)
class KeySide:
    """One side of a comparison, prepared once: its distinct keys and their weights, whatever the other side.

    A query meets some sixty designations and a designation many queries, so each side's keys,
    dose flags and weights are worked out once (`key_side`) rather than for every pair. `seen`
    keeps how well the other sides' keys are met by this side's, for a query's side.
    """

    keys: tuple[str, ...]
    weights: list[float]  # when the other side has a dose too
    weights_alone: list[float]  # when it has none (see `_weights`)
    total: float
    total_alone: float
    has_dose: bool
    seen: dict[str, float]
    # For a query's side: the close words of each key among the candidates' keys (`near_words`).
    near: dict[str, dict[str, float]] | None = None
    key_set: frozenset = frozenset()  # the keys as a set, for quick look-ups in `side_overlap`
    # The keys sorted and joined by spaces: `token_sort_ratio` of two names is the plain ratio of these texts
    sorted_text: str = ""


def key_side(keys: tuple[str, ...], idf: dict[str, float], max_idf: float) -> KeySide:
    """The prepared side of a name's keys, against a catalog's IDF."""
    distinct, doses, has_dose = _key_parts(keys)
    full = _weights(distinct, doses, True, idf, max_idf)
    ordered = " ".join(sorted(keys))
    if not has_dose:  # without doses, the weights do not depend on the other side
        total = sum(full)
        return KeySide(distinct, full, full, total, total, has_dose, {}, None, frozenset(distinct), ordered)
    alone = _weights(distinct, doses, False, idf, max_idf)
    return KeySide(distinct, full, alone, sum(full), sum(alone), has_dose, {}, None, frozenset(distinct), ordered)


def near_words(query: KeySide, words: Sequence[str]) -> None:
    """Find, once per query, which of `words` (every key of its candidates) each query key is close to, and how
    well the query's keys meet each word (`seen`: what `_best_word(word, query.keys)` gives).

    `side_overlap` then looks pairs up in these tables instead of calling rapidfuzz for every pair: most keys
    are close to no word at all. One rapidfuzz `cdist` of the query's keys against the words gives both
    tables (the ratio is symmetric; of equal best keys the first is taken, as `extractOne` takes it). Only
    the pairs at or above the cut-off are visited in Python: a query's few keys against some hundred words
    leave a handful.
    """
    near = query.near = {}
    keys = query.keys
    if not keys or not words:
        return
    scores = cdist64(keys, words, scorer=fuzz.ratio, score_cutoff=FUZZY_WORD * 100)
    fuzzy = [len(key) >= FUZZY_MIN_LEN and not key[0].isdigit() for key in keys]
    for i, key in enumerate(keys):
        if fuzzy[i]:
            near[key] = {}
    rows, columns = scores.nonzero()  # row by row, each row's columns in order: the words' order
    # Each word's best key: the first of its highest (a column's entries come in the keys' order), as
    # `argmax` over the column would give; only the few pairs at or above the cut-off are read.
    best: dict[int, tuple[float, int]] = {}
    for i, j, score in zip(rows.tolist(), columns.tolist(), scores[rows, columns].tolist()):
        if fuzzy[i] and words[j] != keys[i]:
            near[keys[i]][words[j]] = score
        found = best.get(j)
        if found is None or score > found[0]:
            best[j] = score, i
    # How well the query meets each word: 0 unless a query key is the word (1) or close to it (its ratio)
    seen, held = query.seen, query.key_set
    seen.update(dict.fromkeys(words, 0.0))
    for word in held.intersection(words):
        seen[word] = 1.0
    for j, (score, i) in best.items():
        word = words[j]
        if word not in held and len(word) >= FUZZY_MIN_LEN and not word[0].isdigit() \
                and not negated_pair(word, keys[i]):
            seen[word] = score / 100


def _best_near(key: str, near: dict[str, float], others: Sequence[str]) -> float:
    """`_best_word(key, others)` from the key's table of close words (see `near_words`)."""
    if key in others:
        return 1.0
    if not near:
        return 0.0
    best, found = 0.0, None
    for other in others:
        score = near.get(other, 0.0)
        if score > best:
            best, found = score, other
    if found is None or negated_pair(key, found):
        return 0.0
    return best / 100


def _near_recall(weighted, held: frozenset, others: Sequence[str], near: dict[str, dict[str, float]]) -> float:
    """The weighted sum of how well each (key, weight) of `weighted` is met by a doc's keys (`held`, `others`):
    in full when the doc holds it, by its best close word (`near`, from `near_words`) when it holds one."""
    recall = 0.0
    for k, w in weighted:
        if k in held:
            recall += w
        else:
            close = near.get(k)
            if close and not close.keys().isdisjoint(held):
                recall += w * _best_near(k, close, others)
    return recall


def side_overlap(query: KeySide, doc: KeySide) -> float:
    """`word_overlap` of two prepared sides; how well the doc's keys are met is remembered on the query side."""
    if not query.keys or not doc.keys:
        return 0.0
    qw, q_total = (query.weights, query.total) if doc.has_dose else (query.weights_alone, query.total_alone)
    dw, d_total = (doc.weights, doc.total) if query.has_dose else (doc.weights_alone, doc.total_alone)
    near = query.near
    if near is None:
        recall = sum(w * _best_word(k, doc.keys) for k, w in zip(query.keys, qw)) / q_total
    else:
        # The sum of `w * _best_near(...)`, without the calls for the keys the doc holds (1.0) or holds no
        # close word of (0.0): the same float sum, as adding 0.0 changes nothing.
        recall = _near_recall(zip(query.keys, qw), doc.key_set, doc.keys, near) / q_total
    seen = query.seen
    try:  # every key of the doc is in `seen` when `near_words` was given it: the sum in C, in the same order
        met = reduce(add, map(mul, dw, map(seen.__getitem__, doc.keys)), 0.0)
    except KeyError:
        keys = query.keys
        met = 0.0
        for k, w in zip(doc.keys, dw):
            found = seen.get(k)
            if found is None:
                found = seen[k] = _best_word(k, keys)
            met += w * found
    precision = met / d_total
    if recall + precision == 0:
        return 0.0
    return 2 * recall * precision / (recall + precision)


def side_overlaps(query: KeySide, docs: Sequence[KeySide]) -> list[float]:
    """`side_overlap(query, doc)` of each of `docs`, in one loop: the same floats, added in the same order.

    A query's candidates are some fifty designations; one loop that reads the query side's keys, weights and
    tables once, instead of a call per pair that reads them again, is a fifth of the reranking's word overlap.
    `near_words` must have been given every key of `docs` (as `rerank` does); without it, pair by pair.
    """
    near = query.near
    keys = query.keys
    if near is None or not keys:
        return [side_overlap(query, doc) for doc in docs]
    # Only keys with a close word need the look-up (`_best_near`): most queries have none.
    close_of = {k: close for k, close in near.items() if close}
    seen = query.seen
    seen_of, seen_words = seen.__getitem__, seen.keys()
    # The words the query meets at all (its own keys, close words): a doc's precision sums their weights only
    met_words = frozenset(word for word, score in seen.items() if score)
    pairs = (list(zip(keys, query.weights)), query.total), (list(zip(keys, query.weights_alone)), query.total_alone)
    query_dose = query.has_dose
    out = []
    for doc in docs:
        others = doc.keys
        if not others:
            out.append(0.0)
            continue
        qw, q_total = pairs[0] if doc.has_dose else pairs[1]
        dw, d_total = (doc.weights, doc.total) if query_dose else (doc.weights_alone, doc.total_alone)
        held = doc.key_set
        if close_of:
            recall = _near_recall(qw, held, others, close_of)
        else:
            recall = 0.0
            for k, w in qw:
                if k in held:
                    recall += w
        if not recall:  # the harmonic mean with nothing met is 0.0, whatever the precision
            out.append(0.0)
            continue
        recall /= q_total
        if not seen_words >= held:  # a key `near_words` was not given: as `side_overlap` does
            out.append(side_overlap(query, doc))
            continue
        hits = held & met_words
        if len(hits) == 1:  # most docs: `side_overlap`'s sum of one product and zeros is that product
            (word,) = hits
            met = dw[others.index(word)] * seen_of(word)
        elif not hits:
            met = 0.0
        else:
            met = reduce(add, map(mul, dw, map(seen_of, others)), 0.0)
        precision = met / d_total
        out.append(0.0 if recall + precision == 0 else 2 * recall * precision / (recall + precision))
    return out


def word_overlap(query_keys: list[str], doc_keys: list[str], idf: dict[str, float], max_idf: float) -> float:
    """IDF-weighted soft overlap of two key lists, 0-1 (harmonic mean of both directions).

    Doses on one side only count little (`_weights`); doses on both sides count in full.
    """
    return side_overlap(key_side(tuple(query_keys), idf, max_idf), key_side(tuple(doc_keys), idf, max_idf))

