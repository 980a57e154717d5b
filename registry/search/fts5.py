"""The ranked read on SQLite: each catalog's shortest matches, found by FTS5 and scored by BM25 in Python.

FTS5's own `bm25()` counts every row of each phrase in the whole index before its first score, once per
statement: a word in a third of a 1M-entry catalog cost 12 ms to count (25 ms as the prefix phrase `остр*`,
which FTS5 also gathers whole before the first row), whatever the `LIMIT`, and every catalog searched beside
that one paid it. So FTS5 here only *finds*, which stops after the rows asked for, and the score is computed
for those rows alone, with the formula and column weights of `bm25(entry_search, 10, 2, 1)`; the counts it
needs come from the index's own statistics (its averages record and `entry_search_vocab`), kept per process
until the index changes.

What makes few rows enough: the index's rowid is `catalog << 44 | length << 32 | entry id`
(`rowid`), so a catalog's rows are one rowid range and within it the rows come shortest first; for a word
found in many rows, BM25 prefers the shortest entries (the word weighs more in a shorter text). A catalog is
ranked within its first `window` valid matches in that order, and, when the last word also matches as a
prefix, within its first `window` matches of the words as they are (so that an exact match longer than many
prefix-only ones is still ranked above them); each of those reads once more among the rows holding the words
in their code or display (`{code display} : ...`), so that many short rows naming a word only in a synonym
(weighed 1 against 2 and 10) do not crowd out a longer one that names it in its display: at most
`4 × window` rows a catalog, whatever the index holds. Where this differs from ranking every match: a longer
entry that holds the word several times and is not among the shortest `window` matches is not ranked (FTS5 has
no query for a word found twice); and a prefix whose terms are in more than `EXACT_PREFIX_ROWS` rows together
is counted as their sum, which scores its prefix-only matches a little lower than FTS5 would. Words in at
most `COUNTED_ROWS` rows of the index are still ranked by FTS5's own `bm25`, within each catalog's first
`RANK_WINDOW` matches: counting so few costs less than scoring.
"""

from __future__ import annotations

import json
import math
import threading

from registry.search.analysis import WORD, terms
from registry.search.per_store import PerStore

K1, B = 1.2, 0.75  # FTS5's bm25 constants
WEIGHTS = (10.0, 2.0, 1.0)  # code, display, designations: as the ranking has always weighed them
ENTRY_BITS, LENGTH_BITS = 32, 12
ENTRY_MASK = (1 << ENTRY_BITS) - 1
MAX_LENGTH = (1 << LENGTH_BITS) - 1
MAX_CATALOG = (1 << (63 - ENTRY_BITS - LENGTH_BITS)) - 1  # SQLite's rowid is a signed 64-bit integer
MAX_EXPANSION = 32  # a prefix of more terms than this is left to FTS5's own prefix query (a code prefix, say)
COUNTED_ROWS = 2_000  # below, FTS5 counts, ranks and joins the matches in less than scoring would take (see hits)
EXACT_PREFIX_ROWS = 20_000  # a prefix's terms in at most this many rows together are counted exactly (a few ms)
KEPT_TERMS = 20_000  # counts kept per store between builds (about 0.3 KB each)
MAX_ARMS = 200  # window reads in one statement (SQLite allows 500 terms in a compound SELECT)


def rowid(catalog_id: int, length: int, entry_id: int) -> int:
    """The index rowid of an entry row: its catalog, then its length in terms (capped), then its id."""
    if entry_id > ENTRY_MASK:
        raise ValueError(f"entry id {entry_id} does not fit the search index's rowid ({ENTRY_BITS} bits)")
    return (catalog_id << (ENTRY_BITS + LENGTH_BITS)) | (min(length, MAX_LENGTH) << ENTRY_BITS) | entry_id


def fits(catalog_id: int, last_entry_id: int) -> bool:
    """Whether a catalog's rows fit the index's rowid: its id at most `MAX_CATALOG` (2^19 - 1) and its entry ids
    at most `ENTRY_MASK` (2^32 - 1). Ids are given by the database one after the other, so only an id set by
    hand, or half a million catalogs, goes beyond (`registry.search.index.build` then leaves it to the scan)."""
    return 0 <= catalog_id <= MAX_CATALOG and last_entry_id <= ENTRY_MASK


def catalog_rowids(catalog_id: int) -> tuple[int, int]:
    """The first and last rowid the index may give the rows of catalog `catalog_id`."""
    shift = ENTRY_BITS + LENGTH_BITS
    return catalog_id << shift, ((catalog_id + 1) << shift) - 1


def _varints(blob: bytes) -> list[int]:
    """SQLite's varints (FTS5's averages record is a row count, then each column's total of tokens)."""
    out, i = [], 0
    while i < len(blob):
        value = 0
        for n in range(9):
            byte = blob[i]
            i += 1
            if n == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        out.append(value)
    return out


class _Stats:
    """Rows, average length and per-term counts of the index, kept until a build ends or the rows grow by 1%.

    A build adds rows batch by batch, but they belong to versions answered by the scan until it ends (their
    `indexed_seq`): until then the counts are kept, so a large build does not make every query count again.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.key: tuple | None = None
        self.rows, self.avgdl = 0, 1.0
        self.docs: dict[tuple[str, bool | None], object] = {}

    def _keep(self, key, value) -> None:
        """Keep a count (or a prefix's terms); the oldest go once KEPT_TERMS are kept, so that a worker that
        answers many different words between builds does not grow without bound."""
        docs = self.docs
        if len(docs) >= KEPT_TERMS:
            try:
                for old in list(docs)[:KEPT_TERMS // 10]:
                    docs.pop(old, None)
            except RuntimeError:  # another thread changed it meanwhile: it will be trimmed next time
                pass
        docs[key] = value

    def refresh(self, cursor, seqs: tuple) -> None:
        cursor.execute("SELECT block FROM entry_search_data WHERE id = 1")
        found = cursor.fetchone()
        counts = _varints(bytes(found[0]) if found else b"") or [0]
        with self.lock:
            if self.key is None or self.key[0] != seqs or abs(counts[0] - self.key[1]) > counts[0] / 100:
                self.key, self.docs = (seqs, counts[0]), {}
                self.rows = counts[0]
                self.avgdl = (sum(counts[1:]) / self.rows) if self.rows else 1.0

    def expansion(self, cursor, term: str) -> list[tuple[str, int]] | None:
        """The index's terms that start with `term`, with their rows; None when more than MAX_EXPANSION."""
        key = (term, True)
        found = self.docs.get(key, False)
        if found is False:
            upper = term[:-1] + chr(ord(term[-1]) + 1)
            cursor.execute("SELECT term, doc FROM entry_search_vocab WHERE term >= ? AND term < ? LIMIT ?",
                           (term, upper, MAX_EXPANSION + 1))
            rows = [(t, d) for t, d in cursor.fetchall() if t.startswith(term)]
            found = rows if len(rows) <= MAX_EXPANSION else None
            self._keep(key, found)
        return found

    def prefix_rows(self, cursor, term: str) -> int:
        """Rows holding a term that starts with `term`, as FTS5's bm25 counts them.

        Counted by FTS5 itself (once, then kept) unless the prefix's terms are in more than `EXACT_PREFIX_ROWS`
        rows together, where counting would gather them all: then their sum, an upper bound (a row holding two
        of the terms counts twice), which scores a prefix-only match a little lower than FTS5 would."""
        expanded = self.expansion(cursor, term)
        if expanded is not None and len(expanded) <= 1:
            return expanded[0][1] if expanded else 0
        if expanded is not None and sum(d for _, d in expanded) > EXACT_PREFIX_ROWS:
            return min(self.rows, sum(d for _, d in expanded))
        key = (term, None)
        found = self.docs.get(key)
        if found is None:
            cursor.execute("SELECT count(*) FROM entry_search WHERE entry_search MATCH ?", (_quote(term) + " *",))
            found = cursor.fetchone()[0]
            self._keep(key, found)
        return found

    def term_rows(self, cursor, term: str) -> int:
        key = (term, False)
        found = self.docs.get(key)
        if found is None:
            cursor.execute("SELECT doc FROM entry_search_vocab WHERE term = ?", (term,))
            row = cursor.fetchone()
            found = row[0] if row else 0
            self._keep(key, found)
        return found


stats_for = PerStore(lambda store: _Stats())
"""The term statistics kept for `store`'s index (one per store: two stores in a process never share counts)."""


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _idf(rows: int, hits: int) -> float:
    idf = math.log((rows - hits + 0.5) / (hits + 0.5)) if rows else 0.0
    return idf if idf > 0 else 1e-6  # as FTS5: a word in more than half the rows still counts a little


def _score(code: str, display: str, designations: str, phrases: list[tuple[str, bool, float]], avgdl: float) -> float:
    """BM25 of one entry as FTS5's `bm25(entry_search, 10, 2, 1)` computes it, from the entry's own text."""
    columns = (WORD.findall(code.lower()), terms(display),
               terms(" ".join(d["text"] for d in json.loads(designations))) if designations != "[]" else [])
    length = sum(len(c) for c in columns)
    norm = K1 * (1 - B + B * length / avgdl)
    score = 0.0
    for term, prefix, idf in phrases:
        freq = 0.0
        for weight, column in zip(WEIGHTS, columns):
            found = sum(1 for w in column if w.startswith(term)) if prefix else column.count(term)
            freq += weight * found
        if freq:
            score += idf * freq * (K1 + 1) / (freq + norm)
    return score


def _window_sql(arms: int) -> str:
    one = ("SELECT * FROM (SELECT e.code, e.display, e.designations, e.status, e.catalog_id FROM entry_search s "
           "JOIN entry e ON e.id = (s.rowid & {mask}) WHERE entry_search MATCH ? AND s.rowid BETWEEN ? AND ? "
           "AND e.valid_from <= ? AND (e.valid_to IS NULL OR e.valid_to > ?) LIMIT ?)").format(mask=ENTRY_MASK)
    return " UNION ALL ".join([one] * arms)


def _ranked_sql(arms: int) -> str:
    one = ("SELECT * FROM (SELECT * FROM (SELECT e.code, e.display, e.status, e.catalog_id, "
           "-bm25(entry_search, 10.0, 2.0, 1.0) AS score FROM entry_search s JOIN entry e ON e.id = (s.rowid & {mask}) "
           "WHERE entry_search MATCH ? AND s.rowid BETWEEN ? AND ? AND e.valid_from <= ? AND (e.valid_to IS NULL "
           "OR e.valid_to > ?) LIMIT ?) ORDER BY score DESC, code LIMIT ?)").format(mask=ENTRY_MASK)
    return " UNION ALL ".join([one] * arms)


def _with_matches(cursor, match: str, refs: list) -> list:
    """The versions of `refs` whose catalog has a match, found by hopping from one catalog's first match to the
    next catalog searched. A window read of a catalog with fewer matches than its window goes on past the
    catalog's last rowid until the next match anywhere (FTS5 checks the upper bound on matches only): through
    the rows of every catalog after it when no catalog has one, so no catalog without a match is read."""
    by_catalog = {ref.catalog_id: ref for ref in refs}
    ahead = sorted(by_catalog)
    found, start = [], catalog_rowids(ahead[0])[0]
    while True:
        cursor.execute("SELECT rowid FROM entry_search WHERE entry_search MATCH ? AND rowid >= ? LIMIT 1",
                       (match, start))
        row = cursor.fetchone()
        if row is None:
            return found
        catalog = row[0] >> (ENTRY_BITS + LENGTH_BITS)
        if catalog in by_catalog:
            found.append(by_catalog[catalog])
        ahead = [c for c in ahead if c > catalog]
        if not ahead:
            return found
        start = catalog_rowids(ahead[0])[0]


def _ranked(cursor, refs: list, found: list[str], prefix: bool, limit: int, rank_window: int) -> list[list[tuple]]:
    """Each version's best `limit` rows among its first `rank_window` matches, ranked by FTS5's bm25."""
    words = [_quote(t) for t in found]
    if prefix:
        words[-1] = f"({words[-1]} OR {words[-1]} *)"
    match = " AND ".join(words)
    searched = refs if len(refs) == 1 else _with_matches(cursor, match, refs)
    by_catalog: dict[int, list] = {ref.catalog_id: [] for ref in refs}
    for start in range(0, len(searched), MAX_ARMS):
        chunk = searched[start:start + MAX_ARMS]
        low_high = [catalog_rowids(ref.catalog_id) for ref in chunk]
        cursor.execute(_ranked_sql(len(chunk)), [value for ref, (low, high) in zip(chunk, low_high)
                                                 for value in (match, low, high, ref.seq, ref.seq, rank_window, limit)])
        for code, display, status, catalog_id, score in cursor.fetchall():
            by_catalog[catalog_id].append((-score, code, display, status))
    return [sorted(by_catalog[ref.catalog_id], key=lambda r: (r[0], r[1])) for ref in refs]


def hits(cursor, refs: list, found: list[str], limit: int, window: int, prefix_min: int, stats: _Stats,
         seqs: tuple | None = None, rank_window: int = 5000) -> list[list[tuple]]:
    """Each version's best `limit` rows as (-score, code, display, status), best first, for query terms `found`.

    Every term must match; the last also as a prefix when it has at least `prefix_min` characters (and an exact
    match then counts twice, as with FTS5's `(t OR t*)`). When the words are in at most `COUNTED_ROWS` rows
    of the index in all, FTS5's own `bm25` ranks each catalog's first `rank_window` matches instead (the same
    scores, and cheaper than scoring in Python then). `seqs`: ((catalog id, indexed seq), ...) by catalog,
    as `search_index_state` holds them (read when not given). One statement for the index's averages, one per
    catalog with a match to find them (across catalogs), one per `MAX_ARMS` window reads, and the per-term
    counts that the first query of a term after a build reads (kept in `stats`, the store's: `stats_for`).
    """
    if seqs is None:
        cursor.execute("SELECT catalog_id, indexed_seq FROM search_index_state ORDER BY catalog_id")
        seqs = tuple(cursor.fetchall())
    stats.refresh(cursor, seqs)
    rows, avgdl = stats.rows, stats.avgdl
    last = found[-1]
    prefix = len(last) >= prefix_min
    exact = " AND ".join(_quote(t) for t in found)
    counts = [(t, False, stats.term_rows(cursor, t)) for t in dict.fromkeys(found)]
    if prefix:
        counts.append((last, True, stats.prefix_rows(cursor, last)))
    if sum(n for _, _, n in counts) <= COUNTED_ROWS:  # FTS5's own bm25 counts them in less than scoring would take
        return _ranked(cursor, refs, found, prefix, limit, rank_window)
    phrases = [(t, is_prefix, _idf(rows, n)) for t, is_prefix, n in counts]
    matches = [exact]
    if prefix:
        expanded = stats.expansion(cursor, last)
        words = [_quote(t) for t in found[:-1]]
        if expanded is None:  # FTS5's own prefix query, which gathers the prefix's rows whole first
            matches.append(" AND ".join(words + [f"({_quote(last)} OR {_quote(last)} *)"]))
        elif [t for t, _ in expanded] != [last]:  # else the words as they are find the same rows
            known = [t for t, _ in expanded]
            matches = [exact] if last in known else []  # no term is the last word: the exact read finds nothing
            if known:
                matches.append(" AND ".join(words + ["(" + " OR ".join(_quote(t) for t in known) + ")"]))
    searched = refs if len(refs) == 1 or not matches else _with_matches(cursor, matches[-1], refs)
    reads = []
    for ref in searched:
        low, high = catalog_rowids(ref.catalog_id)
        for match in matches:
            reads.append((match, low, high, ref.seq, ref.seq, window))
            # and the shortest rows holding the words in their code or display (weighed 10 and 2 against 1 for
            # designations), which many short rows naming them only in a synonym would otherwise crowd out
            reads.append((f"{{code display}} : ({match})", low, high, ref.seq, ref.seq, window))
    by_catalog: dict[int, dict[str, tuple]] = {ref.catalog_id: {} for ref in refs}
    for start in range(0, len(reads), MAX_ARMS):
        chunk = reads[start:start + MAX_ARMS]
        cursor.execute(_window_sql(len(chunk)), [value for read in chunk for value in read])
        for code, display, designations, status, catalog_id in cursor.fetchall():
            by_catalog[catalog_id].setdefault(code, (code, display, designations, status))
    answers = []
    for ref in refs:
        scored = [(-_score(code, display, designations, phrases, avgdl), code, display, status)
                  for code, display, designations, status in by_catalog[ref.catalog_id].values()]
        scored.sort(key=lambda r: (r[0], r[1]))
        answers.append(scored[:limit])
    return answers
