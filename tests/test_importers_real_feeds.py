"""Four real feeds imported by their shipped profile alone (catalogs/), checked against a plain-Python parse of the
same sample (tests/real_feeds.py): a fixed-width order file, a JSON register, an XML whose fields are attributes,
and a two-sheet workbook with a merged header."""

from __future__ import annotations

from importers import run_import
from real_feeds import (SAMPLES, build_order_workbook, dotted, order_lines, prefix_parents, ror_records,
                        subdivisions)


def imported(store, path, profile):
    run_import(store, path, catalog=profile, version="1", profile=profile)
    return {e["code"]: e for e in store.iter_entries(profile, "1")}


def test_icd10_cm_order_file_fixed_width_with_parents_from_code_prefixes(sqlite_store):
    rows = order_lines()
    e = imported(sqlite_store, SAMPLES / "icd10-cm-order.txt", "icd10-cm-order")
    assert len(e) == len(rows) == 17
    expected_parents = {dotted(c): [dotted(p) for p in ps] for c, ps in prefix_parents([r["code"] for r in rows]).items()}
    assert {c: x["parents"] for c, x in e.items()} == expected_parents
    # the excerpt skips E66.81 and Z68.2's siblings: the longest prefix present is taken
    assert e["E66.811"]["parents"] == ["E66"] and e["Z68.20"]["parents"] == ["Z68.2"]
    for r in rows:
        x = e[dotted(r["code"])]
        assert (x["display"], x["attributes"]) == (r["long"], {"order": r["order"], "billable": r["billable"],
                                                               "short_description": r["short"]})


def test_ror_register_json_with_parents_translations_and_acronyms(sqlite_store):
    records = ror_records()
    e = imported(sqlite_store, SAMPLES / "organisations-ror.json", "organisations-ror")
    assert sorted(e) == sorted(r["id"].rsplit("/", 1)[1] for r in records)
    for r in records:
        x = e[r["id"].rsplit("/", 1)[1]]
        parents = [rel["id"].rsplit("/", 1)[1] for rel in r["relationships"] if rel["type"] == "Parent"]
        assert x["parents"] == parents
        assert x["display"] == r["name"]
        assert sorted(d["text"] for d in x["designations"]) == sorted(
            [lab["label"] for lab in r["labels"]] + r["aliases"] + r["acronyms"])
        assert x["attributes"]["country"] == r["country"]["country_code"]
    assert e["0067qp350"]["parents"] == ["01xkakk17"]  # La Manufacture under HES-SO
    assert {"language": "de", "use": "translation", "text": "Fachhochschule Westschweiz - Genf"} in \
        e["007gfwn20"]["designations"]


def test_iso_3166_2_xml_with_fields_in_attributes_and_parents_from_an_attribute(sqlite_store):
    expected = subdivisions()
    e = imported(sqlite_store, SAMPLES / "subdivisions-iso3166-2.xml", "subdivisions-iso3166-2")
    assert len(e) == len(expected) == 57
    for code, want in expected.items():
        x = e[code]
        assert (x["display"], x["parents"], x["attributes"]["type"]) == (
            want["name"], [want["parent"]] if want["parent"] else [], want["type"])
    assert e["AL-BR"]["parents"] == ["AL-01"] and e["AL-01"]["parents"] == ["AL"]


def test_icd10_cm_workbook_two_sheets_merged_header_gives_the_order_files_entries(sqlite_store, tmp_path):
    book = build_order_workbook(tmp_path / "icd10-cm.xlsx")
    from_book = imported(sqlite_store, book, "icd10-cm-workbook")
    rows = order_lines()
    assert len(from_book) == len(rows)
    run_import(sqlite_store, SAMPLES / "icd10-cm-order.txt", catalog="from-text", version="1",
               profile="icd10-cm-order")
    from_text = {x["code"]: x for x in sqlite_store.iter_entries("from-text", "1")}
    assert from_book == from_text  # parents across the two sheets, both descriptions, the flags


def test_the_shipped_workbook_sample_is_what_the_builder_makes():
    """catalogs/samples/icd10-cm-workbook.xlsx is the builder's output for the order file sample, cell for cell."""
    from openpyxl import load_workbook
    import tempfile
    from pathlib import Path
    shipped = load_workbook(SAMPLES / "icd10-cm-workbook.xlsx")
    with tempfile.TemporaryDirectory() as folder:
        built = load_workbook(build_order_workbook(Path(folder) / "b.xlsx"))
    assert shipped.sheetnames == built.sheetnames == ["Categories", "Codes"]
    for name in built.sheetnames:
        assert list(shipped[name].values) == list(built[name].values)
        assert sorted(map(str, shipped[name].merged_cells.ranges)) == sorted(map(str, built[name].merged_cells.ranges))
