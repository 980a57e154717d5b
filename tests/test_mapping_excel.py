"""The review worksheet round trip and the SSSOM export, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from mapping_fixtures import make_map_set
from registry.errors import BadRequest, ImportRejected
from registry.mapping import (decide, export_sssom, export_xlsx, get_map_set, get_mapping, import_decisions,
                              mapping_history, publish_map_set)
from test_mapping_cli import fill


def test_worksheet_layout(store, tmp_path):
    slug = make_map_set(store)
    decide(store, slug, "L04", "comment", actor="anna", revision=1, comment="=HYPERLINK(\"x\")")
    path = tmp_path / "r.xlsx"
    assert export_xlsx(store, slug, path) == 5
    wb = load_workbook(path)
    assert wb.sheetnames == ["Review", "Instructions", "_meta"]
    assert wb["_meta"].sheet_state == "hidden"
    ws = wb["Review"]
    header = [c.value for c in ws[1]]
    assert header == ["Source code", "Source name", "Status", "Current target", "Current target name",
                      "Candidate 1", "Candidate 1 name", "Candidate 1 score", "Candidate 2", "Candidate 2 name",
                      "Candidate 2 score", "Candidate 3", "Candidate 3 name", "Candidate 3 score", "Decision",
                      "Relationship", "Other target code", "Comment", "revision (do not edit)"]
    assert [c.value for c in ws[4]][:14] == ["L03", "Паратиф A", "candidate", "A01.1", "Паратиф A", "A01.1",
                                             "Паратиф A", 100, "A01.2", "Паратиф B", 90, "A01.0", "Брюшной тиф", 35]
    assert ws.column_dimensions["S"].hidden is True
    assert [c.value for c in ws[5]][18] == 2  # L04 was commented: revision 2
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists == {"O2:O6": '"approve,propose,reject,remap,not-mappable,comment"',
                     "P2:P6": '"equivalent,broader,narrower,related"'}
    assert "How to fill in this worksheet" in wb["Instructions"]["A1"].value


def test_import_reports_every_bad_row_and_applies_nothing(store, tmp_path):
    slug = make_map_set(store)
    path = tmp_path / "r.xlsx"
    export_xlsx(store, slug, path)
    decide(store, slug, "L04", "reject", actor="boris", revision=1)  # changed after the export
    fill(path, {"L01": ("approve", None, None, "fine"), "L02": ("maybe", None, None, None),
                "L03": ("remap", None, "NOPE", None), "L04": ("approve", None, None, None),
                "L05": ("approve", "similar", None, None)})
    with pytest.raises(ImportRejected) as exc:
        import_decisions(store, slug, path, reviewer="anna")
    assert [str(p) for p in exc.value.problems] == [
        "r.xlsx, sheet Review, row 3, column Decision: decision 'maybe' is not one of approve, propose, reject, "
        "remap, not-mappable, comment",
        "r.xlsx, sheet Review, row 4, column Other target code: target code 'NOPE' is not in icd10 version 2.27",
        "r.xlsx, sheet Review, row 5, column revision (do not edit): mapping L04 was changed (revision 2, your decision was made on revision 1); "
        "review it again",
        "r.xlsx, sheet Review, row 6, column Relationship: relationship 'similar' is not one of equivalent, broader, narrower, related, "
        "not-mappable"]
    assert get_mapping(store, slug, "L01").status == "candidate"
    assert get_map_set(store, slug).counts == {"candidate": 4, "proposed": 0, "approved": 0, "rejected": 1}


def test_import_refuses_another_map_sets_sheet_and_unknown_source(store, tmp_path):
    slug = make_map_set(store)
    path = tmp_path / "r.xlsx"
    export_xlsx(store, slug, path)
    with pytest.raises(BadRequest, match="r.xlsx was exported from map set 'local-icd', not 'other'"):
        import_decisions(store, "other", path, reviewer="anna")
    wb = load_workbook(path)
    wb["Review"]["A2"] = "L77"
    wb["Review"]["O2"] = "reject"
    wb.save(path)
    with pytest.raises(ImportRejected) as exc:
        import_decisions(store, slug, path, reviewer="anna")
    assert [str(p) for p in exc.value.problems] == [
        "r.xlsx, sheet Review, row 2, column Source code: map set local-icd has no mapping 'L77'"]
    (tmp_path / "bad.xlsx").write_text("not a workbook")
    with pytest.raises(BadRequest, match="bad.xlsx is not an xlsx file"):
        import_decisions(store, slug, tmp_path / "bad.xlsx", reviewer="anna")


def test_round_trip_applies_decisions_with_audit(store, tmp_path):
    slug = make_map_set(store)
    path = tmp_path / "r.xlsx"
    export_xlsx(store, slug, path)
    fill(path, {"L01": ("approve", "equivalent", None, "ok"), "L03": ("approve", None, "A01.2", "2nd candidate"),
                "L05": ("not-mappable", None, None, None), "L02": ("reject", None, None, "wrong")})
    report = import_decisions(store, slug, path, reviewer="anna")
    assert (report.rows, report.applied, report.skipped) == (5, 4, 1)
    assert report.by_outcome == {"approved": 3, "rejected": 1} and report.proposed_under_four_eyes == 0
    l03 = get_mapping(store, slug, "L03")
    assert (l03.status, l03.target_code, l03.score, l03.decided_by, l03.comment) == (
        "approved", "A01.2", 90.0, "anna", "2nd candidate")
    assert get_map_set(store, slug).counts == {"candidate": 1, "proposed": 0, "approved": 3, "rejected": 1}
    assert [(e["actor"], e["action"]) for e in mapping_history(store, slug, "L02")] == [("matcher", "suggest"),
                                                                                        ("anna", "reject")]


def test_four_eyes_import_counts_approvals_as_the_proposals_they_became(store, tmp_path):
    slug = make_map_set(store, four_eyes=True)
    path = tmp_path / "r.xlsx"
    export_xlsx(store, slug, path)
    fill(path, {"L01": ("approve", None, None, None), "L03": ("remap", None, "A01.2", None),
                "L02": ("reject", None, None, "wrong"), "L04": ("comment", None, None, "ask the lab")})
    report = import_decisions(store, slug, path, reviewer="anna")
    assert report.by_decision == {"approve": 1, "remap": 1, "reject": 1, "comment": 1}
    assert report.by_outcome == {"proposed": 2, "rejected": 1, "commented": 1}
    assert report.proposed_under_four_eyes == 2
    assert get_map_set(store, slug).counts == {"candidate": 2, "proposed": 2, "approved": 0, "rejected": 1}
    assert report.summary("anna") == (
        "Applied 4 decisions of anna from r.xlsx: 2 proposed, 1 rejected, 1 commented (2 recorded as proposals "
        "under the four-eyes rule; another reviewer must approve them); 1 rows without a decision left as they were")


def test_sssom_export(store):
    slug = make_map_set(store)
    decide(store, slug, "L01", "approve", actor="anna", revision=1, comment="=1+1")
    decide(store, slug, "L03", "remap", actor="anna", revision=1, target_code="A01.2", relationship="broader")
    decide(store, slug, "L05", "not-mappable", actor="anna", revision=1)
    text = export_sssom(store, slug)
    meta = [line for line in text.splitlines() if line.startswith("#")]
    assert "# mapping_set_id: urn:nsi:mapset:local-icd" in meta
    assert "#   LOCAL: 'urn:nsi:local:'" in meta
    rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    assert rows == [
        ["subject_id", "subject_label", "predicate_id", "object_id", "object_label", "mapping_justification",
         "confidence", "author_label", "reviewer_label", "comment"],
        ["LOCAL:L01", "Холера неуточнённая", "skos:exactMatch", "ICD10:A00.9", "Холера неуточненная",
         "semapv:ManualMappingCuration", "0.970", "anna", "anna", "'=1+1"],
        ["LOCAL:L03", "Паратиф A", "skos:broadMatch", "ICD10:A01.2", "Паратиф B", "semapv:ManualMappingCuration",
         "0.900", "anna", "anna", ""],
        ["LOCAL:L05", "Болезнь неизвестной природы", "skos:exactMatch", "sssom:NoTermFound", "",
         "semapv:ManualMappingCuration", "", "anna", "anna", ""]]
    publish_map_set(store, slug, "v1")
    published = export_sssom(store, slug, "latest")
    assert "# mapping_set_version: v1" in published.splitlines()
    assert published.count("\nLOCAL:") == 3


def _cache_formula_values(path, values: dict[str, str]) -> None:
    """Give formula cells the cached value Excel stores after computing them ({cell ref: text})."""
    import re
    import zipfile
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    for ref, text in values.items():
        sheet, n = re.subn(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?',
                           rf'<c r="{ref}"\1 t="str"><f>\2</f><v>{text}</v>', sheet)
        assert n == 1, ref
    parts["xl/worksheets/sheet1.xml"] = sheet.encode("utf-8")
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def test_formula_cells_keep_their_text_or_refuse_the_row(store, tmp_path):
    """Issue 16, item 18: a comment typed as a formula was imported as empty without a warning."""
    slug = make_map_set(store)
    path = tmp_path / "r.xlsx"
    export_xlsx(store, slug, path)
    fill(path, {"L01": ("approve", None, None, "=see L03, same source"),   # Excel took the text for a formula
                "L02": ("reject", None, None, '=CONCAT("wrong ", "typhus")'),
                "L03": ("=\"approve\"", None, None, None)})
    _cache_formula_values(path, {"R3": "wrong typhus"})                   # computed by Excel
    with pytest.raises(ImportRejected) as exc:
        import_decisions(store, slug, path, reviewer="anna")
    assert [str(p) for p in exc.value.problems] == [
        "r.xlsx, sheet Review, row 4, column Decision: the cell holds the formula =\"approve\" but no value "
        "computed from it; type the value itself, or open and save the file in Excel"]
    fill(path, {"L03": (None, None, None, None)})
    _cache_formula_values(path, {"R3": "wrong typhus"})                   # openpyxl's save dropped it
    report = import_decisions(store, slug, path, reviewer="anna")
    assert report.applied == 2
    assert get_mapping(store, slug, "L01").comment == "=see L03, same source"   # what the reviewer typed
    assert get_mapping(store, slug, "L02").comment == "wrong typhus"            # what Excel showed


def test_a_row_asking_for_the_current_state_is_counted_unchanged(store, tmp_path):
    slug = make_map_set(store)
    decide(store, slug, "L02", "reject", actor="boris", revision=1)
    path = tmp_path / "r.xlsx"
    export_xlsx(store, slug, path)
    fill(path, {"L02": ("reject", None, None, None), "L01": ("approve", None, None, None)})
    report = import_decisions(store, slug, path, reviewer="anna")
    assert report.by_outcome == {"approved": 1, "unchanged": 1}
    assert [e["actor"] for e in mapping_history(store, slug, "L02")] == ["matcher", "boris"]
