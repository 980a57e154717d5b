"""Pass 6, phrases: synonyms rewritten to one reading and qualifiers taken out, on the key sequence; and the
function words (a name of nothing else says nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from registry.matching.analysis.tables import on_reload, read_pairs

if TYPE_CHECKING:  # the pipeline imports this module
    from registry.matching.analysis.pipeline import Analysis

QUALIFIER_CLASSES = ("other", "specified", "unspecified", "without", "elsewhere")


@dataclass
class PhraseRules:
    """Key sequences rewritten after keying: synonyms (→ other keys) and qualifiers (→ a qualifier class).

    Loaded from `data/synonyms.tsv` and `data/qualifiers.tsv`; each phrase is analysed like any name,
    so an inflected or abbreviated form in a name meets it.
    """

    phrases: dict[tuple[str, ...], tuple[tuple[str, ...], str | None]]
    longest: int
    # The length of the longest phrase starting with each key, so that a word starting none is passed over.
    starts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        for phrase in self.phrases:
            self.starts[phrase[0]] = max(self.starts.get(phrase[0], 0), len(phrase))

    @classmethod
    def load(cls, language: str) -> "PhraseRules":
        """Analyse every phrase of both files, and each synonym's replacement, into key sequences.

        Both sides are analysed in `language`, the language the names being compared are analysed in,
        so that a replacement gets the very keys a name spelling it out gets (`сепсис` → `sepsis` in a
        Russian index, `sepsis` → `seps` in an English one).
        """
        phrases: dict[tuple[str, ...], tuple[tuple[str, ...], str | None]] = {}
        for phrase, replacement in read_pairs("synonyms.tsv"):
            to = tuple(_analyse(replacement, language, phrases=False).keys)
            phrases.setdefault(tuple(_analyse(phrase, language, phrases=False).keys), (to, None))
        for phrase, klass in read_pairs("qualifiers.tsv"):
            if klass != "-" and klass not in QUALIFIER_CLASSES:
                raise ValueError(f"qualifiers.tsv: {phrase!r} has class {klass!r}, not one of "
                                 f"{', '.join(QUALIFIER_CLASSES)} or -")
            qualifier = None if klass == "-" else klass
            phrases.setdefault(tuple(_analyse(phrase, language, phrases=False).keys), ((), qualifier))
        phrases.pop((), None)
        rules = cls(phrases, max(map(len, phrases), default=0))
        # A replacement is read as a name would be, other phrases included (`monocular` → `one eye`, and `eye`
        # is itself read as `ophthalmological`), so it meets the names that spell it out.
        for key, (to, qualifier) in list(phrases.items()):
            if to:
                phrases[key] = (tuple(rules.apply(list(to))[0]), qualifier)
        return rules

    def apply(self, keys: list[str]) -> tuple[list[str], frozenset[str]]:
        """Keys with every known phrase rewritten (longest first, left to right), and the qualifiers found."""
        if not self.longest:
            return keys, frozenset()
        out: list[str] = []
        qualifiers: set[str] = set()
        starts = self.starts
        i = 0
        while i < len(keys):
            longest = starts.get(keys[i], 0)
            if not longest:  # most words start no phrase
                out.append(keys[i])
                i += 1
                continue
            for size in range(min(longest, len(keys) - i), 0, -1):
                found = self.phrases.get(tuple(keys[i:i + size]))
                if found is not None:
                    replacement, qualifier = found
                    out.extend(replacement)
                    if qualifier:
                        qualifiers.add(qualifier)
                    i += size
                    break
            else:
                out.append(keys[i])
                i += 1
        return out, frozenset(qualifiers)


@lru_cache(maxsize=8)
def phrase_rules(language: str) -> PhraseRules:
    """The synonym and qualifier phrases analysed for `language` (cached for the process)."""
    return PhraseRules.load(language)


# Function words: a name made of nothing else says nothing to match on (see `only_stop_words`).
STOP_WORDS = (
    "an the of and or nor in on at to for by from with as not no is are be its "
    "и или в во на с со по для от до из при к у о об не ни а но же ли то как "
    "der die das des dem den ein eine einer eines einem und oder mit von vom im in am an bei für zu zur zum nicht"
).split()


@lru_cache(maxsize=8)
def stop_keys(language: str) -> frozenset[str]:
    """The keys that the function words of every language get in `language`."""
    return frozenset(k for word in STOP_WORDS for k in _analyse(word, language, phrases=False).keys)


def only_stop_words(analysis: "Analysis", language: str) -> bool:
    """Whether a name has no keys but those of function words (`of the`, `и`, `und der`)."""
    return bool(analysis.keys) and set(analysis.keys) <= stop_keys(language)


def _analyse(text: str, language: str, phrases: bool = True):
    """`pipeline.analyse`, imported when first called (the pipeline runs this pass)."""
    from registry.matching.analysis.pipeline import analyse
    return analyse(text, language, phrases)


on_reload(phrase_rules.cache_clear)
on_reload(stop_keys.cache_clear)
