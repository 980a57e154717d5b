"""The hand-written knowledge tables: a source on every line, no comment citing benchmark rows, no contradictions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from registry.matching.index import rules_fingerprint
from registry.matching.knowledge import knowledge_files, source_ids, table_problems
from registry.matching.normalise import analyse, data_dir, use_hand_written_tables

DATA = data_dir()


def test_the_shipped_tables_break_no_rule():
    assert [p.name for p in knowledge_files(DATA)] == [
        "abbreviations.de.tsv", "abbreviations.en.tsv", "abbreviations.ru.tsv", "glossary.ru.tsv", "synonyms.tsv"]
    assert table_problems(DATA) == []


def test_every_declared_source_is_used_and_described():
    used = {line.split("\t")[2].strip() for path in knowledge_files(DATA)
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")}
    assert used == source_ids(DATA)


@pytest.fixture()
def tables(tmp_path):
    """A copy of the shipped tables to break one rule in."""
    for path in knowledge_files(DATA) + [DATA / "sources.tsv"]:
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_a_line_without_a_source_fails(tables):
    _append(tables / "synonyms.tsv", "myocardial	cardiac\n")
    assert table_problems(tables) == [
        f"synonyms.tsv:{len((tables / 'synonyms.tsv').read_text().splitlines())}: needs phrase, reading and source, "
        "tab-separated; has ['myocardial', 'cardiac']"]


def test_a_source_not_declared_fails(tables):
    _append(tables / "abbreviations.en.tsv", "hx	history	my-notes\n")
    [problem] = table_problems(tables)
    assert "source 'my-notes' is not declared in sources.tsv" in problem


def test_a_comment_citing_benchmark_rows_fails(tables):
    _append(tables / "synonyms.tsv", "# From the en rows 1802, 2572.\nexotropia	divergent strabismus	icd10-tabular\n")
    [problem] = table_problems(tables)
    assert "a comment cites benchmark rows" in problem


def test_glossary_and_synonyms_translating_one_word_fail(tables):
    # The contradiction the tables once had: the glossary read нервный as `nervous`, the synonyms as `neural`.
    _append(tables / "synonyms.tsv", "нервный	neural	ta-ru\n")
    [problem] = table_problems(tables)
    assert "'нервный' is translated by the glossary" in problem


def test_two_readings_of_one_abbreviation_across_languages_fail(tables):
    # The abbreviation files are read into one table, so `tab.` can mean one thing only.
    _append(tables / "abbreviations.ru.tsv", "tab.	tabula	abbrev-ru\n")
    [problem] = table_problems(tables)
    assert "'tab.' is read as 'tabula' here, as 'tablet' at abbreviations.en.tsv" in problem


def test_without_the_hand_written_tables_nothing_of_them_is_read():
    with_tables = rules_fingerprint()
    assert analyse("kidney failure", "en").keys == analyse("renal failure", "en").keys
    use_hand_written_tables(False)
    try:
        assert rules_fingerprint() != with_tables  # an index built with the tables is rebuilt without them
        assert analyse("kidney failure", "en").keys != analyse("renal failure", "en").keys
        assert analyse("холера бду", "ru").qualifiers == frozenset()  # the abbreviation is not expanded
        assert analyse("натрия хлорид", "en").keys != analyse("sodium chloride", "en").keys
    finally:
        use_hand_written_tables(True)
    assert analyse("натрия хлорид", "en").keys == analyse("sodium chloride", "en").keys
    assert analyse("холера бду", "ru").qualifiers == {"unspecified"}
    assert rules_fingerprint() == with_tables


def test_data_files_list_each_phrase_once():
    # a phrase listed twice is read once (the first line wins), so a second, different reading would be lost
    import collections
    import unicodedata
    from importlib import resources
    repeated = {}
    for path in resources.files("registry.matching.data").iterdir():
        if path.name.endswith(".tsv"):
            phrases = [unicodedata.normalize("NFKC", line.split("\t")[0].strip()).casefold()
                       for line in path.read_text(encoding="utf-8").splitlines()
                       if line.strip() and not line.startswith("#")]
            repeated.update({(path.name, p): n for p, n in collections.Counter(phrases).items() if n > 1})
    assert repeated == {}
