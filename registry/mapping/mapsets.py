"""Map sets: create, list and describe them, page their review queue, and publish immutable versions.

A map set names a source catalog version and a target catalog version, both
published (so they never change under the reviewers). Its approved mappings
are published like catalogs: a labelled, numbered, immutable version with a
checksum, guarded by the map set's head sequence against racing publishes.
"""

from __future__ import annotations

import hashlib
import json
import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from registry import db
from registry.errors import AlreadyExists, BadRequest, Conflict, NotFound
from registry.mapping.audit import record_event
from registry.mapping.match_config import check_match_config
from registry.store.reads import fold
from registry.models.catalog import Catalog, CatalogVersion, utcnow
from registry.models.mapping import (STATUSES, MapSet, MapSetCreate, MapSetPublic, MapSetVersion, Mapping,
                                     MappingPublic, PublishedMapping)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
MS = MapSet.__table__
M = Mapping.__table__
MV = MapSetVersion.__table__
PM = PublishedMapping.__table__
C = Catalog.__table__
V = CatalogVersion.__table__


def parse_catalog_ref(text: str, what: str) -> tuple[str, str]:
    """`slug@version` (or `slug`, meaning `slug@latest`) as (slug, version)."""
    slug, _, version = (text or "").strip().partition("@")
    if not slug:
        raise BadRequest(f"{what} must be given as SLUG@VERSION, e.g. icd10@2.27")
    return slug, version or "latest"


def map_set_row(conn: Connection, slug: str):
    """The map set row with this slug, or NotFound."""
    row = conn.execute(sa.select(MS).where(MS.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"no map set {slug!r}")
    return row


def mapping_public(row) -> MappingPublic:
    """A mapping row as the public schema."""
    return MappingPublic.model_validate(dict(row._mapping))


def status_counts(conn: Connection, map_set_id: int) -> dict[str, int]:
    """How many mappings the map set has in each status, every status present (zero when none)."""
    counts = {s: 0 for s in STATUSES}
    for status, n in conn.execute(sa.select(M.c.status, sa.func.count()).where(M.c.map_set_id == map_set_id)
                                  .group_by(M.c.status)):
        counts[status] = n
    return counts


def not_mappable_count(conn: Connection, map_set_id: int) -> int:
    """How many approved mappings say that no target code fits (relationship not-mappable)."""
    return conn.execute(sa.select(sa.func.count()).where(
        M.c.map_set_id == map_set_id, M.c.status == "approved", M.c.relationship == "not-mappable")).scalar()


def _public(conn: Connection, row) -> MapSetPublic:
    versions = {r.id: r for r in conn.execute(sa.select(V.c.id, V.c.label).where(
        V.c.id.in_([row.source_version_id, row.target_version_id])))}
    catalogs = {r.id: r.slug for r in conn.execute(sa.select(C.c.id, C.c.slug).where(
        C.c.id.in_([row.source_catalog_id, row.target_catalog_id])))}
    latest = conn.execute(sa.select(MV.c.label).where(MV.c.map_set_id == row.id, MV.c.seq == row.head_seq)).scalar()
    return MapSetPublic(slug=row.slug, title=row.title, description=row.description, owner=row.owner,
                        four_eyes=row.four_eyes, source_catalog=catalogs[row.source_catalog_id],
                        source_version=versions[row.source_version_id].label,
                        target_catalog=catalogs[row.target_catalog_id],
                        target_version=versions[row.target_version_id].label,
                        created_at=row.created_at, created_by=row.created_by,
                        counts=status_counts(conn, row.id), not_mappable=not_mappable_count(conn, row.id),
                        latest_version=latest, match=check_match_config(row.match_config), coverage=row.coverage)


def create_map_set(store, data: MapSetCreate, actor: str | None = None) -> MapSetPublic:
    """Register a map set from a published source version to a published target version.

    `latest` is resolved now, so the map set keeps pointing at the versions its
    reviewers saw even after newer ones are published.
    """
    if not SLUG_RE.match(data.slug or ""):
        raise BadRequest(f"map set slug {data.slug!r} must be lowercase letters, digits, '.', '_' or '-'")
    refs = {}
    for what, text in (("source", data.source), ("target", data.target)):
        slug, version = parse_catalog_ref(text, what)
        ref = store.resolve(slug, version)
        if ref.status != "published":
            raise BadRequest(f"{what} {slug}@{ref.label} is a {ref.status} version; map sets need published versions")
        refs[what] = ref
    match_config = check_match_config(data.match) if data.match is not None else None
    with db.write_transaction(store.engine) as conn:
        if conn.execute(sa.select(MS.c.id).where(MS.c.slug == data.slug)).first():
            raise AlreadyExists(f"map set {data.slug} exists already")
        src, tgt = refs["source"], refs["target"]
        title = data.title or f"{src.catalog} {src.label} → {tgt.catalog} {tgt.label}"
        try:
            map_set_id = conn.execute(MS.insert().values(
                slug=data.slug, title=title, description=data.description, owner=data.owner,
                four_eyes=bool(data.four_eyes), source_catalog_id=src.catalog_id, source_version_id=src.version_id,
                target_catalog_id=tgt.catalog_id, target_version_id=tgt.version_id, head_seq=0,
                created_at=utcnow(), created_by=actor, match_config=match_config)).inserted_primary_key[0]
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"map set {data.slug} exists already") from None
        record_event(conn, map_set_id, None, actor or "system", "create-map-set",
                     after={"source": f"{src.catalog}@{src.label}", "target": f"{tgt.catalog}@{tgt.label}",
                            "four_eyes": bool(data.four_eyes), "match": match_config})
        return _public(conn, map_set_row(conn, data.slug))


def get_map_set(store, slug: str) -> MapSetPublic:
    """One map set with its counts per status and latest published version."""
    with store.engine.connect() as conn:
        return _public(conn, map_set_row(conn, slug))


def list_map_sets(store) -> list[MapSetPublic]:
    """Every map set, by slug."""
    with store.engine.connect() as conn:
        return [_public(conn, row) for row in conn.execute(sa.select(MS).order_by(MS.c.slug))]


def map_set_refs(store, slug: str) -> tuple[str, str, str, str]:
    """(source slug, source label, target slug, target label) of a map set."""
    ms = get_map_set(store, slug)
    return ms.source_catalog, ms.source_version, ms.target_catalog, ms.target_version


SORTS = ("code", "-code", "score", "-score", "name", "-name")


def queue_order(sort: str | None) -> list:
    """ORDER BY of a queue sort (`code`, `score`, `name`; a leading `-` for descending), ties by source code.

    Mappings without a score come last either way."""
    sort = sort or "code"
    if sort not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    column = {"code": M.c.source_code, "score": M.c.score, "name": M.c.source_display}[sort.lstrip("-")]
    first = column.desc() if sort.startswith("-") else column.asc()
    return [first.nulls_last(), M.c.source_code] if column is M.c.score else [first, M.c.source_code]


def queue_query(conn: Connection, map_set_id: int, *, status: str | None = None, q: str | None = None,
                min_score: float | None = None, max_score: float | None = None, reviewer: str | None = None,
                not_mappable: bool | None = None, candidates: str | None = None, decided_by: str | None = None,
                decided_by_others: str | None = None, sort: str | None = None):
    """The SELECT of a map set's mappings matching a queue filter, in source code order (or `sort`).

    `not_mappable` True keeps only mappings with relationship not-mappable, False leaves them out;
    `candidates` "none" keeps the mappings the matcher found nothing for, "some" the others;
    `decided_by` NAME those NAME proposed or decided, `decided_by_others` NAME those someone else did.
    """
    query = sa.select(M).where(M.c.map_set_id == map_set_id)
    if candidates is not None:
        empty = sa.or_(M.c.candidates.is_(None), sa.cast(M.c.candidates, sa.Text).in_(["[]", "null"]))
        query = query.where(empty if candidates == "none" else sa.not_(empty))
    if decided_by:
        query = query.where(sa.or_(M.c.decided_by == decided_by, M.c.proposed_by == decided_by))
    if decided_by_others:
        mine = sa.or_(M.c.decided_by == decided_by_others, M.c.proposed_by == decided_by_others)
        query = query.where(sa.or_(M.c.decided_by.is_not(None), M.c.proposed_by.is_not(None)),
                            sa.not_(sa.func.coalesce(mine, False)))
    if not_mappable is not None:
        is_not_mappable = sa.func.coalesce(M.c.relationship, "") == "not-mappable"
        query = query.where(is_not_mappable if not_mappable else sa.not_(is_not_mappable))
    if status:
        statuses = [s.strip() for s in status.split(",") if s.strip()]
        bad = [s for s in statuses if s not in STATUSES]
        if bad:
            raise BadRequest(f"status {bad[0]!r} is not one of {', '.join(STATUSES)}")
        query = query.where(M.c.status.in_(statuses))
    if min_score is not None:
        query = query.where(M.c.score >= min_score)
    if max_score is not None:
        query = query.where(M.c.score <= max_score)
    if reviewer:
        query = query.where(M.c.reviewer == reviewer)
    if q:
        needle = "%" + q.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(M.c.source_code == q, M.c.target_code == q,
                                   fold(conn, M.c.source_display).like(needle, escape="\\")))
    return query.order_by(*queue_order(sort))


def list_mappings(store, slug: str, *, limit: int = 100, offset: int = 0, **filters) -> dict:
    """One page of a map set's queue: {"items", "total"}; filters: status (comma list), q, min_score, max_score, reviewer."""
    if not 1 <= limit <= 1000:
        raise BadRequest("limit must be between 1 and 1000")
    if offset < 0:
        raise BadRequest("offset must not be negative")
    with store.engine.connect() as conn:
        ms = map_set_row(conn, slug)
        query = queue_query(conn, ms.id, **filters)
        total = conn.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar()
        rows = conn.execute(query.limit(limit).offset(offset)).all()
    return {"items": [mapping_public(r) for r in rows], "total": total}


def get_mapping(store, slug: str, mapping: int | str) -> MappingPublic:
    """One mapping of a map set, by id (int) or by source code (str)."""
    with store.engine.connect() as conn:
        return mapping_public(mapping_row(conn, map_set_row(conn, slug), mapping))


def mapping_row(conn: Connection, ms, mapping: int | str):
    """The mapping row by id or source code inside map set row `ms`, or NotFound."""
    column = M.c.id if isinstance(mapping, int) else M.c.source_code
    row = conn.execute(sa.select(M).where(M.c.map_set_id == ms.id, column == mapping)).first()
    if row is None:
        raise NotFound(f"map set {ms.slug} has no mapping {mapping!r}")
    return row


def queue_position(store, slug: str, code: str, **filters) -> dict:
    """Where source code `code` stands in the queue a filter and sort give: {"position" (1-based, None when
    the code is not in it), "total", "previous", "next"} (source codes or None).

    A code that left the queue (decided just now) is placed where it stood: pass `filters` as they were and
    call this before the decision.
    """
    with store.engine.connect() as conn:
        ms = map_set_row(conn, slug)
        codes = conn.execute(queue_query(conn, ms.id, **filters).with_only_columns(M.c.source_code)).scalars().all()
    if code in codes:
        i = codes.index(code)
        return {"position": i + 1, "total": len(codes), "previous": codes[i - 1] if i else None,
                "next": codes[i + 1] if i + 1 < len(codes) else None}
    return {"position": None, "total": len(codes), "previous": None, "next": codes[0] if codes else None}


def next_mapping(store, slug: str, after_code: str | None, status: str = "candidate,proposed") -> MappingPublic | None:
    """The next mapping in the queue after source code `after_code` (wrapping to the start), or None."""
    with store.engine.connect() as conn:
        ms = map_set_row(conn, slug)
        query = queue_query(conn, ms.id, status=status)
        row = None
        if after_code is not None:
            row = conn.execute(query.where(M.c.source_code > after_code).limit(1)).first()
        if row is None:
            row = conn.execute(query.where(M.c.source_code != (after_code or "")).limit(1)).first()
    return mapping_public(row) if row else None


def published_checksum(rows: list[dict]) -> str:
    """sha256 over the canonical JSON of the published mappings, in source code order."""
    digest = hashlib.sha256()
    for r in rows:
        digest.update(json.dumps([r["source_code"], r["target_code"], r["relationship"]],
                                 ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def publish_map_set(store, slug: str, label: str, *, actor: str | None = None, notes: str | None = None,
                    expected_head: int | None = None) -> MapSetVersion:
    """Freeze the map set's approved mappings as immutable version `label`.

    Refuses an empty publish and a label used before. The head-sequence check
    makes a racing publish fail with Conflict instead of producing two versions
    with the same number.
    """
    label = (label or "").strip()
    if not label:
        raise BadRequest("a map set version needs a label")
    with db.write_transaction(store.engine) as conn:
        ms = map_set_row(conn, slug)
        head = ms.head_seq if expected_head is None else expected_head
        if conn.execute(sa.select(MV.c.id).where(MV.c.map_set_id == ms.id, MV.c.label == label)).first():
            raise AlreadyExists(f"map set {slug} already has a version {label!r}")
        rows = [dict(r._mapping) for r in conn.execute(
            sa.select(M.c.source_code, M.c.source_display, M.c.target_code, M.c.target_display, M.c.relationship,
                      M.c.comment, M.c.decided_by)
            .where(M.c.map_set_id == ms.id, M.c.status == "approved").order_by(M.c.source_code))]
        if not rows:
            raise BadRequest(f"map set {slug} has no approved mappings to publish")
        new_seq = head + 1
        moved = conn.execute(MS.update().where(MS.c.id == ms.id, MS.c.head_seq == head)
                             .values(head_seq=new_seq)).rowcount
        if moved != 1:
            raise Conflict(f"publish of map set {slug} {label} lost a race: another version was published meanwhile")
        now = utcnow()
        version_id = conn.execute(MV.insert().values(
            map_set_id=ms.id, label=label, seq=new_seq, notes=notes, mapping_count=len(rows),
            checksum=published_checksum(rows), published_at=now, published_by=actor)).inserted_primary_key[0]
        conn.execute(PM.insert(), [{**r, "version_id": version_id} for r in rows])
        record_event(conn, ms.id, None, actor or "system", "publish",
                     after={"label": label, "seq": new_seq, "mapping_count": len(rows)}, comment=notes)
        return MapSetVersion.model_validate(dict(conn.execute(sa.select(MV).where(MV.c.id == version_id))
                                                 .first()._mapping))


def list_map_set_versions(store, slug: str) -> list[MapSetVersion]:
    """The published versions of a map set, oldest first."""
    with store.engine.connect() as conn:
        ms = map_set_row(conn, slug)
        return [MapSetVersion.model_validate(dict(r._mapping)) for r in conn.execute(
            sa.select(MV).where(MV.c.map_set_id == ms.id).order_by(MV.c.seq))]


def published_mappings(store, slug: str, version: str = "latest") -> list[dict]:
    """The mappings frozen in a published version of a map set (`latest` = newest)."""
    with store.engine.connect() as conn:
        ms = map_set_row(conn, slug)
        query = sa.select(MV).where(MV.c.map_set_id == ms.id)
        query = query.where(MV.c.seq == ms.head_seq) if version == "latest" else query.where(MV.c.label == version)
        v = conn.execute(query).first()
        if v is None:
            raise NotFound(f"map set {slug} has no published version yet" if version == "latest"
                           else f"map set {slug} has no version {version!r}")
        return [dict(r._mapping) for r in conn.execute(
            sa.select(PM.c.source_code, PM.c.source_display, PM.c.target_code, PM.c.target_display,
                      PM.c.relationship, PM.c.comment, PM.c.decided_by)
            .where(PM.c.version_id == v.id).order_by(PM.c.source_code))]
