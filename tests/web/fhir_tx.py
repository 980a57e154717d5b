"""A runner of the HL7 terminology ecosystem test cases (../shared/fhir-tx-tests) against our app's /fhir.

It follows the HL7 Java runner (TxTester in org.hl7.fhir.core): each suite's setup
resources go with every request as `tx-resource` parameters (or are imported into
the store beforehand by `preload`, the way `nsi import` registers them), plus the default
profile parameters; the response is scrubbed (text, meta, unmanaged extensions,
diagnostics), sorted (TxTesterSorters) and compared with the expected file by
CompareUtilities' rules: `$optional$` items and `$optional-properties$`,
`$count-arrays$`, wildcards (`$id$`, `$uuid$`, `$instant$`, ...), `$choice:$`,
`$fragments:$` and `$external:N:...$` messages (checked by their fragments, as
when no externals file is given). CapabilityStatement and TerminologyCapabilities
are compared in pattern mode (extra content allowed).
"""

from __future__ import annotations

import json
import re
import signal
import threading
from contextlib import contextmanager
from functools import cmp_to_key
from pathlib import Path

TX_TESTS = Path(__file__).resolve().parent.parent.parent.parent / "shared" / "fhir-tx-tests"
MODES = {"general"}
# `$optional$: "version:4"` marks what an R4 server may leave out (the R5 `relationship` of a translate match).
OPTIONAL_MODES = MODES | {"version:4"}
VARIABLES = {"version": "4.0.1"}
MANAGED_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/codesystem-alternate",
    "http://hl7.org/fhir/StructureDefinition/codesystem-conceptOrder",
    "http://hl7.org/fhir/StructureDefinition/codesystem-label",
    "http://hl7.org/fhir/StructureDefinition/coding-sctdescid",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
    "http://hl7.org/fhir/StructureDefinition/rendering-style",
    "http://hl7.org/fhir/StructureDefinition/rendering-xhtml",
    "http://hl7.org/fhir/StructureDefinition/translation",
    "http://hl7.org/fhir/StructureDefinition/valueset-concept-definition",
    "http://hl7.org/fhir/StructureDefinition/valueset-conceptOrder",
    "http://hl7.org/fhir/StructureDefinition/valueset-deprecated",
    "http://hl7.org/fhir/StructureDefinition/valueset-label",
    "http://hl7.org/fhir/StructureDefinition/valueset-supplement",
    "http://hl7.org/fhir/StructureDefinition/alternate-code-use",
    "http://hl7.org/fhir/StructureDefinition/alternate-code-status",
    "http://hl7.org/fhir/test/CodeSystem/de-multi",
    "http://hl7.org/fhir/test/CodeSystem/en-multi",
    "http://hl7.org/fhir/test/StructureDefinition/unknown-extension-1",
    "http://hl7.org/fhir/test/StructureDefinition/unknown-extension-3",
    "http://hl7.org/fhir/test/StructureDefinition/unknown-extension-4",
    "http://hl7.org/fhir/test/StructureDefinition/unknown-extension-5",
    "http://hl7.org/fhir/test/ValueSet/extensions-bad-supplement",
    "http://hl7.org/fhir/test/ValueSet/simple-all",
    "http://hl7.org/fhir/test/ValueSet/simple-enumerated",
    "http://hl7.org/fhir/test/ValueSet/simple-filter-isa",
}
PATTERNS = {
    "$instant$": r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
                 r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]"
                 r"|14:00))",
    "$date$": r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
              r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]"
              r"|14:00)))?",
    "$uuid$": r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "$id$": r"[A-Za-z0-9\-\.]{1,64}",
    "$url$": r"(https?://|www\.)[-a-zA-Z0-9+&@#/%?=~_|!:.;]*[-a-zA-Z0-9+&@#/%=~_|]",
    "$token$": r"[0-9a-zA-Z_][0-9a-zA-Z_\.\-]*",
    "$semver$": r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
                r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
}


def load(name: str):
    """A JSON file of the test folder (some start with a BOM)."""
    return json.loads((TX_TESTS / name).read_text(encoding="utf-8-sig"))


def general_suites() -> list[str]:
    """The names of every suite that runs in general mode, in manifest order."""
    return [suite["name"] for suite in load("test-cases.json")["suites"] if _runs(suite)]


def general_tests(suite_names: list[str]) -> list[tuple[dict, dict]]:
    """(suite, test) pairs of the named suites that run in general mode, in manifest order."""
    out = []
    for suite in load("test-cases.json")["suites"]:
        if suite["name"] not in suite_names or not _runs(suite):
            continue
        out += [(suite, test) for test in suite["tests"] if _runs(test)]
    return out


def _runs(item: dict) -> bool:
    if item.get("disabled"):
        return False
    if "modes" in item:
        return bool(MODES.intersection(item["modes"]))
    return "mode" not in item or item["mode"] in MODES


FORMAT_OF = {"CodeSystem": "fhir-codesystem", "ValueSet": "fhir-valueset", "ConceptMap": "fhir-conceptmap"}


def preload(store, suite: dict) -> list[str]:
    """Import a suite's setup resources into `store` through the importer pipeline `nsi import` runs, published;
    return the setup files `nsi import` refuses by design (NOT_IMPORTED), which go as tx-resource instead.

    A resource without a version is imported as version "0" (a catalog version needs a label).
    """
    from importers import run_import
    from registry.errors import ImportRejected
    refused = []
    for name in suite.get("setup", []):
        resource = load(name)
        try:
            run_import(store, TX_TESTS / name, format=FORMAT_OF[resource["resourceType"]],
                       version=None if resource.get("version") else "0", publish=True)
        except ImportRejected as exc:
            if name not in NOT_IMPORTED or exc.problems[0].kind != NOT_IMPORTED[name][0]:
                raise
            refused.append(name)
    return refused


# Setup resources `nsi import` refuses, by the problem kind it gives and why. The preloaded run sends them as
# tx-resource, as a client would send a resource the server does not hold.
NOT_IMPORTED = {
    "translate/ConceptMap-novs.json": ("unknown_system", "maps http://hl7.org/fhir/test/CodeSystem/simple-mod, "
                                                         "a code system no suite defines"),
    "errors/valueset-broken-filter.json": ("missing", "a filter without a value (broken on purpose)"),
    "errors/valueset-broken-filter2.json": ("missing", "a filter whose value is data-absent (broken on purpose)"),
    "extensions/codesystem-supplement.json": ("unsupported", "a CodeSystem supplement is not a catalog"),
}


# -- running one test ----------------------------------------------------------------------------------------------

OPERATIONS = {"expand": "/fhir/ValueSet/$expand", "validate-code": "/fhir/ValueSet/$validate-code",
              "cs-validate-code": "/fhir/CodeSystem/$validate-code", "lookup": "/fhir/CodeSystem/$lookup",
              "translate": "/fhir/ConceptMap/$translate", "batch-validate": "/fhir/ValueSet/$batch-validate-code"}


# A request slower than this fails its test instead of holding the run (the `regex-bad` suite once hung it).
REQUEST_SECONDS = 10


class TimedOut(Exception):
    """A test's request took longer than REQUEST_SECONDS."""


@contextmanager
def time_bound(seconds: float):
    """Raise TimedOut in this (main) thread after `seconds`; elsewhere (no signals) run unbounded."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimedOut(f"no answer within {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_test(client, suite: dict, test: dict, preloaded: list[str] | None = None,
             seconds: float = REQUEST_SECONDS) -> str | None:
    """Run one test against the Flask test client: None when it passes, else what differs.

    `preloaded`: the suite's setup resources are in the client's store already; only the ones listed (those
    the import refused) are sent as tx-resource. The request is bounded by `seconds`: a slower answer is a
    failure saying so.
    """
    try:
        with time_bound(seconds):
            return _run_test(client, suite, test, preloaded)
    except TimedOut as exc:
        return f"timed out: {exc}"


def _run_test(client, suite: dict, test: dict, preloaded: list[str] | None = None) -> str | None:
    operation = test["operation"]
    expected = (TX_TESTS / test["response"]).read_text(encoding="utf-8-sig")
    if operation in ("metadata", "term-caps"):
        response = client.get("/fhir/metadata" + ("?mode=terminology" if operation == "term-caps" else ""))
        actual = response.get_json(force=True)
        sort_capabilities(actual)
        return compare(json.loads(expected), actual, pattern=True)
    request = load(test["request"])
    request.setdefault("parameter", [])
    request["parameter"] += [{"name": "tx-resource", "resource": load(name)} for name in suite.get("setup", [])
                             if preloaded is None or name in preloaded]
    request["parameter"] += load(test.get("profile", "parameters-default.json"))["parameter"]
    headers = {"Content-Type": "application/fhir+json"}
    if test.get("Accept-Language"):
        headers["Accept-Language"] = test["Accept-Language"]
    response = client.post(OPERATIONS[operation], data=json.dumps(request), headers=headers)
    if response.mimetype != "application/fhir+json":
        return f"response is {response.mimetype} ({response.status_code}), not FHIR JSON"
    actual = response.get_json(force=True)
    r4_to_r5(actual)
    scrub(actual)
    if actual.get("resourceType") == "Parameters":
        sort_parameters(actual)
    elif actual.get("resourceType") == "ValueSet":
        sort_value_set(actual)
    elif actual.get("resourceType") == "OperationOutcome":
        actual["issue"].sort(key=_issue_key)
    diff = compare(json.loads(expected), actual)
    wanted = test.get("http-code", "2xx")
    if str(response.status_code)[0] != wanted[0]:
        return f"HTTP status {response.status_code}, expected {wanted}" + (f"; {diff}" if diff else "")
    return diff


# -- the R4 -> R5 conversion the Java client applies to an R4 server's answers (the part our answers need) ---------

R5_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property"
R5_CONTAINS_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property"


def r4_to_r5(resource: dict) -> None:
    """Cross-version extensions of an R4 expansion turned into the R5 elements they carry."""
    expansion = resource.get("expansion") if resource.get("resourceType") == "ValueSet" else None
    if not expansion:
        return
    _lift(expansion, R5_PROPERTY)

    def walk(items):
        for item in items:
            _lift(item, R5_CONTAINS_PROPERTY)
            walk(item.get("contains", []))
    walk(expansion.get("contains", []))


def _lift(node: dict, url: str) -> None:
    lifted = [e for e in node.get("extension", []) if e.get("url") == url]
    if not lifted:
        return
    node["extension"] = [e for e in node["extension"] if e.get("url") != url]
    if not node["extension"]:
        del node["extension"]
    properties = []
    for ext in lifted:
        prop = {}
        for sub in ext.get("extension", []):
            key, val = next((k, v) for k, v in sub.items() if k.startswith("value"))
            prop[key if sub["url"] == "value" else sub["url"]] = val
        properties.append(prop)
    node["property"] = properties


# -- scrubbing and sorting (TxTesterScrubbers, TxTesterSorters) -----------------------------------------------------

def scrub(resource: dict) -> None:
    """Drop text, meta, unmanaged extensions and issue diagnostics, as the HL7 runner does before comparing.

    A Parameters answer loses only its meta (TxTesterScrubbers.scrubParams): the OperationOutcome in its
    `issues` keeps its extensions, so an expected `operationoutcome-message-id` must be there.
    """
    resource.pop("meta", None)
    if resource.get("resourceType") == "Parameters":
        return
    resource.pop("text", None)
    _scrub_extensions(resource)
    if resource.get("resourceType") == "OperationOutcome":
        resource["issue"] = [i for i in resource.get("issue", []) if not (i.get("diagnostics") and
                                                                          not i.get("details"))]
        for i in resource["issue"]:
            i.pop("diagnostics", None)


def _scrub_extensions(node, key: str = "") -> None:
    if isinstance(node, dict):
        for name in ("extension", "modifierExtension"):
            if isinstance(node.get(name), list):
                node[name] = [e for e in node[name] if not re.match(r"^[a-z]+:", e.get("url", ""))
                              or e.get("url") in MANAGED_EXTENSIONS]
                if not node[name]:
                    del node[name]
        for k, v in node.items():
            if k != "compose":
                _scrub_extensions(v, k)
    elif isinstance(node, list):
        for item in node:
            _scrub_extensions(item, key)


def _primitive(p: dict) -> str:
    for k, v in p.items():
        if k.startswith("value") and not isinstance(v, (dict, list)):
            return str(v).lower() if isinstance(v, bool) else str(v)
    return ""


def _part(p: dict, name: str) -> dict:
    return next((x for x in p.get("part", []) if x.get("name") == name), {})


def _parameter_key(p: dict):
    if p.get("name") == "property":
        return (p["name"], _primitive(_part(p, "code")).lower(), _primitive(_part(p, "value")).lower())
    if p.get("name") == "designation":
        return (p["name"], _primitive(_part(p, "language")).lower(), _primitive(_part(p, "value")).lower())
    return (p.get("name", ""), "", "")


def _issue_key(i: dict):
    return (i.get("severity", ""), i.get("code", ""), (i.get("expression") or [""])[0],
            (i.get("details") or {}).get("text", ""))


def sort_parameters(resource: dict) -> None:
    """Parameters sorted by name (properties by code and value), nested issues sorted, messages' parts sorted."""
    params = resource.get("parameter", [])
    for p in params:
        if "part" in p:
            sort_parameters({"parameter": p["part"]})
        inner = p.get("resource")
        if isinstance(inner, dict) and inner.get("resourceType") == "OperationOutcome":
            inner.get("issue", []).sort(key=_issue_key)
        if isinstance(inner, dict) and inner.get("resourceType") == "Parameters":
            sort_parameters(inner)
        if p.get("name") == "message" and isinstance(p.get("valueString"), str) and "; " in p["valueString"]:
            p["valueString"] = "; ".join(sorted(p["valueString"].split("; ")))
    params.sort(key=_parameter_key)


def sort_value_set(vs: dict) -> None:
    """Extensions, expansion parameters, properties and contains sorted as the HL7 runner sorts them."""
    vs.get("extension", []).sort(key=lambda e: e.get("url", ""))
    expansion = vs.get("expansion")
    if not expansion:
        return
    expansion.get("extension", []).sort(key=lambda e: e.get("url", ""))
    expansion.get("parameter", []).sort(key=lambda p: (p.get("name", ""), _primitive(p)))
    expansion.get("property", []).sort(key=lambda p: (p.get("uri") is not None, p.get("uri") or "", p.get("code")))

    def sort_contains(items: list) -> None:
        items.sort(key=lambda c: c.get("code", ""))
        for c in items:
            c.get("property", []).sort(key=lambda p: p.get("code", ""))
            c.get("designation", []).sort(key=cmp_to_key(_designation_order))
            sort_contains(c.get("contains", []))
    sort_contains(expansion.get("contains", []))


def _designation_order(a: dict, b: dict) -> int:
    """DesignationSorter: by language when both have one, else by value."""
    x, y = (a["language"], b["language"]) if "language" in a and "language" in b else (a.get("value", ""),
                                                                                      b.get("value", ""))
    return (x > y) - (x < y)


def sort_capabilities(resource: dict) -> None:
    """CapabilityStatement / TerminologyCapabilities lists sorted (sortCapStmt, sortTermCaps)."""
    for rest in resource.get("rest", []):
        rest.get("resource", []).sort(key=lambda r: r.get("type", ""))
        for r in rest.get("resource", []):
            r.get("interaction", []).sort(key=lambda i: i.get("code", ""))
            r.get("operation", []).sort(key=lambda o: o.get("name", ""))
            r.get("searchParam", []).sort(key=lambda o: o.get("name", ""))
        rest.get("operation", []).sort(key=lambda o: o.get("name", ""))
    resource.get("codeSystem", []).sort(key=lambda c: c.get("uri", ""))
    if "expansion" in resource:
        resource["expansion"].get("parameter", []).sort(key=lambda p: p.get("name", ""))


# -- comparison (CompareUtilities) ----------------------------------------------------------------------------------

def _is_optional(node) -> bool:
    if not isinstance(node, dict) or "$optional$" not in node:
        return False
    flag = node["$optional$"]
    if isinstance(flag, bool):
        return flag
    if flag.startswith("!"):
        return flag[1:] not in MODES
    return flag.startswith("warning:") or flag in OPTIONAL_MODES


def matches(actual: str, expected: str) -> bool:
    """Whether a string value matches an expected one, which may be a `$...$` template."""
    if not (expected.startswith("$") and expected.endswith("$")) or len(expected) < 2:
        return actual == expected
    if expected.startswith("$choice:"):
        return actual in expected[8:-1].split("|")
    if expected.startswith("$fragments:"):
        return all(f.lower() in actual.lower() for f in expected[11:-1].split("|"))
    if expected.startswith("$external:"):
        cmd = expected[1:-1].split(":")
        return len(cmd) <= 2 or all(f.lower() in actual.lower() for f in cmd[2].split("|"))
    if expected == "$$":
        return True
    if expected == "$string$":
        return actual == actual.strip()
    if expected == "$version$":
        return actual == VARIABLES["version"]
    if expected in PATTERNS:
        return re.fullmatch(PATTERNS[expected], actual) is not None
    raise ValueError(f"unhandled template {expected}")


def compare(expected, actual, path: str = "", pattern: bool = False) -> str | None:
    """None when `actual` matches `expected` by the HL7 runner's rules, else the first difference."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        optionals = set(expected.get("$optional-properties$", []))
        counts = set(expected.get("$count-arrays$", []))
        for name, value in actual.items():
            if name in expected:
                diff = _compare_node(expected[name], value, f"{path}.{name}", name in counts, pattern)
                if diff:
                    return diff
            elif not pattern:
                return f"unexpected property {path}.{name}"
        for name, value in expected.items():
            if name.startswith("$") or name in optionals or "*" in optionals or name in actual:
                continue
            if isinstance(value, list) and all(_is_optional(v) for v in value if isinstance(v, dict)):
                continue
            return f"missing property {path}.{name}"
        return None
    return _compare_node(expected, actual, path, False, pattern)


def _compare_node(expected, actual, path: str, count_only: bool, pattern: bool) -> str | None:
    if isinstance(expected, dict) or isinstance(actual, dict):
        if not (isinstance(expected, dict) and isinstance(actual, dict)):
            return f"{path}: expected {type(expected).__name__}, got {type(actual).__name__}"
        return compare(expected, actual, path, pattern)
    if isinstance(expected, list) or isinstance(actual, list):
        if not (isinstance(expected, list) and isinstance(actual, list)):
            return f"{path}: expected {type(expected).__name__}, got {type(actual).__name__}"
        return _compare_arrays(expected, actual, path, count_only, pattern)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return None if expected is actual else f"{path}: expected {expected!r}, got {actual!r}"
    if isinstance(expected, str) and isinstance(actual, str):
        return None if matches(actual, expected) else f"{path}: expected {expected!r}, got {actual!r}"
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return None if str(expected) == str(actual) else f"{path}: expected {expected}, got {actual}"
    if expected is None:
        return None if actual is None else f"{path}: expected null, got {actual!r}"
    return f"{path}: types differ, expected {expected!r}, got {actual!r}"


def _compare_arrays(expected: list, actual: list, path: str, count_only: bool, pattern: bool) -> str | None:
    if count_only:
        return None if len(expected) == len(actual) else f"{path}: {len(actual)} items, expected {len(expected)}"
    if pattern:
        c = 0
        for i, item in enumerate(expected):
            diff = "not found"
            while diff and c < len(actual):
                diff = _compare_node(item, actual[c], f"{path}[{i}]", False, pattern)
                c += 1
            if diff:
                return f"{path}: the expected item at index {i} was not found"
        return None
    minimum = sum(1 for e in expected if not _is_optional(e))
    optional_count = len(expected) - minimum
    if len(actual) > len(expected) or len(actual) < minimum:
        return f"{path}: {len(actual)} items, expected {minimum}..{len(expected)}"
    c = 0
    for i, item in enumerate(expected):
        if c >= len(actual):
            if i >= len(expected) - optional_count and _is_optional(item):
                return None
            return f"{path}: one or more items did not match starting at index {i}"
        diff = _compare_node(item, actual[c], f"{path}[{i}]", False, pattern)
        if diff and not _is_optional(item):
            return diff
        if not diff:
            c += 1
    if c < len(actual):
        return f"{path}: unexpected item at index {c}"
    return None
