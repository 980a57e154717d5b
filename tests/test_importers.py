"""Importers: profiles, formats, encodings, validation and the report (small hand-written fixtures)."""

from __future__ import annotations

import json  # noqa: F401  (the FNSI helper's CLI test uses it; kept so the branches merge cleanly)
import re
from pathlib import Path

import pytest

from cli import cli
from importers import run_import
from importers.profile import load_profile
from registry.errors import BadRequest, ImportRejected, NotFound

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "importers"
ROOT = HERE.parent
SAMPLES = ROOT / "catalogs" / "samples"
HOSPITALS = str(DATA / "hospitals.toml")


def entries_of(store, slug, version="latest"):
    return {e["code"]: e for e in store.iter_entries(slug, version)}


# --- CSV by profile: typed attributes, catalog from defaults, problems with places ------------------------------

def test_csv_profile_creates_catalog_and_types_attributes(sqlite_store):
    report = run_import(sqlite_store, DATA / "hospitals.csv", catalog="hospitals", version="1", profile=HOSPITALS)
    assert (report.status, report.entries, report.added) == ("staged", 3, 3)
    catalog = sqlite_store.get_catalog("hospitals")
    assert (catalog.title, catalog.kind, catalog.language) == ("Test hospitals", "facility", "en")
    assert catalog.field_schema["beds"]["type"] == "integer"
    e = entries_of(sqlite_store, "hospitals", "1")["F-001"]
    assert e["display"] == "Central City Hospital"
    assert e["attributes"] == {"beds": 420, "emergency": True, "opened": "1961-05-01", "region": "North"}


def test_wrong_types_are_located_and_nothing_is_stored(store, tmp_path):
    bad = tmp_path / "hospitals.csv"
    bad.write_text("Facility code;Name;Region;Beds;Opened;Has emergency\n"
                   "F-001;Central;North;many;1961-05-01;yes\n"
                   "F-002;Riverside;South;35;yesterday;maybe\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        run_import(store, bad, catalog="hospitals", version="1", profile=HOSPITALS)
    problems = [str(p) for p in err.value.problems]
    assert problems == [
        f"{bad}, row 2, column Beds: 'many' is not an integer (attribute beds)",
        f"{bad}, row 3, column Opened: 'yesterday' is not a date (%Y-%m-%d or %d.%m.%Y or %Y-%m-%dT%H:%M:%S or "
        f"%Y-%m-%d %H:%M:%S or %d/%m/%Y) (attribute opened)",
        f"{bad}, row 3, column Has emergency: 'maybe' is not a yes/no value (attribute emergency)"]
    assert not store.has_catalog("hospitals")  # the catalog created for the import is gone too


def test_missing_column_and_unknown_column(sqlite_store, tmp_path):
    missing = tmp_path / "missing.csv"
    missing.write_text("Facility code;Name;Region;Opened;Has emergency\nF-1;A;N;2000-01-01;no\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, missing, catalog="hospitals", version="1", profile=HOSPITALS)
    assert [str(p) for p in err.value.problems] == [
        f"{missing}, row 1, column Beds: missing column 'Beds' (the header has Facility code, Name, Region, "
        f"Opened, Has emergency)"]
    extra = tmp_path / "extra.csv"
    extra.write_text("Facility code;Name;Region;Beds;Opened;Has emergency;Director\n"
                     "F-1;A;N;5;2000-01-01;no;Dr X\n", encoding="utf-8")
    report = run_import(sqlite_store, extra, catalog="hospitals", version="1", profile=HOSPITALS)
    assert [str(w) for w in report.warnings] == [
        f"{extra}, row 1, column Director: unknown column(s) Director not used by profile test-hospitals"]


def test_store_and_mapping_problems_are_reported_together(sqlite_store, tmp_path):
    bad = tmp_path / "h.csv"
    bad.write_text("Facility code;Name;Region;Beds;Opened;Has emergency\n"
                   "F-1;A;N;x;2000-01-01;no\nF-1;B;N;3;2000-01-01;no\n;C;N;3;2000-01-01;no\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, bad, catalog="hospitals", version="1", profile=HOSPITALS)
    kinds = [(p.kind, p.row) for p in err.value.problems]
    assert kinds == [("wrong_type", 2), ("duplicate_code", 3), ("empty_code", 4)]


def test_missing_catalog_without_defaults_is_a_clear_error(sqlite_store):
    with pytest.raises(NotFound, match=r"no catalog 'x': create it first"):
        run_import(sqlite_store, SAMPLES / "icd10-ru-fnsi-2.26.csv", catalog="x", version="1", format="fnsi")


def test_xlsx_or_xml_without_profile_asks_for_one(sqlite_store, tmp_path):
    sqlite_store_catalog(sqlite_store)
    with pytest.raises(BadRequest, match="format xlsx needs a profile"):
        run_import(sqlite_store, DATA / "hospitals.csv", catalog="t", version="1", format="xlsx")


def sqlite_store_catalog(store, slug="t", language="en"):
    from registry.models import CatalogCreate
    store.create_catalog(CatalogCreate(slug=slug, title=slug.upper(), language=language))


# --- encodings -----------------------------------------------------------------------------------------------

def test_utf8_with_bom_and_cp1251_are_detected(sqlite_store, tmp_path):
    text = (SAMPLES / "icd10-ru-fnsi-2.26.csv").read_text(encoding="utf-8")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    cp = tmp_path / "cp1251.csv"
    cp.write_bytes(text.encode("cp1251"))
    r1 = run_import(sqlite_store, bom, catalog="icd10-ru", version="bom", profile="icd10-ru-fnsi")
    r2 = run_import(sqlite_store, cp, catalog="icd10-ru", version="cp", profile="icd10-ru-fnsi")
    assert r1.warnings == []
    assert [w.kind for w in r2.warnings] == ["encoding"]
    assert "it was read as cp1251" in r2.warnings[0].message
    a, b = entries_of(sqlite_store, "icd10-ru", "bom"), entries_of(sqlite_store, "icd10-ru", "cp")
    assert a == b and a["A00"]["display"] == "Холера"


def test_byte_offset_counts_the_bom(sqlite_store, tmp_path):
    text = "ID;REC_CODE;MKB_CODE;MKB_NAME;ID_PARENT;ADDL_CODE;ACTUAL;DATE\n1;01;A00;Холера;;;1;\n"
    f = tmp_path / "bom-cp.csv"
    f.write_bytes(b"\xef\xbb\xbf" + text.encode("cp1251"))  # a BOM says UTF-8; the rest is cp1251
    offset = 3 + text.encode("cp1251").index("Х".encode("cp1251"))
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, f, catalog="icd10-ru", version="1", profile="icd10-ru-fnsi")
    assert err.value.problems[0].message.startswith(f"the file is not valid utf-8: byte 0xd5 at offset {offset} ")


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_file_declared_cp1251_is_refused_not_garbled(sqlite_store, tmp_path, bom):
    text = "ID;REC_CODE;MKB_CODE;MKB_NAME;ID_PARENT;ADDL_CODE;ACTUAL;DATE\n1;01;A00;Холера;;;1;\n"
    f = tmp_path / "utf8.csv"
    f.write_bytes(bom + text.encode("utf-8"))
    profile = load_profile("icd10-ru-fnsi")
    profile.read["encoding"] = "cp1251"
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, f, catalog="icd10-ru", version="1", profile=profile)
    why = ("the file starts with a UTF-8 byte order mark" if bom else
           f"the file is valid UTF-8 with non-ASCII text (from offset {text.encode().index('Х'.encode())})")
    assert err.value.problems[0].message == (
        f"{why}, but the profile declares cp1251: read so, every non-ASCII character would be garbled; "
        f"declare encoding = \"utf-8\" or \"auto\"")
    assert not sqlite_store.has_catalog("icd10-ru")
    text_cp = tmp_path / "cp.csv"  # the same file really in cp1251 is read as declared
    text_cp.write_bytes(text.encode("cp1251"))
    run_import(sqlite_store, text_cp, catalog="icd10-ru", version="1", profile=profile, publish=True)
    assert sqlite_store.lookup("icd10-ru", "A00")["display"] == "Холера"


def test_declared_encoding_that_does_not_fit_names_the_byte_offset(sqlite_store, tmp_path):
    text = "ID;REC_CODE;MKB_CODE;MKB_NAME;ID_PARENT;ADDL_CODE;ACTUAL;DATE\n1;01;A00;Холера;;;1;\n"
    cp = tmp_path / "cp.csv"
    cp.write_bytes(text.encode("cp1251"))
    profile = load_profile("icd10-ru-fnsi")
    profile.read["encoding"] = "utf-8"
    offset = text.encode("cp1251").index("Х".encode("cp1251"))
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, cp, catalog="icd10-ru", version="1", profile=profile)
    assert err.value.problems[0].message == (
        f"the file is not valid utf-8: byte 0xd5 at offset {offset} cannot be decoded (declare the right "
        f"encoding, e.g. cp1251, in the profile)")


@pytest.mark.parametrize("data, message", [
    # Latin-1/cp1252 bytes are Cyrillic letters in cp1251 too ("café" would read as "cafй"): refused, not guessed
    ("code,display\nA00,Café crème\nA01,Müller-Lyer\n".encode("cp1252"),
     "the file is not valid UTF-8 and does not read as Cyrillic cp1251 either (Latin letters and Cyrillic "
     "ones mixed inside words, e.g. 'Cafй'): declare its encoding in a profile ([read].encoding)"),
    # a UTF-8 file cut inside its last character is damaged UTF-8, not a cp1251 file
    ("code,display\nA00,Холера\nA01,Тиф\n".encode("utf-8")[:-2],
     "the file is not valid utf-8: it ends inside a character (truncated?) at offset 39"),
    # a UTF-8 file with one damaged byte in the middle: also damaged UTF-8, named by offset
    ("code,display\nA00,Холера\n".encode("utf-8") + b"A01,\xd2\xe8\xf4\n",
     "the file is not valid utf-8: byte 0xd2 at offset 34 cannot be decoded (the text before it is valid UTF-8: "
     "is the file damaged?)"),
    # UTF-16 without a BOM: every other byte is NUL
    ("code,display\nA00,Cholera\n".encode("utf-16-le"),
     "the file holds NUL bytes at offset 1: it looks like UTF-16 without a byte-order mark; save it as UTF-8 "
     "or declare encoding = \"utf-16-le\" in the profile"),
    ("code,display\nA00,Chol\x00era\n".encode("utf-8"),
     "the file holds a NUL byte at offset 21: text files must not contain NUL (binary or damaged file?)"),
])
def test_undecodable_text_is_refused_not_guessed(sqlite_store, tmp_path, data, message):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "local.csv"
    f.write_bytes(data)
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, f, catalog="t", version="1", profile=str(DATA / "plain.toml"))
    assert err.value.problems[0].message == message
    assert sqlite_store.list_versions("t") == []


@pytest.mark.parametrize("text, message", [
    ('code,display\nA00,Cholera\nA01,"Typhoid\nA02,Other\nA03,Shigellosis\n',
     "row 3: a quoted value that starts on this row is never closed: it runs to the end of the file "
     "(a missing closing quote)"),
    ('code,display\nA00,Cholera\nA01,"Typhoid "fever""\n',
     "row 3: a quote inside a quoted value is not doubled (write \"\" for a literal quote), or a closing quote "
     "is followed by text before the next ','"),
    ("code,display\nA00,Cholera\nA01\n",
     "row 3: the row has 1 values but the header has 2 columns (a line break inside a value that is not "
     "quoted, or missing delimiters?)"),
])
def test_broken_csv_rows_are_refused_with_their_row(sqlite_store, tmp_path, text, message):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "local.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, f, catalog="t", version="1", profile=str(DATA / "plain.toml"))
    assert str(err.value.problems[0]).endswith(message)
    assert f"{f}" in str(err.value.problems[0])
    assert sqlite_store.list_versions("t") == []


# --- FNSI ----------------------------------------------------------------------------------------------------

def test_fnsi_csv_old_style_and_json_give_the_same_stable_codes(sqlite_store):
    run_import(sqlite_store, DATA / "fnsi_old_style.csv", catalog="icd10-ru", version="old",
               profile="icd10-ru-fnsi", publish=True)
    report = run_import(sqlite_store, DATA / "fnsi_current.json", catalog="icd10-ru", version="new",
                        profile="icd10-ru-fnsi", publish=True)
    old, new = entries_of(sqlite_store, "icd10-ru", "old"), entries_of(sqlite_store, "icd10-ru", "new")
    assert sorted(old) == sorted(new) == ["A00", "A00-A09", "A00-B99", "A00.9", "A02", "A02.1", "B99", "B99-B99"]
    assert old["A00-B99"]["display"] == new["A00-B99"]["display"] == "НЕКОТОРЫЕ ИНФЕКЦИОННЫЕ И ПАРАЗИТАРНЫЕ БОЛЕЗНИ"
    assert new["A02.1"]["parents"] == ["A02"] and new["A00-A09"]["parents"] == ["A00-B99"]
    assert old["B99"]["status"] == "inactive" and new["B99"]["status"] == "active"
    # every column of the export is kept verbatim (the FNSI API serves them back), the date also as a date
    assert new["A02.1"]["attributes"] == {"fnsi_id": "6", "rec_code": "0101A021", "mkb_code": "A02.1",
                                          "mkb_name": "Сальмонеллезный сепсис", "fnsi_parent_id": "5", "actual": "1",
                                          "changed_on": "2024-03-15"}
    assert new["A00-B99"]["attributes"]["mkb_code"] == "I"
    # the chapter and the blocks keep their stable codes; their exported MKB_CODE and MKB_NAME did change
    assert (report.added, report.changed, report.removed) == (0, 5, 0)
    diff = sqlite_store.diff("icd10-ru", "old", "new")
    assert sorted(c["code"] for c in diff["changed"]) == ["A00-A09", "A00-B99", "A02.1", "B99", "B99-B99"]
    assert next(c for c in diff["changed"] if c["code"] == "A00-B99")["fields"].keys() == {"attributes"}


def test_fnsi_unknown_parent_id_is_located(sqlite_store, tmp_path):
    bad = tmp_path / "f.csv"
    bad.write_text("ID;REC_CODE;MKB_CODE;MKB_NAME;ID_PARENT;ADDL_CODE;ACTUAL;DATE\n"
                   "1;01;A00;Холера;;;1;\n2;02;A00.0;Холера 01;77;;1;\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, bad, catalog="icd10-ru", version="1", profile="icd10-ru-fnsi")
    assert [str(p) for p in err.value.problems] == [
        f"{bad}, row 3, column ID_PARENT: parent identifier 77 is not the ID of any row"]


def test_fnsi_without_profile_uses_the_usual_columns(sqlite_store, tmp_path):
    sqlite_store_catalog(sqlite_store, "units", "ru")
    f = tmp_path / "units.csv"
    f.write_text("ID;CODE;NAME;ID_PARENT;SHORT\n1;10;Масса;;\n2;11;Килограмм;1;кг\n", encoding="utf-8")
    run_import(sqlite_store, f, catalog="units", version="1", format="fnsi")
    e = entries_of(sqlite_store, "units", "1")
    assert e["11"] == {"code": "11", "display": "Килограмм", "designations": [], "parents": ["10"],
                       "status": "active", "attributes": {"short": "кг"}}


# --- the report: same file twice, dry run, progress, CLI ---------------------------------------------------------

def test_same_file_twice_gives_no_new_version(store):
    f = SAMPLES / "icd10-ru-fnsi-2.26.csv"
    first = run_import(store, f, catalog="icd10-ru", version="2.26", profile="icd10-ru-fnsi", publish=True)
    again = run_import(store, f, catalog="icd10-ru", version="2.26b", profile="icd10-ru-fnsi")
    assert (first.status, again.status) == ("published", "unchanged")
    assert again.message == ("icd10-ru-fnsi-2.26.csv was already imported as version 2.26 of icd10-ru (same "
                             "sha256); no new version created (to import the file again, with another profile say, "
                             "retire version 2.26 first)")
    assert [v.label for v in store.list_versions("icd10-ru")] == ["2.26"]


def test_dry_run_reports_and_stores_nothing(store):
    report = run_import(store, SAMPLES / "atc-who.csv", catalog="atc-who", version="1", profile="atc-who",
                        dry_run=True)
    assert (report.status, report.entries, report.added) == ("dry-run", 47, 47)
    assert not store.has_catalog("atc-who")


def test_progress_is_fed(sqlite_store, tmp_path):
    f = tmp_path / "many.csv"
    f.write_text("code,display,parents,status,designations,attributes\n"
                 + "".join(f"C{i},Entry {i},,active,,\n" for i in range(2500)), encoding="utf-8")
    sqlite_store_catalog(sqlite_store)
    seen = []
    run_import(sqlite_store, f, catalog="t", version="1", progress=seen.append)
    assert seen == [1000, 2000, 2500]


def test_cli_import_summary_and_diff(runner, store):
    one = runner.invoke(cli, ["import", str(SAMPLES / "icd10-ru-fnsi-2.26.csv"), "--catalog", "icd10-ru",
                              "--version", "2.26", "--profile", "icd10-ru-fnsi", "--publish"])
    assert one.exit_code == 0, one.output
    assert re.fullmatch(r"Published icd10-ru 2\.26: 44 entries; the catalog's first version \(\d+\.\d s\)\n",
                        one.stdout)
    two = runner.invoke(cli, ["import", str(SAMPLES / "icd10-ru-fnsi-2.27.csv"), "--catalog", "icd10-ru",
                              "--version", "2.27", "--profile", "icd10-ru-fnsi", "--publish"])
    assert re.fullmatch(r"Published icd10-ru 2\.27: 43 entries; against the latest version 1 added, 4 changed, "
                        r"2 removed \(\d+\.\d s\)\n", two.stdout)
    diff = runner.invoke(cli, ["diff", "icd10-ru", "2.26", "2.27"])

    def kept(row_id, parent_id, rec_code, code, name, date=None):
        """The attributes the profile keeps of one export row: its columns verbatim (sorted, empty ones left out)."""
        cells = {"actual": "1", "changed_on": date, "fnsi_id": row_id, "fnsi_parent_id": parent_id,
                 "mkb_code": code, "mkb_name": name, "rec_code": rec_code}
        return json.dumps({k: v for k, v in cells.items() if v}, ensure_ascii=False)

    def renamed(row_id, parent_id, rec_code, code, old, new):
        return (f"~ {code}\tdisplay: {old} -> {new}\n"
                f"~ {code}\tattributes: {kept(row_id, parent_id, rec_code, code, old)} -> "
                f"{kept(row_id, parent_id, rec_code, code, new, '2024-03-15')}\n")

    assert diff.stdout == (
        "icd10-ru 2.26 -> 2.27: 1 added, 2 removed, 4 changed\n"
        "+ U07.2\tCOVID-19, вирус не идентифицирован\n"
        "- U04\tТяжелый острый респираторный синдром [SARS]\n"
        "- U04.9\tТяжелый острый респираторный синдром неуточненный\n"
        + renamed("11", "9", "0101A021", "A02.1", "Сальмонеллезная септицемия", "Сальмонеллезный сепсис")
        + renamed("21", "20", "0903I110", "I11.0", "Гипертензивная болезнь сердца с застойной сердечной недостаточностью",
                  "Гипертензивная болезнь сердца с (застойной) сердечной недостаточностью")
        + renamed("22", "20", "0903I119", "I11.9",
                  "Гипертензивная болезнь сердца без застойной сердечной недостаточности",
                  "Гипертензивная болезнь сердца без (застойной) сердечной недостаточности")
        + renamed("41", "40", "2201U071", "U07.1", "COVID-19", "COVID-19, вирус идентифицирован"))


def test_cli_import_error_output(runner, sqlite_store, tmp_path):
    bad = tmp_path / "h.csv"
    bad.write_text("Facility code;Name;Region;Beds;Opened;Has emergency\nF-1;A;N;x;2000-01-01;no\n",
                   encoding="utf-8")
    result = runner.invoke(cli, ["import", str(bad), "--catalog", "hospitals", "--version", "1",
                                 "--profile", HOSPITALS])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (f"Error: import rejected: {bad}, row 2, column Beds: 'x' is not an integer "
                             f"(attribute beds)\nNothing was stored.\n")


# --- samples for `nsi demo` ---------------------------------------------------------------------------------------

def test_load_demo_imports_every_sample_once(store):
    from importers.samples import load_demo, read_manifest
    reports = load_demo(store)
    manifest = read_manifest()
    assert [(r.catalog, r.version, r.status) for r in reports] == [
        (m["catalog"], m["version"], "published") for m in manifest]
    assert len({m["catalog"] for m in manifest}) >= 5
    for slug in {m["catalog"] for m in manifest}:
        codes = entries_of(store, slug)
        assert all(p in codes for e in codes.values() for p in e["parents"]), slug
    drugs = entries_of(store, "drugs-kz-knf")
    assert drugs["РК-ЛС-5№900101"]["attributes"]["dosage_form"] == "капсулы 20 мг №30 | капсулы 40 мг №14"
    assert drugs["РК-ЛС-5№900101"]["parents"] == ["A02BC01"]
    assert drugs["РК-ЛС-5№900111"]["parents"] == ["J01"]  # no J01FA10 row: the deepest ATC group present
    again = load_demo(store)
    assert {r.status for r in again} == {"unchanged"}


# --- interruption and concurrency (both databases) -----------------------------------------------------------

NEW_CATALOG_PROFILE = """[profile]
format = "csv"
[catalog]
slug = "fresh"
title = "Fresh catalog"
language = "en"
[fields]
code = "code"
display = "display"
"""


def _big_csv(tmp_path, n=2500):
    f = tmp_path / "big.csv"
    f.write_text("code,display\n" + "".join(f"C{i:05d},Entry {i}\n" for i in range(n)), encoding="utf-8")
    return f


def test_interrupted_import_into_a_new_catalog_leaves_nothing(store, tmp_path):
    profile = tmp_path / "fresh.toml"
    profile.write_text(NEW_CATALOG_PROFILE, encoding="utf-8")
    f = _big_csv(tmp_path)

    def interrupt(count):
        raise KeyboardInterrupt  # what Ctrl-C raises in the middle of staging

    with pytest.raises(KeyboardInterrupt):
        run_import(store, f, catalog="fresh", version="1", profile=str(profile), progress=interrupt)
    assert not store.has_catalog("fresh")
    report = run_import(store, f, catalog="fresh", version="1", profile=str(profile))
    assert (report.status, report.entries) == ("staged", 2500)
    assert store.get_catalog("fresh").title == "Fresh catalog"


def test_concurrent_imports_of_one_file_make_one_version(store, tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    sqlite_store_catalog(store, "t")
    f = _big_csv(tmp_path)
    profile = str(DATA / "plain.toml")
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(run_import, store, f, catalog="t", version=label, profile=profile)
                   for label in ("a", "b")]
        reports = [fut.result() for fut in futures]
    assert sorted(r.status for r in reports) == ["staged", "unchanged"]
    assert [v.label for v in store.list_versions("t")] == [next(r.version for r in reports if r.status == "staged")]


def test_killed_import_into_a_new_catalog_leaves_nothing(store, tmp_path):
    import subprocess
    import sys
    profile = tmp_path / "fresh.toml"
    profile.write_text(NEW_CATALOG_PROFILE, encoding="utf-8")
    f = _big_csv(tmp_path)
    script = ("import os, signal, sys\n"
              "from importers import run_import\nfrom registry.store import Store\n"
              "run_import(Store.open(), sys.argv[1], catalog='fresh', version='1', profile=sys.argv[2],\n"
              "           progress=lambda n: os.kill(os.getpid(), signal.SIGKILL))\n")
    done = subprocess.run([sys.executable, "-c", script, str(f), str(profile)], cwd=ROOT, capture_output=True)
    assert done.returncode == -9, done.stderr
    assert not store.has_catalog("fresh")
