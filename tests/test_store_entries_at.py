"""Store.entries_at: a page of a version read from a position by the database (FHIR $expand at a deep offset)."""

from __future__ import annotations

import pytest

from registry.errors import BadRequest
from registry.models import CatalogCreate


def test_entries_at_reads_the_page_at_an_offset_of_the_version_asked(store):
    store.create_catalog(CatalogCreate(slug="c", title="c", kind="classification"))
    store.stage_draft("c", "1", [{"code": f"K{i:03d}", "display": f"v1 {i}"} for i in range(50)])
    store.publish("c", "1")
    store.stage_draft("c", "2", [{"code": f"K{i:03d}", "display": f"v2 {i}"} for i in range(0, 50, 2)])
    store.publish("c", "2")
    everything = list(store.iter_entries("c", "1"))
    assert [e["code"] for e in store.entries_at("c", "1", offset=45, limit=3)] == ["K045", "K046", "K047"]
    assert list(store.entries_at("c", "1", offset=10, limit=5)) == everything[10:15]
    assert [e["code"] for e in store.entries_at("c", "1", offset=48)] == ["K048", "K049"]
    assert list(store.entries_at("c", "1", offset=50, limit=10)) == []
    assert list(store.entries_at("c", "1", offset=3, limit=0)) == []
    latest = [(e["code"], e["display"]) for e in store.entries_at("c", offset=23, limit=5)]
    assert latest == [("K046", "v2 46"), ("K048", "v2 48")]  # the newest version: 25 codes, every other one
    with pytest.raises(BadRequest, match="must not be negative"):
        list(store.entries_at("c", "1", offset=-1))
