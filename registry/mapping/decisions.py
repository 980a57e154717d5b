"""Reviewers' decisions on mappings: approve, propose, reject, re-map, not-mappable, comment, assign.

Every decision names the mapping `revision` it was made against. The change is
an UPDATE guarded by that revision, so when two reviewers decide on the same
mapping at once, the second gets `Conflict` carrying the current state and
nothing is silently overwritten. With the map set's four-eyes rule, a
reviewer's approval of something nobody proposed yet becomes a proposal, and
whoever proposed a mapping cannot approve it: a second person must.
Each change writes an audit event in the same transaction. A decision that asks
for the state the mapping already has (approving what is approved, rejecting
what is rejected) changes nothing and is not recorded; with a new comment, it
is recorded as that comment. The API, the pages and the worksheet import all
decide through `apply_decisions`, so they behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from registry import db
from registry.errors import BadRequest, Conflict, Forbidden, NotFound, NsiError
from registry.mapping.audit import record_event
from registry.mapping.mapsets import M, get_map_set, map_set_row, mapping_public, mapping_row, queue_query
from registry.models.catalog import utcnow
from registry.models.mapping import RELATIONSHIPS, MappingPublic, mapping_state

DECISIONS = ("approve", "propose", "reject", "remap", "not-mappable", "comment", "assign")
TARGET_DECISIONS = ("approve", "propose", "remap")
MAX_BULK = 20000  # mappings one bulk decision may change: about 15 s in one transaction on SQLite
BULK_BATCH = 1000  # rows per read while collecting the mappings a filter matches


@dataclass
class Decision:
    """One decision on one mapping (by id or source code), made against `revision`.

    `row` is where the decision came from (a worksheet row, a list index), for error reports.
    """

    mapping: int | str
    decision: str
    revision: int | None
    relationship: str | None = None
    target_code: str | None = None
    comment: str | None = None
    reviewer: str | None = None
    row: int | str | None = None


def _invalid(message: str, field: str) -> BadRequest:
    """A refused decision, naming the decision field at fault (the worksheet import reports its column)."""
    return BadRequest(message, details={"field": field})


def _check_shape(d: Decision) -> None:
    """Errors a decision has on its own, before looking at the database."""
    if d.decision not in DECISIONS:
        raise _invalid(f"decision {d.decision!r} is not one of {', '.join(DECISIONS)}", "decision")
    if d.revision is None:
        raise _invalid("a decision must carry the revision of the mapping it was made on", "revision")
    if not isinstance(d.revision, int) or isinstance(d.revision, bool):
        raise _invalid(f"the revision must be an integer (the mapping's revision number), got {d.revision!r}",
                       "revision")
    if d.relationship is not None and d.relationship not in RELATIONSHIPS:
        raise _invalid(f"relationship {d.relationship!r} is not one of {', '.join(RELATIONSHIPS)}", "relationship")
    if d.decision == "remap" and not d.target_code:
        raise _invalid("remap needs the new target code", "target_code")
    if d.decision == "comment" and not (d.comment or "").strip():
        raise _invalid("a comment decision needs the comment text", "comment")
    if d.relationship == "not-mappable" and d.target_code:
        raise _invalid("relationship not-mappable takes no target code", "target_code")


def _target_displays(store, decisions: list[Decision], target: tuple[str, str]) -> dict[str, dict]:
    """Look the explicitly given target codes up in the target version (one query for all)."""
    codes = sorted({d.target_code for d in decisions if d.target_code})
    if not codes:
        return {}
    return {r["code"]: r for r in store.validate_codes(target[0], codes, target[1])}


ASKED_STATUS = {"approve": "approved", "remap": "approved", "not-mappable": "approved", "propose": "proposed",
                "reject": "rejected"}


def _asks_for_current_state(row, d: Decision) -> bool:
    """True when decision `d` asks for the status, target and relationship (or reviewer) `row` already has."""
    if d.decision == "assign":
        return (d.reviewer or None) == row.reviewer
    if ASKED_STATUS.get(d.decision) != row.status:
        return False
    if d.decision == "reject":
        return True  # a rejection keeps the target it rejects
    relationship = "not-mappable" if d.decision == "not-mappable" else (d.relationship or row.relationship
                                                                        or "equivalent")
    code = None if relationship == "not-mappable" else d.target_code or row.target_code
    return (relationship, code) == (row.relationship, row.target_code)


def _plan(ms, row, d: Decision, actor: str, targets: dict, target: tuple[str, str]) -> tuple[str, dict]:
    """The audit action and new column values of decision `d` on mapping `row`; raises on a refused decision."""
    now = utcnow()
    if d.decision == "comment":
        return "comment", {"comment": d.comment}
    if d.decision == "assign":
        return "assign", {"reviewer": d.reviewer or None, **({"comment": d.comment} if d.comment else {})}
    values: dict = {"comment": d.comment} if d.comment is not None else {}
    if d.decision == "reject":
        return "reject", {**values, "status": "rejected", "decided_by": actor, "decided_at": now}
    relationship = "not-mappable" if d.decision == "not-mappable" else (d.relationship or row.relationship
                                                                        or "equivalent")
    if relationship == "not-mappable":
        code, display, score, method = None, None, None, "manual"
    else:
        code = d.target_code or row.target_code
        if not code:
            raise _invalid(f"mapping {row.source_code} has no target code to {d.decision}; give one", "target_code")
        if code == row.target_code:
            display, score, method = row.target_display, row.score, row.method
        else:
            found = targets.get(code)
            if found is None or found["result"] == "unknown":
                raise _invalid(f"target code {code!r} is not in {target[0]} version {target[1]}", "target_code")
            if found["result"] != "valid":
                raise _invalid(f"target code {code!r} is {found['status']} in {target[0]} version {target[1]}",
                               "target_code")
            display = found["display"]
            candidate = next((c for c in row.candidates or [] if c.get("code") == code), None)
            score = candidate.get("score") if candidate else None
            method = "manual"
    values.update(target_code=code, target_display=display, relationship=relationship, score=score, method=method)
    same_as_proposal = (row.status == "proposed" and row.target_code == code and row.relationship == relationship)
    if d.decision == "propose" or (ms.four_eyes and not same_as_proposal):
        return "propose", {**values, "status": "proposed", "proposed_by": actor, "decided_by": None,
                           "decided_at": None}
    if ms.four_eyes and row.proposed_by == actor:
        raise Forbidden(f"four-eyes rule: {actor} proposed mapping {row.source_code} and cannot also approve it; "
                        f"another reviewer must")
    proposer = row.proposed_by if same_as_proposal else actor
    return "approve", {**values, "status": "approved", "proposed_by": proposer, "decided_by": actor,
                       "decided_at": now}


def _error_field(exc: NsiError) -> str | None:
    """The decision field an error is about: given by the check, or implied by its kind."""
    field = (exc.details or {}).get("field")
    if field:
        return field
    if isinstance(exc, NotFound):
        return "source_code"  # the decision names no mapping of the map set
    if isinstance(exc, Conflict):
        return "revision"
    return None


def _error_entry(d: Decision, exc: NsiError) -> dict:
    entry = {"mapping": d.mapping, "code": exc.code, "message": exc.message}
    if d.row is not None:
        entry["row"] = d.row
    field = _error_field(exc)
    if field:
        entry["field"] = field
    if isinstance(exc, Conflict) and exc.details:
        entry["current"] = exc.details.get("current")
    return entry


def apply_decisions(store, slug: str, decisions: list[Decision], *, actor: str,
                    dry_run: bool = False) -> list[MappingPublic]:
    """Apply several decisions all or nothing, in one transaction; return the new states.

    Every decision is checked first. If any is refused, nothing changes and the
    error (the first one's kind: Conflict, Forbidden or BadRequest) lists each
    refused decision with its row, reason and, for stale revisions, the current state.
    With `dry_run`, everything is checked and then rolled back.
    """
    if not actor:
        raise BadRequest("a decision needs the reviewer's name")
    ms_public = get_map_set(store, slug)
    target = (ms_public.target_catalog, ms_public.target_version)
    errors: list[tuple[Decision, NsiError]] = []
    for d in decisions:
        try:
            _check_shape(d)
        except NsiError as exc:
            errors.append((d, exc))
    targets = _target_displays(store, [d for d in decisions if d.target_code], target)
    results: list[MappingPublic] = []
    with db.write_connection(store.engine) as conn:
        tx = conn.begin()
        try:
            ms = map_set_row(conn, slug)
            seen: set[int] = set()
            for d in decisions:
                if any(d is e[0] for e in errors):
                    continue
                try:
                    row = mapping_row(conn, ms, d.mapping)
                    if row.id in seen:
                        raise BadRequest(f"mapping {row.source_code} is decided twice in one batch")
                    seen.add(row.id)
                    if row.revision != d.revision:
                        raise Conflict(f"mapping {row.source_code} was changed (revision {row.revision}, your "
                                       f"decision was made on revision {d.revision}); review it again",
                                       details={"current": mapping_public(row).model_dump(mode="json")})
                    if _asks_for_current_state(row, d):
                        if d.comment is None or d.comment == row.comment:
                            results.append(mapping_public(row))  # nothing to change, nothing to record
                            continue
                        action, values = "comment", {"comment": d.comment}
                    else:
                        action, values = _plan(ms, row, d, actor, targets, target)
                    new_revision = row.revision + 1
                    updated = conn.execute(M.update().where(M.c.id == row.id, M.c.revision == d.revision).values(
                        **values, revision=new_revision, updated_at=utcnow())).rowcount
                    if updated != 1:
                        current = mapping_row(conn, ms, row.id)
                        raise Conflict(f"mapping {row.source_code} was changed by someone else meanwhile",
                                       details={"current": mapping_public(current).model_dump(mode="json")})
                    after = mapping_row(conn, ms, row.id)
                    record_event(conn, ms.id, row.id, actor, action, source_code=row.source_code,
                                 revision=new_revision, before=mapping_state(row), after=mapping_state(after),
                                 comment=d.comment)
                    results.append(mapping_public(after))
                except NsiError as exc:
                    errors.append((d, exc))
            if errors:
                raise _combined(errors)
            if not dry_run:
                tx.commit()
        finally:
            if tx.is_active:
                tx.rollback()
    return results


def _combined(errors: list[tuple[Decision, NsiError]]) -> NsiError:
    """One error for a batch: a single refusal as itself, several listed in details."""
    if len(errors) == 1:
        d, exc = errors[0]
        exc.details = {**(exc.details or {}), "errors": [_error_entry(d, exc)]}
        return exc
    kinds = [type(e) for _, e in errors]
    kind = Conflict if Conflict in kinds else Forbidden if Forbidden in kinds else BadRequest
    first = errors[0][1].message
    return kind(f"{len(errors)} decisions refused, nothing changed; first: {first}",
                details={"errors": [_error_entry(d, e) for d, e in errors]})


def decide(store, slug: str, mapping: int | str, decision: str, *, actor: str, revision: int | None,
           relationship: str | None = None, target_code: str | None = None, comment: str | None = None,
           reviewer: str | None = None) -> MappingPublic:
    """Apply one decision to one mapping made against `revision`; return its new state.

    Raises Conflict (with the current state in details) for a stale revision,
    Forbidden for the four-eyes rule, BadRequest for an invalid decision or
    target code.
    """
    return apply_decisions(store, slug, [Decision(mapping, decision, revision, relationship, target_code,
                                                  comment, reviewer)], actor=actor)[0]


def _filtered_items(store, slug: str, filters: dict, limit: int) -> list[dict]:
    """{"id", "revision"} of every mapping the queue filter matches now, read in batches in source code order.

    More than `limit` is refused before anything is decided, with how many matched in `details`.
    """
    with store.engine.connect() as conn:
        ms = map_set_row(conn, slug)
        query = queue_query(conn, ms.id, **filters)
        matched = conn.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar()
        if matched > limit:
            raise BadRequest(f"the filter matches {matched:,} mappings, more than the {limit:,} that one bulk "
                             f"decision may change; narrow it (min_score, q, status) and send each part, or use "
                             f"the review worksheet", details={"matched": matched, "limit": limit})
        items: list[dict] = []
        last = None
        while True:
            batch = query.with_only_columns(M.c.id, M.c.revision, M.c.source_code)
            if last is not None:
                batch = batch.where(M.c.source_code > last)
            rows = conn.execute(batch.limit(BULK_BATCH)).all()
            items += [{"id": r.id, "revision": r.revision} for r in rows]
            if len(rows) < BULK_BATCH:
                return items
            last = rows[-1].source_code


def bulk_decide(store, slug: str, decision: str, *, actor: str, items: list[dict] | None = None,
                filters: dict | None = None, relationship: str | None = None, comment: str | None = None,
                limit: int = MAX_BULK) -> list[MappingPublic]:
    """One decision on many mappings, all or nothing; returns the new state of every one decided.

    Either `items` ([{"id" or "source_code", "revision"}], from a list the
    reviewer saw) or `filters` (status, q, min_score, max_score, reviewer: the
    queue filter, applied now, to every mapping it matches at its current revision).
    More than `limit` mappings are refused (BadRequest, nothing changed) rather
    than cut short: a decision on a part of what the reviewer chose would be silent.
    """
    if (items is None) == (filters is None):
        raise BadRequest("bulk decisions need either items or a filter")
    if items is None:
        items = _filtered_items(store, slug, filters, limit)
    elif len(items) > limit:
        raise BadRequest(f"{len(items):,} items are more than the {limit:,} that one bulk decision may change; "
                         f"send them in parts", details={"matched": len(items), "limit": limit})
    decisions = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(f"item {i} must be an object {{source_code, revision}}, got {item!r}")
        key = item.get("id") if item.get("id") is not None else item.get("source_code")
        if key is None:
            raise BadRequest(f"item {i} names no mapping (id or source_code)")
        decisions.append(Decision(key, decision, item.get("revision"), item.get("relationship") or relationship,
                                  item.get("target_code"), item.get("comment") or comment, row=i))
    if not decisions:
        return []
    return apply_decisions(store, slug, decisions, actor=actor)
