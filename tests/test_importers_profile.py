"""Import profiles (importers/profile.py): every shipped one validates, and a wrong one is refused naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from importers.profile import ProfileError, available_profiles, load_profile, validate

ROOT = Path(__file__).resolve().parent.parent


def test_every_shipped_profile_validates_and_is_documented():
    names = available_profiles()
    assert {"icd10-ru-fnsi", "icd10-who-simplexml", "icd10-cm-tabular", "icd10-de-dimdi", "atc-who",
            "drugs-kz-knf", "facilities-cms", "atc-who-xlsx"} <= set(names)
    docs = (ROOT / "docs" / "importers.md").read_text(encoding="utf-8")
    for name in names:
        profile = load_profile(name)
        assert profile.name == name
        assert f"`{name}`" in docs, f"profile {name} is not documented in docs/importers.md"


@pytest.mark.parametrize("data, message", [
    ({"profile": {"format": "dbf"}}, "[profile].format must be one of"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "reed": {}}, "unknown key(s) reed in the profile"),
    ({"profile": {"format": "csv"}, "fields": {"display": "d"}}, "[fields] needs a code"),
    ({"profile": {"format": "csv"}, "fields": {"code": {"column": "c", "regex": "(["}}},
     "[fields].code.regex '([' is not a valid regular expression"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c", "attributes": {"n": {"column": "n", "type": "int"}}}},
     "[fields].attributes.n.type 'int' is not one of string, integer, number, boolean, date"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"delimiter": ";;"}},
     "[read].delimiter must be one character"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"encoding": "klingon"}},
     "[read].encoding 'klingon' is not a known encoding"),
    ({"profile": {"format": "xml"}, "fields": {"code": "c"}}, "format xml needs [read].records"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "hierarchy": {"id": "ID"}},
     "[hierarchy] needs both id and parent_id"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "catalog": {"kind": "animal"}},
     "[catalog].kind must be one of"),
    # wrong TOML types: each one used to end in a traceback when the file was read
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"delimiter": 9}},
     "[read].delimiter must be a non-empty string (got 9)"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"quotechar": "ab"}},
     "[read].quotechar must be one character (got 'ab')"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"encoding": 1251}},
     "[read].encoding must be a non-empty string (got 1251)"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"encoding": "rot13"}},
     "[read].encoding 'rot13' is not a text encoding"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"strip_chars": ['"']}},
     "[read].strip_chars must be a string (got ['\"'])"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"null_values": "NULL"}},
     "[read].null_values must be a list of strings (got the string 'NULL'; write ['NULL'])"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"columns": "code"}},
     "[read].columns must be a list of strings (got the string 'code'; write ['code'])"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"skip": [{"column": "c", "matches": "("}]}},
     "[read].skip[0].matches '(' is not a valid regular expression"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "read": {"skip": [{"column": "c", "matches": 1}]}},
     "[read].skip[0].matches must be a string (got 1)"),
    ({"profile": {"format": "csv"}, "fields": {"code": {"column": "c", "regex": 5}}},
     "[fields].code.regex must be a string (got 5)"),
    ({"profile": {"format": "csv"}, "fields": {"code": {"column": "c", "strip": 1}}},
     "[fields].code.strip must be a string (got 1)"),
    ({"profile": {"format": "csv"}, "fields": {"code": {"column": "c", "template": ["{0}"]}}},
     "[fields].code.template must be a string (got ['{0}'])"),
    ({"profile": {"format": "csv"}, "fields": {"code": {"column": "c", "prefix": 1}}},
     "[fields].code.prefix must be a string (got 1)"),
    ({"profile": {"format": "csv"}, "fields": {"code": {"column": "c", "split": 0}}},
     "[fields].code.split must be a non-empty string (got 0)"),
    ({"profile": {"format": "csv"}, "fields": {"code": "c"}, "catalog": {"title": 5}},
     "[catalog].title must be a non-empty string (got 5)"),
    ({"profile": {"format": "xml"}, "read": {"records": "item"}, "fields": {"code": "@code"}},
     "[read].records must be a list of strings (got the string 'item'; write ['item'])"),
    ({"profile": {"format": "xml"}, "read": {"records": ["item"]}, "fields": {"code": "field[@name='x'"}},
     "[fields].code \"field[@name='x'\" is not an XPath this importer can evaluate (Invalid predicate)"),
    ({"profile": {"format": "xml"}, "read": {"records": ["item"]}, "fields": {"code": "@"}},
     "[fields].code '@' is not an XPath this importer can evaluate"),
])
def test_profile_validation_names_the_key(data, message):
    with pytest.raises(ProfileError) as err:
        validate(data, "x.toml")
    assert err.value.message.startswith("profile x.toml: ")
    assert message in err.value.message


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ProfileError, match=r"no profile 'nope' .*known profiles: .*icd10-ru-fnsi"):
        load_profile("nope")


def test_profile_that_is_not_toml(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[profile\nformat = 'csv'", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(str(bad))


def write(tmp_path, text: str, name: str = "p.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HEADERLESS = '''[profile]
format = "csv"

[read]
header = false
columns = ["CODE", "NAME", "PARENT"]

[fields]
code = "CODE"
display = { column = "NAME" }
'''


@pytest.mark.parametrize("tail, line, message", [
    ('parents = "PARNET"\n', 11, "[fields].parents names column 'PARNET', which [read].columns does not list "
                                 "(it lists CODE, NAME, PARENT): a misspelling?"),
    ('[fields.attributes]\nkind = { column = "KIND" }\n', 12,
     "[fields].attributes.kind.column names column 'KIND', which [read].columns does not list"),
    ('[[variants]]\nwhen = { column = "LEVEL", equals = "1" }\nfields = { status = { value = "inactive" } }\n', 12,
     "[[variants]] #1.when.column names column 'LEVEL', which [read].columns does not list"),
    ('[hierarchy]\nid = "CODE"\nparent_id = "PARENT_ID"\n', 13,
     "[hierarchy].parent_id names column 'PARENT_ID', which [read].columns does not list"),
    ('[fields.attributes]\nadded = { column = "NAME", date_format = "%d.%m.%Y" }\n', 12,
     "[fields].attributes.added.date_format applies to type = \"date\" only (the type is string)"),
    ('[fields.attributes]\nflag = { column = "NAME", typ = "boolean" }\n', 12, "unknown key(s) typ in "
                                                                            "[fields].attributes.flag"),
])
def test_profile_mistakes_are_refused_with_the_profile_line(tmp_path, tail, line, message):
    path = write(tmp_path, HEADERLESS + tail)
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert err.value.message.startswith(f"profile {path}, line {line}: {message}")
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].split()[0] in tail


def test_a_schema_field_no_attribute_fills_is_refused(tmp_path):
    path = write(tmp_path, '[profile]\nformat = "csv"\n[catalog]\ntitle = "T"\n\n[catalog.field_schema]\n'
                           'dose = "number"\ndoze_unit = "string"\n\n[fields]\ncode = "c"\n\n[fields.attributes]\n'
                           'dose = { column = "d", type = "number" }\ndose_unit = "u"\n')
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert err.value.message == (f"profile {path}, line 8: [catalog].field_schema.doze_unit is filled by no attribute "
                                 f"of [fields] or a variant (attributes: dose, dose_unit): a misspelling?")


def test_an_xml_namespace_nothing_uses_is_refused(tmp_path):
    path = write(tmp_path, '[profile]\nformat = "xml"\n[read]\nrecords = ["x:item"]\n'
                           'namespaces = { x = "urn:x", y = "urn:y" }\n[fields]\ncode = "x:code"\n')
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert err.value.message == (f"profile {path}, line 5: [read].namespaces.y is used by no record or path "
                                 f"(write y:name)")


def test_catalogs_dir_adds_profiles_to_the_shipped_ones(tmp_path, monkeypatch):
    own = tmp_path / "profiles"
    own.mkdir()
    write(own, '[profile]\nformat = "csv"\n[fields]\ncode = "c"\n', "local-codes.toml")
    write(own, '[profile]\nformat = "csv"\ndescription = "ours"\n[fields]\ncode = "c"\n', "atc-who.toml")
    shipped = set(available_profiles())
    monkeypatch.setenv("NSI_CATALOGS_DIR", str(own))
    assert set(available_profiles()) == shipped | {"local-codes"}
    assert load_profile("local-codes").path == own / "local-codes.toml"
    assert load_profile("atc-who").description == "ours"  # one's own profile of a shipped name replaces it
    assert load_profile("icd10-ru-fnsi").format == "fnsi"  # the shipped ones stay visible


FIXED = '''[profile]
format = "fixed-width"

[read]
layout = { CODE = { start = 1, width = 6 }, NAME = { start = 7, end = 40 } }
'''


@pytest.mark.parametrize("read, fields, message", [
    ("", 'code = "CODE"\ndisplay = "NAM"\n',
     "[fields].display names column 'NAM', which [read.layout] does not list (it lists CODE, NAME): a misspelling?"),
    ("header_lines = -1\n", 'code = "CODE"\n', "[read].header_lines must be a number of lines (got -1)"),
    ("skip_lines = 2\n", 'code = "CODE"\n', "unknown key(s) skip_lines in [read]"),
    ("sheet = 'x'\n", 'code = "CODE"\n', "[read].sheet is a key of format xlsx, not fixed-width: it does nothing here"),
])
def test_fixed_width_profile_mistakes(tmp_path, read, fields, message):
    path = write(tmp_path, FIXED + read + "[fields]\n" + fields)
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert message in err.value.message


@pytest.mark.parametrize("layout, message", [
    ("{ CODE = { start = 1, width = 6 }, NAME = { start = 6, end = 40 } }",
     "[read].layout.NAME (characters 6-40) overlaps [read].layout.CODE (characters 1-6)"),
    ("{ CODE = { start = 0, width = 6 } }", "[read].layout.CODE: start, width and end are character positions from 1"),
    ("{ CODE = { start = 1, width = 6, end = 6 } }", "[read].layout.CODE needs start and exactly one of width or end"),
    ("{ CODE = { start = 5, end = 2 } }", "[read].layout.CODE: end 2 is before start 5"),
    ("{ CODE = { begin = 1, width = 2 } }", "[read].layout.CODE must be a table of start and width (or end)"),
])
def test_fixed_width_layout_mistakes(tmp_path, layout, message):
    path = write(tmp_path, f'[profile]\nformat = "fixed-width"\n[read]\nlayout = {layout}\n[fields]\ncode = "CODE"\n')
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert err.value.message.startswith(f"profile {path}, line 4: {message}")


def test_every_profile_key_is_in_the_one_table_of_docs_importers():
    """docs/importers.md lists each key the code accepts, in its section and for the formats that read it."""
    import re
    from importers import profile as p, side_files
    from importers.formats import FORMATS, xlsx
    text = (ROOT / "docs" / "importers.md").read_text(encoding="utf-8")
    table = text[text.index("### Every profile key"):]
    table = table[:table.index("\n\n", table.index("|---|"))]
    documented = {}
    for section, key, formats in re.findall(r"^\| ([^|]+?) \| `([^`]+)` \| ([^|]+?) \|", table, re.M):
        assert (section, key) not in documented, f"{section} {key} is in the table twice"
        documented[(section, key)] = formats
    read_formats = {key: "all" for key in p.READ_KEYS}
    for name, module in FORMATS.items():
        for key in getattr(module, "READ_KEYS", ()):
            read_formats[key] = ", ".join(sorted(set(read_formats.get(key, "").split(", ")) - {""} | {name}))
    expected = {("(top)", k) for k in p.TOP_KEYS} | {("`[profile]`", k) for k in p.PROFILE_KEYS} \
        | {("`[catalog]`", k) for k in p.CATALOG_KEYS} | {("`[read]`", k) for k in read_formats} \
        | {("skip / when", k) for k in p.SKIP_KEYS} | {("`[fields]`", k) for k in p.FIELD_NAMES} \
        | {("`[[variants]]`", k) for k in ("when", "fields")} | {("spec", k) for k in p.SPEC_KEYS} \
        | {("`[hierarchy]`", k) for k in p.HIERARCHY_KEYS} | {("`[[sheets]]`", k) for k in xlsx.SHEET_KEYS} \
        | {("`[[with]]`", k) for k in side_files.WITH_KEYS}
    assert sorted(expected - set(documented)) == [], "profile keys missing from docs/importers.md"
    assert sorted(set(documented) - expected) == [], "keys in docs/importers.md that profiles do not have"
    for key, formats in read_formats.items():
        assert documented[("`[read]`", key)] == formats, f"[read].{key} is read by {formats}"


def test_the_line_of_a_key_in_the_second_of_several_array_tables(tmp_path):
    path = write(tmp_path, '[profile]\nformat = "csv"\n\n[fields]\ncode = "c"\n\n[[fields.designations]]\ncolumn = "a"\n'
                           'language = "en"\n\n[[fields.designations]]\ncolumn = "b"\nlanguag = "ru"\n')
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert err.value.message.startswith(f"profile {path}, line 13: unknown key(s) languag in [fields].designations[1]")


@pytest.mark.parametrize("fields, message", [
    ('code = { column = "c", type = "integer" }\n', "[fields].code.type applies to attributes only: it would do "
                                                    "nothing here"),
    ('code = "c"\ndisplay = { column = "d", split = "|" }\n', "[fields].display.split applies to parents and "
                                                              "designations and attributes only"),
    ('code = "c"\n[fields.attributes]\nx = { column = "d", language = "en" }\n',
     "[fields].attributes.x.language applies to designations only"),
])
def test_a_spec_key_that_does_nothing_for_its_field_is_refused(tmp_path, fields, message):
    path = write(tmp_path, '[profile]\nformat = "csv"\n[fields]\n' + fields)
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert message in err.value.message and f"profile {path}, line " in err.value.message


def test_nsi_profiles_lists_ones_own_profiles_and_names_a_broken_one_with_its_line(tmp_path, monkeypatch, runner):
    from cli import cli
    own = tmp_path / "profiles"
    own.mkdir()
    write(own, '[profile]\nformat = "csv"\ndescription = "ours"\n[catalog]\nslug = "ours"\n[fields]\ncode = "c"\n',
          "local-codes.toml")
    write(own, '[profile]\nformat = "csv"\n[fields]\ncode = "c"\ndispaly = "d"\n', "mine.toml")
    monkeypatch.setenv("NSI_CATALOGS_DIR", str(own))
    result = runner.invoke(cli, ["profiles"])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: profile {own / 'mine.toml'}, line 5: unknown key(s) dispaly in [fields] "
                             f"(allowed: attributes, code, designations, display, parents, status)\n")
    listed = result.stdout.splitlines()
    assert "local-codes\tcsv\tours\tours" in listed
    assert [line.split("\t")[0] for line in listed] == sorted(set(available_profiles()) - {"mine"})
