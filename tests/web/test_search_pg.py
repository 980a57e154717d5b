"""PostgreSQL's search index (`registry.search.pg`): each catalog read from its own partition, a common word
walked in order and a rare one read through GIN, and a misjudged walk read again."""

from __future__ import annotations

import re

import pytest

from registry import search
from registry.search import pg
from registry.search.analysis import query_terms
from tests.web.test_search_index import _publish, codes

pytestmark = pytest.mark.usefixtures("loaded")


def _pg_plan(store, slug: str, q: str, walked: bool) -> str:
    """The plan that PostgreSQL keeps for the arm 0 window read of catalog `slug` for `q`, walked or through the
    GIN index: the generic plan of the prepared statement (made once per connection for any words)."""
    ref = store.resolve(slug)
    found = query_terms(q)
    prefix = len(found[-1]) >= search.PREFIX_MIN
    params = {"q0": pg.tsquery(found, prefix), "q1": "x", "q2": "x", "q3": "x", "walk0": pg.WALK_MAX,
              "window": 65, f"seq{ref.catalog_id}": ref.seq, "found0": 130}
    sql = pg._window_sql(((0, ref.catalog_id, walked),))
    # The statement's named parameters as PREPARE's $n, so that EXPLAIN EXECUTE shows the generic plan.
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
    sql = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m[1]) + 1}", sql)
    literals = ", ".join("'" + str(params[name]).replace("'", "''") + "'" for name in names)

    def explain(cursor) -> str:  # on the search's own connection, with its settings (pg.RANKED_READS)
        cursor.execute(f"PREPARE ranked_read AS {sql}")
        try:
            return "\n".join(r[0] for r in cursor.execute(f"EXPLAIN EXECUTE ranked_read({literals})").fetchall())
        finally:
            cursor.execute("DEALLOCATE ranked_read")
    return pg.reads_for(store).run(explain)


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


@pytest.mark.parametrize("db_env", ["postgresql"], indirect=True)
def test_a_prefix_of_many_codes_is_walked_first_and_a_rare_one_then_read_through_gin(client, store, tmp_path,
                                                                                      monkeypatch):
    # No code is among a partition's most common lexemes, yet `K00` starts a quarter of the catalog: a walk of
    # PROBE rows in order finds its window (without it, every K00 match was read through the GIN index and
    # sorted: 29 ms for `G00` of a 1M catalog). `K03` is not among the rows walked, so it is then read through
    # the GIN index, and a word (no digit) is not probed at all.
    _publish(store, tmp_path, "codes", [(f"K{i:04d}", "запись") for i in range(400)])
    monkeypatch.setattr(pg, "PROBE", 100)
    monkeypatch.setattr(pg, "PROBE_FROM", 300)
    reads = []
    real_read = pg._read
    monkeypatch.setattr(pg, "_read", lambda cursor, batch, *args: reads.append(batch) or real_read(cursor, batch,
                                                                                                     *args))
    assert codes(client.get("/api/v1/search?q=K00&catalog=codes&limit=3")) == ["K0000", "K0001", "K0002"]
    # Walked, and the window was full: arm 0 is not read again (arms 1 and 3, the code as it is, follow).
    assert [read[3] for read in reads[0]] == [100] and all(read[0] != 0 for batch in reads[1:] for read in batch)
    reads.clear()
    assert codes(client.get("/api/v1/search?q=K03&catalog=codes&limit=20")) == [f"K03{i:02d}" for i in range(20)]
    assert [read[3] for read in reads[0]] == [100] and [read[:4:3] for read in reads[1]] == [(0, 0)]
    reads.clear()
    assert len(codes(client.get("/api/v1/search?q=запись&catalog=codes"))) == 20
    assert [read[3] for read in reads[0]] == [pg.WALK_MAX]  # a common word: walked as its statistics say
    reads.clear()
    assert codes(client.get("/api/v1/search?q=нет&catalog=codes")) == [] and [read[3] for read in reads[0]] == [0]


@pytest.mark.parametrize("db_env", ["postgresql"], indirect=True)
def test_ranked_reads_keep_their_prepared_plans_on_connections_of_their_own(client, store, tmp_path):
    # A window read is prepared once psycopg has run it five times, and PostgreSQL then reuses its generic plan
    # (planning it at each search cost more than the read). Other requests do not take it away: on the pool's
    # connections, any rollback made psycopg deallocate every prepared statement. The ranked reads' settings
    # stay on their own connections.
    _publish(store, tmp_path, "kept", [(f"K{i:03d}", "частое слово") for i in range(50)])
    partition = pg.partition(store.resolve("kept").catalog_id)

    def prepared():
        return pg.reads_for(store).run(lambda cursor: cursor.execute(
            "SELECT name, generic_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{partition}%"]).fetchall())
    for _ in range(6):
        assert codes(client.get("/api/v1/search?q=частое&catalog=kept&limit=2")) == ["K000", "K001"]
    [(name, plans)] = prepared()
    assert plans >= 1
    assert client.get("/api/v1/catalogs").status_code == 200  # other reads, ended by the pool's rollback
    with store.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        assert conn.exec_driver_sql("SHOW enable_seqscan").scalar() == "on"
    assert codes(client.get("/api/v1/search?q=частое&catalog=kept&limit=2")) == ["K000", "K001"]
    assert prepared() == [(name, plans + 1)]  # the same statement, its plan used once more
    assert pg.reads_for(store).run(lambda cursor: cursor.execute("SHOW enable_seqscan").fetchone()) == ("off",)
    assert pg.reads_for(store).run(lambda cursor: cursor.connection.prepared_max) == pg.PREPARED_MAX  # bounded
