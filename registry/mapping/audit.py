"""The audit trail of mapping review: every change is an event, kept for ever.

Events are only ever inserted, in the same transaction as the change they
record, so a change without its event (or an event without its change) cannot
exist. Nothing in the registry updates or deletes them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from registry.errors import NotFound
from registry.models.catalog import utcnow
from registry.models.mapping import MapSet, Mapping, MappingEvent

EV = MappingEvent.__table__
MS = MapSet.__table__
M = Mapping.__table__


def _json_ready(state: dict | None) -> dict | None:
    if state is None:
        return None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in state.items()}


def record_event(conn: Connection, map_set_id: int, mapping_id: int | None, actor: str, action: str, *,
                 source_code: str | None = None, revision: int | None = None, before: dict | None = None,
                 after: dict | None = None, comment: str | None = None) -> None:
    """Insert one audit event inside the caller's transaction."""
    conn.execute(EV.insert().values(
        map_set_id=map_set_id, mapping_id=mapping_id, source_code=source_code, at=utcnow(), actor=actor,
        action=action, revision=revision, before=_json_ready(before), after=_json_ready(after), comment=comment))


def record_events(conn: Connection, rows: list[dict]) -> None:
    """Insert many audit events at once (suggest and bulk decisions); each dict has record_event's fields."""
    if not rows:
        return
    now = utcnow()
    conn.execute(EV.insert(), [{"mapping_id": None, "source_code": None, "revision": None, "comment": None,
                                **r, "at": now,
                                "before": _json_ready(r.get("before")), "after": _json_ready(r.get("after"))}
                               for r in rows])


def _event_dict(row) -> dict:
    return {"id": row.id, "at": row.at, "actor": row.actor, "action": row.action, "source_code": row.source_code,
            "revision": row.revision, "before": row.before, "after": row.after, "comment": row.comment}


def mapping_history(store, slug: str, mapping: int | str) -> list[dict]:
    """Every event of one mapping (by id or source code), oldest first: who, when, action, before, after, comment."""
    from registry.mapping.mapsets import map_set_row, mapping_row
    with store.engine.connect() as conn:
        row = mapping_row(conn, map_set_row(conn, slug), mapping)
        return [_event_dict(e) for e in conn.execute(
            sa.select(EV).where(EV.c.mapping_id == row.id).order_by(EV.c.id))]


def map_set_history(store, slug: str, *, limit: int = 100, actor: str | None = None) -> list[dict]:
    """The newest events of a whole map set (newest first), optionally only one actor's."""
    with store.engine.connect() as conn:
        ms = conn.execute(sa.select(MS.c.id).where(MS.c.slug == slug)).first()
        if ms is None:
            raise NotFound(f"no map set {slug!r}")
        query = sa.select(EV).where(EV.c.map_set_id == ms.id)
        if actor:
            query = query.where(EV.c.actor == actor)
        return [_event_dict(e) for e in conn.execute(query.order_by(EV.c.id.desc()).limit(limit))]
