"""Reranking: score whoosh's candidates 0-100 with rapidfuzz and agreement on codes, numbers and attributes.

The base score compares the normalised query with one designation of a
candidate entry in two ways and blends them:

* weighted word overlap: each query key finds its best key in the
  designation (equal, or a rapidfuzz ratio of at least 80 for words of five
  letters or more: misspellings, inflections, transliterations), weighted by
  how rare the key is in the catalog (IDF); the overlap is the harmonic mean of
  the query side and the designation side;
* rapidfuzz `token_sort_ratio` and `token_set_ratio` of the key strings.

Then agreement adjusts it: the same code (+10), equal quantities (+2) or
different ones (-15), each attribute with the same value (+3) or another (-8).
The entry's score is the best score among its designations; the reason says
which designation matched and how.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence
from functools import lru_cache
from itertools import chain

import numpy
from rapidfuzz import fuzz, process

from registry.matching.analysis import Analysis, basic_fold, fold_code
from registry.matching.weights import (DIFFERENT_ATTRIBUTE, DIFFERENT_QUANTITIES, FUZZY_MIN_LEN, FUZZY_WORD,
                                       INEXACT_MAX, LIFT_MIN, QUALIFIER_DIFFERENT, QUALIFIER_SAME, QUANTITY_ALONE,
                                       SAME_ATTRIBUTE, SAME_CODE, SAME_QUANTITIES, TOKEN_SET, TOKEN_SORT,
                                       WORD_OVERLAP)


@dataclass
class Scored:
    """One candidate entry with its score and the reason (and the qualifiers of the name that matched)."""

    row: int
    score: float
    reason: str
    qualifiers: frozenset = frozenset()
    # Base plus bonus before the 0-100 clamp: a name that scores 100 and also agrees on the local
    # code ranks above one that scores 100 without it.
    unclamped: float = 0.0
    # Words the reason when it is first asked for (`reason_of`): most candidates scored never rank.
    wording: "Callable[[], str] | None" = field(default=None, repr=False, compare=False)


def reason_of(scored: Scored) -> str:
    """The candidate's reason, worded now if it was left for later (`rerank(..., word=False)`)."""
    if not scored.reason and scored.wording is not None:
        scored.reason = scored.wording()
    return scored.reason


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


@dataclass
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


def key_side(keys: tuple[str, ...], idf: dict[str, float], max_idf: float) -> KeySide:
    """The prepared side of a name's keys, against a catalog's IDF."""
    distinct, doses, has_dose = _key_parts(keys)
    full = _weights(distinct, doses, True, idf, max_idf)
    if not has_dose:  # without doses, the weights do not depend on the other side
        total = sum(full)
        return KeySide(distinct, full, full, total, total, has_dose, {}, None, frozenset(distinct))
    alone = _weights(distinct, doses, False, idf, max_idf)
    return KeySide(distinct, full, alone, sum(full), sum(alone), has_dose, {}, None, frozenset(distinct))


def near_words(query: KeySide, words: Sequence[str]) -> None:
    """Find, once per query, which of `words` (every key of its candidates) each query key is close to.

    `side_overlap` then looks a query key up among a designation's keys in this table instead of
    calling rapidfuzz for every pair: most keys are close to no word at all.
    """
    near = query.near = {}
    for key in query.keys:
        if len(key) >= FUZZY_MIN_LEN and not key[0].isdigit():
            found = process.extract(key, words, scorer=fuzz.ratio, score_cutoff=FUZZY_WORD * 100, limit=None)
            near[key] = {word: score for word, score, _ in found if word != key}


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
        held, others = doc.key_set, doc.keys
        recall = 0.0
        for k, w in zip(query.keys, qw):
            if k in held:
                recall += w
            else:
                close = near.get(k)
                if close and not close.keys().isdisjoint(held):
                    recall += w * _best_near(k, close, others)
        recall /= q_total
    seen, keys = query.seen, query.keys
    met = 0.0
    for k, w in zip(doc.keys, dw):
        found = seen.get(k)
        if found is None:
            found = seen[k] = _best_word(k, keys)
        if found:
            met += w * found
    precision = met / d_total
    if recall + precision == 0:
        return 0.0
    return 2 * recall * precision / (recall + precision)


def word_overlap(query_keys: list[str], doc_keys: list[str], idf: dict[str, float], max_idf: float) -> float:
    """IDF-weighted soft overlap of two key lists, 0-1 (harmonic mean of both directions).

    Doses on one side only count little (`_weights`); doses on both sides count in full.
    """
    return side_overlap(key_side(tuple(query_keys), idf, max_idf), key_side(tuple(doc_keys), idf, max_idf))




RESIDUAL = frozenset({"other", "unspecified"})


def qualifier_agreement(query: frozenset, doc: frozenset) -> float:
    """Adjustment for the qualifiers (other, specified, unspecified, without): + each shared, − each on one side.

    `Other and unspecified X` on one side only counts as one difference, not two: it is the catch-all
    category of X, where a plain `X` from another edition belongs as much as in `Other X` or `X, unspecified`.
    """
    if not query and not doc:  # most names have none
        return 0.0
    different = query ^ doc
    if RESIDUAL <= different and (RESIDUAL <= query or RESIDUAL <= doc):
        different = different - {"unspecified"}
    return QUALIFIER_SAME * len(query & doc) - QUALIFIER_DIFFERENT * len(different)


def similarity(query: Analysis, doc_key_text: str, idf: dict[str, float], max_idf: float,
               doc_qualifiers: frozenset = frozenset(), sides: tuple[KeySide, KeySide] | None = None
               ) -> tuple[float, str]:
    """Base score 0-100 of a query against one designation's key text (and qualifiers), and how it matched.

    `sides` are the query's and the designation's prepared keys (`key_side`), when the caller keeps them.
    """
    if sides is None:
        sides = key_side(tuple(query.keys), idf, max_idf), key_side(tuple(doc_key_text.split()), idf, max_idf)
    score, parts = _base_score(query, doc_key_text, doc_qualifiers, sides)
    return score, _how(parts, query.qualifiers, doc_qualifiers)


def _base_score(query: Analysis, doc_key_text: str, doc_qualifiers: frozenset, sides: tuple[KeySide, KeySide],
                ratios: tuple[float, float] | None = None) -> tuple[float, tuple]:
    """`similarity`'s score with the parts of its reason, which `_how` words only for the names that rank.

    `ratios` are the two rapidfuzz ratios of the pair when the caller has them already (`_ratios`).
    """
    same_qualifiers = query.qualifiers == doc_qualifiers
    if same_qualifiers:
        if query.key_text == doc_key_text:
            return 100.0, ("same",)
        # the same bag of words (`sides` hold distinct keys: a word count tells most bags apart first)
        if len(query.keys) == doc_key_text.count(" ") + 1 and query.sorted_keys == sorted(doc_key_text.split()):
            return 100.0, ("bag",)
    overlap = side_overlap(*sides)
    if ratios is None:
        ratios = fuzz.token_sort_ratio(query.key_text, doc_key_text), fuzz.token_set_ratio(query.key_text, doc_key_text)
    sort, tset = ratios
    score = (WORD_OVERLAP * overlap + TOKEN_SORT * sort + TOKEN_SET * tset
             + qualifier_agreement(query.qualifiers, doc_qualifiers))
    return min(score, INEXACT_MAX), (overlap, max(sort, tset), same_qualifiers)


def _how(parts: tuple, query_qualifiers: frozenset, doc_qualifiers: frozenset) -> str:
    """The words of a reason from `_base_score`'s parts."""
    if parts[0] == "same":
        return "same words after normalisation"
    if parts[0] == "bag":
        return "same words after normalisation, in another order"
    overlap, fuzzy, same_qualifiers = parts
    how = f"words {overlap * 100:.0f}%, fuzzy {fuzzy:.0f}"
    if not same_qualifiers:
        how += (f", qualifiers {'/'.join(sorted(query_qualifiers)) or 'none'} vs "
                f"{'/'.join(sorted(doc_qualifiers)) or 'none'}")
    return how


def _norm_value(value) -> str:
    return basic_fold(str(value)).strip()


def _folded_attribute(name, value) -> tuple:
    """(name, value, folded value, folded values): a value the registry joined from several (`O | P | R`,
    see the importers' list cells) agrees with each of them."""
    folded = _norm_value(value)
    parts = frozenset(p.strip() for p in folded.split("|")) if "|" in folded else frozenset()
    return name, value, folded, parts


@lru_cache(maxsize=4096)
def _folded_attributes(items: tuple) -> dict:
    """{folded name: (name, value, folded value, folded values)} of an entry's attributes, folded once for every
    query."""
    return {_norm_value(k): _folded_attribute(k, v) for k, v in items}


def agreement(term_code: str | None, term_attributes: dict, query: Analysis, code: str, attributes: dict,
              quantities: list[str]) -> tuple[float, list[str]]:
    """Score adjustment for agreeing or differing codes, quantities and attributes, with reason parts.

    `term_code` is expected folded by `fold_code` (Cyrillic look-alikes in Latin), the keys and values of
    `term_attributes` by `_norm_value`.
    """
    bonus, notes = 0.0, []
    if term_code and term_code == fold_code(code):
        bonus += SAME_CODE
        notes.append("same code")
    if query.quantities and quantities:
        if query.quantities == set(quantities):
            bonus += SAME_QUANTITIES
            notes.append("same " + " ".join(sorted(query.quantities)))
        else:
            bonus -= DIFFERENT_QUANTITIES
            notes.append(f"different amounts ({' '.join(sorted(query.quantities))} vs {' '.join(quantities)})")
    if term_attributes and attributes:
        try:
            theirs = _folded_attributes(tuple(attributes.items()))
        except TypeError:  # a value that is a list or a dict: not cacheable, fold it here
            theirs = {_norm_value(k): _folded_attribute(k, v) for k, v in attributes.items()}
        for key, value in term_attributes.items():
            if key not in theirs:
                continue
            name, other, folded, parts = theirs[key]
            if value == folded or value in parts:
                bonus += SAME_ATTRIBUTE
                notes.append(f"same {name}")
            else:
                bonus -= DIFFERENT_ATTRIBUTE
                notes.append(f"different {name} ({value} vs {other})")
    return bonus, notes


def _best_reading(readings: list[Analysis], sides: list[KeySide], doc: KeySide, key_text: str,
                  qualifiers: frozenset, doc_id: int, memos: list[dict]) -> tuple[float, tuple, Analysis]:
    """The reading of a name that scores best against one designation (of equal scores, the greater reason)."""
    scored = [(*_kept_base_score(q, key_text, qualifiers, (side, doc), doc_id, memo), q)
              for q, side, memo in zip(readings, sides, memos)]
    top = max(s[0] for s in scored)
    tied = [s for s in scored if s[0] == top]
    if len(tied) == 1:
        return tied[0]
    return max(tied, key=lambda s: _how(s[1], s[2].qualifiers, qualifiers))


BASE_SCORE_READINGS = 2048  # readings whose base scores an index keeps (emptied when full)


def _ratios(key_text: str, doc_key_texts: list[str]) -> list[tuple[float, float]]:
    """`token_sort_ratio` and `token_set_ratio` of a query against each of many names, in two calls into
    rapidfuzz (`cdist`) instead of two per name: the same values, as floats."""
    if not doc_key_texts:
        return []
    sort = process.cdist([key_text], doc_key_texts, scorer=fuzz.token_sort_ratio, dtype=numpy.float64)[0].tolist()
    tset = process.cdist([key_text], doc_key_texts, scorer=fuzz.token_set_ratio, dtype=numpy.float64)[0].tolist()
    return list(zip(sort, tset))


def _base_score_memos(index, readings: list[Analysis]) -> list[dict]:
    """For each reading, the index's memo of its base scores by designation number.

    A base score depends only on the reading's keys and qualifiers and on the designation (`near_words`
    finds a key's close words among the candidates' keys, and a designation's own keys are always among
    them): a local group's name, scored as a query, is scored against the same designations again as
    its members' context (`context.group_docs`).
    """
    kept = index.base_scores
    if len(kept) >= BASE_SCORE_READINGS:
        kept.clear()
    return [kept.setdefault((tuple(q.keys), q.qualifiers), {}) for q in readings]


def _kept_base_score(query: Analysis, key_text: str, qualifiers: frozenset, sides: tuple[KeySide, KeySide],
                     doc_id: int, memo: dict) -> tuple[float, tuple]:
    """`_base_score`, looked up in or added to the reading's memo."""
    found = memo.get(doc_id)
    if found is None:
        found = memo[doc_id] = _base_score(query, key_text, qualifiers, sides)
    return found


def rerank(index, query: Analysis | list[Analysis], doc_ids: list[int], term_code: str | None = None,
           term_attributes: dict | None = None, limit: int = 5, word: bool = True) -> list[Scored]:
    """The best `limit` entries among the candidate designations, by final score (ties: code order).

    `query` may be several readings of one name (with and without its bracketed asides): each
    designation is scored with the reading that fits it best. With `word=False` the reasons are worded
    only when `reason_of` asks for them (a pool that is reordered and cut further, `context.py`).
    """
    readings = query if isinstance(query, list) else [query]
    query = readings[0]
    best: dict[int, Scored] = {}
    how_matched: dict[int, tuple] = {}  # row -> what `_how` and the reason need, for its best name
    code = fold_code(term_code) if term_code else None
    wanted = {_norm_value(k): _norm_value(v) for k, v in (term_attributes or {}).items() if v not in (None, "")}
    sides = [key_side(tuple(q.keys), index.idf, index.max_idf) for q in readings]
    memos = _base_score_memos(index, readings)
    # Close words are looked for only among the keys of the designations not yet scored (see `_base_score_memos`)
    pending = [d for d in doc_ids if d not in memos[0]]
    for memo in memos[1:]:
        pending.extend(d for d in doc_ids if d not in memo)
    key_sides = index.key_side
    words = list(dict.fromkeys(chain.from_iterable(key_sides(doc_id).keys for doc_id in pending)))
    for side in sides:
        near_words(side, words)
    single, memo, side = len(readings) == 1, memos[0], sides[0]
    docs = index.docs
    ratios = dict(zip(pending, _ratios(query.key_text, [docs[d][4] for d in pending]))) if single else {}
    for doc_id in doc_ids:
        row, use, text, _lemmas, key_text, quantities, qualifiers = docs[doc_id]
        doc = key_sides(doc_id)
        if single:  # `_kept_base_score`, written out: this loop runs for every candidate of every query
            found = memo.get(doc_id)
            if found is None:
                found = memo[doc_id] = _base_score(query, key_text, qualifiers, (side, doc), ratios.get(doc_id))
            base, parts = found
            reading = query
        else:
            base, parts, reading = _best_reading(readings, sides, doc, key_text, qualifiers, doc_id, memos)
        if code or wanted or (quantities and query.quantities):
            bonus, notes = agreement(code, wanted, query, index.codes[row], index.attributes[row], quantities)
        else:
            bonus, notes = 0.0, ()
        unclamped = base + bonus
        score = round(max(0.0, min(100.0, unclamped)), 1)
        current = best.get(row)
        if current is None or (score, unclamped) > (current.score, current.unclamped):
            best[row] = Scored(row, score, "", qualifiers, unclamped)
            how_matched[row] = (use, text, parts, reading.qualifiers, notes)

    def worded(scored: Scored) -> Scored:
        """The reason of a row's best name, worded only for the rows that rank (or are lifted)."""
        if not scored.reason:
            use, text, parts, reading_qualifiers, notes = how_matched[scored.row]
            how = _how(parts, reading_qualifiers, scored.qualifiers)
            scored.reason = f"{use} \"{text}\": {how}" + "".join(f"; {n}" for n in notes)
        return scored

    if not query.qualifiers:
        _lift_subdivided_categories(index, best, worded)
    ranked = sorted(best.values(), key=lambda s: (-s.score, -s.unclamped, index.codes[s.row]))[:limit]
    if word:
        return [worded(s) for s in ranked]
    for s in ranked:
        if not s.reason:
            s.wording = lambda s=s: worded(s).reason
    return ranked


SUBDIVISIONS = frozenset({"other", "specified", "unspecified"})


def _lift_subdivided_categories(index, best: dict[int, Scored], worded: Callable[[Scored], Scored]) -> None:
    """Lift a category above its `Other X` and `X, unspecified` subdivisions when the query just says `X`.

    A name without a qualifier that meets two or more subdivisions of one category in every word
    but their qualifiers names the category being subdivided, even where that category's own name
    adds a word (`Венозные осложнения и геморрой …` above `Другие венозные осложнения …` and
    `Венозное осложнение … неуточненное`). With one such subdivision only, the name is as likely
    that subdivision written without its qualifier, so nothing is lifted. Only a parent that is
    itself a candidate is lifted, to one point above its best such child.
    """
    children: dict[int, list[Scored]] = {}
    for row, child in best.items():
        parent = index.parents[row]
        if parent >= 0 and child.qualifiers and child.qualifiers <= SUBDIVISIONS and child.score >= LIFT_MIN:
            children.setdefault(parent, []).append(child)
    for parent_row, subdivisions in children.items():
        parent = best.get(parent_row)
        top = max(subdivisions, key=lambda c: c.score)
        if parent is None or len(subdivisions) < 2 or parent.score > top.score:
            continue
        lifted = min(INEXACT_MAX, round(top.score + 1, 1))
        best[parent_row] = Scored(parent_row, lifted,
                                  f"{worded(parent).reason}; lifted above its subdivisions "
                                  f"{', '.join(sorted(index.codes[c.row] for c in subdivisions))}, as the name "
                                  f"has no qualifier", parent.qualifiers, lifted)
