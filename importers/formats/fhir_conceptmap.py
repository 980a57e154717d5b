"""FHIR ConceptMap resources (JSON, R4 `equivalence` or R5 `relationship`): a published map-set version.

The map's one source code system and one target code system must be catalogs
already (found by the canonical url they were imported under, their
`urn:oid:`, or their slug); each element's target becomes an approved mapping
and the whole is published as map-set version `version`. The map set is the
slug of the map's url (or name) unless --catalog names it. R4 equivalences
fold onto the registry's relationships: equal/equivalent → equivalent,
wider/subsumes → broader, narrower/specializes → narrower, relatedto/inexact →
related, unmatched/disjoint → not-mappable. A source code with two targets is
refused: a map set holds one mapping per source code. A code its catalog
lacks is kept, with a warning naming the element.
"""

from __future__ import annotations

from registry.errors import BadRequest, NotFound, Problem, Report
from importers.fhir import declares, load_resource, objects, refuse, slug_of, text
from importers.source import Source

READS = "a FHIR ConceptMap (JSON)"
RELATIONSHIPS = {"equal": "equivalent", "equivalent": "equivalent", "wider": "broader", "subsumes": "broader",
                 "narrower": "narrower", "specializes": "narrower", "relatedto": "related", "inexact": "related",
                 "unmatched": "not-mappable", "disjoint": "not-mappable",
                 # R5 ConceptMapRelationship (how the source relates to the target)
                 "source-is-narrower-than-target": "broader", "source-is-broader-than-target": "narrower",
                 "related-to": "related", "not-related-to": "not-mappable"}


def catalog_for(store, source: Source, url: str, path: str) -> str:
    """The slug of the catalog that is code system `url`, or a refusal saying which system is missing."""
    slug = store.catalog_of_code_system(url)
    if slug is None and url.startswith("urn:oid:"):
        slug = next((c.slug for c in store.list_catalogs() if c.oid == url.removeprefix("urn:oid:")), None)
    if slug is None:
        slug = url.rstrip("/").rsplit("/", 1)[-1]
        slug = slug if "/CodeSystem/" in url and store.has_catalog(slug) else None
    if slug is None:
        raise refuse(source, path, f"no catalog is the code system {url}: import it first "
                                   f"(`nsi import FILE --format fhir-codesystem`)", "unknown_system")
    return slug


def mappings_of(source: Source, group: dict, path: str) -> list[dict]:
    """The group's elements as mappings {source_code, source_display, target_code, target_display, relationship,
    comment}."""
    out, seen = [], set()
    for i, element in enumerate(objects(source, group, "element", path)):
        where = f"{path}.element[{i}]"
        code = text(source, element, "code", where, required=True)
        if code in seen:
            raise refuse(source, where, f"source code {code} is mapped twice: a map set holds one mapping per code")
        seen.add(code)
        targets = objects(source, element, "target", where)
        if element.get("noMap") is True:
            targets = [{"equivalence": "unmatched"}]
        if len(targets) != 1:
            raise refuse(source, f"{where}.target", f"source code {code} has {len(targets)} targets: a map set "
                                                    f"holds exactly one mapping per source code")
        target, at = targets[0], f"{where}.target[0]"
        kind = text(source, target, "equivalence", at) or text(source, target, "relationship", at)
        if kind not in RELATIONSHIPS:
            raise refuse(source, f"{at}.equivalence", f"equivalence {kind!r} is not one of {', '.join(RELATIONSHIPS)}",
                         "missing" if not kind else "invalid")
        relationship = RELATIONSHIPS[kind]
        target_code = text(source, target, "code", at, required=relationship != "not-mappable")
        out.append({"source_code": code, "source_display": text(source, element, "display", where),
                    "target_code": target_code, "target_display": text(source, target, "display", at),
                    "relationship": relationship, "comment": text(source, target, "comment", at)})
    return out


def register(store, source: Source, *, catalog: str | None, version: str | None, publish: bool, dry_run: bool,
             created_by: str | None) -> Report:
    """Check the ConceptMap against the catalogs and publish it as a map-set version (nothing when dry_run)."""
    from registry.mapping.fhir_import import register_concept_map
    cm = load_resource(source, "ConceptMap")
    url = text(source, cm, "url", "ConceptMap", required=True)
    label = version or text(source, cm, "version", "ConceptMap")
    if not label:
        raise BadRequest(f"{source.name}: give --version; the ConceptMap has no version to take it from")
    slug = catalog or slug_of(url, text(source, cm, "name", "ConceptMap"))
    groups = objects(source, cm, "group", "ConceptMap")
    if len(groups) != 1:
        raise refuse(source, "ConceptMap.group", f"the map has {len(groups)} groups: a map set joins one source "
                                                 f"catalog to one target catalog, so the map needs exactly one group")
    group = groups[0]
    refs = {}
    for side in ("source", "target"):
        system = text(source, group, side, "ConceptMap.group[0]", required=True)
        at = f"ConceptMap.group[0].{side}"
        slug_ = catalog_for(store, source, system, at)
        wanted = text(source, group, f"{side}Version", "ConceptMap.group[0]")
        try:
            ref = store.resolve(slug_, wanted or "latest")
        except NotFound as exc:
            raise refuse(source, f"{at}Version" if wanted else at, f"{exc.message}", "unknown_system") from None
        refs[side] = (slug_, ref.label)
    mappings = mappings_of(source, group, "ConceptMap.group[0]")
    report = Report(catalog=slug, version=label, source=source.name, source_sha256=source.sha256(),
                    entries=len(mappings), status="dry-run")
    for i, m in enumerate(mappings):
        for side, code in (("source", m["source_code"]), ("target", m.get("target_code"))):
            if code is not None and not _has(store, *refs[side], code):
                report.warnings.append(Problem(f"{side} code {code} is not in catalog {refs[side][0]} "
                                               f"{refs[side][1]} (kept as published)", severity="warning",
                                               file=source.name, row=f"ConceptMap.group[0].element[{i}]",
                                               kind="unknown_code"))
    if dry_run:
        report.message = f"Checked ConceptMap {url} as map set {slug} {label}: {len(mappings)} mappings (dry run)"
        return report
    header = {k: v for k, v in cm.items() if k not in ("group", "text")}
    header["_group_versions"] = {"source": group.get("sourceVersion"), "target": group.get("targetVersion")}
    register_concept_map(store, slug=slug, title=text(source, cm, "title", "ConceptMap"),
                         source="@".join(refs["source"]), target="@".join(refs["target"]), label=label,
                         mappings=mappings, header=header, actor=created_by)
    report.status = "published"
    report.message = (f"Published map set {slug} {label} from ConceptMap {url}: {len(mappings)} approved mappings, "
                      f"{refs['source'][0]} {refs['source'][1]} → {refs['target'][0]} {refs['target'][1]}")
    return report


def _has(store, slug: str, label: str, code: str) -> bool:
    try:
        store.lookup(slug, code, label)
        return True
    except NotFound:
        return False


def sniff(source: Source) -> bool:
    """A JSON file whose resourceType is ConceptMap."""
    return declares(source, "ConceptMap")
