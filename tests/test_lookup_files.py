"""Lookup files (`registry/lookup_files.py`, `NSI_LOOKUP_FILES`, on by default): a server indexer's poll writes the
file of each catalog's latest version, and removes the others, under a lock of the instance; a lookup answers
from the file byte for byte what the SQL path answers (but the request id), without running it; unknown codes
answer the same 404; what a file answers stays out of the response cache; older versions, a version whose file is
not written yet, a killed build's temporary file, or the switch off: SQL, as before."""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
import urllib.parse

import pytest

from registry import lookup_files, publishing
from registry.models import CatalogCreate
from registry.search import builder, index as search_index
from registry.store import Store
from registry.web import create_app

ODD = [{"code": "R", "display": "Корень \"root\""}, {"code": "S", "display": "second root"},
       {"code": "R.1", "display": "Дитя", "parents": ["R", "S"],
        "designations": [{"language": "en", "use": "synonym", "text": "child \u00e9"}]},
       {"code": "Z", "display": "tab\tline\u2028 \U0001F600", "parents": ["R"]},
       {"code": "ß/ä ?#", "display": "a code a URL must escape", "parents": ["S"]}]
CODES = [row["code"] for row in ODD] + ["NO-SUCH-CODE"]


def answers(app, slug: str, label: str, codes) -> dict:
    """code -> (status, every header but the request id, body) of its lookup."""
    client = app.test_client()
    out = {}
    for code in codes:
        r = client.get(f"/api/v1/catalogs/{slug}/versions/{label}/entries/{urllib.parse.quote(code, safe='')}")
        out[code] = (r.status_code, sorted((k, v) for k, v in r.headers.items() if k != "X-Request-Id"), r.get_data())
    return out


def sql_app(store):
    return create_app({"TESTING": True, "NSI_STORE": store, "NSI_RESPONSE_CACHE_MB": 0, "NSI_LOOKUP_FILES": False})


def files_app(store):
    return create_app({"TESTING": True, "NSI_STORE": store, "NSI_RESPONSE_CACHE_MB": 0})


@pytest.fixture
def ran(monkeypatch):
    """(catalog, version label) of each lookup body rendered by the SQL path."""
    real, calls = publishing.entry_detail_json, []
    monkeypatch.setattr(publishing, "entry_detail_json",
                        lambda *a: calls.append((a[1].catalog, a[1].label)) or real(*a))
    return calls


def poll(store) -> None:
    """What a server's indexer does at a publish or a poll (here in its thread: no builder process)."""
    indexer = search_index.indexer(store)
    indexer.wake()
    assert indexer.wait_idle()


def publish(store, slug: str, label: str, rows=ODD) -> None:
    store.stage_draft(slug, label, [{**row, "display": f"{row['display']} v{label}"} for row in rows])
    store.publish(slug, label)


def test_lookups_from_the_file_answer_what_sql_does_without_running_it(store, ran):
    from importers.samples import load_demo
    load_demo(store)
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    sql, files = sql_app(store), files_app(store)
    assert "nsi_lookup_files" in files.extensions  # on by default
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

    ran.clear()
    for (slug, label), answer in expected.items():
        assert answers(files, slug, label, answer) == answer, slug
    assert {slug for slug, _ in ran} == {"facilities-cms"}  # every other lookup, 404s included, came from a file
    # With a response cache, what a file answers is neither kept nor prefilled there: the file is as fast.
    cached = create_app({"TESTING": True, "NSI_STORE": store})
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


def test_a_file_written_after_start_is_found_and_a_removed_one_dropped_once_the_recheck_is_due(store, monkeypatch):
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    ref = store.resolve("odd", "1")
    reader = lookup_files.LookupFiles(store)
    assert reader.file_for(ref) is None
    path, _, _ = lookup_files.write(store, ref)
    assert reader.file_for(ref) is None  # not looked for again within RECHECK_SECONDS
    monkeypatch.setattr(lookup_files, "RECHECK_SECONDS", 0.0)
    first = reader.file_for(ref)
    assert first.answer(ref, "R") == publishing.entry_detail_json(store, ref, "R").encode()
    deadline = time.monotonic() + 10  # then a map with all its pages, made off the request path, replaces it
    while not reader.file_for(ref).populated and sys.platform.startswith("linux"):
        assert time.monotonic() < deadline, "the map was not populated"
        time.sleep(0.01)
    found = reader.file_for(ref)
    assert found.answer(ref, "R") == first.answer(ref, "R")
    assert reader.file_for(ref) is found  # one map per version while its file stays
    path.unlink()
    assert reader.file_for(ref) is None
    lookup_files.write(store, ref)  # a new file at the same path is mapped afresh
    assert reader.file_for(ref) not in (None, found)


def test_drafts_have_no_lookup_file(store):
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    store.stage_draft("odd", "1", ODD)
    with pytest.raises(ValueError):
        lookup_files.write(store, store.resolve("odd", "1"))


def test_the_poll_writes_the_latest_versions_file_and_replaces_it_at_each_publish_and_retire(store, ran,
                                                                                              monkeypatch):
    monkeypatch.setattr(lookup_files, "RECHECK_SECONDS", 0.0)  # each request looks at the files again
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    sql, app = sql_app(store), files_app(store)
    one = store.resolve("odd", "1")
    assert lookup_files.due(store)
    poll(store)
    assert lookup_files.present(store) == {lookup_files.path_for(store, one)} and not lookup_files.due(store)
    assert lookup_files.due(Store(store.engine, store.data_dir.parent / "other"))  # each instance has its own
    expected = {label: answers(sql, "odd", label, CODES) for label in ("1", "latest")}
    ran.clear()
    assert {label: answers(app, "odd", label, CODES) for label in ("1", "latest")} == expected and ran == []

    publish(store, "odd", "2")
    two = store.resolve("odd", "2")
    poll(store)
    assert lookup_files.present(store) == {lookup_files.path_for(store, two)}  # the old file removed
    expected = {label: answers(sql, "odd", label, CODES) for label in ("1", "2", "latest")}
    assert expected["1"]["R"][2] != expected["2"]["R"][2] == expected["latest"]["R"][2]
    ran.clear()
    assert {label: answers(app, "odd", label, CODES) for label in ("1", "2", "latest")} == expected
    assert set(ran) == {("odd", "1")}  # the old label by SQL; the new one and `latest` from its file

    store.retire("odd", "2")
    poll(store)
    assert lookup_files.present(store) == {lookup_files.path_for(store, one)}  # `latest` is 1 again
    expected = {label: answers(sql, "odd", label, CODES) for label in ("1", "2", "latest")}
    assert expected["latest"]["R"][2] == expected["1"]["R"][2]
    ran.clear()
    assert {label: answers(app, "odd", label, CODES) for label in ("1", "2", "latest")} == expected
    assert set(ran) == {("odd", "2")}
    store.retire("odd", "1")
    poll(store)
    assert lookup_files.present(store) == set() and not (lookup_files.folder(store) / "odd").exists()


def test_a_killed_builds_temporary_file_never_serves_and_the_next_build_removes_it(store, ran, monkeypatch):
    monkeypatch.setattr(lookup_files, "RECHECK_SECONDS", 0.0)
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    sql, app = sql_app(store), files_app(store)  # the store's indexer as the last app made sets it: on
    path, _, _ = lookup_files.write(store, store.resolve("odd", "1"))
    temporary = path.with_name(".build-killed.lkp")
    path.rename(temporary)  # whole, as a build killed between its fsync and its rename leaves it
    expected = answers(sql, "odd", "1", CODES)
    ran.clear()
    assert answers(app, "odd", "1", CODES) == expected and len(ran) == len(CODES)
    assert lookup_files.due(store)
    poll(store)
    assert lookup_files.present(store) == {path}
    ran.clear()
    assert answers(app, "odd", "1", CODES) == expected and ran == []


def test_with_the_switch_off_no_file_is_written_and_lookups_go_by_sql(store, ran):
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    app = sql_app(store)
    assert "nsi_lookup_files" not in app.extensions
    poll(store)
    assert not lookup_files.folder(store).exists()
    ran.clear()
    answers(app, "odd", "latest", CODES)
    assert len(ran) == len(CODES)


def test_a_builder_process_writes_the_files_when_they_are_behind(store):
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    search_index.build_all(store)  # no search build behind: the builder is started for the files alone
    assert builder.BuilderProcess(store).run() is None
    assert builder.BuilderProcess(store).run(lookup_files=True) == 0
    assert lookup_files.present(store) == {lookup_files.path_for(store, store.resolve("odd", "1"))}


def test_two_builders_of_one_instance_never_write_the_same_file_at_once(store, monkeypatch):
    for slug in ("a", "b"):
        store.create_catalog(CatalogCreate(slug=slug, title=slug))
        publish(store, slug, "1")
    real, writing, most, written = lookup_files.write, [], [], []

    def slow_write(store_, ref):
        writing.append(ref)
        most.append(len(writing))
        time.sleep(0.3)  # long enough for the other builder to reach the same file
        try:
            return real(store_, ref)
        finally:
            writing.remove(ref)
            written.append(ref.catalog)
    monkeypatch.setattr(lookup_files, "write", slow_write)
    builders = [threading.Thread(target=lookup_files.sync, args=(Store(store.engine, store.data_dir),))
                for _ in range(2)]
    for thread in builders:
        thread.start()
    for thread in builders:
        thread.join()
    assert sorted(written) == ["a", "b"] and max(most) == 1 and not lookup_files.due(store)
    assert not any(name.startswith(".build-") for name in os.listdir(lookup_files.folder(store) / "a"))


def test_the_poll_looks_at_the_files_again_only_after_the_database_changed(store, monkeypatch):
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    store.watch_changes()  # a serving process's store
    deadline = time.monotonic() + 10  # PostgreSQL's listener starts in a thread: no token until it listens
    while store.change_token() is None:
        assert time.monotonic() < deadline, "the change watch never started"
        time.sleep(0.01)
    indexer = search_index.Indexer(store, lookup_files=True)
    real, looked = lookup_files.due, []
    monkeypatch.setattr(lookup_files, "due", lambda s: looked.append(1) or real(s))
    assert indexer._files_due() and len(looked) == 1
    lookup_files.sync(store)
    assert not indexer._files_due() and not indexer._files_due() and len(looked) == 2  # complete: not asked again
    publish(store, "odd", "2")
    assert indexer._files_due() and len(looked) == 3


def test_files_that_cannot_be_written_are_logged_and_tried_again_only_after_a_change(store, monkeypatch, caplog):
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    files_app(store)  # a serving process's store and indexer

    def full(*_):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(lookup_files, "write", full)
    poll(store)
    assert "lookup files could not be written" in caplog.text and "No space left" in caplog.text
    assert search_index.catalogs_behind(store) == []  # the search index was built all the same
    poll(store)  # once more, as the search build's commits moved the change token
    indexer = search_index.indexer(store)
    assert lookup_files.due(store) and not indexer._files_due()  # but not at every poll
    publish(store, "odd", "2")
    assert indexer._files_due()


def test_a_damaged_file_is_not_read_and_its_lookups_go_by_sql(store, caplog):
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    ref = store.resolve("odd", "1")
    path, _, size = lookup_files.write(store, ref)
    whole = path.read_bytes()
    for damaged in (b"", whole[:size // 2], whole + b"x"):
        path.write_bytes(damaged)
        assert lookup_files.LookupFiles(store).file_for(ref) is None
        assert "cannot be read" in caplog.text
        caplog.clear()
    path.write_bytes(whole)
    assert lookup_files.LookupFiles(store).file_for(ref).answer(ref, "R") == \
        publishing.entry_detail_json(store, ref, "R").encode()


def test_a_version_under_another_label_never_answers_from_the_file_of_the_same_entries(store):
    # The file's name holds the version's id and label besides its checksum: every answer names the label.
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    ref = store.resolve("odd", "1")
    renamed = dataclasses.replace(ref, label="1-renamed")
    assert lookup_files.path_for(store, renamed) != lookup_files.path_for(store, ref)
    assert lookup_files.path_for(store, dataclasses.replace(ref, version_id=ref.version_id + 1)) \
        != lookup_files.path_for(store, ref)


def test_the_index_width_is_the_usual_codes_not_the_few_longest(monkeypatch):
    monkeypatch.setattr(lookup_files, "WIDTH_CAP", 32)
    assert lookup_files.index_width([]) == 1
    assert lookup_files.index_width([14] * 1000) == 14  # alike: the longest, nothing cut (the layout as before)
    assert lookup_files.index_width([5, 5, 7]) == 7
    assert lookup_files.index_width([10] * 100_000 + [500]) == 11  # one long code cuts, it does not pad
    assert lookup_files.index_width([10] * 99_900 + [20] * 100) == 11  # at most 0.1% are cut
    assert lookup_files.index_width([10] * 99_899 + [20] * 101) == 20  # past that, the longest: none cut
    assert lookup_files.index_width([10] * 99_899 + [500] * 101) == 32  # more than 0.1% long: the cap
    assert lookup_files.index_width([40] * 1000) == 32 and lookup_files.index_width([9, 500]) == 32


LONGEST = "€" * 166 + "xx"  # 500 bytes in UTF-8, 168 letters (PostgreSQL keeps codes of up to 200)


def long_codes_store(store):
    """Codes cut in the index (WIDTH_CAP 8): codes sharing their first 8 bytes or more, one a prefix of another,
    a code of exactly 8 bytes beside longer ones with the same first bytes, multi-byte letters across the cut."""
    long = "L" * 40
    codes = ["A" * 7, "A" * 8, "A" * 9, long, long + "a", long + "b", long[:-1] + "M", LONGEST, "Ω" * 6, "ΩΩΩΩ1"]
    store.create_catalog(CatalogCreate(slug="long", title="Long"))
    publish(store, "long", "1", ODD + [{"code": code, "display": f"{len(code)} letters"} for code in codes])
    misses = ["A" * 10, "A" * 8 + "B", long[:-1], long + "c", long + "ab", LONGEST[:-1], LONGEST + "x", "€" * 3,
              "Ω" * 4, "ΩΩΩΩ", "ΩΩΩΩ2", "A" * 8 + "\0", "A" * 7 + "\0", "\0"]
    return [row["code"] for row in ODD] + codes, misses


def test_long_codes_are_cut_in_the_index_and_told_apart_by_their_whole_code(store, ran, monkeypatch):
    monkeypatch.setattr(lookup_files, "WIDTH_CAP", 8)
    codes, misses = long_codes_store(store)
    ref = store.resolve("long", "1")
    path, count, size = lookup_files.write(store, ref)
    file = lookup_files.LookupFile(path)
    assert count == len(codes) and file._width == 8 and file._spills
    assert len(LONGEST.encode()) == 500 and size < count * 500  # the 500-byte code pads no slot
    for code in codes:
        assert file.body(code) == publishing.entry_detail_json(store, ref, code).encode(), code
    assert [code for code in misses if file.body(code) is not None] == []
    expected = answers(sql_app(store), "long", "1", codes + misses)
    ran.clear()
    assert answers(files_app(store), "long", "1", codes + misses) == expected
    assert ran == []  # every answer, 404s included, from the file
    assert {expected[code][0] for code in codes} == {200}
    assert {expected[code][0] for code in misses if "\0" not in code} == {404}  # a NUL is refused first: 400


def test_a_catalog_with_one_long_code_keeps_its_usual_index_width(store):
    store.create_catalog(CatalogCreate(slug="many", title="Many"))
    rows = [{"code": f"C{i:04d}", "display": "d"} for i in range(2000)] + [{"code": LONGEST, "display": "long"}]
    publish(store, "many", "1", rows)
    ref = store.resolve("many", "1")
    path, count, size = lookup_files.write(store, ref)
    file = lookup_files.LookupFile(path)
    assert file._width == len("C0000") + 1 and file._spills  # not 500: the long code is cut to 6 bytes
    bodies = sum(len(publishing.entry_detail_json(store, ref, row["code"]).encode()) for row in rows)
    assert size == lookup_files.HEADER.size + count * 6 + (count + 1) * 8 + bodies + 4 + 500  # + the whole code
    for code in ("C0000", "C1999", LONGEST):
        assert file.body(code) == publishing.entry_detail_json(store, ref, code).encode()
    assert file.body("€" * 2) is None and file.body(LONGEST[:-1]) is None and file.body("C2000") is None


def older_format_file(store, ref) -> bytes:
    """The lookup file of `ref` as the first format (`NSILKP01`) wrote it: every code padded to the longest."""
    import struct
    codes = sorted(e["code"].encode() for e in store.iter_entries(ref.catalog, ref.label))
    width = max(len(code) for code in codes)
    bodies = [publishing.entry_detail_json(store, ref, code.decode()).encode() for code in codes]
    offsets = [0]
    for body in bodies:
        offsets.append(offsets[-1] + len(body))
    return (struct.pack("<8sQQ", b"NSILKP01", len(codes), width) + b"".join(c.ljust(width, b"\0") for c in codes)
            + struct.pack(f"<{len(offsets)}Q", *offsets) + b"".join(bodies))


def test_a_file_of_the_older_format_is_never_read_and_the_next_sync_replaces_it(store, ran, caplog):
    import hashlib
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    ref = store.resolve("odd", "1")
    old = older_format_file(store, ref)
    digest = hashlib.sha256(f"{ref.version_id}\0{ref.label}\0{ref.checksum or ''}".encode()).hexdigest()[:16]
    old_name = lookup_files.folder(store) / "odd" / f"{ref.seq}-{digest}.lkp"  # the first format's name
    old_name.parent.mkdir(parents=True)
    old_name.write_bytes(old)
    assert lookup_files.path_for(store, ref) != old_name and lookup_files.due(store)
    new_name = lookup_files.path_for(store, ref)
    new_name.write_bytes(old)  # even under the new name, its header is refused: lookups go by SQL
    expected = answers(sql_app(store), "odd", "1", CODES)
    ran.clear()
    assert answers(files_app(store), "odd", "1", CODES) == expected and len(ran) == len(CODES)
    assert "not a lookup file of this format" in caplog.text
    new_name.unlink()
    lookup_files.sync(store)
    assert lookup_files.present(store) == {new_name}  # the old file swept, the new one written
    ran.clear()
    assert answers(files_app(store), "odd", "1", CODES) == expected and ran == []


def mapped(path) -> bool:
    """Whether this process maps `path` (or the file that was there: `(deleted)`)."""
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
        return any(str(path) in line for line in maps)


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads the process's maps from /proc (Linux)")
def test_a_removed_files_map_is_dropped_without_a_lookup_and_the_timer_then_ends(store, monkeypatch):
    monkeypatch.setattr(lookup_files, "RECHECK_SECONDS", 0.2)
    store.create_catalog(CatalogCreate(slug="odd", title="Odd"))
    publish(store, "odd", "1")
    ref = store.resolve("odd", "1")
    path, _, _ = lookup_files.write(store, ref)
    reader = lookup_files.LookupFiles(store)
    assert reader.file_for(ref).answer(ref, "R") == publishing.entry_detail_json(store, ref, "R").encode()
    assert mapped(path) and reader._timer.is_alive()
    time.sleep(0.5)
    assert mapped(path)  # the file stays: so does its map, past rechecks
    path.unlink()  # as the sweep of a builder removes it after a publish
    deadline = time.monotonic() + 10
    while mapped(path) or reader._timer is not None:  # no lookup asked: the timer drops the map, then ends
        assert time.monotonic() < deadline, "the removed file stayed mapped" if mapped(path) else "the timer ran on"
        time.sleep(0.05)
    assert reader._open == {}
    lookup_files.write(store, ref)
    assert reader.file_for(ref) is not None and reader._timer.is_alive()  # a new map starts it again


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork: POSIX only")
def test_a_forked_worker_gets_a_fresh_lock_and_no_timer(store):
    # gunicorn forks its workers from a process that may hold a LookupFiles: a lock held by one of the parent's
    # threads at the fork would be held for ever in the child, and the parent's timer thread is not there.
    reader = lookup_files.LookupFiles(store)
    reader._timer = threading.Thread(target=lambda: None)
    with reader._lock:
        pid = os.fork()
        if pid == 0:  # the child: exit code 0 only when the lock is free and there is no timer
            os._exit(0 if reader._lock.acquire(blocking=False) and reader._timer is None else 1)
    assert os.waitpid(pid, 0)[1] == 0
