"""What the FHIR wing can do: the CapabilityStatement, TerminologyCapabilities and $versions."""

from __future__ import annotations

from datetime import date

from registry.web.fhir import codesystem, conceptmap, valueset

FHIR_VERSION = "4.0.1"
SOFTWARE = "NSI Registry"
SOFTWARE_VERSION = "0.1.0"
RELEASE_DATE = "2026-12-01"
FEATURE = "http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature"
OPERATION_BASE = "http://hl7.org/fhir/OperationDefinition"
EXPANSION_PARAMETERS = ("activeOnly", "check-system-version", "count", "displayLanguage", "excludeNested",
                        "filter", "force-system-version", "includeDefinition", "includeDesignations", "offset",
                        "property", "system-version", "tx-resource")
# The operations served per resource type (type level; ConceptMap's $translate also on one instance), and on
# the whole server. LOCAL_OPERATIONS have no OperationDefinition in FHIR R4 itself: $batch-validate-code is the
# batch form the HL7 validator sends, so its definition is named under this server's base.
RESOURCE_OPERATIONS = {"CodeSystem": ("lookup", "validate-code"),
                       "ValueSet": ("expand", "validate-code", "batch-validate-code"),
                       "ConceptMap": ("translate",)}
LOCAL_OPERATIONS = ("batch-validate-code",)
SYSTEM_OPERATIONS = ("versions",)
SEARCH_PARAM_TYPES = {"name": "string", "status": "token", "title": "string", "url": "uri", "version": "token"}


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
    """The server's CapabilityStatement (kind `instance`): resources, interactions, search parameters and
    operations, from RESOURCE_OPERATIONS and each resource module's SEARCH_PARAMS (a test checks them against
    the routes)."""
    def op(name: str, resource: str) -> dict:
        if name in LOCAL_OPERATIONS:
            return {"name": name, "definition": f"{base}/OperationDefinition/{resource}-{name}"}
        return {"name": name, "definition": f"{OPERATION_BASE}/{resource}-{name}"}

    def resource(kind: str, search_params: tuple[str, ...]) -> dict:
        return {"type": kind, "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [{"name": n, "type": SEARCH_PARAM_TYPES[n]}
                                for n in sorted(search_params) if not n.startswith("_")],
                "operation": [op(name, kind) for name in RESOURCE_OPERATIONS[kind]]}

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
                  "resource": [resource("CodeSystem", codesystem.SEARCH_PARAMS),
                               resource("ValueSet", valueset.SEARCH_PARAMS),
                               resource("ConceptMap", conceptmap.SEARCH_PARAMS)],
                  "operation": [{"name": name, "definition": f"{base}/OperationDefinition/{name}"}
                                for name in SYSTEM_OPERATIONS]}]}


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
            "validateCode": {"translations": False},
            "translation": {"needsMap": False}}


def versions() -> dict:
    """$versions: the FHIR versions this server speaks (only R4)."""
    return {"resourceType": "Parameters", "parameter": [{"name": "version", "valueString": "4.0"},
                                                        {"name": "default", "valueString": "4.0"}]}
