"""The ValueSet provider: $expand and $validate-code, read and search of catalogs' implicit value sets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from registry.web.fhir.concepts import STATUS_URI
from registry.web.fhir.expansion import canonical_of, expand as expand_members
from registry.web.fhir.languages import (LanguagePreference, as_echoed, localised, requested_languages,
                                        wanted_designations)
from registry.web.fhir.outcome import FhirError
from registry.web.fhir.params import Params, bad_request
from registry.web.fhir.validation import check_code, coded_value

# Request parameters that the expansion echoes in expansion.parameter (as the HL7 test suite expects), typed.
ECHOED = {"activeOnly": "valueBoolean", "count": "valueInteger", "excludeNested": "valueBoolean",
          "filter": "valueString", "includeDefinition": "valueBoolean", "includeDesignations": "valueBoolean",
          "offset": "valueInteger"}
MAX_COUNT = 10_000
SUPPLEMENT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/valueset-supplement"
STATUS_CODE = "status"
R5_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension"
SEARCH_PARAMS = ("url", "version", "name", "status", "title", "_count", "_summary", "_format")


def value_set_of(term, params: Params) -> dict:
    """The value set an operation is about: the `valueSet` resource given, or `url` (+ `valueSetVersion`).

    The supplements it names (`valueset-supplement` extensions) must be known, as `useSupplement` ones must.
    """
    given = params.get("valueSet")
    if isinstance(given, dict):
        if given.get("resourceType") != "ValueSet":
            raise bad_request("parameter valueSet must hold a ValueSet resource", "valueSet")
        vs = given
    else:
        url = params.text("url") or params.text("context")
        if not url:
            raise bad_request("a value set is needed: parameter url or valueSet", "url")
        vs = term.value_set(url, params.text("valueSetVersion"))
    term.require_supplements([e.get("valueCanonical") for e in vs.get("extension", [])
                              if e.get("url") == SUPPLEMENT_EXTENSION and e.get("valueCanonical")])
    return vs


def expand(term, params: Params) -> dict:
    """$expand: the value set with an expansion of `count` concepts from `offset`, and the total."""
    vs = value_set_of(term, params)
    term.cite("ValueSet", canonical_of(vs), vs)
    offset = params.integer("offset", 0)
    count = params.integer("count", None, 0, MAX_COUNT)
    result = expand_members(vs, term, offset=offset, count=count, active_only=params.boolean("activeOnly"),
                            text=params.text("filter"))
    designations = params.boolean("includeDesignations")
    members = list(result.members)
    wanted = [w for value in params.all("property") for w in str(value).split(",") if w]
    languages = requested_languages(params, vs)
    look = Presentation(LanguagePreference.parse(languages), designations,
                        [str(d) for d in params.all("designation")])
    contains = [contains_item(cs, concept, look, wanted) for cs, concept in members]
    echoes = [echo(params, name, key) for name, key in ECHOED.items() if params.get(name) is not None]
    if languages:
        echoes.append({"name": "displayLanguage", "valueCode": as_echoed(languages)})
    echoes += [{"name": "designation", "valueString": str(d)} for d in params.all("designation")]
    used = ([{"name": "used-codesystem", "valueUri": url} for url in result.used_code_systems]
            + [{"name": "used-valueset", "valueUri": url} for url in result.used_value_sets]
            + [{"name": "used-supplement", "valueUri": sup.versioned_url} for sup in term.supplements])
    echoes += [{"name": name, "valueUri": canonical} for name, canonical in term.rules.applied]
    echoes += [{"name": f"warning-{status}", "valueUri": canonical} for status, _, canonical in term.cautions]
    _version_where_several(vs, members, contains)
    out = {k: v for k, v in vs.items() if k not in ("text", "meta", "expansion", "compose")}
    expansion = {"identifier": f"urn:uuid:{uuid.uuid4()}",
                 "timestamp": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
                 "total": result.total}
    if params.get("offset") is not None:
        expansion["offset"] = offset
    if echoes or used:
        expansion["parameter"] = echoes + used
    declarations = property_declarations(members, contains, wanted)
    if declarations:
        expansion["extension"] = declarations
    if contains and params.get("excludeNested") is not None and not params.boolean("excludeNested") \
            and params.get("offset") is None and count is None and not _enumerates(vs):
        contains = nested(members, contains)
    if contains:
        expansion["contains"] = contains
    out["expansion"] = expansion
    return out


def _version_where_several(vs: dict, members: list, items: list[dict]) -> None:
    """Each contains entry names its system version when the value set names several versions of the system or
    the expansion draws on several."""
    declared: dict[str, set] = {}
    for include in (vs.get("compose") or {}).get("include", []):
        if include.get("system") and include.get("version"):
            declared.setdefault(include["system"], set()).add(include["version"])
    drawn: dict[str, set] = {}
    for cs, _ in members:
        drawn.setdefault(cs.url, set()).add(cs.version)
    for (cs, _), item in zip(members, items):
        if (len(drawn[cs.url]) > 1 or len(declared.get(cs.url, ())) > 1) and cs.version:
            item["version"] = cs.version


def _enumerates(vs: dict) -> bool:
    """Whether the value set lists its concepts one by one (such an expansion stays flat, as it was written)."""
    return any(include.get("concept") for include in (vs.get("compose") or {}).get("include", []))


def nested(members: list, items: list[dict]) -> list[dict]:
    """The expansion as a tree (excludeNested=false): each concept under its parent when the parent is in it."""
    by_key = {(cs.url, concept.code): item for (cs, concept), item in zip(members, items)}
    roots = []
    for (cs, concept), item in zip(members, items):
        parent = next((by_key[(cs.url, p)] for p in concept.parents if (cs.url, p) in by_key), None)
        if parent is None or parent is item:
            roots.append(item)
        else:
            parent.setdefault("contains", []).append(item)
    return roots


def echo(params: Params, name: str, key: str) -> dict:
    """A request parameter as expansion.parameter, typed as the operation defines it (GET gives text)."""
    if key == "valueBoolean":
        return {"name": name, key: params.boolean(name)}
    if key == "valueInteger":
        return {"name": name, key: params.integer(name, 0)}
    return {"name": name, key: params.text(name)}


@dataclass(frozen=True)
class Presentation:
    """How an expansion shows each concept: the display languages asked, whether designations go with it, and
    which (the `designation` parameters)."""

    languages: LanguagePreference | None = None
    designations: bool = False
    designation_filter: list[str] = field(default_factory=list)


def contains_item(cs, concept, look: Presentation = Presentation(), wanted: list[str] = ()) -> dict:
    """One expansion.contains entry: system, code, display, abstract and inactive flags, designations.

    The display is in the first asked language the concept has (see `languages.localised`). The concept's
    values of the `wanted` properties (and an inactive concept's status) go as the R5 `contains.property`,
    carried in R4 as cross-version extensions.
    """
    item = {"system": cs.url}
    if concept.abstract:
        item["abstract"] = True
    if concept.inactive:
        item["inactive"] = True
    item["code"] = concept.code
    language = getattr(cs, "language", None)
    display, designations = localised(concept, language, look.languages)
    if display:
        item["display"] = display
    designations = wanted_designations(designations, look.designation_filter, language)
    if look.designations and designations:
        item["designation"] = [{k: v for k, v in d.items() if k != "source"} for d in designations]  # R4 has none
    extensions = []
    if "definition" in wanted and concept.definition:
        extensions.append(r5_extension("ValueSet.expansion.contains.property",
                                       {"url": "code", "valueCode": "definition"},
                                       {"url": "value", "valueString": concept.definition}))
    for prop in concept.properties:
        if prop.get("code") in wanted:
            key, value = next(((k, v) for k, v in prop.items() if k.startswith("value")), (None, None))
            if key:
                extensions.append(r5_extension("ValueSet.expansion.contains.property",
                                               {"url": "code", "valueCode": prop["code"]},
                                               {"url": "value", key: value}))
    status = concept.property_values("status") if concept.inactive and "status" not in wanted else []
    if status:
        extensions.append(r5_extension("ValueSet.expansion.contains.property", {"url": "code", "valueCode": "status"},
                                       {"url": "value", "valueCode": status[0]}))
    if extensions:
        item["extension"] = extensions
    return item


def property_declarations(members: list, items: list[dict], wanted: list[str]) -> list[dict]:
    """The R5 `expansion.property` entries (as extensions) for the properties the contains entries carry."""
    used = {ext["extension"][0]["valueCode"] for item in items for ext in item.get("extension", [])}
    uris = {STATUS_CODE: STATUS_URI, "definition": "http://hl7.org/fhir/concept-properties#definition"}
    for cs in {id(cs): cs for cs, _ in members}.values():
        for definition in getattr(cs, "property_defs", []) or []:
            if definition.get("code") in wanted and definition.get("uri"):
                uris.setdefault(definition["code"], definition["uri"])
    return [r5_extension("ValueSet.expansion.property", {"url": "code", "valueCode": code},
                         *([{"url": "uri", "valueUri": uris[code]}] if code in uris else []))
            for code in sorted(used)]


def r5_extension(element: str, *parts: dict) -> dict:
    """An R5 element carried in R4 as a cross-version extension (as the R5->R4 converter writes it)."""
    return {"url": f"{R5_EXTENSION}-{element}", "extension": list(parts)}


def validate_code(term, params: Params) -> dict:
    """ValueSet/$validate-code: the code checked against its code system and for membership of the value set."""
    vs = value_set_of(term, params)
    term.cite("ValueSet", canonical_of(vs), vs)
    return check_code(term, coded_value(params), vs, infer_system=params.boolean("inferSystem"),
                      lenient_display=params.boolean("lenient-display-validation"),
                      languages=requested_languages(params, vs),
                      membership_only=params.boolean("valueset-membership-only"),
                      active_only=params.boolean("activeOnly"), abstract_allowed=params.boolean("abstract", True))


def batch_validate_code(term, params: Params) -> dict:
    """ValueSet/$batch-validate-code: one $validate-code per `validation` Parameters, each with the request's
    other parameters as defaults (its own win); a validation that cannot run answers its OperationOutcome."""
    shared = [item for item in params.items if item[0] != "validation"]
    results = []
    for validation in params.all("validation"):
        if not isinstance(validation, dict):
            raise bad_request("each validation parameter must hold a Parameters resource", "validation")
        own = Params.from_resource(validation)
        merged = Params(own.items + shared)
        merged.accept_language = params.accept_language
        try:
            results.append({"name": "validation", "resource": validate_code(term, merged)})
        except FhirError as exc:
            results.append({"name": "validation", "resource": exc.outcome()})
    return {"resourceType": "Parameters", "parameter": results}


def read(term, rid: str) -> dict:
    """A stored ValueSet by id (`id` or `id--version`), else a catalog's implicit all-codes value set (`slug` or
    `slug--label`), or 404."""
    from registry.web.fhir.codesystem import find_by_id
    from registry.web.fhir.terminology import stored_value_set_ids
    stored = term.stored_value_sets()
    newest = {vs["url"]: vs for vs in stored}
    found = [vs for vs in stored if rid in stored_value_set_ids(vs, newest[vs["url"]] is vs)]
    if found:
        return {**found[-1], "id": rid}
    cs, _ = find_by_id(term, rid)
    vs = term.implicit_value_set(cs)
    vs["id"] = rid
    return vs


def search(term, params: Params, base: str) -> dict:
    """A searchset Bundle of the stored and the implicit value sets matching url, version, name, title and status."""
    from registry.web.fhir.codesystem import matching_code_systems, resource_id
    from registry.web.fhir.params import search_criteria
    asked = search_criteria(params, "ValueSet", SEARCH_PARAMS)
    entries = [{"fullUrl": f"{base}/ValueSet/{vs['id']}", "resource": vs, "search": {"mode": "match"}}
               for vs in term.stored_value_sets()
               if asked.keeps(url_matches=vs.get("url") == asked.url, version=vs.get("version"),
                              name=vs.get("name"), title=vs.get("title"), status=vs.get("status"))]
    for cs in matching_code_systems(term, params, "ValueSet", SEARCH_PARAMS,
                                    lambda cs, url: url == cs.value_set_url):
        vs = term.implicit_value_set(cs)
        vs["id"] = resource_id(cs)
        entries.append({"fullUrl": f"{base}/ValueSet/{vs['id']}", "resource": vs, "search": {"mode": "match"}})
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}

