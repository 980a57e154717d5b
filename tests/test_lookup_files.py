"""EXPERIMENTAL lookup files (`registry/lookup_files.py`, `NSI_LOOKUP_FILES`): with the switch on and a version's
file written, a cold lookup answers from the file byte for byte what the SQL path answers, without running it;
unknown codes answer the same 404; what a file answers stays out of the response cache; a version without a file,
or the switch off, goes through SQL as before."""

from __future__ import annotations

import urllib.parse

import pytest

from registry import lookup_files, publishing
from registry.models import CatalogCreate
from registry.web import create_app

ODD = [{"code": "R", "display": "Корень \"root\""}, {"code": "S", "display": "second root"},
       {"code": "R.1", "display": "Дитя", "parents": ["R", "S"],
        "designations": [{"language": "en", "use": "synonym", "text": "child \u00e9"}]},
       {"code": "Z", "display": "tab\tline\u2028 \U0001F600", "parents": ["R"]},
       {"code": "ß/ä ?#", "display": "a code a URL must escape", "parents": ["S"]}]


def answers(app, slug: str, label: str, codes) -> dict:
    client = app.test_client()
    out = {}
    for code in codes:
        r = client.get(f"/api/v1/catalogs/{slug}/versions/{label}/entries/{urllib.parse.quote(code, safe='')}")
        out[code] = (r.status_code, r.headers.get("ETag"), r.headers.get("Content-Type"), r.get_data())
    return out


def test_lookups_from_the_file_answer_what_sql_does_without_running_it(store, monkeypatch):
    from importers.samples import load_demo
    load_demo(store)
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    store.stage_draft("odd", "1", ODD)
    store.publish("odd", "1")
    sql = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RESPONSE_CACHE_MB": 0})
    files = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RESPONSE_CACHE_MB": 0, "NSI_LOOKUP_FILES": True})
    assert "nsi_lookup_files" not in sql.extensions  # off by default
    versions = [(c.slug, store.get_version(c.slug).label) for c in store.list_catalogs() if c.head_seq]
    expected = {}
    for slug, label in versions:
        ref = store.resolve(slug, label)
        codes = [e["code"] for e in store.iter_entries(slug, label)] + ["NO-SUCH-CODE", "R" * 300]
        expected[slug, label] = answers(sql, slug, label, codes)
        if slug != "facilities-cms":  # left without a file: answered by SQL even with the switch on
            _, count, size = lookup_files.write(store, ref)
            assert count == len(codes) - 2 and size == lookup_files.path_for(store, ref).stat().st_size
    assert expected["odd", "1"]["R"][0] == 200 and expected["odd", "1"]["NO-SUCH-CODE"][0] == 404

    real = publishing.entry_detail_json
    ran = []
    monkeypatch.setattr(publishing, "entry_detail_json", lambda *a: ran.append(a[1].catalog) or real(*a))
    for (slug, label), answer in expected.items():
        assert answers(files, slug, label, answer) == answer, slug
    assert set(ran) == {"facilities-cms"}  # every other lookup, 404s included, came from a file
    # With a response cache, what a file answers is neither kept nor prefilled there: the file is as fast.
    cached = create_app({"TESTING": True, "NSI_STORE": store, "NSI_LOOKUP_FILES": True})
    memory = cached.extensions["nsi_response_cache"]
    ran.clear()
    for (slug, label), answer in expected.items():
        if slug != "facilities-cms":
            assert answers(cached, slug, label, answer) == answer, slug
    assert ran == [] and memory.size == 0 and not memory.prefilled
    facilities = expected["facilities-cms", "2024"]
    assert answers(cached, "facilities-cms", "2024", facilities) == facilities and memory.size > 0
    ran.clear()
    for (slug, label), answer in expected.items():
        assert answers(sql, slug, label, answer) == answer
    assert len(ran) == sum(len(a) for a in expected.values())


def test_a_file_written_after_start_is_found_once_the_recheck_is_due(store, monkeypatch):
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    store.stage_draft("odd", "1", ODD)
    store.publish("odd", "1")
    ref = store.resolve("odd", "1")
    reader = lookup_files.LookupFiles(store)
    assert reader.file_for(ref) is None
    lookup_files.write(store, ref)
    assert reader.file_for(ref) is None  # not looked for again within RECHECK_SECONDS
    monkeypatch.setattr(lookup_files, "RECHECK_SECONDS", 0.0)
    assert reader.file_for(ref).answer(ref, "R") == publishing.entry_detail_json(store, ref, "R").encode()


def test_drafts_have_no_lookup_file(store):
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    store.stage_draft("odd", "1", ODD)
    with pytest.raises(ValueError):
        lookup_files.write(store, store.resolve("odd", "1"))
