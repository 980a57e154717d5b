"""Transliteration and the spelling key (`registry/matching/translit.py`), no database."""

from __future__ import annotations

import pytest

from registry.matching.analysis import analyse
from registry.matching.translit import spelling_key, transliterate


@pytest.mark.parametrize("russian, english", [
    ("Парацетамол", "paracetamol"), ("Клотримазол", "clotrimazole"), ("Цетиризин", "cetirizine"),
    ("Хлоргексидин", "chlorhexidine"), ("Глюкоза", "glucose"), ("Дифенгидрамин", "diphenhydramine"),
    ("Колекальциферол", "colecalciferol"), ("Ксилометазолин", "xylometazoline"),
])
def test_drug_names_meet_across_scripts(russian, english):
    assert analyse(russian, "en").keys == analyse(english, "en").keys


def test_transliteration_follows_latin_drug_spelling():
    assert transliterate("парацетамол") == "paracetamol"
    assert transliterate("хлоргексидин") == "chlorgexidin"
    assert spelling_key("anaemia") == spelling_key("anemia") == "anem"


def test_the_spelling_key_is_its_rules_applied_as_regular_expressions():
    # `spelling_key` applies a rule of plain letters with `str.replace`, the others with `re.sub`: the key must
    # be that of every rule applied with `re.sub` in order, where one rule's output makes or hides the next
    # one's match too (`chh`, `rhh`, `sch`, `tsh`, doubled letters) and for words of other letters (kept).
    import itertools
    import re
    from registry.matching.translit import KEY_RULES
    rules = [(re.compile(p), r) for p, r in KEY_RULES]

    def by_regex(word):
        if not re.fullmatch(r"[a-z]+", word):
            return word
        for pattern, repl in rules:
            word = pattern.sub(repl, word)
        return re.sub(r"(?<=[a-z]{3})[aeiou]+$", "", word)
    words = ["chh", "rhh", "rhrh", "schh", "tsh", "ckh", "quu", "xx", "phth", "hh", "zhh", "aeae", "ouou", "cey",
             "klotrimazole", "paracetamol", "chlorhexidine", "rhesus", "x", "", "500mg", "кс", "naïve"]
    words += ["".join(p) for n in (2, 3) for p in itertools.product("chksqtzx", repeat=n)]
    assert sum(by_regex(w) != w for w in words) > 100  # the rules change most of these words
    for word in words:
        assert spelling_key(word) == by_regex(word), word
