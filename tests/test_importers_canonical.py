"""The mapper's canonical fast path: entries it marks canonical are exactly what normalize_entry makes of them.

The store skips `normalize_entry` for `CanonicalEntry` objects, so any difference here would store
something a loose dict with the same values would not. Rows are chosen to hit the awkward cases:
stray spaces, empty cells, unsorted attributes, templates that add spaces, split and repeated
parents, designations without language, statuses, code-level parents.
"""

from __future__ import annotations

import pytest

from importers import hierarchy as hierarchy_step, mapper as mapping
from importers.findings import Findings
from importers.profile import validate
from registry.entries import FIELDS, CanonicalEntry, EntryError, normalize_entry

HEADER = ["id", "name", "state", "zip", "city", "status", "parent", "syn"]
ROWS = [
    ["A01", "Alpha", "MA", "02110", "Boston", "", "", ""],
    ["  A02 ", " Beta  ", "", " 0211 ", "", "inactive", "A01", "b1|b2"],
    ["A03", "", "NY", "", "New York", " deprecated ", "A01| A02 |A01", " "],
    ["A04", "Delta"],  # short row: missing cells are empty
    ["A05", "Eps", "x", "1", "y", "bogus", "", ""],  # not a status: left to normalize_entry's error
]


def mapped(fields: dict, hierarchy: dict | None = None, rows=ROWS) -> list[dict]:
    profile = validate({"profile": {"name": "t", "format": "csv"}, "catalog": {"title": "T", "language": "en"},
                        "fields": fields, "hierarchy": hierarchy or {}}, "t.toml")
    findings = Findings("t.csv")
    mapper = mapping.Mapper(profile, HEADER, findings, header_row=1, language="en")
    entries = (mapper.entry(cells, n) for n, cells in enumerate(rows, 2))
    return list(hierarchy_step.finish((e for e in entries if e is not None), profile, findings, "en"))


def check_canonical(entries: list[dict]) -> int:
    """Assert every canonical entry is its own normalization; return how many were canonical."""
    count = 0
    for e in entries:
        if isinstance(e, CanonicalEntry):
            count += 1
            assert list(e)[:len(FIELDS)] == list(FIELDS)
            assert {k: e[k] for k in FIELDS} == normalize_entry(e)
            assert list(e["attributes"]) == sorted(e["attributes"])
    return count


def test_plain_columns_take_the_fast_path_and_match_normalize():
    entries = mapped({"code": "id", "display": "name", "status": "status",
                      "attributes": {"zip": "zip", "state": "state", "city": "city"}})
    assert check_canonical(entries) == 4  # all but the bogus status
    assert entries[1]["code"] == "A02" and entries[1]["display"] == "Beta"
    assert entries[1]["attributes"] == {"zip": "0211"}  # empty cells dropped, as normalize_entry does
    assert entries[2]["status"] == "deprecated" and entries[0]["status"] == "active"
    assert not isinstance(entries[4], CanonicalEntry)
    with pytest.raises(EntryError, match="status 'bogus'"):
        normalize_entry(entries[4])


def test_steps_parents_and_designations_match_normalize():
    entries = mapped({
        "code": {"column": "id", "template": " X{0} "},
        "display": {"column": "name", "default": " (none) "},
        "parents": {"column": "parent", "split": "|", "prefix": "X"},
        "designations": [{"column": "syn", "split": "|", "language": "", "use": ""}],
        "attributes": {"zip": {"column": "zip", "type": "integer"}, "city": "city"},
    })
    assert check_canonical(entries) >= 3
    third = entries[2]
    assert third["code"] == "XA03" and third["display"] == "(none)"
    assert third["parents"] == ["XA01", "A02", "A01"]  # split after the prefix; spaces gone
    assert entries[1]["designations"] == [{"language": None, "use": "synonym", "text": "b1"},
                                          {"language": None, "use": "synonym", "text": "b2"}]
    assert entries[0]["attributes"] == {"city": "Boston", "zip": 2110}


def test_code_level_parents_keep_entries_canonical_only_when_clean():
    rows = [["A", "a"], ["AB", "ab"], ["A C", "ac"], ["ABCD", "abcd"]]
    entries = mapped({"code": "id", "display": "name"}, {"code_levels": [1, 2, 4]}, rows)
    check_canonical(entries)
    by_code = {e["code"]: e for e in entries}
    assert by_code["AB"]["parents"] == ["A"] and isinstance(by_code["AB"], CanonicalEntry)
    assert by_code["ABCD"]["parents"] == ["AB"] and isinstance(by_code["ABCD"], CanonicalEntry)
    # "A C"[:2] is "A ", which normalize_entry strips: that entry goes the normalizing way
    assert by_code["A C"]["parents"] == ["A "] and not isinstance(by_code["A C"], CanonicalEntry)
    assert normalize_entry(by_code["A C"])["parents"] == ["A"]


def test_buffered_profiles_give_loose_entries():
    # (a row under A01 by its prefix: a parent rule that gives no row a parent is refused)
    entries = mapped({"code": "id", "display": "name"}, {"code_prefix": True}, rows=ROWS + [["A011", "Sub"]])
    assert entries and check_canonical(entries) == 0


# --- the compiled row builder (importers.compiled): its staged row is the one the store would make --------

AWKWARD = [  # attribute names and values a `%` format or JSON could get wrong; statuses; empty and short cells
    ["A01", "Alpha", "50%", '"q" \\ back', "100%s", "", "", ""],
    [" A02 ", " Beta ", "", "", "", "inactive", "", ""],
    ["A03", "", "Ünïcödé", "\u2028", "tab\there", " deprecated ", "", ""],
    ["A04", "Delta"],  # short: the general path fills the missing cells
    ["A05", "Eps", "x", "1", "y", "bogus", "", ""],  # not a status: the general path
    ["", "no code", "x", "", "", "", "", ""],  # empty code: the general path, which keeps it for the store's error
]


@pytest.mark.parametrize("status", [None, "status"])
def test_compiled_rows_are_what_stored_parts_makes_of_the_entry(status):
    from registry.entries import EncodedEntry, content_hash, stored_parts
    from registry.store.staging import STAGED_COLUMNS
    fields = {"code": "id", "display": "name",
              "attributes": {"zip%s": "state", 'a "quoted" name': "zip", "Ä": "city", "%": "syn"}}
    if status:
        fields["status"] = status
    entries = mapped(fields, rows=AWKWARD)
    encoded = [e for e in entries if isinstance(e, EncodedEntry)]
    assert [e["code"] for e in encoded] == ["A01", "A02", "A03"] if status else ["A01", "A02", "A03", "A05"]
    assert check_canonical(entries) == len(entries) - (1 if status else 0)  # all but the bogus status
    for e in encoded:
        line, designations, parents, attributes = stored_parts(e)
        assert dict(zip(STAGED_COLUMNS, e.stored)) == {
            "code": e["code"], "hash": content_hash(line), "display": e["display"], "designations": designations,
            "parents": parents, "parent_code": None, "status": e["status"], "attributes": attributes}
    assert encoded[0]["attributes"] == {'a "quoted" name': '"q" \\ back', "zip%s": "50%", "Ä": "100%s"}
    assert encoded[0].stored[7] == '{"a \\"quoted\\" name":"\\"q\\" \\\\ back","zip%s":"50%","Ä":"100%s"}'
    assert encoded[1].stored[7] == "{}" and encoded[1]["status"] == ("inactive" if status else "active")


def test_entries_a_later_step_changes_carry_no_staged_row():
    from registry.entries import EncodedEntry
    entries = mapped({"code": "id", "display": "name"}, {"code_levels": [1, 2]}, [["A", "a"], ["AB", "ab"]])
    assert [e["parents"] for e in entries] == [[], ["A"]]
    assert entries and not any(isinstance(e, EncodedEntry) for e in entries)


def test_a_code_the_store_normalizes_is_staged_with_its_own_line(store, tmp_path):
    from importers import run_import
    from registry.entries import canonical_line, content_hash
    path = tmp_path / "nfc.csv"
    path.write_text("id,name\nA\u0308,decomposed\nB,plain\n", encoding="utf-8")
    profile = validate({"profile": {"name": "t", "format": "csv"}, "catalog": {"title": "T", "language": "en"},
                        "fields": {"code": "id", "display": "name"}}, "t.toml")
    run_import(store, path, catalog="nfc", version="1", profile=profile)
    entry = store.lookup("nfc", "\u00c4", "1")
    assert entry["code"] == "\u00c4" and entry["display"] == "decomposed"
    with store.engine.connect() as conn:
        draft = store.resolve("nfc", "1")
        stored = conn.exec_driver_sql(f"SELECT hash FROM staged_v{draft.version_id} WHERE code = 'B'").scalar()
        stored_a = conn.exec_driver_sql(
            f"SELECT hash FROM staged_v{draft.version_id} WHERE code <> 'B'").scalar()
    assert stored == content_hash(canonical_line({"code": "B", "display": "plain", "designations": [],
                                                  "parents": [], "status": "active", "attributes": {}}))
    assert stored_a == content_hash(canonical_line({**entry, "designations": [], "parents": []}))
