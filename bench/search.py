"""Benchmark of full-text search designs at national scale: whoosh, SQLite FTS5, PostgreSQL full-text and pg_trgm.

1. Builds a synthetic but realistic catalog of N entries (default 100,000) from the real names in
   ../shared/data: Russian ICD-10 names (FNSI 2.27) recombined with qualifiers of other names, KZ formulary
   drugs (trade name or INN + dosage form, with the WHO ATC English name as a designation) and WHO ATC
   groups (English display, Russian designation). Codes are unique, displays repeat words as real ones do.
2. Indexes it with each engine and measures build time and index size:
   - `whoosh`: the schema the registry used (code, stemmed display and designations), whoosh-reloaded's
     multi-process writer (2 processes, 256 MB, no merge); queried with AND (`whoosh`) and with the OR group
     the registry used (`whoosh-or`);
   - `registry-sqlite`, `registry-postgresql`: the shipped design end to end (a Store, a publish, then
     `registry.search.index.build` timed, and `registry.search.search` queried);
   - `fts5`: SQLite FTS5, contentless, over the terms of `registry.search.analysis` (stems), joined back to
     the entry rows with the validity filter a versioned store needs;
   - `pg-simple`: PostgreSQL tsvector (`simple` configuration over the same stems) with a GIN index;
   - `pg-russian`: PostgreSQL's own `russian` configuration (Snowball Russian for Cyrillic words, English for
     Latin ones) over the raw text, with a GIN index;
   - `pg-trgm`: pg_trgm trigram similarity on the display (GIN), the one engine here that forgives typos.
3. Runs the same fixed queries (words, phrases, prefixes, codes, typos, inflected Cyrillic) through each,
   `--repeat` times, and prints p50/p99 latency overall and per kind, and the top-10 overlap with FTS5.
4. Times a 40-character and a 4,000-character query on each engine (is it linear in its length?).

Run on demand (not in CI):
  python bench/search.py [--entries 100000] [--engines registry-sqlite,registry-postgresql,whoosh,fts5,...]
                         [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--repeat 5]
The PostgreSQL engines run in a throw-away schema that is dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from registry.search.analysis import query_terms, terms  # noqa: E402

QUERIES = [
    # (kind, query)
    ("word-ru", "холера"), ("word-ru", "туберкулез"), ("word-ru", "пневмония"), ("word-ru", "неуточненный"),
    ("word-ru", "болезнь"), ("word-ru", "парацетамол"), ("word-ru", "таблетки"), ("word-ru", "меланома"),
    ("phrase-ru", "туберкулез легких"), ("phrase-ru", "перелом бедренной кости"), ("phrase-ru", "сахарный диабет"),
    ("phrase-ru", "злокачественное новообразование желудка"), ("phrase-ru", "инфаркт миокарда"),
    ("phrase-ru", "раствор для инъекций"),
    ("inflected-ru", "холерой"), ("inflected-ru", "гипертензией"), ("inflected-ru", "переломы бедра"),
    ("inflected-ru", "таблетками"),
    ("word-en", "paracetamol"), ("word-en", "insulin"), ("word-en", "vaccines"), ("word-en", "antibacterials"),
    ("phrase-en", "antibacterials for systemic use"), ("phrase-en", "drugs for acid related disorders"),
    ("prefix", "туберк"), ("prefix", "парацет"), ("prefix", "диабе"), ("prefix", "insul"), ("prefix", "ходжк"),
    ("prefix", "cardio"),
    ("code", "A00.0"), ("code", "J45.0"), ("code", "N02BE01"), ("code", "C16"),
    ("typo", "туберкулоз"), ("typo", "парацитамол"), ("typo", "diabetis"), ("typo", "холира"),
]
SHORT_QUERY = "туберкулез легких с бактериологическим"
LONG_QUERY = ("туберкулез легких подтвержденный бактериологически и гистологически " * 60)[:4000]


# ---------------------------------------------------------------------------------------------- the catalog

def read_sources():
    icd = []
    with open(DATA / "icd10_ru" / "fnsi_1.2.643.5.1.13.13.11.1005_v2.27.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter=";"):
            if row["MKB_CODE"] and row["MKB_NAME"]:
                icd.append((row["MKB_CODE"], row["MKB_NAME"]))
    atc = {}
    with open(DATA / "atc" / "who_atc_ddd_2026-04-25_fabkury.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            atc[row["atc_code"]] = row["atc_name"]
    drugs = []
    with open(DATA / "drugs_kz" / "kz_knf_national_formulary.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            drugs.append((row["atcCode"], row["mnnOrGroup"], row["tradeName"], row["dosageForm"]))
    return icd, atc, drugs


def make_catalog(n: int, seed: int = 19) -> list[dict]:
    """N entries recombined from real names: 60% ICD-like (ru), 30% drugs (ru + en), 10% ATC groups (en + ru)."""
    icd, atc, drugs = read_sources()
    atc_ru = {code: mnn for code, mnn, trade, form in drugs if mnn and not trade}
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        kind = rnd.random()
        if kind < 0.6:
            code, name = icd[rnd.randrange(len(icd))]
            if rnd.random() < 0.5:
                other = icd[rnd.randrange(len(icd))][1].lower().split()
                start = rnd.randrange(max(1, len(other) - 2))
                name = f"{name}, {' '.join(other[start:start + rnd.randint(2, 5)])}"
            syn = icd[rnd.randrange(len(icd))][1]
            out.append({"code": f"{code}.{i}", "display": name, "designations": [syn] if rnd.random() < 0.3 else []})
        elif kind < 0.9:
            code, mnn, trade, form = drugs[rnd.randrange(len(drugs))]
            display = " ".join(x for x in (trade or mnn, form) if x)
            en = atc.get(code, "")
            out.append({"code": f"KZ{i:07d}", "display": display or f"препарат {i}",
                        "designations": [x for x in (en.lower(), mnn) if x]})
        else:
            code = rnd.choice(list(atc))
            out.append({"code": f"{code}-{i}", "display": atc[code], "designations":
                        [atc_ru[code]] if code in atc_ru else []})
    return out


# ---------------------------------------------------------------------------------------------- engines

def _stem_by_script():
    from whoosh.analysis import Filter
    from registry.search.analysis import stem

    class StemByScript(Filter):
        """Each token stemmed by the registry's analyser (Russian or English Snowball, by script)."""

        def __call__(self, tokens):
            for t in tokens:
                t.text = stem(t.text)
                yield t
    return StemByScript


def whoosh_schema():
    """The whoosh schema the registry searched with until this bench (code exact; display and designations stemmed)."""
    from whoosh.analysis import LowercaseFilter, RegexTokenizer
    from whoosh.fields import ID, STORED, TEXT, Schema
    global StemByScript
    StemByScript = _stem_by_script()
    StemByScript.__qualname__ = "StemByScript"
    analyzer = RegexTokenizer(r"\w+(\.\w+)*") | LowercaseFilter() | StemByScript()
    return Schema(code=ID(stored=True, unique=True), display=TEXT(analyzer=analyzer, stored=True, field_boost=2.0),
                  designations=TEXT(analyzer=analyzer), status=STORED)


class Whoosh:
    name = "whoosh"

    def __init__(self, folder: Path, group: str = "and"):
        self.folder = folder
        self.group = group

    def build(self, entries):
        from whoosh import index
        self.folder.mkdir(parents=True, exist_ok=True)
        ix = index.create_in(str(self.folder), whoosh_schema())
        writer = ix.writer(procs=2, limitmb=256, multisegment=True)
        for e in entries:
            writer.add_document(code=e["code"], display=e["display"], status="active",
                                designations=" \n".join(e["designations"]))
        writer.commit()
        self.open()

    def open(self):
        from whoosh import index
        from whoosh.qparser import AndGroup, MultifieldParser, OrGroup
        self.ix = index.open_dir(str(self.folder))
        self.searcher = self.ix.searcher()
        self.parser = MultifieldParser(["code", "display", "designations"], self.ix.schema,
                                       group=AndGroup if self.group == "and" else OrGroup)

    def size(self):
        return sum(p.stat().st_size for p in self.folder.iterdir())

    def query(self, q, limit=10):
        return [hit["code"] for hit in self.searcher.search(self.parser.parse(q), limit=limit)]

    def close(self):
        self.searcher.close()


def fts_match(q: str) -> str | None:
    """The FTS5 query of the registry: every term, the last one also as a prefix."""
    found = query_terms(q)
    if not found:
        return None
    quoted = ['"' + t.replace('"', '""') + '"' for t in found]
    quoted[-1] += "*"
    return " AND ".join(quoted)


class Fts5:
    name = "fts5"

    def __init__(self, path: Path):
        self.path = path

    def build(self, entries):
        db = sqlite3.connect(self.path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE entry (id INTEGER PRIMARY KEY, catalog_id INT, code TEXT, display TEXT, "
                   "designations TEXT, valid_from INT, valid_to INT)")
        db.executemany("INSERT INTO entry VALUES (?, 1, ?, ?, ?, 1, NULL)",
                       [(i + 1, e["code"], e["display"], json.dumps(e["designations"], ensure_ascii=False))
                        for i, e in enumerate(entries)])
        db.commit()
        self.base = self.path.stat().st_size
        t = time.perf_counter()
        db.execute("CREATE VIRTUAL TABLE entry_search USING fts5(code, display, designations, content='', "
                   "tokenize=\"unicode61 remove_diacritics 0 tokenchars '.'\")")
        rows = db.execute("SELECT id, code, display, designations FROM entry")
        db.executemany("INSERT INTO entry_search(rowid, code, display, designations) VALUES (?, ?, ?, ?)",
                       ((i, c.lower(), " ".join(terms(d)), " ".join(terms(" ".join(json.loads(ds)))))
                        for i, c, d, ds in rows.fetchall()))
        db.execute("INSERT INTO entry_search(entry_search) VALUES ('optimize')")
        db.commit()
        self.build_seconds = time.perf_counter() - t
        db.close()
        self.open()

    def open(self):
        self.db = sqlite3.connect(self.path)

    def size(self):
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return self.path.stat().st_size - self.base

    def query(self, q, limit=10):
        match = fts_match(q)
        if match is None:
            return []
        return [r[0] for r in self.db.execute(
            "SELECT e.code FROM entry_search s JOIN entry e ON e.id = s.rowid WHERE entry_search MATCH ? "
            "AND e.catalog_id = 1 AND e.valid_from + 0 <= 1 AND (e.valid_to IS NULL OR e.valid_to > 1) "
            "ORDER BY bm25(entry_search, 10.0, 2.0, 1.0), e.code LIMIT ?", (match, limit))]

    def close(self):
        self.db.close()


class Postgres:
    def __init__(self, url: str, schema: str, config: str):
        import psycopg
        self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        self.schema = schema
        self.config = config
        self.name = f"pg-{config}"
        self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        self.conn.execute(f"SET search_path TO {schema}, public")

    def load(self, entries):
        self.conn.execute("CREATE TABLE IF NOT EXISTS entry (id int PRIMARY KEY, catalog_id int, code text, "
                          "display text, designations text, valid_from int, valid_to int)")
        if self.conn.execute("SELECT count(*) FROM entry").fetchone()[0] == 0:
            with self.conn.cursor().copy("COPY entry FROM STDIN") as copy:
                for i, e in enumerate(entries):
                    copy.write_row((i + 1, 1, e["code"], e["display"],
                                    json.dumps(e["designations"], ensure_ascii=False), 1, None))
            self.conn.execute("ANALYZE entry")

    def build(self, entries):
        self.load(entries)
        table = f"search_{self.config}"
        if self.config == "simple":
            self.conn.execute(f"CREATE TABLE {table} (entry_id int PRIMARY KEY, terms tsvector)")
            rows = self.conn.execute("SELECT id, code, display, designations FROM entry").fetchall()
            with self.conn.cursor().copy(f"COPY {table} (entry_id, terms) FROM STDIN") as copy:
                for i, c, d, ds in rows:
                    copy.write_row((i, tsvector(c, d, ds)))
        elif self.config == "russian":
            self.conn.execute(
                f"CREATE TABLE {table} AS SELECT id AS entry_id, "
                "setweight(to_tsvector('simple', lower(code)), 'A') || setweight(to_tsvector('russian', display), 'A')"
                " || setweight(to_tsvector('russian', coalesce((SELECT string_agg(value, ' ') "
                "FROM json_array_elements_text(designations::json)), '')), 'B') AS terms FROM entry")
            self.conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (entry_id)")
        else:  # trgm
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
            self.conn.execute(f"CREATE TABLE {table} AS SELECT id AS entry_id, lower(display) AS terms FROM entry")
            self.conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (entry_id)")
        ops = "public.gin_trgm_ops" if self.config == "trgm" else ""
        self.conn.execute(f"CREATE INDEX ix_{table} ON {table} USING gin (terms {ops})")
        self.conn.execute(f"ANALYZE {table}")
        self.table = table

    def size(self):
        return self.conn.execute(f"SELECT pg_total_relation_size('{self.table}')").fetchone()[0]

    def query(self, q, limit=10):
        validity = "e.catalog_id = 1 AND e.valid_from <= 1 AND (e.valid_to IS NULL OR e.valid_to > 1)"
        if self.config == "trgm":
            return [r[0] for r in self.conn.execute(
                f"SELECT e.code FROM {self.table} s JOIN entry e ON e.id = s.entry_id "
                f"WHERE s.terms OPERATOR(public.%%) lower(%s) AND {validity} "
                "ORDER BY public.similarity(s.terms, lower(%s)) DESC, e.code LIMIT %s", (q, q, limit))]
        if self.config == "simple":
            found = query_terms(q)
            if not found:
                return []
            tsq = " & ".join("'" + t.replace("'", "''").replace("\\", "\\\\") + "'" for t in found) + ":*"
            sql_q = "to_tsquery('simple', %s)"
        else:
            words = [w for w in q.split()][:12]
            tsq = " & ".join("'" + w.replace("'", "''").replace("\\", "\\\\") + "'" for w in words) + ":*"
            sql_q = "to_tsquery('russian', %s)"
        return [r[0] for r in self.conn.execute(
            f"SELECT e.code FROM {self.table} s JOIN entry e ON e.id = s.entry_id, {sql_q} AS q "
            f"WHERE s.terms @@ q AND {validity} ORDER BY ts_rank(s.terms, q) DESC, e.code LIMIT %s", (tsq, limit))]

    def drop_schema(self):
        self.conn.execute(f"DROP SCHEMA {self.schema} CASCADE")

    def close(self):
        pass


class Registry:
    """The shipped design, end to end: a Store, a publish, `registry.search.index.build` and `registry.search.search`."""

    def __init__(self, kind: str, work: Path, pg_url: str, schema: str):
        self.name = f"registry-{kind}"
        self.kind, self.work, self.pg_url, self.schema = kind, work, pg_url, schema

    def build(self, entries):
        from registry.models import CatalogCreate
        from registry.search import index as search_index
        from registry.store import Store
        environ = {"NSI_DATA_DIR": str(self.work / self.name)}
        if self.kind == "sqlite":
            environ["NSI_DATABASE_URL"] = f"sqlite:///{self.work / self.name / 'nsi.db'}"
        else:
            import psycopg
            with psycopg.connect(self.pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
                c.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}_r")
            environ["NSI_DATABASE_URL"] = f"{self.pg_url}?options=-csearch_path%3D{self.schema}_r"
        self.store = store = Store.init(environ)
        store.create_catalog(CatalogCreate(slug="bench", title="Bench", kind="other"))
        t = time.perf_counter()
        store.stage_draft("bench", "1", ({"code": e["code"], "display": e["display"], "designations": [
            {"language": "ru", "use": "synonym", "text": d} for d in e["designations"]]} for e in entries))
        store.publish("bench", "1")
        self.publish_seconds = time.perf_counter() - t
        self.base = self.size()
        t, cpu = time.perf_counter(), time.process_time()
        assert search_index.build(store, store.resolve("bench").catalog_id) == len(entries)
        self.build_seconds = time.perf_counter() - t
        self.build_cpu = time.process_time() - cpu  # this process only: on PostgreSQL the server's share is apart

    def size(self):
        with self.store.engine.connect() as conn:
            if self.kind == "sqlite":
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
                free = conn.exec_driver_sql("PRAGMA freelist_count").scalar_one()
                size = (pages - free) * conn.exec_driver_sql("PRAGMA page_size").scalar_one()
                return size - getattr(self, "base", 0)
            return conn.exec_driver_sql("SELECT pg_total_relation_size('entry_search')").scalar_one()

    def query(self, q, limit=10):
        from registry.search import search
        return [h["code"] for h in search(self.store, q, catalog="bench", limit=limit)["items"]]

    def close(self):
        self.store.engine.dispose()
        if self.kind == "postgresql":
            import psycopg
            with psycopg.connect(self.pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
                c.execute(f"DROP SCHEMA {self.schema}_r CASCADE")


def tsvector(code: str, display: str, designations: str) -> str:
    """A tsvector literal of the registry's terms: code and display weigh A, designations B."""
    def lexemes(words, weight):
        return " ".join("'" + w.replace("'", "''").replace("\\", "\\\\") + f"':{n}{weight}"
                        for n, w in enumerate(words[:4000], 1))
    parts = [lexemes([code.lower()], "A"), lexemes(terms(display), "A"),
             lexemes(terms(" ".join(json.loads(designations))), "B")]
    return " ".join(p for p in parts if p)


# ---------------------------------------------------------------------------------------------- running

def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_engine(engine, entries, repeat):
    t = time.perf_counter()
    engine.build(entries)
    build = getattr(engine, "build_seconds", None) or time.perf_counter() - t
    size = engine.size()
    for _, q in QUERIES:  # warm caches once
        engine.query(q)
    times, by_kind, tops = [], {}, {}
    cpu = time.process_time()
    for _ in range(repeat):
        for kind, q in QUERIES:
            t = time.perf_counter()
            tops[q] = engine.query(q)
            elapsed = time.perf_counter() - t
            times.append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)
    cpu = (time.process_time() - cpu) / len(times)  # this process only: a shared machine does not inflate it
    lengths = {}
    for label, q in (("40 chars", SHORT_QUERY), ("4000 chars", LONG_QUERY)):
        t = time.perf_counter()
        engine.query(q)
        lengths[label] = time.perf_counter() - t
    return {"build": build, "size": size, "p50": percentile(times, 50), "p99": percentile(times, 99),
            "max": max(times), "cpu": cpu, "kinds": {k: (percentile(v, 50), percentile(v, 99)) for k, v in by_kind.items()},
            "tops": tops, "lengths": lengths}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--engines", default="registry-sqlite,registry-postgresql,whoosh,whoosh-or,fts5,pg-simple,"
                                             "pg-russian,pg-trgm")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    engines = args.engines.split(",")
    t = time.perf_counter()
    entries = make_catalog(args.entries)
    print(f"catalog: {len(entries):,} entries generated in {time.perf_counter() - t:.1f} s; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    schema = f"bench_search_{os.getpid()}"
    results, pg = {}, []
    try:
        whoosh_dir = work / "whoosh"
        for name in engines:
            if name == "whoosh":
                engine = Whoosh(whoosh_dir)
            elif name == "whoosh-or":
                engine = Whoosh(whoosh_dir, group="or")
                if (whoosh_dir / "_MAIN_WRITELOCK").exists() or any(whoosh_dir.glob("*.toc")):
                    engine.build = lambda entries, e=engine: e.open()  # same index, other query group
            elif name == "fts5":
                engine = Fts5(work / "fts5.sqlite")
            elif name.startswith("registry-"):
                engine = Registry(name.split("-", 1)[1], work, args.pg, schema)
            else:
                engine = Postgres(args.pg, schema, name.split("-", 1)[1])
                pg.append(engine)
            t = time.perf_counter()
            results[name] = run_engine(engine, entries, args.repeat)
            engine.close()
            r = results[name]
            if hasattr(engine, "publish_seconds"):
                print(f"{name}: stage + publish (not counted as index build) {engine.publish_seconds:.1f} s; "
                      f"index build CPU time in this process {engine.build_cpu:.1f} s")
            print(f"{name:11} build {r['build']:7.1f} s  index {r['size'] / 1e6:7.1f} MB  "
                  f"p50 {r['p50'] * 1000:6.1f} ms  p99 {r['p99'] * 1000:7.1f} ms  max {r['max'] * 1000:7.1f} ms  "
                  f"cpu/query {r['cpu'] * 1000:5.2f} ms  "
                  f"40 chars {r['lengths']['40 chars'] * 1000:6.1f} ms  "
                  f"4000 chars {r['lengths']['4000 chars'] * 1000:7.1f} ms  load {os.getloadavg()[0]:.2f}",
                  flush=True)
    finally:
        if pg:
            pg[0].drop_schema()
        shutil.rmtree(work, ignore_errors=True)
    print("\np50 / p99 ms by kind of query")
    kinds = list(dict.fromkeys(k for k, _ in QUERIES))
    print(f"{'':12}" + "".join(f"{k:>18}" for k in kinds))
    for name, r in results.items():
        print(f"{name:12}" + "".join(f"{r['kinds'][k][0] * 1000:8.1f} /{r['kinds'][k][1] * 1000:7.1f}" for k in kinds))
    reference = next((n for n in ("registry-sqlite", "fts5") if n in results), None)
    if reference:
        print(f"\nagreement with {reference}: queries with any hit; mean top-10 overlap; same first hit")
        base = results[reference]["tops"]
        for name, r in results.items():
            tops = r["tops"]
            hit = sum(1 for q in tops if tops[q])
            both = [q for q in tops if tops[q] and base[q]]
            overlap = statistics.mean(len(set(tops[q]) & set(base[q])) / max(len(base[q]), len(tops[q]))
                                      for q in both) if both else 0
            first = sum(1 for q in both if tops[q][0] == base[q][0])
            print(f"{name:12} {hit:3}/{len(QUERIES)} with hits; overlap {overlap:.2f}; first hit {first}/{len(both)}")
        print("\nqueries with no hit, by engine:")
        for name, r in results.items():
            print(f"  {name}: " + ", ".join(q for q in r["tops"] if not r["tops"][q]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
