"""The fast lookup (`publishing.entry_detail_json`) answers exactly what the app's JSON encoder makes of `entry_detail`.

Every entry of every demo catalog, and a hand-made catalog with several parents, designations, typed
attributes, quotes and non-Latin text, on SQLite and PostgreSQL: the spliced text and the encoded dict are
equal byte for byte, and equal to what the response cache is filled with (`iter_entry_details`).
"""

from __future__ import annotations

import pytest

from registry import publishing
from registry.errors import NotFound
from registry.models import CatalogCreate


def encoded(app, ref, entry: dict) -> str:
    from registry.web.common import json_response
    with app.test_request_context():
        return json_response({"catalog": ref.catalog, "version": ref.label, **entry}).get_data(as_text=True)


def test_the_fast_lookup_is_byte_for_byte_the_encoded_entry_detail(app, store):
    from importers.samples import load_demo
    load_demo(store)
    store.create_catalog(CatalogCreate(slug="odd", title="Odd", field_schema={"n": "integer", "t": "string"}))
    store.stage_draft("odd", "1", [
        {"code": "R", "display": "Корень \"root\""},
        {"code": "S", "display": "second root"},
        {"code": "R.1", "display": "Дитя", "parents": ["R", "S"], "attributes": {"n": 3, "t": "é\n"},
         "designations": [{"language": "en", "use": "synonym", "text": "child \u00e9"}]},
        {"code": "R.1.a", "display": "grandchild", "parents": ["R.1"], "status": "inactive"},
        {"code": "S.2", "display": "only under S", "parents": ["S"]},
        {"code": "Z", "display": "later parent R", "parents": ["S.2", "R"]},
        # children's displays go through SQLite's JSON functions (or PostgreSQL's) and back: every character the
        # encoder escapes, and some it writes as they are
        *({"code": f"S.{i + 3}", "display": text, "parents": ["S"]} for i, text in enumerate([
            'quote " backslash \\ slash /', "tab\tnew line\ncarriage\rform\fbell\x07 unit\x1f del\x7f",
            "line\u2028paragraph\u2029 nbsp\u00a0 bom\ufeff", "emoji \U0001F600 astral \U00020000 ß Σ",
            "\u0451\u0401 \u00e9\u0301"])),
    ])
    store.publish("odd", "1")
    compared = 0
    for catalog in store.list_catalogs():
        if not catalog.head_seq:
            continue
        ref = store.resolve(catalog.slug, "latest")
        expected = {e["code"]: e for e in publishing.iter_entry_details(store, ref)}
        for code, entry in expected.items():
            fast = publishing.entry_detail_json(store, ref, code)
            assert fast == encoded(app, ref, publishing.entry_detail(store, ref, code)), code
            assert fast == encoded(app, ref, entry), code
            compared += 1
    assert compared > 150
    odd = store.resolve("odd", "1")
    text = publishing.entry_detail_json(store, odd, "R")
    assert '"children":[{"code":"R.1","display":"Дитя","status":"active"},' \
           '{"code":"Z","display":"later parent R","status":"active"}]' in text
    text = publishing.entry_detail_json(store, odd, "S")
    assert '{"code":"S.4","display":"tab\\tnew line\\ncarriage\\rform\\fbell\\u0007 unit\\u001f del\x7f",' in text
    with pytest.raises(NotFound):
        publishing.entry_detail_json(store, odd, "nope")


def test_threads_taking_their_first_lookup_of_a_version_at_once_read_it_for_several_parents_once(store, monkeypatch):
    """Whether a version has entries of several parents is one read of the whole version when it has none:
    the threads of a worker that all take their first lookup of it at once ask once and share the answer."""
    import threading
    import time
    from importers.samples import load_demo
    load_demo(store)
    ref = store.resolve("icd10-ru", "latest")
    code = store.page_entries("icd10-ru", ref.label, limit=1)["items"][0]["code"]
    publishing._multi_parent_versions.clear()
    reads = []
    real = publishing._any_multi_parent

    def slow_read(*args):
        reads.append(threading.get_ident())
        time.sleep(0.2)  # long enough that every thread arrives while the first one still reads
        return real(*args)

    monkeypatch.setattr(publishing, "_any_multi_parent", slow_read)
    answers, start = [], threading.Barrier(6)

    def lookup():
        start.wait()
        answers.append(publishing.entry_detail_json(store, ref, code))

    threads = [threading.Thread(target=lookup) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reads) == 1
    assert len(answers) == 6 and len(set(answers)) == 1
