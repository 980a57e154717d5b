"""The bad-file corpus (tests/data/bad, written by make_bad.py): each file is refused clearly, nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import cli
from import_checks import assert_refused

BAD = Path(__file__).resolve().parent / "data" / "bad"

CASES = [
    ("xxe.xml", ["--format", "claml"], "the XML document declares entities in its DOCTYPE; entity declarations "
                                       "are refused (they allow external-entity (XXE) and billion-laughs attacks)"),
    ("billion_laughs.xml", ["--format", "claml"], "the XML document declares entities in its DOCTYPE"),
    ("zip_bomb.xlsx", ["--profile", "atc-who-xlsx"], "the xlsx declares 4,096 MiB uncompressed, more than "
                                                     "NSI_XLSX_MAX_UNCOMPRESSED_MB=2048 (zip bomb?); refused"),
    ("truncated.xlsx", ["--profile", "atc-who-xlsx"], "not a readable xlsx file (truncated or damaged zip): "
                                                      "File is not a zip file"),
    ("cp1251_as_utf8.csv", ["--format", "csv"], "the file is not valid utf-8: byte 0xd5 at offset 56 cannot be "
                                                "decoded (declare the right encoding, e.g. cp1251, in the profile)"),
    ("duplicate_codes.csv", [], "row 4, column code: duplicate code A00 (first at row 2)"),
    ("unknown_parent.csv", [], "row 2, column parents: entry A00 has unknown parent A00-A09"),
    ("parent_cycle.csv", [], "row 2, column parents: entries A00 → A01 → A00 form a parent cycle"),
    ("wrong_header.csv", ["--profile", "atc-who"], "row 1: wrong header: profile atc-who expects columns atc_code, "
                                                   "atc_name, ddd, uom, adm_r, note; the file has Kod;Naimenovanie"),
    ("wrong_header.csv", [], "row 1: wrong header: a CSV without a profile must have the columns code, display"),
    ("empty.csv", ["--profile", "atc-who"], "the file is empty"),
    ("random.bin", ["--format", "csv"], "the file is not valid utf-8: byte 0x9e at offset 0 cannot be decoded"),
    ("random.bin", ["--profile", "atc-who-xlsx"], "not a readable xlsx file (truncated or damaged zip)"),
    ("random.bin", ["--format", "claml"], "not an XML document: it does not start with '<'"),
    ("random.bin", ["--format", "jsonl"], "the file is not valid utf-8: byte 0x9e at offset 0"),
    ("truncated.xml", ["--format", "claml"], "row 2: not well-formed XML (truncated or damaged?): Premature end of "
                                             "data in tag Label"),
    ("truncated.xml", ["--profile", "icd10-cm-tabular"], "not well-formed XML (truncated or damaged?)"),
]


@pytest.mark.parametrize("name, options, message", CASES, ids=[f"{c[0]} {' '.join(c[1])}" for c in CASES])
def test_bad_file_is_refused_and_nothing_is_left(sqlite_store, runner, name, options, message):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    assert_refused(runner, sqlite_store, BAD / name, options, message)


@pytest.mark.parametrize("name, options", [("unknown_parent.csv", ["--profile", "atc-who"]),
                                           ("zip_bomb.xlsx", ["--profile", "atc-who-xlsx"])])
def test_refused_import_leaves_no_catalog_it_would_have_created(store, runner, name, options):
    result = runner.invoke(cli, ["import", str(BAD / name), "--catalog", "atc-who", "--version", "1", *options])
    assert result.exit_code == 1
    assert not store.has_catalog("atc-who")


def test_corpus_files_are_tiny():
    assert all(p.stat().st_size < 4096 for p in BAD.iterdir() if p.suffix != ".py")


def test_entities_declared_behind_a_long_comment_are_refused(sqlite_store, tmp_path):
    from importers import run_import
    from registry.errors import ImportRejected
    f = tmp_path / "late.xml"
    f.write_bytes(b'<?xml version="1.0"?>\n<!--' + b"x" * (2 << 20) + b'-->\n'
                  b'<!DOCTYPE ClaML [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>\n<ClaML version="2.0.0">'
                  b'<Title name="x">X</Title><Class code="A00" kind="category"><Rubric kind="preferred">'
                  b'<Label xml:lang="en">&b;</Label></Rubric></Class></ClaML>\n')
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, f, catalog="late", version="1", format="claml")
    assert err.value.problems[0].message.startswith("the XML document declares entities in its DOCTYPE")
    assert not sqlite_store.has_catalog("late")


def test_an_undeclared_html_entity_is_named_not_called_damage(sqlite_store, tmp_path):
    from importers import run_import
    from registry.errors import ImportRejected
    f = tmp_path / "nbsp.xml"
    f.write_text('<ClaML version="2.0.0"><Title name="x">X</Title>\n<Class code="A00" kind="category">'
                 '<Rubric kind="preferred"><Label xml:lang="en">One&nbsp;two</Label></Rubric></Class></ClaML>\n',
                 encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, f, catalog="nbsp", version="1", format="claml")
    assert str(err.value.problems[0]) == (
        f"{f}, row 2: not well-formed XML (truncated or damaged?): Entity 'nbsp' not defined (HTML entities such as "
        f"&nbsp; are not XML: write the character itself, or &#160;)")
    assert not sqlite_store.has_catalog("nbsp")


def test_a_csv_named_xlsx_is_called_text(sqlite_store, runner, tmp_path):
    f = tmp_path / "register.xlsx"
    f.write_text("Код;Наименование\nA;Альфа\n", encoding="utf-8")
    profile = tmp_path / "x.toml"
    profile.write_text('[profile]\nname = "x"\nformat = "xlsx"\n[catalog]\ntitle = "X"\n'
                       '[fields]\ncode = "Код"\ndisplay = "Наименование"\n', encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--profile", str(profile)],
                   f"{f}: not an xlsx file: it holds text, not a zip (a CSV or text file named .xlsx? import it "
                   f"with a csv profile)", catalog="x")
