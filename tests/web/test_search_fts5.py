"""SQLite's search index (`registry.search.fts5`): scores as FTS5's bm25 gives them, a common word ranked within
each catalog's shortest rows, the counts kept between searches, and catalogs whose ids do not fit the rowid."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from importers import run_import
from registry import search
from registry.models import CatalogCreate
from registry.search import fts5
from registry.search import index as search_index
from tests.web.test_search_index import _publish, codes

pytestmark = pytest.mark.usefixtures("loaded")


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
