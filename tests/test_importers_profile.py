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
    ({"profile": {"format": "xml"}, "read": {"records": ["item"]}, "fields": {"code": "/"}},
     "'/' is not an XML path this importer reads"),
    ({"profile": {"format": "xml"}, "read": {"records": ["item"]}, "fields": {"code": "@"}},
     "'@' is not an XML path this importer reads"),
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
