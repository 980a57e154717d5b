"""A CodeSystem imported with `caseSensitive: false` finds `KG` as `kg` through an index of folded codes.

The answers are those of folding every concept (the scan it replaces), checked code by code on a system of
20,000 concepts; the executed query is planned with indexes only (no scan of `code_fold` or `entry`); a code
of another version is not found; and the upgrade fills the index for CodeSystems imported before it. Both
databases.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from importers import run_import
from registry import db
from registry.web.fhir.concepts import CodeSystemSource
from registry.web.fhir.terminology import Terminology

URL = "http://example.org/fhir/CodeSystem/big-units"
BASE = "http://localhost/fhir"
SIZE = 20_000
SPECIAL = ["Straße", "ΣΊΣΥΦΟΣ", "Ma\u017fs", "MiXeD-CaSe", "DUP", "dup"]  # ß, final sigma, long s
QUERIES = ["STRASSE", "straße", "σίσυφος", "MASS", "ma\u017fs", "mixed-case", "Dup", "dup",
           "CODE-00017", "code-19999", "Code-20000", "nothing", "", "code-00017 "]


def code_system(version: str, codes: list[str], case_sensitive: bool = False) -> dict:
    return {"resourceType": "CodeSystem", "url": URL, "version": version, "name": "BigUnits", "status": "active",
            "caseSensitive": case_sensitive, "content": "complete",
            "concept": [{"code": code, "display": f"Concept {code}"} for code in codes]}


def import_version(store, tmp_path, version: str, codes: list[str], **kwargs) -> None:
    path = tmp_path / f"big-units-{version}.json"
    path.write_text(json.dumps(code_system(version, codes, **kwargs), ensure_ascii=False), encoding="utf-8")
    run_import(store, path, format="fhir-codesystem", publish=True)


def codes_of_size(size: int) -> list[str]:
    return [f"Code-{n:05d}" for n in range(size)] + SPECIAL


def found(code_system_source, query: str):
    concept = code_system_source.find_case_insensitive(query)
    return concept.code if concept is not None else None


def test_the_index_answers_as_folding_every_concept_did(store, tmp_path):
    import_version(store, tmp_path, "1", codes_of_size(SIZE))
    cs = Terminology(store, BASE).code_system(URL, "1")
    assert not cs.case_sensitive and cs.count() == SIZE + len(SPECIAL)
    by_index = {q: found(cs, q) for q in QUERIES}
    by_scan = {q: (lambda c: c.code if c else None)(CodeSystemSource.find_case_insensitive(cs, q)) for q in QUERIES}
    assert by_index == by_scan
    with store.engine.connect() as conn:  # ASCII codes are folded by SQL lower(), the others in Python
        kept = conn.execute(sa.text("SELECT code, folded FROM code_fold")).all()
    assert sorted(kept) == sorted((code, code.casefold()) for code in codes_of_size(SIZE))
    assert by_index == {"STRASSE": "Straße", "straße": "Straße", "σίσυφος": "ΣΊΣΥΦΟΣ", "MASS": "Ma\u017fs",
                        "ma\u017fs": "Ma\u017fs", "mixed-case": "MiXeD-CaSe", "Dup": "DUP", "dup": "DUP",
                        "CODE-00017": "Code-00017", "code-19999": "Code-19999", "Code-20000": None, "nothing": None,
                        "": None, "code-00017 ": None}


def test_the_lookup_is_planned_on_indexes_not_a_scan(store, tmp_path):
    import_version(store, tmp_path, "1", codes_of_size(SIZE))
    cs = Terminology(store, BASE).code_system(URL, "1")
    executed = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "code_fold" in statement:
            executed.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", keep)
    try:
        assert found(cs, "code-12345") == "Code-12345"
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", keep)
    [(statement, parameters)] = executed
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            assert any(step.startswith("SEARCH code_fold USING") and "ix_code_fold_catalog_folded" in step
                       for step in plan), plan
            assert any(step.startswith("SEARCH entry USING INDEX ix_entry_catalog_code") for step in plan), plan
            assert not any(step.startswith("SCAN") for step in plan), plan
        else:
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
            assert "ix_code_fold_catalog_folded" in plan and "ix_entry_catalog_code" in plan, plan
            assert "Seq Scan" not in plan, plan


def test_a_code_only_in_another_version_is_not_found(store, tmp_path):
    import_version(store, tmp_path, "1", ["Alpha", "Beta"])
    import_version(store, tmp_path, "2", ["Alpha", "Gamma"])
    term = Terminology(store, BASE)
    assert (found(term.code_system(URL, "1"), "BETA"), found(term.code_system(URL, "1"), "GAMMA")) == ("Beta", None)
    assert (found(term.code_system(URL, "2"), "BETA"), found(term.code_system(URL, "2"), "GAMMA")) == (None, "Gamma")


def test_a_case_sensitive_code_system_keeps_no_folded_codes(store, tmp_path):
    import_version(store, tmp_path, "1", ["Alpha"], case_sensitive=True)
    cs = Terminology(store, BASE).code_system(URL, "1")
    assert cs.case_sensitive and found(cs, "ALPHA") is None
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM code_fold")).scalar() == 0


def test_the_upgrade_fills_the_index_for_code_systems_imported_before_it(store, tmp_path):
    from alembic import command
    import_version(store, tmp_path, "1", ["Alpha", "Beta"])
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(code_system("2", ["Alpha", "Delta"])), encoding="utf-8")
    run_import(store, path, format="fhir-codesystem")  # a draft: its codes are in its staging table
    command.downgrade(db.alembic_config(store.engine), "0014")
    db.upgrade(store.engine)
    with store.engine.connect() as conn:
        assert sorted(conn.execute(sa.text("SELECT code, folded FROM code_fold")).all()) == [
            ("Alpha", "alpha"), ("Beta", "beta"), ("Delta", "delta")]
    assert found(Terminology(store, BASE).code_system(URL, "1"), "BETA") == "Beta"
    store.publish("big-units", "2")
    assert found(Terminology(store, BASE).code_system(URL, "2"), "DELTA") == "Delta"


@pytest.mark.parametrize("query, expected", [("KG", True), ("Kg", True), ("kgs", False)])
def test_validate_code_over_http_finds_the_code_ignoring_case(store, tmp_path, query, expected):
    from registry.web import create_app
    import_version(store, tmp_path, "1", ["kg", "lb"])
    client = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False}).test_client()
    r = client.get("/fhir/CodeSystem/$validate-code", query_string={"url": URL, "code": query})
    result = next(p["valueBoolean"] for p in r.get_json()["parameter"] if p["name"] == "result")
    assert (r.status_code, result) == (200, expected)
