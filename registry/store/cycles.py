"""Parents named before they exist, and parent cycles in a staged draft (`A → B → A`), in little memory.

Only a parent named before it exists can close a cycle, so the store asks for
the cycle check only when a draft has such forward references.
"""

from __future__ import annotations

import json
from array import array

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from registry.errors import Position

ORDINAL = "i"  # array type of entry ordinals: 4 bytes, two billion entries


class ForwardParents:
    """The parents a draft names before their entry is staged, kept until the whole draft has been seen.

    A file in reverse order (every child before its parent) holds one per row. A tuple and a
    Position for each would cost about 200 bytes a row (200 MB for a million rows); kept here are
    the child's ordinal, the index of the place its row came from (file, sheet and column names,
    of which a file has one or a few) and, while the parent is still missing, its code, one string
    per distinct parent. The row number itself is the child's, which the store keeps anyway.
    Children stay listed after their parent turns up: a cycle is reported at one of them.
    """

    def __init__(self):
        self.children = array(ORDINAL)
        self._parents: list[str | None] = []  # None once the parent has been staged
        self._sites = array("i")
        self._places: list[Position] = []
        self._place_of: dict[tuple, int] = {}
        self._names: dict[str, str] = {}  # one string per distinct missing parent
        self._open = array(ORDINAL)  # the k whose parent was missing at the last look
        self._open_after_look = 0

    def add(self, child: int, parent: str, pos: Position) -> None:
        """Remember that entry `child` (an ordinal) names `parent`, not staged yet, at `pos`."""
        key = (pos.file, pos.sheet, id(pos.columns))
        place = self._place_of.get(key)
        if place is None:
            place = self._place_of[key] = len(self._places)
            self._places.append(pos)  # holds pos.columns, so its id stays unique while the key is kept
        self._open.append(len(self.children))
        self.children.append(child)
        self._parents.append(self._names.setdefault(parent, parent))
        self._sites.append(place)

    def forget_found(self, seen) -> None:
        """Drop the codes of parents now in `seen`; cheap to call often (it looks again once the open list doubled)."""
        if len(self._open) < 2 * self._open_after_look + 1000:
            return
        still = array(ORDINAL)
        for k in self._open:
            parent = self._parents[k]
            if parent in seen:
                self._parents[k] = None
                self._names.pop(parent, None)
            else:
                still.append(k)
        self._open, self._open_after_look = still, len(still)

    def missing(self, seen):
        """(k, child, parent) of every reference whose parent is not in `seen`, in file order."""
        for k in self._open:
            parent = self._parents[k]
            if parent is not None and parent not in seen:
                yield k, self.children[k], parent

    def __len__(self) -> int:
        return len(self.children)

    def position(self, k: int, row) -> Position:
        """Where the k-th forward reference was made, at `row` (its child's row)."""
        place = self._places[self._sites[k]]
        return Position(place.file, place.sheet, row, place.columns)


def staged_parent_graph(conn: Connection, staged: sa.Table, ordinal: dict[str, int]):
    """The parent links of a staged draft as entry ordinals: (first parent per entry, further parents).

    Ordinals (file order) in an array keep the graph of a million entries at a
    few MB, where dicts of codes would cost hundreds.
    """
    first = array(ORDINAL, [-1]) * len(ordinal)
    more: dict[int, list[int]] = {}
    rows = conn.execute(sa.select(staged.c.code, staged.c.parents).where(staged.c.parents != "[]")
                        .execution_options(yield_per=10000))
    for code, parents in rows:
        i = ordinal[code]
        links = [ordinal[p] for p in json.loads(parents)]
        first[i] = links[0]
        if len(links) > 1:
            more[i] = links[1:]
    return first, more


def parent_cycles(first, more: dict[int, list[int]], limit: int = 1000) -> list[list[int]]:
    """Cycles in a parent graph of entry ordinals (file order), each as the ordinals of its entries.

    `first[i]` is entry i's first parent (-1 for none), `more[i]` its further
    parents. Each cycle starts at its member that comes first in the file and
    follows parent links, so the message reads in the order a reviewer finds the
    rows. Walks iteratively: a hierarchy may be far deeper than Python's recursion limit.
    """
    state = bytearray(len(first))  # 1 = on the current path, 2 = done
    cycles: list[list[int]] = []

    def parent(i: int, k: int) -> int:
        """Entry i's k-th parent, -1 past the last (looked up again rather than kept: paths can be 1M long)."""
        if k == 0:
            return first[i]
        extra = more.get(i)
        return extra[k - 1] if extra is not None and k <= len(extra) else -1

    for root in range(len(first)):
        if state[root] or first[root] < 0:
            continue
        state[root] = 1
        path, nexts = array(ORDINAL, [root]), array(ORDINAL, [0])  # a path can be a million entries deep
        while path:
            k = nexts[-1]
            p = parent(path[-1], k)
            if p < 0:
                state[path.pop()] = 2
                nexts.pop()
                continue
            nexts[-1] = k + 1
            if state[p] == 1 and len(cycles) < limit:
                cycle = path[path.index(p):].tolist()
                head = cycle.index(min(cycle))
                cycles.append(cycle[head:] + cycle[:head])
            elif state[p] == 0:
                state[p] = 1
                path.append(p)
                nexts.append(0)
    return sorted(cycles)


def cycle_text(codes: list[str]) -> str:
    """`A → B → C → A`, shortened in the middle for a long cycle so one error stays one readable line."""
    shown = codes + [codes[0]]
    if len(shown) > 12:
        shown = shown[:5] + [f"… ({len(shown) - 10:,} more) …"] + shown[-5:]
    return " → ".join(shown)
