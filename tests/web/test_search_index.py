"""Search indexes: built in the background after a publish and never on a query, answering during a build,
the same results on SQLite (FTS5) and PostgreSQL (tsvector), and queries bounded in length."""

from __future__ import annotations

import json
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


def _pg_plan(store, slug: str, q: str, walked: bool) -> str:
    """The plan of PostgreSQL's arm 0 window read of catalog `slug` for `q`, walked or through the GIN index."""
    ref = store.resolve(slug)
    found = query_terms(q)
    prefix = len(found[-1]) >= search.PREFIX_MIN
    arms = [pg.tsquery(found, prefix)] * 4
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        pg.plan_ranked_reads(cursor)
        params = arms[:1] + [0] + arms[1:] + ([ref.catalog_id, pg.WALK_MAX, arms[0], ref.seq, ref.seq, 65] if walked
                                              else [ref.seq, ref.seq, ref.catalog_id, arms[0], 130])
        return "\n".join(r[0] for r in cursor.execute("EXPLAIN " + pg._window_sql((walked,)), params).fetchall())
    finally:
        raw.rollback()
        raw.close()


@pytest.mark.parametrize("db_env", ["postgresql"], indirect=True)  # PostgreSQL's partitions and plans
def test_a_catalog_is_read_from_its_own_partition_a_common_word_walked_in_order_a_rare_one_through_gin(client, store,
                                                                                                     tmp_path):
    # `common`: 100 short rows without the word, then 300 with it; `other`: the word twice. A search of `other`
    # reads `other`'s partition alone (before, every catalog's matches were in one GIN index: a word common in a
    # 1M catalog cost its 375,000 matches in a search of any other); `частое` is walked in `common`'s order,
    # `редкое` found through its GIN index, as its own statistics say.
    _publish(store, tmp_path, "common", [(f"A{i:03d}", "короткая") for i in range(100)]
             + [(f"W{i:03d}", "частое слово" + " длинное" * (i % 5) + (" редкое" if i == 7 else ""))
                for i in range(300)])
    _publish(store, tmp_path, "other", [("O1", "частое"), ("O2", "частое слово")])
    common, other = store.resolve("common").catalog_id, store.resolve("other").catalog_id
    stats = pg.stats_for(store)
    with store.engine.connect() as conn:
        stats.refresh(conn.connection.dbapi_connection.cursor(), ("test",))
    frequent, rare = query_terms("частое"), query_terms("редкое")
    assert stats.share(common, frequent, False) == pytest.approx(0.75, abs=0.01) and stats.rows(common) == 400
    assert pg._walks(stats.rows(common), stats.share(common, frequent, False), 65)
    assert not pg._walks(stats.rows(common), stats.share(common, rare, False), 65)
    plan = _pg_plan(store, "other", "частое", walked=False)
    assert f"entry_search_{other} " in plan and f"entry_search_{common}" not in plan
    assert "length_entry_id_idx" not in _pg_plan(store, "common", "редкое", False)  # found, then sorted
    plan = _pg_plan(store, "common", "частое", walked=True)
    assert f"Index Scan using entry_search_{common}_length_entry_id_idx" in plan and "Bitmap" not in plan
    # Either way, the window is the catalog's shortest matches (the 60 W rows with i % 5 == 0 first).
    hits = codes(client.get("/api/v1/search?q=частое&catalog=common&limit=5"))
    assert hits == ["W000", "W005", "W010", "W015", "W020"]
    assert codes(client.get("/api/v1/search?q=редкое&catalog=common")) == ["W007"]
    assert codes(client.get("/api/v1/search?q=частое&catalog=other")) == ["O1", "O2"]


@pytest.mark.parametrize("db_env", ["postgresql"], indirect=True)
def test_a_walk_that_stops_short_of_its_window_is_read_again_through_gin(client, store, tmp_path, monkeypatch):
    # The statistics may call a word common where the catalog's first rows in order lack it (the shortest rows
    # of a catalog are often its groups): the walk, at most WALK_MAX rows, then comes back short, and the
    # window is read through the GIN index instead, so the answer is the same.
    _publish(store, tmp_path, "late", [(f"A{i:03d}", "короткая") for i in range(100)]
             + [(f"W{i:03d}", "частое слово длинное") for i in range(300)])
    expected = codes(client.get("/api/v1/search?q=частое&catalog=late&limit=3"))
    assert expected == ["W000", "W001", "W002"]
    walks = []
    monkeypatch.setattr(pg, "_walks", lambda rows, share, window: walks.append(share) or True)
    monkeypatch.setattr(pg, "WALK_MAX", 50)  # the walk ends among the short rows
    assert codes(client.get("/api/v1/search?q=частое&catalog=late&limit=3")) == expected and walks


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


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)  # SQLite's own scoring against FTS5's bm25
@pytest.mark.parametrize("counted", [-1, 20_000])  # the words always in more rows than FTS5 would count; or not
def test_sqlite_scores_each_row_as_fts5_bm25_does(client, store, tmp_path, monkeypatch, counted):
    # Repeated words, codes that match, a prefix: the score computed in Python from the entry's text and the
    # index's counts (or FTS5's own, for words in few rows) equals FTS5's `bm25(entry_search, 10, 2, 1)` of the
    # same row, in the same order.
    from registry.search import fts5
    monkeypatch.setattr(fts5, "COUNTED_ROWS", counted)
    _publish(store, tmp_path, "scored", [("K1", "отек отек легкого"), ("K2", "отек"), ("K3", "отечный синдром легкого"),
                                         ("K4", "легкого отек с длинным описанием и хвостом"), ("K5", "отекание"),
                                         ("K6", "отекание при отек")]  # two terms of the prefix "отек*" in a row
             + [(f"F{i:02d}", f"другая запись {i}") for i in range(20)])  # so that the counts weigh
    low, high = fts5.catalog_rowids(store.resolve("scored").catalog_id)
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for q, match in (("отек", '("отек" OR "отек" *)'), ("легкого отек", '"легк" AND ("отек" OR "отек" *)'),
                         ("k1", '"k1"'), ("отека", '("отек" OR "отек" *)')):
            cursor.execute("SELECT e.code, -bm25(entry_search, 10.0, 2.0, 1.0) FROM entry_search s JOIN entry e "
                           "ON e.id = (s.rowid & 4294967295) WHERE entry_search MATCH ? AND s.rowid BETWEEN ? AND ?",
                           (match, low, high))
            expected = sorted(((code, round(score, 4)) for code, score in cursor.fetchall()),
                              key=lambda r: (-r[1], r[0]))
            found = client.get("/api/v1/search", query_string={"q": q, "catalog": "scored"}).get_json()["items"]
            assert [(h["code"], h["score"]) for h in found] == expected, q
            assert expected, q
    finally:
        raw.close()


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_a_common_word_ranks_a_bounded_number_of_each_catalogs_rows_shortest_first(client, store, tmp_path,
                                                                                    monkeypatch):
    # 300 long matches inserted before 10 short ones: a search of limit 5 scores at most its window of rows
    # (3 * 5 + 50 of the shortest, and as many of the word as it is), and finds the short ones, inserted last.
    _publish(store, tmp_path, "many", [(f"M{i:03d}", "частое слово с длинным хвостом описания") for i in range(300)]
             + [(f"S{i}", "частое") for i in range(10)])
    _publish(store, tmp_path, "none", [("N1", "другое")])
    from registry.search import fts5
    monkeypatch.setattr(fts5, "COUNTED_ROWS", 0)  # as for a word in a third of a 1M catalog
    scored = []
    real = fts5._score
    monkeypatch.setattr(fts5, "_score", lambda *a: scored.append(a[0]) or real(*a))
    assert codes(client.get("/api/v1/search?q=частое&catalog=many&limit=5")) == ["S0", "S1", "S2", "S3", "S4"]
    assert 10 <= len(scored) <= 2 * (3 * 5 + 50)
    scored.clear()
    assert codes(client.get("/api/v1/search?q=частое слово&limit=5")) == [f"M{i:03d}" for i in range(5)]
    assert len(scored) <= 3 * 5 + 50
    # Across catalogs, only the catalogs with a match are read (`none` lies after `many`, `icd10` before it).
    raw = store.engine.raw_connection()
    try:
        refs = [store.resolve(slug) for slug in ("icd10", "many", "none")]
        assert [ref.catalog for ref in fts5._with_matches(raw.cursor(), '"част"', refs)] == ["many"]
        assert fts5._with_matches(raw.cursor(), '"другое"', refs[:2]) == []
    finally:
        raw.close()


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_the_counts_kept_between_searches_are_read_again_when_a_build_ends(client, store, tmp_path):
    # SQLite keeps each term's counts and a prefix's terms between queries, while the index grows by less than
    # 1%, but not past the end of a build: a prefix then finds a term that only the new catalog holds.
    _publish(store, tmp_path, "bulk", [(f"B{i:03d}", f"запись номер {i}") for i in range(300)])
    assert codes(client.get("/api/v1/search?q=отечн")) == []
    _publish(store, tmp_path, "late", [("L1", "отечность")])  # one row more: 0.3% of the index
    assert codes(client.get("/api/v1/search?q=отечн")) == ["L1"]


def test_two_stores_in_one_process_keep_their_own_counts(tmp_path, monkeypatch):
    # SQLite's counts are kept per store: a second store whose index has the same catalogs, seqs and row count
    # must not be answered from the first one's (the first has no term starting with "отечн", the second has).
    from registry.store import Store
    monkeypatch.setattr(fts5, "COUNTED_ROWS", -1)  # the path that reads the kept counts and prefix terms
    rows = [(f"B{i:03d}", f"запись номер {i}") for i in range(300)]
    stores = []
    try:
        for name, catalog in (("one", rows), ("two", rows[:-1] + [("X1", "отечность")])):
            (tmp_path / name).mkdir()
            stores.append(Store.init({"NSI_DATA_DIR": str(tmp_path / name / "data"),
                                      "NSI_DATABASE_URL": f"sqlite:///{tmp_path / name / 'nsi.db'}"}))
            _publish(stores[-1], tmp_path / name, "bulk", catalog)
        assert codes_of(search.search(stores[0], "отечн")) == []
        assert codes_of(search.search(stores[1], "отечн")) == ["X1"]
    finally:
        for one in stores:
            one.engine.dispose()


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_a_longer_row_naming_the_word_in_its_display_is_ranked_beside_many_short_synonym_only_rows(client, store,
                                                                                                  tmp_path,
                                                                                                  monkeypatch):
    # Designations weigh 1 against 2 for the display: 100 short rows naming the word only in a synonym must not
    # crowd the longer row that has it in its display out of the window that is ranked.
    monkeypatch.setattr(fts5, "COUNTED_ROWS", -1)
    path = tmp_path / "syn.jsonl"
    rows = [{"code": f"D{i:03d}", "display": "x", "designations": [{"text": "грипп", "language": "ru"}]}
            for i in range(100)] + [{"code": "GRIPP", "display": "грипп сезонный тяжелый вариант"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    store.create_catalog(CatalogCreate(slug="syn", title="syn", kind="other"))
    run_import(store, path, catalog="syn", version="1", publish=True)
    search_index.build_all(store)
    assert codes(client.get("/api/v1/search?q=грипп&catalog=syn&limit=3")) == ["GRIPP", "D000", "D001"]


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_the_counts_kept_between_builds_are_bounded(client, store, tmp_path, monkeypatch):
    # Every new word of a query leaves its counts behind until the next build: at most KEPT_TERMS of them.
    monkeypatch.setattr(fts5, "COUNTED_ROWS", -1)
    monkeypatch.setattr(fts5, "KEPT_TERMS", 50)
    _publish(store, tmp_path, "kept", [(f"K{i:03d}", f"запись номер {i}") for i in range(30)])
    for i in range(200):
        client.get(f"/api/v1/search?q=слово{i}")
    assert 0 < len(fts5.stats_for(store).docs) <= 50
    assert codes(client.get("/api/v1/search?q=запись&catalog=kept&limit=3")) == ["K000", "K001", "K002"]


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_a_large_build_ends_by_merging_the_index_into_one_segment(store, tmp_path, monkeypatch):
    # Every batch commits a segment, and a prefix query reads each one: a build of MERGE_ROWS rows or more ends
    # with FTS5's `optimize`; a smaller one (a publish of a few changes) leaves the merging to FTS5.
    statements = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    monkeypatch.setattr(search_index, "BATCH", 7)
    monkeypatch.setattr(search_index, "MERGE_ROWS", 20)
    _publish(store, tmp_path, "small", [(f"S{i:02d}", f"Малая запись {i}") for i in range(19)])
    assert not [s for s in statements if "'optimize'" in s]
    _publish(store, tmp_path, "large", [(f"L{i:02d}", f"Большая запись {i}") for i in range(20)])
    assert len([s for s in statements if "'optimize'" in s]) == 1
    assert codes_of(search.search(store, "больш", catalog="large", limit=100)) == [f"L{i:02d}" for i in range(20)]


def codes_of(answer) -> list[str]:
    return [h["code"] for h in answer["items"]]


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)  # SQLite's rowid packs the catalog and entry ids
def test_a_catalog_whose_id_does_not_fit_sqlites_rowid_is_scanned_with_one_logged_error(client, store, tmp_path,
                                                                                        caplog):
    # Catalog id 2^19 (set by hand: ids are given one after the other) does not fit `catalog << 44` in a signed
    # 64-bit rowid. Before, its build failed with an OverflowError at every poll, and it was never searchable
    # but by the scan, which said it was being indexed forever.
    store.create_catalog(CatalogCreate(slug="huge", title="Huge id", kind="other"))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE catalog SET id = ? WHERE slug = 'huge'", (fts5.MAX_CATALOG + 1,))
    path = tmp_path / "huge.jsonl"
    path.write_text('{"code": "H1", "display": "Огромный номер"}\n', encoding="utf-8")
    run_import(store, path, catalog="huge", version="1", publish=True)
    with caplog.at_level("ERROR", logger="registry.search.index"):
        search_index.build_all(store)
        search_index.build_all(store)  # the next poll: nothing behind, nothing logged again
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and f"catalog id {fts5.MAX_CATALOG + 1} cannot be indexed" in errors[0].getMessage()
    assert search_index.catalogs_behind(store) == []
    answer = client.get("/api/v1/search?q=огромный").get_json()
    assert [h["code"] for h in answer["items"]] == ["H1"] and answer["indexing"] == [{"catalog": "huge",
                                                                                       "version": "1"}]


def test_a_window_is_of_the_versions_valid_rows_whatever_the_closed_rows_before_them(client, store, tmp_path,
                                                                                    monkeypatch):
    # Version 2 changes every row of version 1, whose closed rows are shorter, so they come first in the
    # index's order: the window is still version 2's first matches (on PostgreSQL, a read through the GIN index
    # joins its first 2 × window matches to their entries, and all of them when too few of those were valid).
    rows = [(f"R{i:03d}", "частое") for i in range(120)]
    _publish(store, tmp_path, "changed", rows)
    path = tmp_path / "changed-2.jsonl"
    path.write_text("".join(f'{{"code": "{c}", "display": "{d} слово"}}\n' for c, d in rows), encoding="utf-8")
    run_import(store, path, catalog="changed", version="2", publish=True)
    search_index.build_all(store)
    monkeypatch.setattr(pg, "_walks", lambda rows, share, window: False)  # PostgreSQL: through the GIN index
    assert codes(client.get("/api/v1/search?q=частое&catalog=changed&limit=1")) == ["R000"]
    assert client.get("/api/v1/search?q=частое&catalog=changed&limit=1").get_json()["items"][0]["display"] \
        == "частое слово"
    assert codes(client.get("/api/v1/search?q=частое&catalog=changed&version=1&limit=2")) == ["R000", "R001"]
