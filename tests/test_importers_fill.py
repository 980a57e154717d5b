"""Values that a spreadsheet or table writes once for several rows: `fill_merged` (a cell merged over data rows,
xlsx) and `fill_down` (an empty cell takes the value above it; csv, fnsi, fixed-width, xlsx)."""

from __future__ import annotations

import pytest

from importers import run_import
from importers.profile import ProfileError, load_profile
from registry.errors import ImportRejected


def chapters_workbook(path, hide_row=None):
    """ICD-style rows whose chapter cell is merged down over its rows, and one name merged across two columns.

    | row | A (Глава)                          | B (Код) | C (Название)   | D (Примечание) |
    | 2   | I. Инфекции (merged A2:A4)         | A00     | Холера         |                |
    | 3   |                                    | A01     | Тиф            |                |
    | 4   |                                    | A02     | Сальмонеллез   | редкий         |
    | 5   | II. Новообразования (merged A5:A6) | C00     | Губа           |                |
    | 6   |                                    | C01     | Язык           |                |
    | 7   |                                    | D00     | Без главы (merged C7:D7)        |
    """
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "МКБ"
    for r in [["Глава", "Код", "Название", "Примечание"],
              ["I. Инфекции", "A00", "Холера", None], [None, "A01", "Тиф", None],
              [None, "A02", "Сальмонеллез", "редкий"], ["II. Новообразования", "C00", "Губа", None],
              [None, "C01", "Язык", None], [None, "D00", "Без главы", None]]:
        ws.append(r)
    for cells in ("A2:A4", "A5:A6", "C7:D7"):
        ws.merge_cells(cells)
    if hide_row:
        ws.row_dimensions[hide_row].hidden = True
    wb.save(path)
    return path


PROFILE = '''[profile]
format = "xlsx"
[catalog]
title = "МКБ"
[read]
sheet = "МКБ"
{read}
[fields]
code = "Код"
display = "Название"
[fields.attributes]
chapter = "Глава"
note = "Примечание"
'''


def import_with(store, tmp_path, read: str, book=None, catalog="icd"):
    book = book or chapters_workbook(tmp_path / "icd.xlsx")
    profile = tmp_path / f"{catalog}.toml"
    profile.write_text(PROFILE.format(read=read), encoding="utf-8")
    run_import(store, book, catalog=catalog, version="1", profile=str(profile))
    return {e["code"]: e["attributes"] for e in store.iter_entries(catalog, "1")}


def test_fill_merged_gives_a_merged_cells_text_to_every_row_and_column_it_covers(sqlite_store, tmp_path):
    assert import_with(sqlite_store, tmp_path, "fill_merged = true") == {
        "A00": {"chapter": "I. Инфекции"}, "A01": {"chapter": "I. Инфекции"},
        "A02": {"chapter": "I. Инфекции", "note": "редкий"},
        "C00": {"chapter": "II. Новообразования"}, "C01": {"chapter": "II. Новообразования"},
        "D00": {"note": "Без главы"}}  # A7 is merged with nothing: it stays empty; C7:D7 spreads across


def test_without_a_fill_key_a_merged_cell_is_only_its_top_left_cell(sqlite_store, tmp_path):
    assert import_with(sqlite_store, tmp_path, "") == {
        "A00": {"chapter": "I. Инфекции"}, "A01": {}, "A02": {"note": "редкий"},
        "C00": {"chapter": "II. Новообразования"}, "C01": {}, "D00": {}}


def test_fill_down_fills_every_empty_cell_of_the_column_with_the_value_above(sqlite_store, tmp_path):
    assert import_with(sqlite_store, tmp_path, 'fill_down = ["Глава"]') == {
        "A00": {"chapter": "I. Инфекции"}, "A01": {"chapter": "I. Инфекции"},
        "A02": {"chapter": "I. Инфекции", "note": "редкий"},
        "C00": {"chapter": "II. Новообразования"}, "C01": {"chapter": "II. Новообразования"},
        "D00": {"chapter": "II. Новообразования"}}  # unlike fill_merged, past the merge: nothing stops it


def test_a_merged_range_whose_top_row_is_hidden_still_fills_the_rows_shown(sqlite_store, tmp_path):
    book = chapters_workbook(tmp_path / "icd.xlsx", hide_row=5)
    assert import_with(sqlite_store, tmp_path, "fill_merged = true\nskip_hidden = true", book=book) == {
        "A00": {"chapter": "I. Инфекции"}, "A01": {"chapter": "I. Инфекции"},
        "A02": {"chapter": "I. Инфекции", "note": "редкий"},
        "C01": {"chapter": "II. Новообразования"}, "D00": {"note": "Без главы"}}


def test_fill_merged_per_sheet_and_under_a_two_row_header(sqlite_store, tmp_path):
    """A merged header is the header's (joined_header); only ranges below it fill data rows."""
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "Реестр"
    for r in [["Код", "Наименование", None], [None, "рус", "группа"], ["H1", "Больница", "Стационары"],
              ["H2", "Госпиталь", None], ["P1", "Поликлиника", "Амбулатории"]]:
        ws.append(r)
    for cells in ("A1:A2", "B1:C1", "C3:C4"):
        ws.merge_cells(cells)
    wb.save(tmp_path / "r.xlsx")
    (tmp_path / "r.toml").write_text('''[profile]
format = "xlsx"
[catalog]
title = "Реестр"
[[sheets]]
name = "Реестр"
header_rows = 2
fill_merged = true
[fields]
code = "Код"
display = "Наименование / рус"
[fields.attributes]
group = "Наименование / группа"
''', encoding="utf-8")
    run_import(sqlite_store, tmp_path / "r.xlsx", catalog="r", version="1", profile=str(tmp_path / "r.toml"))
    assert {e["code"]: e["attributes"] for e in sqlite_store.iter_entries("r", "1")} == {
        "H1": {"group": "Стационары"}, "H2": {"group": "Стационары"}, "P1": {"group": "Амбулатории"}}


def test_fill_down_in_a_csv_takes_the_value_of_a_skipped_group_row(sqlite_store, tmp_path):
    """A group line (no code, dropped by `skip`) still gives its chapter to the rows under it; a blank line
    neither takes nor gives a value."""
    (tmp_path / "g.csv").write_text("chapter;code;name\nI. Infections;;\n;A00;Cholera\n;;\n;A01;Typhoid\n"
                                    "II. Neoplasms;C00;Lip\n;C01;Tongue\n", encoding="utf-8")
    (tmp_path / "g.toml").write_text('''[profile]
format = "csv"
[catalog]
title = "G"
[read]
delimiter = ";"
fill_down = ["chapter"]
skip = [{ column = "code", empty = true }]
[fields]
code = "code"
display = "name"
[fields.attributes]
chapter = "chapter"
''', encoding="utf-8")
    run_import(sqlite_store, tmp_path / "g.csv", catalog="g", version="1", profile=str(tmp_path / "g.toml"))
    assert {e["code"]: e["attributes"] for e in sqlite_store.iter_entries("g", "1")} == {
        "A00": {"chapter": "I. Infections"}, "A01": {"chapter": "I. Infections"},
        "C00": {"chapter": "II. Neoplasms"}, "C01": {"chapter": "II. Neoplasms"}}


def test_fill_down_of_a_column_the_file_lacks_is_refused_naming_it(sqlite_store, tmp_path):
    with pytest.raises(ImportRejected) as err:
        import_with(sqlite_store, tmp_path, 'fill_down = ["Раздел"]')
    assert [str(p) for p in err.value.problems] == [
        f"{tmp_path / 'icd.xlsx'}, sheet МКБ, row 1, column Раздел: missing column 'Раздел' (the header has "
        f"Глава, Код, Название, Примечание)"]
    assert not sqlite_store.has_catalog("icd")


@pytest.mark.parametrize("fmt, read, message", [
    ("xlsx", 'fill_merged = "yes"', "[read].fill_merged must be true or false"),
    ("xlsx", 'fill_down = "Глава"', "[read].fill_down must be a list of strings (got the string 'Глава'; write "
                                   "['Глава'])"),
    ("csv", "fill_merged = true", "[read].fill_merged is a key of format xlsx, not csv: it does nothing here"),
    ("json", 'fill_down = ["Глава"]', "[read].fill_down is a key of format fnsi, xlsx, csv, fixed-width, not json"),
])
def test_fill_keys_of_the_wrong_type_or_format_are_refused(tmp_path, fmt, read, message):
    text = PROFILE.format(read=read).replace('format = "xlsx"', f'format = "{fmt}"').replace('sheet = "МКБ"\n', "")
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(str(tmp_path / "p.toml"))
    assert message in err.value.message, err.value.message


def test_a_sheets_fill_down_must_be_a_list_of_column_names(tmp_path):
    (tmp_path / "p.toml").write_text('[profile]\nformat = "xlsx"\n[[sheets]]\nname = "A"\nfill_down = "Глава"\n'
                                     '[fields]\ncode = "Код"\n', encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(str(tmp_path / "p.toml"))
    assert "[[sheets]] #1.fill_down must be a list of column names (got 'Глава')" in err.value.message
