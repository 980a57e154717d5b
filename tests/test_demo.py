"""`nsi demo` preparation: sample catalogs, a review map set with suggestions, and a reviewer token once."""

from __future__ import annotations

from registry.auth import authenticate, list_tokens
from registry.demo import DEMO_MAP_SET, DEMO_REVIEWER, curl_examples, prepare_demo, prepare_review_demo
from registry.mapping import get_map_set, get_mapping


def test_demo_prepares_catalogs_map_set_and_reviewer(tmp_path, monkeypatch):
    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("NSI_DATABASE_URL", raising=False)
    store, loaded = prepare_demo()
    assert loaded is True
    assert {c.slug for c in store.list_catalogs()} == {"atc-who", "drugs-kz-knf", "facilities-cms", "icd10-ru",
                                                       "icd10-who"}
    secret = prepare_review_demo(store)
    assert secret.startswith("nsi_")
    assert authenticate(store, secret).role == "reviewer"
    ms = get_map_set(store, DEMO_MAP_SET)
    assert (ms.source_catalog, ms.target_catalog) == ("drugs-kz-knf", "atc-who")
    omeprazole = get_mapping(store, DEMO_MAP_SET, "A02BC01")      # Cyrillic INN -> Latin ATC name
    assert (omeprazole.status, omeprazole.candidates[0]["code"]) == ("candidate", "A02BC01")
    # A second run changes nothing and shows no new secret.
    store2, loaded2 = prepare_demo()
    assert loaded2 is False
    assert prepare_review_demo(store2) is None
    assert [t.name for t in list_tokens(store2)] == [DEMO_REVIEWER]
    assert curl_examples("http://127.0.0.1:8000", store2)[0] == "curl -s http://127.0.0.1:8000/api/v1/catalogs"
