"""Several processes writing one store at once (PostgreSQL and SQLite): one winner, a clear 409 for the others.

Each worker is a forked process with its own engine, lined up on a barrier so the writes really overlap:
imports of different catalogs all succeed; publishes of one catalog and decisions on one mapping have
exactly one winner, the others get a Conflict or InvalidState (HTTP 409) naming what happened, no update
is lost, the audit history holds exactly the accepted decision and `nsi check` finds no fault.
"""

from __future__ import annotations

import multiprocessing


from registry.errors import NsiError
from registry.mapping import decide, get_mapping, mapping_history
from registry.models import CatalogCreate
from registry.store import Store
from registry.store.check import check_store
from mapping_fixtures import make_map_set

WORKERS = 4
FORK = multiprocessing.get_context("fork")


def _run(barrier, results, name, work):
    """In a worker process: open the store afresh, wait for the others, do `work`, report the outcome."""
    store = Store.open()
    try:
        barrier.wait(timeout=60)
        outcome = ("ok", work(store))
    except NsiError as exc:
        outcome = (type(exc).__name__, exc.http_status, exc.message)
    except Exception as exc:  # a bug: reported, so the test fails with it instead of hanging
        outcome = ("bug", repr(exc))
    finally:
        store.engine.dispose()
    results.put((name, outcome))


def in_parallel(store: Store, jobs: dict) -> dict:
    """Run each job (name -> function of a store) in its own process, all at once; {name: outcome}."""
    store.engine.dispose()  # no pooled connection crosses the fork
    barrier = FORK.Barrier(len(jobs))
    results = FORK.Queue()
    procs = [FORK.Process(target=_run, args=(barrier, results, name, work)) for name, work in jobs.items()]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return outcomes


def entries(prefix: str, n: int, revised: str = ""):
    return [{"code": f"{prefix}{i:05d}", "display": f"{prefix} entry {i}{revised}"} for i in range(n)]


def test_parallel_imports_of_different_catalogs_all_succeed(store):
    def importer(slug):
        def work(s):
            s.create_catalog(CatalogCreate(slug=slug, title=slug))
            s.stage_draft(slug, "1", entries(slug, 3000))
            return s.publish(slug, "1").entry_count
        return work

    slugs = [f"cat{i}" for i in range(WORKERS)]
    outcomes = in_parallel(store, {slug: importer(slug) for slug in slugs})
    assert outcomes == {slug: ("ok", 3000) for slug in slugs}
    for slug in slugs:
        assert [e["display"] for e in store.iter_entries(slug)] == [e["display"] for e in entries(slug, 3000)]
    assert check_store(store).faults == []


def test_parallel_publishes_of_one_catalog_have_one_winner(store):
    store.create_catalog(CatalogCreate(slug="icd", title="ICD"))
    store.stage_draft("icd", "1", entries("A", 1000))
    store.publish("icd", "1")
    for label in ("2a", "2b"):  # two drafts compared with version 1
        store.stage_draft("icd", label, entries("A", 1000, revised=f" ({label})"))
    jobs = {f"{label}#{i}": (lambda label: lambda s: s.publish("icd", label).seq)(label)
            for label in ("2a", "2b") for i in range(WORKERS // 2)}
    outcomes = in_parallel(store, jobs)
    winners = [name for name, outcome in outcomes.items() if outcome[0] == "ok"]
    assert len(winners) == 1, outcomes
    assert outcomes[winners[0]] == ("ok", 2)
    won = winners[0].split("#")[0]
    for name, outcome in outcomes.items():
        if name != winners[0]:
            kind, status, message = outcome
            assert (kind, status) in {("Conflict", 409), ("InvalidState", 409)}, outcome
            assert "icd" in message and ("race" in message or "published" in message), message
    assert store.get_catalog("icd").head_seq == 2
    assert [(v.label, v.status, v.seq) for v in store.list_versions("icd")] == sorted(
        [("1", "published", 1), (won, "published", 2), ({"2a": "2b", "2b": "2a"}[won], "draft", None)],
        key=lambda v: (v[2] is None, v[2] or 0))
    assert [e["display"] for e in store.iter_entries("icd")] == [e["display"] for e in
                                                                 entries("A", 1000, revised=f" ({won})")]
    assert check_store(store).faults == []


def test_parallel_decisions_on_one_mapping_have_one_winner_and_one_audit_row(store):
    slug = make_map_set(store)
    actors = [f"reviewer{i}" for i in range(WORKERS)]
    decisions = ["approve", "reject"] * (WORKERS // 2)
    jobs = {actor: (lambda actor, d: lambda s: decide(s, slug, "L02", d, actor=actor, revision=1).status)(actor, d)
            for actor, d in zip(actors, decisions)}
    outcomes = in_parallel(store, jobs)
    winners = [actor for actor, outcome in outcomes.items() if outcome[0] == "ok"]
    assert len(winners) == 1, outcomes
    winner = winners[0]
    expected = {"approve": "approved", "reject": "rejected"}[decisions[actors.index(winner)]]
    assert outcomes[winner] == ("ok", expected)
    for actor in actors:
        if actor != winner:
            assert outcomes[actor][:2] == ("Conflict", 409), outcomes[actor]
            assert outcomes[actor][2].startswith("mapping L02 was changed"), outcomes[actor]
    mapping = get_mapping(store, slug, "L02")
    assert (mapping.status, mapping.decided_by, mapping.revision) == (expected, winner, 2)
    assert [(e["actor"], e["revision"]) for e in mapping_history(store, slug, "L02")] == [("matcher", 1), (winner, 2)]


def test_workers_of_several_processes_share_the_queued_jobs_without_taking_one_twice(store, tmp_path):
    from registry import jobs
    ids = [f"job{i:02d}" for i in range(12)]
    for job_id in ids:
        jobs.create_job(store, job_id, catalog="icd", version=job_id, upload_path=tmp_path / job_id,
                        source_name=f"{job_id}.jsonl")

    def worker(s):
        taken = []
        while (job_id := jobs.claim(s)) is not None:
            taken.append(job_id)
        return taken

    outcomes = in_parallel(store, {f"w{i}": worker for i in range(WORKERS)})
    taken = [job_id for outcome in outcomes.values() for job_id in outcome[1]]
    assert all(outcome[0] == "ok" for outcome in outcomes.values()), outcomes
    assert sorted(taken) == ids  # every job taken, none twice
    assert {jobs.get_job(store, job_id)["status"] for job_id in ids} == {"running"}
    assert jobs.claim(store) is None
