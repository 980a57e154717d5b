"""What the FHIR wing can do: the CapabilityStatement, TerminologyCapabilities and $versions."""

from __future__ import annotations

from datetime import date

FHIR_VERSION = "4.0.1"
SOFTWARE = "NSI Registry"
SOFTWARE_VERSION = "0.1.0"
RELEASE_DATE = "2026-12-01"
FEATURE = "http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature"
OPERATION_BASE = "http://hl7.org/fhir/OperationDefinition"
EXPANSION_PARAMETERS = ("activeOnly", "check-system-version", "count", "displayLanguage", "excludeNested",
                        "filter", "force-system-version", "includeDefinition", "includeDesignations", "offset",
                        "property", "system-version", "tx-resource")


def _software_version() -> str:
    try:
        from importlib.metadata import version
        return version("nsi-registry")
    except Exception:  # not installed as a distribution (running from a checkout)
        return SOFTWARE_VERSION


def _feature(definition: str, value: str | None) -> dict:
    parts = [{"url": "definition", "valueCanonical": definition}]
    parts.append({"url": "value", "valueCode": value} if value else {"url": "value"})
    return {"url": FEATURE, "extension": parts}


def capability_statement(base: str) -> dict:
    """The server's CapabilityStatement (kind `instance`): resources, interactions and operations."""
    def op(name: str, resource: str) -> dict:
        return {"name": name, "definition": f"{OPERATION_BASE}/{resource}-{name}"}
    read = [{"code": "read"}, {"code": "search-type"}]
    return {
        "resourceType": "CapabilityStatement", "id": "nsi-registry",
        "extension": [_feature("http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version", "1.7.8"),
                      _feature("http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/CodeSystemAsParameter",
                               None)],
        "url": f"{base}/metadata", "version": _software_version(), "name": "NsiRegistryFhir",
        "title": "NSI Registry FHIR terminology service", "status": "active", "date": date.today().isoformat(),
        "kind": "instance", "instantiates": ["http://hl7.org/fhir/CapabilityStatement/terminology-server"],
        "software": {"name": SOFTWARE, "version": _software_version(), "releaseDate": RELEASE_DATE},
        "implementation": {"description": "NSI Registry terminology service", "url": base},
        "fhirVersion": FHIR_VERSION, "format": ["application/fhir+json"],
        "rest": [{"mode": "server",
                  "resource": [
                      {"type": "CodeSystem", "interaction": read,
                       "searchParam": [{"name": n, "type": t} for n, t in
                                       (("name", "string"), ("status", "token"), ("title", "string"),
                                        ("url", "uri"), ("version", "token"))],
                       "operation": [op("lookup", "CodeSystem"), op("validate-code", "CodeSystem")]},
                      {"type": "ValueSet", "interaction": read,
                       "searchParam": [{"name": n, "type": t} for n, t in
                                       (("name", "string"), ("status", "token"), ("title", "string"),
                                        ("url", "uri"), ("version", "token"))],
                       "operation": [op("expand", "ValueSet"), op("validate-code", "ValueSet")]},
                      {"type": "ConceptMap", "interaction": read,
                       "searchParam": [{"name": n, "type": t} for n, t in
                                       (("name", "string"), ("status", "token"), ("title", "string"),
                                        ("url", "uri"), ("version", "token"))],
                       "operation": [op("translate", "ConceptMap")]}],
                  "operation": [{"name": "versions", "definition": f"{base}/OperationDefinition/versions"}]}]}


def terminology_capabilities(term, base: str) -> dict:
    """TerminologyCapabilities: every published catalog version as a code system, and the expansion parameters."""
    systems: dict[str, dict] = {}
    for cs in term.stored_code_systems():
        entry = systems.setdefault(cs.url, {"uri": cs.url, "version": []})
        entry["version"].append({"code": cs.version, "isDefault": False})
    for entry in systems.values():
        entry["version"][-1]["isDefault"] = True
    return {"resourceType": "TerminologyCapabilities", "id": "nsi-registry", "url": f"{base}/metadata",
            "version": _software_version(), "name": "NsiRegistryTerminology",
            "title": "NSI Registry terminology capabilities", "status": "active", "date": date.today().isoformat(),
            "kind": "instance", "software": {"name": SOFTWARE, "version": _software_version()},
            "codeSystem": list(systems.values()),
            "expansion": {"hierarchical": False, "paging": True,
                          "parameter": [{"name": n} for n in EXPANSION_PARAMETERS]},
            "codeSearch": "all",
            "validateCode": {"translations": False}}


def versions() -> dict:
    """$versions: the FHIR versions this server speaks (only R4)."""
    return {"resourceType": "Parameters", "parameter": [{"name": "version", "valueString": "4.0"},
                                                        {"name": "default", "valueString": "4.0"}]}
