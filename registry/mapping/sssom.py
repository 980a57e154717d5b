"""SSSOM TSV export: the community format for sharing mappings (https://mapping-commons.github.io/sssom/).

The file starts with the mapping set metadata as `#`-prefixed YAML, then one
TSV row per mapping. Source and target codes become CURIEs whose prefixes are
the catalog slugs, expanded in `curie_map`. Relationships become SKOS
predicates (subject = source code, object = target code):

    equivalent -> skos:exactMatch    broader -> skos:broadMatch (target is broader)
    narrower -> skos:narrowMatch     related -> skos:relatedMatch
    not-mappable -> object sssom:NoTermFound
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

import yaml

from registry.exports import escape_formula
from registry.mapping.mapsets import get_map_set, list_mappings, published_mappings

PREDICATES = {"equivalent": "skos:exactMatch", "broader": "skos:broadMatch", "narrower": "skos:narrowMatch",
              "related": "skos:relatedMatch", "not-mappable": "skos:exactMatch"}
COLUMNS = ["subject_id", "subject_label", "predicate_id", "object_id", "object_label", "mapping_justification",
           "confidence", "author_label", "reviewer_label", "comment"]
NO_TERM = "sssom:NoTermFound"


def curie_prefix(slug: str) -> str:
    """A CURIE prefix for a catalog slug (letters, digits and underscores only)."""
    prefix = re.sub(r"[^A-Za-z0-9_]", "_", slug).upper()
    return prefix if prefix[:1].isalpha() else "C_" + prefix


def _curie(slug: str, code: str | None) -> str:
    return f"{curie_prefix(slug)}:{quote(code, safe='._~')}" if code else NO_TERM


def export_sssom(store, slug: str, version: str | None = None, base_uri: str = "urn:nsi:") -> str:
    """The SSSOM TSV of a map set: its approved mappings now, or those of published `version` (`latest` allowed)."""
    ms = get_map_set(store, slug)
    if version:
        rows = published_mappings(store, slug, version)
        justification = "semapv:ManualMappingCuration"
        items = [{**r, "score": None, "proposed_by": None} for r in rows]
        version_label = version if version != "latest" else ms.latest_version
    else:
        items, offset = [], 0
        while True:
            page = list_mappings(store, slug, status="approved", limit=1000, offset=offset)
            items += [m.model_dump() for m in page["items"]]
            offset += 1000
            if offset >= page["total"]:
                break
        justification = "semapv:ManualMappingCuration"
        version_label = None
    src, tgt = curie_prefix(ms.source_catalog), curie_prefix(ms.target_catalog)
    metadata = {
        "curie_map": {src: f"{base_uri}{ms.source_catalog}:", tgt: f"{base_uri}{ms.target_catalog}:",
                      "skos": "http://www.w3.org/2004/02/skos/core#", "semapv": "https://w3id.org/semapv/vocab/",
                      "sssom": "https://w3id.org/sssom/"},
        "mapping_set_id": f"{base_uri}mapset:{ms.slug}" + (f":{version_label}" if version_label else ""),
        "mapping_set_title": ms.title,
        "mapping_set_description": ms.description or "",
        "subject_source": f"{base_uri}{ms.source_catalog}:{ms.source_version}",
        "object_source": f"{base_uri}{ms.target_catalog}:{ms.target_version}",
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
    }
    if version_label:
        metadata["mapping_set_version"] = version_label
    out = io.StringIO()
    for line in yaml.safe_dump(metadata, allow_unicode=True, sort_keys=False).splitlines():
        out.write(f"# {line}\n")
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    for m in items:
        score = m.get("score")
        writer.writerow([
            _curie(ms.source_catalog, m["source_code"]), escape_formula(m.get("source_display") or ""),
            PREDICATES[m["relationship"]], _curie(ms.target_catalog, m.get("target_code")),
            escape_formula(m.get("target_display") or ""), justification,
            f"{score / 100:.3f}" if score is not None else "", escape_formula(m.get("proposed_by") or ""),
            escape_formula(m.get("decided_by") or ""), escape_formula((m.get("comment") or "").replace("\n", " "))])
    return out.getvalue()
