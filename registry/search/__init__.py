"""Full-text search over the displays and designations of published versions.

The index lives in the database (`registry.search.index`: SQLite FTS5, or a PostgreSQL tsvector partitioned
by catalog with GIN),
is built in the background after each publish, and never on a query. A query is cut to its first
`MAX_TERMS` distinct terms (`registry.search.analysis`), so its cost is linear in its length and bounded.
Every term must match (code, display or a designation); the last one also matches as a prefix when it has
at least `PREFIX_MIN` characters, so `туберк` finds `туберкулез` and `A01` finds `A01.0`. Ranking is BM25
on SQLite (where an exact match also ranks above a prefix-only one) and `ts_rank` normalised by length on
PostgreSQL, the code and display weighing more than designations. A search ranks at most a window of each
catalog's matches, whatever the store holds (`_indexed_hits`): the catalog's shortest `3 × limit + 50`
matches, so a word in a third of a 1M catalog costs what a rare one does. On SQLite (`registry.search.fts5`)
they are scored in Python from the index's own counts (words in few rows: FTS5's own `bm25` over the catalog's
shortest `RANK_WINDOW`); on PostgreSQL (`registry.search.pg`) each catalog's partition gives them in order.

While a version's index is still being built (the minute after a large first publish, or after an upgrade),
its query is answered by a plain scan of that version's first `SCAN_ROWS` entries by code instead: the same
every-term rule as substrings of the folded code, display and designations, ordered by code, score 0, and the
version named under `indexing` in the answer. A client thus always gets an answer quickly, and knows when it
was not ranked (and, for a version larger than `SCAN_ROWS`, maybe not complete).
"""

from __future__ import annotations

import weakref

import sqlalchemy as sa

from registry.errors import BadRequest
from registry.search import fts5, pg
from registry.search import index as search_index
from registry.search.analysis import MAX_TERMS, query_terms
from registry.store.reads import LATEST, VersionRef, entry_rows, fold

MAX_LIMIT = 100
PREFIX_MIN = 3
RANK_WINDOW = 5000  # matches ranked at most per catalog (see _indexed_hits)
SCAN_ROWS = 100_000  # entries read at most by the fallback scan while a version is being indexed

__all__ = ["MAX_LIMIT", "MAX_TERMS", "PREFIX_MIN", "RANK_WINDOW", "SCAN_ROWS", "search"]


def _hit(ref: VersionRef, code: str, display: str, status: str, score: float) -> dict:
    return {"catalog": ref.catalog, "version": ref.label, "code": code, "display": display, "status": status,
            "score": round(float(score), 4)}


def _indexed_hits(cursor, dialect: str, refs: list[VersionRef], found: list[str], limit: int,
                  seqs: tuple | None = None, stats=None) -> list[list[dict]]:
    """Each version's best `limit` matches, ranked within each catalog's first `3 × limit + 50` valid matches
    (at most `RANK_WINDOW`) shortest first, and as many of those naming the words in their code or display.

    SQLite (`registry.search.fts5`): found by FTS5 in the index's rowid order, scored by BM25 in Python (words in
    few rows: FTS5's own `bm25` over the catalog's first `RANK_WINDOW` matches). `seqs` ((catalog id, indexed
    seq), ... by catalog) tells SQLite's counts (`stats`, the store's `fts5.stats_for`) when a build has ended.
    PostgreSQL (`registry.search.pg`): read from each catalog's partition in `(length, entry id)` order, scored
    by `ts_rank`. Either way a few statements and at most four windows of rows a catalog, whatever the store holds.
    """
    window = min(limit * 3 + 50, RANK_WINDOW)
    if dialect == "sqlite":
        answers = fts5.hits(cursor, refs, found, limit, window, PREFIX_MIN, stats, seqs, RANK_WINDOW)
    else:
        answers = pg.hits(cursor, refs, found, limit, window, PREFIX_MIN, stats, seqs)
    return [[_hit(ref, code, display, status, -score) for score, code, display, status in rows]
            for ref, rows in zip(refs, answers)]


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
    """The latest published version of every catalog, by slug (`Store.latest_versions`); kept until the
    database changes.

    The change token is read before the query, as `Store.resolve` does, so a publish racing with it leaves a
    kept answer that the next token no longer matches.
    """
    token = store.change_token()
    kept = _latest_of_all.get(store)
    if token is not None and kept is not None and kept[0] == token:
        return kept[1]
    refs = store.latest_versions()
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
        dialect = store.engine.dialect.name

        def read(cursor) -> tuple[list, list]:
            ready = search_index.indexed_seqs(cursor)
            indexed = [ref for ref in refs if ref.seq <= ready.get(ref.catalog_id, (0, 0))[0]
                       and ready[ref.catalog_id][1] != search_index.UNINDEXABLE]
            seqs = tuple(sorted((catalog_id, seq) for catalog_id, (seq, _) in ready.items()))
            stats = (fts5 if dialect == "sqlite" else pg).stats_for(store)
            return indexed, (_indexed_hits(cursor, dialect, indexed, found, limit, seqs, stats) if indexed else [])
        # Plain SQL on a driver connection: building and compiling expressions cost more than the index's own work
        # for most queries. PostgreSQL's ranked reads have connections of their own (`pg.reads_for`).
        if dialect == "postgresql":
            indexed, answers = pg.reads_for(store).run(read)
        else:
            connection = store.engine.raw_connection()
            try:
                indexed, answers = read(connection.cursor())
            finally:
                connection.close()
        answers = iter(answers)
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
