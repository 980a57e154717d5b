"""Display languages: which languages a request asks for, and a concept's display and designations in them.

The languages come from the `displayLanguage` parameter, else the value set's
`displayLanguage` expansion parameter (a compose extension), else the request's
Accept-Language header, else the value set's own `language`. A concept's
`display` is in its code system's language; each designation in its own (none:
the code system's). $validate-code checks a given display against them;
$expand and $lookup answer the display in the first language asked that the
concept has. The texts follow the HL7 reference server's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.web.fhir.outcome import FhirError

# A language range of displayLanguage / Accept-Language (BCP 47 tag or `*`, optionally weighted).
LANGUAGE_RANGE = re.compile(r"^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)\s*(;\s*q\s*=\s*[01](\.\d{0,3})?)?$")
EXPANSION_PARAMETER = "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter"


def requested_languages(params, vs: dict | None = None) -> str | None:
    """The languages asked for, as given (e.g. `de,it` or `en, en-AU; q=0.4`), or None.

    A `displayLanguage` parameter that is not a list of language tags is a 400.
    """
    raw = params.text("displayLanguage")
    if raw and not all(LANGUAGE_RANGE.match(part.strip()) for part in raw.split(",")):
        raise FhirError(400, "processing", f"Invalid displayLanguage: '{raw}'", "invalid-display")
    if not raw and vs:
        for ext in (vs.get("compose") or {}).get("extension", []):
            if ext.get("url") == EXPANSION_PARAMETER:
                parts = {e.get("url"): e for e in ext.get("extension", [])}
                if (parts.get("name") or {}).get("valueCode") == "displayLanguage":
                    raw = (parts.get("value") or {}).get("valueCode")
    raw = raw or getattr(params, "accept_language", None) or (vs or {}).get("language")
    return raw.strip() if raw and raw.strip() and raw.strip() != "*" else None


def language_tags(raw: str | None) -> list[str]:
    """The language tags of a displayLanguage or Accept-Language value, in order, weights and `*` dropped."""
    tags = [part.split(";")[0].strip() for part in (raw or "").split(",")]
    return [t for t in tags if t and t != "*"]


def _matches(requested: str, language: str | None) -> bool:
    if not language:
        return False
    a, b = requested.lower(), language.lower()
    return a == b or b.startswith(a + "-") or a.startswith(b + "-")


def displays_in(concept, cs_language: str | None, tags: list[str]) -> list[tuple[str, str]]:
    """(text, language) of the concept's display and designations in the requested languages, best first."""
    found = []
    for tag in tags:
        if concept.display and (cs_language is None or _matches(tag, cs_language)):
            found.append((concept.display, cs_language))
        found += [(d["value"], d["language"]) for d in concept.designations
                  if d.get("value") and _matches(tag, d.get("language") or cs_language)]
    return list(dict.fromkeys(found))


def default_displays(concept, cs_language: str | None) -> list[str]:
    """The concept's display and the designations in its code system's language (or without language)."""
    out = [concept.display] if concept.display else []
    return out + [d["value"] for d in concept.designations if d.get("value") and (
        not d.get("language") or (cs_language and _matches(cs_language, d["language"])))]


# The designation use of a display moved aside for one in another language (as the HL7 reference server marks it).
PREFERRED_FOR_LANGUAGE = {"system": "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
                          "code": "preferredForLanguage", "display": "Preferred For Language"}


@dataclass(frozen=True)
class LanguagePreference:
    """The languages asked for, best first (weight 0 dropped); `strict` when `*; q=0` refuses any other."""

    tags: tuple[str, ...]
    strict: bool

    @classmethod
    def parse(cls, raw: str | None) -> "LanguagePreference | None":
        """From a displayLanguage or Accept-Language value (`de`, `de,*; q=0`, `en-AU, en; q=0.8`), or None."""
        weighted, strict = [], False
        for position, part in enumerate((raw or "").split(",")):
            tag, _, rest = part.partition(";")
            tag, weight = tag.strip(), 1.0
            if rest.strip().startswith("q="):
                try:
                    weight = float(rest.strip()[2:])
                except ValueError:
                    weight = 1.0
            if tag == "*":
                strict = strict or weight == 0
            elif tag and weight > 0:
                weighted.append((-weight, position, tag))
        if not weighted:
            return None
        return cls(tuple(tag for _, _, tag in sorted(weighted)), strict)


def as_echoed(raw: str) -> str:
    """A displayLanguage value as the expansion echoes it: with weights, its entries are re-joined by ", "."""
    return ", ".join(p.strip() for p in raw.split(",")) if ";" in raw else raw


def _designation_language(designation: dict, cs_language: str | None) -> str | None:
    return designation.get("language") or cs_language


def localised(concept, cs_language: str | None, preference: LanguagePreference | None
              ) -> tuple[str | None, list[dict]]:
    """(display, designations) of a concept for the languages asked.

    The display is the first asked language the concept has: its own display
    (in the code system's language) or a designation, exactly tagged before a
    language-region one (`de` takes `de-CH`). A designation chosen leaves the
    designations, and the code system's display joins them marked
    `preferredForLanguage`. With none in those languages the display stays,
    unless `*; q=0` refuses every other language: then there is no display.
    """
    display, designations = concept.display, list(concept.designations)
    if preference is None:
        return display, designations
    for tag in preference.tags:
        if display and cs_language and _matches(tag, cs_language) or display and not cs_language:
            return display, designations
        exact = [d for d in designations if d.get("value") and
                 (_designation_language(d, cs_language) or "").lower() == tag.lower()]
        near = [d for d in designations if d.get("value") and _matches(tag, _designation_language(d, cs_language))]
        chosen = (exact or near or [None])[0]
        if chosen is not None:
            return chosen["value"], _with_display_aside(concept, cs_language, [d for d in designations
                                                                                if d is not chosen])
    if preference.strict:
        return None, _with_display_aside(concept, cs_language, designations)
    return display, designations


def _with_display_aside(concept, cs_language: str | None, designations: list[dict]) -> list[dict]:
    if not concept.display:
        return designations
    aside = {**({"language": cs_language} if cs_language else {}), "use": PREFERRED_FOR_LANGUAGE,
             "value": concept.display}
    return [aside, *designations]


def wanted_designations(designations: list[dict], asked: list[str], cs_language: str | None) -> list[dict]:
    """The designations an $expand `designation` parameter keeps: `urn:ietf:bcp:47|lang` by language, any other
    `system|code` by use; none asked keeps all."""
    if not asked:
        return designations
    languages = [a.split("|", 1)[1] for a in asked if a.startswith("urn:ietf:bcp:47|")]
    uses = [tuple(a.split("|", 1)) for a in asked if "|" in a and not a.startswith("urn:ietf:bcp:47|")]
    return [d for d in designations
            if (_designation_language(d, cs_language) or "").lower() in {lang.lower() for lang in languages}
            or ((d.get("use") or {}).get("system"), (d.get("use") or {}).get("code")) in uses]
