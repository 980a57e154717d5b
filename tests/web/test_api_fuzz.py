"""schemathesis against the OpenAPI document, in-process (WSGI): every operation, reads and writes with an admin
token, generated from the declared parameters and bodies. No 5xx, and every response conforms to the documented
status codes, content types and schemas.

Runs on SQLite and on PostgreSQL (where NUL bytes, type and length limits differ: the issue's 500s were
PostgreSQL's). Bounded so that CI stays fast: a few examples per operation on SQLite, fewer on PostgreSQL
(FUZZ_EXAMPLES=200 for a long hunt) and a fixed seed (derandomize), so that a run is reproducible. Half the generated path values are replaced by
those of the fixture's objects, so that operations are exercised past their 404s. The app under test also
checks each JSON success body against its pydantic declaration (registry.web.responses.check_response).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from mapping_fixtures import make_map_set
from registry import auth
from registry.web import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 5))  # per operation on SQLite; set higher for a long hunt
EXAMPLES_ON_POSTGRES = max(1, EXAMPLES * 3 // 5)  # 3 by default: CI's 20 minutes are shared by every test
# Path values of the fixture's objects: half the generated cases use them, so operations get past their 404s.
REAL = {"slug": "icd10", "version": "2.27", "code": "A00.9", "mapset": "local-icd", "job_id": "0"}


def flatmap_path_parameters(context, path_parameters):
    """Either the generated path values or those of the fixture's objects (a map set's code is a source code)."""
    if not path_parameters:
        return st.just(path_parameters)
    real = {**REAL, "code": "L01"} if "mapset" in path_parameters else REAL
    return st.sampled_from([path_parameters, {k: real.get(k, v) for k, v in path_parameters.items()}])


@pytest.fixture
def fuzzed_app(store):
    """The app on a store (SQLite, then PostgreSQL) holding two catalogs and a map set, with an admin token; import
    jobs are not run."""
    make_map_set(store)
    secret = auth.create_token(store, "fuzzer", "admin")[1]
    app = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False, "NSI_RUN_JOBS": False})
    app.config["FUZZ_TOKEN"] = secret
    return app


@pytest.fixture
def api_schema(fuzzed_app):
    """The OpenAPI document the app serves, loaded by schemathesis to call the app through WSGI."""
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed_app)
    loaded.hook(flatmap_path_parameters)
    return loaded


def test_every_operation_keeps_its_contract(api_schema, fuzzed_app):
    """Each operation's generated cases, run by hypothesis directly (not through schemathesis' pytest plugin,
    whose parametrize broke with a pytest release); a failure names the operation and the check that failed."""
    headers = {"Authorization": f"Bearer {fuzzed_app.config['FUZZ_TOKEN']}"}
    on_postgres = fuzzed_app.extensions["nsi_store"].engine.dialect.name == "postgresql"
    examples = EXAMPLES_ON_POSTGRES if on_postgres else EXAMPLES
    failures, labels = [], []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck), database=None)
        def keeps_its_contract(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            keeps_its_contract()
        except Exception as exc:  # a check's failure (or several): keep going, report every operation at the end
            failures.append(f"{operation.label}: {exc}")
    assert len(labels) >= 40, labels  # every operation of the document was run
    assert not failures, "\n\n".join(failures)
