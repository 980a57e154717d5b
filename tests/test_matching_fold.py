"""Pass 1, folding (`registry/matching/analysis/fold.py`): Unicode, case, marks, apostrophes, look-alike letters;
and the passes' shortcuts against their patterns (no database).
"""

from __future__ import annotations

import pytest

from registry.matching.analysis import analyse, basic_fold


def test_fold_is_nfkc_casefold_and_yo():
    assert basic_fold("Ёлка ＡＢＣ") == "елка abc"


def test_cyrillic_look_alikes_in_codes_and_latin_words_are_latin():
    from registry.matching.normalise import fold_code
    # С (Cyrillic) typed for C in an ICD code, а (Cyrillic) inside a Latin word, В12 for B12
    assert analyse("Рак С50.1", "ru").keys[-2:] == analyse("Рак C50.1", "ru").keys[-2:] == ["k", "50.1"]
    assert analyse("P\u0430racetamol", "en").keys == ["parasetamol"]
    assert analyse("Витамин В12", "ru").keys[-2:] == analyse("Vitamin B12", "en").keys[-2:] == ["b", "12"]
    # a Russian word with a Latin look-alike stays Russian, and units glued to numbers stay units
    assert analyse("Пaрацетамол", "ru").keys == analyse("Парацетамол", "ru").keys
    assert analyse("500мг", "ru").quantities == {"500mg"}
    assert fold_code("С50.1") == fold_code("c50.1") == "c50.1"
    assert fold_code("А01АВ") == "a01ab"


def test_fold_strips_combining_marks_of_latin_letters_only():
    assert basic_fold("İstanbul") == "istanbul"  # casefold gives i + combining dot above
    assert basic_fold("Café") == basic_fold("Cafe\u0301") == "cafe"
    assert basic_fold("Sjögren") == "sjogren"
    assert basic_fold("Йод") == "йод" and basic_fold("Ёж") == "еж" and basic_fold("Ўзбек") == "ўзбек"


@pytest.mark.parametrize("spelling", ["o‘zbek", "o'zbek", "oʻzbek", "o’zbek", "o`zbek", "oʼzbek"])
def test_uzbek_apostrophes_are_one_apostrophe_inside_a_word(spelling):
    assert basic_fold(spelling) == "oʼzbek"
    assert analyse(spelling, "uz").lemmas == ["oʼzbek"]
    assert analyse(f"g‘alla {spelling}", "uz").keys == analyse("gʻalla oʼzbek", "uz").keys
    assert len(analyse(f"g‘alla {spelling}", "uz").keys) == 2


def test_an_english_possessive_is_not_a_word_of_its_own():
    assert analyse("Crohn's disease", "en").keys == analyse("Crohn’s disease", "en").keys == \
        analyse("Crohn disease", "en").keys


@pytest.mark.parametrize("cyrillic, latin", [
    ("Пневмония, вызванная стрептококком группы В", "Пневмония, вызванная стрептококком группы B"),
    ("Острый гепатит С", "Острый гепатит C"),
    ("Хронический гепатит С неуточненный", "Хронический гепатит C неуточненный"),
    ("С-реактивный белок", "C-реактивный белок"),
    ("Менингококковая вакцина А, С, Y, W-135", "Менингококковая вакцина A, C, Y, W-135"),
    ("В-клеточная лимфома", "B-клеточная лимфома"),
    ("Зрелые Т/NK-клеточные лимфомы", "Зрелые T/NK-клеточные лимфомы"),
])
def test_a_capital_cyrillic_letter_naming_a_group_or_type_is_latin(cyrillic, latin):
    assert analyse(cyrillic, "ru").keys == analyse(latin, "ru").keys


@pytest.mark.parametrize("text, lower", [
    ("Травма Глаза С Повреждением", "травма глаза с повреждением"),  # title case: a preposition
    ("Блокаторы Н-холинорецепторов", "блокаторы н-холинорецепторов"),  # Н is the letter N here
    ("РАСТВОР ДЛЯ В/В ВВЕДЕНИЯ", "раствор для в/в введения"),  # the route abbreviation stays one
    ("В/м инъекция", "в/м инъекция"),
])
def test_capital_letters_that_are_not_latin_designations_read_as_in_lower_case(text, lower):
    assert analyse(text, "ru").keys == analyse(lower, "ru").keys


def test_the_preposition_v_stays_a_preposition():
    # lower case inside a name, or capital at the start of a sentence: `в`, not the letter B
    assert analyse("Соприкосновение с ножом. В доме", "ru").keys == \
        analyse("соприкосновение с ножом в доме", "ru").keys
    assert "b" not in analyse("В доме, квартире", "ru").keys
    # in a name written in capitals every word is capital: `В` and `С` are prepositions there
    assert analyse("ОТРАВЛЕНИЕ В ДОМЕ", "ru").keys == analyse("отравление в доме", "ru").keys
    assert analyse("ГРИПП С ПНЕВМОНИЕЙ", "ru").keys == analyse("грипп с пневмонией", "ru").keys


def test_folding_russian_text_without_the_letter_walk_gives_what_the_walk_gives():
    # basic_fold skips `_strip_marks` (a walk over every letter) for text of ASCII and Cyrillic letters, whose
    # marks the walk keeps anyway: the same text for every letter up to U+0500 alone or after a Latin or a
    # Cyrillic one, and for mixed strings with marks (Cyrillic combining marks U+0483-U+0489 among them).
    import random
    import unicodedata
    from registry.matching.analysis.fold import _APOSTROPHES, APOSTROPHE, _strip_marks

    def walked(text):
        text = unicodedata.normalize("NFKC", text).casefold()
        if not text.isascii():
            text = _strip_marks(text)
        return _APOSTROPHES.sub(APOSTROPHE, text).replace("ё", "е")

    texts = [chr(c) for c in range(1, 0x500)]
    texts += ["a" + t for t in texts] + ["и" + t for t in texts] + [t + "\u0306" for t in texts]
    pool = list("abcéиййёЁЙыx1 ,'’")
    pool += ["\u0301", "\u0306", "\u0308", "\u0483", "\u0487", "\u0488", "\u0489", "е\u0308"]
    rng = random.Random(11)
    texts += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(20_000)]
    for text in texts:
        assert basic_fold(text) == walked(text), ascii(text)


def test_the_shortcuts_of_letter_designations_and_words_give_what_the_patterns_give():
    # `latin_letter_designations` runs its pattern only when a capital look-alike stands where it can match, and
    # `word_pass` takes a chunk of letters as one word without its patterns: the same text and words as the
    # patterns give, for names with designations (`группы В`, `В-клеточный`, `A/В`), codes, doses and marks.
    import random
    from registry.matching.analysis.fold import _LETTER_DESIGNATION, _LETTER_DIGIT, _LOOK_ALIKES, _WORD
    from registry.matching.analysis.fold import latin_letter_designations
    from registry.matching.analysis.pipeline import quantity_pass

    def designations(text):
        return _LETTER_DESIGNATION.sub(lambda m: _LOOK_ALIKES[(m.group(1) or m.group(2)).lower()].upper(), text)

    texts = ["Витамины группы В", "В-клеточный лейкоз", "В/A", "А", "Антибиотики", "ВИЧ-инфекция", "тип А, В",
             "гепатит В (острый)", "Х-сцепленный", "", "В", "В-", "a В", "В/b", "оʼзбек 5мг", "B12 в12 с50.1"]
    pool = list("АВЕКМОСТХабвх aby-/,.;:)]5ʼ") + ["\u0301", "²", "½", "ё", "й"]
    rng = random.Random(5)
    texts += ["".join(rng.choice(pool) for _ in range(rng.randint(0, 14))) for _ in range(30_000)]
    for text in texts:
        assert latin_letter_designations(text) == designations(text), ascii(text)
        folded, quantities = quantity_pass(text.lower())
        for chunk in folded.split():
            if not chunk.startswith("\x00"):
                whole = (chunk,) if chunk.isalpha() else None
                assert whole is None or list(whole) == _WORD.findall(_LETTER_DIGIT.sub(" ", chunk)), ascii(chunk)


def test_the_patterns_run_only_on_text_that_holds_what_they_need_and_give_the_same():
    # Roman numerals, the possessive, split negations and quantities are looked for only in a text holding a
    # Roman digit, `ʼs`, `non`/`не` or a digit: each pass must give what its pattern gives on every text.
    import random
    from registry.matching.analysis.fold import (_POSSESSIVE, _SPLIT_NEGATION, fold_look_alikes,
                                                 latin_letter_designations)
    from registry.matching.analysis.pipeline import _quantity, abbreviation_pass, fold_pass, quantity_pass
    from registry.matching.analysis.quantities import expand_abbreviations
    from registry.matching.analysis.tables import rules
    from registry.matching.analysis.words import _ROMAN, _ROMAN_VALUES, roman_to_arabic

    def quantities(folded):
        found = []

        def keep(match):
            found.append(_quantity(match).strip())
            return f" \x00{len(found) - 1} "
        return rules().quantity_re.sub(keep, folded), found

    pool = ["non", "не", "non-", "не ", "-", " ", "ʼs", "'s", "I", "V", "X", "II", "5", "0.9", "мг", "mg", "%", "a",
            "б", "specified", "ʼ", "²", ",", "в/в", "тип "]
    rng = random.Random(9)
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 9))) for _ in range(30_000)]
    texts += ["Type II diabetes", "non specified", "не уточненный", "Paracetamol 500 mg", "Crohnʼs disease", ""]
    for text in texts:
        assert roman_to_arabic(text) == _ROMAN.sub(lambda m: _ROMAN_VALUES[m.group(1)], text), ascii(text)
        assert fold_pass(text) == _POSSESSIVE.sub("", fold_look_alikes(basic_fold(latin_letter_designations(
            _ROMAN.sub(lambda m: _ROMAN_VALUES[m.group(1)], text))))), ascii(text)
        folded = basic_fold(text)
        assert abbreviation_pass(folded) == _SPLIT_NEGATION.sub(r"\1", expand_abbreviations(folded)), ascii(text)
        assert quantity_pass(folded) == quantities(folded), ascii(text)
