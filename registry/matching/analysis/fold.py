"""Pass 1, folding: Unicode, case, marks, apostrophes, look-alike letters of the other script, codes.

Also the regular expressions of words, negations and numbers that the later passes share.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


_WORD = re.compile(r"[^\W\d_]+|\d+(?:\.\d+)?|%")
# A negating prefix written apart (`non-traumatic`, `non traumatic`, `не травматический`) is joined to
# its word, so that it reads as the one word `nontraumatic` and can never meet `traumatic` word for word.
# `non specified` stays apart: it is the qualifier `unspecified` (qualifiers.tsv), not a negated word.
_SPLIT_NEGATION = re.compile(r"(?<![^\W\d_])(non|не)[-\s]+(?!specified)(?=[^\W\d_]{3})")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
# An English possessive is no word of its own (`Crohn's disease` is `Crohn disease`).
_POSSESSIVE = re.compile(r"(?<=[a-z])\u02bcs(?![^\W\d_])")
# British `-our` at the end of a stem, before an ending too (`behavioural`, `favourable`, `tumours`).
_BRITISH_OUR = re.compile(r"(?<=\w{3})our(?=(?:s|al|ally|able|ably|ed|ing|ite|ites|less|ful)?$)")
# The number of a dose. Thousands separators: a space followed by a group of exactly three digits
# (`1 000 мг`, `2 500 000 ЕД`), or a comma after a leading group of 1-3 digits not starting with 0
# followed by exactly three digits (`1,000 mg`, `12,500 mg`). Any other comma is a decimal comma
# (`0,5 г`, `1,25 мг`, `0,500 г`).
NUMBER = (r"(?:(?P<spaced>\d{1,3}(?: \d{3})+(?:[.,]\d+)?)(?![\d,.])"
          r"|(?P<comma>[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?)(?![\d,.])"
          r"|(?P<plain>\d+(?:[.,]\d+)?))")


APOSTROPHE = "\u02bc"  # ʼ, a letter to the regular expressions, so `oʼzbek` stays one word
_APOSTROPHE_CHARS = "['‘’ʻʼ`´ʹ′]"
_APOSTROPHES = re.compile(rf"(?<=[^\W\d_]){_APOSTROPHE_CHARS}(?=[^\W\d_])")
# Patterns that start with a look-behind are tried at every position of a text; each is run only when the
# text holds what it needs (an apostrophe, `non`/`не`, `ʼs`, a Roman digit, a digit): most names hold none.
_ANY_APOSTROPHE = re.compile(_APOSTROPHE_CHARS)


def _strip_marks(text: str) -> str:
    """Text without the combining marks of non-Cyrillic letters (`é` → `e`, `i̇` → `i`; `й`, `ў` stay)."""
    out, cyrillic = [], False
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            if cyrillic:
                out.append(ch)
            continue
        cyrillic = "\u0400" <= ch <= "\u04ff"
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


# Text of ASCII and Cyrillic letters only (the Cyrillic combining marks U+0483-U+0489 left out): its only marks
# are those of its Cyrillic letters (`й`, `ё`), which `_strip_marks` keeps, so it would give the text in NFC.
_ASCII_CYRILLIC = re.compile("[\x00-\x7f\u0400-\u0482\u048a-\u04ff]*")


def basic_fold(text: str) -> str:
    """The first step for every text the matcher sees: NFKC, casefold, combining marks of Latin
    letters stripped (`İ` → `i`, `é` → `e`), `ё` → `е`, and every apostrophe inside a word (`o‘`, `o'`,
    `oʻ`, `o’`) written as one, so Uzbek `oʻzbek` is one word however it is typed.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        # Most non-ASCII names are Russian: `_strip_marks` would walk them letter by letter to change nothing
        text = unicodedata.normalize("NFC", text) if _ASCII_CYRILLIC.fullmatch(text) else _strip_marks(text)
    if _ANY_APOSTROPHE.search(text):
        text = _APOSTROPHES.sub(APOSTROPHE, text)
    return text.replace("ё", "е")


# Cyrillic letters that look like Latin ones (folded, so `в` stands for the capital В that looks like B).
_LOOK_ALIKES = dict(zip("авекмнорстухіјѕ", "abekmhopctyxijs"))
_LATIN_LOOK_ALIKES = {lat: cyr for cyr, lat in _LOOK_ALIKES.items()}
_ALNUM_RUN = re.compile(r"[^\W_]+")
# A capital Cyrillic look-alike standing alone after a lower-case word (and before a lower-case one or the end of
# a phrase), or before a hyphen, is a Latin letter typed in Cyrillic: a group, type or protein (`стрептококк
# группы В`, `гепатит С хронический`, `В-клеточная`, `С-реактивный`, `Т/NK`; a list of them: `А, С, Y, W-135`). Left
# alone: the prepositions `в`, `с`, `к`, `о`, which are lower case inside a name, start a sentence (`... кинжалом.
# В доме`) or stand among capitalised words (`ОТРАВЛЕНИЕ В ДОМЕ`, `Травма Глаза С Повреждением`); `Н` and `Р`,
# which are the letters N and R as often as look-alikes of H and P (`Н-холинорецепторы`); and a letter before a
# slash and a Cyrillic letter, as in the route abbreviations `В/в`, `В/м` (`Т/NK` is Latin).
_LETTER_DESIGNATION = re.compile(r"(?:(?<=[a-zа-яё] )|(?<=[a-zа-яё], )|(?<=\b[^\W\d_], ))([АВЕКМОСТХ])"
                                 r"(?=$|\s*[,.;:)\]]|\s+[a-zа-яё0-9])|\b([АВЕКМОСТХ])(?=-|/[A-Za-z])")
_LATIN_LETTER = re.compile(r"[a-z]")


def _fold_run(match: re.Match) -> str:
    run = match.group(0)
    if run.isascii() or (run.isalpha() and not _LATIN_LETTER.search(run)):
        return run  # no Cyrillic letter, or no Latin letter or digit beside it: nothing to put right (most words)
    cyrillic = [ch for ch in run if "\u0400" <= ch <= "\u04ff"]  # `has_cyrillic`, letter by letter
    if not cyrillic:
        return run
    latin = _LATIN_LETTER.findall(run)
    code_like = any(ch.isdigit() for ch in run) and len(cyrillic) <= 3
    if all(ch in _LOOK_ALIKES for ch in cyrillic) and (len(latin) >= len(cyrillic) or (code_like and not latin)):
        return "".join(_LOOK_ALIKES.get(ch, ch) for ch in run)
    if latin and all(ch in _LATIN_LOOK_ALIKES for ch in latin):
        return "".join(_LATIN_LOOK_ALIKES.get(ch, ch) for ch in run)
    return run


_DESIGNATION_LETTER = re.compile("[АВЕКМОСТХ]")
_DESIGNATION_FIRST = frozenset("АВЕКМОСТХ")


def latin_letter_designations(text: str) -> str:
    """The text with single capital Cyrillic letters that name a group or type written in Latin (`группы В`)."""
    # Only such a letter after another character, or first and before `-` or `/`, can be one: most names have
    # none, and `_LETTER_DESIGNATION` tries its look-behinds at every position of the text.
    if not _DESIGNATION_LETTER.search(text, 1) and not (text[:1] in _DESIGNATION_FIRST and text[1:2] in ("-", "/")):
        return text
    return _LETTER_DESIGNATION.sub(lambda m: _LOOK_ALIKES[(m.group(1) or m.group(2)).lower()].upper(), text)


def fold_look_alikes(text: str) -> str:
    """Folded text with look-alike letters of the other script put right in mixed words.

    A word of Latin letters with Cyrillic look-alikes among them (`pаracetamol` with a Cyrillic а), or
    a code of up to three look-alike Cyrillic letters and digits (`с50.1`, `в12`), is written in Latin;
    a Russian word with Latin look-alikes among its letters is written in Cyrillic.
    """
    return _ALNUM_RUN.sub(_fold_run, text)


@lru_cache(maxsize=200_000)
def fold_code(code: str) -> str:
    """A code as compared with another: folded, with every Cyrillic look-alike letter in Latin (`С50.1` = `C50.1`).

    Cached: a local code is compared with the code of every candidate of its name.
    """
    return "".join(_LOOK_ALIKES.get(ch, ch) for ch in basic_fold(str(code)).strip())
