"""More hierarchy forms (importers/hierarchy.py): parent by code prefix or a declared pattern, by a level column and
row order, by lists of children; each wrong rule is refused with the profile line or the file, row and column."""

from __future__ import annotations

import pytest

from importers import run_import
from importers.profile import ProfileError, load_profile
from import_checks import assert_refused


def parents_of(store, slug="t", version="1"):
    return {e["code"]: e["parents"] for e in store.iter_entries(slug, version)}


def profile_with(tmp_path, hierarchy: str, fields: str = 'code = "code"\ndisplay = "name"\n'):
    path = tmp_path / "p.toml"
    path.write_text(f'[profile]\nformat = "csv"\n\n[catalog]\ntitle = "T"\n\n[fields]\n{fields}\n[hierarchy]\n'
                    f'{hierarchy}', encoding="utf-8")
    return path


def write(tmp_path, text, name="f.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_parent_by_the_longest_existing_code_prefix(sqlite_store, tmp_path):
    f = write(tmp_path, "code,name\nE66,Obesity\nE66811,Obesity class 1\nE669,Obesity unspecified\nE6681,Morbid\n")
    run_import(sqlite_store, f, catalog="t", version="1", profile=str(profile_with(tmp_path, "code_prefix = true\n")))
    assert parents_of(sqlite_store) == {"E66": [], "E66811": ["E6681"], "E669": ["E66"], "E6681": ["E66"]}


def test_parent_by_a_declared_pattern(sqlite_store, tmp_path):
    f = write(tmp_path, "code,name\n1,Section\n1.2,Chapter\n1.2.7,Item\n2,Other\n")
    profile = profile_with(tmp_path, 'parent_pattern = "^(.+)\\\\.[^.]+$"\n')
    run_import(sqlite_store, f, catalog="t", version="1", profile=str(profile))
    assert parents_of(sqlite_store) == {"1": [], "1.2": ["1"], "1.2.7": ["1.2"], "2": []}


def test_a_pattern_naming_a_parent_the_file_lacks_is_refused_with_the_code_column(sqlite_store, runner, tmp_path):
    f = write(tmp_path, "code,name\n1,Section\n3.1,Orphan\n")
    profile = profile_with(tmp_path, 'parent_pattern = "^(.+)\\\\.[^.]+$"\n')
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile)],
                   f"{f}, row 3, column code: entry 3.1 has unknown parent 3")


def test_parent_by_a_level_column_and_row_order(sqlite_store, tmp_path):
    f = write(tmp_path, "lvl,code,name\n1,I,Chapter one\n2,A00-A09,Block\n3,A00,Cholera\n3,A01,Typhoid\n"
                        "2,A15-A19,Tuberculosis\n3,A15,Respiratory TB\n1,II,Chapter two\n3,C00,Lip\n")
    run_import(sqlite_store, f, catalog="t", version="1", profile=str(profile_with(tmp_path, 'level = "lvl"\n')))
    assert parents_of(sqlite_store) == {"I": [], "A00-A09": ["I"], "A00": ["A00-A09"], "A01": ["A00-A09"],
                                        "A15-A19": ["I"], "A15": ["A15-A19"], "II": [], "C00": ["II"]}


def test_a_level_that_is_not_a_number_names_the_row_and_the_level_column(sqlite_store, runner, tmp_path):
    f = write(tmp_path, "lvl,code,name\n1,I,Chapter one\nzwei,A00,Cholera\n")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile_with(tmp_path, 'level = "lvl"\n'))],
                   f"{f}, row 3, column lvl: the level 'zwei' is not a whole number")


def test_parent_by_a_list_of_children(sqlite_store, tmp_path):
    f = write(tmp_path, "code,name,sub\nA,Alpha,A1 | A2\nA1,One,\nA2,Two,A2x\nA2x,Deep,\nB,Beta,\n")
    profile = profile_with(tmp_path, 'children = "sub"\nchildren_split = "|"\n')
    run_import(sqlite_store, f, catalog="t", version="1", profile=str(profile))
    assert parents_of(sqlite_store) == {"A": [], "A1": ["A"], "A2": ["A"], "A2x": ["A2"], "B": []}


def test_a_listed_child_no_row_has_names_the_row_and_the_children_column(sqlite_store, runner, tmp_path):
    f = write(tmp_path, "code,name,sub\nA,Alpha,\"A1,A9\"\nA1,One,\n")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile_with(tmp_path, 'children = "sub"\n'))],
                   f"{f}, row 2, column sub: child A9 is not the code of any row")


@pytest.mark.parametrize("hierarchy, line, message", [
    ('parent_pattern = "^(.+"\n', 12, "[hierarchy].parent_pattern '^(.+' is not a valid regular expression"),
    ('parent_pattern = "^.+\\\\."\n', 12, "[hierarchy].parent_pattern '^.+\\\\.' needs a group ( ) around the "
                                          "parent's code"),
    ('level = "lvl"\ncode_prefix = true\n', 12, "[hierarchy] can use only one of id/parent_id, code_levels, "
                                                "code_prefix, parent_pattern, level, children (has code_prefix, "
                                                "level)"),
    ('children_split = ","\n', 12, "[hierarchy].children_split needs [hierarchy].children"),
    ('level = 2\n', 12, "[hierarchy].level must be a non-empty string (got 2)"),
    ('parent_rule = "prefix"\n', 12, "unknown key(s) parent_rule in [hierarchy]"),
])
def test_a_bad_parent_rule_is_refused_with_the_profile_line(tmp_path, hierarchy, line, message):
    path = profile_with(tmp_path, hierarchy)
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert err.value.message.startswith(f"profile {path}, line {line}: {message}"), err.value.message


def test_a_level_column_the_file_lacks_is_refused_before_any_row(sqlite_store, runner, tmp_path):
    f = write(tmp_path, "code,name\nA,Alpha\n")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile_with(tmp_path, 'level = "depth"\n'))],
                   f"{f}, row 1, column depth: missing column 'depth' (the header has code, name)")


@pytest.mark.parametrize("hierarchy, rule", [
    ('parent_pattern = "^(.+)\\\\.[^.]+$"\n', "parent_pattern"),   # written for 1.2.7, the file has A01-style codes
    ("code_levels = [5, 7]\n", "code_levels"),                        # levels longer than every code
    ("code_prefix = true\n", "code_prefix"),
    ('level = "lvl"\n', "level"),                                   # one level throughout
    ('children = "sub"\n', "children"),                             # an empty children column
])
def test_a_parent_rule_that_gives_no_entry_a_parent_is_refused_with_its_line(sqlite_store, runner, tmp_path,
                                                                            hierarchy, rule):
    f = write(tmp_path, "lvl,code,name,sub\n1,A01,Alpha,\n1,B02,Beta,\n1,C03,Gamma,\n")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile_with(tmp_path, hierarchy))],
                   f"{f}: profile {tmp_path / 'p.toml'}, line 12: [hierarchy].{rule} gave none of the 3 entries a "
                   f"parent: does it fit this file's codes and columns? (a flat list needs no [hierarchy])")


def test_a_level_above_the_first_rows_names_the_row(sqlite_store, runner, tmp_path):
    f = write(tmp_path, "lvl,code,name\n2,A01,Alpha\n1,A,Chapter\n2,A02,Beta\n")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile_with(tmp_path, 'level = "lvl"\n'))],
                   f"{f}, row 3, column lvl: level 1 is above the first row's level 2: the rows before it have no "
                   f"parent (are the rows in tree order, each under the row it belongs to?)")
