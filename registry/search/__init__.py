"""Full-text search over the displays and designations of published versions.

The index lives in the database (`registry.search.index`: SQLite FTS5 or a PostgreSQL tsvector with GIN),
is built in the background after each publish, and never on a query. A query is cut to its first
`MAX_TERMS` distinct terms (`registry.search.analysis`), so its cost is linear in its length and bounded.
Every term must match (code, display or a designation); the last one also matches as a prefix when it has
at least `PREFIX_MIN` characters, so `туберк` finds `туберкулез` and `A01` finds `A01.0`. Ranking is BM25
on SQLite (where an exact match also ranks above a prefix-only one) and `ts_rank` normalised by length on
PostgreSQL, the code and display weighing more than designations. A search ranks at most a window of each
catalog's matches, whatever the store holds (`_indexed_hits`). On SQLite (`registry.search.fts5`) the window
is the catalog's shortest `3 × limit + 50` matches, scored in Python from the index's own counts, so a word in
a third of a 1M catalog costs what a rare one does (words in few rows: FTS5's own `bm25` over the catalog's
shortest `RANK_WINDOW`). On PostgreSQL it is the first `RANK_WINDOW` matches in table order, and finding them
grows with the word's rows (the GIN bitmap).

While a version's index is still being built (the minute after a large first publish, or after an upgrade),
its query is answered by a plain scan of that version's first `SCAN_ROWS` entries by code instead: the same
every-term rule as substrings of the folded code, display and designations, ordered by code, score 0, and the
version named under `indexing` in the answer. A client thus always gets an answer quickly, and knows when it
was not ranked (and, for a version larger than `SCAN_ROWS`, maybe not complete).
"""

from __future__ import annotations

import weakref
from functools import lru_cache

import sqlalchemy as sa

from registry.db import driver_sql
from registry.errors import BadRequest, NotFound
from registry.models.catalog import Catalog
from registry.search import fts5
from registry.search import index as search_index
from registry.search.analysis import MAX_TERMS, query_terms
from registry.store.reads import LATEST, VersionRef, entry_rows, fold

MAX_LIMIT = 100
PREFIX_MIN = 3
CATALOG = Catalog.__table__
RANK_WINDOW = 5000  # matches ranked at most per catalog (see _candidates_sql): a word in half a national catalog stays cheap
SCAN_ROWS = 100_000  # entries read at most by the fallback scan while a version is being indexed

__all__ = ["MAX_LIMIT", "MAX_TERMS", "PREFIX_MIN", "RANK_WINDOW", "SCAN_ROWS", "search"]


def _tsquery(found: list[str]) -> str:
    quoted = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in found]
    if len(found[-1]) >= PREFIX_MIN:
        quoted[-1] = f"({quoted[-1]} | {quoted[-1]}:*)"
    return " & ".join(quoted)


def _matches() -> str:
    """The index's matches with their score, in index order (PostgreSQL: the table's)."""
    return ("SELECT s.entry_id AS id, ts_rank(s.terms, q, 1) AS score "
            "FROM entry_search s, CAST(:query AS tsquery) q WHERE s.terms @@ q")


def _candidates_sql() -> str:
    """PostgreSQL's ranked read of the index's best candidates, in plain SQL with named parameters (`:name`).

    The index ranks alone, before any join, its first `:window` matches, and keeps the best `:k` of them
    whatever their catalog or version: joining every match to `entry` for the validity filter cost six times
    the ranking (1.8 s against 0.3 s for a word in 138,000 rows of a 1M catalog), and a version holds nearly
    every row of its catalog's index, so the best rows of the index are almost always the best rows of the
    version. The candidates are left-joined to their entries, so that their count says whether they were every
    match; `_indexed_hits` picks each version's rows from them. Ranking itself grows with the matches, so a word
    found in more than `RANK_WINDOW` rows is ranked among the first `RANK_WINDOW` of them (in index order),
    which bounds the cost of any query; fewer matches are ranked exactly.
    """
    return driver_sql(f"SELECT e.code, e.display, e.status, m.score, e.catalog_id, e.valid_from, e.valid_to "
                      f"FROM (SELECT id, score FROM ({_matches()} LIMIT :window) w "
                      f"ORDER BY score DESC LIMIT :k) m LEFT JOIN entry e ON e.id = m.id", "postgresql")


@lru_cache(maxsize=64)
def _crowded_sql(versions: int) -> str:
    """PostgreSQL's ranked read for versions crowded out of the candidates (`versions` of them, one per catalog).

    The first `:window` matches (in the order its GIN bitmap scan gives, which is the table's) of each of those
    catalogs are ranked, joined to their entries, and each version keeps its best `:limit` valid rows (by score,
    then code). Before, a crowded version ranked all its matches alone, so a common word in a 1M catalog ranked
    and joined 350,000 rows (80-120 ms). The index has no catalog column, so the matches are joined to `entry`
    first, and only those up to the catalog's last indexed entry id (`:upto0`, ...): a small catalog indexed
    before a 1M one does not read the 1M one's matches (`acute` in the FNSI catalog beside a 200k one: 86 -> 15
    ms in `EXPLAIN ANALYZE`).
    """
    ranked = " UNION ALL ".join(
        f"SELECT * FROM (SELECT e.code, e.display, e.status, ts_rank(s.terms, q, 1) AS score, e.catalog_id, "
        f"e.valid_from, e.valid_to FROM entry_search s JOIN entry e ON e.id = s.entry_id, CAST(:query AS tsquery) q "
        f"WHERE s.terms @@ q AND s.entry_id <= :upto{i} AND e.catalog_id = :c{i} LIMIT :window) w{i}"
        for i in range(versions))
    seq = "CASE e.catalog_id " + " ".join(f"WHEN :c{i} THEN :s{i}" for i in range(versions)) + " END"
    valid = f"e.valid_from <= {seq} AND (e.valid_to IS NULL OR e.valid_to > {seq})"
    return driver_sql(f"SELECT code, display, status, score, catalog_id FROM (SELECT e.code, e.display, e.status, "
                      f"e.score, e.catalog_id, ROW_NUMBER() OVER (PARTITION BY e.catalog_id ORDER BY e.score DESC, "
                      f"e.code) AS n FROM ({ranked}) e WHERE {valid}) r WHERE n <= :limit", "postgresql")


def _crowded_hits(cursor, crowded: list[VersionRef], params: dict, last_ids: dict[int, int]) -> dict[int, list]:
    """{catalog id: its rows by score then code}, from one read of a window per crowded catalog (PostgreSQL)."""
    params = dict(params)
    for i, ref in enumerate(crowded):
        params[f"c{i}"], params[f"s{i}"], params[f"upto{i}"] = ref.catalog_id, ref.seq, last_ids[ref.catalog_id]
    cursor.execute(_crowded_sql(len(crowded)), params)
    rows: dict[int, list] = {ref.catalog_id: [] for ref in crowded}
    for code, display, status, score, catalog_id in cursor.fetchall():
        rows[catalog_id].append((-score, code, display, status))
    for found_rows in rows.values():
        found_rows.sort(key=lambda r: (r[0], r[1]))
    return rows


_SQL = {"postgresql": _candidates_sql()}


def _hit(ref: VersionRef, code: str, display: str, status: str, score: float) -> dict:
    return {"catalog": ref.catalog, "version": ref.label, "code": code, "display": display, "status": status,
            "score": round(float(score), 4)}


def plan_ranked_reads(cursor) -> None:
    """Settings for the ranked reads of this transaction (PostgreSQL), so that every query costs about the same.

    Starting parallel workers costs more than these small reads. And a word in a fifth of a 1M catalog looked
    cheap to find by a sequential scan that stops at the window's `RANK_WINDOW` matches, but where such rows sit
    late in the table that scan read 600,000 rows first (250 ms against 15 ms through the GIN index); a
    synchronised sequential scan may also start where another one stopped, so which rows filled the window
    depended on the queries before it. Through the index the window is always the first matches in table order.
    """
    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL enable_seqscan = off")


def _indexed_hits(cursor, dialect: str, refs: list[VersionRef], found: list[str], limit: int,
                  last_ids: dict[int, int], seqs: tuple | None = None, stats=None) -> list[list[dict]]:
    """Each version's best `limit` matches.

    SQLite (`registry.search.fts5`): each catalog's first `3 × limit + 50` valid matches (at most `RANK_WINDOW`)
    in the index's order, shortest first (and as many of those naming the words in their code or display),
    scored by BM25 in Python: a few statements, at most four times that many rows a catalog, whatever the
    store holds.

    PostgreSQL: one ranked read of the index's best candidates for all versions; the versions with fewer than
    `limit` rows among them (the best candidates were mostly rows of other versions or catalogs) are answered by
    one more read, of a window of each one's own matches (`_crowded_sql`), unless the candidates were every
    match of the index. `last_ids` (catalog id -> its last indexed entry id) bounds each such window.
    `seqs` ((catalog id, indexed seq), ... by catalog) tells SQLite's counts (`stats`, the store's
    `fts5.stats_for`) when a build has ended.
    """
    k = limit * 3 + 50
    if dialect == "sqlite":
        answers = fts5.hits(cursor, refs, found, limit, min(k, RANK_WINDOW), PREFIX_MIN, stats, seqs, RANK_WINDOW)
        return [[_hit(ref, code, display, status, -score) for score, code, display, status in rows]
                for ref, rows in zip(refs, answers)]
    params = {"k": k, "window": RANK_WINDOW, "limit": limit, "query": _tsquery(found)}
    plan_ranked_reads(cursor)
    cursor.execute(_SQL[dialect], params)
    candidates = cursor.fetchall()
    every_match = len(candidates) < min(k, RANK_WINDOW)  # fewer than either limit cut off: all matches are here
    answers = {}
    for ref in refs:
        seq = ref.seq
        answers[ref.catalog_id] = sorted(
            ((-score, code, display, status) for code, display, status, score, catalog_id, valid_from, valid_to
             in candidates if catalog_id == ref.catalog_id and valid_from <= seq
             and (valid_to is None or valid_to > seq)), key=lambda r: (r[0], r[1]))[:limit]
    crowded = [ref for ref in refs if len(answers[ref.catalog_id]) < limit and not every_match]
    if crowded:
        answers.update(_crowded_hits(cursor, crowded, params, last_ids))
    return [[_hit(ref, code, display, status, -score) for score, code, display, status in answers[ref.catalog_id]]
            for ref in refs]


def _scanned_hits(conn, ref: VersionRef, found: list[str], limit: int) -> list[dict]:
    """The fallback while the version's index is built: every term a substring of display, designations or code.

    It reads at most the first `SCAN_ROWS` entries of the version by code (a folded comparison costs about
    3 µs a row), so even the first query of a just-published national catalog answers within a second or so.
    """
    table, where = entry_rows(ref)
    first = (sa.select(table.c.code, table.c.display, table.c.designations, table.c.status)
             .where(where).order_by(table.c.code).limit(SCAN_ROWS).subquery())
    # Folded apart: on PostgreSQL the code's C collation would keep lower() from folding Cyrillic text.
    text, code = fold(conn, first.c.display + " " + first.c.designations), fold(conn, first.c.code)
    escaped = [t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for t in found]
    rows = conn.execute(sa.select(first.c.code, first.c.display, first.c.status)
                        .where(*[text.like(f"%{t}%", escape="\\") | code.like(f"{t}%", escape="\\")
                                 for t in escaped])
                        .order_by(first.c.code).limit(limit)).all()
    return [{"catalog": ref.catalog, "version": ref.label, "code": r.code, "display": r.display,
             "status": r.status, "score": 0.0} for r in rows]


_latest_of_all: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # store -> (change token, refs)


def _latest_refs(store) -> list[VersionRef]:
    """The latest published version of every catalog, by slug; kept until the database changes.

    A search across catalogs otherwise spent more time resolving them (two queries each) than searching.
    The change token is read before the queries, as `Store.resolve` does, so a publish racing with them
    leaves a kept answer that the next token no longer matches.
    """
    token = store.change_token()
    kept = _latest_of_all.get(store)
    if token is not None and kept is not None and kept[0] == token:
        return kept[1]
    refs = []
    with store.engine.connect() as conn:
        for slug in conn.execute(sa.select(CATALOG.c.slug).order_by(CATALOG.c.slug)).scalars().all():
            try:
                refs.append(store.resolve(slug, LATEST, conn))
            except NotFound:
                continue  # no published version (never published, or every version retired): nothing to search
    if token is not None:
        _latest_of_all[store] = (token, refs)
    return refs


def search(store, q: str, *, catalog: str | None = None, version: str | None = None, limit: int = 20) -> dict:
    """Entries whose code, display or designations match every term of `q`, best first.

    Without `catalog`, every catalog's latest published version is searched and the hits merged by score.
    `version` needs `catalog`. Drafts are not searched. Versions whose index is still being built are
    scanned instead, listed under `indexing`, and the background indexer is woken for them.
    """
    q = (q or "").strip()
    if not q:
        raise BadRequest("search needs a query: q=...")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    if version and not catalog:
        raise BadRequest("version needs catalog")
    refs = [store.resolve(catalog, version or LATEST)] if catalog else _latest_refs(store)
    if catalog and refs[0].is_draft:
        raise BadRequest(f"version {refs[0].label} of {catalog} is a draft; only published versions are searched")
    found = query_terms(q)
    hits: list[dict] = []
    indexing: list[dict] = []
    if found:
        # Plain SQL on the pooled driver connection: building and compiling expressions cost more than the
        # index's own work for most queries.
        connection = store.engine.raw_connection()
        try:
            cursor = connection.cursor()
            dialect = store.engine.dialect.name
            ready = search_index.indexed_seqs(cursor)
            indexed = [ref for ref in refs if ref.seq <= ready.get(ref.catalog_id, (0, 0))[0]]
            last_ids = {ref.catalog_id: ready[ref.catalog_id][1] for ref in indexed}
            seqs = tuple(sorted((catalog_id, seq) for catalog_id, (seq, _) in ready.items()))
            stats = fts5.stats_for(store) if dialect == "sqlite" else None
            answers = iter(_indexed_hits(cursor, dialect, indexed, found, limit, last_ids, seqs, stats)
                           if indexed else ())
            cursor.close()
        finally:
            connection.close()
        for ref in refs:  # in slug order, so that equal scores keep it
            if ref in indexed:
                hits.extend(next(answers))
            else:
                indexing.append({"catalog": ref.catalog, "version": ref.label})
                with store.engine.connect() as conn:
                    hits.extend(_scanned_hits(conn, ref, found, limit))
    if indexing:
        search_index.indexer(store).wake()
    hits.sort(key=lambda h: -h["score"])
    return {"query": q, "items": hits[:limit], "indexing": indexing}
