"""`bench/match.py` times ours and brute force taking turns, so both meet the same moments of the machine."""

from __future__ import annotations

import gc
import importlib.util

from tests.nsi_process import ROOT


def bench_match():
    """bench/match.py as a module (bench/ is no package)."""
    spec = importlib.util.spec_from_file_location("bench_match", ROOT / "bench" / "match.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_methods_answer_in_turns_of_a_chunk_with_the_heap_frozen():
    bench = bench_match()
    calls = []

    def method(name):
        def answer(q):
            calls.append((name, q[0]))
            assert gc.get_freeze_count() > 0  # the loaded heap is frozen for every method alike
            return [f"{name}-{q[0]}"]
        return answer

    queries = [(f"q{i}", {"C"}, False) for i in range(60)]
    results = bench.run_interleaved({"ours": method("ours"), "brute": method("brute")}, queries, chunk=25)
    # ours answers 25 queries, brute force the same 25, then the next chunk, and the last one of 10
    expected = []
    for start in (0, 25, 50):
        part = [q[0] for q in queries[start:start + 25]]
        expected += [("ours", q) for q in part] + [("brute", q) for q in part]
    assert calls == expected
    assert gc.get_freeze_count() == 0
    for name in ("ours", "brute"):
        ranked, ms, cpu_ms = results[name]
        assert ranked == [[f"{name}-q{i}"] for i in range(60)]  # each method's answers, in the queries' order
        assert ms >= 0 and cpu_ms >= 0


def test_each_method_is_timed_over_its_own_chunks(monkeypatch):
    bench = bench_match()
    clock = {"wall": 0.0, "cpu": 0.0}
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock["wall"])
    monkeypatch.setattr(bench.time, "process_time", lambda: clock["cpu"])

    def costing(wall, cpu):
        def answer(q):
            clock["wall"] += wall
            clock["cpu"] += cpu
            return []
        return answer

    results = bench.run_interleaved({"slow": costing(0.004, 0.003), "fast": costing(0.001, 0.0005)},
                                    [(str(i), set(), False) for i in range(30)], chunk=7)
    assert [round(v, 6) for v in results["slow"][1:]] == [4.0, 3.0]  # ms a query
    assert [round(v, 6) for v in results["fast"][1:]] == [1.0, 0.5]
