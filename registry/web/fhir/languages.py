"""Display languages in $validate-code: which languages a request asks for, and a concept's displays in them.

The languages come from the `displayLanguage` parameter, else the value set's
`displayLanguage` expansion parameter (a compose extension), else the request's
Accept-Language header, else the value set's own `language`. A concept's
`display` is in its code system's language; each designation in its own (none:
the code system's). The texts follow the HL7 reference server's.
"""

from __future__ import annotations

EXPANSION_PARAMETER = "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter"


def requested_languages(params, vs: dict | None = None) -> str | None:
    """The languages asked for, as given (e.g. `de,it` or `en, en-AU; q=0.4`), or None."""
    raw = params.text("displayLanguage")
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
            found.append((concept.display, cs_language or tag))
        found += [(d["value"], d["language"]) for d in concept.designations
                  if d.get("value") and _matches(tag, d.get("language") or cs_language)]
    return list(dict.fromkeys(found))


def default_displays(concept, cs_language: str | None) -> list[str]:
    """The concept's display and the designations in its code system's language (or without language)."""
    out = [concept.display] if concept.display else []
    return out + [d["value"] for d in concept.designations if d.get("value") and (
        not d.get("language") or (cs_language and _matches(cs_language, d["language"])))]
