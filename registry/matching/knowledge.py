"""Checks of the hand-written knowledge tables: every line has a source, no two lines or tables disagree.

The tables (`data/synonyms.tsv`, `data/glossary.ru.tsv`, `data/abbreviations.<lang>.tsv`) are general
knowledge: each line names, in its third column, a source listed in `data/sources.tsv` (a public
terminology, a standard abbreviation list, a pharmacopoeia), never the wording of one benchmark row.
`table_problems` lists what breaks those rules; the test suite fails on any.
"""

from __future__ import annotations

import re
from pathlib import Path

# A comment that points at benchmark rows instead of a source (`from dev-half misses`, `en rows 1802, 2572`).
_CITES_ROWS = re.compile(r"\brows?\s+\d|\bbenchmark|\bdev[- ]half|\bheld[- ]out|\bmiss(?:es)?\b", re.IGNORECASE)


def knowledge_files(directory: Path) -> list[Path]:
    """The hand-written knowledge tables of a data folder: synonyms, glossaries and abbreviations."""
    return sorted(p for p in directory.glob("*.tsv")
                  if p.name.startswith(("synonyms", "glossary.", "abbreviations.")))


def _lines(path: Path):
    """(line number, fields) of each data line, and (line number, text) of each comment line."""
    data, comments = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#"):
            comments.append((number, line))
        elif line.strip():
            data.append((number, [f.strip() for f in line.split("\t")]))
    return data, comments


def source_ids(directory: Path) -> set[str]:
    """The ids declared in `sources.tsv` (id, then what the source is)."""
    path = directory / "sources.tsv"
    if not path.is_file():
        return set()
    return {fields[0] for _, fields in _lines(path)[0] if len(fields) >= 2 and fields[1]}


def table_problems(directory: Path) -> list[str]:
    """Every broken rule of the knowledge tables in `directory`, as `file:line: what`; empty when all hold.

    Rules: three fields (phrase, reading, source) with a source declared in `sources.tsv`; no comment
    citing benchmark rows; one reading per phrase across all files of a kind (the abbreviation files are
    read as one table); and a Russian word is either translated by the glossary or rewritten by the
    synonyms, never both (one place, so the two cannot disagree, as `нервный` → nervous / neural did).
    """
    from registry.matching.analysis import basic_fold

    sources = source_ids(directory)
    problems: list[str] = []
    readings: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, folded phrase) -> (reading, where)
    glossary_words: dict[str, str] = {}
    synonym_phrases: dict[str, str] = {}
    for path in knowledge_files(directory):
        kind = path.name.split(".")[0]
        data, comments = _lines(path)
        for number, text in comments:
            if _CITES_ROWS.search(text):
                problems.append(f"{path.name}:{number}: a comment cites benchmark rows: {text.strip()}")
        for number, fields in data:
            where = f"{path.name}:{number}"
            if len(fields) != 3 or not all(fields):
                problems.append(f"{where}: needs phrase, reading and source, tab-separated; has {fields}")
                continue
            phrase, reading, source = fields
            if source not in sources:
                problems.append(f"{where}: source {source!r} is not declared in sources.tsv")
            key = (kind, basic_fold(phrase))
            earlier = readings.get(key)
            if earlier and basic_fold(earlier[0]) != basic_fold(reading):
                problems.append(f"{where}: {phrase!r} is read as {reading!r} here, as {earlier[0]!r} at {earlier[1]}")
            readings.setdefault(key, (reading, where))
            if kind == "glossary":
                glossary_words[basic_fold(phrase)] = where
            elif kind == "synonyms":
                synonym_phrases[basic_fold(phrase)] = where
    for word, where in sorted(glossary_words.items()):
        if word in synonym_phrases:
            problems.append(f"{synonym_phrases[word]}: {word!r} is translated by the glossary ({where}) too; "
                            "keep it in one place")
    return problems
