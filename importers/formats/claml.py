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
F10.0) and named "leaf: modifier class". The file is read twice (modifiers
first, then the classes are streamed), so none of this depends on the order
of the document's elements.
"""

from __future__ import annotations

import itertools
from typing import Iterator

from registry.errors import ImportRejected, Position, Problem
from importers.findings import Findings
from importers.profile import Profile
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


def _top_level(source: Source) -> Iterator:
    """The children of the <ClaML> root, one at a time; each is cleared from the tree once the caller is done."""
    from importers.safety import iterparse
    for _, elem in iterparse(source, events=("end",)):
        parent = elem.getparent()
        if parent is None:
            if elem.tag != "ClaML":
                break
            return
        if parent.tag != "ClaML":
            continue
        yield elem
        elem.clear()
        while elem.getprevious() is not None:
            del parent[0]
    raise ImportRejected([Problem("not a ClaML file: the root element is not <ClaML>", file=source.name,
                                  kind="syntax")])


def _scan(source: Source, language: str | None) -> tuple[str | None, dict, dict]:
    """First pass: the default label language, every ModifierClass, and each Class's modifiers.

    Returns (default language, modifier code -> [(class code, display, designations,
    notes)], class code -> [(modifier code, valid modifier classes or None)]). Only
    these small facts are kept, not the classes' rubrics, so that the second pass
    can stream entries whatever the order of the document: ClaML allows a category
    before the block that modifies it, and Modifier definitions after the classes.
    """
    default_lang = None
    raw_modifier_classes: list[tuple[str, str, list]] = []
    classes: dict[str, tuple[list[str], list, set]] = {}
    for elem in _top_level(source):
        tag = elem.tag
        if tag == "Meta" and elem.get("name") == "lang":
            default_lang = elem.get("value")
        elif tag == "ModifierClass":
            raw_modifier_classes.append((elem.get("modifier", ""), elem.get("code", ""), _rubrics(elem, None)))
        elif tag == "Class":
            own = []
            for m in elem.iterfind("ModifiedBy"):
                valid = (None if m.get("all", "true") == "true"
                         else {v.get("code") for v in m.iterfind("ValidModifierClass")})
                own.append((m.get("code"), valid))
            classes[(elem.get("code") or "").strip()] = (
                [sc.get("code") for sc in elem.iterfind("SuperClass") if sc.get("code")], own,
                {e.get("code") for e in elem.iterfind("ExcludeModifier")})
    if not classes:
        raise ImportRejected([Problem("the ClaML file holds no Class elements", file=source.name, kind="empty")])
    modifier_classes: dict[str, list[tuple[str, str, list, dict]]] = {}
    for modifier, code, rubrics in raw_modifier_classes:
        rubrics = [(kind, lang or default_lang, text) for kind, lang, text in rubrics]
        display, designations, notes = _describe(rubrics, language)
        modifier_classes.setdefault(modifier, []).append((code, display, designations, notes))
    return default_lang, modifier_classes, _resolve_modifiers(classes)


def _resolve_modifiers(classes: dict[str, tuple[list[str], list, set]]) -> dict[str, list]:
    """The modifiers each class carries: its own ModifiedBy first (they may narrow an inherited one), then
    its parents' ones, minus those it excludes. Parents are resolved before children whatever their order
    (depth-first with an explicit stack: no recursion limit on deep files; a parent cycle contributes nothing)."""
    resolved: dict[str, list] = {}
    for start in classes:
        stack, on_stack = [start], {start}
        while stack:
            code = stack[-1]
            if code in resolved:
                stack.pop()
                on_stack.discard(code)
                continue
            parents, own, excluded = classes[code]
            todo = next((p for p in parents if p in classes and p not in resolved and p not in on_stack), None)
            if todo is not None:
                stack.append(todo)
                on_stack.add(todo)
                continue
            stack.pop()
            on_stack.discard(code)
            mods = own + [m for p in parents for m in resolved.get(p, ()) if m[0] not in excluded]
            unique, seen = [], set()
            for mcode, valid in mods:
                if mcode not in seen:
                    seen.add(mcode)
                    unique.append((mcode, valid))
            resolved[code] = unique
    return resolved


def read(source: Source, profile: Profile | None, findings: Findings, language: str | None) -> Iterator[dict]:
    """Yield an entry per ClaML Class, plus the subclasses its modifiers generate.

    Two passes over the file: `_scan` collects modifiers, then the classes are
    streamed. The result does not depend on the order of the document's elements.
    """
    default_lang, modifier_classes, modifiers = _scan(source, language)
    for elem in _top_level(source):
        if elem.tag == "Class":
            yield from _class_entries(elem, source, modifier_classes, modifiers, default_lang, language, findings)


# How the errors of the store name a Class's parts (Position.columns).
CLASS_COLUMNS = {"code": "code", "display": "Rubric[@kind='preferred']", "parents": "SuperClass"}


def _class_entries(elem, source, modifier_classes, modifiers, default_lang, language, findings) -> Iterator[dict]:
    code = (elem.get("code") or "").strip()
    pos = Position(source.name, None, f"{elem.sourceline} (/ClaML/Class[@code='{code}'])", CLASS_COLUMNS)
    parents = []
    for superclass in elem.iterfind("SuperClass"):
        if (superclass.get("code") or "").strip():
            parents.append(superclass.get("code"))
        else:  # dropping it would store the class as a root
            findings.error(pos.problem(f"class {code} has a SuperClass without a code: it names no class",
                                       column="SuperClass", code=code, kind="unknown_parent"))
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
    unique = modifiers.get(code)
    if not unique or has_children:  # modifiers of a class with subclasses are passed on (see _resolve_modifiers)
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


READS = "ClaML XML"


def sniff(source: Source) -> bool:
    """An XML file (by name or first byte) whose first 64 KiB hold a ClaML element."""
    return (source.path.suffix.lower() == ".xml" or source.starts_with(b"<")) and b"<ClaML" in source.head(65536)
