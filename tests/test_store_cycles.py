"""Parent-cycle search (registry/store/cycles.py) on graphs of entry ordinals."""

from __future__ import annotations

from array import array

from registry.store.cycles import cycle_text, parent_cycles


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
