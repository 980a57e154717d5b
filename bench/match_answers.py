"""Every answer of the matcher on every benchmark set, written to a file or compared with one written before.

    python bench/match_answers.py --write /tmp/before.jsonl      # on the tree before a change
    python bench/match_answers.py --compare /tmp/before.jsonl    # on the tree after it: exit 1 on any difference

A speed change of the matcher must not change what it answers. For each set of `bench/match.py`, with and
without the hand-written knowledge tables (and the ATC ru set also without its group context), every query is
answered in the file's order and once more in the order of `bench/match.py`'s default sample (1000 reworded +
300 identical, its seed): the memos an index keeps from query to query then hold other things when a query
comes. Each answer is the top five candidates with code, score and reason, so a reworded reason or a score
off by 0.1 counts as a difference too.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import match as bench  # noqa: E402  (bench/match.py)
from registry.matching import Term, match_term  # noqa: E402
from registry.matching.analysis import use_hand_written_tables  # noqa: E402
from registry.matching.index import MatchIndex, build_from_entries  # noqa: E402


def sampled(queries, sample: int = 1000, sample_identical: int = 300) -> list:
    """The queries of `bench/match.py`'s default sample, in its order."""
    rng = random.Random(5)
    out = []
    for wanted, n in ((False, sample), (True, sample_identical)):
        chosen = [q for q in queries if q[2] == wanted]
        if n and len(chosen) > n:
            chosen = rng.sample(chosen, n)
        out += chosen
    return out


def answers(sets: list[str], workdir: Path):
    """(label, answer) of every query of every set and variant, in a fixed order."""
    for key in sets:
        for tables, context in ((True, True), (False, True)) + (((True, False),) if key == "atc_ru" else ()):
            bench.CONTEXT["groups"] = context
            _title, language, load, _atc = bench.SETS[key]
            entries, queries = load()
            use_hand_written_tables(tables)
            report = build_from_entries(workdir / f"{key}-{tables}-{context}", entries, language, key, key)
            for order, chosen in (("file", queries), ("sample", sampled(queries))):
                index = MatchIndex(report.path)  # fresh memos for each order
                for i, q in enumerate(chosen):
                    found = match_term(index, Term(q[0], None, q[3] if len(q) > 3 else {}), 5)
                    yield (f"{key} tables={tables} context={context} {order} {i}",
                           [[c["code"], c["score"], c["reason"]] for c in found])
                index.close()
    use_hand_written_tables(True)
    bench.CONTEXT["groups"] = True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--write", type=Path, help="write every answer to this file (JSON lines)")
    what.add_argument("--compare", type=Path, help="compare every answer with this file; exit 1 on a difference")
    parser.add_argument("--sets", default=",".join(bench.SETS), help="comma-separated: " + ", ".join(bench.SETS))
    args = parser.parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        if args.write:
            count = 0
            with open(args.write, "w", encoding="utf-8") as f:
                for label, answer in answers(sets, Path(tmp)):
                    f.write(json.dumps([label, answer], ensure_ascii=False) + "\n")
                    count += 1
            print(f"{count} answers written to {args.write}")
            return 0
        with open(args.compare, encoding="utf-8") as f:
            before = dict(json.loads(line) for line in f)
        count, different = 0, 0
        for label, answer in answers(sets, Path(tmp)):
            count += 1
            if label not in before:
                print(f"{label}: not in {args.compare}")
                different += 1
            elif before[label] != answer:
                different += 1
                if different <= 20:
                    print(f"{label}:\n  before {before[label]}\n  now    {answer}")
        print(f"{count} answers compared, {different} different")
        return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
