"""Suggest: run the matcher for the source entries that still need a mapping and store its candidates.

A source entry gets a `candidate` mapping holding the matcher's top targets
(the best one preselected). Entries whose mapping a person has touched
(proposed, approved, rejected, commented, assigned or re-mapped) are left
alone: suggest never overwrites a human decision. Untouched candidates are
refreshed when the matcher now answers differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from registry import db
from registry.mapping.audit import record_events
from registry.mapping.mapsets import M, get_map_set, map_set_row
from registry.models.catalog import utcnow
from registry.models.mapping import mapping_state

CHUNK = 500
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
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready form for the API and the CLI's --json."""
        return dict(self.__dict__)


def _field(candidate, name, default=None):
    if isinstance(candidate, dict):
        return candidate.get(name, default)
    return getattr(candidate, name, default)


def normalise_candidates(found) -> list[dict]:
    """The matcher's candidates for one term as [{code, display, score, reason}] (score 0-100, rounded to 0.1)."""
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


def suggest(store, slug: str, *, limit: int = 5, actor: str = MATCHER, matcher: Callable | None = None,
            progress: Callable[[int], None] | None = None) -> SuggestReport:
    """Run the matcher for every source entry of map set `slug` without a human decision; store top `limit` candidates.

    `matcher(terms, target=(slug, version), limit=n, store=store)` takes terms as
    {"code", "name"} and returns, per term, {"candidates": [...]} ranked with
    code, display, score (0-100) and reason; the default is registry.matching.match.
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
    todo = []
    for entry in store.iter_entries(ms_public.source_catalog, ms_public.source_version):
        report.source_entries += 1
        row = existing.get(entry["code"])
        if row is not None and not _untouched(row):
            report.kept_decided += 1
            continue
        todo.append((entry["code"], entry["display"] or entry["code"]))
    target = (ms_public.target_catalog, ms_public.target_version)
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start:start + CHUNK]
        answers = matcher([{"code": code, "name": display} for code, display in chunk], target=target,
                          limit=limit, store=store)
        _store_chunk(store, ms.id, chunk, [normalise_candidates(a)[:limit] for a in answers], existing, actor, report)
        report.matched += len(chunk)
        if progress:
            progress(report.matched)
    return report


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
