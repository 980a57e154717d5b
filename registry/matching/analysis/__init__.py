"""Text analysis for matching: `analyse()` turns a name into comparable tokens, in named passes.

Passes, in order (design §4), one module each:

1. `fold`: Unicode NFKC, casefold, combining marks stripped, `ё` → `е`, apostrophes in words made one;
   Roman numerals in digits; look-alike letters of the other script put right.
2. `quantities.expand_abbreviations`: abbreviations expanded (`БДУ` → `без дополнительных уточнений`).
3. `quantities`: numbers joined with their unit into one token in a base unit (`500 мг`, `0,5 г` → `500mg`).
4. `words`: lemmas (Russian through pymorphy3, dictionary words only; English and German through a stemmer).
5. `words.word_keys`: each lemma's cross-script key (the glossary's English word, or a transliteration,
   then `translit.spelling_key()`); `anti-` is a key of its own.
6. `phrases`: synonym phrases rewritten to one reading, qualifiers (`other`, `unspecified`, ...) taken out.

The data files are loaded in one place (`tables`); lemmas and keys are what the index stores and what
the reranker compares.
"""

from registry.matching.analysis.fold import APOSTROPHE, NUMBER, basic_fold, fold_code, fold_look_alikes, \
    latin_letter_designations
from registry.matching.analysis.phrases import QUALIFIER_CLASSES, STOP_WORDS, PhraseRules, only_stop_words, \
    phrase_rules, stop_keys
from registry.matching.analysis.pipeline import Analysis, analyse
from registry.matching.analysis.quantities import expand_abbreviations, format_number, quantity_number, \
    to_base_unit
from registry.matching.analysis.tables import DATA_PACKAGE, HAND_WRITTEN, Rules, abbreviation_languages, \
    data_dir, hand_written_tables, read_pairs, read_table, rules, use_hand_written_tables
from registry.matching.analysis.words import latin_lemma, load_morphology, roman_to_arabic, russian_lemma, \
    word_keys

__all__ = ["APOSTROPHE", "NUMBER", "basic_fold", "fold_code", "fold_look_alikes", "latin_letter_designations",
           "QUALIFIER_CLASSES", "STOP_WORDS", "PhraseRules", "only_stop_words", "phrase_rules", "stop_keys",
           "Analysis", "analyse", "expand_abbreviations", "format_number", "quantity_number", "to_base_unit",
           "DATA_PACKAGE", "HAND_WRITTEN", "Rules", "abbreviation_languages", "data_dir", "hand_written_tables",
           "read_pairs", "read_table", "rules", "use_hand_written_tables", "latin_lemma", "load_morphology", "roman_to_arabic",
           "russian_lemma", "word_keys"]
