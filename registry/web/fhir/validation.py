"""$validate-code's checks, shared by CodeSystem and ValueSet: known system, known code, display, status, membership.

The result is a Parameters resource: `result`, `code`, `system`, `version`,
`display`, and when something is wrong `message` (the error and warning texts
joined by "; ") and `issues` (an OperationOutcome whose issues carry
tx-issue-type codes and name the offending element in `expression`).
The texts follow the HL7 reference server's, which the HL7 test suite checks.
"""

from __future__ import annotations

import re

from registry.web.fhir.expansion import evaluate, whole_system_include
from registry.web.fhir.languages import default_displays, displays_in, language_tags
from registry.web.fhir.outcome import FhirError, issue, operation_outcome
from registry.web.fhir.params import Params, param, parameters
from registry.web.fhir.versions import UnknownVersion, matches, version_verdict

NOT_IN_VS = "None_of_the_provided_codes_are_in_the_value_set_one"
DEPRECATED_MARK = ("http://hl7.org/fhir/StructureDefinition/valueset-deprecated", "true")
STANDARDS_DEPRECATED = ("http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status", "deprecated")
ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class Coded:
    """The coded value to validate, from code/system/version/display, a Coding or a CodeableConcept."""

    def __init__(self, code, system, version, display, prefix: str, concept: dict | None = None):
        self.code, self.system, self.version, self.display = code, system, version, display
        self.prefix = prefix  # "" for plain parameters, "Coding." or "CodeableConcept.coding[0]."
        self.codeable_concept = concept

    def codings(self) -> list["Coded"]:
        """Each coding of a CodeableConcept as its own value (with its own path); a plain value is itself."""
        if self.codeable_concept is None:
            return [self]
        codings = [c for c in self.codeable_concept.get("coding", []) if isinstance(c, dict)]
        return [Coded(c.get("code"), c.get("system"), c.get("version"), c.get("display"),
                      f"CodeableConcept.coding[{i}].", self.codeable_concept) for i, c in enumerate(codings)]

    def where(self, element: str = "") -> str:
        """The FHIRPath of one element of the value (or of the value itself), as issue.expression names it."""
        if not self.prefix:
            return element or "code"
        return f"{self.prefix}{element}" if element else self.prefix.rstrip(".")


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
                     "CodeableConcept.coding[0].", concept)
    code = params.text("code")
    if not code:
        raise FhirError(400, "invalid", "Unable to find code to validate (looked for coding | codeableConcept | "
                        "code+system | code+inferSystem in parameters")
    return Coded(code, params.text(system_param), params.text("systemVersion") or params.text("version"),
                 params.text("display"), "")


def check_code(term, value: Coded, vs: dict | None = None, infer_system: bool = False,
               lenient_display: bool = False, languages: str | None = None, membership_only: bool = False,
               active_only: bool = False, abstract_allowed: bool = True) -> dict:
    """Validate `value` against its code system and, when given, the value set `vs`; a Parameters resource.

    With `lenient_display`, a wrong display is a warning instead of an error. With `languages` (as the
    request gave them), the display must be one in those languages when the concept has any. A
    CodeableConcept is valid when one of its codings is (in the value set); every coding is checked and
    reported. With `membership_only`, only value set membership is checked; with `active_only`, an inactive
    concept is not in the value set; without `abstract_allowed`, neither is an abstract (not selectable) one.
    """
    active_only = active_only or (vs is not None and (vs.get("compose") or {}).get("inactive") is False)
    assessed = []
    for coded in value.codings():
        out, issues, concept = ({}, [], None) if membership_only else \
            _assess(term, coded, vs, infer_system, lenient_display, languages, active_only)
        if membership_only:
            cs = _code_system_quietly(term, coded)
            concept = cs.get(coded.code) if cs and coded.code else None
            if cs and concept:
                out = {"system": cs.url, "version": cs.version, "display": concept.display}
        else:
            cs = out.pop("cs", None)
        member = None
        unknown = out.get("x-unknown-system")
        blocked = out.get("x-blocked", False)
        if vs is not None and unknown and unknown in _systems(vs):  # the value set cannot be evaluated either
            out["x-caused-by-unknown-system"] = out.pop("x-unknown-system")
        elif vs is not None and not blocked:
            member, vs_issues = _membership(term, vs, coded, cs, concept, active_only, evaluate=not unknown,
                                            abstract_allowed=abstract_allowed)
            if concept is not None and concept.abstract and not abstract_allowed:
                issues.append(issue("error", "business-rule", f"Code '{coded.system}#{concept.code}' is abstract, "
                                    f"and not allowed in this context", "code-rule", coded.where("code")))
            issues += [i for i in vs_issues if i not in issues]
        assessed.append((coded, out, issues, concept, member))
    issues = []
    for _, _, coding_issues, _, _ in assessed:
        issues += [i for i in coding_issues if i not in issues]
    if vs is not None:
        chosen = next((a for a in assessed if a[4]), None)
        if chosen is None and len(assessed) == 1 and assessed[0][1].get("x-blocked") and assessed[0][3] is not None \
                and not assessed[0][1].get("x-include-unknown"):
            chosen = assessed[0]  # one coding refused for its version: answered as that coding is
        evaluated = all(a[4] is not None for a in assessed)
        if chosen is None and value.codeable_concept is not None and evaluated:
            issues.insert(0, issue("error", "code-invalid", f"No valid coding was found for the value set "
                                   f"'{_label(vs)}'", "not-in-vs", message_id="TX_GENERAL_CC_ERROR_MESSAGE"))
    else:
        chosen = next((a for a in assessed if a[3] is not None), None)
    if value.codeable_concept is None:
        chosen = assessed[0]
    coded, out, _, concept, _ = chosen or (value, {}, [], None, None)
    if value.codeable_concept is not None and (chosen is None or concept is None):
        unknown = [a[1]["x-unknown-system"] for a in assessed if a[1].get("x-unknown-system")]
        caused = [a[1]["x-caused-by-unknown-system"] for a in assessed if a[1].get("x-caused-by-unknown-system")]
        out = {"x-unknown-system": unknown[0]} if unknown else {}
        out.update({"x-caused-by-unknown-system": caused[0]} if caused else {})
    issues += [issue("information", "business-rule", f"Reference to {status} {kind} {canonical}", "status-check")
               for status, kind, canonical in term.cautions]
    if vs is not None and chosen is not None and chosen[4]:
        issues += _deprecated_in_value_set(vs, chosen[0])
    if vs is not None and not vs.get("url"):  # the HL7 reference gives no location then, only the expression
        for i in issues:
            i.pop("location", None)
    result = not any(i["severity"] == "error" for i in issues)
    message = "; ".join(i["details"]["text"] for i in issues if (i["severity"] in ("error", "warning")
                        and not i.pop("not_in_message", False)) or i.pop("in_message", False))
    code = None if value.codeable_concept is not None and (chosen is None or concept is None) else coded.code
    return parameters(param("code", "valueCode", code),
                      param("codeableConcept", "valueCodeableConcept", value.codeable_concept),
                      param("display", "valueString", out.get("display")),
                      param("inactive", "valueBoolean", out.get("inactive")),
                      {"name": "issues", "resource": operation_outcome(issues)} if issues else None,
                      param("message", "valueString", message or None),
                      param("normalized-code", "valueCode", out.get("normalized-code")),
                      param("result", "valueBoolean", result),
                      param("status", "valueCode", out.get("status")),
                      param("system", "valueUri", out.get("system")),
                      param("version", "valueString", out.get("version")),
                      param("x-unknown-system", "valueCanonical", out.get("x-unknown-system")),
                      param("x-caused-by-unknown-system", "valueCanonical", out.get("x-caused-by-unknown-system")))


def _deprecated_in_value_set(vs: dict, value: Coded) -> list[dict]:
    """A warning when the value set lists the code marked deprecated (valueset-deprecated, standards status)."""
    for include in (vs.get("compose") or {}).get("include", []):
        for listed in include.get("concept", []) if include.get("system") == value.system else []:
            marks = {(e.get("url"), str(e.get("valueCode", e.get("valueBoolean", ""))).lower())
                     for e in listed.get("extension", [])}
            if listed.get("code") == value.code and (DEPRECATED_MARK in marks or STANDARDS_DEPRECATED in marks):
                warning = issue("warning", "business-rule", f"The presence of the concept '{value.code}' in the "
                                f"system '{value.system}' in the value set {_label(vs)} is marked with a status of "
                                f"deprecated and its use should be reviewed", "code-comment", value.where("code"))
                return [{**warning, "not_in_message": True}]
    return []


def _code_system_quietly(term, value: Coded):
    """The code system of a value, or None when there is none to be found."""
    try:
        return term.find_code_system(value.system, value.version) if value.system else None
    except FhirError:
        return None


def _assess(term, value: Coded, vs: dict | None, infer_system: bool, lenient_display: bool,
            languages: str | None, active_only: bool = False) -> tuple[dict, list[dict], object]:
    """One coded value against its code system: (what to answer, with `cs`; the issues; the concept or None)."""
    issues: list[dict] = []
    out: dict = {}
    if vs is not None and not value.system and (infer_system or not value.prefix):
        candidates = _systems(vs)
        having = [url for url in candidates if value.code and (cs := _code_system_quietly(
            term, Coded(value.code, url, None, None, ""))) and cs.get(value.code)]
        if infer_system and len(having) != 1:
            cannot = f"The System URI could not be determined for the code '{value.code}' in the ValueSet " \
                     f"'{_label(vs)}'"
            if having:
                cannot += f": value set expansion has multiple matches: [{', '.join(having)}]"
            elif candidates:
                cannot += f": it is not in {', '.join(candidates)}"
            return out, [issue("error", "not-found", cannot, "cannot-infer", value.where("code"),
                               "Unable_to_resolve_system__value_set_has_multiple_matches" if having else None)], None
        value.system = having[0] if having else (candidates[0] if len(candidates) == 1 else None)
    cs = None
    if not value.system:
        issues.append(issue("warning", "invalid", "Coding has no system. A code with no system has no defined "
                            "meaning, and it cannot be validated. A system should be provided", "invalid-data",
                            value.where()))
    else:
        out["system"] = value.system
        if not ABSOLUTE_URI.match(value.system):
            issues.append(issue("error", "invalid", "Coding.system must be an absolute reference, not a local "
                                "reference", "invalid-data", value.where("system")))
        verdict = version_verdict(term, vs, value) if vs is not None else None
        try:
            cs = verdict.lookup if verdict is not None else term.find_code_system(value.system, value.version)
        except UnknownVersion as exc:
            issues.append(issue("error", "not-found", exc.text("so the code cannot be validated"), "not-found",
                                value.where("system")))
            out["x-caused-by-unknown-system"] = f"{value.system}|{exc.version}"
            cs = False
        except FhirError as exc:
            issues.append(issue("error", "not-found", exc.message, "not-found", value.where("system")))
            cs = False
        if verdict is not None:
            issues += verdict.issues
            out.update({"x-caused-by-unknown-system": verdict.caused_by} if verdict.caused_by else {})
            out.update({"x-blocked": True} if verdict.blocks_membership else {})
            out.update({"x-include-unknown": True} if verdict.include_unknown else {})
        if cs is None and term.find_value_set(value.system) is not None:
            issues.append(issue("error", "invalid", f"The Coding references a value set, not a code system "
                                f"('{value.system}')", "invalid-data", value.where("system")))
            cs = False
        if cs is None:
            quoted = not ABSOLUTE_URI.match(value.system) or (vs is not None and value.system in _systems(vs))
            shown = f"'{value.system}'" if quoted else value.system
            text = f"A definition for CodeSystem {shown} could not be found, so the code cannot be validated"
            if value.version:
                text = UnknownVersion(value.system, value.version, []).text("so the code cannot be validated")
            issues.append(issue("error", "not-found", text, "not-found", value.where("system")))
            out["x-unknown-system"] = value.system
    concept = None
    if cs:
        out.update(system=cs.url, version=cs.version, cs=cs)
        concept = cs.get(value.code)
        if concept is None and not cs.case_sensitive:
            concept = cs.find_case_insensitive(value.code)
            if concept is not None:
                issues.append(issue("information", "business-rule", f"The code '{value.code}' differs from the "
                                    f"correct code '{concept.code}' by case. Although the code system "
                                    f"'{cs.versioned_url}' is case insensitive, implementers are strongly "
                                    f"encouraged to use the correct case anyway", "code-rule", value.where("code")))
                out["normalized-code"] = concept.code
        if concept is None and getattr(cs, "content", "complete") == "fragment":
            version = f" version '{cs.version}'" if cs.version else ""
            issues.append({**issue("warning", "code-invalid", f"Unknown Code '{value.code}' in the CodeSystem "
                                   f"'{cs.url}'{version} - note that the code system is labeled as a fragment, so "
                                   f"the code may be valid in some other fragment", "invalid-code",
                                   value.where("code")), "not_in_message": True})
            out["x-blocked"] = True  # membership cannot be decided from a fragment
        elif concept is None:
            version = f" version '{cs.version}'" if cs.version else ""
            issues.append(issue("error", "code-invalid", f"Unknown code '{value.code}' in the CodeSystem "
                                f"'{cs.url}'{version}", "invalid-code", value.where("code")))
        else:
            display_issues, out["display"] = _display_issues(cs, concept, value, languages, lenient_display)
            issues += display_issues
            if concept.inactive:
                out["inactive"] = True
                out["status"] = (concept.property_values("status") or [None])[0]
                status = (concept.property_values("status") or ["inactive"])[0]
                status = status if status == "inactive" else f"{status} and inactive"
                issues.append(issue("warning", "business-rule", f"The concept '{concept.code}' has a status of "
                                    f"{status} and its use should be reviewed", "code-comment", value.where(),
                                    None if status.startswith("deprecated") else "INACTIVE_CONCEPT_FOUND"))
                if active_only:
                    issues.append(issue("error", "business-rule", f"The concept '{concept.code}' is valid but is "
                                        f"not active", "code-rule", value.where("code"), "STATUS_CODE_WARNING_CODE"))
    return out, issues, concept


def _display_issues(cs, concept, value: Coded, languages: str | None, lenient: bool) -> tuple[list[dict], str]:
    """The issues about the given display, and the display to answer (in the requested languages if any)."""
    tags = language_tags(languages)
    in_language = displays_in(concept, cs.language, tags) if tags else []
    shown = in_language[0][0] if in_language else concept.display
    if not value.display:
        return [], shown
    severity, where = "warning" if lenient else "error", value.where("display")
    wrong = f"Wrong Display Name '{value.display}' for {cs.url}#{concept.code}."
    if not tags:
        if _display_ok(concept, value.display):
            return [], shown
        return [issue(severity, "invalid", f"{wrong} {_valid_displays(cs, concept)} (for the language(s) '--')",
                      "invalid-display", where)], shown
    if in_language:
        if value.display in [text for text, _ in in_language]:
            return [], shown
        text, language = in_language[0]
        shown_language = f" ({language})" if language else ""
        return [issue(severity, "invalid", f"{wrong} Valid display is '{text}'{shown_language} "
                      f"(for the language(s) '{languages}')", "invalid-display", where)], shown
    if value.display in default_displays(concept, cs.language):
        info = issue("information", "invalid", f"There are no valid display names found for the code "
                     f"{cs.url}#{concept.code} for language(s) '{languages}'. The display is '{value.display}' "
                     f"which is a valid display for the default language", "invalid-display", where)
        info["in_message"] = True
        return [info], shown
    return [issue(severity, "invalid", f"{wrong} There are no valid display names found for language(s) "
                  f"'{languages}'. Default display is '{concept.display}'", "invalid-display", where)], shown


def _label(vs: dict) -> str:
    return f"{vs.get('url')}|{vs['version']}" if vs.get("version") else (vs.get("url") or "(unidentified)")


def _valid_displays(cs, concept) -> str:
    """`Valid display is 'x' (en)`, or `one of N choices: ...` when designations in other languages count too."""
    choices = [(concept.display, cs.language)] if concept.display else []
    choices += [(d["value"], d["language"]) for d in concept.designations if d.get("value") and d.get("language")]
    shown = [f"'{text}'" + (f" ({language})" if language else "") for text, language in dict.fromkeys(choices)]
    if len(shown) <= 1:
        return f"Valid display is {shown[0] if shown else repr('')}"
    return f"Valid display is one of {len(shown)} choices: {', '.join(shown[:-1])} or {shown[-1]}"


def _membership(term, vs: dict, value: Coded, cs, concept, active_only: bool = False, evaluate: bool = True,
                abstract_allowed: bool = True) -> tuple[bool | None, list[dict]]:
    """(whether the code is in `vs`, None when `vs` cannot be evaluated; the issues when it is not).

    Without `evaluate` (a code of an unknown system the value set does not name) it is simply not in.
    """
    try:
        member = evaluate and _in_value_set(term, vs, cs, concept) and not (active_only and concept.inactive) \
            and not (concept.abstract and not abstract_allowed)
    except FhirError as exc:
        if exc.status == 400:  # the value set itself is broken: an error of the request, not of the code
            raise
        return None, [issue("error", exc.code, exc.message, exc.tx_code)]
    if member:
        return True, []
    system = (value.system or "") + (f"|{value.version}" if value.version else "")
    shown = f"{system}#{value.code}" + (f" ('{value.display}')" if value.display else "")
    provided = f"The provided code '{shown}' was not found in the value set '{_label(vs)}'"
    if value.codeable_concept is not None:
        return False, [issue("information", "code-invalid", provided, "this-code-not-in-vs", value.where("code"),
                             NOT_IN_VS)]
    return False, [issue("error", "code-invalid", provided, "not-in-vs", value.where("code"), NOT_IN_VS)]


def _systems(vs: dict) -> list[str]:
    """The code systems a value set's includes name, in order: where a code given without system may be from."""
    return list(dict.fromkeys(i["system"] for i in (vs.get("compose") or {}).get("include", []) if i.get("system")))


def _display_ok(concept, display: str) -> bool:
    """Whether `display` is the concept's display or one of its designations."""
    return display == concept.display or any(d.get("value") == display for d in concept.designations)


def _in_value_set(term, vs: dict, cs, concept) -> bool:
    """Whether the concept of `cs` is a member of `vs` (a whole-system value set needs no expansion)."""
    include = whole_system_include(vs)
    if include is not None:
        spec, source = term.rules.include_version(include["system"], include.get("version"))
        if bool(cs) and concept is not None and cs.answers_to(include["system"]) and source != "latest" \
                and matches(spec, cs.version):
            return True  # the coding's version is one the include allows (`1.x.x`): no need to resolve it
        term.include_code_system(include["system"], include.get("version"))
        return bool(cs) and concept is not None and cs.answers_to(include["system"]) and source == "latest"
    members = evaluate(vs, term).members
    if not cs or concept is None:
        return False
    return any(m_cs.url == cs.url and c.code == concept.code for m_cs, c in members)
