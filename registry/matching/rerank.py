"""Reranking: score the index's candidates 0-100 with rapidfuzz and agreement on codes, numbers and attributes.

The base score compares the normalised query with one designation of a
candidate entry in two ways and blends them:

* weighted word overlap (`overlap.py`): each query key finds its best key in the
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

from dataclasses import dataclass, field
from typing import Callable
from functools import lru_cache
from itertools import chain
from math import floor

from rapidfuzz import fuzz

from registry.matching.analysis import Analysis, basic_fold, fold_code
from registry.matching.overlap import KeySide, cdist64, key_side, near_words, side_overlap, side_overlaps
from registry.matching.weights import (DIFFERENT_ATTRIBUTE, DIFFERENT_QUANTITIES, INEXACT_MAX, LIFT_MIN,
                                       QUALIFIER_DIFFERENT, QUALIFIER_SAME, SAME_ATTRIBUTE, SAME_CODE,
                                       SAME_QUANTITIES, TOKEN_SET, TOKEN_SORT, WORD_OVERLAP)


@dataclass(slots=True)  # no `__dict__` to make for each of a query's twenty-odd candidates
class Scored:
    """One candidate entry with its score and the reason (and the qualifiers of the name that matched)."""

    row: int
    score: float
    reason: str
    qualifiers: frozenset = frozenset()
    # Base plus bonus before the 0-100 clamp: a name that scores 100 and also agrees on the local
    # code ranks above one that scores 100 without it.
    unclamped: float = 0.0
    # Words the reason of the Scored it is given when first asked for (`reason_of`): most candidates scored never
    # rank. One function serves every candidate of a `rerank` call.
    wording: "Callable[[Scored], str] | None" = field(default=None, repr=False, compare=False)


def round_score(x: float) -> float:
    """`round(x, 1)`, the same float, in a third of the time: the reranking loop rounds every candidate's score.

    Python's `round(x, 1)` writes x out in decimal to round it exactly. Away from a tie, the nearest tenth
    is the nearest integer to `x * 10` (whose own rounding error is far below the 0.0001 kept from a tie),
    and `d / 10.0` is the double nearest to that tenth, which is what `round` returns; near a tie, and for
    zero (whose sign `round` keeps), `round` itself decides. `test_matching_rerank.py` compares the two.
    """
    y = x * 10.0
    d = floor(y)
    f = y - d
    if 0.4999 < f < 0.5001 or not x:
        return round(x, 1)
    return (d + (f > 0.5)) / 10.0


def final_score(unclamped: float) -> float:
    """The score shown for an unclamped one (base plus agreement): clamped to 0-100 and rounded to a tenth.

    It never decreases as the unclamped score grows, so candidates ordered by their unclamped scores are in
    the order of (score, unclamped score): `rerank` ranks by the unclamped score and rounds only the rows
    that rank.
    """
    return round_score(unclamped if 0.0 <= unclamped <= 100.0 else max(0.0, min(100.0, unclamped)))


def reason_of(scored: Scored) -> str:
    """The candidate's reason, worded now if it was left for later (`rerank(..., word=False)`)."""
    if not scored.reason and scored.wording is not None:
        scored.reason = scored.wording(scored)
    return scored.reason


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


_SAME, _BAG = (100.0, ("same",)), (100.0, ("bag",))  # the same words; the same bag in another order


def _base_score(query: Analysis, doc_key_text: str, doc_qualifiers: frozenset,
                sides: tuple[KeySide, KeySide]) -> tuple[float, tuple]:
    """`similarity`'s score with the parts of its reason, which `_how` words only for the names that rank."""
    return _pair_scores(query, [doc_key_text], [doc_qualifiers], [side_overlap(*sides)],
                        [fuzz.token_sort_ratio(query.key_text, doc_key_text)],
                        [fuzz.token_set_ratio(query.key_text, doc_key_text)])[0]


def _pair_scores(reading: Analysis, texts: list[str], qualifiers: list[frozenset], overlaps: list[float],
                 sorts: list[float], tsets: list[float]) -> list[tuple[float, tuple]]:
    """The base score of a query's reading against each of several designations (key texts, qualifiers), given
    their word overlaps and rapidfuzz ratios, with its reason's parts: the one place the blend is made, for one
    pair (`_base_score`) and for a query's candidates (`_score_pending`), in one loop without a call per pair.
    """
    q_qualifiers, q_text, q_count, q_sorted = reading.qualifiers, reading.key_text, len(reading.keys), None
    out = []
    for text, doc_qualifiers, overlap, sort, tset in zip(texts, qualifiers, overlaps, sorts, tsets):
        same_qualifiers = q_qualifiers == doc_qualifiers
        if same_qualifiers:
            if q_text == text:
                out.append(_SAME)
                continue
            # the same bag of words (the reading's keys are distinct: a word count tells most bags apart first)
            if q_count == text.count(" ") + 1:
                if q_sorted is None:
                    q_sorted = reading.sorted_keys
                if q_sorted == sorted(text.split()):
                    out.append(_BAG)
                    continue
        score = WORD_OVERLAP * overlap + TOKEN_SORT * sort + TOKEN_SET * tset
        if not same_qualifiers or doc_qualifiers:  # `qualifier_agreement` is 0.0 for two names without any
            score += qualifier_agreement(q_qualifiers, doc_qualifiers)
        out.append(((score if score < INEXACT_MAX else INEXACT_MAX),
                    (overlap, tset if tset > sort else sort, same_qualifiers)))  # max(sort, tset)
    return out


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
    return _folded_value(str(value))


@lru_cache(maxsize=4096)
def _folded_value(text: str) -> str:
    """A term's or entry's attribute name or value as compared (kept: a list's columns repeat their values)."""
    return basic_fold(text).strip()


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


def _best_reading(readings: list[Analysis], qualifiers: frozenset, doc_id: int, memos: list[dict]
                  ) -> tuple[float, tuple, Analysis]:
    """The reading of a name that scores best against one designation (of equal scores, the greater reason),
    from the readings' memos of base scores (`_score_pending`)."""
    scored = [(*memo[doc_id], q) for q, memo in zip(readings, memos)]
    top = max(s[0] for s in scored)
    tied = [s for s in scored if s[0] == top]
    if len(tied) == 1:
        return tied[0]
    return max(tied, key=lambda s: _how(s[1], s[2].qualifiers, qualifiers))


BASE_SCORE_READINGS = 2048  # readings whose base scores an index keeps (emptied when full)


def _agreement_memo(index, code: str | None, wanted: dict) -> dict:
    """The memo of a row's agreement with a term's code and attributes (as `agreement` gives it without doses).

    Kept in the index for terms without a code, whose attributes recur from term to term (a list's
    `level` or `form` column); a term with a code gets one of its own.
    """
    if code:
        return {}
    kept = index.agreements
    if len(kept) >= BASE_SCORE_READINGS:
        kept.clear()
    return kept.setdefault(tuple(sorted(wanted.items())), {})  # folded names and values: text


def _ratio_columns(key_text: str, doc_key_texts: list[str], sorted_text: str,
                   doc_sorted_texts: list[str]) -> tuple[list[float], list[float]]:
    """`token_sort_ratio` and `token_set_ratio` of a query against each of many names, as two lists, in two
    calls into rapidfuzz (`cdist`) instead of two per name: the same values, as floats.

    `token_sort_ratio` is the plain ratio of the two texts with their words sorted: given those texts
    (`KeySide.sorted_text`, sorted once per name), it is asked as that, and no name's words are sorted again.
    """
    if not doc_key_texts:
        return [], []
    sort = cdist64([sorted_text], doc_sorted_texts, scorer=fuzz.ratio)[0].tolist()
    return sort, cdist64([key_text], doc_key_texts, scorer=fuzz.token_set_ratio)[0].tolist()


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


def _score_pending(index, reading: Analysis, side: KeySide, memo: dict, doc_ids: list[int],
                   doc_sides: list[KeySide] | None = None) -> None:
    """Add the base scores of a reading against designations it has not met yet to its memo (`doc_sides`:
    their prepared keys, when the caller has them).

    The two rapidfuzz ratios of all of them are worked out at once (`_ratio_columns`): the same floats as pair
    by pair (`_base_score` alone).
    """
    if not doc_ids:
        return
    docs = index.docs
    texts = [docs[d][4] for d in doc_ids]
    if doc_sides is None:
        doc_sides = index.key_sides(doc_ids)
    sorts, tsets = _ratio_columns(reading.key_text, texts, side.sorted_text, [s.sorted_text for s in doc_sides])
    overlaps = side_overlaps(side, doc_sides)
    memo.update(zip(doc_ids, _pair_scores(reading, texts, [docs[d][6] for d in doc_ids], overlaps, sorts, tsets)))


def rerank(index, query: Analysis | list[Analysis], doc_ids: list[int], term_code: str | None = None,
           term_attributes: dict | None = None, limit: int = 5, word: bool = True) -> list[Scored]:
    """The best `limit` entries among the candidate designations, by final score (ties: code order).

    `query` may be several readings of one name (with and without its bracketed asides): each
    designation is scored with the reading that fits it best. With `word=False` the reasons are worded
    only when `reason_of` asks for them (a pool that is reordered and cut further, `context.py`).
    """
    readings = query if isinstance(query, list) else [query]
    query = readings[0]
    # row -> (unclamped score, designation, parts of its reason, the reading's qualifiers, agreement notes) of
    # its best name: a Scored is made only for the rows that rank (or that the category lift reads)
    best: dict[int, tuple] = {}
    code = fold_code(term_code) if term_code else None
    wanted = {_norm_value(k): _norm_value(v) for k, v in (term_attributes or {}).items() if v not in (None, "")}
    agreements = _agreement_memo(index, code, wanted)  # row -> its agreement on the code and attributes
    sides = [key_side(tuple(q.keys), index.idf, index.max_idf) for q in readings]
    memos = _base_score_memos(index, readings)
    # Close words are looked for only among the keys of the designations not yet scored (see `_base_score_memos`)
    pending = [[d for d in doc_ids if d not in memo] for memo in memos]
    todo_sides = index.key_sides(list(chain.from_iterable(pending)))
    words = list(dict.fromkeys(chain.from_iterable(side.keys for side in todo_sides)))
    for reading, side, memo, todo in zip(readings, sides, memos, pending):
        near_words(side, words)
        _score_pending(index, reading, side, memo, todo, todo_sides if len(readings) == 1 else None)
    single, memo = len(readings) == 1, memos[0]
    docs, codes, attributes = index.docs, index.codes, index.attributes
    reading_qualifiers, quantities, agreeing = query.qualifiers, query.quantities, bool(code or wanted)
    for doc_id in doc_ids:
        doc = docs[doc_id]
        row = doc[0]
        if single:
            base, parts = memo[doc_id]
        else:
            base, parts, reading = _best_reading(readings, doc[6], doc_id, memos)
            reading_qualifiers = reading.qualifiers
        if quantities and doc[5]:
            bonus, notes = agreement(code, wanted, query, codes[row], attributes[row], doc[5])
        elif agreeing:  # the same for every name of the row: worked out once
            agreed = agreements.get(row)
            if agreed is None:
                agreed = agreements[row] = agreement(code, wanted, query, codes[row], attributes[row], ())
            bonus, notes = agreed
        else:
            bonus, notes = 0.0, ()
        # The rounded score is a monotone function of the unclamped one (`final_score`): ranking by the
        # unclamped score alone gives the order of (score, unclamped), and only the rows that rank are rounded.
        unclamped = base + bonus
        current = best.get(row)
        if current is None or unclamped > current[0]:
            best[row] = (unclamped, doc, parts, reading_qualifiers, notes)

    def worded(scored: Scored) -> Scored:
        """The reason of a row's best name, worded only for the rows that rank (or are lifted)."""
        if not scored.reason:
            _unclamped, doc, parts, qualifiers, notes = best[scored.row]
            how = _how(parts, qualifiers, scored.qualifiers)
            scored.reason = f"{doc[1]} \"{doc[2]}\": {how}" + "".join(f"; {n}" for n in notes)
        return scored

    lifted = {} if query.qualifiers else _lifted(index, best, worded)
    if not lifted:
        ordered = sorted([(-t[0], codes[row], i, row) for i, (row, t) in enumerate(best.items())])
    else:  # a lifted row ranks by its new score (its score and unclamped score are one value)
        ordered = sorted((-t[0], codes[row], i, row) for i, (row, t) in enumerate(best.items()) if row not in lifted)
        ordered = sorted(ordered + [(-s.unclamped, codes[row], i, row) for i, row in enumerate(best)
                                    if (s := lifted.get(row)) is not None])
    ranked = []
    for *_key, row in ordered[:limit]:
        found = lifted.get(row)
        if found is None:
            t = best[row]
            found = Scored(row, final_score(t[0]), "", t[1][6], t[0])
        ranked.append(found)
    if word:
        return [worded(s) for s in ranked]
    def reason(scored: Scored) -> str:
        return worded(scored).reason

    for s in ranked:
        if not s.reason:
            s.wording = reason
    return ranked


def _lifted(index, best: dict[int, tuple], worded: Callable[[Scored], Scored]) -> dict[int, Scored]:
    """The rows `_lift_subdivided_categories` lifts among `rerank`'s best names, with their new Scored.

    Only the subdivisions it can count (a qualifier of the catch-all kind, a parent, a score of at least
    LIFT_MIN) and their parents are made Scored objects and handed to it: what it decides depends on
    nothing else, and most queries have no such subdivision at all.
    """
    parents = index.parents
    subdivisions = [row for row, t in best.items()
                    if t[1][6] and parents[row] >= 0 and t[1][6] <= SUBDIVISIONS and final_score(t[0]) >= LIFT_MIN]
    if len(subdivisions) < 2:  # a category is lifted above two subdivisions or more
        return {}
    read = set(subdivisions) | {parents[row] for row in subdivisions}
    scored = {row: Scored(row, final_score(t[0]), "", t[1][6], t[0]) for row, t in best.items() if row in read}
    before = dict(scored)
    _lift_subdivided_categories(index, scored, worded)
    return {row: s for row, s in scored.items() if s is not before[row]}


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
    parents = index.parents
    for row, child in best.items():
        if child.qualifiers and parents[row] >= 0 and child.qualifiers <= SUBDIVISIONS and child.score >= LIFT_MIN:
            children.setdefault(parents[row], []).append(child)
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
