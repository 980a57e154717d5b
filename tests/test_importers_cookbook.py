"""The cookbook of docs/importers.md, run as written: each layout's file, profile and commands, and its output.

A new national feed is meant to need a profile file, not code, written by someone who has only
docs/importers.md. So the examples there are not prose: this module takes each `### ` example of the
"Cookbook" section, writes its files (`` `name`: `` before a block; `(saved in cp1251)` gives the encoding),
runs its `sh` commands with the CLI in that folder, and compares what `nsi export` and `nsi diff` print with
the block that follows them, character for character. Then it makes the mistakes a profile writer makes
(a misspelt key, column or path, a path matching nothing or twice, a transform on a missing field, a wrong
parent rule) on those same examples, and checks that each is refused, whole output asserted, with nothing stored.
A workbook cannot be written in Markdown: the two-sheet one is built here with openpyxl.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from cli import cli

DOC = Path(__file__).resolve().parent.parent / "docs" / "importers.md"
BLOCK = re.compile(r"(?:^`([^`\n]+)`(?: \(([^)\n]*)\))?:\n)?^```(\w*)\n(.*?)\n```\n", re.M | re.S)


def cookbook() -> dict[str, dict]:
    """Title -> {"files": {name: (text, encoding)}, "steps": [(commands, expected output or None)]}."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Cookbook", 1)[1].split("\n## ", 1)[0]
    examples = {}
    for part in section.split("\n### ")[1:]:
        title = part.splitlines()[0]
        files, steps = {}, []
        for name, note, lang, body in BLOCK.findall(part):
            if name:
                files[name] = (body + "\n", note.split("saved in ", 1)[1] if "saved in " in note else "utf-8")
            elif lang == "sh":
                steps.append([body.splitlines(), None])
            elif steps and steps[-1][1] is None:
                steps[-1][1] = body
        if files:
            examples[title] = {"files": files, "steps": steps}
    return examples


EXAMPLES = cookbook()


def write_files(folder: Path, files: dict, change: tuple[str, str, str] | None = None) -> None:
    for name, (text, encoding) in files.items():
        if change and change[0] == name:
            assert change[1] in text, (name, change[1])
            text = text.replace(change[1], change[2], 1)
        (folder / name).write_text(text, encoding=encoding)


def nsi(runner, command: str):
    return runner.invoke(cli, shlex.split(command)[1:])


def test_the_cookbook_has_an_example_per_layout():
    assert [t.split(":")[0].split(" (")[0] for t in EXAMPLES] == [
        "An ICD-10 modification shipped as a JSON object keyed by code",
        "A fixed-width order file",
        "XML whose fields are `<field name=\"...\">` elements",
        "XML with namespaces",
        "A CSV in cp1251 with `;`, a title line, and values to transform",
        "JSON Lines",
        "A register whose tree is a level column and the order of the rows",
        "A drug register in three files"]


@pytest.mark.parametrize("title", list(EXAMPLES))
def test_a_cookbook_example_gives_what_the_doc_says(title, sqlite_store, runner, tmp_path, monkeypatch):
    example = EXAMPLES[title]
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path, example["files"])
    assert example["steps"]
    for commands, expected in example["steps"]:
        for command in commands:
            result = nsi(runner, command)
            assert result.exit_code == 0, (command, result.output)
            if command.split()[1] == "import":
                assert result.stdout.startswith("Published "), result.stdout
                assert result.stderr == "", result.stderr
        assert expected is not None, f"{commands[-1]}: the doc shows no output"
        assert result.stdout == expected + "\n", commands[-1]


def first_import(title: str) -> str:
    return next(c for commands, _ in EXAMPLES[title]["steps"] for c in commands if c.split()[1] == "import")


ICD, ORDER, FIELDS, SOAP, FORMS, LINES, LEVELS, DRUGS = EXAMPLES

# (example, file changed, text replaced, replacement, the whole error output: every line of stderr)
MISTAKES = [
    (ICD, "icd.toml", 'display = "names', 'dispaly = "names',
     "Error: profile icd.toml, line 11: unknown key(s) dispaly in [fields] (allowed: attributes, code, designations, "
     "display, parents, status)"),
    (ICD, "icd.toml", 'kind = "kind"', 'kind = "knd"',
     "Error: import rejected: icd.json, column knd: profile icd.toml, line 20: [fields].attributes.kind reads the "
     "path 'knd', which matches nothing in any of the 4 records: a misspelling? (if files may lack it, say optional "
     "= true)\nNothing was stored."),
    (ICD, "icd.toml", 'parents = "parent.code"', 'parents = "parent.cod"',
     "Error: import rejected: icd.json, column parent.cod: profile icd.toml, line 12: [fields].parents reads the "
     "path 'parent.cod', which matches nothing in any of the 4 records: a misspelling? (if files may lack it, say "
     "optional = true)\nNothing was stored."),
    (ICD, "icd.toml", 'display = "names[lang=ru].text"', 'display = "names.text"',
     "Error: import rejected: icd.json, record A00-A09, column names.text: the display path 'names.text' matches 2 "
     "elements in this record, not one: make it select one (a predicate such as [lang=ru], or [0] for the first) "
     "(and 1 more error)\n"
     "  icd.json, record A00, column names.text: the display path 'names.text' matches 2 elements in this record, "
     "not one: make it select one (a predicate such as [lang=ru], or [0] for the first)\nNothing was stored."),
    (ICD, "icd.toml", 'parents = "parent.code"', 'parents = "parent"',
     "Error: import rejected: icd.json, record A00, column parent: the path 'parent' holds an object or a list of "
     "lists, not a value: name a field inside it (e.g. parent.code or parent[0]) (and 2 more errors)\n"
     "  icd.json, record A00.0, column parent: the path 'parent' holds an object or a list of lists, not a value: "
     "name a field inside it (e.g. parent.code or parent[0])\n"
     "  icd.json, record A00.9, column parent: the path 'parent' holds an object or a list of lists, not a value: "
     "name a field inside it (e.g. parent.code or parent[0])\nNothing was stored."),
    (ORDER, "order.toml", 'display = "LONG"', 'display = "LONGG"',
     "Error: profile order.toml, line 23: [fields].display names column 'LONGG', which [read.layout] does not list "
     "(it lists ORDER, CODE, BILLABLE, SHORT, LONG): a misspelling?"),
    (ORDER, "order.toml", "BILLABLE = { start = 15", "BILLABLE = { start = 13",
     "Error: profile order.toml, line 17: [read].layout.BILLABLE (characters 13-13) overlaps [read].layout.CODE "
     "(characters 7-13)"),
    (ORDER, "order.toml", "code_prefix = true", 'parent_pattern = "^(.+)-[^-]+$"',
     "Error: import rejected: order2024.txt: profile order.toml, line 31: [hierarchy].parent_pattern gave none of "
     "the 7 entries a parent: does it fit this file's codes and columns? (a flat list needs no [hierarchy])\n"
     "Nothing was stored."),
    (ORDER, "order.toml", "header_lines = 2", "header_lines = 1",
     "Error: import rejected: order2024.txt, row 2, column ORDER: 'NR' is not an integer (attribute order) "
     "(and 1 more error)\n"
     "  order2024.txt, row 2, column BILLABLE: 'B' is not a yes/no value (attribute billable)\nNothing was stored."),
    (FIELDS, "units.toml", "display = \"field[@name='title'][@lang='ru']/text()\"",
     "display = \"field[@name='title']\"",
     "Error: import rejected: units.xml, row 4, column field[@name='title']: the display path "
     "\"field[@name='title']\" matches 2 elements in this record, not one: make it select one (a predicate such as "
     "[@lang='ru'], or [1] for the first) (and 1 more error)\n"
     "  units.xml, row 12, column field[@name='title']: the display path \"field[@name='title']\" matches 2 elements "
     "in this record, not one: make it select one (a predicate such as [@lang='ru'], or [1] for the first)\n"
     "Nothing was stored."),
    (FIELDS, "units.toml", 'records = ["entry"]', 'records = ["entyr"]',
     "Error: import rejected: units.xml: profile units.toml, line 9: [read].records (entyr) names no element of the "
     "file: the file's elements are dictionary, entries, entry, field, note (entry, a misspelling?)\n"
     "Nothing was stored."),
    (FIELDS, "units.toml", "symbol = \"field[@name='symbol']\"", "symbol = \"field[@name='symbl']\"",
     "Error: import rejected: units.xml, column field[@name='symbl']: profile units.toml, line 22: "
     "[fields].attributes.symbol reads the path \"field[@name='symbl']\", which matches nothing in any of the 3 "
     "records: a misspelling? (if files may lack it, say optional = true)\nNothing was stored."),
    (SOAP, "refbook.toml", 'n = "http://rosminzdrav.ru/nsi/service"', 'n = "http://rosminzdrav.ru/nsi/services"',
     "Error: import rejected: refbook.xml: profile refbook.toml, line 9: [read].records (n:item) names no element "
     "of the file: the file has {http://rosminzdrav.ru/nsi/service}item: write the record with a prefix whose URI "
     "in [read].namespaces is the file's, character for character (records = [\"n:item\"], namespaces = { n = "
     "\"http://rosminzdrav.ru/nsi/service\" })\nNothing was stored."),
    (SOAP, "refbook.toml", ', soap = "http://schemas.xmlsoap.org/soap/envelope/"', "",
     "Error: profile refbook.toml, line 19: [fields].attributes.refbook_version "
     "'/soap:Envelope/soap:Body/n:getRefbookPartsResponse/n:refbook/@version' uses the prefix soap:, which "
     "[read].namespaces does not declare"),
    (FORMS, "forms.toml", 'column = "СТАТУС"', 'column = "СТАТС"',
     "Error: import rejected: forms.csv, row 2, column СТАТС: missing column 'СТАТС' (the header has КОД, "
     "НАИМЕНОВАНИЕ, ФОРМА, СТАТУС, ТИП, ДАТА): a misspelling of 'СТАТУС'?\nNothing was stored."),
    (FORMS, "forms.toml", '{ФОРМА})"', '{ФОРМ})"',
     "Error: import rejected: forms.csv, row 2, column ФОРМ: missing column 'ФОРМ' (the header has КОД, "
     "НАИМЕНОВАНИЕ, ФОРМА, СТАТУС, ТИП, ДАТА): a misspelling of 'ФОРМА'?\nNothing was stored."),
    (FORMS, "forms.csv", "натрия хлорида 0,9% (NaCl);sol", "натрия хлорида 0,9% (NaCl);caps",
     "Error: import rejected: forms.csv, row 6, column ФОРМА: 'caps' is not a value the map names (it names inj, "
     "sol, tab) (field attributes.form, transform map)\nNothing was stored."),
    (FORMS, "forms.toml", 'case = "first"', 'case = "sentence"',
     "Error: profile forms.toml, line 21: [fields].display.case must be one of upper, lower, title, capitalize, "
     "first (got 'sentence')"),
    (FORMS, "forms.toml", 'encoding = "cp1251"', 'encoding = "utf-8"',
     "Error: import rejected: forms.csv: the file is not valid utf-8: byte 0xd1 at offset 0 cannot be decoded "
     "(declare the right encoding, e.g. cp1251, in the profile)\nNothing was stored."),
    (LINES, "labs.toml", "[read]\nlines = true\n", "",
     "Error: import rejected: labs.jsonl: not valid JSON after record status: parse error: trailing garbage\n"
     "          mg/dL\"], \"status\": \"ACTIVE\"} {\"loinc\": \"718-7\", \"names\": {\"r\n"
     "                     (right here) ------^ (the file holds several JSON documents one after another: if it is JSON Lines, one record per line, say "
     "[read].lines = true)\nNothing was stored."),
    (LINES, "labs.jsonl", '"units": [], "status": "DEPRECATED"}', '"units": [], "status": "DEPRECATED"',
     "Error: import rejected: labs.jsonl, line 3: not valid JSON at column 110: Expecting ',' delimiter\n"
     "Nothing was stored."),
    (LEVELS, "okved.toml", 'level = "Уровень"', 'level = "Код"',
     "Error: import rejected: okved.csv, row 2, column Код: the level 'A' is not a whole number (and 4 more errors)"),
    (LEVELS, "okved.csv", '1,A,"СЕЛЬСКОЕ, ЛЕСНОЕ ХОЗЯЙСТВО"\n', "",
     "Error: import rejected: okved.csv, row 7, column Уровень: level 1 is above the first row's level 2: the rows "
     "before it have no parent (are the rows in tree order, each under the row it belongs to?)\nNothing was stored."),
    (DRUGS, "drugs.toml", 'display = "name_kk"', 'display = "name_kz"',
     "Error: import rejected: drugs_kk.csv, row 1, column name_kz: missing column 'name_kz' (the header has reg_no, "
     "name_kk): a misspelling of 'name_kk'?\nNothing was stored."),
    (DRUGS, "drugs.toml", 'role = "attributes"', 'role = "attribute"',
     "Error: profile drugs.toml, line 34: [[with]] #2.role must be one of translations, attributes, groups (got "
     "'attribute')"),
    (DRUGS, "drugs.toml", 'delimiter = "\\t"', 'delimiter = ";"',
     "Error: import rejected: prices.tsv, row 1: wrong header: profile prices expects columns REG, PRICE, RX, "
     "VALID_TO; the file has REG\tPRICE\tRX\tVALID_TO (one column holding tabs: is [read].delimiter right?)\n"
     "Nothing was stored."),
]


@pytest.mark.parametrize("title, name, old, new, message", MISTAKES,
                         ids=[f"{t.split()[1]}-{n}-{i}" for i, (t, n, *_) in enumerate(MISTAKES)])
def test_a_profile_mistake_on_a_cookbook_example_is_refused_before_anything_is_stored(
        title, name, old, new, message, sqlite_store, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path, EXAMPLES[title]["files"], (name, old, new))
    command = first_import(title)
    result = nsi(runner, command)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    if message.endswith("more errors)"):  # a long list: its first line and the count say enough
        assert result.stderr.splitlines()[0] == message
    else:
        assert result.stderr == message + "\n"
    slug = command.split("--catalog ")[1].split()[0]
    assert not sqlite_store.has_catalog(slug)


DEPARTMENTS = """[profile]
format = "xlsx"

[catalog]
title = "Номенклатура отделений"
language = "ru"

[[sheets]]
name = "Отделения"
header_row = 4
header_rows = 2
skip = [{ column = "Код", matches = "^Источник" }]

[[sheets]]
name = "Койки"
header_row = "auto"
[sheets.fields]
code = "Код койки"
display = "Название койки"
[sheets.fields.attributes]
age = { column = "Взрослые/дети", map = { "В" = "adult", "Д" = "child" }, map_strict = true }

[fields]
code = "Код"
display = "Наименование / полное"
designations = [{ column = "Наименование / краткое", use = "abbreviation" }]

[fields.attributes]
profile = "Профиль"

[hierarchy]
parent_pattern = "^(.+)\\\\.[^.]+$"
"""


def departments_workbook(path: Path, release: int) -> Path:
    """A ministry's workbook: a title block, a two-row header with merged cells, a source note, a second sheet."""
    from openpyxl import Workbook
    book = Workbook()
    first = book.active
    first.title = "Отделения"
    first["A1"] = "Номенклатура отделений медицинских организаций"
    first.merge_cells("A1:D1")
    first["A2"] = f"Редакция {release}"
    first["A4"], first["B4"], first["D4"] = "Код", "Наименование", "Профиль"
    first["B5"], first["C5"] = "полное", "краткое"
    for cells in ("A4:A5", "B4:C4", "D4:D5"):
        first.merge_cells(cells)
    cardiology = "Отделение кардиологии" + (" и ревматологии" if release == 2 else "")
    for row in (["1", "Терапевтические отделения", "Терапия", None], ["1.1", "Отделение терапии", None, "терапия"],
                ["1.2", cardiology, "Кардиология", "кардиология"], ["2", "Хирургические отделения", None, None],
                ["2.1", "Отделение общей хирургии", None, "хирургия"], ["Источник: приказ № 123н"]):
        first.append(row)
    beds = book.create_sheet("Койки")
    beds["A1"] = "Коечный фонд"
    beds.append([])
    beds.append(["Код койки", "Отделение", "Название койки", "Взрослые/дети"])
    beds.append(["1.1.01", "1.1", "Терапевтические для взрослых", "В"])
    beds.append(["1.1.02", "1.1", "Терапевтические для детей", "Д"])
    if release == 2:
        beds.append(["2.1.01", "2.1", "Хирургические для взрослых", "В"])
    book.save(path)
    return path


def test_a_two_sheet_workbook_with_a_title_block_and_a_merged_header(sqlite_store, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("dept.toml").write_text(DEPARTMENTS, encoding="utf-8")
    for release in (1, 2):
        departments_workbook(tmp_path / f"dept{release}.xlsx", release)
        result = nsi(runner, f"nsi import dept{release}.xlsx --catalog dept --version {release} --profile dept.toml "
                             f"--publish")
        assert result.exit_code == 0, result.output
    entries = {e["code"]: e for e in sqlite_store.iter_entries("dept", "2")}
    assert {c: (e["display"], e["parents"]) for c, e in entries.items()} == {
        "1": ("Терапевтические отделения", []), "1.1": ("Отделение терапии", ["1"]),
        "1.2": ("Отделение кардиологии и ревматологии", ["1"]), "2": ("Хирургические отделения", []),
        "2.1": ("Отделение общей хирургии", ["2"]), "1.1.01": ("Терапевтические для взрослых", ["1.1"]),
        "1.1.02": ("Терапевтические для детей", ["1.1"]), "2.1.01": ("Хирургические для взрослых", ["2.1"])}
    assert entries["1"]["designations"] == [{"language": "ru", "use": "abbreviation", "text": "Терапия"}]
    assert entries["1.2"]["attributes"] == {"profile": "кардиология"}
    assert entries["1.1.02"]["attributes"] == {"age": "child"}
    diff = nsi(runner, "nsi diff dept 1 2")
    assert diff.stdout == ("dept 1 -> 2: 1 added, 0 removed, 1 changed\n"
                           "+ 2.1.01\tХирургические для взрослых\n"
                           "~ 1.2\tdisplay: Отделение кардиологии -> Отделение кардиологии и ревматологии\n")


@pytest.mark.parametrize("old, new, message", [
    ('name = "Койки"', 'name = "Койка"',
     "Error: import rejected: dept1.xlsx, sheet Койка: no sheet 'Койка' in the workbook (sheets: Отделения, Койки)"),
    ('display = "Наименование / полное"', 'display = "Наименование/полное"',
     "Error: import rejected: dept1.xlsx, sheet Отделения, row 4, column Наименование/полное: missing column "
     "'Наименование/полное' (the header has Код, Наименование / полное, Наименование / краткое, Профиль): a "
     "misspelling of 'Наименование / полное'?"),
    ('display = "Название койки"', 'display = "$Z"',
     "Error: import rejected: dept1.xlsx, sheet Койки, row 3, column $Z: missing column '$Z' (the header has Код "
     "койки, Отделение, Название койки, Взрослые/дети): the header has 4 columns, so $Z is past the last one"),
])
def test_a_workbook_profile_mistake_is_refused(old, new, message, sqlite_store, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert old in DEPARTMENTS
    Path("dept.toml").write_text(DEPARTMENTS.replace(old, new), encoding="utf-8")
    departments_workbook(tmp_path / "dept1.xlsx", 1)
    result = nsi(runner, "nsi import dept1.xlsx --catalog dept --version 1 --profile dept.toml")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message + "\nNothing was stored.\n")
    assert not sqlite_store.has_catalog("dept")
