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
    ("truncated.xml", ["--format", "fnsi"], "the file is XML (it starts with '<'), but format fnsi reads FNSI's CSV "
                                            "and JSON exports: export the dictionary as CSV or JSON, or import the XML "
                                            "with a profile of format xml"),
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


CLAML_BODY = ('<ClaML version="2.0.0"><Title name="x">X</Title>\n<Class code="A00" kind="category">'
              '<Rubric kind="preferred"><Label xml:lang="en">Cholera [classical]</Label></Rubric></Class></ClaML>\n')
ENTITIES_REFUSED = "the XML document declares entities in its DOCTYPE; entity declarations are refused"

DOCTYPES = [
    # an external id and an internal subset that declares entities: refused whatever the external id
    ('<!DOCTYPE ClaML SYSTEM "ClaML.dtd" [<!ENTITY a "aaaa">]>', ENTITIES_REFUSED),
    ('<!DOCTYPE ClaML PUBLIC "-//WHO//DTD ClaML 2.0//EN" "ClaML.dtd" [\n <!ENTITY x SYSTEM "file:///etc/passwd">\n]>',
     ENTITIES_REFUSED),
    # a parameter entity pulled from outside, and its reference
    ('<!DOCTYPE ClaML [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/x.dtd"> %ext;]>', ENTITIES_REFUSED),
    ('<!DOCTYPE ClaML [%ext;]>', "the XML document's DOCTYPE refers to the parameter entity %ext;"),
    # `]>` inside a comment or a quoted default value of the subset does not end it: the entity after it is seen
    ('<!DOCTYPE ClaML [<!-- ]> --><!ENTITY a "aaaa">]>', ENTITIES_REFUSED),
    ('<!DOCTYPE ClaML [<!ATTLIST Label note CDATA "]>"><!ENTITY a "aaaa">]>', ENTITIES_REFUSED),
    # lower-case keyword and name
    ('<!doctype claml [<!ENTITY a "aaaa">]>', ENTITIES_REFUSED),
    # malformed or cut-off declarations are named, not read past
    ('<!DOCTYPE>', "row 2: not well-formed XML: the DOCTYPE declaration has no document type name"),
    ('<!DOCTYPE ClaML SYSTEM>', "row 2: not well-formed XML: the DOCTYPE declaration's SYSTEM has no quoted "
                                "system identifier"),
    ('<!DOCTYPE ClaML PUBLIC "-//WHO//DTD ClaML 2.0//EN">', "row 2: not well-formed XML: the DOCTYPE declaration's "
                                                            "PUBLIC has no quoted system identifier"),
    ('<!DOCTYPE ClaML [<!ELEMENT ClaML ANY>', "row 2: not well-formed XML: the internal DTD subset of the DOCTYPE "
                                              "declaration is never closed: ']>' is missing before '<ClaML "
                                              "version=\"2.0.' on line 3"),
]


@pytest.mark.parametrize("doctype, message", DOCTYPES, ids=[d[0][:40] for d in DOCTYPES])
def test_doctypes_declaring_entities_or_malformed_are_refused(sqlite_store, runner, tmp_path, doctype, message):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "doctype.xml"
    f.write_text(f'<?xml version="1.0"?>\n{doctype}\n{CLAML_BODY}', encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "claml"], message)


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE ClaML SYSTEM "{url}">',
    "<!DOCTYPE ClaML PUBLIC '-//WHO//DTD ClaML 2.0//EN' '{url}'>",
    '<!DOCTYPE ClaML SYSTEM "{url}" [\n  <!-- a comment ]> -->\n  <!ATTLIST Class usage CDATA "]>">\n]>',
])
def test_a_doctype_naming_an_external_dtd_is_read_without_fetching_it(sqlite_store, tmp_path, doctype):
    """The external DTD is never fetched: a server on the loopback address counts the requests it gets."""
    import http.server
    import threading
    from importers import run_import
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            requests.append(self.path)
            body = b'<!ENTITY x SYSTEM "file:///etc/passwd">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        f = tmp_path / "dtd.xml"
        url = f"http://127.0.0.1:{server.server_port}/ClaML.dtd"
        f.write_text(f'<?xml version="1.0"?>\n{doctype.format(url=url)}\n{CLAML_BODY}', encoding="utf-8")
        report = run_import(sqlite_store, f, catalog="x", version="1", format="claml")
    finally:
        server.shutdown()
        server.server_close()
    assert report.entries == 1
    assert requests == []
    assert [e["display"] for e in sqlite_store.iter_entries("x", "1")] == ["Cholera [classical]"]


@pytest.mark.parametrize("cut, message", [
    ('<!DOCTYPE ClaML [<!ELEMENT ClaML', "the internal DTD subset of the DOCTYPE declaration is never closed"),
    ('<!DOCTYPE ClaML SYSTEM "ClaML.dtd"', "the file ends inside its DOCTYPE declaration"),
    ('<!-- a comment', "a comment that starts on line 2 is never closed"),
])
def test_a_file_cut_off_in_its_prolog_says_so(sqlite_store, runner, tmp_path, cut, message):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "cut.xml"
    f.write_text(f'<?xml version="1.0"?>\n{cut}', encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "claml"],
                   f"{f}, row 2: not well-formed XML (truncated or damaged?): {message}")


def _workbook(path: Path) -> Path:
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.title = "ATC"
    wb.active.append(["atc_code", "atc_name", "ddd", "uom", "adm_r", "note"])
    wb.active.append(["A", "ALIMENTARY TRACT AND METABOLISM", "NA", "NA", "NA", "NA"])
    wb.save(path)
    return path


XLSX_FOR_CSV = ("the file is an Excel workbook (.xlsx), not text: profile atc-who reads csv files; import it with a "
                "profile of format xlsx (atc-who-xlsx), or save the sheet as CSV (UTF-8) and import that")
OLD_XLS = "the file is an old Excel 97-2003 workbook (.xls, an OLE2 compound file), not text"
SPREADSHEET_CASES = [
    ("atc.xlsx", ["--profile", "atc-who"], XLSX_FOR_CSV),
    ("atc.xlsx", ["--format", "csv"], "the file is an Excel workbook (.xlsx), not text: format csv reads CSV text; "
                                      "import it with a profile of format xlsx (--profile, see docs/importers.md), "
                                      "or save the sheet as CSV (UTF-8) and import that"),
    ("atc.xlsx", ["--format", "jsonl"], "the file is an Excel workbook (.xlsx), not text: format jsonl reads JSON "
                                        "lines; import it with a profile of format xlsx"),
    ("atc.xlsx", ["--format", "claml"], "the file is an Excel workbook (.xlsx), not text: format claml reads "
                                        "ClaML XML; import it with a profile of format xlsx"),
    ("atc.xlsx", ["--profile", "icd10-ru-fnsi"], "the file is an Excel workbook (.xlsx), not text: profile "
                                                 "icd10-ru-fnsi reads fnsi files"),
    ("atc.xls", ["--profile", "atc-who"], OLD_XLS + ": profile atc-who reads csv files; save it as .xlsx and import "
                                                    "it with a profile of format xlsx (atc-who-xlsx), or save the "
                                                    "sheet as CSV (UTF-8) and import that"),
    ("atc.xls", ["--profile", "atc-who-xlsx"], "the file is an old Excel 97-2003 workbook (.xls, an OLE2 compound "
                                               "file), not an xlsx workbook: save it as .xlsx (Excel: File, Save "
                                               "As, Excel Workbook)"),
    ("atc.ods", ["--profile", "atc-who-xlsx"], "the file is an OpenDocument spreadsheet (.ods), not an xlsx workbook: "
                                               "save it as .xlsx (LibreOffice Calc: File, Save As, Excel 2007-365)"),
    ("atc.ods", ["--profile", "atc-who"], "the file is an OpenDocument spreadsheet (.ods), not text: profile atc-who "
                                          "reads csv files; save it as .xlsx and import it with a profile of format "
                                          "xlsx (atc-who-xlsx)"),
    ("atc.zip", ["--format", "csv"], "the file is a zip archive, not text: format csv reads CSV text; unpack it "
                                     "and import the file inside"),
    ("cut.xlsx", ["--profile", "atc-who"], XLSX_FOR_CSV),
]


def write_container(path: Path) -> Path:
    """An xlsx (openpyxl), an .xls (an OLE2 header and noise), an .ods, a zip of a CSV, or an xlsx cut in half."""
    import random
    import zipfile
    if path.name == "atc.xlsx":
        return _workbook(path)
    if path.name == "cut.xlsx":  # its central directory is lost: the names come from the first local header
        data = _workbook(path).read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif path.suffix == ".xls":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(1).randbytes(2040))
    elif path.suffix == ".ods":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
            zf.writestr("content.xml", "<office:document-content/>")
    else:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("atc.csv", "atc_code,atc_name\nA,ALIMENTARY\n")
    return path


@pytest.mark.parametrize("name, options, message", SPREADSHEET_CASES,
                         ids=[f"{c[0]} {' '.join(c[1])}" for c in SPREADSHEET_CASES])
def test_a_spreadsheet_or_archive_given_to_the_wrong_format_is_named(sqlite_store, runner, tmp_path, name, options,
                                                                   message):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="atc-who", title="ATC"))
    f = write_container(tmp_path / name)
    assert_refused(runner, sqlite_store, f, options, f"{f}: {message}", catalog="atc-who")


WHO_SIMPLE = ('<?xml version="1.0" encoding="utf-8"?>\n<icd_10_v2019>\n <item type="chapter">\n  <name>I</name>\n'
              '  <description>Certain infectious and parasitic diseases</description>\n  <item type="block">\n'
              '   <name>A00-A09</name>\n   <description>Intestinal infectious diseases</description>\n'
              '   <item type="category">\n    <name>A00</name>\n    <description>Cholera</description>\n'
              '    <item type="subcategory">\n     <name>A00.0</name>\n'
              '     <description>Cholera due to Vibrio cholerae 01, biovar cholerae</description>\n    </item>\n'
              '    <item type="subcategory">\n     <name>A00.1</name>\n'
              '     <description>Cholera due to Vibrio cholerae 01, biovar eltor</description>\n    </item>\n'
              '    <item type="subcategory">\n     <name>A00.9</name>\n     <description>Chol')
CDC_TABULAR = ('<?xml version="1.0" encoding="utf-8"?>\n<ICD10CM.tabular>\n<chapter><name>1</name>'
               '<desc>Certain infectious and parasitic diseases (A00-B99)</desc>\n<section id="A00-A09">'
               '<desc>Intestinal infectious diseases (A00-A09)</desc>\n<diag><name>A00</name><desc>Cholera</desc>\n'
               '<diag><name>A00.0</name><desc>Cholera due to Vibrio cholerae 01, biovar cholerae</desc></diag>\n'
               '<diag><name>A00.1</name><desc>Cholera due to Vibrio cholerae 01, biovar eltor</desc></diag>\n'
               '<diag><name>A00.9</name><desc>Chol')
CLAML_DOCTYPE = (BAD.parent / "importers" / "claml_doctype.xml").read_text(encoding="utf-8")
TRUNCATED = [
    # nested records: the enclosing chapter, block and category never end, so the finished subcategories
    # name parents the file never gets to
    ("who.xml", WHO_SIMPLE, ["--profile", "icd10-who-simplexml"],
     "row 22: not well-formed XML (truncated or damaged?): Premature end of data in tag description line 22 "
     "(column 23)"),
    ("cdc.xml", CDC_TABULAR, ["--profile", "icd10-cm-tabular"],
     "row 8: not well-formed XML (truncated or damaged?): Premature end of data in tag desc line 8 (column 35)"),
    ("claml.xml", CLAML_DOCTYPE[:CLAML_DOCTYPE.index("Giardiasis [")], ["--format", "claml"],
     "row 16: not well-formed XML (truncated or damaged?): Premature end of data in tag Label line 16 (column 109)"),
    # a quote never closed swallows the rest of a CSV, parents included
    ("quote.csv", 'code,display,parents\nA00,Cholera,A00-A09\n"A00-A09,Intestinal,I\nI,Infectious,\n',
     ["--format", "csv"], "row 3: a quoted value that starts on this row is never closed: it runs to the end of "
                          "the file (a missing closing quote)"),
]


@pytest.mark.parametrize("name, text, options, message", TRUNCATED, ids=[c[0] for c in TRUNCATED])
def test_a_cut_off_file_gets_its_syntax_error_and_nothing_that_follows_from_it(sqlite_store, runner, tmp_path, name,
                                                                               text, options, message):
    from registry.models import CatalogCreate
    for slug in ("t", "icd10-who", "icd10-cm"):
        sqlite_store.create_catalog(CatalogCreate(slug=slug, title=slug))
    catalog = {"--profile": options[1].rsplit("-", 1)[0] if "simplexml" in options[1] else "icd10-cm",
               "--format": "t"}[options[0]]
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    result = runner.invoke(cli, ["import", str(f), "--catalog", catalog, "--version", "1", *options])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"Error: import rejected: {f}, {message}", "Nothing was stored."]


def test_an_earlier_files_xml_errors_are_not_reported_as_this_ones(sqlite_store, tmp_path):
    # lxml keeps iterparse's error log across parses: a server that read a file with `&nbsp;` once called
    # every later truncated file an undefined entity at the first file's line
    from importers import run_import
    from registry.errors import ImportRejected
    nbsp, cut = tmp_path / "nbsp.xml", tmp_path / "cut.xml"
    nbsp.write_text('<ClaML version="2.0.0">\n<Title name="x">One&nbsp;two</Title></ClaML>\n', encoding="utf-8")
    cut.write_text(CLAML_DOCTYPE[:CLAML_DOCTYPE.index("Giardiasis [")], encoding="utf-8")
    messages = []
    for f in (nbsp, cut, nbsp):
        with pytest.raises(ImportRejected) as err:
            run_import(sqlite_store, f, catalog="x", version="1", format="claml")
        messages.append(str(err.value.problems[0]))
    assert messages[0] == messages[2] == (f"{nbsp}, row 2: not well-formed XML (truncated or damaged?): Entity 'nbsp' "
                                          f"not defined (HTML entities such as &nbsp; are not XML: write the character "
                                          f"itself, or &#160;)")
    assert messages[1] == (f"{cut}, row 16: not well-formed XML (truncated or damaged?): Premature end of data in tag "
                           f"Label line 16 (column 109)")


def test_errors_of_rows_read_before_the_cut_are_still_reported(sqlite_store, runner, tmp_path):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "quote.csv"
    f.write_text('code,display,parents\nA00,Cholera,A00-A09\nA00,Cholera again,\n"A00-A09,Intestinal,I\n',
                 encoding="utf-8")
    result = runner.invoke(cli, ["import", str(f), "--catalog", "t", "--version", "1", "--format", "csv"])
    assert result.stderr.splitlines() == [
        f"Error: import rejected: {f}, row 4: a quoted value that starts on this row is never closed: it runs to the "
        f"end of the file (a missing closing quote) (and 1 more error)",
        f"  {f}, row 3, column code: duplicate code A00 (first at row 2)",
        "Nothing was stored."]
