"""Parent cycles in a staged draft (`A → B → A`), found without recursion and in little memory.

Only a parent named before it exists can close a cycle, so the store asks for
this check only when a draft has such forward references.
"""

from __future__ import annotations

import json
from array import array

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def staged_parent_graph(conn: Connection, staged: sa.Table, version_id: int, ordinal: dict[str, int]):
    """The parent links of a staged draft as entry ordinals: (first parent per entry, further parents).

    Ordinals (file order) in an array keep the graph of a million entries at a
    few MB, where dicts of codes would cost hundreds.
    """
    first = array("q", [-1]) * len(ordinal)
    more: dict[int, list[int]] = {}
    rows = conn.execute(sa.select(staged.c.code, staged.c.parents).where(staged.c.version_id == version_id,
                                                                        staged.c.parents != "[]")
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
        path, nexts = [root], [0]
        while path:
            k = nexts[-1]
            p = parent(path[-1], k)
            if p < 0:
                state[path.pop()] = 2
                nexts.pop()
                continue
            nexts[-1] = k + 1
            if state[p] == 1 and len(cycles) < limit:
                cycle = path[path.index(p):]
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
