"""ClaML: the WHO exchange format for ICD-10 and other classifications (ClaML 2.0.0).

Every `Class` (chapter, block, category) becomes an entry; `SuperClass` gives
its parents. Rubrics: `preferred` is the display (the first preferred label;
further preferred labels in other languages become translations),
`preferredLong` a fully specified name, `inclusion`, `exclusion`, `synonym`
and abbreviations become designations, every other rubric kind (note, text,
coding-hint, definition, ...) an attribute named after the kind. A label's
`xml:lang` is the designation's language.

Modifiers: a class `ModifiedBy` a modifier passes it on to its descendants
(unless they `ExcludeModifier` it); each leaf class carrying modifiers gets
one generated subclass per `ModifierClass` (only the `ValidModifierClass`
ones when `all="false"`), coded leaf code + modifier class code (F10 + .0 →
F10.0) and named "leaf: modifier class".
"""

from __future__ import annotations

import itertools
from typing import Iterator

from registry.errors import ImportRejected, Position, Problem
from importers.mapping import Findings
from importers.source import Source

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DESIGNATION_KINDS = {"preferredLong": "fully-specified", "inclusion": "inclusion", "exclusion": "exclusion",
                     "synonym": "synonym", "preferredAbbreviation": "abbreviation", "abbreviation": "abbreviation"}


def _text(elem) -> str:
    return " ".join("".join(elem.itertext()).split())


def _rubrics(elem, default_lang: str | None) -> list[tuple[str, str | None, str]]:
    """(kind, language, text) of every label of every rubric of a class-like element."""
    out = []
    for rubric in elem.iterfind("Rubric"):
        kind = rubric.get("kind", "")
        for label in rubric.iterfind("Label"):
            text = _text(label)
            if text:
                out.append((kind, label.get(XML_LANG) or default_lang, text))
    return out


def _describe(rubrics, language: str | None) -> tuple[str, list[dict], dict]:
    """Display, designations and note attributes from a class's rubrics."""
    display = ""
    designations, notes = [], {}
    for kind, lang, text in rubrics:
        if kind == "preferred":
            if not display and (language is None or lang in (None, language)):
                display = text
            else:
                designations.append({"language": lang, "use": "translation", "text": text})
        elif kind in DESIGNATION_KINDS:
            designations.append({"language": lang, "use": DESIGNATION_KINDS[kind], "text": text})
        else:
            key = kind.replace("-", "_") or "note"
            notes[key] = f"{notes[key]}\n{text}" if key in notes else text
    if not display:
        for kind, lang, text in rubrics:
            if kind == "preferred":
                display = text
                designations = [d for d in designations if d["text"] != text or d["use"] != "translation"]
                break
    return display, designations, notes


def catalog_defaults(source: Source) -> dict:
    """Title, language and owner from the ClaML header (Title, Meta lang, Identifier, first label)."""
    from importers.safety import iterparse
    title, language, owner, version = None, None, None, None
    for _, elem in iterparse(source):
        tag = elem.tag
        if tag == "Title":
            title = _text(elem) or elem.get("name")
            version = elem.get("version")
        elif tag == "Meta" and elem.get("name") == "lang" and elem.getparent().tag == "ClaML":
            language = elem.get("value")
        elif tag == "Identifier" and owner is None:
            owner = elem.get("authority")
        elif tag == "Label" and language is None:
            language = elem.get(XML_LANG)
        elif tag == "Class":
            break
    if not title:
        return {}
    return {"title": title, "kind": "classification", "language": language or "en", "owner": owner,
            "description": f"ClaML version {version}" if version else None}


def read_entries(source: Source, findings: Findings, language: str | None) -> Iterator[dict]:
    """Yield an entry per ClaML Class, plus the subclasses its modifiers generate."""
    from importers.safety import iterparse
    modifier_classes: dict[str, list[tuple[str, str, list, dict]]] = {}
    inherited: dict[str, list[tuple[str, set | None]]] = {}
    root_seen = False
    default_lang = None
    count = 0
    for _, elem in iterparse(source, events=("end",)):
        tag = elem.tag
        parent = elem.getparent()
        if parent is None:
            root_seen = tag == "ClaML"
            break
        if parent.tag != "ClaML":
            continue
        if tag == "Meta" and elem.get("name") == "lang":
            default_lang = elem.get("value")
        elif tag == "ModifierClass":
            display, designations, notes = _describe(_rubrics(elem, default_lang), language)
            modifier_classes.setdefault(elem.get("modifier", ""), []).append(
                (elem.get("code", ""), display, designations, notes))
        elif tag == "Class":
            count += 1
            yield from _class_entries(elem, source, modifier_classes, inherited, default_lang, language, findings)
        elem.clear()
        while elem.getprevious() is not None:
            del parent[0]
    if not root_seen:
        raise ImportRejected([Problem("not a ClaML file: the root element is not <ClaML>", file=source.name,
                                      kind="syntax")])
    if count == 0:
        raise ImportRejected([Problem("the ClaML file holds no Class elements", file=source.name, kind="empty")])


def _class_entries(elem, source, modifier_classes, inherited, default_lang, language, findings) -> Iterator[dict]:
    code = (elem.get("code") or "").strip()
    pos = Position(source.name, None, f"{elem.sourceline} (/ClaML/Class[@code='{code}'])")
    parents = [s.get("code") for s in elem.iterfind("SuperClass") if s.get("code")]
    has_children = elem.find("SubClass") is not None
    display, designations, attributes = _describe(_rubrics(elem, default_lang), language)
    if elem.get("kind"):
        attributes["kind"] = elem.get("kind")
    if elem.get("usage"):
        attributes["usage"] = elem.get("usage")
    for meta in elem.iterfind("Meta"):
        if meta.get("name"):
            attributes[f"meta_{meta.get('name')}"] = meta.get("value", "")
    yield {"code": code, "display": display, "designations": designations, "parents": parents,
           "status": "active", "attributes": attributes, "_pos": pos}
    excluded = {e.get("code") for e in elem.iterfind("ExcludeModifier")}
    mods = []  # the class's own ModifiedBy first (they may narrow an inherited modifier), then inherited ones
    for m in elem.iterfind("ModifiedBy"):
        valid = None if m.get("all", "true") == "true" else {v.get("code") for v in m.iterfind("ValidModifierClass")}
        mods.append((m.get("code"), valid))
    mods += [m for p in parents for m in inherited.get(p, []) if m[0] not in excluded]
    seen, unique = set(), []
    for mcode, valid in mods:
        if mcode not in seen:
            seen.add(mcode)
            unique.append((mcode, valid))
    if not unique:
        return
    if has_children:
        inherited[code] = unique
        return
    choices = []
    for mcode, valid in unique:
        options = [mc for mc in modifier_classes.get(mcode, []) if valid is None or mc[0] in valid]
        if not options:
            findings.error(pos.problem(f"class {code} is modified by {mcode}, which has no ModifierClass",
                                       column="ModifiedBy", code=code, kind="unknown_modifier"))
            return
        choices.append([(mcode, mc) for mc in options])
    for combo in itertools.product(*choices):
        sub_code, sub_display, parent = code, display, code
        for mcode, (mc_code, mc_display, mc_designations, mc_notes) in combo:
            sub_code = sub_code + mc_code if (mc_code.startswith(".") or "." in sub_code) else f"{sub_code}.{mc_code}"
        labels = [mc[1] for _, mc in combo]
        sub_display = ": ".join([display] + labels)
        sub_designations = [d for _, mc in combo for d in mc[2]]
        sub_attributes = {"kind": "modified", "modifier": " ".join(m for m, _ in combo)}
        for _, mc in combo:
            sub_attributes.update(mc[3])
        yield {"code": sub_code, "display": sub_display, "designations": sub_designations, "parents": [parent],
               "status": "active", "attributes": sub_attributes, "_pos": pos}
