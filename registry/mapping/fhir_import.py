"""A FHIR ConceptMap registered as a published map-set version: its mappings approved, its canonical kept.

`importers/formats/fhir_conceptmap.py` reads and checks the resource; this
module writes it, in one transaction per step (map set, mappings, publish),
with the header kept so that `$translate` names the map by its own url.
"""

from __future__ import annotations


from registry import db
from registry.errors import BadRequest, NotFound
from registry.mapping.audit import record_event
from registry.mapping.mapsets import M, create_map_set, get_map_set, map_set_row, publish_map_set
from registry.models import FhirResource, MapSetCreate
from registry.models.catalog import utcnow


def register_concept_map(store, *, slug: str, title: str | None, source: str, target: str, label: str,
                         mappings: list[dict], header: dict, actor: str | None = None):
    """Create map set `slug` from `source` to `target` (`slug@version`) if missing, make `mappings`
    ({source_code, source_display, target_code, target_display, relationship, comment}, displays as the map
    gives them) its approved mappings, and publish them as `label`.

    An existing map set must join the same catalogs; its mappings are replaced by the resource's.
    """
    actor = actor or "fhir-import"
    try:
        ms = get_map_set(store, slug)
    except NotFound:  # a new map set
        ms = create_map_set(store, MapSetCreate(slug=slug, title=title, source=source, target=target), actor=actor)
    if (ms.source_catalog, ms.target_catalog) != (source.partition("@")[0], target.partition("@")[0]):
        raise BadRequest(f"map set {slug} maps {ms.source_catalog} to {ms.target_catalog}, not "
                         f"{source.partition('@')[0]} to {target.partition('@')[0]}")
    now = utcnow()
    with db.write_transaction(store.engine) as conn:
        row = map_set_row(conn, slug)
        conn.execute(M.delete().where(M.c.map_set_id == row.id))
        conn.execute(M.insert(), [{
            "map_set_id": row.id, "source_code": m["source_code"],
            "source_display": m.get("source_display") or "", "target_code": m.get("target_code"),
            "target_display": m.get("target_display"), "relationship": m["relationship"],
            "status": "approved", "method": "import", "comment": m.get("comment"), "candidates": [],
            "proposed_by": actor, "decided_by": actor, "decided_at": now, "revision": 1, "created_at": now,
            "updated_at": now} for m in mappings])
        record_event(conn, row.id, None, actor, "import", after={"mappings": len(mappings), "label": label})
    version = publish_map_set(store, slug, label, actor=actor, notes=f"imported from ConceptMap {header['url']}")
    with db.write_transaction(store.engine) as conn:
        conn.execute(FhirResource.__table__.insert().values(
            resource_type="ConceptMap", url=header["url"], version=header.get("version") or label,
            name=header.get("name"), title=header.get("title"), status=header.get("status") or "active",
            map_set_version_id=version.id, resource=header, created_at=now))
    return version

