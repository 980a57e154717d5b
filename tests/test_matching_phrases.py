"""Pass 6, phrases (`registry/matching/analysis/phrases.py`): synonyms read one way, qualifiers taken out,
names of function words only (no database).
"""

from __future__ import annotations

import pytest

from registry.matching.analysis import analyse, expand_abbreviations

from matching_fixtures import small_index


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


@pytest.mark.parametrize("us, who", [
    ("Pre-existing type 2 diabetes mellitus", "Pre-existing diabetes mellitus, non-insulin-dependent"),
    ("Gestational diabetes mellitus", "Diabetes mellitus arising in pregnancy"),
    ("Embolism following termination of pregnancy", "Embolism following medical abortion"),
    ("Postprocedural shock", "Shock resulting from a procedure"),
])
def test_us_and_who_names_of_pregnancy_and_procedure_conditions_meet(us, who):
    assert sorted(analyse(us, "en").keys) == sorted(analyse(who, "en").keys)


def test_the_head_noun_of_a_drug_group_is_one_word_whichever_is_used():
    agents = analyse("LIPID MODIFYING AGENTS", "en").keys
    assert analyse("lipid modifying drugs", "en").keys == analyse("Lipid modifying preparations", "en").keys == agents
    assert analyse("Гиполипидемические препараты", "en").keys == analyse("гиполипидемические лекарства", "en").keys \
        == agents


def test_non_specified_stays_the_qualifier_unspecified():
    from registry.matching.normalise import analyse
    for text in ("Pneumonia, non specified", "Pneumonia, non-specified", "Pneumonia, unspecified"):
        assert analyse(text, "en").qualifiers == {"unspecified"}
    assert analyse("non-specific colitis", "en").keys == analyse("nonspecific colitis", "en").keys


@pytest.mark.parametrize("name", ["of the", "The", "and", "и", "в", "und der", "с и без", "of, the (and)"])
def test_a_name_of_stop_words_only_gets_no_candidates(tmp_path, name):
    from registry.matching import Term, match_term
    icd = [{"code": "B01", "display": "Disease of the liver"},
           {"code": "A01", "display": "Typhoid and paratyphoid fevers"},
           {"code": "K70", "display": "Болезнь печени в стадии и с осложнениями"},
           {"code": "G01", "display": "Krankheit der Leber und der Niere"}]
    with small_index(tmp_path, icd, "en") as index:
        # Such a name says nothing: a token set ratio of 100 against every name holding `of the` is no match.
        assert match_term(index, Term(name)) == []
        assert match_term(index, Term("disease of the liver"))[0]["code"] == "B01"


def test_us_substance_and_organic_wording_finds_the_who_category(tmp_path):
    from registry.matching import Term, match_term
    icd = [{"code": "F10", "display": "Mental and behavioural disorders due to use of alcohol"},
           {"code": "F12", "display": "Mental and behavioural disorders due to use of cannabinoids"},
           {"code": "U07.0", "display": "Vaping-related disorder"},
           {"code": "K70", "display": "Alcoholic liver disease"},
           {"code": "F10.2", "display": "Mental and behavioural disorders due to use of alcohol : dependence syndrome"},
           {"code": "F60.7", "display": "Dependent personality disorder"},
           {"code": "K70.1", "display": "Alcoholic hepatitis"},
           {"code": "F51", "display": "Nonorganic sleep disorders"},
           {"code": "G47", "display": "Sleep disorders"}]
    with small_index(tmp_path, icd, "en") as index:
        assert match_term(index, Term("Sleep disorders not due to a substance or known physiological condition"),
                          1)[0]["code"] == "F51"
        assert match_term(index, Term("Sleep disorders"), 1)[0]["code"] == "G47"
        assert match_term(index, Term("Alcohol dependence"), 1)[0]["code"] == "F10.2"


def test_phrase_rules_skip_words_that_start_no_phrase_and_still_find_later_phrases():
    from registry.matching.normalise import phrase_rules
    rules = phrase_rules("en")
    assert rules.starts and max(rules.starts.values()) == rules.longest
    keys = ["seps", "not", "due", "to", "a", "substank", "or", "knovn", "fisiologikal", "kondit"]
    out, qualifiers = rules.apply(keys)
    assert out == ["seps", "nonorgan"] and qualifiers == frozenset()
