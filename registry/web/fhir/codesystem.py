"""The CodeSystem provider: read, search, $lookup and $validate-code.

Each published (or retired) catalog version is one CodeSystem. `GET
/fhir/CodeSystem/{slug}` is the newest published version, `{slug}--{label}` a
given one. The resource is written as a stream of JSON text, concept by
concept, so a 100k-concept catalog is served with constant memory.
"""

from __future__ import annotations

import json
from typing import Iterator

from registry.errors import NotFound
from registry.web.fhir.concepts import CodeSystemSource, Concept, StoredCodeSystem
from registry.web.fhir.languages import (PREFERRED_FOR_LANGUAGE, LanguagePreference, localised,
                                        requested_languages)
from registry.web.fhir.outcome import not_found
from registry.web.fhir.params import Params, bad_request, param, parameters, search_criteria
from registry.web.fhir.validation import check_code, coded_value

VERSION_SEPARATOR = "--"
SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
SEARCH_PARAMS = ("url", "version", "name", "status", "title", "_count", "_summary", "_elements", "_format")


def resource_id(cs: StoredCodeSystem, latest: bool = False) -> str:
    """The logical id of a stored code system version: the slug for the latest, `slug--label` otherwise."""
    return cs.slug if latest else f"{cs.slug}{VERSION_SEPARATOR}{cs.label}"


def header(cs: StoredCodeSystem, rid: str) -> dict:
    """The CodeSystem resource of a catalog version without its concepts."""
    catalog = cs.catalog
    out = {"resourceType": "CodeSystem", "id": rid, "url": cs.url}
    if cs.aliases:
        out["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": alias} for alias in cs.aliases]
    out.update(version=cs.version, name=cs.name, title=cs.title, status=cs.status)
    if cs.version_meta.published_at:
        out["date"] = cs.version_meta.published_at.date().isoformat()
    if catalog.owner:
        out["publisher"] = catalog.owner
    if catalog.description:
        out["description"] = catalog.description
    if catalog.language:
        out["language"] = catalog.language
    out.update(caseSensitive=cs.case_sensitive, valueSet=cs.value_set_url, hierarchyMeaning="is-a",
               content="complete", count=cs.count(), property=cs.property_defs)
    return out


def concept_json(concept: Concept) -> dict:
    """One concept as CodeSystem.concept: designations, then parent, status and attribute properties."""
    out: dict = {"code": concept.code}
    if concept.display:
        out["display"] = concept.display
    if concept.designations:
        out["designation"] = concept.designations
    props = [{"code": "parent", "valueCode": p} for p in concept.parents] + concept.properties
    if props:
        out["property"] = props
    return out


def stream_resource(cs: StoredCodeSystem, rid: str) -> Iterator[str]:
    """The whole CodeSystem as JSON text chunks, concepts streamed from the store."""
    head = json.dumps(header(cs, rid), ensure_ascii=False)
    yield head[:-1] + ', "concept": ['
    batch: list[str] = []
    first = True
    for concept in cs.iter_concepts():
        batch.append(json.dumps(concept_json(concept), ensure_ascii=False))
        if len(batch) >= 500:
            yield ("" if first else ",") + ",".join(batch)
            batch, first = [], False
    if batch:
        yield ("" if first else ",") + ",".join(batch)
    yield "]}"


def find_by_id(term, rid: str) -> tuple[StoredCodeSystem, bool]:
    """The stored code system with logical id `rid` (and whether it is the latest), or 404."""
    slug, sep, label = rid.partition(VERSION_SEPARATOR)
    try:
        catalog = term.store.get_catalog(slug)
    except NotFound:
        raise not_found(f"CodeSystem/{rid} is not known") from None
    cs = term.stored(catalog, label or None)
    return cs, not sep


def matching_code_systems(term, params: Params, resource: str, allowed: tuple[str, ...], url_matches) -> Iterator:
    """The stored code systems a search of `resource` keeps (see `search_criteria`); `url_matches(cs, url)` says
    how that resource type reads the asked url."""
    asked = search_criteria(params, resource, allowed)
    for cs in term.stored_code_systems():
        if asked.keeps(url_matches=bool(asked.url) and url_matches(cs, asked.url), version=cs.version,
                       name=cs.name, title=cs.title, status=cs.status):
            yield cs


def search(term, params: Params, base: str) -> dict:
    """A searchset Bundle of the code systems matching url, version, name, title and status (no concepts)."""
    entries = []
    for cs in matching_code_systems(term, params, "CodeSystem", SEARCH_PARAMS, lambda cs, url: cs.answers_to(url)):
        rid = resource_id(cs)
        resource = header(cs, rid)
        resource = {"resourceType": "CodeSystem", "id": rid, "meta": {"tag": [SUBSETTED]},
                    **{k: v for k, v in resource.items() if k not in ("resourceType", "id")}}
        entries.append({"fullUrl": f"{base}/CodeSystem/{rid}", "resource": resource,
                        "search": {"mode": "match"}})
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def lookup(term, params: Params) -> dict:
    """$lookup: name, version, display, definition, designations and properties of one code.

    With `displayLanguage` (or Accept-Language), `display` is in the first of those languages the concept has.
    The display is listed among the designations too, in the code system's language (`preferredForLanguage`).
    """
    coding = params.get("coding")
    if isinstance(coding, dict):
        system, code, version = coding.get("system"), coding.get("code"), coding.get("version")
    else:
        system, code, version = params.text("system"), params.text("code"), params.text("version")
    if not code:
        raise bad_request("$lookup needs a code (parameter code or coding)", "code")
    if not system:
        raise bad_request("$lookup needs a system (parameter system or coding)", "system")
    cs = term.code_system(system, version)
    concept = cs.get(code)
    if concept is None:
        raise not_found(f"Unknown code '{code}' in the CodeSystem '{cs.url}' version '{cs.version}'",
                        "invalid-code")
    wanted = {p for p in params.all("property") if isinstance(p, str)}
    display, designations = localised(concept, cs.language, LanguagePreference.parse(requested_languages(params)))
    if display and display == concept.display and cs.language:  # the display is a designation in its language
        designations = [{"language": cs.language, "use": PREFERRED_FOR_LANGUAGE, "value": display}, *designations]
    return parameters(param("abstract", "valueBoolean", concept.abstract),
                      param("code", "valueCode", concept.code),
                      param("definition", "valueString", concept.definition),
                      *[designation_param(d) for d in designations],
                      param("display", "valueString", display),
                      param("name", "valueString", cs.name),
                      *property_params(cs, concept, wanted),
                      param("system", "valueUri", cs.url),
                      *[param("used-supplement", "valueCanonical", sup.versioned_url) for sup in cs.supplements],
                      param("version", "valueString", cs.version))


def designation_param(designation: dict) -> dict:
    """A designation as a $lookup `designation` parameter with language, use and value parts."""
    parts = []
    if designation.get("language"):
        parts.append({"name": "language", "valueCode": designation["language"]})
    if designation.get("use"):
        parts.append({"name": "use", "valueCoding": designation["use"]})
    if designation.get("source"):
        parts.append({"name": "source", "valueCanonical": designation["source"]})
    parts.append({"name": "value", "valueString": designation.get("value", "")})
    return {"name": "designation", "part": parts}


def property_params(cs: CodeSystemSource, concept: Concept, wanted: set[str]) -> list[dict]:
    """The $lookup `property` parameters: parent, child, inactive and the concept's own properties.

    With no `property` parameter, or `*`, all are given; otherwise only those named.
    """
    everything = not wanted or "*" in wanted

    def want(code: str) -> bool:
        return everything or code in wanted

    out = []
    if want("parent"):
        for parent in concept.parents:
            found = cs.get(parent)
            out.append(_property("parent", {"valueCode": parent}, found.display if found else None))
    if want("child"):
        for child in cs.children(concept.code):
            out.append(_property("child", {"valueCode": child.code}, child.display))
    if want("inactive"):
        out.append(_property("inactive", {"valueBoolean": concept.inactive}))
    for prop in concept.properties:
        if prop.get("code") in ("parent", "child", "inactive") or not want(prop.get("code", "")):
            continue
        value = {k: v for k, v in prop.items() if k.startswith("value")}
        out.append(_property(prop["code"], value))
    return out


def _property(code: str, value: dict, description: str | None = None) -> dict:
    parts = [{"name": "code", "valueCode": code}]
    if description:
        parts.append({"name": "description", "valueString": description})
    parts.append({"name": "value", **value})
    return {"name": "property", "part": parts}


def validate_code(term, params: Params) -> dict:
    """CodeSystem/$validate-code: the code checked against the code system `url` (or the Coding's system)."""
    value = coded_value(params, system_param="url")
    if not value.system:
        value.system = params.text("system")
    if value.version is None:
        value.version = params.text("version")
    return check_code(term, value, lenient_display=params.boolean("lenient-display-validation"),
                      languages=requested_languages(params))
