"""Normalisation for matching: abbreviations, units, morphology and transliteration (no database)."""

from __future__ import annotations

import pytest

from registry.matching.normalise import analyse, expand_abbreviations, basic_fold
from registry.matching.translit import spelling_key, transliterate


def test_fold_is_nfkc_casefold_and_yo():
    assert basic_fold("Ёлка ＡＢＣ") == "елка abc"


@pytest.mark.parametrize("text, expanded", [
    ("холера бду", "холера без дополнительных уточнений"),
    ("холера неуточн.", "холера неуточненный"),
    ("табл. п/о 10 мг", "таблетки покрытые оболочкой 10 мг"),
    ("р-р д/инф. в/в", "раствор для инфузий внутривенно"),
    ("cholera nos", "cholera not otherwise specified"),
    ("anaemia, unsp.", "anaemia, unspecified"),
    ("tab. 5 mg", "tablet 5 mg"),
])
def test_abbreviations_expand_as_whole_words(text, expanded):
    assert expand_abbreviations(text) == expanded


def test_abbreviations_leave_longer_words_alone():
    # `табл.` must not fire inside `таблетки`, nor `nos` inside `nose`
    assert expand_abbreviations("таблетки nose") == "таблетки nose"


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


def test_units_are_kept_and_unified():
    ru = analyse("Парацетамол табл. 500 мг", "ru")
    en = analyse("Paracetamol tablets 500mg", "en")
    assert ru.quantities == en.quantities == {"500mg"}
    assert ru.keys == en.keys == ["parasetamol", "tablet", "500mg"]
    assert analyse("Paracetamol 250 mg", "en").quantities == {"250mg"}
    assert analyse("раствор 0,9 % 500 мл", "ru").quantities == {"0.9%", "500ml"}


def test_numbers_without_units_stay_words():
    a = analyse("Vitamin B12 deficiency", "en")
    assert a.keys == analyse("vitamin B 12 deficiency", "en").keys
    assert "12" in a.keys and a.quantities == frozenset()


def test_russian_words_are_lemmatised_and_glossary_translates():
    a = analyse("Грипп, вызванный идентифицированным вирусом гриппа", "ru")
    assert a.lemmas == ["грипп", "вызвать", "идентифицировать", "вирус", "грипп"]
    assert analyse("Натрия хлорид", "en").keys == analyse("Sodium chloride", "en").keys


def test_english_spelling_variants_meet():
    assert analyse("Complications of labour", "en").keys == analyse("complications of labor", "en").keys
    assert analyse("Other anaemias", "en").keys == analyse("other anemia", "en").keys
    # -our before an ending too: the WHO's `behavioural` is the US `behavioral`
    assert analyse("Behavioural disorders", "en").keys == analyse("behavioral disorders", "en").keys
    assert analyse("Favourable outcome", "en").keys == analyse("favorable outcome", "en").keys


def test_roman_numerals_become_digits_but_a_lone_x_stays():
    assert analyse("Type I diabetes mellitus", "en").keys == analyse("type 1 diabetes mellitus", "en").keys
    assert analyse("Фолликулярная лимфома III степени", "ru").keys == \
        analyse("фолликулярная лимфома 3 степени", "ru").keys
    assert "10" not in analyse("Fragile X syndrome", "en").keys


def test_qualifiers_are_kept_apart_from_the_words():
    other = analyse("Другие уточненные бактериальные пищевые отравления, не классифицированные в других рубриках", "ru")
    assert other.qualifiers == {"other", "specified"}
    plain = analyse("Бактериальное пищевое отравление неуточненное", "ru")
    assert plain.qualifiers == {"unspecified"}
    assert other.keys == plain.keys  # "not elsewhere classified" counts for nothing
    assert analyse("Polyneuropathy NOS", "en").qualifiers == {"unspecified"}


def test_in_diseases_classified_elsewhere_is_a_qualifier_of_its_own():
    # the manifestation (asterisk) category is not the plain condition, nor the condition "not elsewhere classified"
    asterisk = analyse("Ulceration of vulva in diseases classified elsewhere", "en")
    assert asterisk.qualifiers == {"elsewhere"}
    assert analyse("Ulceration of vulva, not elsewhere classified", "en").qualifiers == frozenset()
    assert analyse("Anaemia, not classified elsewhere", "en").keys == analyse("Anaemia", "en").keys
    assert analyse("Anaemia, not classified elsewhere", "en").qualifiers == frozenset()
    assert analyse("Варикозное расширение вен пищевода при болезнях, классифицированных в других рубриках",
                   "ru").qualifiers == {"elsewhere"}


def test_synonyms_give_one_reading():
    assert analyse("Инсулиннезависимый сахарный диабет", "ru").keys == analyse("Сахарный диабет 2 типа", "ru").keys
    assert analyse("chronic kidney disease", "en").keys == analyse("chronic renal disease", "en").keys
    assert analyse("острая почечная недостаточность", "ru").keys[1] == \
        analyse("острая болезнь почки", "ru").keys[-1] == "renal"


def test_a_synonym_replacement_gets_the_keys_of_the_index_language():
    # The replacement is analysed in the language of the names it is compared with: in a Russian index
    # `септицемия` must become exactly what `сепсис` becomes there, in an English one what `sepsis` becomes.
    assert analyse("Другая уточненная септицемия", "ru").keys == analyse("Другой уточненный сепсис", "ru").keys
    assert analyse("Streptococcal septicaemia", "en").keys == analyse("Streptococcal sepsis", "en").keys


def test_without_is_a_qualifier():
    without = analyse("Thoracic aortic aneurysm, without mention of rupture", "en")
    assert without.qualifiers == {"without"}
    assert without.keys == analyse("Thoracic aortic aneurysm, rupture", "en").keys
    assert analyse("Грыжа без непроходимости", "ru").qualifiers == {"without"}
    assert analyse("Thoracic aortic aneurysm, ruptured", "en").qualifiers == frozenset()


def test_and_unspecified_is_one_qualifier_with_its_conjunction():
    both = analyse("Other and unspecified abnormalities of breathing", "en")
    assert both.qualifiers == {"other", "unspecified"}
    assert both.keys == analyse("Other abnormalities of breathing", "en").keys  # the "and" goes with it
    assert analyse("Другие и неуточненные типы неходжкинской лимфомы", "ru").keys == \
        analyse("Другие типы неходжкинской лимфомы", "ru").keys
    assert analyse("Osteoarthritis of hip", "en").keys == analyse("Arthrosis of hip", "en").keys


def test_split_negations_read_as_unspecified_not_specified():
    assert analyse("Бронхит, не уточненный как острый или хронический", "ru").qualifiers == {"unspecified"}
    assert analyse("Бронхит, не уточненный как острый или хронический", "ru").keys == \
        analyse("Бронхит, неуточненный как острый или хронический", "ru").keys
    assert analyse("Другая пневмония, возбудитель не уточнен", "ru").qualifiers == {"other", "unspecified"}
    assert analyse("Холера без уточнения", "ru").qualifiers == {"unspecified"}
    assert analyse("Non-specific urethritis", "en").qualifiers == frozenset()
    assert analyse("Non-specific urethritis", "en").keys == analyse("Nonspecific urethritis", "en").keys


def test_a_synonym_replacement_is_read_with_the_other_phrases():
    # `monocular` → `one eye`, and `eye` is itself read as `ophthalmological`: both spellings must meet.
    assert sorted(analyse("Monocular blindness", "en").keys) == sorted(analyse("Blindness, one eye", "en").keys)


def test_roman_numerals_joined_by_hyphens_become_digits_too():
    assert analyse("Faktor-II-Mangel", "de").keys == analyse("Faktor II Mangel", "de").keys == \
        analyse("Faktor 2 Mangel", "de").keys


@pytest.mark.parametrize("text, quantity", [
    ("Парацетамол 1 000 мг", "1000"), ("paracetamol 1,000 mg", "1000"), ("2 500 мг", "2500"),
    ("1 000 000 мг", "1000000"), ("12,500 mg", "12500"), ("1 000,5 мг", "1000.5"), ("1,000.5 mg", "1000.5"),
    # a decimal comma (Russian), not a thousands separator
    ("0,5 мг", "0.5"), ("1,5 мг", "1.5"), ("1,25 мг", "1.25"), ("0,500 мг", "0.5"), ("1,0000 мг", "1"),
])
def test_thousands_separators_in_doses(text, quantity):
    # A space followed by a group of exactly three digits is a thousands separator; so is a comma after
    # a leading group of 1-3 digits (not starting with 0) followed by exactly three digits.
    assert analyse(text, "ru").quantities == {f"{quantity}mg"}


def test_a_thousands_group_does_not_swallow_a_longer_number():
    assert analyse("1234 567 mg", "en").keys == ["1234", "567mg"]
    assert analyse("1 0000 mg", "en").keys == ["1", "0mg"]  # four digits: not a group, and 0000 is 0


@pytest.mark.parametrize("a, b, token", [
    ("0,5 г", "500 mg", "500mg"), ("1 g", "1000 мг", "1000mg"), ("1000 mcg", "1 mg", "1mg"),
    ("250 мкг", "0.25 mg", "0.25mg"), ("1,5 г", "1500 mg", "1500mg"), ("1 л", "1000 ml", "1000ml"),
    ("0,5 л", "500 мл", "500ml"), ("500 мкг/мл", "0.5 mg/ml", "0.5mg/ml"),
    ("1 кг", "1000 g", "1000000mg"),
])
def test_quantities_are_compared_in_a_base_unit(a, b, token):
    assert analyse(a, "ru").quantities == analyse(b, "en").quantities == {token}


def test_other_units_are_not_converted():
    assert analyse("раствор 0,9 % 500 мл", "ru").quantities == {"0.9%", "500ml"}
    assert analyse("5 ммоль", "ru").quantities == {"5mmol"}


@pytest.mark.parametrize("text, token", [
    ("Гепарин 5000 ЕД", "5000iu"), ("Heparin 5000 IU", "5000iu"), ("Гепарин 5000 МЕ", "5000iu"),
    ("Heparin 5000 ME", "5000iu"), ("Heparin 5000 units", "5000iu"), ("Heparin 5 000 ЕД.", "5000iu"),
    ("Инсулин 100 ЕД/мл", "100iu/ml"), ("Insulin 100 IU/ml", "100iu/ml"), ("Insulin 100 U/ml", "100iu/ml"),
    ("раствор 5 мг/мл", "5mg/ml"), ("solution 2 g/ml", "2000mg/ml"), ("10 мг/кг", "10mg/kg"),
    ("сироп 120 мг/5 мл", "120mg/5ml"), ("syrup 120 mg / 5 ml", "120mg/5ml"),
    ("paracetamol 500 milligrams", "500mg"), ("paracetamol 1 milligram", "1mg"), ("2 grams", "2000mg"),
    ("250 micrograms", "0.25mg"), ("5 millilitres", "5ml"), ("5 milliliters", "5ml"), ("1 litre", "1000ml"),
])
def test_units_of_action_concentrations_and_spelt_out_units(text, token):
    assert analyse(text, "ru").quantities == {token}


def test_per_one_unit_is_per_unit():
    assert analyse("10 mg/1 ml", "en").quantities == analyse("10 мг/мл", "ru").quantities == {"10mg/ml"}


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


def test_us_edition_wording_reads_as_the_who_wording():
    # ICD-10-CM and DSM name organic mental disorders after a physiological condition.
    assert sorted(analyse("Personality change due to known physiological condition", "en").keys) == \
        sorted(analyse("Organic personality change", "en").keys)
    assert sorted(analyse("Hypersomnia not due to a substance or known physiological condition", "en").keys) == \
        sorted(analyse("Nonorganic hypersomnia", "en").keys)
    assert sorted(analyse("Sexual dysfunction, not caused by organic disorder or disease", "en").keys) == \
        sorted(analyse("Nonorganic sexual dysfunction", "en").keys)
    assert "use" not in " ".join(analyse("Drugs for acid related disorders", "en").keys)
    assert analyse("Alcohol abuse", "en").keys == analyse("harmful use of alcohol", "en").keys
    assert analyse("Sedative, hypnotic or anxiolytic-related abuse", "en").keys == \
        analyse("harmful use of sedatives or hypnotics", "en").keys
    # abuse of a person is maltreatment, not the harmful use of a substance
    assert "harm" not in " ".join(analyse("Physical abuse", "en").keys)


def test_older_and_newer_names_of_one_condition_meet():
    assert analyse("Pressure ulcer of elbow", "en").keys == analyse("Decubitus ulcer of elbow", "en").keys
    assert analyse("Bedsore", "en").keys == analyse("Decubitus ulcer", "en").keys
    assert analyse("Пролежень", "ru").keys == analyse("Декубитальная язва", "ru").keys
    assert analyse("Mild intellectual disabilities", "en").keys == analyse("Mild mental retardation", "en").keys


def test_dependence_on_a_substance_class_is_its_dependence_syndrome():
    who = set(analyse("Mental and behavioural disorders due to use of alcohol : dependence syndrome", "en").keys)
    assert set(analyse("Alcohol dependence", "en").keys) <= who
    assert {"depend", "sindrom", "alkogol"} <= set(analyse("Alcohol dependence", "en").keys)
    assert set(analyse("Nicotine dependence", "en").keys) <= \
        set(analyse("Mental and behavioural disorders due to use of tobacco : dependence syndrome", "en").keys)
    # other dependence is left alone
    assert analyse("Dependence on wheelchair", "en").keys == analyse("Dependence on wheelchair", "en", False).keys


def test_clinical_equivalences_of_one_finding():
    assert sorted(analyse("Rheumatoid arthritis with rheumatoid factor", "en").keys) == \
        sorted(analyse("Seropositive rheumatoid arthritis", "en").keys)
    assert sorted(analyse("Rheumatoid arthritis without rheumatoid factor", "en").keys) == \
        sorted(analyse("Seronegative rheumatoid arthritis", "en").keys)
    assert analyse("Rheumatoid arthritis without rheumatoid factor", "en").qualifiers == frozenset()


def test_russian_classification_phrases_and_leukaemia_abbreviations():
    # "classified in other classes" is the "classified elsewhere" tail, and counts for nothing
    assert analyse("Стрептококк группы D как причина болезней, классифицированных в других классах", "ru").keys == \
        analyse("Стрептококк группы D как причина болезней", "ru").keys
    # "of unspecified type" is the qualifier unspecified
    typed = analyse("Неходжкинская лимфома неуточненного типа", "ru")
    assert typed.qualifiers == {"unspecified"}
    assert typed.keys == analyse("Неходжкинская лимфома неуточненная", "ru").keys
    assert analyse("Leukaemia of unspecified type", "en").qualifiers == {"unspecified"}
    assert expand_abbreviations("омл") == "острый миелоидный лейкоз"
    assert analyse("ХЛЛ", "ru").keys == analyse("Хронический лимфоцитарный лейкоз", "ru").keys
    assert analyse("Хроническая почечная недостаточность", "ru").keys == \
        analyse("Хроническая болезнь почек", "ru").keys
    assert analyse("Chronic renal failure", "en").keys == analyse("Chronic kidney disease", "en").keys


def test_part_or_organism_unspecified_is_the_qualifier_unspecified():
    assert analyse("Fracture of neck, part unspecified", "en").keys == analyse("Fracture of neck, unspecified", "en").keys
    assert analyse("Fracture of neck, part unspecified", "en").qualifiers == {"unspecified"}
    assert analyse("Pneumonia, unspecified organism", "en").keys == analyse("Pneumonia", "en").keys
    # a site is a word of its own
    assert analyse("Aneurysm of unspecified site", "en").keys == ["aneurism", "of", "sit"]


def test_infarction_and_cyclist_wording():
    assert analyse("ST elevation myocardial infarction of anterior wall", "en").keys == \
        analyse("Transmural myocardial infarction of anterior wall", "en").keys
    assert analyse("Non-ST elevation myocardial infarction", "en").keys == \
        analyse("Subendocardial myocardial infarction", "en").keys
    assert analyse("NSTEMI", "en").keys == analyse("Subendocardial myocardial infarction", "en").keys
    assert analyse("Influenza, virus not identified", "en").keys == analyse("Influenza, virus unidentified", "en").keys
    assert analyse("Pedal cycle rider injured", "en").keys == analyse("Pedal cyclist injured", "en").keys


def test_russian_adjectives_unknown_to_the_dictionary_are_lemmatised():
    # pymorphy3's dictionary lacks many medical adjectives; their endings are regular
    assert analyse("неходжкинских лимфом", "ru").keys == analyse("неходжкинская лимфома", "ru").keys
    assert analyse("декубитальной язвы", "ru").lemmas == ["декубитальный", "язва"]
    assert analyse("Стриатонигральная дегенерация", "ru").lemmas[0] == "стриатонигральный"
    # unknown nouns (drug names) are left alone, in whatever case
    assert analyse("Левофлоксацина", "ru").lemmas == ["левофлоксацина"]
    assert analyse("Клотримазол", "ru").lemmas == ["клотримазол"]


@pytest.mark.parametrize("word", ["кетоналом", "хлоргексидином", "амоксиклавом", "фенибутом"])
def test_unknown_drug_names_in_the_instrumental_are_not_read_as_adjectives(word):
    # `-ом` is a noun's instrumental as well as an adjective's prepositional: `кетоналом` is no `кетоналый`
    assert analyse(f"лечение {word}", "ru").lemmas[1] == word


def test_every_case_of_an_unknown_participle_has_one_lemma():
    forms = ["интубированный", "интубированного", "интубированному", "интубированным", "интубированной",
             "интубированных"]
    assert {analyse(f, "ru").lemmas[0] for f in forms} == {"интубированный"}


def test_data_files_list_each_phrase_once():
    # a phrase listed twice is read once (the first line wins), so a second, different reading would be lost
    import collections
    import unicodedata
    from importlib import resources
    repeated = {}
    for path in resources.files("registry.matching.data").iterdir():
        if path.name.endswith(".tsv"):
            phrases = [unicodedata.normalize("NFKC", line.split("\t")[0].strip()).casefold()
                       for line in path.read_text(encoding="utf-8").splitlines()
                       if line.strip() and not line.startswith("#")]
            repeated.update({(path.name, p): n for p, n in collections.Counter(phrases).items() if n > 1})
    assert repeated == {}


def test_micro_sign_reads_as_mcg():
    assert analyse("Cyanocobalamin 5 \u00b5g", "en").quantities == analyse("Cyanocobalamin 5 mcg", "en").quantities


@pytest.mark.parametrize("us, who", [
    ("Pre-existing type 2 diabetes mellitus", "Pre-existing diabetes mellitus, non-insulin-dependent"),
    ("Gestational diabetes mellitus", "Diabetes mellitus arising in pregnancy"),
    ("Embolism following termination of pregnancy", "Embolism following medical abortion"),
    ("Postprocedural shock", "Shock resulting from a procedure"),
])
def test_us_and_who_names_of_pregnancy_and_procedure_conditions_meet(us, who):
    assert sorted(analyse(us, "en").keys) == sorted(analyse(who, "en").keys)


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


def test_valproic_acid_meets_its_russian_name():
    assert analyse("Вальпроевая кислота", "en").keys == analyse("Valproic acid", "en").keys


def test_anti_is_a_word_of_its_own_in_either_script():
    assert analyse("Противопаркинсонические препараты", "en").keys[0] == "ant"
    assert analyse("ANTIPSORIATICS", "en").keys == analyse("anti-psoriatics", "en").keys == ["ant", "psoriat"]
    # a glossary word is read through its English word, split the same way
    assert analyse("Противоэпилептические", "en").keys == analyse("ANTIEPILEPTICS", "en").keys
    # too short a rest is no word of its own
    assert analyse("antigen", "en").keys == ["antigen"]
    assert analyse("Антитела", "ru").keys == analyse("Антитело", "ru").keys and len(analyse("Антитела", "ru").keys) == 1



def test_a_bare_russian_group_adjective_reads_as_the_group_it_names():
    # WHO group names are adjectives made nouns (ANTIEPILEPTICS) or adjective + `agents`; the Russian adjective
    # alone meets either: its keys are the English adjective's, and `agents` is a common word of the catalog
    assert analyse("Противоэпилептические", "en").keys == analyse("ANTIEPILEPTICS", "en").keys
    assert analyse("гиполипидемические", "en").keys == analyse("lipid modifying", "en").keys == ["lipid", "modif"]


def test_a_russian_learned_adjective_meets_its_english_stem_across_scripts():
    assert analyse("Прочие антипсихотические препараты", "en").keys[:2] == analyse("Other antipsychotics", "en").keys
    assert analyse("диабетическая", "en").keys == analyse("diabetic", "en").keys
    assert analyse("гематологический", "en").keys == analyse("hematological", "en").keys
    assert analyse("антигипертензивные", "en").keys == analyse("antihypertensives", "en").keys
    # against a Russian catalog the lemma stays whole: the bare stem would join words the lemmas tell apart
    assert analyse("бактериальный", "ru").keys != analyse("бактерия", "ru").keys
    assert analyse("бактериальный", "ru").keys == ["bakterialn"]


def test_the_head_noun_of_a_drug_group_is_one_word_whichever_is_used():
    agents = analyse("LIPID MODIFYING AGENTS", "en").keys
    assert analyse("lipid modifying drugs", "en").keys == analyse("Lipid modifying preparations", "en").keys == agents
    assert analyse("Гиполипидемические препараты", "en").keys == analyse("гиполипидемические лекарства", "en").keys \
        == agents


def test_learned_adjectives_are_read_as_their_english_form_and_stemmed_so():
    # Porter takes -ative off whole: the Russian -ивный adjective must come out as the English word does
    assert analyse("седативные", "en").keys == analyse("sedatives", "en").keys == ["sed"]
    assert analyse("щитовидной железы", "en").keys == analyse("thyroid", "en").keys


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
