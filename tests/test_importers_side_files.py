"""Several files in one import (importers/side_files.py): translations, attribute tables and groups joined to the
main file by code, as one version; `nsi import MAIN --with NAME=PATH` or a file the profile names."""

from __future__ import annotations

import pytest

from cli import cli
from importers import run_import
from importers.profile import ProfileError, load_profile
from registry.errors import BadRequest

PROFILE = '''[profile]
format = "csv"

[catalog]
title = "ICD-10 excerpt"
language = "de"

[fields]
code = "code"
display = "title"

[hierarchy]
code_prefix = true

[[with]]
name = "english"
role = "translations"
language = "en"
format = "csv"
[with.fields]
code = "code"
display = "title_en"

[[with]]
name = "flags"
role = "attributes"
format = "csv"
[with.read]
delimiter = ";"
[with.fields]
code = "CODE"
[with.fields.attributes]
sex = "SEX"
notifiable = { column = "REPORT", type = "boolean", true_values = ["J"], false_values = ["N"] }

[[with]]
name = "blocks"
role = "groups"
format = "fixed-width"
file = "blocks.txt"
[with.read.layout]
FROM = { start = 1, width = 3 }
TO = { start = 5, width = 3 }
TITLE = { start = 9, width = 40 }
[with.fields]
code = { compose = "{FROM}-{TO}" }
display = "TITLE"
'''

MAIN = "code,title\nA00,Cholera\nA00.0,Cholera durch Vibrio cholerae\nA01,Typhus abdominalis\nB15,Akute Virushepatitis A\n"
ENGLISH = "code,title_en\nA00,Cholera\nA00.0,Cholera due to Vibrio cholerae 01\nB15,Acute hepatitis A\n"
FLAGS = "CODE;SEX;REPORT\nA00;;J\nA01;;J\nB15;;N\n"
BLOCKS = ("A00 B99 Bestimmte infektiöse Krankheiten\nA00 A09 Infektiöse Darmkrankheiten\n"
          "B15 B19 Virushepatitis\n")


@pytest.fixture
def files(tmp_path):
    out = {}
    for name, text in (("main.csv", MAIN), ("en.csv", ENGLISH), ("flags.csv", FLAGS), ("blocks.txt", BLOCKS),
                       ("icd.toml", PROFILE)):
        out[name] = tmp_path / name
        out[name].write_text(text, encoding="utf-8")
    return out


def test_main_file_with_translations_attributes_and_groups_is_one_version(sqlite_store, files):
    report = run_import(sqlite_store, files["main.csv"], catalog="icd", version="1", profile=str(files["icd.toml"]),
                        with_files={"english": str(files["en.csv"]), "flags": str(files["flags.csv"])})
    e = {x["code"]: x for x in sqlite_store.iter_entries("icd", "1")}
    assert report.entries == len(e) == 7
    assert e["A00.0"]["designations"] == [{"language": "en", "use": "translation",
                                           "text": "Cholera due to Vibrio cholerae 01"}]
    assert e["A01"]["designations"] == []  # no English row: nothing added
    assert e["A00"]["attributes"] == {"notifiable": True} and e["B15"]["attributes"] == {"notifiable": False}
    # groups from the second file: each code goes under the narrowest range holding it, blocks under the chapter
    assert {c: x["parents"] for c, x in e.items()} == {
        "A00-B99": [], "A00-A09": ["A00-B99"], "B15-B19": ["A00-B99"], "A00": ["A00-A09"], "A00.0": ["A00"],
        "A01": ["A00-A09"], "B15": ["B15-B19"]}
    assert e["A00-A09"]["display"] == "Infektiöse Darmkrankheiten"


def test_the_cli_takes_side_files_by_name(sqlite_store, runner, files):
    result = runner.invoke(cli, ["import", str(files["main.csv"]), "--catalog", "icd", "--version", "1",
                                 "--profile", str(files["icd.toml"]), "--with", f"english={files['en.csv']}",
                                 "--with", f"flags={files['flags.csv']}"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("Staged draft icd 1: 7 entries; the catalog's first version (")


def test_a_new_side_file_is_a_new_source(sqlite_store, files):
    sides = {"english": str(files["en.csv"]), "flags": str(files["flags.csv"])}
    run_import(sqlite_store, files["main.csv"], catalog="icd", version="1", profile=str(files["icd.toml"]),
               with_files=sides, publish=True)
    files["en.csv"].write_text(ENGLISH.replace("Acute hepatitis A", "Acute viral hepatitis A"), encoding="utf-8")
    report = run_import(sqlite_store, files["main.csv"], catalog="icd", version="2", profile=str(files["icd.toml"]),
                        with_files=sides)
    assert (report.status, report.changed) == ("staged", 1)


def refused(runner, store, files, message):
    """`nsi import` of the main file with both side files: exit 1, the first error line, nothing stored."""
    result = runner.invoke(cli, ["import", str(files["main.csv"]), "--catalog", "icd", "--version", "1",
                                 "--profile", str(files["icd.toml"]), "--with", f"english={files['en.csv']}",
                                 "--with", f"flags={files['flags.csv']}"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: import rejected: {message}"
    assert lines[-1] == "Nothing was stored."
    assert not store.has_catalog("icd")


def test_a_side_code_the_main_file_lacks_names_the_side_file_row_and_column(sqlite_store, runner, files):
    files["flags.csv"].write_text(FLAGS + "C99;;J\n", encoding="utf-8")
    refused(runner, sqlite_store, files, f"{files['flags.csv']}, row 5, column CODE: code C99 is not in the main "
                                         f"file {files['main.csv']}: its attributes row joins no entry")


def test_a_bad_value_in_a_side_file_names_that_file(sqlite_store, runner, files):
    files["flags.csv"].write_text(FLAGS.replace("B15;;N", "B15;;vielleicht"), encoding="utf-8")
    refused(runner, sqlite_store, files, f"{files['flags.csv']}, row 4, column REPORT: 'vielleicht' is not a "
                                         f"yes/no value (attribute notifiable)")


def test_a_side_file_without_the_column_its_fields_name_is_refused_naming_it(sqlite_store, runner, files):
    files["en.csv"].write_text(ENGLISH.replace("title_en", "title_english"), encoding="utf-8")
    refused(runner, sqlite_store, files, f"{files['en.csv']}, row 1, column title_en: missing column 'title_en' "
                                         f"(the header has code, title_english): a misspelling of 'title_english'?")


def test_a_code_twice_in_a_side_file_names_both_rows(sqlite_store, runner, files):
    files["en.csv"].write_text(ENGLISH + "A00,Cholera again\n", encoding="utf-8")
    refused(runner, sqlite_store, files, f"{files['en.csv']}, row 5, column code: code A00 is listed twice in this "
                                         f"translations file (first at row 2)")


def test_a_missing_or_unknown_side_file_is_refused_before_reading(sqlite_store, files):
    with pytest.raises(BadRequest, match=r"profile icd joins the translations file 'english': give it with "
                                         r"--with english=PATH"):
        run_import(sqlite_store, files["main.csv"], catalog="icd", version="1", profile=str(files["icd.toml"]),
                   with_files={"flags": str(files["flags.csv"])})
    with pytest.raises(BadRequest, match=r"--with englisch: profile icd has no side file 'englisch' \(it joins "
                                         r"english, flags, blocks"):
        run_import(sqlite_store, files["main.csv"], catalog="icd", version="1", profile=str(files["icd.toml"]),
                   with_files={"englisch": str(files["en.csv"])})
    files["blocks.txt"].unlink()
    with pytest.raises(BadRequest, match=r"joins the groups file 'blocks', looked for at .*blocks.txt: no such file"):
        run_import(sqlite_store, files["main.csv"], catalog="icd", version="1", profile=str(files["icd.toml"]),
                   with_files={"english": str(files["en.csv"]), "flags": str(files["flags.csv"])})
    assert not sqlite_store.has_catalog("icd")


@pytest.mark.parametrize("change, line, message", [
    (('role = "translations"', 'role = "translation"'), 17,
     "[[with]] #1.role must be one of translations, attributes, groups (got 'translation')"),
    (('language = "en"\n', ''), 15, "[[with]] #1 brings translations: say their language"),
    (('display = "title_en"', 'display = { column = "title_en", type = "date" }'), 22,
     "[[with]] #1.fields.display.type applies to attributes only"),
    (('delimiter = ";"', 'delimiter = ";;"'), 29, "[[with]] #2.read.delimiter must be one character"),
    (('FROM = { start = 1, width = 3 }', 'FROM = { start = 1, width = 3 }\nCODE = { start = 2, width = 3 }'), 43,
     "[[with]] #3.read.layout.CODE (characters 2-4) overlaps [[with]] #3.read.layout.FROM (characters 1-3)"),
    (('name = "flags"', 'name = "english"'), 25, "[[with]] #2.name 'english' is used twice"),
    (('role = "groups"', 'role = "groups"\nuse = "synonym"'), 39, "[[with]] #3.use applies to role translations only"),
    (('file = "blocks.txt"', 'file = 3'), 40, "[[with]] #3.file must be a non-empty string"),
    (('format = "fixed-width"\n', ''), 36, "[[with]] #3 needs a format"),
    (('format = "fixed-width"', 'format = "dbf"'), 39, "[[with]] #3.format must be one of"),
])
def test_side_file_mistakes_are_refused_with_the_profile_line(tmp_path, change, line, message):
    path = tmp_path / "p.toml"
    path.write_text(PROFILE.replace(*change), encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert err.value.message.startswith(f"profile {path}, line {line}: {message}"), err.value.message


SIDE_JSON_PROFILE = """[profile]
format = "csv"
[catalog]
title = "T"
[read]
delimiter = ";"
[fields]
code = "code"
display = "name"
[[with]]
name = "english"
role = "translations"
language = "en"
format = "json"
file = "tr.json"
[with.fields]
code = "key"
display = "en"
"""


def test_a_json_side_file_joins_by_its_keys_and_a_path_it_lacks_names_the_main_profiles_line(
        sqlite_store, runner, tmp_path):
    (tmp_path / "main.csv").write_text("code;name\nA;Альфа\nB;Бета\n", encoding="utf-8")
    (tmp_path / "tr.json").write_text('{"A": {"en": "Alpha"}, "B": {"en": "Beta", "de": "Beta"}}', encoding="utf-8")
    good, bad = tmp_path / "p.toml", tmp_path / "bad.toml"
    good.write_text(SIDE_JSON_PROFILE, encoding="utf-8")
    bad.write_text(SIDE_JSON_PROFILE.replace('display = "en"', 'display = "eng"'), encoding="utf-8")
    result = runner.invoke(cli, ["import", str(tmp_path / "main.csv"), "--catalog", "t", "--version", "1",
                                 "--profile", str(bad)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"Error: import rejected: {tmp_path / 'tr.json'}, column eng: profile {bad}, line 18: "
                             f"[[with]] #1.fields.display reads the path 'eng', which matches nothing in any of the 2 "
                             f"records: a misspelling? (if files may lack it, say optional = true) (and 2 more "
                             f"errors)\n"
                             + "".join(f"  {tmp_path / 'tr.json'}, record {code}, column eng: the display path 'eng' "
                                       f"matches nothing in this record (declare it optional = true, or give a "
                                       f"default, if records may lack it)\n" for code in "AB")
                             + "Nothing was stored.\n")
    assert not sqlite_store.has_catalog("t")
    run_import(sqlite_store, tmp_path / "main.csv", catalog="t", version="1", profile=str(good))
    assert {e["code"]: e["designations"] for e in sqlite_store.iter_entries("t", "1")} == {
        "A": [{"language": "en", "use": "translation", "text": "Alpha"}],
        "B": [{"language": "en", "use": "translation", "text": "Beta"}]}
