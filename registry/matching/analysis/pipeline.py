"""`analyse()`: the passes run in order over one name (see the package docstring)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from registry.matching.analysis.fold import (_LETTER_DIGIT, _POSSESSIVE, _SPLIT_NEGATION, _WORD, basic_fold,
                                             fold_look_alikes, latin_letter_designations)
from registry.matching.analysis.phrases import phrase_rules
from registry.matching.analysis.quantities import _quantity, expand_abbreviations
from registry.matching.analysis.tables import rules
from registry.matching.analysis.words import latin_lemma, roman_to_arabic, russian_lemma, word_keys
from registry.matching.translit import has_cyrillic

_DIGIT = re.compile(r"\d")

@dataclass
class Analysis:
    """A normalised name: lemmas (same language), keys (cross-script), quantities (`500mg`) and qualifiers.

    Qualifiers (`other`, `specified`, `unspecified`, `without`) are taken out of the keys: they tell a parent from its
    children (`Other X`, `X, unspecified`) and are compared on their own by the reranker.
    """

    text: str
    lemmas: list[str]
    keys: list[str]
    quantities: frozenset[str]
    qualifiers: frozenset[str] = frozenset()

    @property
    def lemma_text(self) -> str:
        """The lemmas joined by spaces, for string similarity."""
        return " ".join(self.lemmas)

    @cached_property
    def key_text(self) -> str:
        """The keys joined by spaces, for cross-script string similarity (kept: a query meets many names)."""
        return " ".join(self.keys)

    @cached_property
    def sorted_keys(self) -> list[str]:
        """The keys in sorted order, to tell the same words in another order (kept, as `key_text`)."""
        return sorted(self.keys)


def fold_pass(text: str) -> str:
    """Pass 1: Roman numerals in digits, letter designations and look-alikes put right, folded, no possessive."""
    folded = fold_look_alikes(basic_fold(latin_letter_designations(roman_to_arabic(text or ""))))
    return _POSSESSIVE.sub("", folded) if "\u02bcs" in folded else folded


def abbreviation_pass(folded: str) -> str:
    """Pass 2: abbreviations expanded, and a negating prefix written apart joined to its word."""
    expanded = expand_abbreviations(folded)
    return _SPLIT_NEGATION.sub(r"\1", expanded) if "non" in expanded or "не" in expanded else expanded


def quantity_pass(folded: str) -> tuple[str, list[str]]:
    """Pass 3: every dose made one token in a base unit, kept aside; the text holds a placeholder for each."""
    quantities: list[str] = []

    def keep(match: re.Match) -> str:
        token = _quantity(match)
        quantities.append(token.strip())
        return f" \x00{len(quantities) - 1} "

    if not _DIGIT.search(folded):  # every quantity starts with a digit
        return folded, quantities
    return rules().quantity_re.sub(keep, folded), quantities


def word_pass(folded: str, quantities: list[str], language: str) -> tuple[list[str], list[str]]:
    """Passes 4 and 5: the lemma of each word, and its cross-script keys (a dose is its own lemma and key)."""
    lemmas: list[str] = []
    keys: list[str] = []
    for chunk in folded.split():
        if chunk.startswith("\x00"):
            token = quantities[int(chunk[1:])]
            lemmas.append(token)
            keys.append(token)
            continue
        # A chunk of letters only is one word (most are): the pattern of words would find it whole
        for word in ((chunk,) if chunk.isalpha() else _WORD.findall(_LETTER_DIGIT.sub(" ", chunk))):
            if word.isdigit() or word == "%":
                lemma = word
                keys.append(word)
            elif has_cyrillic(word):
                lemma = russian_lemma(word)
                keys.extend(word_keys(lemma, language))
            else:
                lemma = latin_lemma(word, language)
                keys.extend(word_keys(lemma, language))
            lemmas.append(lemma)
    return lemmas, keys


def analyse(text: str, language: str = "en", phrases: bool = True) -> Analysis:
    """Normalise a name into lemmas, keys, quantity tokens and qualifiers: the passes, in order.

    `language` picks the stemmer for Latin words (en, de; others are only folded);
    Cyrillic words are always lemmatised as Russian. `phrases=False` leaves out the
    synonym and qualifier rewriting (pass 6; used to analyse those phrases themselves).
    """
    folded, quantities = quantity_pass(abbreviation_pass(fold_pass(text)))
    lemmas, keys = word_pass(folded, quantities, language)
    qualifiers: frozenset[str] = frozenset()
    if phrases:
        keys, qualifiers = phrase_rules(language).apply(keys)
    return Analysis(text, lemmas, keys, frozenset(quantities), qualifiers)
