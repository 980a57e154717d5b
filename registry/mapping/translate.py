"""Translate codes from one catalog to another using only published, approved mappings.

Reviewers' work in progress never leaks: translate reads the newest published
version of every map set from the source catalog (to the target catalog, when
one is named), which holds only mappings that were approved at publish time.
"""

from __future__ import annotations

import sqlalchemy as sa

from registry.errors import BadRequest, NotFound
from registry.mapping.mapsets import C, MS, MV, PM

MAX_BATCH = 1000


def _mappings_of(conn, by_version: dict, column, codes: list[str], then) -> list:
    """The published mappings of the map-set versions `by_version` whose `column` holds one of `codes`,
    ordered by that column and then `then`; codes are asked 500 at a time (bound-parameter limits)."""
    wanted, rows = list(dict.fromkeys(codes)), []
    if not by_version:
        return rows
    for i in range(0, len(wanted), 500):
        rows += conn.execute(sa.select(PM).where(PM.c.version_id.in_(list(by_version)),
                                                 column.in_(wanted[i:i + 500]))
                             .order_by(column, then)).all()
    return rows


def _published_sets(conn, source: str | None, target: str | None):
    src = C.alias("src")
    tgt = C.alias("tgt")
    query = (sa.select(MS.c.id, MS.c.slug, tgt.c.slug.label("target"), MV.c.id.label("version_id"),
                       MV.c.label.label("version"))
             .select_from(MS.join(src, src.c.id == MS.c.source_catalog_id)
                          .join(tgt, tgt.c.id == MS.c.target_catalog_id)
                          .join(MV, sa.and_(MV.c.map_set_id == MS.c.id, MV.c.seq == MS.c.head_seq)))
             .add_columns(src.c.slug.label("source")))
    if source:
        query = query.where(src.c.slug == source)
    if target:
        query = query.where(tgt.c.slug == target)
    return conn.execute(query.order_by(MS.c.slug)).all()


def translate_codes(store, source: str, codes: list[str], target: str | None = None) -> list[dict]:
    """For each code of catalog `source`: {"code", "result", "matches"}; each match names target, relationship, map set.

    `result` is true when at least one published mapping with a target code
    exists. A code published as not-mappable yields a match with no target code
    and relationship `not-mappable`. NotFound when no map set from `source`
    (to `target`) has been published.
    """
    if not source:
        raise BadRequest("translate needs the source catalog")
    codes = [str(c) for c in codes]
    if not codes:
        raise BadRequest("translate needs at least one code")
    if len(codes) > MAX_BATCH:
        raise BadRequest(f"translate takes at most {MAX_BATCH} codes at once, got {len(codes)}")
    with store.engine.connect() as conn:
        sets = _published_sets(conn, source, target)
        if not sets:
            raise NotFound(f"no published map set from {source}" + (f" to {target}" if target else ""))
        by_version = {s.version_id: s for s in sets}
        found: dict[str, list[dict]] = {c: [] for c in codes}
        for r in _mappings_of(conn, by_version, PM.c.source_code, codes, PM.c.target_code):
            s = by_version[r.version_id]
            found[r.source_code].append({
                "target": s.target, "code": r.target_code, "display": r.target_display,
                "relationship": r.relationship, "map_set": s.slug, "map_set_version": s.version,
                **({"comment": r.comment} if r.comment else {})})
    return [{"code": c, "result": any(m["code"] for m in found[c]), "matches": found[c]} for c in codes]


def translate_back(store, target: str, codes: list[str], source: str | None = None) -> list[dict]:
    """For each code of catalog `target`: the source codes whose published, approved mappings lead to it.

    The reverse of translate_codes (FHIR $translate with `reverse`): {"code", "result", "matches"}, each match
    naming the source catalog, source code and display, relationship and map set. No published map set into
    `target` is not an error here: every code then has no match.
    """
    codes = [str(c) for c in codes]
    if not target or not codes or len(codes) > MAX_BATCH:
        raise BadRequest(f"translate back needs the target catalog and 1 to {MAX_BATCH} codes")
    found: dict[str, list[dict]] = {c: [] for c in codes}
    with store.engine.connect() as conn:
        by_version = {s.version_id: s for s in _published_sets(conn, source, target)}
        for r in _mappings_of(conn, by_version, PM.c.target_code, codes, PM.c.source_code):
            s = by_version[r.version_id]
            found[r.target_code].append({
                "source": s.source, "code": r.source_code, "display": r.source_display,
                "relationship": r.relationship, "map_set": s.slug, "map_set_version": s.version,
                **({"comment": r.comment} if r.comment else {})})
    return [{"code": c, "result": bool(found[c]), "matches": found[c]} for c in codes]


def translate(store, source: str, code: str, target: str | None = None) -> dict:
    """Translate one code; see translate_codes."""
    return translate_codes(store, source, [code], target)[0]
