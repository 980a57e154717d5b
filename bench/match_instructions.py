"""Instructions of the matcher's queries alone, for callgrind: one set's default sample answered once.

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=sys_call_tracing \
        python bench/match_instructions.py --sets atc_ru        # PYTHONHASHSEED=0 for the same count each time

A fresh process builds and opens the set's index as `bench/match.py` does, freezes the loaded heap, then answers
the sampled reworded names (1000 by default, its seed and order) inside `sys.call_tracing`: with the options above
callgrind counts only what runs inside that call, so the build, the imports and the opening stay out of it.
Without valgrind it prints the CPU time of the same queries.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import match as bench  # noqa: E402  (bench/match.py)
from registry.matching import Term, match_term  # noqa: E402
from registry.matching.index import MatchIndex, build_from_entries  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="atc_ru", help="one of: " + ", ".join(bench.SETS))
    parser.add_argument("--sample", type=int, default=1000, help="reworded queries (0 = all)")
    args = parser.parse_args(argv)
    _title, language, load, _atc = bench.SETS[args.sets]
    entries, queries = load()
    chosen = [q for q in queries if not q[2]]
    if args.sample and len(chosen) > args.sample:
        chosen = random.Random(5).sample(chosen, args.sample)  # the first draw of bench/match.py's sample
    with tempfile.TemporaryDirectory() as tmp:
        index = MatchIndex(build_from_entries(Path(tmp) / "ix", entries, language, args.sets, args.sets).path)
        gc.collect()
        gc.freeze()

        def answer_all():
            for q in chosen:
                match_term(index, Term(q[0], None, q[3] if len(q) > 3 else {}), 5)

        cpu = time.process_time()
        sys.call_tracing(answer_all, ())
        print(f"{len(chosen)} queries, {(time.process_time() - cpu) * 1000 / len(chosen):.3f} ms CPU a query")
    return 0


if __name__ == "__main__":
    sys.exit(main())
