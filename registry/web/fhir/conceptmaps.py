"""Concept maps: published map-set versions and request-supplied ConceptMaps, as R4 ConceptMaps and for $translate.

Each published version of a map set is one ConceptMap at `{base}/ConceptMap/{slug}`
(version = the map-set version's label), from its approved mappings only: reviewers'
work in progress never shows. A ConceptMap given as `tx-resource` is used for that
request; an R5 one (`relationship`, `sourceScope`) is read as the HL7 R5->R4
converter reads it. No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry import mapping
from registry.errors import NotFound

# The registry's relationship (how the target relates to the source) as R4 ConceptMapEquivalence.
EQUIVALENCE = {"equivalent": "equivalent", "broader": "wider", "narrower": "narrower", "related": "relatedto",
               "not-mappable": "unmatched"}
# R5 ConceptMapRelationship -> R4 ConceptMapEquivalence, as the HL7 R5->R4 converter maps it.
R5_RELATIONSHIP = {"equivalent": "equivalent", "source-is-narrower-than-target": "wider",
                   "source-is-broader-than-target": "narrower", "not-related-to": "disjoint",
                   "related-to": "relatedto"}
R5_UNMAPPED_MODE = {"use-source-code": "provided", "fixed": "fixed", "other-map": "other-map"}
# Read backwards, a target wider than its source is a source narrower than its target, and so on.
REVERSED = {"wider": "narrower", "narrower": "wider", "subsumes": "specializes", "specializes": "subsumes"}
NARROWER_COMMENT = "The target is narrower in meaning than the source"


@dataclass
class Match:
    """One $translate result: the concept found, how it relates, the map it comes from."""
    system: str
    code: str | None
    display: str | None
    version: str | None
    equivalence: str
    origin: str  # url|version of the ConceptMap
    comment: str | None = None


def r5_to_r4(resource: dict) -> dict:
    """An R5 ConceptMap (or an R4 one, unchanged) as R4: scopes to sourceUri/targetUri, relationship to equivalence."""
    cm = {k: v for k, v in resource.items() if not k.endswith("Scope") and "Scope" not in k}
    for side in ("source", "target"):
        for kind in ("Uri", "Canonical"):
            if f"{side}Scope{kind}" in resource:
                cm[f"{side}{kind}"] = resource[f"{side}Scope{kind}"]
        if f"{side}Scope" in resource:  # R5 written with a plain element name
            cm[f"{side}Canonical"] = resource[f"{side}Scope"]
    groups = []
    for group in resource.get("group", []) or []:
        group = dict(group)
        elements = []
        for element in group.get("element", []) or []:
            element = dict(element)
            if element.pop("noMap", False):
                element["target"] = [{"equivalence": "unmatched"}]
            element["target"] = [_r4_target(t) for t in element.get("target", []) or []]
            elements.append(element)
        group["element"] = elements
        unmapped = group.get("unmapped")
        if isinstance(unmapped, dict):
            unmapped = {k: v for k, v in unmapped.items() if k not in ("relationship", "otherMap", "valueSet")}
            unmapped["mode"] = R5_UNMAPPED_MODE.get(unmapped.get("mode"), unmapped.get("mode"))
            if group["unmapped"].get("otherMap"):
                unmapped["url"] = group["unmapped"]["otherMap"]
            group["unmapped"] = unmapped
        groups.append(group)
    if groups:
        cm["group"] = groups
    return cm


def _r4_target(target: dict) -> dict:
    target = dict(target)
    relationship = target.pop("relationship", None)
    if relationship and "equivalence" not in target:
        target["equivalence"] = R5_RELATIONSHIP.get(relationship, "relatedto")
    return target


class SuppliedConceptMap:
    """A ConceptMap resource given in the request (converted to R4)."""

    def __init__(self, resource: dict):
        self.resource = r5_to_r4(resource)
        self.url = self.resource.get("url")
        self.version = self.resource.get("version")

    @property
    def origin(self) -> str:
        """The map's canonical `url|version`."""
        return f"{self.url}|{self.version}" if self.version else str(self.url)

    def scope(self, side: str) -> str | None:
        """The source or target value set of the map."""
        return self.resource.get(f"{side}Uri") or self.resource.get(f"{side}Canonical")

    def forward(self, system: str | None, code: str, target_system: str | None) -> list[Match]:
        """The targets of `code` (of `system`, any when None) in groups to `target_system` (any when None)."""
        found = []
        for group in self.resource.get("group", []) or []:
            if (system and group.get("source") != system) or (target_system and group.get("target") != target_system):
                continue
            hits = [t for e in group.get("element", []) or [] if e.get("code") == code for t in e.get("target", [])]
            if not any(e.get("code") == code for e in group.get("element", []) or []):
                hits = self._unmapped(group, code)
            for t in hits:
                found.append(Match(group.get("target"), t.get("code"), t.get("display"), group.get("targetVersion"),
                                   t.get("equivalence", "equivalent"), self.origin, t.get("comment")))
        return found

    def _unmapped(self, group: dict, code: str) -> list[dict]:
        unmapped = group.get("unmapped") or {}
        if unmapped.get("mode") == "provided":
            return [{"code": code, "equivalence": "equal"}]
        if unmapped.get("mode") == "fixed" and unmapped.get("code"):
            return [{"code": unmapped["code"], "display": unmapped.get("display"), "equivalence": "inexact"}]
        return []

    def backward(self, target_system: str | None, code: str, system: str | None) -> list[tuple[Match, Match]]:
        """(the target found, the source mapped to it) for `code` of `target_system` in groups from `system`."""
        found = []
        for group in self.resource.get("group", []) or []:
            if (system and group.get("source") != system) or (target_system and group.get("target") != target_system):
                continue
            for element in group.get("element", []) or []:
                for t in element.get("target", []) or []:
                    if t.get("code") != code:
                        continue
                    equivalence = t.get("equivalence", "equivalent")
                    found.append((Match(group.get("target"), code, t.get("display"), group.get("targetVersion"),
                                        equivalence, self.origin),
                                  Match(group.get("source"), element.get("code"), element.get("display"),
                                        group.get("sourceVersion"), REVERSED.get(equivalence, equivalence),
                                        self.origin)))
        return found


class StoredConceptMap:
    """One published version of a map set, as a ConceptMap: its approved mappings, frozen at publish time."""

    def __init__(self, store, map_set, version, base_url: str):
        self.store, self.map_set, self.meta, self.base_url = store, map_set, version, base_url
        self.slug = map_set.slug
        self.url = f"{base_url}/ConceptMap/{map_set.slug}"
        self.version = version.label
        self.source_system = (store.code_system_url(map_set.source_catalog)
                              or f"{base_url}/CodeSystem/{map_set.source_catalog}")
        self.target_system = (store.code_system_url(map_set.target_catalog)
                              or f"{base_url}/CodeSystem/{map_set.target_catalog}")
        self.published = store.concept_map_header(version.id)  # when imported from a FHIR ConceptMap
        # The code system versions a match names: the catalogs' (or, for an imported map, what its group said).
        self.source_version, self.target_version = map_set.source_version, map_set.target_version
        if self.published:
            self.url = self.published["url"]
            versions = self.published.get("_group_versions", {})
            self.source_version, self.target_version = versions.get("source"), versions.get("target")

    @property
    def origin(self) -> str:
        """The map's canonical `url|version`."""
        return f"{self.url}|{self.version}"

    @property
    def is_latest(self) -> bool:
        """Whether this is the map set's newest published version."""
        return self.map_set.latest_version == self.version

    def scope(self, side: str) -> str:
        """The implicit value set of the source or target catalog."""
        return f"{self.base_url}/ValueSet/" + (self.map_set.source_catalog if side == "source"
                                              else self.map_set.target_catalog)

    def header(self, rid: str) -> dict:
        """The ConceptMap without its group (for search results and as the start of a read)."""
        ms = self.map_set
        out = {"resourceType": "ConceptMap", "id": rid, "url": self.url, "version": self.version,
               "name": "".join(part.capitalize() for part in ms.slug.replace("_", "-").replace(".", "-").split("-")),
               "title": ms.title, "status": "active", "date": self.meta.published_at.date().isoformat(),
               "publisher": ms.owner, "description": ms.description or self.meta.notes,
               "sourceUri": self.scope("source"), "targetUri": self.scope("target")}
        if self.published:
            out.update({k: self.published[k] for k in ("name", "title", "status") if self.published.get(k)})
        return {k: v for k, v in out.items() if v}

    def resource(self, rid: str) -> dict:
        """The whole ConceptMap: one group from the source catalog version to the target catalog version."""
        elements: dict[str, dict] = {}
        for row in mapping.published_mappings(self.store, self.slug, self.version):
            element = elements.setdefault(row["source_code"], {"code": row["source_code"],
                                                               "display": row["source_display"], "target": []})
            element["target"].append(self._target(row))
        group = {"source": self.source_system, "sourceVersion": self.source_version,
                 "target": self.target_system, "targetVersion": self.target_version,
                 "element": [{k: v for k, v in e.items() if v} for e in elements.values()]}
        group = {k: v for k, v in group.items() if v is not None}
        return {**self.header(rid), "group": [group]}

    @staticmethod
    def _target(row: dict) -> dict:
        equivalence = EQUIVALENCE.get(row["relationship"], "relatedto")
        comment = row.get("comment") or (NARROWER_COMMENT if equivalence == "narrower" else None)
        target = {"code": row.get("target_code"), "display": row.get("target_display"),
                  "equivalence": equivalence, "comment": comment}
        return {k: v for k, v in target.items() if v}

    def answers(self, system: str | None, target_system: str | None, source_catalog: str | None,
                target_catalog: str | None) -> bool:
        """Whether this map goes from `system` to `target_system` (None: any), given as catalogs found for them."""
        return ((system is None or source_catalog == self.map_set.source_catalog)
                and (target_system is None or target_catalog == self.map_set.target_catalog))

    def forward(self, code: str) -> list[Match]:
        """The targets of a source code in this version of the map."""
        if self.is_latest:
            rows = mapping.translate(self.store, self.map_set.source_catalog, code, self.map_set.target_catalog)
            rows = [m for m in rows["matches"] if m["map_set"] == self.slug]
            rows = [{"target_code": m["code"], "target_display": m["display"], **m} for m in rows]
        else:
            rows = [r for r in mapping.published_mappings(self.store, self.slug, self.version)
                    if r["source_code"] == code]
        return [self._match(self._target(r), self.target_system, self.target_version) for r in rows]

    def backward(self, code: str) -> list[tuple[Match, Match]]:
        """(the target, the source mapped to it) for a target code in this version of the map."""
        if self.is_latest:
            [result] = mapping.translate_back(self.store, self.map_set.target_catalog, [code],
                                              self.map_set.source_catalog)
            rows = [{"source_code": m["code"], "source_display": m["display"], "relationship": m["relationship"]}
                    for m in result["matches"] if m["map_set"] == self.slug]
        else:
            rows = [r for r in mapping.published_mappings(self.store, self.slug, self.version)
                    if r["target_code"] == code]
        out = []
        for r in rows:
            equivalence = EQUIVALENCE.get(r["relationship"], "relatedto")
            out.append((Match(self.target_system, code, None, self.target_version, equivalence, self.origin),
                        Match(self.source_system, r["source_code"], r.get("source_display"),
                              self.source_version, REVERSED.get(equivalence, equivalence), self.origin)))
        return out

    def _match(self, target: dict, system: str, version: str) -> Match:
        return Match(system, target.get("code"), target.get("display"), version, target["equivalence"], self.origin,
                     target.get("comment"))


def stored_concept_maps(store, base_url: str):
    """Every published version of every map set as a StoredConceptMap (oldest first per map set)."""
    for map_set in mapping.list_map_sets(store):
        if not map_set.latest_version:
            continue
        for version in mapping.list_map_set_versions(store, map_set.slug):
            yield StoredConceptMap(store, map_set, version, base_url)


def stored_concept_map(store, base_url: str, slug: str, version: str | None = None) -> StoredConceptMap | None:
    """The map set `slug` at published version `version` (None: the newest), or None."""
    try:
        map_set = mapping.get_map_set(store, slug)
    except NotFound:
        return None
    if not map_set.latest_version:
        return None
    wanted = version or map_set.latest_version
    found = [v for v in mapping.list_map_set_versions(store, slug) if v.label == wanted]
    return StoredConceptMap(store, map_set, found[0], base_url) if found else None
