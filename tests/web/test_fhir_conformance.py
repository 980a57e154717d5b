"""The HL7 terminology ecosystem test suites (../shared/fhir-tx-tests) against /fhir.

Every general-mode test of the suites below runs twice: with the suite's setup
resources sent as `tx-resource`, and with them imported into the store first
(`test_hl7_case_preloaded`, through the same `run_import` as `nsi import`). A test that does not pass yet is listed in
KNOWN_GAPS with its reason and runs as a strict xfail: the suite stays green,
the gap stays visible, and fixing it fails the run until the entry is removed.
`test_docs_table_matches` checks the passed/total table in docs/fhir.md.

Every other general-mode suite is measured, not asserted: one test runs them
all (each request bounded in time) and checks that docs/fhir.md's second
table says what the run counted, so the table cannot go stale. A 500 or an
answer that is not FHIR JSON fails it whatever the counts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fhir_tx import TX_TESTS, general_suites, general_tests, preload, run_test

SUITES = ["metadata", "simple-cases", "validation", "case", "translate", "inactive", "errors", "parameters"]
SUPPLEMENT_PROPERTIES = ("a supplement's labels, order and weight (`codesystem-label`, `conceptOrder`, `itemWeight`) "
                         "are not turned into expansion properties")
NO_PUBLISHER = ("the expected answer was recorded without the value set's `publisher`, which the server copies and "
                "the other suites' answers require")
NO_LOCATION = "the expected answer was recorded without the issue's `location`, which the other suites' answers require"
KNOWN_GAPS: dict[tuple[str, str], str] = {
    ("parameters", "parameters-expand-enum-definitions3"): SUPPLEMENT_PROPERTIES,
    ("parameters", "parameters-expand-supplement-none"): NO_PUBLISHER,
    ("parameters", "parameters-expand-supplement-good"): NO_PUBLISHER,
    ("parameters", "parameters-validate-supplement-none"): NO_LOCATION,
}
# The same suites also run with their setup resources imported into the store first, through the importer
# pipeline `nsi import --format fhir-*` runs, so that the stored CodeSystems, ValueSets and ConceptMaps answer as
# the resources sent in a request do (fhir_tx.NOT_IMPORTED: the few `nsi import` refuses, sent as tx-resource).
PRELOADED_SUITES = SUITES
PRELOADED_GAPS = KNOWN_GAPS
DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "fhir.md"
CASES = general_tests(SUITES) if TX_TESTS.is_dir() else []
PRELOADED_CASES = general_tests(PRELOADED_SUITES) if TX_TESTS.is_dir() else []
MEASURED = [name for name in general_suites() if name not in SUITES] if TX_TESTS.is_dir() else []

pytestmark = pytest.mark.skipif(not TX_TESTS.is_dir(), reason=f"HL7 test cases not found at {TX_TESTS}")


@pytest.fixture(scope="module")
def tx_client(tmp_path_factory):
    """One app on an empty SQLite store for the whole module: every resource comes as tx-resource."""
    import os
    from registry.store import Store
    from registry.web import create_app
    data = tmp_path_factory.mktemp("fhir-tx")
    store = Store.init({"NSI_DATA_DIR": str(data), "NSI_DATABASE_URL": f"sqlite:///{data / 'nsi.db'}",
                        **{k: v for k, v in os.environ.items() if k == "PATH"}})
    app = create_app({"TESTING": True, "NSI_STORE": store, "NSI_FHIR_BASE_URL": "http://nsi.test/fhir"})
    yield app.test_client()
    store.engine.dispose()


@pytest.fixture(scope="module")
def preloaded_client(tmp_path_factory):
    """A function giving, per suite, an app whose SQLite store holds that suite's setup resources, imported.

    Each suite's store is a copy of one freshly migrated empty database (migrating eight times costs more than
    all the imports).
    """
    import shutil
    from registry.store import Store
    from registry.web import create_app
    clients, stores = {}, []
    empty = tmp_path_factory.mktemp("fhir-preloaded-empty")
    Store.init({"NSI_DATA_DIR": str(empty), "NSI_DATABASE_URL": f"sqlite:///{empty / 'nsi.db'}"}).engine.dispose()

    def client_for(suite):
        if suite["name"] not in clients:
            data = tmp_path_factory.mktemp(f"fhir-preloaded-{suite['name']}")
            shutil.copy(empty / "nsi.db", data / "nsi.db")
            store = Store.open({"NSI_DATA_DIR": str(data), "NSI_DATABASE_URL": f"sqlite:///{data / 'nsi.db'}"})
            stores.append(store)
            refused = preload(store, suite)
            app = create_app({"TESTING": True, "NSI_STORE": store, "NSI_FHIR_BASE_URL": "http://nsi.test/fhir"})
            clients[suite["name"]] = app.test_client(), refused
        return clients[suite["name"]]
    yield client_for
    for store in stores:
        store.engine.dispose()


def _param(suite, test, gaps=KNOWN_GAPS):
    key = (suite["name"], test["name"])
    marks = [pytest.mark.xfail(strict=True, reason=gaps[key])] if key in gaps else []
    return pytest.param(suite, test, id=f"{suite['name']}/{test['name']}", marks=marks)


@pytest.mark.parametrize("suite,test", [_param(s, t) for s, t in CASES])
def test_hl7_case(tx_client, suite, test):
    diff = run_test(tx_client, suite, test)
    assert diff is None, diff


@pytest.mark.parametrize("suite,test", [_param(s, t, PRELOADED_GAPS) for s, t in PRELOADED_CASES])
def test_hl7_case_preloaded(preloaded_client, suite, test):
    client, refused = preloaded_client(suite)
    diff = run_test(client, suite, test, preloaded=refused)
    assert diff is None, diff


def test_known_gaps_name_real_tests():
    names = {(s["name"], t["name"]) for s, t in CASES}
    assert set(KNOWN_GAPS) <= names


def assert_docs_table(text: str, suites: list[str], cases: list, gaps: dict, mode: str = "") -> None:
    """`text` states passed/total for each suite as `cases` and `gaps` (the known failures) give them, each row
    ending in `| {mode} |` when a mode is named."""
    for suite in suites:
        total = sum(1 for s, _ in cases if s["name"] == suite)
        failing = sum(1 for s, _ in gaps if s == suite)
        row = f"| `{suite}` | {total - failing}/{total} |" + (f" {mode} |" if mode else "")
        assert re.search("^" + re.escape(row), text, re.M), f"docs/fhir.md should say {row}"


def test_docs_table_matches():
    """docs/fhir.md states passed/total per suite as this module computes them (known gaps are the failures)."""
    assert_docs_table(DOCS.read_text(encoding="utf-8"), SUITES, CASES, KNOWN_GAPS)


def test_docs_preloaded_table_matches():
    """docs/fhir.md's preloaded table states passed/total per suite with the setup imported into the store."""
    text = DOCS.read_text(encoding="utf-8").split("### Setup resources preloaded", 1)[1]
    assert_docs_table(text, PRELOADED_SUITES, PRELOADED_CASES, PRELOADED_GAPS, "preloaded")


def test_refused_setup_files_are_few_and_real():
    from fhir_tx import NOT_IMPORTED
    setups = {name for s, _ in PRELOADED_CASES for name in s.get("setup", [])}
    assert set(NOT_IMPORTED) <= setups and len(NOT_IMPORTED) <= 4


@pytest.fixture(scope="module")
def measured(tx_client) -> dict[str, dict]:
    """Every test of the MEASURED suites run once: per suite, its total and the failures (test name -> diff)."""
    out: dict[str, dict] = {name: {"total": 0, "failures": {}} for name in MEASURED}
    for suite, test in general_tests(MEASURED):
        diff = run_test(tx_client, suite, test)
        out[suite["name"]]["total"] += 1
        if diff is not None:
            out[suite["name"]]["failures"][test["name"]] = diff
    return out


def test_other_suites_are_measured_and_the_docs_table_matches(measured):
    """docs/fhir.md states passed/total for every other general-mode suite as this run counted them."""
    text = DOCS.read_text(encoding="utf-8")
    stale = []
    for suite, result in measured.items():
        total, passed = result["total"], result["total"] - len(result["failures"])
        if not re.search(rf"^\| `{re.escape(suite)}` \| {passed}/{total} \|", text, re.M):
            stale.append(f"| `{suite}` | {passed}/{total} |")
    assert not stale, "docs/fhir.md should say:\n" + "\n".join(stale)


def test_no_measured_test_gets_a_server_error_or_a_timeout(measured):
    """A measured test may fail by content, never by a 500, a non-FHIR answer or a request that does not end."""
    broken = {f"{suite}/{name}": diff for suite, result in measured.items()
              for name, diff in result["failures"].items()
              if diff.startswith(("HTTP status 5", "response is ", "timed out"))}
    assert not broken, broken
