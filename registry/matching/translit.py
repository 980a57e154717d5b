"""Cyrillic → Latin transliteration and a cross-script spelling key.

Two steps, so that `Клотримазол` meets `clotrimazole` and `Парацетамол` meets
`paracetamol`:

* `transliterate()` writes Cyrillic in Latin letters the way drug and medical
  names are spelt in Latin (`ц` → `c`, `х` → `ch`, `кс` → `x`), not in a
  passport standard: `Парацетамол` → `paracetamol`, `Хлоргексидин` → `chlorgexidin`.
* `spelling_key()` folds a Latin word to a coarse key in which the usual
  spelling differences between languages and transliterations disappear
  (`ph`/`f`, `c`/`k`/`s`, `y`/`i`, `ae`/`e`, doubled letters, a final vowel):
  `clotrimazole` and `klotrimazol` both give `klotrimasol`.

Keys are only compared with each other; they are never shown to users.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LETTERS = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "ch", "ц": "c", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
    # Kazakh, Uzbek, Ukrainian and Belarusian letters met in CIS lists
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i", "ї": "yi",
    "є": "ye", "ґ": "g", "ў": "u", "ҳ": "h", "ӣ": "i", "ӯ": "u",
}
# Letter groups first: Russian drug names write Latin x as кс and Latin -ine/-ide endings without the e.
_GROUPS = [("кс", "x"), ("дж", "j")]
# After a consonant, ю in loan words stands for Latin u (глюкоза → glucose).
_SOFT_U = re.compile(r"([бвгдзклмнпрстфхцчшщ])ю")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def has_cyrillic(text: str) -> bool:
    """Whether the text holds any Cyrillic letter."""
    return bool(_CYRILLIC.search(text))


@lru_cache(maxsize=200_000)
def transliterate(word: str) -> str:
    """A lower-case Cyrillic word in Latin letters, spelt as Latin drug and medical names are."""
    word = _SOFT_U.sub(r"\1у", word.lower())
    for cyr, lat in _GROUPS:
        word = word.replace(cyr, lat)
    return "".join(_LETTERS.get(ch, ch) for ch in word)


# Applied in order to a lower-case Latin word; each folds one spelling difference away.
KEY_RULES = [
    (r"ph", "f"), (r"th", "t"), (r"^rh", "r"), (r"sch", "s"), (r"[ck]h", "k"), (r"[sz]h", "s"), (r"ck", "k"),
    (r"qu", "kv"), (r"x", "ks"), (r"c(?=[eiy])", "s"), (r"ts", "s"), (r"[cq]", "k"), (r"w", "v"), (r"[yj]", "i"),
    (r"z", "s"), (r"h", "g"), (r"[ao]e", "e"), (r"ou", "u"), (r"([a-z])\1+", r"\1"),
]
# A rule whose pattern is plain letters is `str.replace` (the same leftmost, non-overlapping replacements as
# `re.sub`, at a fraction of its cost: a new word meets all nineteen rules);
# the others are regular expressions.
_KEY_RULES = [(pattern, repl, None) if re.escape(pattern) == pattern else (pattern, repl, re.compile(pattern))
              for pattern, repl in KEY_RULES]
_FINAL_VOWELS = re.compile(r"(?<=[a-z]{3})[aeiou]+$")
_LATIN_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=200_000)
def spelling_key(word: str) -> str:
    """A coarse spelling key of a Latin (or transliterated) word; other characters are kept as they are."""
    if not _LATIN_WORD.fullmatch(word):
        return word
    for pattern, repl, compiled in _KEY_RULES:
        word = word.replace(pattern, repl) if compiled is None else compiled.sub(repl, word)
    return _FINAL_VOWELS.sub("", word)
