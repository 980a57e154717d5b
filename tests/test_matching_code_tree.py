"""Parents by code (`registry/matching/code_tree.py`): subdivisions, not blocks or chapters (no database)."""

from __future__ import annotations


def test_parents_by_code_are_subdivisions_not_blocks_or_chapters():
    from registry.matching.code_tree import parent_rows

    def parents(entries):
        return {entries[row]["code"]: entries[p]["code"] for row, p in parent_rows(entries).items()}
    # The catalog's own hierarchy: only a parent whose code the entry's code extends.
    tree = [{"code": "I", "parents": []}, {"code": "A00-A09", "parents": ["I"]},
            {"code": "A00", "parents": ["A00-A09"]}, {"code": "A00.1", "parents": ["A00"]},
            {"code": "IX", "parents": []}, {"code": "I10-I15", "parents": ["IX"]}, {"code": "I10", "parents": ["I10-I15"]}]
    assert parents(tree) == {"A00.1": "A00"}
    # A flat list: by code, with ranges and Roman chapter numbers never taken for a prefix.
    flat = [{"code": c} for c in ["I", "II", "A00-A09", "A00", "A00.1", "I10", "X", "X54", "Y84", "Y84.4"]]
    assert parents(flat) == {"A00.1": "A00", "Y84.4": "Y84"}
    # ATC's single-letter groups are groups, not chapters.
    atc = [{"code": c} for c in ["V", "V03", "V03AB", "N02BE", "N02BE01"]]
    assert parents(atc) == {"V03": "V", "V03AB": "V03", "N02BE01": "N02BE"}


def test_a_flat_code_extends_another_only_at_a_boundary_not_inside_a_number():
    from registry.matching.code_tree import parent_rows

    def parents(entries):
        return {entries[row]["code"]: entries[p]["code"] for row, p in parent_rows(entries).items()}
    # D10-D18 are D1's siblings, not its subdivisions; D1.1 and D10.5 subdivide at the dot.
    flat = [{"code": c} for c in ["D", "D1", "D2", "D10", "D18", "D1.1", "D10.5", "12", "120", "12 1"]]
    assert parents(flat) == {"D1": "D", "D2": "D", "D10": "D", "D18": "D", "D1.1": "D1", "D10.5": "D10",
                             "12 1": "12"}
    # ATC: a letter after a digit, a digit after a letter, a letter after a letter.
    atc = [{"code": c} for c in ["N", "N02", "N02B", "N02BE", "N02BE01"]]
    assert parents(atc) == {"N02": "N", "N02B": "N02", "N02BE": "N02B", "N02BE01": "N02BE"}
    # A parent the catalog states is taken even inside a number (ICD-10-CM's S72.0 → S72.00).
    tree = [{"code": "S72", "parents": []}, {"code": "S72.0", "parents": ["S72"]},
            {"code": "S72.00", "parents": ["S72.0"]}]
    assert parents(tree) == {"S72.0": "S72", "S72.00": "S72.0"}
