"""Passes 2 and 3 (`registry/matching/analysis/quantities.py`): abbreviations expanded, doses in a base unit
(no database).
"""

from __future__ import annotations

import pytest

from registry.matching.analysis import analyse, expand_abbreviations


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


def test_micro_sign_reads_as_mcg():
    assert analyse("Cyanocobalamin 5 \u00b5g", "en").quantities == analyse("Cyanocobalamin 5 mcg", "en").quantities
