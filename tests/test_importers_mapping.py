"""Problems name the column as the file names it (importers/mapper.py `FieldSet.columns`, Position.column_for).

The store and the hierarchy step check canonical fields (code, parents,
status, attributes); the operator fixing the file needs the file's own column:
`MKB_CODE`, `ID_PARENT`, `ACTUAL`, a profile's `Facility code` or XML path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from import_checks import assert_refused
from registry.errors import ImportRejected

DATA = Path(__file__).resolve().parent / "data" / "importers"
HOSPITALS = str(DATA / "hospitals.toml")
FNSI_HEADER = "ID;REC_CODE;MKB_CODE;MKB_NAME;ID_PARENT;ADDL_CODE;ACTUAL;DATE\n"


def fnsi_file(tmp_path, rows: str, header: str = FNSI_HEADER) -> Path:
    f = tmp_path / "fnsi.csv"
    f.write_text(header + rows, encoding="utf-8")
    return f


@pytest.mark.parametrize("rows, message", [
    ("1;01;A00;Холера;;;1;\n2;02;;Холера неуточненная;1;;1;\n", "row 3, column MKB_CODE: empty code"),
    ("1;01;A00;Холера;;;1;\n2;02;A00;Холера неуточненная;1;;1;\n",
     "row 3, column MKB_CODE: duplicate code A00 (first at row 2)"),
    ("1;01;A00;Холера;;;2;\n", "row 2, column ACTUAL: '2' is not a status value of profile icd10-ru-fnsi, which "
                               "knows 1 (active), 0 (inactive)"),
    ("1;01;A00;Холера;;;1;\n2;02;A00.0;Холера 01;77;;1;\n",
     "row 3, column ID_PARENT: parent identifier 77 is not the ID of any row"),
])
def test_fnsi_problems_name_the_fnsi_column(sqlite_store, runner, tmp_path, rows, message):
    f = fnsi_file(tmp_path, rows)
    assert_refused(runner, sqlite_store, f, ["--profile", "icd10-ru-fnsi"], f"{f}, {message}", catalog="icd10-ru")


def test_fnsi_columns_are_named_as_the_file_spells_them(sqlite_store, runner, tmp_path):
    f = fnsi_file(tmp_path, "1;01;A00;Холера;;;1;\n2;02;A00.0;Холера 01;77;;1;\n", header=FNSI_HEADER.lower())
    assert_refused(runner, sqlite_store, f, ["--profile", "icd10-ru-fnsi"],
                   f"{f}, row 3, column id_parent: parent identifier 77 is not the id of any row", catalog="icd10-ru")
    f = fnsi_file(tmp_path, "1;01;A00;Холера;;;1;\n2;02;A00;Холера;;;1;\n", header=FNSI_HEADER.lower())
    assert_refused(runner, sqlite_store, f, ["--profile", "icd10-ru-fnsi"],
                   f"{f}, row 3, column mkb_code: duplicate code A00", catalog="icd10-ru")


def test_fnsi_without_profile_names_the_code_column(sqlite_store, runner, tmp_path):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "units.csv"
    f.write_text("ID;CODE;NAME;ID_PARENT\n1;10;Масса;\n2;10;Килограмм;1\n", encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "fnsi"],
                   f"{f}, row 3, column CODE: duplicate code 10 (first at row 2)")


@pytest.mark.parametrize("rows, message", [
    ("F-1;A;N;5;2000-01-01;no\nF-1;B;N;3;2000-01-01;no\n",
     "row 3, column Facility code: duplicate code F-1 (first at row 2)"),
    (";A;N;5;2000-01-01;no\n", "row 2, column Facility code: empty code"),
])
def test_profile_csv_problems_name_the_profile_column(sqlite_store, runner, tmp_path, rows, message):
    f = tmp_path / "h.csv"
    f.write_text("Facility code;Name;Region;Beds;Opened;Has emergency\n" + rows, encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", HOSPITALS], f"{f}, {message}", catalog="hospitals")


def test_store_attribute_problems_name_the_profile_column(sqlite_store, runner, tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text('[profile]\nname = "p"\nformat = "csv"\n'
                       '[catalog]\ntitle = "P"\n[catalog.field_schema]\nbeds = "integer"\n'
                       '[fields]\ncode = "Code"\ndisplay = "Name"\nparents = "Parent code"\n'
                       '[fields.attributes]\nbeds = "Number of beds"\n', encoding="utf-8")
    f = tmp_path / "p.csv"
    f.write_text("Code,Name,Parent code,Number of beds\nA,Alpha,,\nB,Beta,Z,\n", encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile)],
                   f"{f}, row 3, column Parent code: entry B has unknown parent Z", catalog="p")
    f.write_text("Code,Name,Parent code,Number of beds\nA,Alpha,,many\n", encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile)],
                   f"{f}, row 2, column Number of beds: attribute 'beds' must be of type integer", catalog="p")


def test_code_level_parent_names_the_code_column(sqlite_store, runner, tmp_path):
    f = tmp_path / "atc.csv"
    f.write_text("atc_code,atc_name,ddd,uom,adm_r,note\nA,ALIMENTARY,NA,NA,NA,NA\nA02B,ULCER,NA,NA,NA,NA\n",
                 encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", "atc-who"],
                   f"{f}, row 3, column atc_code: entry A02B has unknown parent A02", catalog="atc-who")


def test_xml_problems_name_the_profile_path(sqlite_store, runner, tmp_path):
    xml = tmp_path / "cm.xml"
    xml.write_text("""<?xml version="1.0"?><ICD10CM.tabular>
<chapter><name>1</name><desc>Certain infectious diseases (A00-B99)</desc>
 <section id="A00-A09"><desc>Intestinal infectious diseases (A00-A09)</desc>
  <diag><name>A00</name><desc>Cholera</desc></diag>
  <diag><name>A00</name><desc>Cholera again</desc></diag>
 </section></chapter></ICD10CM.tabular>""", encoding="utf-8")
    assert_refused(runner, sqlite_store, xml, ["--profile", "icd10-cm-tabular"],
                   f"{xml}, row 5, column name: duplicate code A00 (first at row 4)", catalog="icd10-cm")


def test_canonical_csv_keeps_its_own_column_names(sqlite_store, runner, tmp_path):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "export.csv"
    f.write_text("code,display,parents,status,designations,attributes\nA00,Cholera,,retired,,\n", encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "csv"], f"{f}, row 2, column status: status 'retired'")


def test_xlsx_problems_name_the_sheet_and_its_header(sqlite_store, runner, tmp_path):
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Реестр")
    for r in [["Register of facilities"], [], ["код мо", "Наименование", "Коек"], ["F-1", "Central", 5],
              ["F-2", "Riverside", "many"], ["F-1", "Central again", 3]]:
        ws.append(r)
    book = tmp_path / "f.xlsx"
    wb.save(book)
    profile = tmp_path / "f.toml"
    profile.write_text('[profile]\nname = "f"\nformat = "xlsx"\n[catalog]\ntitle = "F"\n'
                       '[catalog.field_schema]\nbeds = "integer"\n[read]\nsheet = "Реестр"\nheader_row = 3\n'
                       '[fields]\ncode = "Код МО"\ndisplay = "Наименование"\n[fields.attributes]\nbeds = { column = "Коек", type = "integer" }\n',
                       encoding="utf-8")
    line = assert_refused(runner, sqlite_store, book, ["--profile", str(profile)],
                          f"{book}, sheet Реестр, row 5, column Коек: 'many' is not an integer (attribute beds)",
                          catalog="f")
    assert line.endswith("(and 1 more error)")
    from importers import run_import
    from registry.errors import ImportRejected
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, book, catalog="f", version="1", profile=str(profile))
    assert str(err.value.problems[1]) == (f"{book}, sheet Реестр, row 6, column код мо: duplicate code F-1 "
                                          f"(first at row 4)")


def test_each_variant_names_its_own_code_column(sqlite_store, runner, tmp_path):
    profile = tmp_path / "v.toml"
    profile.write_text('[profile]\nname = "v"\nformat = "csv"\n[catalog]\ntitle = "V"\n'
                       '[fields]\ncode = "Group"\ndisplay = "Name"\n'
                       '[[variants]]\nwhen = { column = "Product", empty = false }\n'
                       '[variants.fields]\ncode = "Product"\nparents = "Group"\n', encoding="utf-8")
    f = tmp_path / "v.csv"
    f.write_text("Group,Product,Name\nG1,,Group one\nG1,P1,Product one\nG1,P1,Product one again\n",
                 encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile)],
                   f"{f}, row 4, column Product: duplicate code P1 (first at row 3)", catalog="v")


def test_enclosing_record_parent_is_named_by_its_code_path(sqlite_store, runner, tmp_path):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    profile = tmp_path / "nested.toml"
    profile.write_text('[profile]\nname = "nested"\nformat = "xml"\n[read]\nrecords = ["group", "item"]\n'
                       'skip = [{ column = "@code", equals = ["G"] }]\n'
                       '[fields]\ncode = "@code"\ndisplay = "name"\n', encoding="utf-8")
    f = tmp_path / "nested.xml"  # the skipped group G is still the enclosing record of item I1
    f.write_text('<?xml version="1.0"?>\n<list>\n<group code="G"><name>Group</name>\n'
                 '<item code="I1"><name>Item</name></item></group>\n</list>\n', encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile)],
                   "column @code of the enclosing record: entry I1 has unknown parent G")


TYPED_PROFILE = ('[profile]\nname = "typed"\nformat = "{fmt}"\n[catalog]\ntitle = "Typed"\n{read}'
                 '[fields]\ncode = "Code"\ndisplay = "Name"\n[fields.attributes]\n'
                 'beds = {{ column = "Beds", type = "integer" }}\nshare = {{ column = "Share", type = "number" }}\n'
                 'opened = {{ column = "Opened", type = "date", date_format = "%d.%m.%Y" }}\n'
                 'open = {{ column = "Open", type = "boolean", true_values = ["да"], false_values = ["нет"] }}\n')


def typed_profile(tmp_path, fmt="csv", read=""):
    profile = tmp_path / "typed.toml"
    profile.write_text(TYPED_PROFILE.format(fmt=fmt, read=read), encoding="utf-8")
    return str(profile)


@pytest.mark.parametrize("beds, share, message", [
    ("nan", "1", "column Beds: 'nan' is not an integer (attribute beds)"),
    ("inf", "1", "column Beds: 'inf' is not an integer (attribute beds)"),
    ("1e3", "1", "column Beds: '1e3' is not an integer (attribute beds)"),
    ("1,000", "1", "column Beds: '1,000' is ambiguous: the integer 1 written with decimals, or 1000 with a thousands "
                   "separator? Write it without separators (attribute beds)"),
    ("5", "NaN", "column Share: 'NaN' is not a finite number (attribute share)"),
    ("5", "-inf", "column Share: '-inf' is not a finite number (attribute share)"),
    ("5", "1,234.5", "column Share: '1,234.5' is not a number (both ',' and '.': which one is the decimal separator?)"),
])
def test_typed_cells_that_would_change_or_break_are_refused(sqlite_store, runner, tmp_path, beds, share, message):
    f = tmp_path / "t.csv"
    f.write_text(f"Code,Name,Beds,Share,Opened,Open\nA,Alpha,\"{beds}\",\"{share}\",31.01.2024,да\n", encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", typed_profile(tmp_path)], f"{f}, row 2, {message}",
                   catalog="t")


def test_typed_cells_are_read_exactly(sqlite_store, tmp_path):
    from importers import run_import
    f = tmp_path / "t.csv"
    f.write_text("Code,Name,Beds,Share,Opened,Open\n"
                 "A,Alpha,9007199254740993,\"0,125\",31.01.2024,да\n"
                 "B,Beta,1 200,12,2024-02-29,нет\n"
                 "C,Gamma,12.0,1.5,,\n", encoding="utf-8")
    run_import(sqlite_store, f, catalog="t", version="1", profile=typed_profile(tmp_path), publish=True)
    got = {code: sqlite_store.lookup("t", code)["attributes"] for code in "ABC"}
    # Beyond 2**53 an integer read through a float would have become ...992; the ISO date is what a
    # spreadsheet's own date cell gives, taken whatever date_format says.
    assert got == {"A": {"beds": 9007199254740993, "open": True, "opened": "2024-01-31", "share": 0.125},
                   "B": {"beds": 1200, "open": False, "opened": "2024-02-29", "share": 12},
                   "C": {"beds": 12, "share": 1.5}}


def test_xlsx_date_and_boolean_cells_pass_a_text_format(sqlite_store, tmp_path):
    from datetime import date
    from openpyxl import Workbook
    from importers import run_import
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("S")
    ws.append(["Code", "Name", "Beds", "Share", "Opened", "Open"])
    ws.append(["A", "Alpha", 5, 0.5, date(2024, 1, 31), True])
    ws.append(["B", "Beta", 6.0, 2, "01.02.2024", "нет"])
    book = tmp_path / "t.xlsx"
    wb.save(book)
    run_import(sqlite_store, book, catalog="t", version="1", profile=typed_profile(tmp_path, "xlsx", '[read]\nsheet = "S"\n'),
               publish=True)
    assert sqlite_store.lookup("t", "A")["attributes"] == {"beds": 5, "open": True, "opened": "2024-01-31", "share": 0.5}
    assert sqlite_store.lookup("t", "B")["attributes"] == {"beds": 6, "open": False, "opened": "2024-02-01", "share": 2}


def test_a_column_the_header_has_twice_is_refused(sqlite_store, runner, tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("Code,Name,Beds,Share,Opened,Open,name\nA,Alpha,1,1,31.01.2024,да,Альфа\n", encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", typed_profile(tmp_path)],
                   f"{f}, row 1, column Name: column 'Name' appears 2 times in the header (columns 2, 7): rename all "
                   f"but one, so the profile reads the right one", catalog="t")
    f.write_text("Code,Name,Beds,Share,Opened,Open,Note,Note\nA,Alpha,1,1,31.01.2024,да,x,y\n", encoding="utf-8")
    from importers import run_import
    report = run_import(sqlite_store, f, catalog="t", version="1", profile=typed_profile(tmp_path))
    assert report.entries == 1  # a repeated column the profile does not read is no problem


def test_a_status_value_the_profile_does_not_map_names_the_values_it_does(sqlite_store, runner, tmp_path):
    f = fnsi_file(tmp_path, "1;01;A00-A09;Кишечные инфекции;;;7;\n2;02;A00;Холера;1;;1;\n")
    line = assert_refused(runner, sqlite_store, f, ["--profile", "icd10-ru-fnsi"],
                          f"{f}, row 2, column ACTUAL: '7' is not a status value of profile icd10-ru-fnsi, which "
                          f"knows 1 (active), 0 (inactive)", catalog="icd10-ru")
    assert "more error" not in line  # the child A00 is not reported as an orphan as well


TRANSFORM_PROFILE = '''[profile]
format = "csv"
[catalog]
title = "T"
language = "ru"
[read]
skip = [{ column = "kind", equals = "total" }]
[fields]
code = { column = "code", replace_regex = [["\\\\s+", ""]], insert = { at = 3, text = "." } }
display = { compose = "{name} ({form})", replace = { "ё" = "е" }, case = "capitalize" }
status = { column = "state", map = { "1" = "active", "0" = "inactive" }, map_strict = true }
[fields.attributes]
form = { column = "form", map = { "tab" = "tablets", "inj" = "injection" }, map_strict = true, upper = true }
'''


def test_value_transforms_replace_compose_insert_case_map_and_skip(sqlite_store, tmp_path):
    from importers import run_import
    profile = tmp_path / "t.toml"
    profile.write_text(TRANSFORM_PROFILE, encoding="utf-8")
    f = tmp_path / "t.csv"
    f.write_text("code,name,form,state,kind\nA01 00,ёлочный сбор,tab,1,item\nA0200,вода,inj,0,item\n"
                 "B01,,,1,item\nTOTAL,,,,total\n", encoding="utf-8")
    run_import(sqlite_store, f, catalog="t", version="1", profile=str(profile))
    e = {x["code"]: x for x in sqlite_store.iter_entries("t", "1")}
    assert {c: (x["display"], x["status"], x["attributes"]) for c, x in e.items()} == {
        "A01.00": ("Елочный сбор (tab)", "active", {"form": "TABLETS"}),
        "A02.00": ("Вода (inj)", "inactive", {"form": "INJECTION"}),
        "B01": ("", "active", {}),  # nothing to compose, nothing to insert into a code of three characters
    }


def test_a_transform_that_cannot_handle_a_value_names_row_field_and_transform(sqlite_store, tmp_path):
    from importers import run_import
    profile = tmp_path / "t.toml"
    profile.write_text(TRANSFORM_PROFILE, encoding="utf-8")
    f = tmp_path / "t.csv"
    f.write_text("code,name,form,state,kind\nA0100,сбор,tab,1,item\nA0200,вода,caps,1,item\nA0300,x,tab,2,item\n",
                 encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        run_import(sqlite_store, f, catalog="t", version="1", profile=str(profile))
    assert [str(p) for p in caught.value.problems] == [
        f"{f}, row 3, column form: 'caps' is not a value the map names (it names inj, tab) "
        f"(field attributes.form, transform map)",
        f"{f}, row 4, column state: '2' is not a value the map names (it names 0, 1) (field status, transform map)"]
    assert not sqlite_store.has_catalog("t")


@pytest.mark.parametrize("spec, message", [
    ('{ column = "c", insert = { at = 0, text = "." } }', "[fields].code.insert must be { at = "),
    ('{ column = "c", replace_regex = [["(", ""]] }', "[fields].code.replace_regex '(' -> '' is not a valid"),
    ('{ column = "c", replace_regex = ["a", "b"] }', "[fields].code.replace_regex must be a list of"),
    ('{ column = "c", case = "camel" }', "[fields].code.case must be one of upper, lower, title, capitalize"),
    ('{ column = "c", map_strict = true }', "[fields].code.map_strict needs a map"),
    ('{ compose = "CODE-SUB" }', "[fields].code.compose 'CODE-SUB' names no column"),
    ('{ compose = "{CODE}.{SUBB}" }', "[fields].code.compose names column 'SUBB', which [read].columns does not list"),
])
def test_transform_mistakes_are_refused_with_the_profile_line(tmp_path, spec, message):
    from importers.profile import ProfileError, load_profile
    path = tmp_path / "p.toml"
    path.write_text(f'[profile]\nformat = "csv"\n[read]\ncolumns = ["c", "CODE", "SUB"]\n[fields]\ncode = {spec}\n',
                    encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert err.value.message.startswith(f"profile {path}, line 6: {message}")
