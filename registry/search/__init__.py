"""Full-text search over the displays and designations of published versions.

The index lives in the database (`registry.search.index`: SQLite FTS5 or a PostgreSQL tsvector with GIN),
is built in the background after each publish, and never on a query. A query is cut to its first
`MAX_TERMS` distinct terms (`registry.search.analysis`), so its cost is linear in its length and bounded.
Every term must match (code, display or a designation); the last one also matches as a prefix when it has
at least `PREFIX_MIN` characters, so `туберк` finds `туберкулез` and `A01` finds `A01.0`. Ranking is BM25
on SQLite (where an exact match also ranks above a prefix-only one) and `ts_rank` normalised by length on
PostgreSQL, the code and display weighing more than designations. A word found in more than `RANK_WINDOW`
rows is ranked among the first `RANK_WINDOW` of them, which bounds the cost of every query.

While a version's index is still being built (the minute after a large first publish, or after an upgrade),
its query is answered by a plain scan of that version's first `SCAN_ROWS` entries by code instead: the same
every-term rule as substrings of the folded code, display and designations, ordered by code, score 0, and the
version named under `indexing` in the answer. A client thus always gets an answer quickly, and knows when it
was not ranked (and, for a version larger than `SCAN_ROWS`, maybe not complete).
"""

from __future__ import annotations

import sqlalchemy as sa

from registry.errors import BadRequest, NotFound
from registry.models.catalog import Catalog
from registry.search import index as search_index
from registry.search.analysis import MAX_TERMS, query_terms
from registry.store.reads import LATEST, VersionRef, entry_rows, fold

MAX_LIMIT = 100
PREFIX_MIN = 3
CATALOG = Catalog.__table__
RANK_WINDOW = 5000  # matches ranked at most (see _ranked_sql): a word in half a national catalog stays cheap
SCAN_ROWS = 100_000  # entries read at most by the fallback scan while a version is being indexed

__all__ = ["MAX_LIMIT", "MAX_TERMS", "PREFIX_MIN", "RANK_WINDOW", "SCAN_ROWS", "search"]


def _fts5_match(catalog_id: int | None, found: list[str]) -> str:
    quoted = ['"' + t.replace('"', '""') + '"' for t in found]
    if len(found[-1]) >= PREFIX_MIN:  # an exact match then counts twice, so it ranks above a prefix-only one
        quoted[-1] = f"({quoted[-1]} OR {quoted[-1]} *)"
    words = " AND ".join(quoted)
    # The catalog's token matches every row of the catalog: intersecting with it costs as much as the catalog is
    # large, so only the full ranking (which must leave other catalogs' rows out before joining) uses it.
    return words if catalog_id is None else f'catalog : "c{catalog_id}" AND {words}'


def _tsquery(found: list[str]) -> str:
    quoted = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in found]
    if len(found[-1]) >= PREFIX_MIN:
        quoted[-1] = f"({quoted[-1]} | {quoted[-1]}:*)"
    return " & ".join(quoted)


def _ranked_sql(dialect: str, candidates: bool) -> str:
    """The ranked query; with `candidates`, the index ranks alone, before any join, its first `:window` matches.

    Joining every match to `entry` for the validity filter cost six times the ranking (1.8 s against 0.3 s for
    a word in 138,000 rows of a 1M catalog), and a version holds nearly every row of its catalog's index, so the
    best rows of the index are almost always the best rows of the version. Ranking itself grows with the
    matches, so a word found in more than `RANK_WINDOW` rows is ranked among the first `RANK_WINDOW` of them
    (in index order), which bounds the cost of any query; fewer matches are ranked exactly.
    """
    validity = "e.catalog_id = :catalog_id AND e.valid_from + 0 <= :seq AND (e.valid_to IS NULL OR e.valid_to > :seq)"
    if dialect == "sqlite":
        matches = ("SELECT rowid AS id, -bm25(entry_search, 0.0, 10.0, 2.0, 1.0) AS score FROM entry_search "
                   "WHERE entry_search MATCH :match")
    else:
        matches = ("SELECT s.entry_id AS id, ts_rank(s.terms, q, 1) AS score "
                   "FROM entry_search s, CAST(:query AS tsquery) q WHERE s.terms @@ q")
    if candidates:
        matches = f"SELECT id, score FROM ({matches} LIMIT :window) w ORDER BY score DESC LIMIT :k"
    return (f"SELECT e.code, e.display, e.status, m.score FROM ({matches}) m JOIN entry e ON e.id = m.id "
            f"WHERE {validity} ORDER BY m.score DESC, e.code LIMIT :limit")


def _indexed_hits(conn, ref: VersionRef, found: list[str], limit: int) -> list[dict]:
    params = {"catalog_id": ref.catalog_id, "seq": ref.seq, "limit": limit, "k": limit * 3 + 50,
              "window": RANK_WINDOW}
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        params["match"] = _fts5_match(None, found)
    else:
        params["query"] = _tsquery(found)
        # Starting parallel workers costs more than these small ranked reads; for this transaction only.
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    rows = conn.execute(sa.text(_ranked_sql(conn.dialect.name, candidates=True)), params).all()
    if len(rows) < limit:  # the best candidates were mostly rows of other versions or catalogs: rank them all
        if sqlite:
            params["match"] = _fts5_match(ref.catalog_id, found)
        rows = conn.execute(sa.text(_ranked_sql(conn.dialect.name, candidates=False)), params).all()
    return [{"catalog": ref.catalog, "version": ref.label, "code": r.code, "display": r.display,
             "status": r.status, "score": round(float(r.score), 4)} for r in rows]


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
    found = query_terms(q)
    hits: list[dict] = []
    indexing: list[dict] = []
    with store.engine.connect() as conn:  # one connection for the whole query: resolving is most of a short one
        if catalog:
            refs = [store.resolve(catalog, version or LATEST, conn)]
            if refs[0].is_draft:
                raise BadRequest(f"version {refs[0].label} of {catalog} is a draft; only published versions are "
                                 f"searched")
        else:
            refs = []
            slugs = conn.execute(sa.select(CATALOG.c.slug).order_by(CATALOG.c.slug)).scalars().all()
            for slug in slugs:
                try:
                    refs.append(store.resolve(slug, LATEST, conn))
                except NotFound:
                    continue  # no published version (never published, or every version retired): nothing to search
        if found:
            ready = search_index.indexed_seqs(conn)
            for ref in refs:
                if ref.seq <= ready.get(ref.catalog_id, 0):
                    hits.extend(_indexed_hits(conn, ref, found, limit))
                else:
                    indexing.append({"catalog": ref.catalog, "version": ref.label})
                    hits.extend(_scanned_hits(conn, ref, found, limit))
    if indexing:
        search_index.indexer(store).wake()
    hits.sort(key=lambda h: -h["score"])
    return {"query": q, "items": hits[:limit], "indexing": indexing}
