"""Benchmark of the matcher against brute-force rapidfuzz, on every ground-truth set, in one run.

    python bench/match.py                   # every set, 1000 reworded + 300 identical queries each
    python bench/match.py --sample 0        # every query (brute force WRatio takes minutes)
    python bench/match.py --sample 0 --no-brute   # ours only, every query: about a minute
    python bench/match.py --sets kz_inn --sample 200 --build-100k

For each set in ../shared/data/benchmarks (README there): the shared side is
indexed as the target catalog, the local side's names are the queries (codes
hidden). Ours, brute-force `process.extract` with WRatio and with
token_set_ratio (over the whole index, `utils.default_process`) answer the
same sampled queries; top-1, top-5, MRR and ms/query are printed separately
for reworded (identical=0) and identical rows, with index build time and size.
Ours is also reported on the two halves of the reworded rows: *dev* (even data
rows of the file, the only ones looked at while tuning normalisation and
scoring) and *held-out* (odd data rows, never looked at).
`--build-100k` also times building the index of a 100k-entry catalog.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rapidfuzz import fuzz, process, utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.matching import Term, match_term  # noqa: E402
from registry.matching.index import MatchIndex, build_from_entries  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BENCH = DATA / "benchmarks"


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def pair_set(file: str, target_col: str, query_col: str):
    """(entries, queries) of a two-column ground-truth file; a query is (name, true codes, identical)."""
    rows = _rows(BENCH / file)
    entries = [{"code": r["code"], "display": r[target_col], "attributes": {}} for r in rows]
    queries = [(r[query_col], {r["code"]}, r.get("identical") == "1") for r in rows]
    return entries, queries


def kz_inn_set():
    """Kazakhstan formulary INN (Cyrillic) -> WHO ATC level-5 names (Latin); any ATC code of the INN counts."""
    atc = _rows(DATA / "atc" / "who_atc_ddd_2026-04-25_fabkury.csv")
    entries, seen = [], set()
    for r in atc:
        code = r["atc_code"].strip()
        if len(code) == 7 and code not in seen:
            seen.add(code)
            entries.append({"code": code, "display": r["atc_name"].strip(), "attributes": {}})
    by_inn: dict[str, set] = {}
    for r in _rows(BENCH / "kz_tradename_to_atc_inn.csv"):
        if r["atc_code"] in seen and r["inn_ru"].strip():
            by_inn.setdefault(r["inn_ru"].strip(), set()).add(r["atc_code"])
    return entries, [(name, codes, False) for name, codes in sorted(by_inn.items())]


def atc_ru_set():
    """WHO ATC English names <- Kazakhstan formulary Russian group and substance names; level as attribute."""
    rows = _rows(BENCH / "atc_en_who_vs_ru_kz.csv")
    entries = [{"code": r["atc_code"], "display": r["who_en"], "attributes": {"level": r["level"]}} for r in rows]
    queries = [(r["kz_knf_ru"], {r["atc_code"]}, False, {"level": r["level"]}) for r in rows]
    return entries, queries


SETS = {
    "icd10_en": ("who2019 vs cm2026 (en)", "en", lambda: pair_set(
        "icd10_en_who2019_vs_cm2026.csv", "who2019_en", "icd10cm_en")),
    "icd10_ru": ("FNSI old vs 2.27 (ru)", "ru", lambda: pair_set(
        "icd10_ru_fnsi_old_vs_v2.27.csv", "fnsi_v2.27_ru", "fnsi_old_ru")),
    "icd10_de": ("DIMDI WHO 2019 vs GM 2020 (de)", "de", lambda: pair_set(
        "icd10_de_who2019_vs_gm2020.csv", "dimdi_who2019_de", "dimdi_gm2020_de")),
    "kz_inn": ("KZ INN (ru, Cyrillic) -> WHO ATC (Latin)", "en", kz_inn_set),
    "atc_ru": ("ATC ru (KZ) -> ATC en (WHO)", "en", atc_ru_set),
}


def score(ranked: list[list[str]], truths: list[set]) -> tuple[float, float, float]:
    """top-1, top-5 and MRR (over the first five) of ranked code lists."""
    n = len(truths) or 1
    top1 = sum(bool(r) and r[0] in t for r, t in zip(ranked, truths)) / n
    top5 = sum(any(c in t for c in r[:5]) for r, t in zip(ranked, truths)) / n
    mrr = sum(next((1 / i for i, c in enumerate(r[:5], 1) if c in t), 0) for r, t in zip(ranked, truths)) / n
    return top1, top5, mrr


def run_ours(index: MatchIndex, queries) -> tuple[list[list[str]], float]:
    started = time.perf_counter()
    ranked = []
    for q in queries:
        attributes = q[3] if len(q) > 3 else {}
        ranked.append([c["code"] for c in match_term(index, Term(q[0], None, attributes), 5)])
    return ranked, (time.perf_counter() - started) * 1000 / max(len(queries), 1)


def run_brute(entries, queries, scorer) -> tuple[list[list[str]], float]:
    choices = [utils.default_process(e["display"]) for e in entries]
    codes = [e["code"] for e in entries]
    started = time.perf_counter()
    ranked = [[codes[i] for _, _, i in process.extract(utils.default_process(q[0]), choices, scorer=scorer,
                                                           limit=5)] for q in queries]
    return ranked, (time.perf_counter() - started) * 1000 / max(len(queries), 1)


def bench_set(key: str, sample: int, sample_identical: int, workdir: Path, brute: bool = True) -> list[dict]:
    """Build the index of one set, answer its sampled queries with every method; one result row per method/kind."""
    title, language, load = SETS[key]
    entries, queries = load()
    report = build_from_entries(workdir / key, entries, language, key, key)
    index = MatchIndex(report.path)
    rng = random.Random(5)
    position = {id(q): i for i, q in enumerate(queries)}
    rows = []
    for kind, wanted, n in (("reworded", False, sample), ("identical", True, sample_identical)):
        chosen = [q for q in queries if q[2] == wanted]
        if not chosen:
            continue
        if n and len(chosen) > n:
            chosen = rng.sample(chosen, n)
        truths = [q[1] for q in chosen]
        dev = [i for i, q in enumerate(chosen) if position[id(q)] % 2 == 0]
        methods = [("ours", lambda: run_ours(index, chosen))]
        if brute:
            methods += [("brute WRatio", lambda: run_brute(entries, chosen, fuzz.WRatio)),
                        ("brute token_set", lambda: run_brute(entries, chosen, fuzz.token_set_ratio))]
        for method, run in methods:
            ranked, ms = run()
            top1, top5, mrr = score(ranked, truths)
            rows.append({"set": title, "kind": kind, "n": len(chosen), "method": method, "top1": top1,
                         "top5": top5, "mrr": mrr, "ms": ms})
            if method == "ours" and kind == "reworded":
                # Development half (even data rows, used for tuning) and held-out half, reported apart.
                held = sorted(set(range(len(chosen))) - set(dev))
                for part, picked in (("reworded dev", dev), ("reworded held-out", held)):
                    if picked:
                        t1, t5, m = score([ranked[i] for i in picked], [truths[i] for i in picked])
                        rows.append({"set": title, "kind": part, "n": len(picked), "method": method,
                                     "top1": t1, "top5": t5, "mrr": m, "ms": ms})
    rows.append({"set": title, "build": report})
    index.close()
    return rows


def synthetic_entries(n: int):
    """n entries with real medical wording: every benchmark name, cycled, with a qualifier after the first round."""
    names = []
    for file in sorted(BENCH.glob("icd10_*.csv")):
        for r in _rows(file):
            names.extend(v for k, v in r.items() if k not in ("code", "identical") and v)
    names = list(dict.fromkeys(names))
    qualifiers = ["left", "right", "bilateral", "type 2", "500 mg", "chronic", "acute", "recurrent", "неуточненный"]
    for i in range(n):
        base = names[i % len(names)]
        round_ = i // len(names)
        yield {"code": f"S{i:06d}", "display": base if round_ == 0 else f"{base} {qualifiers[round_ % 9]} {round_}",
               "attributes": {}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated: " + ", ".join(SETS))
    parser.add_argument("--sample", type=int, default=1000, help="reworded queries per set (0 = all)")
    parser.add_argument("--sample-identical", type=int, default=300, help="identical queries per set (0 = all)")
    parser.add_argument("--no-brute", action="store_true",
                        help="ours only: skip brute-force rapidfuzz (minutes on every query)")
    parser.add_argument("--build-100k", action="store_true", help="also time the index build of 100k entries")
    args = parser.parse_args(argv)
    if not BENCH.is_dir():
        print(f"no benchmark data at {BENCH}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("| set | rows | n | method | top-1 | top-5 | MRR | ms/query |")
        print("|---|---|---|---|---|---|---|---|")
        builds = []
        for key in args.sets.split(","):
            for row in bench_set(key.strip(), args.sample, args.sample_identical, work, not args.no_brute):
                if "build" in row:
                    builds.append(row)
                    continue
                print(f"| {row['set']} | {row['kind']} | {row['n']} | {row['method']} | {row['top1']:.3f} | "
                      f"{row['top5']:.3f} | {row['mrr']:.3f} | {row['ms']:.2f} |", flush=True)
        print("\n| index | entries | designations | build s | size MB |")
        print("|---|---|---|---|---|")
        for row in builds:
            b = row["build"]
            print(f"| {row['set']} | {b.entries} | {b.designations} | {b.seconds:.1f} | {b.bytes / 1e6:.1f} |")
        if args.build_100k:
            b = build_from_entries(work / "synthetic100k", synthetic_entries(100_000), "en", "100k", "synthetic")
            print(f"| synthetic 100k (real ICD names, en/ru/de) | {b.entries} | {b.designations} | "
                  f"{b.seconds:.1f} | {b.bytes / 1e6:.1f} |")
            index = MatchIndex(b.path)
            probes = [e["display"] for e in synthetic_entries(100_000)][::997][:100]
            started = time.perf_counter()
            for p in probes:
                match_term(index, Term(p), 5)
            print(f"\nqueries on the 100k index: {(time.perf_counter() - started) * 1000 / len(probes):.1f} ms/query")
            index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
