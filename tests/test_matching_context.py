"""The hierarchy context (`registry/matching/context.py`): the local group picks among namesakes under
other parents (no database).
"""

from __future__ import annotations

from matching_fixtures import ATC_NYSTATIN, small_index


def test_the_local_group_picks_among_namesakes_under_other_parents(tmp_path):
    from registry.matching import Term, match_term
    with small_index(tmp_path, ATC_NYSTATIN, "en") as index:
        alone = match_term(index, Term("Нистатин"), 3)
        assert [c["code"] for c in alone] == ["A07AA02", "D01AA01", "G01AA01"]  # a tie, in code order
        assert {c["score"] for c in alone} == {100.0}
        # the parent names the group; all three parents are `Antibiotics`, so the grandparent decides
        found = match_term(index, Term("Нистатин", None, {"parent": ["Антибиотики", "Противогрибковые препараты "
                                                                      "для лечения заболеваний кожи"]}), 3)
        assert found[0]["code"] == "D01AA01"
        assert "in a group like the local one (\"Antibiotics\"" in found[0]["reason"]
        # one parent name (a CSV column) still ranks the candidates under a parent so named first
        only_parent = match_term(index, Term("Нистатин", None, {"parent": "Антибиотики"}), 3)
        assert [c["code"] for c in only_parent] == ["A07AA02", "D01AA01", "G01AA01"]
        assert all("+8.0" in c["reason"] for c in only_parent)
        # a parent named otherwise adds nothing, and the context is not compared as an attribute
        other = match_term(index, Term("Нистатин", None, {"parent": "Витамины"}), 3)
        assert [c["reason"] for c in other] == [c["reason"] for c in alone]


def test_a_rows_group_bonus_is_kept_per_parent_and_equal_to_a_fresh_one(tmp_path):
    # apply_context keeps a row's bonus under its parent's row (siblings have the same ancestors, so the same
    # bonus): what it kept must be what `_context_bonus` gives each row worked out afresh.
    from registry.matching.context import _context_bonus, apply_context
    from registry.matching.rerank import rerank
    contexts = [["Антибиотики"], ["Антибиотики", "Противогрибковые препараты"], ["antibiotics", "antidiarrheals"],
                ["Antifungals for dermatological use"]]
    with small_index(tmp_path, ATC_NYSTATIN + [{"code": "D01AA02", "display": "natamycin"}], "en") as index:
        for name in ("nystatin", "antibiotics", "natamycin"):
            ranked = rerank(index, index.analysed(name), list(range(len(index.docs))), limit=50, word=False)
            for context in contexts:
                apply_context(index, ranked, context, 5)
                kept = index.context_bonuses[tuple(context)]
                assert any(bonus for bonus, _named in kept.values())
                for s in ranked:
                    assert kept[index.parents[s.row]] == _context_bonus(index, s.row, context), (name, context)
