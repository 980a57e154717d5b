"""Passes 4 and 5, words (`registry/matching/analysis/words.py`): lemmas, Roman numerals, cross-script keys
(no database).
"""

from __future__ import annotations

import pytest

from registry.matching.analysis import analyse


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


def test_roman_numerals_joined_by_hyphens_become_digits_too():
    assert analyse("Faktor-II-Mangel", "de").keys == analyse("Faktor II Mangel", "de").keys == \
        analyse("Faktor 2 Mangel", "de").keys


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


def test_learned_adjectives_are_read_as_their_english_form_and_stemmed_so():
    # Porter takes -ative off whole: the Russian -ивный adjective must come out as the English word does
    assert analyse("седативные", "en").keys == analyse("sedatives", "en").keys == ["sed"]
    assert analyse("щитовидной железы", "en").keys == analyse("thyroid", "en").keys
