"""Spreadsheets as institutes make them (importers/formats/xlsx.py, importers/sheet_layout.py): several sheets,
a header under a title block or found by a rule, two-row and merged headers, columns by letter, hidden rows."""

from __future__ import annotations

import pytest

from importers import run_import
from importers.profile import ProfileError, load_profile
from importers.sheet_layout import joined_header, letter_index, letter_of
from registry.errors import ImportRejected


def entries_of(store, slug, version="1"):
    return {e["code"]: e for e in store.iter_entries(slug, version)}


def register_workbook(path, hide_row=None):
    """A register as a ministry sends it: a title block, a two-row header with merged cells, two sheets."""
    from openpyxl import Workbook
    wb = Workbook()
    first = wb.active
    first.title = "Больницы"
    rows = [["Реестр медицинских организаций", None, None, None],
            ["по состоянию на 01.06.2024", None, None, None],
            [],
            ["Код МО", "Наименование", None, "Коек"],
            [None, "рус", "каз", None],
            ["H001", "Городская больница №1", "№1 қалалық аурухана", 120],
            ["Примечание: данные предварительные", None, None, None],
            ["H002", "Областная больница", "Облыстық аурухана", 300],
            ["H003", "Больница закрыта", None, 0]]
    for r in rows:
        first.append(r)
    first.merge_cells("A1:D1")
    first.merge_cells("B4:C4")
    first.merge_cells("A4:A5")
    first.merge_cells("D4:D5")
    if hide_row:
        first.row_dimensions[hide_row].hidden = True
    second = wb.create_sheet("Филиалы")
    for r in [["Филиалы", None, None], ["Код", "Головная", "Название"], ["F01", "H001", "Филиал на Ленина"],
              ["F02", "H002", "Филиал в Косшы"]]:
        second.append(r)
    wb.save(path)
    return path


REGISTER = '''[profile]
format = "xlsx"

[catalog]
title = "Реестр"
kind = "facility"

[[sheets]]
name = "Больницы"
header_row = 4
header_rows = 2
skip = [{ column = "Код МО", matches = "^Примечание" }]

[[sheets]]
name = "Филиалы"
header_row = "auto"
[sheets.fields]
code = "Код"
display = "$C"
parents = "Головная"

[fields]
code = "Код МО"
display = "Наименование / рус"
designations = [{ column = "Наименование / каз", language = "kk" }]

[fields.attributes]
beds = { column = "Коек", type = "integer" }
'''


def write_profile(tmp_path, text, name="p.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_two_sheets_merged_two_row_header_title_block_letters_and_a_note_row(sqlite_store, tmp_path):
    book = register_workbook(tmp_path / "reg.xlsx")
    run_import(sqlite_store, book, catalog="reg", version="1", profile=str(write_profile(tmp_path, REGISTER)))
    e = entries_of(sqlite_store, "reg")
    assert sorted(e) == ["F01", "F02", "H001", "H002", "H003"]  # the note row is skipped, the title block is no row
    assert e["H001"] == {"code": "H001", "display": "Городская больница №1", "parents": [], "status": "active",
                         "designations": [{"language": "kk", "use": "synonym", "text": "№1 қалалық аурухана"}],
                         "attributes": {"beds": 120}}
    assert e["F02"]["display"] == "Филиал в Косшы" and e["F02"]["parents"] == ["H002"]  # a parent on another sheet


def test_hidden_rows_are_skipped_when_the_profile_says_so(sqlite_store, tmp_path):
    book = register_workbook(tmp_path / "reg.xlsx", hide_row=9)
    hidden = REGISTER.replace('header_rows = 2\n', 'header_rows = 2\nskip_hidden = true\n')
    run_import(sqlite_store, book, catalog="reg", version="1", profile=str(write_profile(tmp_path, hidden)))
    assert sorted(entries_of(sqlite_store, "reg")) == ["F01", "F02", "H001", "H002"]
    # without skip_hidden the hidden row is read
    run_import(sqlite_store, book, catalog="all", version="1", profile=str(write_profile(tmp_path, REGISTER)))
    assert sorted(entries_of(sqlite_store, "all")) == ["F01", "F02", "H001", "H002", "H003"]


def test_errors_name_the_sheet_and_row_of_each_sheet(sqlite_store, tmp_path):
    book = register_workbook(tmp_path / "reg.xlsx")
    from openpyxl import load_workbook
    wb = load_workbook(book)
    wb["Больницы"]["D8"] = "много"
    wb.save(book)
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, book, catalog="reg", version="1", profile=str(write_profile(tmp_path, REGISTER)))
    assert [str(p) for p in err.value.problems] == [
        f"{book}, sheet Больницы, row 8, column Коек: 'много' is not an integer (attribute beds)"]


@pytest.mark.parametrize("change, message", [
    (('name = "Филиалы"', 'name = "Филиал"'), "no sheet 'Филиал' in the workbook (sheets: Больницы, Филиалы)"),
    (('display = "Наименование / рус"', 'display = "Наименование"'),
     "sheet Больницы, row 4, column Наименование: missing column 'Наименование'"),
    (('header_row = 4\n', 'header_row = 3\n'), "sheet Больницы, row 3, column Наименование / рус: missing column "
                                           "'Наименование / рус' (the header has Код МО, Наименование, Наименование, "
                                           "Коек)"),
    (('code = "Код"', 'code = "Код филиала"'),
     "sheet Филиалы: no header found: none of the first 4 rows names all of the columns Код филиала "
     "(header_row = \"auto\")"),
])
def test_a_wrong_sheet_or_column_is_refused_naming_it(sqlite_store, tmp_path, change, message):
    book = register_workbook(tmp_path / "reg.xlsx")
    profile = write_profile(tmp_path, REGISTER.replace(*change))
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, book, catalog="reg", version="1", profile=str(profile))
    assert message in str(err.value.problems[0]), str(err.value.problems[0])
    assert not sqlite_store.has_catalog("reg")


@pytest.mark.parametrize("text, line, message", [
    (REGISTER.replace('header_rows = 2', 'header_rows = 0'), 11,
     "[[sheets]] #1.header_rows must be a number of rows from 1 to 10"),
    (REGISTER.replace('header_row = "auto"', 'header_row = "first"'), 16,
     "[[sheets]] #2.header_row must be a row number from 1, or \"auto\""),
    (REGISTER.replace('name = "Филиалы"', 'name = "Больницы"'), 15, "[[sheets]] #2.name 'Больницы' is listed twice"),
    (REGISTER.replace('header_rows = 2', 'header_rows = 2\nheader_colums = 3'), 12,
     "unknown key(s) header_colums in [[sheets]] #1"),
    (REGISTER.replace('[fields]\n', '[read]\nsheet = "Больницы"\n\n[fields]\n'), 23,
     "[read].sheet and [[sheets]] cannot both be given"),
    (REGISTER.replace('parents = "Головная"', 'parents = { column = "Головная", type = "date" }'), 20,
     "[[sheets]] #2.fields.parents.type applies to attributes only"),
    (REGISTER.replace('format = "xlsx"', 'format = "csv"'), 8, "[[sheets]] is for format xlsx"),
    (REGISTER.replace('header_rows = 2', 'header_rows = 2\nskip_hidden = "yes"'), 12,
     "[[sheets]] #1.skip_hidden must be true or false"),
])
def test_sheet_profile_mistakes_are_refused_with_the_line(tmp_path, text, line, message):
    path = write_profile(tmp_path, text)
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert err.value.message.startswith(f"profile {path}, line {line}: {message}"), err.value.message


def test_joined_header_spreads_merged_cells_and_counts_a_vertical_merge_once():
    rows = [["Код", "Наименование", "", "Коек"], ["", "рус", "каз", ""]]
    merged = [((3, 1), (3, 2)), ((3, 0), (4, 0))]
    assert joined_header(rows, 3, merged) == ["Код", "Наименование / рус", "Наименование / каз", "Коек"]
    assert joined_header(rows, 3, []) == ["Код", "Наименование / рус", "каз", "Коек"]


def test_letters():
    assert [letter_index(n) for n in ("$A", "$c", "$Z", "$AA", "$AZ", "A", "$1")] == [0, 2, 25, 26, 51, None, None]
    assert [letter_of(i) for i in (0, 25, 26, 51, 702)] == ["A", "Z", "AA", "AZ", "AAA"]
