"""The one analyser of search: text to index terms, and a query to at most `MAX_TERMS` terms.

Both stores index the terms this module makes (SQLite FTS5 and PostgreSQL's `simple` configuration only split
on spaces), so a query finds the same entries on either database. Words are lowercased, `ё` read as `е`, and
stemmed by their script: Cyrillic with the Russian Snowball stemmer, Latin with the English one, so `холерой`
finds `Холера` and `fevers` finds `fever`. Codes keep their dots (`A00.1` is one term). Stems are cached: a
catalog's vocabulary is small next to its row count.
"""

from __future__ import annotations

import re
from functools import lru_cache

# A word or a dotted code; `_` is a separator, since FTS5 would split on it anyway.
WORD = re.compile(r"[^\W_]+(?:\.[^\W_]+)*")
# A query keeps this many distinct terms: the rest of a pasted paragraph adds cost, not precision.
MAX_TERMS = 12
# Words longer than this are no words (a pasted blob); they are cut, so a query term is bounded too.
MAX_WORD = 64


@lru_cache(maxsize=1)
def _stemmers():
    # PyStemmer: the Snowball stemmers in C. Same stems as whoosh's pure-Python port (checked on this
    # module's tests and docs examples), and 1M-entry builds spent most of their time in that port.
    import Stemmer
    return Stemmer.Stemmer("russian").stemWord, Stemmer.Stemmer("english").stemWord


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The stem of one lowercased word, by its script; words with digits (codes, doses) are kept whole."""
    if any(ch.isdigit() for ch in word):
        return word
    russian, english = _stemmers()
    if any("\u0400" <= ch <= "\u04ff" for ch in word):
        return russian(word.replace("ё", "е"))
    return english(word)


def terms(text: str) -> list[str]:
    """Index terms of a text, in order, repeats kept (they weigh in ranking)."""
    return [stem(w[:MAX_WORD]) for w in WORD.findall(text.lower())]


def query_terms(q: str) -> list[str]:
    """Distinct terms of a query, in order, at most `MAX_TERMS`: its cost is linear in its length and bounded."""
    found: list[str] = []
    for match in WORD.finditer(q.lower()):
        term = stem(match.group()[:MAX_WORD])
        if term not in found:
            found.append(term)
            if len(found) == MAX_TERMS:
                break
    return found
