"""`nsi match` and `nsi index rebuild` through click's CliRunner, whole outputs and errors."""

from __future__ import annotations

import csv
import re

import pytest

from cli import cli
from registry.models import CatalogCreate

TARGET = [
    {"code": "N02BE01", "display": "paracetamol"},
    {"code": "D01AC01", "display": "clotrimazole"},
    {"code": "A01AB09", "display": "miconazole"},
]


@pytest.fixture
def atc(store):
    store.create_catalog(CatalogCreate(slug="atc", title="ATC", kind="drug", language="en"))
    store.stage_draft("atc", "2026", TARGET, source_name="test")
    store.publish("atc", "2026")
    return store


def seconds_free(text: str) -> str:
    return re.sub(r"\(\d+\.\d s\)", "(S s)", text)


def test_match_writes_the_contract_columns(atc, runner, tmp_path):
    local = tmp_path / "local.csv"
    local.write_text("local_code,local_name,form\nK1,Клотримазол,крем\nK2,Парацетамол,\n", encoding="utf-8")
    out = tmp_path / "candidates.csv"
    result = runner.invoke(cli, ["match", "--target", "atc@2026", "--input", str(local), "--output", str(out),
                                 "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert seconds_free(result.output) == (f"Matched 2 entries against atc 2026: 2 candidates written to {out} "
                                           "(S s)\n")
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows == [
        ["local_code", "local_name", "rank", "target_code", "target_display", "score", "reason"],
        ["K1", "Клотримазол", "1", "D01AC01", "clotrimazole", "100.0",
         'display "clotrimazole": same words after normalisation'],
        ["K2", "Парацетамол", "1", "N02BE01", "paracetamol", "100.0",
         'display "paracetamol": same words after normalisation'],
    ]
    # miconazole shares no word with Клотримазол, so no second candidate is proposed for it


def test_match_a_catalog_version_already_in_the_registry(atc, runner, tmp_path):
    atc.create_catalog(CatalogCreate(slug="kz", title="KZ", kind="drug", language="ru"))
    atc.stage_draft("kz", "1", [{"code": "KZ1", "display": "Миконазол"}], source_name="test")
    atc.publish("kz", "1")
    out = tmp_path / "c.csv"
    result = runner.invoke(cli, ["match", "--target", "atc", "--source", "kz@1", "--output", str(out),
                                 "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert list(csv.reader(out.open(encoding="utf-8")))[1][:6] == ["KZ1", "Миконазол", "1", "A01AB09",
                                                                   "miconazole", "100.0"]


def test_index_rebuild(atc, runner):
    result = runner.invoke(cli, ["index", "rebuild", "atc", "2026"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"Rebuilt the match index of atc 2026: 3 entries, 3 names, \d+\.\d MB in \d+\.\d s\n",
                        result.output)


@pytest.mark.parametrize("content, message", [
    ("local_code,name\nK1,x\n", "{path}: missing column(s) local_name in the header row (found: local_code, name)"),
    ("local_code,local_name\nK1,x\nK2,\n", "{path}, row 3, column local_name: the name is empty"),
    ("", "{path}: the file is empty; it needs a header row with local_code,local_name"),
])
def test_match_refuses_bad_input_files(atc, runner, tmp_path, content, message):
    local = tmp_path / "local.csv"
    local.write_text(content, encoding="utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["match", "--target", "atc", "--input", str(local), "--output", str(out)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: {message.format(path=local)}\n"
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))


def test_match_refuses_a_broken_workbook_and_other_types(atc, runner, tmp_path):
    broken = tmp_path / "local.xlsx"
    broken.write_bytes(b"this is not a zip file")
    result = runner.invoke(cli, ["match", "--target", "atc", "--input", str(broken), "--output",
                                 str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {broken}: not a readable XLSX workbook: ")
    other = tmp_path / "local.pdf"
    other.write_bytes(b"%PDF")
    result = runner.invoke(cli, ["match", "--target", "atc", "--input", str(other), "--output",
                                 str(tmp_path / "o.csv")])
    assert result.stderr == f"Error: {other}: unsupported file type .pdf; give a .csv or .xlsx file\n"


def test_match_reads_xlsx(atc, runner, tmp_path):
    from openpyxl import Workbook
    book = Workbook()
    book.active.append(["local_code", "local_name"])
    book.active.append([7, "Миконазол"])
    book.save(tmp_path / "local.xlsx")
    out = tmp_path / "o.csv"
    result = runner.invoke(cli, ["match", "--target", "atc", "--input", str(tmp_path / "local.xlsx"),
                                 "--output", str(out), "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert list(csv.reader(out.open(encoding="utf-8")))[1][:4] == ["7", "Миконазол", "1", "A01AB09"]


@pytest.mark.parametrize("args, message", [
    (["--target", "nope", "--input", "x.csv"], "Error: no catalog 'nope'\n"),
    (["--target", "atc@1999", "--input", "x.csv"], "Error: catalog atc has no version '1999'\n"),
    (["--target", "atc"], "Error: give either an input file or a source catalog version, not both or neither\n"),
    (["--target", "atc", "--input", "x.csv", "--limit", "0"], "Error: limit must be between 1 and 50\n"),
])
def test_match_errors(atc, runner, tmp_path, args, message):
    result = runner.invoke(cli, ["match", *args, "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    assert result.stderr == message


def test_a_cp1251_list_is_refused_with_its_row_and_offset(atc, runner, tmp_path):
    local = tmp_path / "local.csv"
    local.write_bytes("local_code,local_name\nK1,paracetamol\nK2,Парацетамол\n".encode("cp1251"))
    result = runner.invoke(cli, ["match", "--target", "atc", "--input", str(local), "--output",
                                 str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    # П is 0xcf in cp1251; 22 + 15 + 3 bytes come before it, on the third line (data row 3)
    assert result.stderr == (f"Error: {local}, row 3: not valid UTF-8 text (byte 0xcf at offset 40); it looks like "
                             "Windows-1251 (cp1251): save the list as UTF-8 CSV or as XLSX\n")


def test_a_tsv_list_is_read_tab_delimited(atc, runner, tmp_path):
    local = tmp_path / "local.tsv"
    local.write_text("local_code\tlocal_name\tform\nK1\tКлотримазол\tкрем, мазь\n", encoding="utf-8")
    out = tmp_path / "c.csv"
    result = runner.invoke(cli, ["match", "--target", "atc", "--input", str(local), "--output", str(out),
                                 "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert list(csv.reader(out.open(encoding="utf-8")))[1][:6] == ["K1", "Клотримазол", "1", "D01AC01",
                                                                   "clotrimazole", "100.0"]


def test_a_workbook_whose_first_rows_are_blank_finds_its_header_below(atc, runner, tmp_path):
    from openpyxl import Workbook
    book = tmp_path / "local.xlsx"
    wb = Workbook()
    sheet = wb.active
    sheet["A2"], sheet["B2"] = "local_code", "local_name"  # row 1 is blank
    sheet["A3"], sheet["B3"] = "K1", "Парацетамол"
    sheet["A4"] = "K2"  # no name: row 4 as the spreadsheet numbers it
    wb.save(book)
    result = runner.invoke(cli, ["match", "--target", "atc", "--input", str(book), "--output",
                                 str(tmp_path / "o.csv")])
    assert result.stderr == f"Error: {book}, row 4, column local_name: the name is empty\n"
    sheet["B4"] = "Клотримазол"
    wb.save(book)
    out = tmp_path / "c.csv"
    result = runner.invoke(cli, ["match", "--target", "atc", "--input", str(book), "--output", str(out),
                                 "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert [r[3] for r in list(csv.reader(out.open(encoding="utf-8")))[1:]] == ["N02BE01", "D01AC01"]


def run_match(runner, local, out, *extra):
    return runner.invoke(cli, ["match", "--target", "atc", "--input", str(local), "--output", str(out), *extra])


def test_the_output_cannot_be_the_input_list(atc, runner, tmp_path):
    local = tmp_path / "local.csv"
    text = "local_code,local_name\nK1,Парацетамол\n"
    local.write_text(text, encoding="utf-8")
    result = run_match(runner, local, local)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {local}: is the input list itself; writing the candidates there would replace "
                             f"the list: give another --output\n")
    assert local.read_text(encoding="utf-8") == text


def test_an_output_in_a_folder_that_does_not_exist_is_refused(atc, runner, tmp_path):
    local = tmp_path / "local.csv"
    local.write_text("local_code,local_name\nK1,Парацетамол\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("x")
    result = run_match(runner, local, tmp_path / "a-file" / "o.csv")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'a-file' / 'o.csv'}: the folder {tmp_path / 'a-file'} does not exist\n"


def test_runs_writing_one_output_do_not_share_a_temporary_file(atc, tmp_path):
    import threading
    from registry.matching import files
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "o.csv"
    started = threading.Barrier(2)

    def results(name):
        started.wait()  # both runs have their temporary file open before either writes a row
        yield {"term": {"code": name, "name": name}, "candidates": [
            {"rank": 1, "code": "N02BE01", "display": "paracetamol", "score": 100.0, "reason": "r"}]}

    errors = []

    def write(name):
        try:
            files.write_candidates(out, results(name))
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert len(rows) == 2 and rows[1][0] in ("A", "B")  # one run's whole file, not a mix
    assert [p.name for p in out.parent.iterdir()] == ["o.csv"]  # no temporary file left


def test_a_local_code_in_two_rows_is_matched_with_a_warning(atc, runner, tmp_path):
    local = tmp_path / "local.csv"
    local.write_text("local_code,local_name\nK1,Парацетамол\nK1,Клотримазол\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    result = run_match(runner, local, out, "--limit", "1")
    assert result.exit_code == 0
    assert result.stderr == "Warning: local code K1 is in rows 2, 3: its candidates cannot be told apart in the output\n"
    assert seconds_free(result.stdout) == f"Matched 2 entries against atc 2026: 2 candidates written to {out} (S s)\n"


def test_names_that_a_spreadsheet_would_run_are_escaped_in_the_output(atc, runner, tmp_path):
    local = tmp_path / "local.csv"
    local.write_text('local_code,local_name\n=1+1,"=HYPERLINK(""http://x"",""Парацетамол"")"\n', encoding="utf-8")
    out = tmp_path / "o.csv"
    assert run_match(runner, local, out, "--limit", "1").exit_code == 0
    row = list(csv.reader(out.open(encoding="utf-8")))[1]
    assert row[:2] == ["'=1+1", "'=HYPERLINK(\"http://x\",\"Парацетамол\")"]


@pytest.mark.parametrize("raw, hint", [
    ("local_code,local_name\nK1,Übelkeit\n".encode("latin-1"), ""),
    ("local_code,local_name\nK1,Übelkeit\n".encode("utf-16"), "; it looks like UTF-16"),
    ("local_code,local_name\nK1,Парацетамол\n".encode("cp1251"), "; it looks like Windows-1251 (cp1251)"),
])
def test_the_encoding_hint_names_only_what_the_bytes_look_like(raw, hint, tmp_path):
    from registry.errors import BadRequest
    from registry.matching.files import read_terms
    local = tmp_path / "local.csv"
    local.write_bytes(raw)
    with pytest.raises(BadRequest) as exc:
        read_terms(local)
    assert f"){hint}: save the list as UTF-8 CSV or as XLSX" in str(exc.value)


def test_an_output_that_cannot_be_written_is_an_error_not_a_traceback(atc, runner, tmp_path, monkeypatch):
    from registry import exports
    local = tmp_path / "local.csv"
    local.write_text("local_code,local_name\nK1,Парацетамол\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    assert run_match(runner, local, tmp_path / "first.csv").exit_code == 0  # the index is built by now

    def full_disk(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(exports.os, "replace", full_disk)
    result = run_match(runner, local, tmp_path / "out" / "o.csv")
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {tmp_path / 'out' / 'o.csv'}: No space left on device\n"
    assert list((tmp_path / "out").iterdir()) == []  # neither the output nor a temporary file


def test_an_error_of_the_matcher_is_not_reported_as_one_of_the_output(tmp_path):
    from registry.matching import files

    def results():
        raise FileNotFoundError(2, "No such file or directory", "index/entries.json")
        yield  # pragma: no cover - a generator that fails at once

    with pytest.raises(FileNotFoundError, match="entries.json"):
        files.write_candidates(tmp_path / "o.csv", results())
    assert list(tmp_path.iterdir()) == []


def test_the_output_file_is_readable_as_the_umask_allows(atc, runner, tmp_path):
    import os
    local = tmp_path / "local.csv"
    local.write_text("local_code,local_name\nK1,Парацетамол\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    before = os.umask(0o022)
    try:
        assert run_match(runner, local, out).exit_code == 0
    finally:
        os.umask(before)
    assert out.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600


def test_a_name_too_long_is_refused_with_its_row_before_the_index_is_built(atc, runner, tmp_path):
    local = tmp_path / "local.csv"
    local.write_text("local_code,local_name\nK1,Парацетамол\nK2," + "а" * 1001 + "\n", encoding="utf-8")
    result = run_match(runner, local, tmp_path / "o.csv")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {local}, row 3, column local_name: the name is 1001 characters long; at most "
                             f"1000 are matched\n")
    assert not list((atc.data_dir / "cache").glob("match/atc/*"))  # refused before any index was built


def test_rows_are_counted_as_records_when_a_cell_holds_a_line_break(atc, runner, tmp_path):
    local = tmp_path / "local.csv"
    local.write_text('local_code,local_name\nK1,"Парацетамол\nтаблетки"\nK2,"Ибупрофен\n', encoding="utf-8")
    result = run_match(runner, local, tmp_path / "o.csv")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {local}, row 3: a quoted field opens here and is never closed")


@pytest.mark.parametrize("text, message", [
    # a quote left open: the rest of the file would be read as one name
    ('local_code,local_name\nK1,Парацетамол\nK2,"Капли 5% ""Витамин\nK3,Ибупрофен\n',
     'row 3: a quoted field opens here and is never closed (the file ends inside it): close the quote, or double a '
     'quote that is part of a name ("")'),
    # `0,5 г` unquoted: the decimal comma splits the name, and the form column would get `5 г`
    ("local_code,local_name,form\nK1,Парацетамол 0,5 г,таблетки\n",
     'row 2: 4 fields, but the header has 3: a name or value holding the delimiter must be quoted '
     '("Парацетамол 0,5 г")'),
    ("local_code,local_name,local_name\nK1,Парацетамол,Ибупрофен\n",
     "row 1: the header has the column local_name twice; which one is meant cannot be told: rename or remove one"),
])
def test_a_list_that_cannot_be_read_one_way_only_is_refused_with_its_row(atc, runner, tmp_path, text, message):
    local = tmp_path / "local.csv"
    local.write_text(text, encoding="utf-8")
    result = run_match(runner, local, tmp_path / "o.csv")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {local}, {message}\n"
    assert not (tmp_path / "o.csv").exists()
