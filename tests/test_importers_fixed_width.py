"""Fixed-width text (importers/formats/fixed_width.py): columns by position, header and trailer lines, encodings."""

from __future__ import annotations

import pytest

from importers import run_import
from registry.errors import BadRequest, ImportRejected

PROFILE = '''[profile]
format = "fixed-width"

[catalog]
title = "Fixed"
language = "ru"

[read]
encoding = "cp866"
header_lines = 2
trailer_lines = 1
null_values = ["-"]

[read.layout]
CODE = { start = 1, width = 6 }
PARENT = { start = 7, width = 6 }
NAME = { start = 13, end = 42 }
BEDS = { start = 43, width = 5 }

[fields]
code = "CODE"
display = "NAME"
parents = "PARENT"

[fields.attributes]
beds = { column = "BEDS", type = "integer" }
'''

LINES = [
    "REGISTER OF HOSPITALS            2024",
    "CODE  PARENTNAME                          BEDS",
    "H001        Городская больница №1           120",
    "",
    "H002  H001  Филиал на Ленина                  -",
    "H003  H001  Детское отделение",  # a short line: the columns past its end are empty
    "TOTAL 3",
]


def write(tmp_path, lines, profile=PROFILE, encoding="cp866"):
    data = tmp_path / "hospitals.txt"
    data.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    prof = tmp_path / "fixed.toml"
    prof.write_text(profile, encoding="utf-8")
    return data, str(prof)


def test_fixed_width_columns_by_position_skip_header_and_trailer(sqlite_store, tmp_path):
    data, profile = write(tmp_path, LINES)
    report = run_import(sqlite_store, data, catalog="h", version="1", profile=profile)
    assert report.entries == 3
    e = {x["code"]: x for x in sqlite_store.iter_entries("h", "1")}
    assert (e["H001"]["display"], e["H001"]["parents"], e["H001"]["attributes"]) == (
        "Городская больница №1", [], {"beds": 120})
    assert (e["H002"]["display"], e["H002"]["parents"], e["H002"]["attributes"]) == (
        "Филиал на Ленина", ["H001"], {})
    assert (e["H003"]["display"], e["H003"]["attributes"]) == ("Детское отделение", {})


def test_fixed_width_errors_name_the_line_and_column(sqlite_store, tmp_path):
    lines = LINES[:2] + ["H001        Городская больница №1           12O"] + LINES[-1:]
    data, profile = write(tmp_path, lines)
    with pytest.raises(ImportRejected) as caught:
        run_import(sqlite_store, data, catalog="h", version="1", profile=profile)
    assert [str(p) for p in caught.value.problems] == [
        f"{data}, row 3, column BEDS: '12O' is not an integer (attribute beds)"]


def test_fixed_width_file_of_only_header_and_trailer_is_refused(sqlite_store, tmp_path):
    data, profile = write(tmp_path, LINES[:2] + LINES[-1:])
    with pytest.raises(ImportRejected) as caught:
        run_import(sqlite_store, data, catalog="h", version="1", profile=profile)
    assert str(caught.value.problems[0]) == (
        f"{data}: the file has 3 line(s), all of them header (2) or trailer (1) lines: no records")


def test_fixed_width_is_never_guessed_and_needs_a_profile(sqlite_store, tmp_path):
    data, _ = write(tmp_path, LINES)
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="h", title="H"))
    with pytest.raises(BadRequest, match="format fixed-width needs a profile"):
        run_import(sqlite_store, data, catalog="h", version="1", format="fixed-width")
