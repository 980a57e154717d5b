"""Fixtures of the API tests: a small ICD-10 excerpt in two published versions and one token per role."""

from __future__ import annotations

from pathlib import Path

import pytest

from importers import run_import
from registry import auth
from registry.models import CatalogCreate
from registry.search import index as search_index

API_DATA = Path(__file__).resolve().parent.parent / "data" / "api"


@pytest.fixture
def bearer():
    """A function giving the Authorization header for a token secret."""
    return lambda secret: {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def api_data():
    """The folder of the API tests' data files."""
    return API_DATA


@pytest.fixture
def loaded(store):
    """Catalog `icd10` with versions 2023 and 2024 published (2024 is latest). Returns the store."""
    store.create_catalog(CatalogCreate(slug="icd10", title="МКБ-10", kind="classification", owner="Минздрав",
                                       oid="1.2.643.5.1.13.13.11.1005"))
    for label, name in (("2023", "icd_v1.jsonl"), ("2024", "icd_v2.jsonl")):
        run_import(store, API_DATA / name, catalog="icd10", version=label, publish=True)
    search_index.build_all(store)  # as a server's background indexer does after a publish
    return store


@pytest.fixture
def tokens(store):
    """One token secret per role: {"reader": ..., "importer": ..., "reviewer": ..., "admin": ...}."""
    return {role: auth.create_token(store, f"t-{role}", role)[1] for role in ("reader", "importer", "reviewer",
                                                                               "admin")}
