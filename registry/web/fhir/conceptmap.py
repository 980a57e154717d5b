"""The ConceptMap provider: $translate, and read and search of published map-set versions.

$translate takes the R4 parameters (`url`, `conceptMap`, `conceptMapVersion`,
`system`, `code`, `version`, `coding`, `codeableConcept`, `source`, `target`,
`targetsystem`, `reverse`) and their R5 names (`sourceSystem`, `sourceCode`,
`sourceCoding`, `sourceCodeableConcept`, `targetCode`, `targetCoding`,
`targetSystem`, `sourceScope`, `targetScope`), as the HL7 test suite sends them.
"""

from __future__ import annotations

from registry.web.fhir.conceptmaps import Match, SuppliedConceptMap, StoredConceptMap, stored_concept_map
from registry.web.fhir.outcome import bad_request, not_found
from registry.web.fhir.params import Params, param, parameters, search_criteria

VERSION_SEPARATOR = "--"
SEARCH_PARAMS = ("url", "version", "name", "status", "title", "_count", "_summary", "_format")
SUBSETTED = {"tag": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}]}
NO_RESULT = ("unmatched", "disjoint")


def _codings(params: Params, prefix: str, code_name: str, system_name: str, version_name: str) -> list[dict]:
    """The codings given as code+system, a Coding or a CodeableConcept under R4 or R5 names."""
    coding = params.get(f"{prefix}oding" if prefix == "c" else f"{prefix}Coding")
    concept = params.get("codeableConcept" if prefix == "c" else f"{prefix}CodeableConcept")
    if isinstance(coding, dict):
        return [coding]
    if isinstance(concept, dict):
        return [c for c in concept.get("coding", []) if isinstance(c, dict) and c.get("code")]
    code = params.text(code_name)
    return [{"code": code, "system": params.text(system_name), "version": params.text(version_name)}] if code else []


def _request(params: Params) -> tuple[bool, list[dict], str | None, str | None, str | None]:
    """(reverse, the codings to translate, the system to translate to or from, source scope, target scope)."""
    r5_target = _codings(params, "target", "targetCode", "targetSystem", "targetVersion")
    if r5_target:  # R5 reverse: the target side is given, the source side is looked for
        return True, r5_target, params.text("sourceSystem"), params.text("sourceScope"), params.text("targetScope")
    codings = _codings(params, "source", "sourceCode", "sourceSystem", "sourceVersion") or \
        _codings(params, "c", "code", "system", "version")
    if not codings:
        raise bad_request("a code to translate is needed: code and system, coding, codeableConcept "
                          "(or sourceCode, targetCode)", "code")
    other = params.text("targetsystem") or params.text("targetSystem")
    source_scope = params.text("sourceScope") or (params.text("source") if isinstance(params.get("source"), str)
                                                  else None)
    return params.boolean("reverse"), codings, other, source_scope, params.text("targetScope") or params.text("target")


def _maps(term, params: Params, fixed: list | None) -> list:
    """The concept maps to search: the one named (url, conceptMap, or the instance), else every map known."""
    given = params.get("conceptMap")
    if isinstance(given, dict):
        if given.get("resourceType") != "ConceptMap":
            raise bad_request("parameter conceptMap must hold a ConceptMap resource", "conceptMap")
        return [SuppliedConceptMap(given)]
    if fixed is not None:
        return fixed
    url = params.text("url")
    if url:
        found = term.find_concept_maps(url, params.text("conceptMapVersion"))
        if not found:
            raise not_found(f"A definition for the ConceptMap '{url}' could not be found")
        return found
    return term.all_concept_maps()


def translate(term, params: Params, fixed: list | None = None) -> dict:
    """$translate: the matches of the given code(s) through the concept maps, `result` true when one translates."""
    reverse, codings, other, source_scope, target_scope = _request(params)
    maps = [cm for cm in _maps(term, params, fixed)
            if (not source_scope or cm.scope("source") == source_scope)
            and (not target_scope or cm.scope("target") == target_scope)]
    matches: list[dict] = []
    for coding in codings:
        system, code = coding.get("system"), coding.get("code")
        for cm in maps:
            if reverse:
                matches += [_match(target, source) for target, source in _backward(term, cm, system, code, other)]
            else:
                matches += [_match(found) for found in _forward(term, cm, system, code, other)]
    result = any(m["equivalence"] not in NO_RESULT and m["concept"] for m in matches)
    message = None
    if not result:
        given = ", ".join(f"{c.get('system') or '(no system)'}#{c.get('code')}" for c in codings)
        message = f"No translations found for {given}" + (f" to {other}" if other and not reverse else "")
    return parameters(param("result", "valueBoolean", result), param("message", "valueString", message),
                      *[{"name": "match", "part": _parts(m)} for m in matches])


def _forward(term, cm, system, code, other) -> list[Match]:
    if isinstance(cm, StoredConceptMap):
        if not cm.answers(system, other, term.catalog_slug(system), term.catalog_slug(other)):
            return []
        return cm.forward(code)
    return cm.forward(system, code, other)


def _backward(term, cm, system, code, other) -> list[tuple[Match, Match]]:
    if isinstance(cm, StoredConceptMap):
        if not cm.answers(other, system, term.catalog_slug(other), term.catalog_slug(system)):
            return []
        return cm.backward(code)
    return cm.backward(system, code, other)


def _coding(found: Match) -> dict | None:
    if not found.code:
        return None
    coding = {"system": found.system, "version": found.version, "code": found.code, "display": found.display}
    return {k: v for k, v in coding.items() if v}


def _match(found: Match, source: Match | None = None) -> dict:
    return {"equivalence": (source or found).equivalence, "concept": _coding(found), "origin": found.origin,
            "source": _coding(source) if source else None}


def _parts(match: dict) -> list[dict]:
    return [p for p in (param("equivalence", "valueCode", match["equivalence"]),
                        param("concept", "valueCoding", match["concept"]),
                        param("originMap", "valueCanonical", match["origin"]),
                        param("source", "valueCoding", match["source"])) if p]


def find_by_id(term, rid: str) -> StoredConceptMap:
    """The published map-set version with logical id `rid` (`slug` newest, `slug--label`), or 404."""
    slug, _, label = rid.partition(VERSION_SEPARATOR)
    found = stored_concept_map(term.store, term.base_url, slug, label or None)
    if found is None:
        raise not_found(f"ConceptMap/{rid} is not known")
    return found


def resource_id(cm: StoredConceptMap) -> str:
    """The logical id of a published map-set version: `slug--label`."""
    return f"{cm.slug}{VERSION_SEPARATOR}{cm.version}"


def read(term, rid: str) -> dict:
    """A published map-set version as a ConceptMap with all its approved mappings."""
    return find_by_id(term, rid).resource(rid)


def translate_instance(term, rid: str, params: Params) -> dict:
    """$translate through one published map-set version."""
    return translate(term, params, [find_by_id(term, rid)])


def search(term, params: Params, base: str) -> dict:
    """A searchset Bundle of the published map-set versions matching url, version, name, title and status."""
    asked = search_criteria(params, "ConceptMap", SEARCH_PARAMS)
    entries = []
    for cm in term.all_concept_maps(newest_only=False):
        if not isinstance(cm, StoredConceptMap):
            continue
        header = cm.header(resource_id(cm))
        if not asked.keeps(url_matches=asked.url == cm.url, version=cm.version, name=header["name"],
                           title=header.get("title"), status="active"):
            continue
        entries.append({"fullUrl": f"{base}/ConceptMap/{header['id']}", "resource": {**header, "meta": SUBSETTED},
                        "search": {"mode": "match"}})
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
