"""$validate-code's checks, shared by CodeSystem and ValueSet: known system, known code, display, status, membership.

The result is a Parameters resource: `result`, `code`, `system`, `version`,
`display`, and when something is wrong `message` (error texts joined by "; ")
and `issues` (an OperationOutcome whose issues carry tx-issue-type codes).
"""

from __future__ import annotations

from registry.web.fhir.expansion import evaluate, whole_system_include
from registry.web.fhir.outcome import FhirError, issue, operation_outcome
from registry.web.fhir.params import Params, bad_request, param, parameters


class Coded:
    """The coded value to validate, from code/system/version/display, a Coding or a CodeableConcept."""

    def __init__(self, code, system, version, display, prefix: str):
        self.code, self.system, self.version, self.display = code, system, version, display
        self.prefix = prefix  # "" for plain parameters, "Coding." or "CodeableConcept.coding[0]."

    def where(self, element: str) -> str:
        """The FHIRPath of one element of the value, as issue.expression names it."""
        return f"{self.prefix}{element}" if self.prefix else element


def coded_value(params: Params, system_param: str = "system") -> Coded:
    """The value to validate from the operation parameters, or 400 when none is given."""
    coding = params.get("coding")
    if isinstance(coding, dict):
        return Coded(coding.get("code"), coding.get("system"), coding.get("version"), coding.get("display"),
                     "Coding.")
    concept = params.get("codeableConcept")
    if isinstance(concept, dict) and concept.get("coding"):
        first = concept["coding"][0]
        return Coded(first.get("code"), first.get("system"), first.get("version"), first.get("display"),
                     "CodeableConcept.coding[0].")
    code = params.text("code")
    if not code:
        raise bad_request("a code is needed: parameter code, coding or codeableConcept", "code")
    return Coded(code, params.text(system_param), params.text("systemVersion") or params.text("version"),
                 params.text("display"), "")


def check_code(term, value: Coded, vs: dict | None = None) -> dict:
    """Validate `value` against its code system and, when given, the value set `vs`; a Parameters resource."""
    errors: list[dict] = []
    warnings: list[dict] = []
    out: dict = {"code": value.code}
    cs = None
    if not value.system:
        errors.append(issue("error", "invalid", "Coding has no system. A code with no system has no defined "
                            "meaning, and it cannot be validated", "invalid-data", value.where("system")))
    else:
        try:
            cs = term.find_code_system(value.system, value.version)
        except FhirError as exc:
            errors.append(issue("error", "not-found", exc.message, "not-found", value.where("system")))
            cs = False
        if cs is None:
            errors.append(issue("error", "not-found", f"A definition for CodeSystem '{value.system}' could not be "
                                f"found, so the code cannot be validated", "not-found", value.where("system")))
    concept = None
    if cs:
        out.update(system=cs.url, version=cs.version)
        concept = cs.get(value.code)
        if concept is None and not cs.case_sensitive:
            concept = cs.find_case_insensitive(value.code)
            if concept is not None:
                warnings.append(issue("information", "business-rule", f"The code '{value.code}' differs from the "
                                      f"correct code '{concept.code}' by case. Although the code system "
                                      f"'{cs.url}' is case insensitive, implementers are strongly encouraged to "
                                      f"use the correct case anyway", "code-rule", value.where("code")))
                out["normalized-code"] = concept.code
        if concept is None:
            version = f" version '{cs.version}'" if cs.version else ""
            errors.append(issue("error", "code-invalid", f"Unknown code '{value.code}' in the CodeSystem "
                                f"'{cs.url}'{version}", "invalid-code", value.where("code")))
        else:
            out["display"] = concept.display
            if value.display and not _display_ok(concept, value.display):
                language = f" ({cs.language})" if cs.language else ""
                errors.append(issue("error", "invalid", f"Wrong Display Name '{value.display}' for "
                                    f"{cs.url}#{concept.code}. Valid display is '{concept.display}'{language} "
                                    f"(for the language(s) '--')", "invalid-display", value.where("display")))
            if concept.inactive:
                out["inactive"] = True
                status = (concept.property_values("status") or ["inactive"])[0]
                warnings.append(issue("warning", "business-rule", f"The concept '{concept.code}' has a status of "
                                      f"{status} and its use should be reviewed", "code-comment",
                                      value.where("code")))
    if vs is not None and not _in_value_set(term, vs, cs, concept):
        label = f"{vs.get('url')}|{vs['version']}" if vs.get("version") else vs.get("url")
        errors.insert(0, issue("error", "code-invalid", f"The provided code '{value.system}#{value.code}' was not "
                               f"found in the value set '{label}'", "not-in-vs", value.where("code")))
    result = not errors
    return parameters(param("code", "valueCode", out["code"]), param("display", "valueString", out.get("display")),
                      param("inactive", "valueBoolean", out.get("inactive")),
                      {"name": "issues", "resource": operation_outcome(errors + warnings)}
                      if errors or warnings else None,
                      param("message", "valueString", "; ".join(i["details"]["text"] for i in errors) or None),
                      param("normalized-code", "valueCode", out.get("normalized-code")),
                      param("result", "valueBoolean", result),
                      param("system", "valueUri", out.get("system")),
                      param("version", "valueString", out.get("version")))


def _display_ok(concept, display: str) -> bool:
    """Whether `display` is the concept's display or one of its designations."""
    return display == concept.display or any(d.get("value") == display for d in concept.designations)


def _in_value_set(term, vs: dict, cs, concept) -> bool:
    """Whether the concept of `cs` is a member of `vs` (a whole-system value set needs no expansion)."""
    if not cs or concept is None:
        return False
    include = whole_system_include(vs)
    if include is not None:
        return cs.answers_to(include["system"]) and (not include.get("version")
                                                     or include["version"] == cs.version)
    members = evaluate(vs, term).members
    return any(m_cs.url == cs.url and c.code == concept.code for m_cs, c in members)
