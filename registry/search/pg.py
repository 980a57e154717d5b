"""The ranked read on PostgreSQL: each catalog's shortest matches, read from that catalog's own partition.

`entry_search(catalog_id, entry_id, length, terms)` is partitioned by catalog (`partition`, created by the
builder before a catalog's first rows), and each partition has its own GIN index on `terms`, its own B-tree on
`(length, entry_id)` and its own statistics. A catalog is ranked within its first `window` valid matches in
`(length, entry id)` order, shortest first, as on SQLite (`registry.search.fts5`: the same length, counted and
capped alike, so the same rows). How they are found is decided from the partition's own statistics (`_walks`):
a word in a third of a 1M catalog by walking the B-tree in that order until the window is full (a few hundred
rows; each build batch is written in that order, so the rows walked share pages), a rarer one through the
partition's GIN index. A walk that the statistics misjudged ends after `WALK_MAX` rows and the window is read
through the GIN index. A prefix of codes, which statistics cannot judge, is walked `PROBE` rows first in a large
catalog (`_probes`). The reads are made on connections of their own (`reads_for`, with `RANKED_READS`), where
psycopg keeps them prepared, so that PostgreSQL plans each once. Before, the index was one table: a word common
in one large catalog cost its whole GIN bitmap (375,000 rows) in a search of any other catalog, and a large
catalog's window was its first matches in table order, found through that bitmap too.

As on SQLite, when the last word is also a prefix, the window of the words as they are is read too (so that an
exact match longer than many prefix-only ones is still ranked), and a full window is read once more among the
rows that hold the words in their code or display (weight `A`), so that many short rows naming them only in a
synonym (`B`) do not crowd out a longer one naming them in its display; each only when the first window holds
rows outside it. The rows found are scored by `ts_rank` (normalised by length), each catalog keeping its best
`limit` by score, then code.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import threading
import time
from functools import lru_cache

from registry.search.per_store import PerStore
from registry.store.thread_reads import ThreadReads

WALK_MAX = 20_000  # rows a window read walks in order at most (10-20 ms); then it reads the GIN index
PROBE = 2_000  # rows walked first for a code's prefix, which the statistics cannot judge (about 0.7 ms)
PROBE_FROM = 50_000  # catalogs of more rows are probed (in fewer, reading every match costs a few ms at most)
STATS_SECONDS = 30  # the partitions' statistics are read again after this long
GROWTH = 8  # a GIN read that found too few valid rows is read again with this many times its limit


def partition(catalog_id: int) -> str:
    """The name of catalog `catalog_id`'s partition of `entry_search`."""
    return f"entry_search_{int(catalog_id)}"


def ensure_partition(conn, catalog_id: int) -> None:
    """Create catalog `catalog_id`'s partition of `entry_search` unless it exists (before its first index rows).

    Made apart and then attached, which takes a lock on `entry_search` that searches do not wait for (creating
    it as a partition at once would lock them out until the statement ends); attaching creates its indexes.
    """
    name = partition(catalog_id)
    attached = conn.exec_driver_sql(
        "SELECT c.relispartition FROM pg_class c WHERE c.oid = to_regclass(%(name)s)", {"name": name}).scalar()
    if attached:
        return
    if attached is None:
        conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE entry_search INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    conn.exec_driver_sql(f"ALTER TABLE entry_search ATTACH PARTITION {name} FOR VALUES IN ({int(catalog_id)})")


def after_build(conn, catalog_id: int) -> None:
    """Merge the partition's GIN pending list and gather its statistics, once a build has written to it.

    The pending list (fast GIN inserts) is read by every query until it is merged, and a server with autovacuum
    off or behind never merges it. The statistics are what `_walks` and the planner decide by, per catalog: how
    common a word is there, so whether its window is found by walking the B-tree or through the GIN index
    (without any, the planner guessed 10,000 matches for any word)."""
    name = partition(catalog_id)
    conn.exec_driver_sql(
        "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = to_regclass(%(name)s) AND a.amname = 'gin'",
        {"name": name})
    conn.exec_driver_sql(f"ANALYZE {name}")


def _lexeme(term: str, weight: str = "", prefix: bool = False) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'" + (":" + "*" * prefix + weight
                                                                        if prefix or weight else "")


def tsquery(found: list[str], prefix: bool, weight: str = "", exact: bool = False) -> str:
    """Every term of `found`; the last also as a prefix when `prefix` (and not `exact`); each restricted to
    lexemes of `weight` when given (`A`: code and display)."""
    quoted = [_lexeme(t, weight) for t in found]
    if prefix and not exact:
        quoted[-1] = f"({quoted[-1]} | {_lexeme(found[-1], weight, True)})"
    return " & ".join(quoted)


class _Stats:
    """Each partition's rows and most common lexemes with their share of rows (`pg_stats`, gathered by the
    ANALYZE that ends each build), kept per store until the index changes, and at most `STATS_SECONDS`: a build
    marks its catalog indexed a moment before its ANALYZE ends, and autovacuum analyses again later."""

    def __init__(self):
        self.lock = threading.Lock()
        self.key: tuple | None = None
        self.read_at = 0.0
        # catalog id -> (rows, {lexeme: share of rows}, the lexemes in order)
        self.partitions: dict[int, tuple[float, dict[str, float], list[str]]] = {}

    def refresh(self, cursor, seqs: tuple) -> None:
        now = time.monotonic()
        with self.lock:
            if self.key == seqs and now - self.read_at < STATS_SECONDS:
                return
        cursor.execute("SELECT s.tablename, c.reltuples, s.most_common_elems::text::text[], s.most_common_elem_freqs "
                       "FROM pg_stats s JOIN pg_class c ON c.oid = to_regclass(quote_ident(s.tablename)) "
                       "WHERE s.schemaname = current_schema() AND s.attname = 'terms' "
                       "AND s.tablename ~ '^entry_search_[0-9]+$'")
        partitions = {int(name.rsplit("_", 1)[1]): (max(rows, 0.0), dict(zip(lexemes or (), freqs or ())),
                                                     sorted(lexemes or ()))
                      for name, rows, lexemes, freqs in cursor.fetchall()}
        with self.lock:
            self.key, self.read_at, self.partitions = seqs, now, partitions

    def rows(self, catalog_id: int) -> float:
        """The catalog's index rows (0 when its partition has no statistics yet)."""
        return self.partitions.get(catalog_id, (0.0, {}, []))[0]

    def share(self, catalog_id: int, found: list[str], prefix: bool) -> float:
        """The share of the catalog's index rows that the statistics say hold every term of `found` (the last
        as a prefix when `prefix`), as if the terms were independent; 0 when a term is not among the most common."""
        _, common, lexemes = self.partitions.get(catalog_id, (0.0, {}, []))
        share = 1.0
        for n, term in enumerate(found):
            if prefix and n == len(found) - 1:  # the lexemes it starts, one run of them in order
                start = bisect.bisect_left(lexemes, term)
                share *= min(1.0, sum(common[lexeme] for lexeme in itertools.takewhile(
                    lambda lexeme: lexeme.startswith(term), itertools.islice(lexemes, start, None))))
            else:
                share *= common.get(term, 0.0)
        return share


stats_for = PerStore(lambda store: _Stats())
"""The partitions' statistics kept for `store` (one per store)."""


def _walks(rows: float, share: float, window: int) -> bool:
    """Whether a window read walks the catalog's rows in order (at most `WALK_MAX`) rather than read its GIN
    index: when the statistics expect its window within `WALK_MAX / 4` rows and within fewer rows than the GIN
    index would give (a word in a third of a 1M catalog: about 330 rows walked against 330,000 found)."""
    return share > 0 and window / share <= min(WALK_MAX / 4, rows * share)


def _probes(rows: float, found: list[str], prefix: bool) -> bool:
    """Whether a window read the statistics cannot judge walks `PROBE` rows in order before it reads the GIN
    index: when its last term is a prefix of codes (it holds a digit) in a catalog of over `PROBE_FROM` rows.
    Each code is in one entry, so none is among the most common lexemes, yet a short prefix of them can start a
    tenth of a national catalog (`G00` of 1M codes: 100,000 matches read through the GIN index and sorted, 29
    ms, where its shortest matches lie among the first rows in order: 2.2 ms walked). A rare prefix costs the
    walk in vain (about 0.7 ms on 1M rows) before its GIN read."""
    return prefix and rows > PROBE_FROM and any(ch.isdigit() for ch in found[-1])


# Each row's score, whether it matches each of the other three arms' queries (see `hits`), whether it is valid
# in the version, and its place in the order. Parameters are named (`q0`-`q3`, the arms' queries; `seq<catalog
# id>`; `found<n>`, the nth read's rows at most), so that each is sent once however many reads use it.
_COLUMNS = ("e.code, e.display, e.status, ts_rank(s.terms, CAST(%(q0)s AS tsquery), 1) AS score, s.catalog_id, "
            "{arm} AS arm, s.terms @@ CAST(%(q1)s AS tsquery), s.terms @@ CAST(%(q2)s AS tsquery), "
            "s.terms @@ CAST(%(q3)s AS tsquery)")
# The catalog's first rows in order, at most `walk<n>` of them, then its first valid matches among them: its
# B-tree walked, never its GIN index. `{partition}` is the catalog's own partition, named so that the statement
# is planned for it alone, once (see `RANKED_READS`).
_WALKED = ("SELECT * FROM (SELECT " + _COLUMNS + ", TRUE, s.length, s.entry_id FROM (SELECT * FROM {partition} "
           "ORDER BY length, entry_id LIMIT %(walk{n})s) s JOIN entry e ON e.id = s.entry_id "
           "WHERE s.terms @@ CAST(%(q{arm})s AS tsquery) AND e.valid_from <= %(seq{catalog})s "
           "AND (e.valid_to IS NULL OR e.valid_to > %(seq{catalog})s) ORDER BY s.length, s.entry_id "
           "LIMIT %(window)s) w")
# The catalog's first `found<n>` matches in order, found through its GIN index and sorted (`+ 0`: an order the
# B-tree cannot give, so that the planner does not walk it instead, in vain for a word its statistics misjudge),
# each then joined to its entry to tell whether it is valid.
_FOUND = ("SELECT * FROM (SELECT " + _COLUMNS + ", e.valid_from <= %(seq{catalog})s AND (e.valid_to IS NULL "
          "OR e.valid_to > %(seq{catalog})s), s.length, s.entry_id FROM (SELECT * FROM {partition} "
          "WHERE terms @@ CAST(%(q{arm})s AS tsquery) ORDER BY length + 0, entry_id LIMIT %(found{n})s) s "
          "JOIN entry e ON e.id = s.entry_id) w")


_VALID = 9  # in a row of `_read`: whether the row is valid in the version
_IN_ORDER = operator.itemgetter(10, 11)  # its place in the order: (length, entry id)


@lru_cache(maxsize=256)
def _window_sql(reads: tuple[tuple[int, int, bool], ...]) -> str:
    """Window reads in one statement, each (arm, catalog id, walked): the catalog's partition walked in order
    (True) or read through its GIN index (False) for the arm's query."""
    return " UNION ALL ".join((_WALKED if walked else _FOUND).format(
        partition=partition(catalog_id), arm=arm, catalog=int(catalog_id), n=n)
        for n, (arm, catalog_id, walked) in enumerate(reads))


RANKED_READS = ("SET plan_cache_mode = force_generic_plan", "SET max_parallel_workers_per_gather = 0",
                "SET enable_seqscan = off", "SET enable_hashjoin = off", "SET enable_mergejoin = off", "SET jit = off")
"""The settings of the connections that make the ranked reads (`reads_for`), which make nothing else, so that
each catalog's reads are planned once and well.

Each read names its catalog's partition. psycopg prepares a statement it has run five times on a connection,
and PostgreSQL then plans it once (a generic plan, whatever the words and limits: the words' selectivity does
not choose the plan, since whether a window is walked in order or read through the GIN index is decided here,
by `_walks`, and written in the statement). Planning each read anew, for the words at hand, cost 0.5-0.9 ms a
search across the catalogs, three times the reads themselves. The connections are the search's own, in
autocommit: on the pool's connections, every other request's rollback made psycopg deallocate every prepared
statement. No parallel workers: starting them costs more than these small reads. No sequential scan: its cost
is the whole partition whatever the words. Each match is joined to its entry by its key: hashing or sorting
`entry` for the join cost a second on a 1M store when a word's matches were misjudged many. No JIT
compilation: a read the plan thinks large would be compiled, 100 ms for a read of a few rows.
"""

PREPARED_MAX = 32  # statements kept prepared per connection: a plan across 7 catalogs takes about 185 KB
reads_for = PerStore(lambda store: ThreadReads(store.engine, session=RANKED_READS, prepared_max=PREPARED_MAX))
"""The per-thread connections of `store` that make its ranked reads, with `RANKED_READS` (one set per store). A
statement names its catalogs and how each is read, so a search across many catalogs can make many; psycopg
keeps the `PREPARED_MAX` last used (the bench's 20,000 searches of 7 catalogs make 11, 2 MB of plans)."""


def _read(cursor, reads: list[tuple], arms: list[str], window: int) -> list[tuple]:
    """Window reads, each (arm, catalog id, seq, rows walked at most or 0 to read the GIN index, rows found at
    most), in one statement: rows (code,
    display, status, score, catalog id, arm, whether the row matches arms 1, 2 and 3, whether it is valid, and
    its length and entry id)."""
    params = {"q0": arms[0], "q1": arms[1], "q2": arms[2], "q3": arms[3], "window": window}
    for n, (arm, catalog_id, seq, walk, found) in enumerate(reads):
        params[f"seq{int(catalog_id)}"] = seq
        params[f"walk{n}" if walk else f"found{n}"] = walk or found
    # Prepared by psycopg once it has run five times on the connection, the generic plan that `RANKED_READS` asks
    # for is then made once per statement and connection (a statement run once is not prepared in vain).
    cursor.execute(_window_sql(tuple((arm, catalog_id, walk > 0) for arm, catalog_id, _, walk, _ in reads)),
                   params)
    return cursor.fetchall()


def hits(cursor, refs: list, found: list[str], limit: int, window: int, prefix_min: int, stats: _Stats,
         seqs: tuple) -> list[list[tuple]]:
    """Each version's best `limit` rows as (-score, code, display, status), best first, for query terms `found`,
    read with `RANKED_READS` set (on a connection of `reads_for`).

    Every term must match; the last also as a prefix when it has at least `prefix_min` characters. Four windows
    a catalog, as on SQLite: its first `window` valid matches (arm 0), those of the words as they are (1), and
    each of those among the rows naming the words in their code or display (2, 3). One statement reads every
    catalog's arm 0, walked in order or found through the GIN index as `stats` (the store's `stats_for`; `seqs`,
    ((catalog id, indexed seq), ...), tells it when a build has ended) expects cheaper. The others are read only
    for a full window with rows outside them (otherwise they are the same rows). A walk that stopped short of
    its window (the statistics misjudged the words) is read again through the GIN index, and a read through
    the GIN index, which joins its first `1.5 × window` matches, again with `GROWTH` times as many while fewer were
    valid. So at most four windows of rows a catalog are ranked, and each walk reads at most `WALK_MAX` rows.
    """
    stats.refresh(cursor, seqs)
    prefix = len(found[-1]) >= prefix_min
    arms = [tsquery(found, prefix), tsquery(found, prefix, exact=True),
            tsquery(found, prefix, "A"), tsquery(found, prefix, "A", exact=True)]
    as_prefix = [prefix, False, prefix, False]

    def read(arm: int, ref) -> tuple:
        rows, share = stats.rows(ref.catalog_id), stats.share(ref.catalog_id, found, as_prefix[arm])
        walk = WALK_MAX if _walks(rows, share, window) else PROBE if _probes(rows, found, as_prefix[arm]) else 0
        return arm, ref.catalog_id, ref.seq, walk, window + window // 2  # a margin for rows not valid
    reads = [read(0, ref) for ref in refs]
    by_ref = {ref.catalog_id: ref for ref in refs}
    by_catalog: dict[int, dict[str, tuple]] = {ref.catalog_id: {} for ref in refs}
    while reads:
        got: dict[tuple[int, int], list] = {(catalog_id, arm): [] for arm, catalog_id, *_ in reads}
        for row in _read(cursor, reads, arms, window):
            got[row[4], row[5]].append(row)
        again = []
        for arm, catalog_id, seq, walk, most in reads:
            rows = got[catalog_id, arm]
            rows.sort(key=_IN_ORDER)
            kept = [row for row in rows if row[_VALID]][:window]
            hits_of = by_catalog[catalog_id]
            for row in kept:
                if row[0] not in hits_of:  # code, display, status, score
                    hits_of[row[0]] = (-row[3], row[0], row[1], row[2])
            if len(kept) < window:
                if walk:  # stopped short of its window: misjudged, so read through the GIN index
                    again.append((arm, catalog_id, seq, 0, most))
                elif len(rows) == most:  # too many of the matches found were not valid (a version that
                    # changed many rows, an older version): eight times as many, not all (each is joined to its entry)
                    again.append((arm, catalog_id, seq, 0, most * GROWTH))
            elif arm == 0:
                again += [read(other, by_ref[catalog_id]) for other in (1, 2, 3)
                          if not all(row[5 + other] for row in kept)]
        reads = again
    # By score, then code: a catalog's codes are unique, so the tuples never compare further.
    return [sorted(by_catalog[ref.catalog_id].values())[:limit] for ref in refs]
