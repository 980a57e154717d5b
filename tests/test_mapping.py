"""Mapping review through the Python API, on SQLite and PostgreSQL: map sets, suggest, decisions, audit, publish."""

from __future__ import annotations

import pytest

from mapping_fixtures import FakeMatcher, make_catalogs, make_map_set
from registry.errors import AlreadyExists, BadRequest, Conflict, Forbidden, NotFound
from registry.mapping import (bulk_decide, create_map_set, decide, get_map_set, get_mapping, list_map_sets,
                              list_mappings, mapping_history, publish_map_set, published_mappings, suggest,
                              translate, translate_codes)
from registry.models import CatalogCreate, MapSetCreate


def test_create_map_set_resolves_versions_and_counts(store):
    make_catalogs(store)
    ms = create_map_set(store, MapSetCreate(slug="m", source="local@latest", target="icd10@2.27", four_eyes=True),
                        actor="admin")
    assert (ms.source_catalog, ms.source_version, ms.target_catalog, ms.target_version) == ("local", "1", "icd10",
                                                                                            "2.27")
    assert ms.title == "local 1 → icd10 2.27"
    assert ms.four_eyes is True
    assert ms.counts == {"candidate": 0, "proposed": 0, "approved": 0, "rejected": 0}
    assert [m.slug for m in list_map_sets(store)] == ["m"]
    with pytest.raises(AlreadyExists, match="map set m exists already"):
        create_map_set(store, MapSetCreate(slug="m", source="local@1", target="icd10@2.27"))
    with pytest.raises(NotFound, match="no catalog 'nope'"):
        create_map_set(store, MapSetCreate(slug="m2", source="nope@1", target="icd10@2.27"))
    with pytest.raises(NotFound, match="catalog icd10 has no version '9'"):
        create_map_set(store, MapSetCreate(slug="m2", source="local@1", target="icd10@9"))
    with pytest.raises(BadRequest, match="map set slug 'Bad Slug'"):
        create_map_set(store, MapSetCreate(slug="Bad Slug", source="local@1", target="icd10@2.27"))
    store.stage_draft("icd10", "3.0", [{"code": "A00.9", "display": "x"}])
    with pytest.raises(BadRequest, match="target icd10@3.0 is a draft version; map sets need published versions"):
        create_map_set(store, MapSetCreate(slug="m2", source="local@1", target="icd10@3.0"))


def test_suggest_stores_candidates_and_never_overwrites_decisions(store):
    slug = make_map_set(store)
    assert get_map_set(store, slug).counts == {"candidate": 5, "proposed": 0, "approved": 0, "rejected": 0}
    l03 = get_mapping(store, slug, "L03")
    assert (l03.target_code, l03.target_display, l03.score, l03.method, l03.revision) == (
        "A01.1", "Паратиф A", 100.0, "fuzzy", 1)
    assert [c["code"] for c in l03.candidates] == ["A01.1", "A01.2", "A01.0"]
    assert get_mapping(store, slug, "L05").target_code is None
    decide(store, slug, "L02", "reject", actor="anna", revision=1, comment="не тот тиф")
    decide(store, slug, "L04", "comment", actor="anna", revision=1, comment="check later")
    # The matcher now answers differently for every term; only untouched candidates follow it.
    new = FakeMatcher({code: [("R69", 50.0)] for code in ["L01", "L02", "L03", "L04", "L05"]})
    report = suggest(store, slug, matcher=new)
    assert sorted(new.asked) == ["L01", "L03", "L05"]
    assert (report.source_entries, report.matched, report.created, report.updated, report.kept_decided) == (
        5, 3, 0, 3, 2)
    assert get_mapping(store, slug, "L01").target_code == "R69"
    assert get_mapping(store, slug, "L01").revision == 2
    l02 = get_mapping(store, slug, "L02")
    assert (l02.status, l02.target_code, l02.revision) == ("rejected", "A01.0", 2)
    assert get_mapping(store, slug, "L04").target_code == "A02.0"
    again = suggest(store, slug, matcher=new)
    assert (again.updated, again.unchanged, again.created) == (0, 3, 0)


def test_approve_records_audit_history(store):
    slug = make_map_set(store)
    m = decide(store, slug, "L01", "approve", actor="anna", revision=1, relationship="equivalent", comment="ok")
    assert (m.status, m.target_code, m.relationship, m.decided_by, m.proposed_by, m.revision, m.comment) == (
        "approved", "A00.9", "equivalent", "anna", "anna", 2, "ok")
    history = mapping_history(store, slug, "L01")
    assert [(e["actor"], e["action"], e["revision"]) for e in history] == [("matcher", "suggest", 1),
                                                                             ("anna", "approve", 2)]
    assert history[1]["before"]["status"] == "candidate"
    assert history[1]["after"]["status"] == "approved"
    assert history[1]["comment"] == "ok"
    assert history[1]["at"] is not None
    assert get_map_set(store, slug).counts == {"candidate": 4, "proposed": 0, "approved": 1, "rejected": 0}


def test_stale_revision_is_a_conflict_with_the_current_state(store):
    slug = make_map_set(store)
    decide(store, slug, "L03", "approve", actor="anna", revision=1)
    with pytest.raises(Conflict) as exc:
        decide(store, slug, "L03", "reject", actor="boris", revision=1)
    assert "mapping L03 was changed (revision 2, your decision was made on revision 1)" in exc.value.message
    assert exc.value.details["current"]["status"] == "approved"
    assert exc.value.details["current"]["decided_by"] == "anna"
    assert get_mapping(store, slug, "L03").status == "approved"
    assert [e["action"] for e in mapping_history(store, slug, "L03")] == ["suggest", "approve"]
    with pytest.raises(BadRequest, match="must carry the revision"):
        decide(store, slug, "L03", "reject", actor="boris", revision=None)


def test_four_eyes_rule(store):
    slug = make_map_set(store, four_eyes=True)
    m = decide(store, slug, "L01", "approve", actor="anna", revision=1)
    assert (m.status, m.proposed_by, m.decided_by) == ("proposed", "anna", None)
    with pytest.raises(Forbidden, match="four-eyes rule: anna proposed mapping L01 and cannot also approve it"):
        decide(store, slug, "L01", "approve", actor="anna", revision=2)
    m = decide(store, slug, "L01", "approve", actor="boris", revision=2)
    assert (m.status, m.proposed_by, m.decided_by) == ("approved", "anna", "boris")
    # A different target is a new proposal, even from a second reviewer.
    m = decide(store, slug, "L03", "propose", actor="anna", revision=1)
    m = decide(store, slug, "L03", "remap", actor="boris", revision=2, target_code="A01.2")
    assert (m.status, m.proposed_by, m.target_code) == ("proposed", "boris", "A01.2")
    assert [(e["actor"], e["action"]) for e in mapping_history(store, slug, "L01")] == [
        ("matcher", "suggest"), ("anna", "propose"), ("boris", "approve")]


def test_remap_not_mappable_reject_and_target_validation(store):
    slug = make_map_set(store)
    with pytest.raises(BadRequest, match="target code 'XX' is not in icd10 version 2.27"):
        decide(store, slug, "L03", "remap", actor="anna", revision=1, target_code="XX")
    with pytest.raises(BadRequest, match="target code 'Z99' is deprecated in icd10 version 2.27"):
        decide(store, slug, "L03", "remap", actor="anna", revision=1, target_code="Z99")
    with pytest.raises(BadRequest, match="relationship 'same' is not one of"):
        decide(store, slug, "L03", "approve", actor="anna", revision=1, relationship="same")
    with pytest.raises(BadRequest, match="decision 'maybe' is not one of"):
        decide(store, slug, "L03", "maybe", actor="anna", revision=1)
    with pytest.raises(NotFound, match="map set local-icd has no mapping 'L99'"):
        decide(store, slug, "L99", "reject", actor="anna", revision=1)
    with pytest.raises(BadRequest, match="mapping L05 has no target code to approve; give one"):
        decide(store, slug, "L05", "approve", actor="anna", revision=1)
    m = decide(store, slug, "L03", "remap", actor="anna", revision=1, target_code="A01.2", relationship="broader")
    assert (m.target_code, m.target_display, m.relationship, m.method, m.score, m.status) == (
        "A01.2", "Паратиф B", "broader", "manual", 90.0, "approved")
    m = decide(store, slug, "L05", "not-mappable", actor="anna", revision=1, comment="no such code")
    assert (m.target_code, m.relationship, m.status) == (None, "not-mappable", "approved")
    m = decide(store, slug, "L02", "reject", actor="anna", revision=1)
    assert (m.status, m.decided_by, m.target_code) == ("rejected", "anna", "A01.0")
    assert get_map_set(store, slug).counts == {"candidate": 2, "proposed": 0, "approved": 2, "rejected": 1}


def test_bulk_decisions_all_or_nothing(store):
    slug = make_map_set(store)
    done = bulk_decide(store, slug, "approve", actor="anna", filters={"status": "candidate", "min_score": 96.5},
                       relationship="equivalent", comment="bulk: high scores")
    assert [m.source_code for m in done] == ["L01", "L02", "L03", "L04"]
    assert list_mappings(store, slug, status="approved")["total"] == 4
    with pytest.raises(Conflict) as exc:
        bulk_decide(store, slug, "reject", actor="boris",
                    items=[{"source_code": "L01", "revision": 2}, {"source_code": "L02", "revision": 1},
                           {"source_code": "L05", "revision": 1}])
    assert exc.value.message == ("mapping L02 was changed (revision 2, your decision was made on revision 1); "
                                 "review it again")
    assert [e["mapping"] for e in exc.value.details["errors"]] == ["L02"]
    assert exc.value.details["errors"][0]["current"]["revision"] == 2
    assert get_mapping(store, slug, "L01").status == "approved"
    assert get_mapping(store, slug, "L05").status == "candidate"


def test_a_bulk_decision_by_filter_decides_every_mapping_it_matches(store):
    """1,234 candidates match: all are approved (read in batches of 1,000), not the first 1,000 silently."""
    n = 1234
    for slug in ("local", "icd10"):
        store.create_catalog(CatalogCreate(slug=slug, title=slug))
        store.stage_draft(slug, "1", [{"code": f"C{i:05d}", "display": f"Disease {i}"} for i in range(n)])
        store.publish(slug, "1")
    create_map_set(store, MapSetCreate(slug="big", source="local@1", target="icd10@1"), actor="admin")
    same_code = {f"C{i:05d}": [(f"C{i:05d}", 99.0)] for i in range(n)}
    displays = {code: f"Disease {int(code[1:])}" for code in same_code}

    def matcher(terms, target, limit=5, *, store, target_fields=None):
        return [{"term": t, "candidates": [{"rank": 1, "code": t["code"], "display": displays[t["code"]],
                                            "score": 99.0, "reason": "same code"}]} for t in terms]
    suggest(store, "big", matcher=matcher)
    done = bulk_decide(store, "big", "approve", actor="anna", filters={"status": "candidate", "min_score": 99})
    assert len(done) == n and len({m.source_code for m in done}) == n
    assert get_map_set(store, "big").counts == {"candidate": 0, "proposed": 0, "approved": n, "rejected": 0}


def test_a_bulk_decision_over_the_limit_is_refused_whole(store):
    slug = make_map_set(store)
    with pytest.raises(BadRequest, match="the filter matches 4 mappings, more than the 3 that one bulk decision "
                                         "may change; narrow it") as exc:
        bulk_decide(store, slug, "approve", actor="anna", filters={"min_score": 96.5}, limit=3)
    assert exc.value.details == {"matched": 4, "limit": 3}
    with pytest.raises(BadRequest, match="4 items are more than the 3"):
        bulk_decide(store, slug, "reject", actor="anna", limit=3,
                    items=[{"source_code": f"L0{i}", "revision": 1} for i in range(1, 5)])
    assert get_map_set(store, slug).counts["candidate"] == 5
    with pytest.raises(BadRequest, match="item 0 must be an object"):
        bulk_decide(store, slug, "reject", actor="anna", items=["L01"])


def test_publish_and_translate_use_only_published_approved(store):
    slug = make_map_set(store)
    with pytest.raises(BadRequest, match="map set local-icd has no approved mappings to publish"):
        publish_map_set(store, slug, "2025-1")
    decide(store, slug, "L01", "approve", actor="anna", revision=1)
    decide(store, slug, "L05", "not-mappable", actor="anna", revision=1)
    decide(store, slug, "L02", "reject", actor="anna", revision=1)
    with pytest.raises(NotFound, match="no published map set from local to icd10"):
        translate(store, "local", "L01", target="icd10")
    v = publish_map_set(store, slug, "2025-1", actor="lead", notes="first")
    assert (v.label, v.seq, v.mapping_count, len(v.checksum)) == ("2025-1", 1, 2, 64)
    assert get_map_set(store, slug).latest_version == "2025-1"
    decide(store, slug, "L03", "approve", actor="anna", revision=1)  # after publishing: not served yet
    result = translate_codes(store, "local", ["L01", "L03", "L05", "L02"], target="icd10")
    assert result == [
        {"code": "L01", "result": True, "matches": [{"target": "icd10", "code": "A00.9",
                                                     "display": "Холера неуточненная", "relationship": "equivalent",
                                                     "map_set": "local-icd", "map_set_version": "2025-1"}]},
        {"code": "L03", "result": False, "matches": []},
        {"code": "L05", "result": False, "matches": [{"target": "icd10", "code": None, "display": None,
                                                      "relationship": "not-mappable", "map_set": "local-icd",
                                                      "map_set_version": "2025-1"}]},
        {"code": "L02", "result": False, "matches": []}]
    with pytest.raises(AlreadyExists, match="map set local-icd already has a version '2025-1'"):
        publish_map_set(store, slug, "2025-1")
    v2 = publish_map_set(store, slug, "2025-2")
    assert (v2.seq, v2.mapping_count) == (2, 3)
    assert translate(store, "local", "L03")["matches"][0]["code"] == "A01.1"
    assert [m["source_code"] for m in published_mappings(store, slug, "2025-1")] == ["L01", "L05"]
    with pytest.raises(Conflict, match="lost a race"):
        publish_map_set(store, slug, "2025-3", expected_head=1)


def test_concurrent_decisions_one_wins_the_other_conflicts(store):
    import threading
    slug = make_map_set(store)
    barrier = threading.Barrier(2)
    outcomes = {}

    def reviewer(name, decision):
        barrier.wait()
        try:
            outcomes[name] = decide(store, slug, "L02", decision, actor=name, revision=1).status
        except Conflict as exc:
            outcomes[name] = exc.details["current"]["decided_by"]

    threads = [threading.Thread(target=reviewer, args=("anna", "approve")),
               threading.Thread(target=reviewer, args=("boris", "reject"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winner = get_mapping(store, slug, "L02").decided_by
    loser = "boris" if winner == "anna" else "anna"
    assert outcomes[winner] == {"anna": "approved", "boris": "rejected"}[winner]
    assert outcomes[loser] == winner  # the loser was told who decided, and nothing of theirs was written
    assert [e["actor"] for e in mapping_history(store, slug, "L02")] == ["matcher", winner]


def test_a_decision_that_changes_nothing_is_not_recorded(store):
    """Issue 16, item 17: approving what is already approved adds no revision and no audit row."""
    slug = make_map_set(store)
    first = decide(store, slug, "L01", "approve", actor="anna", revision=1)
    again = decide(store, slug, "L01", "approve", actor="boris", revision=first.revision)
    assert (again.revision, again.status, again.decided_by) == (first.revision, "approved", "anna")
    decide(store, slug, "L02", "reject", actor="anna", revision=1)
    assert decide(store, slug, "L02", "reject", actor="anna", revision=2).revision == 2
    decide(store, slug, "L05", "not-mappable", actor="anna", revision=1)
    assert decide(store, slug, "L05", "not-mappable", actor="anna", revision=2).revision == 2
    decide(store, slug, "L03", "remap", actor="anna", revision=1, target_code="A01.2", relationship="broader")
    assert decide(store, slug, "L03", "approve", actor="anna", revision=2, target_code="A01.2",
                  relationship="broader").revision == 2
    for code in ("L01", "L02", "L03", "L05"):
        assert [e["action"] for e in mapping_history(store, slug, code)][1:] == [
            {"L01": "approve", "L02": "reject", "L03": "approve", "L05": "approve"}[code]]
    # The same state with a new comment records only the comment; a real change is still recorded.
    noted = decide(store, slug, "L01", "approve", actor="boris", revision=2, comment="confirmed")
    assert (noted.revision, noted.status, noted.decided_by, noted.comment) == (3, "approved", "anna", "confirmed")
    changed = decide(store, slug, "L01", "approve", actor="boris", revision=3, relationship="narrower")
    assert (changed.revision, changed.relationship, changed.decided_by) == (4, "narrower", "boris")
    assert [e["action"] for e in mapping_history(store, slug, "L01")] == ["suggest", "approve", "comment", "approve"]
    # A stale revision is still a conflict, even for a decision that would change nothing.
    with pytest.raises(Conflict):
        decide(store, slug, "L02", "reject", actor="anna", revision=1)


def test_a_no_op_under_the_four_eyes_rule_keeps_the_approval(store):
    slug = make_map_set(store, four_eyes=True)
    decide(store, slug, "L01", "approve", actor="anna", revision=1)          # becomes a proposal
    approved = decide(store, slug, "L01", "approve", actor="boris", revision=2)
    assert approved.status == "approved"
    again = decide(store, slug, "L01", "approve", actor="carl", revision=3)   # not demoted to a proposal
    assert (again.status, again.revision, again.decided_by) == ("approved", 3, "boris")
    assert len(mapping_history(store, slug, "L01")) == 3
