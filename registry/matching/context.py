"""Hierarchy context: a candidate whose parent in the target's hierarchy is named like the local entry's parent
ranks up.

A local list is often grouped (a formulary's `Антибиотики` group holds `Нистатин`), and the same substance
or name sits under several parents of the target (nystatin is A07AA02, D01AA01 and G01AA01 in ATC). The
local parent's name, given as the term attribute `parent`, tells them apart: each candidate gets a bonus
for the share of keys its parent's display has in common with it (a Dice coefficient of the two key sets).
`parent` may also be a list of the local ancestors' names, nearest first (through the Python and REST API):
then the grandparent is compared with the candidate's grandparent too, at half the weight, and so on
(`Антибиотики` is the parent of both A07AA02 and D01AA01 nystatin; the groups above them tell which).
"""

from __future__ import annotations

from registry.matching.rerank import Scored, reason_of, round_score
from registry.matching.weights import CONTEXT_DEPTH, CONTEXT_WEIGHT, GROUP_MATCHES, GROUP_POOL, RETRIEVE

CONTEXT_ATTRIBUTE = "parent"


def context_of(attributes: dict) -> tuple[list[str], dict]:
    """The local ancestors' names (nearest first), and the attributes without them (context, not a value)."""
    if not attributes or CONTEXT_ATTRIBUTE not in attributes:
        return [], attributes
    rest = {k: v for k, v in attributes.items() if k != CONTEXT_ATTRIBUTE}
    value = attributes[CONTEXT_ATTRIBUTE]
    names = value if isinstance(value, (list, tuple)) else [value]
    return [str(n).strip() for n in names if n not in (None, "") and str(n).strip()][:CONTEXT_DEPTH], rest


def similarity(one: frozenset, other: frozenset) -> float:
    """Dice coefficient of two key sets: 1 for the same keys, 0 for none shared."""
    if not one or not other:
        return 0.0
    return 2 * len(one & other) / (len(one) + len(other))


def apply_context(index, ranked: list, context: list[str], limit: int) -> list:
    """`ranked` (Scored, best first) reordered with the ancestors' bonus, cut to `limit`; reasons are worded
    when asked for (`rerank.reason_of`)."""
    bonuses = _context_bonuses(index, context)
    tables = None  # the memos of the ancestors' shares, fetched for the first row not in `bonuses`
    codes, parents = index.codes, index.parents
    order = []  # (score, unclamped, code, position, bonus, named) of each; a Scored is made for the first `limit`
    for i, s in enumerate(ranked):
        parent = parents[s.row]  # the bonus depends on the row's ancestors only: siblings share it
        found = bonuses.get(parent)
        if found is None:
            tables = tables or [_shares(index, name) for name in context]
            found = bonuses[parent] = _context_bonus(index, s.row, context, tables)
        bonus, named = found
        if bonus:
            score = round_score(min(100.0, s.score + bonus))
            order.append((-score, -(s.unclamped + bonus), codes[s.row], i, bonus, named))
        else:
            order.append((-s.score, -s.unclamped, codes[s.row], i, 0.0, None))
    order.sort()
    adjusted = []
    for score, _unclamped, _code, i, bonus, named in order[:limit]:
        s = ranked[i]
        if bonus:
            note = f"; in a group like the local one (\"{named}\", +{bonus:.1f})"
            s = Scored(s.row, -score, "", s.qualifiers, s.unclamped + bonus,
                       lambda _adjusted, s=s, note=note: reason_of(s) + note)
        adjusted.append(s)
    return adjusted


CONTEXT_MEMOS = 4096  # local ancestries whose bonuses an index keeps (emptied when full)


def _context_bonuses(index, context: list[str]) -> dict:
    """The index's memo {parent row: (bonus, name of the ancestor that matched)} for one local ancestry: every
    member of a local group has the same ancestors, and their candidates are often the same target rows or
    siblings (a row's bonus is its parent's: `_context_bonus` starts there)."""
    return _memo(index.context_bonuses, tuple(context))


def _context_bonus(index, row: int, context: list[str], tables: list[dict] | None = None
                   ) -> tuple[float, str | None]:
    """The bonus of target row `row` for the local ancestors `context` (nearest first), and the display of the
    first of its ancestors that shares keys with theirs: the parent's share of keys with the local parent's
    at full weight, the grandparent's with the local grandparent's at half, and so on. `tables` are the
    ancestors' memos of shares (`_shares`), when the caller has them."""
    bonus, weight, named = 0.0, CONTEXT_WEIGHT, None
    parents, displays = index.parents, index.displays
    for name, shares in zip(context, tables or [_shares(index, name) for name in context]):
        row = parents[row]
        if row < 0:
            break
        share = shares.get(row)
        if share is None:
            share = shares[row] = similarity(index.key_set(name), index.display_keys(row))
        if share and named is None:
            named = displays[row]
        bonus += weight * share
        weight /= 2
    return bonus, named


def _shares(index, name: str) -> dict[int, float]:
    """The index's memo {target row: `similarity` of its display to the local group `name`}: the candidates of
    different local ancestries share parents (the target's groups are few), and the ancestries share names."""
    return _memo(index.context_shares, name)


def _memo(kept: dict, key) -> dict:
    """The memo kept under `key`, new if there is none; all of them go once CONTEXT_MEMOS are kept."""
    found = kept.get(key)
    if found is None:
        if len(kept) >= CONTEXT_MEMOS:
            kept.clear()
        found = kept[key] = {}
    return found


def group_docs(index, name: str, rank) -> list[int]:
    """Designation numbers of the children of the entries the local parent's name matches best.

    The members of a local group are looked for among the members of the target groups it most likely
    is, as well as by their own words: a group name in one language and a member name that shares no word
    with its target (`Препараты желатина`, `gelatin agents`) still meet. Kept per index and name, as
    every member of a group asks for it. The name is scored against the first GROUP_POOL designations that a
    query of it would retrieve (half the cost of all of them; the group look-ups are a third of the time of a
    grouped list).
    """
    found = index.groups.get(name)
    if found is None:
        query = index.analysed(name)
        found = []
        if query.keys:
            pool = index.candidates(query.keys, RETRIEVE)[:GROUP_POOL]
            for s in rank(index, [query], pool, None, {}, GROUP_MATCHES, word=False):
                found.extend(index.children_docs(s.row))
        if len(index.groups) > 4096:
            index.groups.clear()
        index.groups[name] = found
    return found
