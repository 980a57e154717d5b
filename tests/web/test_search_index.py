"""Search indexes: built in the background after a publish and never on a query, answering during a build,
the same results on SQLite (FTS5) and PostgreSQL (tsvector), and queries bounded in length."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from importers import run_import
from registry import search
from registry.models import CatalogCreate
from registry.search import fts5, pg
from registry.search import index as search_index
from registry.search.analysis import MAX_TERMS, query_terms

pytestmark = pytest.mark.usefixtures("loaded")
V = "/api/v1/catalogs/icd10/versions"


def codes(r):
    assert r.status_code == 200, r.get_json()
    return [h["code"] for h in r.get_json()["items"]]


def index_rows(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM entry_search")).scalar_one()


def entry_rows(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM entry")).scalar_one()


def test_the_index_is_built_after_a_publish_and_never_by_a_query(client, store, tokens, bearer, api_data, tmp_path,
                                                                 monkeypatch):
    extra = tmp_path / "v3.jsonl"
    extra.write_text((api_data / "icd_v2.jsonl").read_text(encoding="utf-8")
                     + '{"code": "A03.9", "display": "Шигеллез неуточненный, дизентерия", "parents": ["A03"]}\n',
                     encoding="utf-8")
    run_import(store, extra, catalog="icd10", version="2025")
    before = index_rows(store)
    r = client.post(f"{V}/2025/publish", headers=bearer(tokens["importer"]))
    assert r.status_code == 200
    assert search_index.indexer(store).wait_idle()
    assert search_index.catalogs_behind(store) == []
    assert index_rows(store) == before + 1 == entry_rows(store)  # only the new row: versions share one index

    def no_build(*args, **kwargs):
        raise AssertionError("a query built an index")
    monkeypatch.setattr(search_index, "build", no_build)
    r = client.get("/api/v1/search?q=дизентерии")
    assert codes(r) == ["A03.9"] and r.get_json()["indexing"] == [] and r.get_json()["items"][0]["score"] > 0


def test_a_version_published_elsewhere_is_answered_by_a_scan_and_indexed_in_the_background(client, store, tmp_path,
                                                                                           monkeypatch):
    woken = []
    monkeypatch.setattr(search_index.Indexer, "wake", lambda self: woken.append(self.store))
    extra = tmp_path / "v3.jsonl"
    extra.write_text('{"code": "A01", "display": "Тиф и паратиф"}\n{"code": "A01.0", "display": "Брюшной тиф"}\n',
                     encoding="utf-8")
    run_import(store, extra, catalog="icd10", version="2025", publish=True)  # as `nsi import --publish` does
    r = client.get("/api/v1/search?q=тиф")
    assert codes(r) == ["A01", "A01.0"]  # by code, unranked
    assert r.get_json()["indexing"] == [{"catalog": "icd10", "version": "2025"}]
    assert {h["score"] for h in r.get_json()["items"]} == {0.0}
    assert woken == [store] and search_index.catalogs_behind(store) != []  # woken, not built in the request
    assert codes(client.get("/api/v1/search?q=тиф&catalog=icd10&version=2024")) == ["A01", "A01.0"]
    search_index.build_all(store)
    r = client.get("/api/v1/search?q=тиф")
    assert sorted(codes(r)) == ["A01", "A01.0"] and r.get_json()["indexing"] == []


def test_a_query_during_a_build_answers(client, store, tmp_path, monkeypatch):
    rows = "".join(f'{{"code": "T{i:03d}", "display": "Тифоидная лихорадка вариант {i}"}}\n' for i in range(30))
    extra = tmp_path / "typhoid.jsonl"
    extra.write_text(rows, encoding="utf-8")
    store.create_catalog(CatalogCreate(slug="typhoid", title="Typhoid", kind="other"))
    run_import(store, extra, catalog="typhoid", version="1", publish=True)
    monkeypatch.setattr(search_index, "BATCH", 10)
    paused, resume = threading.Event(), threading.Event()

    def after_batch(n):
        paused.set()
        assert resume.wait(30)
    builder = threading.Thread(target=search_index.build, args=(store, store.resolve("typhoid").catalog_id),
                               kwargs={"after_batch": after_batch})
    builder.start()
    try:
        assert paused.wait(30)
        r = client.get("/api/v1/search?q=тифоидная вариант&catalog=typhoid&limit=100")
        assert codes(r) == [f"T{i:03d}" for i in range(30)]
        assert r.get_json()["indexing"] == [{"catalog": "typhoid", "version": "1"}]
        assert search_index.build(store, store.resolve("typhoid").catalog_id) is None  # leased to the builder
    finally:
        resume.set()
        builder.join(30)
    r = client.get("/api/v1/search?q=тифоидная вариант 7&catalog=typhoid")
    assert codes(r) == ["T007"] and r.get_json()["indexing"] == []


CASES = [
    ("холерой", ["A00", "A00.0", "A00.1"]),          # Russian stem
    ("Cholera", ["A00", "A00.0"]),                    # a designation; English stem (`cholerae`)
    ("typhoid fevers", ["A01.0"]),                    # every term, inflected
    ("холера эльтор", ["A00.1"]),                     # every term must match
    ("паратиф", ["A01", "A01.1"]),
    ("парат", ["A01", "A01.1"]),                      # the last term as a prefix
    ("A01", ["A01", "A01.0", "A01.1"]),               # a code, then the codes under it by prefix
    ("a00.1", ["A00.1"]),                             # a dotted code, any case
    ("A00-A09", ["A00-A09"]),                         # a range code, split alike on both databases
    ("вибрионом биовар", ["A00.0", "A00.1"]),
    ("ёжик", []),
    ("!!! ???", []),
]


def test_search_finds_the_same_entries_on_both_databases(client, store):
    for q, expected in CASES:
        r = client.get("/api/v1/search", query_string={"q": q, "catalog": "icd10"})
        assert r.get_json()["indexing"] == []
        assert sorted(codes(r)) == expected, q
        if q in ("холерой", "A01") and store.engine.dialect.name == "sqlite":
            assert codes(r)[0] == expected[0]  # BM25: an exact match above prefix-only ones (ts_rank orders apart)


def test_a_long_query_is_cut_to_its_first_terms():
    words = [f"слово{i}" for i in range(2000)]
    assert len(query_terms(" ".join(words))) == MAX_TERMS
    assert query_terms(" ".join(["тиф"] * 2000) + " холера") == ["тиф", "холер"]  # repeats count once
    assert len(query_terms("x" * 100_000)) == 1


def test_a_4000_character_query_answers_as_its_first_terms_do(client, store):
    first = "брюшной тиф"
    long_q = (first + " " + " ".join(f"лишнее{i}" for i in range(1000)))[:4000]
    assert len(query_terms(long_q)) == MAX_TERMS
    assert search.search(store, long_q)["items"] == []  # the extra words must match too
    assert [h["code"] for h in search.search(store, ((first + " ") * 400)[:4000])["items"]] == ["A01.0"]
    # through the API, a query value is at most 2,000 characters (registry.web.params)
    assert codes(client.get("/api/v1/search", query_string={"q": ((first + " ") * 200)[:2000]})) == ["A01.0"]


def test_a_lost_index_is_rebuilt_from_the_store(client, store):
    search_index.clear(store)
    assert index_rows(store) == 0
    assert search_index.catalogs_behind(store) == [store.resolve("icd10").catalog_id]
    r = client.get("/api/v1/search?q=холерой")
    assert sorted(codes(r)) == ["A00", "A00.0", "A00.1"]  # the scan, meanwhile
    assert search_index.indexer(store).wait_idle()
    assert search_index.catalogs_behind(store) == [] and index_rows(store) == entry_rows(store)
    assert client.get("/api/v1/search?q=холерой").get_json()["indexing"] == []


def test_a_word_in_more_rows_than_the_rank_window_is_ranked_within_it(client, store, tmp_path, monkeypatch):
    rows = "".join(f'{{"code": "W{i:03d}", "display": "частое слово{" дополнение" * (i % 3)}"}}\n' for i in range(40))
    extra = tmp_path / "common.jsonl"
    extra.write_text(rows, encoding="utf-8")
    store.create_catalog(CatalogCreate(slug="common", title="Common", kind="other"))
    run_import(store, extra, catalog="common", version="1", publish=True)
    search_index.build_all(store)
    exact = codes(client.get("/api/v1/search?q=частое&catalog=common&limit=5"))
    assert len(exact) == 5 and all(int(c[1:]) % 3 == 0 for c in exact)  # the shortest displays, anywhere
    monkeypatch.setattr(search, "RANK_WINDOW", 12)
    windowed = codes(client.get("/api/v1/search?q=частое&catalog=common&limit=4"))
    assert len(windowed) == 4 and all(int(c[1:]) % 3 == 0 for c in windowed)  # still the best of what was ranked
    assert windowed == ["W000", "W003", "W006", "W009"]  # the window is the first matches in insertion order


def test_the_scan_during_a_build_reads_a_bounded_number_of_entries(client, store, tmp_path, monkeypatch):
    monkeypatch.setattr(search_index.Indexer, "wake", lambda self: None)
    rows = "".join(f'{{"code": "S{i:03d}", "display": "Сканируемая запись {i}"}}\n' for i in range(20))
    extra = tmp_path / "scan.jsonl"
    extra.write_text(rows, encoding="utf-8")
    store.create_catalog(CatalogCreate(slug="scan", title="Scan", kind="other"))
    run_import(store, extra, catalog="scan", version="1", publish=True)
    assert codes(client.get("/api/v1/search?q=сканируемая&catalog=scan&limit=100")) == [f"S{i:03d}" for i in range(20)]
    monkeypatch.setattr(search, "SCAN_ROWS", 5)
    r = client.get("/api/v1/search?q=сканируемая&catalog=scan&limit=100")
    assert codes(r) == ["S000", "S001", "S002", "S003", "S004"] and r.get_json()["indexing"] != []
    assert codes(client.get("/api/v1/search?q=запись 17&catalog=scan")) == []  # beyond the scanned entries


def _publish(store, tmp_path, slug: str, rows: list[tuple[str, str]]) -> None:
    path = tmp_path / f"{slug}.jsonl"
    path.write_text("".join(f'{{"code": "{code}", "display": "{display}"}}\n' for code, display in rows),
                    encoding="utf-8")
    store.create_catalog(CatalogCreate(slug=slug, title=slug, kind="other"))
    run_import(store, path, catalog=slug, version="1", publish=True)
    search_index.build_all(store)


def test_each_catalog_gets_its_best_rows_from_one_ranked_read_or_its_own_when_others_crowd_it_out(client, store,
                                                                                                  tmp_path):
    # `big` has more matches than the candidates of a limit-1 search (3 * 1 + 50), all ranked above `small`'s
    # two (shorter displays): `small` is then answered by its own ranked query.
    _publish(store, tmp_path, "big", [(f"B{i:03d}", "частое") for i in range(80)])
    _publish(store, tmp_path, "small", [("S1", "частое слово с длинным хвостом описания"),
                                        ("S2", "частое слово с очень длинным хвостом описания записи")])
    assert codes(client.get("/api/v1/search?q=частое&catalog=small&limit=1")) == ["S1"]
    assert codes(client.get("/api/v1/search?q=частое&catalog=small&limit=5")) == ["S1", "S2"]
    assert len(codes(client.get("/api/v1/search?q=частое&catalog=big&limit=5"))) == 5
    # Across catalogs, the hits are each catalog's own best ones merged by score (equal scores in slug order).
    for q, limit in (("частое", 100), ("частое слово", 3), ("хвостом", 20)):
        merged = []
        for slug in ("big", "icd10", "small"):
            merged += client.get("/api/v1/search", query_string={"q": q, "catalog": slug, "limit": limit}
                                 ).get_json()["items"]
        merged.sort(key=lambda h: -h["score"])
        assert client.get("/api/v1/search", query_string={"q": q, "limit": limit}).get_json()["items"] \
            == merged[:limit], q
    assert codes(client.get("/api/v1/search?q=хвостом&limit=20")) == ["S1", "S2"]


def test_a_search_across_catalogs_sees_a_catalog_published_after_it(client, store, tmp_path):
    assert codes(client.get("/api/v1/search?q=позднее")) == []  # what `latest` is, kept until the database changes
    _publish(store, tmp_path, "late", [("L1", "Позднее добавленная запись")])
    assert codes(client.get("/api/v1/search?q=позднее")) == ["L1"]


def test_a_build_in_batches_indexes_each_row_once_and_stops_when_another_builder_takes_over(store, tmp_path,
                                                                                             monkeypatch):
    monkeypatch.setattr(search_index, "BATCH", 7)  # the next batch is read while the current one is written
    _publish(store, tmp_path, "batched", [(f"R{i:02d}", f"Партия запись {i}") for i in range(25)])
    with store.engine.connect() as conn:
        per_row = conn.execute(sa.text("SELECT count(*), count(DISTINCT s) FROM (SELECT {} AS s FROM entry_search) x"
                                       .format("rowid" if conn.dialect.name == "sqlite" else "entry_id"))).one()
    assert tuple(per_row) == (entry_rows(store), entry_rows(store))
    assert [h["code"] for h in search.search(store, "партия 24", catalog="batched")["items"]] == ["R24"]
    if store.engine.dialect.name == "postgresql":  # the GIN pending list was merged at the end of the build
        with store.engine.connect() as conn:
            index = f"{pg.partition(store.resolve('batched').catalog_id)}_terms_idx"
            assert conn.execute(sa.text(f"SELECT gin_clean_pending_list('{index}')")).scalar_one() == 0

    _publish(store, tmp_path, "taken", [(f"T{i:02d}", f"Перехваченная запись {i}") for i in range(25)])
    catalog_id = store.resolve("taken").catalog_id
    search_index.clear(store)
    state = search_index.STATE

    def another_builder_moves_the_watermark(rows):
        with store.engine.begin() as conn:
            conn.execute(state.update().where(state.c.catalog_id == catalog_id)
                         .values(indexed_entry_id=10**9, lease_owner="elsewhere"))
    assert search_index.build(store, catalog_id, after_batch=another_builder_moves_the_watermark) is None
    assert index_rows(store) == 7  # its first batch, and nothing after the other builder took over


def test_a_catalog_whose_matches_lie_beyond_the_rank_window_is_still_answered(client, store, tmp_path, monkeypatch):
    _publish(store, tmp_path, "first", [(f"F{i:02d}", "редкое совпадение") for i in range(30)])
    _publish(store, tmp_path, "later", [("L1", "редкое совпадение")])  # indexed after `first`'s rows
    monkeypatch.setattr(search, "RANK_WINDOW", 12)  # fewer than the candidates kept (3 * limit + 50)
    assert codes(client.get("/api/v1/search?q=редкое&catalog=later&limit=4")) == ["L1"]


def test_a_version_crowded_out_of_the_candidates_is_ranked_within_its_own_window(client, store, tmp_path,
                                                                                monkeypatch):
    # `first` fills the index's window; `later`'s best rows (the shortest displays) are its last ones. Its own
    # read ranks only RANK_WINDOW of its matches, alone and in a search across catalogs: before, it ranked all
    # of them (a common word in a 1M catalog: 350,000 rows ranked and joined, once per such catalog). Which ones:
    # the catalog's shortest rows first, on both databases (SQLite's rowid and PostgreSQL's (length, entry id)
    # order them so), so the ten short ones (the best), then the first long ones.
    _publish(store, tmp_path, "first", [(f"F{i:02d}", "частое") for i in range(30)])
    _publish(store, tmp_path, "later", [(f"L{i:02d}", "частое слово" + " с длинным хвостом описания" * (i < 30))
                                        for i in range(40)])
    best = [f"L{i}" for i in range(30, 35)]
    assert codes(client.get("/api/v1/search?q=частое&catalog=later&limit=5")) == best
    monkeypatch.setattr(search, "RANK_WINDOW", 12)  # fewer than the candidates kept (3 * limit + 50)
    window = ["L00", "L01"] + [f"L{i}" for i in range(30, 40)]
    assert codes(client.get("/api/v1/search?q=частое&catalog=later&limit=5")) == best
    across = client.get("/api/v1/search?q=частое слово&limit=100").get_json()["items"]
    assert sorted(h["code"] for h in across if h["catalog"] == "later") == window


def test_two_versions_crowded_out_together_each_get_their_own_window(client, store, tmp_path, monkeypatch):
    # `first` fills the index's window, so `second` and `third` are both crowded out of the candidates of a
    # search across catalogs. `second`'s matches come before `third`'s in index order and are more than a
    # window: had the two shared one window, `third` (three matches) would have none of its rows ranked.
    _publish(store, tmp_path, "first", [(f"F{i:02d}", "частое") for i in range(30)])
    _publish(store, tmp_path, "second", [(f"S{i:02d}", "частое слово") for i in range(30)])
    _publish(store, tmp_path, "third", [(f"T{i}", "частое слово редкое") for i in range(3)])
    monkeypatch.setattr(search, "RANK_WINDOW", 12)  # fewer than the candidates kept (3 * limit + 50)
    across = client.get("/api/v1/search?q=частое&limit=100").get_json()["items"]
    assert sorted(h["code"] for h in across if h["catalog"] == "third") == ["T0", "T1", "T2"]
    assert len([h for h in across if h["catalog"] == "second"]) == 12
    assert codes(client.get("/api/v1/search?q=частое&catalog=third")) == ["T0", "T1", "T2"]


def test_a_catalog_is_ranked_alike_alone_and_among_others_whose_index_rows_interleave_with_its(client, store,
                                                                                               tmp_path, monkeypatch):
    # `second` v1 is indexed before `third`, its v2 after: their index rows interleave. A shared window over both
    # that fills up holds only part of `second`'s first matches; `second` must then be ranked in a window of its
    # own, as a search of `second` alone is (found by this session's review: the shared window gave S00-S04).
    _publish(store, tmp_path, "first", [(f"F{i:02d}", "частое") for i in range(30)])
    rows = [(f"S{i:02d}", "частое слово с длинным хвостом описания") for i in range(6)]
    _publish(store, tmp_path, "second", rows)
    _publish(store, tmp_path, "third", [(f"T{i:02d}", "частое слово") for i in range(20)])
    path = tmp_path / "second-2.jsonl"
    path.write_text("".join(f'{{"code": "{c}", "display": "{d}"}}\n' for c, d in
                            rows + [(f"S{i:02d}", "частое") for i in range(6, 26)]), encoding="utf-8")
    run_import(store, path, catalog="second", version="2", publish=True)
    search_index.build_all(store)
    monkeypatch.setattr(search, "RANK_WINDOW", 12)
    assert codes(client.get("/api/v1/search?q=частое&catalog=second&limit=5")) == [f"S{i:02d}" for i in range(6, 11)]
    # A search across catalogs merges them to its own `limit`; each catalog's best five are read here directly.
    from registry.search.analysis import query_terms
    refs = [store.resolve(slug, "latest") for slug in ("first", "second", "third")]
    connection = store.engine.raw_connection()
    try:
        cursor = connection.cursor()
        ready = search_index.indexed_seqs(cursor)
        seqs = tuple(sorted((catalog_id, seq) for catalog_id, (seq, _) in ready.items()))
        dialect = store.engine.dialect.name
        among = search._indexed_hits(cursor, dialect, refs, query_terms("частое"), 5, seqs,
                                     stats=(fts5 if dialect == "sqlite" else pg).stats_for(store))
    finally:
        connection.close()
    assert [h["code"] for h in among[1]] == [f"S{i:02d}" for i in range(6, 11)]


def test_a_window_is_of_the_versions_valid_rows_whatever_the_closed_rows_before_them(client, store, tmp_path,
                                                                                    monkeypatch):
    # Version 2 changes every row of version 1, whose closed rows are shorter, so they come first in the
    # index's order: the window is still version 2's first matches (on PostgreSQL, a read through the GIN index
    # joins its first 1.5 × window matches to their entries, and pg.GROWTH times as many while too few were valid).
    rows = [(f"R{i:03d}", "частое") for i in range(120)]
    _publish(store, tmp_path, "changed", rows)
    path = tmp_path / "changed-2.jsonl"
    path.write_text("".join(f'{{"code": "{c}", "display": "{d} слово"}}\n' for c, d in rows), encoding="utf-8")
    run_import(store, path, catalog="changed", version="2", publish=True)
    search_index.build_all(store)
    monkeypatch.setattr(pg, "_walks", lambda rows, share, window: False)  # PostgreSQL: through the GIN index
    read, limits = pg._read, []
    monkeypatch.setattr(pg, "_read", lambda cursor, reads, arms, window: limits.extend(
        r[4] for r in reads if not r[3]) or read(cursor, reads, arms, window))
    assert codes(client.get("/api/v1/search?q=частое&catalog=changed&limit=1")) == ["R000"]
    if store.engine.dialect.name == "postgresql":  # read again with more, not with every match
        assert limits == [53 + 26, (53 + 26) * pg.GROWTH]
    assert client.get("/api/v1/search?q=частое&catalog=changed&limit=1").get_json()["items"][0]["display"] \
        == "частое слово"
    assert codes(client.get("/api/v1/search?q=частое&catalog=changed&version=1&limit=2")) == ["R000", "R001"]
