"""The versioned store on SQLite and PostgreSQL: drafts, publish, storage by validity range, diff, reads."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from registry.errors import (AlreadyExists, BadRequest, ConfigError, Conflict, ImportRejected, InvalidState,
                             NotFound)
from registry.models import CatalogCreate


def staged_tables(conn) -> list[str]:
    """The drafts' staging tables in the database (each draft has one until it is published or discarded)."""
    return sorted(t for t in sa.inspect(conn).get_table_names() if t.startswith("staged_v"))


def make(store, slug="icd", **kw):
    return store.create_catalog(CatalogCreate(slug=slug, title=kw.pop("title", "ICD"), kind="classification", **kw))


def entries(n=50, reword=(), drop=(), add=0):
    """A small two-level catalog: group G plus n leaves, with optional changes."""
    rows = [{"code": "G", "display": "Group", "parents": []}]
    for i in range(n):
        code = f"G.{i:03d}"
        if code in drop:
            continue
        display = f"Leaf {i}" + (" (revised)" if code in reword else "")
        rows.append({"code": code, "display": display, "parents": ["G"]})
    rows += [{"code": f"N.{j}", "display": f"New {j}", "parents": ["G"]} for j in range(add)]
    return rows


def count_entry_rows(store):
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM entry")).scalar()


def test_create_catalog_rules(store):
    make(store, oid="1.2.643.5.1.13.13.11.1005", owner="RU")
    cat = store.catalog_public("icd")
    assert (cat.slug, cat.oid, cat.owner, cat.language, cat.latest_version) == \
        ("icd", "1.2.643.5.1.13.13.11.1005", "RU", "ru", None)
    with pytest.raises(AlreadyExists, match="catalog icd exists already"):
        make(store)
    with pytest.raises(BadRequest, match="lowercase"):
        make(store, slug="Bad Slug")
    with pytest.raises(NotFound, match="no catalog 'nope'"):
        store.get_catalog("nope")


def test_stage_publish_lookup_and_counts(store):
    make(store)
    report = store.stage_draft("icd", "1", entries(10))
    assert (report.status, report.entries, report.added, report.changed, report.removed) == ("staged", 11, 11, 0, 0)
    assert store.lookup("icd", "G.003", "1")["display"] == "Leaf 3"   # a draft is readable by label
    with pytest.raises(NotFound, match="no published version yet"):
        store.lookup("icd", "G.003")
    v = store.publish("icd", "1", by="alice")
    assert (v.status, v.seq, v.entry_count, v.published_by) == ("published", 1, 11, "alice")
    assert v.checksum == report.checksum and len(v.checksum) == 64
    assert store.lookup("icd", "G.003") == {"code": "G.003", "display": "Leaf 3", "designations": [],
                                            "parents": ["G"], "status": "active", "attributes": {}}
    assert [e["code"] for e in store.children("icd", "G")][:3] == ["G.000", "G.001", "G.002"]


def test_new_version_stores_only_changes(store):
    make(store)
    store.stage_draft("icd", "1", entries(200))
    store.publish("icd", "1")
    rows_v1 = count_entry_rows(store)
    assert rows_v1 == 201
    report = store.stage_draft("icd", "2", entries(200, reword={"G.001", "G.002"}, drop={"G.010"}, add=3))
    assert (report.added, report.changed, report.removed, report.unchanged) == (3, 2, 1, 198)
    store.publish("icd", "2")
    assert count_entry_rows(store) == rows_v1 + 2 + 3   # changed + added; removals only close rows
    assert store.lookup("icd", "G.001", "1")["display"] == "Leaf 1"
    assert store.lookup("icd", "G.001", "2")["display"] == "Leaf 1 (revised)"
    assert store.lookup("icd", "G.001")["display"] == "Leaf 1 (revised)"
    with pytest.raises(NotFound):
        store.lookup("icd", "G.010", "2")
    assert store.lookup("icd", "G.010", "1")["code"] == "G.010"
    assert len(list(store.iter_entries("icd", "1"))) == 201
    assert len(list(store.iter_entries("icd", "2"))) == 203


def test_diff_added_removed_changed_with_fields(store):
    make(store)
    store.stage_draft("icd", "1", entries(20))
    store.publish("icd", "1")
    store.stage_draft("icd", "2", entries(20, reword={"G.005"}, drop={"G.007"}, add=1))
    draft_diff = store.diff("icd", "latest", "2")   # a draft against the latest published version
    store.publish("icd", "2")
    store.stage_draft("icd", "3", entries(20, reword={"G.005"}, drop={"G.007", "G.008"}, add=1))
    store.publish("icd", "3")
    d = store.diff("icd", "1", "2")
    assert d["counts"] == {"added": 1, "removed": 1, "changed": 1}
    assert [e["code"] for e in d["added"]] == ["N.0"]
    assert [e["code"] for e in d["removed"]] == ["G.007"]
    assert d["changed"] == [{"code": "G.005", "display": "Leaf 5 (revised)",
                             "fields": {"display": {"before": "Leaf 5", "after": "Leaf 5 (revised)"}}}]
    assert draft_diff["counts"] == d["counts"] and draft_diff["changed"] == d["changed"]
    d13 = store.diff("icd", "1", "3")
    assert ([e["code"] for e in d13["removed"]], d13["counts"]) == (["G.007", "G.008"],
                                                                   {"added": 1, "removed": 2, "changed": 1})
    back = store.diff("icd", "3", "1")
    assert ([e["code"] for e in back["added"]], [e["code"] for e in back["removed"]]) == (["G.007", "G.008"],
                                                                                         ["N.0"])
    assert store.diff("icd", "2", "2")["counts"] == {"added": 0, "removed": 0, "changed": 0}


def test_rejected_import_stores_nothing(store):
    make(store)
    bad = entries(5) + [{"code": "G.001", "display": "again", "parents": ["G"]},
                        {"code": "X", "display": "orphan", "parents": ["NOPE"]},
                        {"code": "", "display": "no code"}]
    with pytest.raises(ImportRejected) as info:
        store.stage_draft("icd", "1", bad, file="bad.jsonl")
    messages = [str(p) for p in info.value.problems]
    assert messages == ["bad.jsonl, row 7, column code: duplicate code G.001 (first at row 3)",
                        "bad.jsonl, row 9, column code: empty code",
                        "bad.jsonl, row 8, column parents: entry X has unknown parent NOPE"]
    assert store.list_versions("icd") == []
    with store.engine.connect() as conn:
        assert staged_tables(conn) == []


def test_schema_checked_attributes(store):
    make(store, field_schema={"atc": {"type": "string", "required": True}, "ddd": "number"})
    with pytest.raises(ImportRejected) as info:
        store.stage_draft("icd", "1", [
            {"code": "a", "display": "A", "attributes": {"atc": "J01", "ddd": "lots"}},
            {"code": "b", "display": "B", "attributes": {"ddd": 2}},
            {"code": "c", "display": "C", "attributes": {"atc": "J02", "colour": "red"}}])
    assert [(p.row, p.column, p.kind) for p in info.value.problems] == [
        (1, "ddd", "wrong_type"), (2, "atc", "missing"), (3, "colour", "unknown_attribute")]
    report = store.stage_draft("icd", "1", [{"code": "a", "display": "A", "attributes": {"atc": "J01", "ddd": 1.5}}])
    assert report.entries == 1


def test_dry_run_and_same_source(store):
    make(store)
    report = store.stage_draft("icd", "1", entries(5), dry_run=True, source_sha256="ab" * 32)
    assert (report.status, report.entries) == ("dry-run", 6)
    assert store.list_versions("icd") == []
    store.stage_draft("icd", "1", entries(5), source_name="f.jsonl", source_sha256="ab" * 32)
    again = store.stage_draft("icd", "2", entries(5), source_name="f.jsonl", source_sha256="ab" * 32)
    assert again.status == "unchanged"
    assert again.message.startswith("f.jsonl was already imported as version 1 of icd (same sha256); no new "
                                    "version created. Version 1 is still a draft: `nsi publish icd 1` publishes it")
    assert [v.label for v in store.list_versions("icd")] == ["1"]
    with pytest.raises(AlreadyExists, match="already has a version '1'"):
        store.stage_draft("icd", "1", entries(2))


def test_discard_retire_and_states(store):
    make(store)
    store.stage_draft("icd", "1", entries(3))
    store.discard("icd", "1")
    assert store.list_versions("icd") == []
    store.stage_draft("icd", "1", entries(3))
    store.publish("icd", "1")
    with pytest.raises(InvalidState, match="only a draft can be published"):
        store.publish("icd", "1")
    with pytest.raises(InvalidState, match="only a draft can be discarded"):
        store.discard("icd", "1")
    store.stage_draft("icd", "2", entries(4))
    store.publish("icd", "2")
    store.retire("icd", "2")
    assert store.resolve("icd", "latest").label == "1"     # latest skips retired versions
    assert store.lookup("icd", "G.003", "2")["code"] == "G.003"   # retired stays readable
    assert [(v.label, v.status) for v in store.list_versions("icd")] == [("1", "published"), ("2", "retired")]


def test_publish_conflict_on_moved_head(store):
    make(store)
    store.stage_draft("icd", "1", entries(3))
    store.publish("icd", "1")
    store.stage_draft("icd", "2", entries(4))
    store.stage_draft("icd", "3", entries(5))
    store.publish("icd", "2", expected_head=1)
    with pytest.raises(Conflict, match="lost a race"):
        store.publish("icd", "3", expected_head=1)
    assert [(v.label, v.status) for v in store.list_versions("icd")] == [
        ("1", "published"), ("2", "published"), ("3", "draft")]
    assert len(list(store.iter_entries("icd", "3"))) == 6     # the losing draft is intact
    # Draft 3 was compared with version 1: published now, it would undo version 2 unseen.
    with pytest.raises(Conflict, match=re.escape(
            "draft 3 of icd was compared with an older version: 2 has been published since, and publishing 3 now "
            "would undo its changes unseen; nothing was changed. Discard the draft (`nsi discard icd 3`) and import "
            "its file again to compare it with 2")):
        store.publish("icd", "3")
    assert store.resolve("icd").label == "2"
    store.discard("icd", "3")
    assert store.stage_draft("icd", "3", entries(5)).added == 1    # compared with 2 this time
    store.publish("icd", "3")
    assert store.resolve("icd").label == "3"


def test_page_entries_cursor_and_filters(store):
    make(store)
    rows = entries(25) + [{"code": "Z", "display": "Холера неуточнённая", "status": "inactive"}]
    store.stage_draft("icd", "1", rows)
    store.publish("icd", "1")
    first = store.page_entries("icd", limit=10)
    second = store.page_entries("icd", limit=10, cursor=first["next_cursor"])
    assert [e["code"] for e in first["items"]][:2] == ["G", "G.000"]
    assert second["items"][0]["code"] == "G.009"
    assert [e["code"] for e in store.page_entries("icd", q="холера")["items"]] == ["Z"]
    assert [e["code"] for e in store.page_entries("icd", status="inactive")["items"]] == ["Z"]
    assert len(store.page_entries("icd", parent="G", limit=100)["items"]) == 25
    assert store.validate_codes("icd", ["G.001", "Z", "nope"]) == [
        {"code": "G.001", "result": "valid", "status": "active", "display": "Leaf 1"},
        {"code": "Z", "result": "inactive", "status": "inactive", "display": "Холера неуточнённая"},
        {"code": "nope", "result": "unknown", "status": None, "display": None}]


def test_export_lines_match_canonical(store):
    from registry.entries import canonical_line, normalize_entry
    make(store)
    rows = [{"code": "A", "display": "Ä \"q\"", "designations": [{"language": "en", "use": "synonym", "text": "a"}],
             "attributes": {"z": 1, "a": True}}, {"code": "B", "display": "b", "parents": ["A"]}]
    store.stage_draft("icd", "1", rows)
    store.publish("icd", "1")
    assert list(store.iter_lines("icd")) == [canonical_line(normalize_entry(r)) for r in rows]


def _publish_in_process(env, label, barrier, results):
    """Child process: wait for the other one, then publish `label`."""
    import os
    os.environ.update(env)
    from registry.errors import Conflict
    from registry.store import Store
    store = Store.open()
    barrier.wait()
    try:
        store.publish("icd", label)
        results.put((label, "published"))
    except Conflict as exc:
        results.put((label, f"conflict: {exc.message}"))


def test_two_processes_publish_at_once(store, db_env):
    """Two drafts of one catalog published at the same moment: one wins, the other gets a clear error."""
    import multiprocessing
    make(store)
    store.stage_draft("icd", "1", entries(100))
    store.publish("icd", "1")
    store.stage_draft("icd", "2a", entries(20000, reword={"G.001"}))
    store.stage_draft("icd", "2b", entries(20000, drop={"G.002"}))
    store.engine.dispose()
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_publish_in_process, args=(db_env, label, barrier, results)) for label in ("2a", "2b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    outcome = dict(results.get(timeout=5) for _ in procs)
    winners = [label for label, result in outcome.items() if result == "published"]
    assert len(winners) == 1, outcome
    loser = ({"2a", "2b"} - set(winners)).pop()
    assert outcome[loser].startswith(f"conflict: publish of icd {loser} lost a race"), outcome
    versions = {v.label: v for v in store.list_versions("icd")}
    assert (versions[winners[0]].status, versions[winners[0]].seq) == ("published", 2)
    assert (versions[loser].status, versions[loser].seq) == ("draft", None)
    assert store.resolve("icd").label == winners[0]
    assert len(list(store.iter_entries("icd", winners[0]))) == versions[winners[0]].entry_count
    assert len(list(store.iter_entries("icd", "1"))) == 101       # the older version is untouched
    assert len(list(store.iter_entries("icd", loser))) == versions[loser].entry_count   # the loser's draft too


def test_the_code_knows_the_newest_migration():
    from registry import db
    assert db.head_revision() == db.alembic_head()


def test_migrations_keep_stored_data_down_and_up(store):
    """A database upgraded from an older schema keeps every catalog, version and entry as it was."""
    from registry import db
    make(store)
    store.stage_draft("icd", "1", iter(entries(20)))
    store.publish("icd", "1")
    store.stage_draft("icd", "2", iter(entries(20, reword={"G.003"}, add=1)))
    before = (list(store.iter_lines("icd", "1")), list(store.iter_lines("icd", "2")),
              [v.model_dump() for v in store.list_versions("icd")])
    from alembic import command
    command.downgrade(db.alembic_config(store.engine), "0003")
    assert db.current_revision(store.engine) == "0003"
    with pytest.raises(ConfigError, match="schema is at revision 0003"):
        db.check_schema(store.engine)
    db.upgrade(store.engine)
    assert db.current_revision(store.engine) == db.head_revision()
    after = (list(store.iter_lines("icd", "1")), list(store.iter_lines("icd", "2")),
             [v.model_dump() for v in store.list_versions("icd")])
    assert after == before
    store.publish("icd", "2")  # the draft staged before the round trip still publishes
    assert store.lookup("icd", "G.003")["display"] == "Leaf 3 (revised)"


@pytest.mark.parametrize("label", ["", "  ", " 2.27"])
def test_blank_or_padded_version_label_is_refused(store, label):
    store.create_catalog(CatalogCreate(slug="icd", title="ICD"))
    with pytest.raises(BadRequest, match="a version label must be non-empty text without surrounding spaces"):
        store.stage_draft("icd", label, entries(2))
    assert store.list_versions("icd") == []


def test_parent_cycles_are_refused(store):
    make(store)
    looped = [{"code": "A", "display": "A", "parents": ["C"]},      # forward reference closes A→C→B→A
              {"code": "B", "display": "B", "parents": ["A"]},
              {"code": "C", "display": "C", "parents": ["B"]},
              {"code": "D", "display": "D", "parents": ["E", "A"]},  # D→E→D, through a second parent
              {"code": "E", "display": "E", "parents": ["D"]},
              {"code": "F", "display": "F", "parents": ["A"]},       # below a cycle, not in one
              {"code": "G", "display": "G", "parents": ["H"]},       # forward reference, no cycle
              {"code": "H", "display": "H"}]
    with pytest.raises(ImportRejected) as info:
        store.stage_draft("icd", "1", looped, file="loop.jsonl")
    assert [str(p) for p in info.value.problems] == [
        "loop.jsonl, row 1, column parents: entries A → C → B → A form a parent cycle",
        "loop.jsonl, row 4, column parents: entries D → E → D form a parent cycle"]
    assert {p.kind for p in info.value.problems} == {"parent_cycle"}
    assert store.list_versions("icd") == []
    with store.engine.connect() as conn:
        assert staged_tables(conn) == []
    # the same hierarchy without the closing edges is accepted
    fixed = [dict(e, parents=[]) if e["code"] in ("A", "D") else e for e in looped]
    assert store.stage_draft("icd", "1", fixed, file="loop.jsonl").entries == 8


def test_long_parent_cycle_is_one_short_line(store):
    make(store)
    n = 5000  # every entry's parent comes later in the file, and the last one's is the first: one cycle of n
    chain = [{"code": f"C{i}", "display": f"C{i}", "parents": [f"C{(i + 1) % n}"]} for i in range(n)]
    with pytest.raises(ImportRejected) as info:
        store.stage_draft("icd", "1", chain, file="chain.jsonl")
    assert [str(p) for p in info.value.problems] == [
        "chain.jsonl, row 1, column parents: entries C0 → C1 → C2 → C3 → C4 → … (4,991 more) … → C4996 → C4997 "
        "→ C4998 → C4999 → C0 form a parent cycle"]
    chain[-1]["parents"] = []  # the same deep chain without the closing link: a valid hierarchy, n levels deep
    assert store.stage_draft("icd", "1", chain, file="chain.jsonl").entries == n


def test_children_before_their_parents_stage_and_a_missing_parent_is_located(store):
    make(store)
    # 3,000 leaves first, then their 30 parents: every leaf is a forward reference, found later in the file.
    leaves = [{"code": f"L{i:04d}", "display": f"Leaf {i}", "parents": [f"P{i // 100:02d}"]} for i in range(3000)]
    parents = [{"code": f"P{j:02d}", "display": f"Parent {j}"} for j in range(30)]
    assert store.stage_draft("icd", "1", leaves + parents, file="rev.jsonl").entries == 3030
    store.discard("icd", "1")
    leaves[2345]["parents"] = ["P99"]
    with pytest.raises(ImportRejected) as info:
        store.stage_draft("icd", "1", leaves + parents, file="rev.jsonl")
    assert [(str(p), p.code, p.kind) for p in info.value.problems] == [
        ("rev.jsonl, row 2346, column parents: entry L2345 has unknown parent P99", "L2345", "unknown_parent")]
    assert store.list_versions("icd") == []


@pytest.mark.parametrize("code, char", [("A0\n1", "U+000A"), ("Z\u200b", "U+200B"), ("A\u00a01", "U+00A0"),
                                         ("B\t1", "U+0009")])
def test_codes_with_control_or_invisible_characters_are_refused(store, code, char):
    make(store)
    with pytest.raises(ImportRejected) as info:
        store.stage_draft("icd", "1", [{"code": "A00", "display": "Cholera"}, {"code": code, "display": "Bad"}],
                          file="codes.jsonl")
    assert [(str(p), p.kind) for p in info.value.problems] == [
        (f"codes.jsonl, row 2, column code: code {code.strip()!r} holds a control or invisible character ({char}); "
         f"codes are looked up and compared as typed, so they must be plain text", "bad_code")]
    assert store.list_versions("icd") == []


def test_codes_are_stored_in_nfc_so_one_code_written_two_ways_is_a_duplicate(store):
    make(store)
    composed, decomposed = "\u00c41", "A\u03081"  # Ä1 as one character, and as A + combining diaeresis
    with pytest.raises(ImportRejected) as info:
        store.stage_draft("icd", "1", [{"code": composed, "display": "One"}, {"code": decomposed, "display": "Two"}],
                          file="nfd.jsonl")
    assert [p.kind for p in info.value.problems] == ["duplicate_code"]
    store.stage_draft("icd", "1", [{"code": "A", "display": "Parent"},
                                   {"code": decomposed, "display": "Two", "parents": ["A"]},
                                   {"code": "B", "display": "Child", "parents": [decomposed]}], file="nfd.jsonl")
    store.publish("icd", "1")
    assert store.lookup("icd", composed)["display"] == "Two"
    assert store.lookup("icd", decomposed)["code"] == composed
    assert store.lookup("icd", "B")["parents"] == [composed]


@pytest.mark.parametrize("label, message", [
    ("latest", "'latest' cannot be a version label: it always means the newest published version"),
    ("Latest", "'latest' cannot be a version label"),
    ("2026/1", "a version label cannot hold '/' (got '2026/1')"),
    ("v1@x", "a version label cannot hold '@'"),
    ("v1?", "a version label cannot hold '?'"),
])
def test_labels_that_urls_or_targets_would_misread_are_refused(store, label, message):
    make(store)
    with pytest.raises(BadRequest, match=re.escape(message)):
        store.stage_draft("icd", label, entries(2))
    assert store.list_versions("icd") == []


def test_every_error_is_counted_though_a_thousand_are_listed(store):
    make(store)
    rows = [{"code": "", "display": f"Nameless {i}"} for i in range(1500)]
    with pytest.raises(ImportRejected) as info:
        store.stage_draft("icd", "1", rows, file="many.jsonl")
    assert len(info.value.problems) == 1000 and info.value.total == 1500
    assert info.value.message == "import rejected: many.jsonl, row 1, column code: empty code (and 1499 more errors)"
    assert info.value.details["error_count"] == 1500


def test_children_of_a_refused_row_are_not_reported_as_orphans_too(store):
    make(store)
    rows = [{"code": "A", "display": "Parent", "status": "bogus"}, {"code": "B", "display": "Child", "parents": ["A"]},
            {"code": "C", "display": "Orphan", "parents": ["Z"]}]
    with pytest.raises(ImportRejected) as info:
        store.stage_draft("icd", "1", rows, file="f.jsonl")
    assert [str(p) for p in info.value.problems] == [
        "f.jsonl, row 1, column status: status 'bogus' is not one of active, inactive, deprecated",
        "f.jsonl, row 3, column parents: entry C has unknown parent Z"]


def test_own_parent_is_a_cycle_of_one(store):
    make(store)
    with pytest.raises(ImportRejected) as info:
        store.stage_draft("icd", "1", [{"code": "A", "display": "A", "parents": ["A"]}], file="self.jsonl")
    assert [(str(p), p.kind) for p in info.value.problems] == [
        ("self.jsonl, row 1, column parents: entry A is its own parent", "parent_cycle")]


def test_counts_after_retiring_the_latest_are_against_the_version_now_latest(store):
    """Retiring 2 makes 1 the latest again: version 3 is counted, diffed and fed against 1, not against 2."""
    from registry import publishing
    make(store)
    store.stage_draft("icd", "1", entries(10))
    store.publish("icd", "1")
    second = entries(10, reword={"G.001"}, drop={"G.002", "G.003"}, add=1)
    store.stage_draft("icd", "2", second)
    store.publish("icd", "2")
    store.retire("icd", "2")
    report = store.stage_draft("icd", "3", second)          # the same content as the retired version
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 1, 2, 8)
    v3 = store.publish("icd", "3")
    assert (v3.added_count, v3.changed_count, v3.removed_count) == (1, 1, 2)
    diff = store.diff("icd", "1", "3")
    assert diff["counts"] == {"added": 1, "changed": 1, "removed": 2}
    feed = {item["version"]: item for item in publishing.releases(store)}
    assert (feed["3"]["added_count"], feed["3"]["changed_count"], feed["3"]["removed_count"]) == (1, 1, 2)
    assert feed["3"]["previous_version"] == "1" and feed["2"]["previous_version"] == "1"
    assert feed["1"]["previous_version"] is None
    assert list(store.iter_entries("icd", "3")) == list(store.iter_entries("icd", "2"))
    assert store.get_version("icd", "3").checksum == store.get_version("icd", "2").checksum
    # Retire 3 too, and go back to 1's content: nothing changed against 1, and the rows say so.
    store.retire("icd", "3")
    report = store.stage_draft("icd", "4", entries(10))
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 0, 0, 11)
    v4 = store.publish("icd", "4")
    assert (v4.added_count, v4.changed_count, v4.removed_count) == (0, 0, 0)
    assert store.diff("icd", "1", "4")["counts"] == {"added": 0, "changed": 0, "removed": 0}
    assert store.diff("icd", "3", "4")["counts"] == {"added": 2, "changed": 1, "removed": 1}
    assert list(store.iter_entries("icd", "4")) == list(store.iter_entries("icd", "1"))
    assert [e["code"] for e in store.iter_entries("icd", "2")] == [e["code"] for e in store.iter_entries("icd", "3")]


def test_a_draft_compared_with_a_version_retired_since_is_not_published(store):
    """Draft 3 was counted against 2; once 2 is retired its counts and its review describe the wrong change."""
    make(store)
    store.stage_draft("icd", "1", entries(3))
    store.publish("icd", "1")
    store.stage_draft("icd", "2", entries(4))
    store.publish("icd", "2")
    assert store.stage_draft("icd", "3", entries(5)).added == 1
    store.retire("icd", "2")
    with pytest.raises(Conflict, match=re.escape(
            "draft 3 of icd was compared with version 2, which has been retired since: the latest version is 1 "
            "now; nothing was changed. Discard the draft (`nsi discard icd 3`) and import its file again to "
            "compare it with 1")):
        store.publish("icd", "3")
    store.discard("icd", "3")
    assert store.stage_draft("icd", "3", entries(5)).added == 2    # compared with 1 this time
    assert store.publish("icd", "3").added_count == 2
    # Retiring a version that is not the latest changes nothing for a draft.
    store.stage_draft("icd", "4", entries(6))
    store.retire("icd", "1")
    assert store.publish("icd", "4").added_count == 1
