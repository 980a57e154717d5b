"""`nsi mapset ...` and `nsi translate` through click's CliRunner, with the real matcher: whole outputs."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from cli import cli
from mapping_fixtures import make_catalogs


@pytest.fixture
def nsi(db_env, runner):
    """Run `nsi ARGS` on a fresh database holding the `local` and `icd10` test catalogs."""
    from registry.store import Store
    store = Store.open()
    make_catalogs(store)
    store.engine.dispose()

    def run(*args):
        return runner.invoke(cli, list(args), catch_exceptions=False)
    return run


def fill(path, decisions: dict[str, tuple]):
    """Fill the review worksheet as a reviewer would: {source code: (decision, relationship, target, comment)}."""
    wb = load_workbook(path)
    ws = wb["Review"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) + 1 for name in ("Source code", "Decision", "Relationship", "Other target code",
                                                     "Comment")}
    for row in range(2, ws.max_row + 1):
        code = ws.cell(row, col["Source code"]).value
        if code in decisions:
            for name, value in zip(("Decision", "Relationship", "Other target code", "Comment"), decisions[code]):
                ws.cell(row, col[name]).value = value
    wb.save(path)


def test_mapset_workflow(nsi, tmp_path):
    r = nsi("mapset", "create", "local-icd", "--source", "local@1", "--target", "icd10@latest", "--four-eyes",
            "--owner", "WG", "--by", "admin")
    assert (r.exit_code, r.stdout) == (0, "Created map set local-icd: local@1 -> icd10@2.27 (four-eyes rule on)\n"
                                          "  matching on display (1); combine best; searching the target's "
                                          "display, designations\n")
    r = nsi("mapset", "create", "local-icd", "--source", "local@1", "--target", "icd10@2.27")
    assert (r.exit_code, r.stderr) == (1, "Error: map set local-icd exists already\n")
    r = nsi("mapset", "create", "x", "--source", "local@7", "--target", "icd10@2.27")
    assert (r.exit_code, r.stderr) == (1, "Error: catalog local has no version '7'\n")
    r = nsi("mapset", "suggest", "local-icd", "--limit", "3")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ("Matched 5 of 5 source entries of local-icd: 5 new candidates, 0 updated, 0 unchanged; "
                        "0 with a reviewer's decision kept; 0 without any candidate\n")
    assert nsi("mapset", "list").stdout == ("local-icd\tlocal@1 -> icd10@2.27\t5 candidate, 0 proposed, 0 approved, "
                                            "0 rejected\tlatest -\n")
    xlsx = tmp_path / "review.xlsx"
    r = nsi("mapset", "export", "local-icd", "--xlsx", str(xlsx))
    assert r.stdout == f"Wrote 5 mappings of local-icd to {xlsx}\n"
    ws = load_workbook(xlsx)["Review"]
    rows = {row[0]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    # The real matcher finds the reworded names (ё/е) as the best candidate.
    assert rows["L01"][3] == "A00.9" and rows["L02"][3] == "A01.0" and rows["L04"][3] == "A02.0"
    fill(xlsx, {"L01": ("approve", "equivalent", None, "точно"), "L02": ("approve", None, None, None),
                "L03": ("remap", "narrower", "A01.2", None), "L05": ("not-mappable", None, None, "нет кода")})
    r = nsi("mapset", "import-decisions", "local-icd", str(xlsx), "--reviewer", "anna")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ("Applied 4 decisions of anna from review.xlsx: 4 proposed (4 recorded as proposals under the "
                        "four-eyes rule; another reviewer must approve them); "
                        "1 rows without a decision left as they were\n")
    # Four-eyes: anna's decisions are proposals; the same worksheet by anna again is stale and refused row by row.
    r = nsi("mapset", "import-decisions", "local-icd", str(xlsx), "--reviewer", "anna")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0].startswith("Error: review.xlsx: 4 rows refused, no decision applied; first: "
                                               "review.xlsx, sheet Review, row 2, column revision (do not edit): mapping L01 was changed")
    assert r.stderr.splitlines()[-1] == "Nothing was stored."
    xlsx2 = tmp_path / "second.xlsx"
    nsi("mapset", "export", "local-icd", "--xlsx", str(xlsx2), "--status", "proposed")
    fill(xlsx2, {"L01": ("approve", None, None, None), "L02": ("approve", None, None, None),
                 "L05": ("approve", None, None, None)})
    r = nsi("mapset", "import-decisions", "local-icd", str(xlsx2), "--reviewer", "anna")
    assert r.exit_code == 1
    assert "four-eyes rule: anna proposed mapping L01 and cannot also approve it" in r.stderr
    r = nsi("mapset", "import-decisions", "local-icd", str(xlsx2), "--reviewer", "boris")
    assert r.stdout == ("Applied 3 decisions of boris from second.xlsx: 3 approved; "
                        "1 rows without a decision left as they were\n")
    assert nsi("mapset", "show", "local-icd").stdout == (
        "local-icd: local 1 → icd10 2.27\n  source: local@1\n  target: icd10@2.27\n  four-eyes rule: on\n"
        "  matching on: display (1); combine best; searching the target's display, designations\n"
        "  owner: WG\n  candidate: 1\n  proposed: 1\n  approved: 3\n  rejected: 0\n"
        "  latest published version: -\n"
        "  last suggest: 5 of 5 entries with candidates, 0 without\n")
    r = nsi("mapset", "publish", "local-icd", "2025-1", "--by", "lead")
    assert r.stdout == "Published map set local-icd 2025-1 as sequence 1: 3 approved mappings\n"
    r = nsi("translate", "local", "L01", "L05", "L03", "--target", "icd10")
    assert r.stdout == ("L01\tequivalent\ticd10:A00.9\tХолера неуточненная\t(local-icd 2025-1)\n"
                        "L05\tnot-mappable\ticd10:-\t\t(local-icd 2025-1)\n"
                        "L03\t(no published mapping)\n")
    sssom = tmp_path / "m.sssom.tsv"
    r = nsi("mapset", "export", "local-icd", "--sssom", str(sssom), "--version", "latest")
    assert r.stdout == f"Wrote 3 mappings of local-icd to {sssom} (SSSOM TSV)\n"
    r = nsi("mapset", "export", "local-icd")
    assert (r.exit_code, r.stderr) == (1, "Error: give --xlsx FILE and/or --sssom FILE\n")
    r = nsi("mapset", "show", "nope")
    assert (r.exit_code, r.stderr) == (1, "Error: no map set 'nope'\n")
    r = nsi("translate", "icd10", "A00.9")
    assert (r.exit_code, r.stderr) == (1, "Error: no published map set from icd10\n")


def test_mapset_create_declares_what_is_matched(nsi):
    r = nsi("mapset", "create", "by-inn", "--source", "local@1", "--target", "icd10@2.27",
            "--match-field", "attributes.inn", "--match-field", "designations:ru:0.8", "--match-field", "display:0.5",
            "--combine", "first", "--form-field", "attributes.dosage_form", "--floor", "40",
            "--target-field", "display", "--target-field", "designations:en")
    assert (r.exit_code, r.stdout) == (0, "Created map set by-inn: local@1 -> icd10@2.27\n"
                                          "  matching on attributes.inn (1), designations:ru (0.8), display (0.5); "
                                          "combine first, form attributes.dosage_form, floor 40; "
                                          "searching the target's display, designations:en\n")
    r = nsi("mapset", "create", "bad", "--source", "local@1", "--target", "icd10@2.27", "--match-field", "code")
    assert (r.exit_code, r.stderr) == (1, "Error: match.names[1]: field 'code' is not display, designations, "
                                          "designations:LANG or attributes.NAME\n")
    r = nsi("mapset", "create", "bad", "--source", "local@1", "--target", "icd10@2.27", "--target-field", "inn")
    assert (r.exit_code, r.stderr) == (1, "Error: match.targets[1]: field 'inn' is not display, designations, "
                                          "designations:LANG or attributes.NAME\n")
    # the local test entries have no inn: their display answers at half its score, and the unknown disease
    # (L05, no close name in ICD-10) falls under the floor
    r = nsi("mapset", "suggest", "by-inn")
    assert r.stdout == ("Matched 5 of 5 source entries of by-inn: 5 new candidates, 0 updated, 0 unchanged; "
                        "0 with a reviewer's decision kept; 1 without any candidate (1 below floor)\n")
    assert "  last suggest: 4 of 5 entries with candidates, 1 without (1 below floor)\n" in nsi(
        "mapset", "show", "by-inn").stdout
