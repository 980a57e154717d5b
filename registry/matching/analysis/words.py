"""Pass 4 and 5, words: lemmas (pymorphy3 for Russian, a stemmer for English and German), Roman numerals, and
the cross-script key of each lemma (glossary, transliteration, spelling key, `anti-` as a word of its own).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from registry.matching.analysis.fold import _BRITISH_OUR, APOSTROPHE
from registry.matching.analysis.tables import on_reload, rules
from registry.matching.translit import has_cyrillic, spelling_key, transliterate

@lru_cache(maxsize=1)
def _morph():
    import pymorphy3
    if pymorphy3.MorphAnalyzer.DICT_PATH_ENV_VARIABLE not in os.environ:
        try:
            import pymorphy3_dicts_ru
        except ImportError:
            pass
        else:  # the dictionary pymorphy3 would pick, without its scan of every installed package's entry points
            return pymorphy3.MorphAnalyzer(path=pymorphy3_dicts_ru.get_path(), lang="ru")
    return pymorphy3.MorphAnalyzer()


def load_morphology() -> None:
    """Load pymorphy3's Russian dictionary now (about 0.1 s, once per process) rather than on the first
    Cyrillic word: an index being opened is about to be asked, and any query may be Russian."""
    _morph()


@lru_cache(maxsize=8)
def _stemmer(language: str):
    if language.startswith("en"):
        from whoosh.lang.porter import stem
        return stem
    if language.startswith("de"):
        from whoosh.lang import stemmer_for_language
        return stemmer_for_language("de")
    return None


# The endings of a Russian full adjective or participle, in any gender, number and case.
_ADJECTIVE_ENDING = re.compile(r"(?:ый|ий|ой|ая|яя|ое|ее|ые|ие|ого|его|ому|ему|ым|им|ых|их|ую|юю|ыми|ими|ом|ем)$")
# Endings an unknown noun has too (instrumental `кетоналом`, `хлоргексидином`): such a word is read as an
# adjective only if that is pymorphy3's best reading.
_NOUN_LIKE_ENDING = re.compile(r"(?:ом|ем|им|ым)$")
_ADJECTIVE = ("ADJF", "PRTF")


@lru_cache(maxsize=300_000)
def russian_lemma(word: str) -> str:
    """The dictionary form of a Russian word (`вирусом` → `вирус`).

    A word pymorphy3's dictionary does not know stays as it is (drug names are not to be mangled by a
    guess), unless it ends as an adjective does and pymorphy3 can read it as one: the terms of medicine
    are full of adjectives no dictionary lists (`неходжкинских`, `декубитальной`), and their endings
    are regular, so every form is put in the masculine singular nominative (`неходжкинский`), a
    participle's too (`интубированного`, `интубированных` → `интубированный`). An ending that an unknown
    noun's instrumental shares (`кетоналом`) counts only when the adjective is the best reading.
    """
    morph = _morph()
    if not morph.word_is_known(word):
        if len(word) >= 6 and _ADJECTIVE_ENDING.search(word):
            parses = morph.parse(word)
            if _NOUN_LIKE_ENDING.search(word) and parses[0].tag.POS not in _ADJECTIVE:
                return word
            for parse in parses:
                if parse.tag.POS == "ADJF":
                    return parse.normal_form.replace("ё", "е")
            for parse in parses:
                if parse.tag.POS == "PRTF":
                    form = parse.inflect({"masc", "sing", "nomn"})
                    return (form.word if form else parse.normal_form).replace("ё", "е")
        return word
    return morph.parse(word)[0].normal_form.replace("ё", "е")


@lru_cache(maxsize=300_000)
def latin_lemma(word: str, language: str) -> str:
    """A stemmed Latin word (`disorders` → `disord`); British `-our` spelt `-or` first."""
    if language.startswith("en") and len(word) >= 6:
        word = _BRITISH_OUR.sub("or", word)
    stem = _stemmer(language)
    return stem(word) if stem else word


# `anti-` written as a word of its own, in either script (`противопаркинсонический`, `antiparkinson`,
# `anti-Parkinson`), when what follows is a word in itself (five letters or more: `antigen` stays whole).
_ANTI = re.compile(r"^(?:anti|анти|противо)(?=[^\W\d_]{5})")
ANTI_KEY = "ant"  # the key the word `anti` gets


# Russian learned adjectives carry a Latin or Greek stem with a Russian suffix that stands for the Latin -icus,
# -alis, -ivus: the English -ic, -al, -ive. Against a catalog in another language such a word is read as its
# English form and stemmed as that language's words are, so that it meets them whatever the stemmer leaves
# (`антипсихотический` → `antipsichotic` → `antipsichot`, like `antipsychotic`; `седативный` → `sedative` →
# `sed`; `бактериальный` → `bacterial` → `bacteri`). A Russian name against a Russian catalog meets its words
# through their lemmas instead: the bare stem would join words the lemmas tell apart.
_LEARNED_ADJECTIVE = re.compile(r"(?<=[а-я]{4})(ический|альный|ивный)$")
_LATIN_SUFFIX = {"ический": "ic", "альный": "al", "ивный": "ive"}


def learned_form(lemma: str, language: str) -> str | None:
    """A Russian learned adjective in Latin letters as its English form, stemmed for `language`
    (`психотический` → `psichot`), or None for any other word."""
    found = _LEARNED_ADJECTIVE.search(lemma)
    if not found:
        return None
    return latin_lemma(transliterate(lemma[:found.start()]) + _LATIN_SUFFIX[found.group(1)], language)


@lru_cache(maxsize=300_000)
def word_keys(lemma: str, language: str) -> tuple[str, ...]:
    """Cross-script keys of one lemma: glossary translation or transliteration, then the spelling key.

    A lemma the glossary does not know that starts with `anti-` is two keys: `anti` and the rest.
    """
    prefix = _ANTI.match(lemma)
    if prefix and (not has_cyrillic(lemma) or lemma not in rules().glossary):
        return (ANTI_KEY, *word_keys(lemma[prefix.end():], language))
    if not has_cyrillic(lemma):
        return (spelling_key(lemma.replace(APOSTROPHE, "")),)
    english = rules().glossary.get(lemma)
    if english:
        return tuple(k for w in english.split() for k in word_keys(latin_lemma(w, "en"), language))
    learned = None if language.startswith("ru") else learned_form(lemma, language)
    return (spelling_key(learned or transliterate(lemma)),)


_ROMAN = re.compile(r"(?<!\w)(XX|XIX|XVIII|XVII|XVI|XV|XIV|XIII|XII|XI|IX|VIII|VII|VI|V|IV|III|II|I)(?!\w)")
_ROMAN_DIGIT = re.compile("[IVX]")
_ROMAN_VALUES = {r: str(i) for i, r in enumerate(
    "I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI XVII XVIII XIX XX".split(), 1)}


def roman_to_arabic(text: str) -> str:
    """Upper-case Roman numerals I-XX standing alone written in digits (`type I` → `type 1`, `Faktor-II-Mangel` →
    `Faktor-2-Mangel`, `стадия II` → `стадия 2`). A lone `X` is left alone (`fragile X`, `X-linked`).
    """
    if not _ROMAN_DIGIT.search(text):
        return text
    return _ROMAN.sub(lambda m: _ROMAN_VALUES[m.group(1)], text)


on_reload(word_keys.cache_clear)
