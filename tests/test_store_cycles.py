"""Parent-cycle search (registry/store/cycles.py) on graphs of entry ordinals."""

from __future__ import annotations

from array import array

from registry.errors import Position
from registry.store.cycles import ForwardParents, cycle_text, parent_cycles


def graph(parents: list[list[int]]):
    first = array("q", [p[0] if p else -1 for p in parents])
    return first, {i: p[1:] for i, p in enumerate(parents) if len(p) > 1}


def test_cycles_start_at_their_first_entry_in_file_order():
    # 0 → 2 → 1 → 0; 3 → 4 → 3 only through 3's second parent; 5 hangs below a cycle; 6 → 7 is a forward link
    assert parent_cycles(*graph([[2], [0], [1], [0, 4], [3], [0], [7], []])) == [[0, 2, 1], [3, 4]]


def test_a_hierarchy_without_cycles_has_none_however_deep():
    n = 200_000  # deeper than any recursion limit
    assert parent_cycles(*graph([[i + 1] for i in range(n - 1)] + [[]])) == []


def test_limit_caps_the_cycles_reported():
    pairs = [[i + 1] if i % 2 == 0 else [i - 1] for i in range(20)]  # ten cycles of two
    assert len(parent_cycles(*graph(pairs), limit=3)) == 3


def test_cycle_text_shortens_long_cycles():
    assert cycle_text(["A", "B"]) == "A → B → A"
    assert cycle_text([f"C{i}" for i in range(20)]) == ("C0 → C1 → C2 → C3 → C4 → … (11 more) … "
                                                        "→ C16 → C17 → C18 → C19 → C0")


def test_forward_parents_lists_the_still_missing_ones_where_they_were_named():
    forward, seen = ForwardParents(), {}
    columns = {"parents": "PARENT"}
    for i in range(5000):  # every entry names the one after it, except that 2500 names a parent that never comes
        code = f"C{i}"
        seen[code] = i
        forward.add(i, "ZZZ" if i == 2500 else f"C{i + 1}",
                    Position("a.xlsx", "Sheet1" if i < 3000 else "Sheet2", i + 2, columns))
        if i % 1000 == 999:
            forward.forget_found(seen)  # drops the parents found meanwhile, as the store does while staging
    seen["C5000"] = 5000
    assert [(k, child, parent) for k, child, parent in forward.missing(seen)] == [(2500, 2500, "ZZZ")]
    assert forward.position(2500, 2502) == Position("a.xlsx", "Sheet1", 2502, columns)
    # every child stays listed, parent found or not: a cycle is reported at one of them
    assert len(forward) == 5000 and forward.position(4000, 4002) == Position("a.xlsx", "Sheet2", 4002, columns)
