"""The data files, loaded in one place: abbreviations, units, the glossary (as `Rules`) and the table reader.

The synonym and qualifier phrases are read here too (`read_pairs`) and analysed by `phrases.py`.
Whatever is derived from the hand-written tables elsewhere registers its cache with `on_reload`, so that
`use_hand_written_tables` forgets it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable

from registry.matching.analysis.fold import NUMBER, basic_fold

DATA_PACKAGE = "registry.matching.data"

# The hand-written knowledge tables (every line with a source, see data/sources.tsv); the benchmark
# scores the matcher with and without them, so that what rests on them is seen.
HAND_WRITTEN = ("synonyms.tsv", "glossary.ru.tsv", "abbreviations.")
_settings = {"hand_written": True}


def hand_written_tables() -> bool:
    """Whether the hand-written knowledge tables are read (see `use_hand_written_tables`)."""
    return _settings["hand_written"]


def use_hand_written_tables(enabled: bool) -> None:
    """Read (or leave out) the hand-written knowledge tables from now on, and forget what was derived from them.

    For measuring what the tables carry (`bench/match.py`); the index fingerprint changes with it,
    so an index built one way is rebuilt the other.
    """
    _settings["hand_written"] = bool(enabled)
    rules.cache_clear()
    for forget in _derived:
        forget()


_derived: list[Callable[[], None]] = []


def on_reload(forget: Callable[[], None]) -> Callable[[], None]:
    """Register what forgets a cache derived from the tables (`use_hand_written_tables` calls it)."""
    _derived.append(forget)
    return forget


def data_dir() -> Path:
    """The folder of the normalisation data files (tables, units, qualifiers, sources)."""
    return Path(__file__).resolve().parent.parent / "data"


def read_table(name: str) -> list[tuple[str, ...]]:
    """The tab-separated fields of every line of a data file; `#` lines and blank lines are skipped."""
    path = resources.files(DATA_PACKAGE) / name
    if not path.is_file():
        return []
    return [tuple(field.strip() for field in line.split("\t"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def read_pairs(name: str) -> list[tuple[str, str]]:
    """The (key, value) pairs of a data file, folded; a third field (the line's source) is not read here."""
    if not hand_written_tables() and name.startswith(HAND_WRITTEN):
        return []
    rows = []
    for fields in read_table(name):
        key, value = fields[0], fields[1] if len(fields) > 1 else ""
        if key and value:
            rows.append((basic_fold(key), basic_fold(value)))
    return rows


def abbreviation_languages() -> list[str]:
    """The languages that have an abbreviation file, e.g. ['de', 'en', 'ru']."""
    names = [p.name for p in resources.files(DATA_PACKAGE).iterdir()]
    return sorted(n.split(".")[1] for n in names if n.startswith("abbreviations.") and n.endswith(".tsv"))


@dataclass
class Rules:
    """Abbreviations, units and the glossary, loaded once from the data files."""

    abbreviations: dict[str, str]
    units: dict[str, str]
    glossary: dict[str, str]
    abbreviation_re: re.Pattern | None = field(default=None, repr=False)
    quantity_re: re.Pattern | None = field(default=None, repr=False)

    @classmethod
    def load(cls) -> "Rules":
        """Read every data file of the package."""
        abbreviations: dict[str, str] = {}
        for lang in abbreviation_languages():
            abbreviations.update(read_pairs(f"abbreviations.{lang}.tsv"))
        rules = cls(abbreviations, dict(read_pairs("units.tsv")), dict(read_pairs("glossary.ru.tsv")))
        if abbreviations:
            alternatives = "|".join(re.escape(a) for a in sorted(abbreviations, key=len, reverse=True))
            rules.abbreviation_re = re.compile(rf"(?<![\w/.-])(?:{alternatives})(?![\w/-])")
        units = "|".join(re.escape(u) for u in sorted(rules.units, key=len, reverse=True))
        # A unit may be `per` another, with or without a number (`ЕД/мл`, `мг/кг`, `мг/5 мл`).
        rules.quantity_re = re.compile(rf"(?<![\w.,]){NUMBER}\s*(?P<unit>{units})"
                                       rf"(?:\s*/\s*(?P<per_number>\d+(?:[.,]\d+)?)?\s*(?P<per>{units}))?(?![\w/])")
        return rules


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The loaded rules (cached for the process)."""
    return Rules.load()
