"""Suggest: run the matcher for the source entries that still need a mapping and store its candidates.

A source entry gets a `candidate` mapping holding the matcher's top targets
(the best one preselected). Entries whose mapping a person has touched
(proposed, approved, rejected, commented, assigned or re-mapped) are left
alone: suggest never overwrites a human decision. Untouched candidates are
refreshed when the matcher now answers differently.

What is matched is the map set's declaration (match_config.py): the names of
declared fields (a drug register's INN rather than its trade name), each
distinct name asked once, a dosage form as evidence among an INN's codes
(forms.py), and a score floor; the run's coverage is kept on the map set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from registry import db
from registry.mapping.audit import record_events
from registry.mapping.forms import form_bonus, form_rule
from registry.mapping.match_config import check_match_config, entry_names, field_values
from registry.mapping.mapsets import M, MS, get_map_set, map_set_row
from registry.models.catalog import utcnow
from registry.models.mapping import mapping_state

CHUNK = 500
RETRIEVE = 15  # candidates asked per name: enough for a dosage form to lift the right one of an INN's codes
MATCHER = "matcher"


@dataclass
class SuggestReport:
    """What a suggest run did."""

    map_set: str
    source_entries: int = 0
    matched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_decided: int = 0
    without_candidates: int = 0
    without: dict = field(default_factory=lambda: {"no_name": 0, "no_match": 0, "below_floor": 0})
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready form for the API and the CLI's --json."""
        return dict(self.__dict__)


def _field(candidate, name, default=None):
    if isinstance(candidate, dict):
        return candidate.get(name, default)
    return getattr(candidate, name, default)


def normalise_candidates(found) -> list[dict]:
    """The matcher's candidates for one term as [{code, display, score, reason}] (score 0-100, rounded to 0.1).

    Suggest adds `via`, the source field whose name found the candidate."""
    if isinstance(found, dict) and "candidates" in found:
        found = found["candidates"]
    out = []
    for c in found or []:
        reason = _field(c, "reason")
        if reason is not None and not isinstance(reason, str):
            reason = str(reason)
        score = _field(c, "score")
        out.append({"code": str(_field(c, "code")), "display": _field(c, "display") or "",
                    "score": round(float(score), 1) if score is not None else None, "reason": reason})
    return out


def default_matcher() -> Callable:
    """The registry's matching engine (registry.matching.match)."""
    from registry.matching import match
    return match


def _untouched(row) -> bool:
    """Whether a mapping is still only the machine's suggestion."""
    return (row.status == "candidate" and row.proposed_by is None and row.decided_by is None
            and row.comment is None and row.reviewer is None and row.method in ("fuzzy", "exact-code"))


def _target_facts(store, slug: str, version: str) -> tuple[set[str], dict[str, str]]:
    """The target's codes (upper-cased) and each code's routes of administration (`adm_r`), read once."""
    codes, routes = set(), {}
    for entry in store.iter_entries(slug, version):
        codes.add(entry["code"].upper())
        route = (entry.get("attributes") or {}).get("adm_r")
        if isinstance(route, str) and route:
            routes[entry["code"]] = route
    return codes, routes


class Candidates(list):
    """An entry's ranked candidates; when empty, `why`: no_name, no_match or below_floor."""

    why: str | None = None


def _asker(matcher, target, store, retrieve: int, progress, target_fields: list[str]) -> Callable:
    """A function that asks the matcher about the (name, code) keys not asked before, in chunks, and keeps
    the answers in its `answers` dict; `progress(done, total)` counts distinct names."""
    answers: dict[tuple[str, str | None], list[dict]] = {}
    done = [0]

    def ask(keys: dict[tuple[str, str | None], str]) -> dict:
        """`keys` maps (name, code or None) to the source code the name is asked under."""
        pending = [(key, code) for key, code in keys.items() if key not in answers]
        total = done[0] + len(pending)
        for start in range(0, len(pending), CHUNK):
            chunk = pending[start:start + CHUNK]
            found = matcher([{"code": code, "name": key[0]} for key, code in chunk], target=target,
                            limit=retrieve, store=store, target_fields=target_fields)
            answers.update(zip((key for key, _ in chunk), (normalise_candidates(a) for a in found)))
            done[0] += len(chunk)
            if progress:
                progress(done[0], total)
        return answers
    return ask


def _match_entries(todo, config, target_codes, routes, limit: int, ask) -> list[Candidates]:
    """Every entry's candidates. With combine "first", names are asked field by field: a later field only
    for the entries the earlier ones left without candidates."""
    results = [Candidates() for _ in todo]
    codes = [entry["code"] if entry["code"].upper() in target_codes else None for entry, _ in todo]
    rules = []
    for entry, _ in todo:
        form = field_values(entry, config["form"])[:1] if config["form"] else []
        rules.append(form_rule(form[0] if form else None))
    active = list(range(len(todo)))
    step = 0
    while active:
        use = [todo[i][1] if config["combine"] == "best" else todo[i][1][:step + 1] for i in active]
        keys = {}
        for i, names in zip(active, use):
            for _field_name, name, _weight in names:
                keys.setdefault((name, codes[i]), todo[i][0]["code"])
        answers = ask(keys)
        again = []
        for i, names in zip(active, use):
            found = Candidates(merge_candidates(names, answers, codes[i], rules[i], routes, config["floor"], limit))
            if not found:
                found.why = ("no_name" if not names else
                             "below_floor" if any(answers.get((n, codes[i])) for _, n, _ in names) else "no_match")
                if config["combine"] == "first" and len(todo[i][1]) > step + 1:
                    again.append(i)
            results[i] = found
        active, step = again, step + 1
    return results


def merge_candidates(names, answers, code, form_rule_, routes, floor: float, limit: int) -> list[dict]:
    """One entry's candidates from the answers to each of its names: weighted, the best per target, the
    dosage form's evidence added, those under the floor dropped, the best `limit` kept (ties: code order)."""
    best: dict[str, tuple[float, dict]] = {}
    for field_name, name, weight in names:
        for c in answers.get((name, code), ()):
            if c["score"] is None:
                continue
            score = c["score"] * weight
            if c["code"] not in best or score > best[c["code"]][0]:
                best[c["code"]] = (score, dict(c, via=field_name))
    ranked = []
    for target, (score, c) in best.items():
        bonus, why = form_bonus(form_rule_, target, routes.get(target))
        if why:
            c["reason"] = f"{c['reason']}; {why}" if c.get("reason") else why
        key = score + bonus
        c["score"] = round(min(100.0, key), 1)
        if c["score"] >= floor:
            ranked.append((-key, target, c))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [c for _, _, c in ranked[:limit]]


def suggest(store, slug: str, *, limit: int = 5, actor: str = MATCHER, matcher: Callable | None = None,
            progress: Callable[[int, int], None] | None = None) -> SuggestReport:
    """Run the matcher for every source entry of map set `slug` without a human decision; store top `limit` candidates.

    The names matched are those the map set declares (`match_config.py`: display by default, an INN
    attribute for a drug register), each distinct name asked once. `matcher(terms, target=(slug, version),
    limit=n, store=store, target_fields=[...])` takes terms as {"code", "name"} and returns, per term, {"candidates": [...]}
    ranked with code, display, score (0-100) and reason; the default is registry.matching.match. It is also
    given `target_fields`, the fields of the target entries the map set declares searched (`match.targets`).
    `progress(done, total)` is called as names are matched. The run's coverage (entries with candidates,
    and why the others have none) is kept on the map set.
    """
    if not 1 <= limit <= 20:
        from registry.errors import BadRequest
        raise BadRequest("limit must be between 1 and 20 candidates")
    matcher = matcher or default_matcher()
    ms_public = get_map_set(store, slug)
    report = SuggestReport(map_set=slug)
    with store.engine.connect() as conn:
        ms = map_set_row(conn, slug)
        existing = {r.source_code: r for r in conn.execute(sa.select(M).where(M.c.map_set_id == ms.id))}
    config = check_match_config(ms.match_config)
    target_codes, routes = _target_facts(store, ms_public.target_catalog, ms_public.target_version)
    todo = []
    for entry in store.iter_entries(ms_public.source_catalog, ms_public.source_version):
        report.source_entries += 1
        row = existing.get(entry["code"])
        if row is not None and not _untouched(row):
            report.kept_decided += 1
            continue
        todo.append((entry, entry_names(entry, config)))
    target = (ms_public.target_catalog, ms_public.target_version)
    results = _match_entries(todo, config, target_codes, routes, limit,
                             _asker(matcher, target, store, min(50, max(limit, RETRIEVE)), progress,
                                    config["targets"]))
    rows = []
    for (entry, names), candidates in zip(todo, results):
        if not candidates:
            report.without[candidates.why] += 1
        rows.append(((entry["code"], entry["display"] or entry["code"]), list(candidates)))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        _store_chunk(store, ms.id, [r[0] for r in chunk], [r[1] for r in chunk], existing, actor, report)
        report.matched += len(chunk)
    _keep_coverage(store, ms.id, report, config)
    return report


def _keep_coverage(store, map_set_id: int, report: SuggestReport, config: dict) -> None:
    """Record on the map set how many entries the last run left without candidates, and why."""
    coverage = {"at": utcnow().isoformat(), "source_entries": report.source_entries,
                "matched": report.matched, "kept_decided": report.kept_decided,
                "with_candidates": report.matched - report.without_candidates,
                "without_candidates": report.without_candidates, "without": dict(report.without),
                "floor": config["floor"]}
    with db.write_transaction(store.engine) as conn:
        conn.execute(MS.update().where(MS.c.id == map_set_id).values(coverage=coverage))


def _store_chunk(store, map_set_id: int, chunk, answers, existing, actor, report: SuggestReport) -> None:
    """Insert new candidate mappings and refresh untouched ones, with their audit events, in one transaction."""
    now = utcnow()
    inserts, events = [], []
    with db.write_transaction(store.engine) as conn:
        for (code, display), candidates in zip(chunk, answers):
            top = candidates[0] if candidates else None
            values = {"target_code": top["code"] if top else None, "target_display": top["display"] if top else None,
                      "score": top["score"] if top else None, "candidates": candidates,
                      "method": "exact-code" if top and top["code"] == code else "fuzzy"}
            if not candidates:
                report.without_candidates += 1
            row = existing.get(code)
            if row is None:
                inserts.append({"map_set_id": map_set_id, "source_code": code, "source_display": display,
                                "relationship": None, "status": "candidate", "revision": 1, "created_at": now,
                                "updated_at": now, **values})
                continue
            if row.candidates == candidates and row.target_code == values["target_code"]:
                report.unchanged += 1
                continue
            updated = conn.execute(M.update().where(M.c.id == row.id, M.c.revision == row.revision,
                                                    M.c.status == "candidate", M.c.decided_by.is_(None),
                                                    M.c.proposed_by.is_(None))
                                   .values(**values, revision=row.revision + 1, updated_at=now)).rowcount
            if updated != 1:
                report.kept_decided += 1  # a reviewer got there first: leave their decision
                continue
            report.updated += 1
            after = dict(mapping_state(row), target_code=values["target_code"], target_display=values["target_display"],
                         score=values["score"], method=values["method"], revision=row.revision + 1)
            events.append({"map_set_id": map_set_id, "mapping_id": row.id, "source_code": code, "actor": actor,
                           "action": "suggest", "revision": row.revision + 1, "before": mapping_state(row),
                           "after": after})
        if inserts:
            conn.execute(M.insert(), inserts)
            report.created += len(inserts)
            ids = dict(conn.execute(sa.select(M.c.source_code, M.c.id).where(
                M.c.map_set_id == map_set_id, M.c.source_code.in_([r["source_code"] for r in inserts]))).all())
            for r in inserts:
                state = {k: r.get(k) for k in ("target_code", "target_display", "relationship", "status", "score",
                                               "method", "revision")}
                events.append({"map_set_id": map_set_id, "mapping_id": ids[r["source_code"]],
                               "source_code": r["source_code"], "actor": actor, "action": "suggest",
                               "revision": 1, "after": state})
        record_events(conn, events)
