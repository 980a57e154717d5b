"""Small catalogs and a deterministic stand-in matcher for the mapping review tests."""

from __future__ import annotations

from registry.mapping import create_map_set, suggest
from registry.models import CatalogCreate, MapSetCreate

LOCAL = [
    {"code": "L01", "display": "Холера неуточнённая"},
    {"code": "L02", "display": "Брюшной тиф"},
    {"code": "L03", "display": "Паратиф A"},
    {"code": "L04", "display": "Сальмонеллёзный энтерит"},
    {"code": "L05", "display": "Болезнь неизвестной природы"},
]
SHARED = [
    {"code": "A00.9", "display": "Холера неуточненная"},
    {"code": "A01.0", "display": "Брюшной тиф"},
    {"code": "A01.1", "display": "Паратиф A"},
    {"code": "A01.2", "display": "Паратиф B"},
    {"code": "A02.0", "display": "Сальмонеллезный энтерит"},
    {"code": "R69", "display": "Неизвестные и неуточненные причины заболеваемости"},
    {"code": "Z99", "display": "Старый код", "status": "deprecated"},
]
# What the stand-in matcher answers for each local name: (code, score) best first.
ANSWERS = {
    "L01": [("A00.9", 97.0), ("A01.0", 31.0)],
    "L02": [("A01.0", 100.0), ("A01.1", 40.0)],
    "L03": [("A01.1", 100.0), ("A01.2", 90.0), ("A01.0", 35.0)],
    "L04": [("A02.0", 96.5)],
    "L05": [],
}
DISPLAYS = {e["code"]: e["display"] for e in SHARED}


class FakeMatcher:
    """Answers from ANSWERS (overridable), records the terms it was asked about."""

    def __init__(self, answers=None):
        self.answers = dict(ANSWERS if answers is None else answers)
        self.asked: list[str] = []

    def __call__(self, terms, target, limit=5, *, store, target_fields=None):
        out = []
        for term in terms:
            self.asked.append(term["code"])
            out.append({"term": term, "candidates": [
                {"rank": i, "code": code, "display": DISPLAYS[code], "score": score, "reason": f"fake {score}"}
                for i, (code, score) in enumerate(self.answers.get(term["code"], [])[:limit], 1)]})
        return out


def make_catalogs(store):
    """Publish `local` version 1 (LOCAL) and `icd10` version 2.27 (SHARED)."""
    for slug, label, entries in (("local", "1", LOCAL), ("icd10", "2.27", SHARED)):
        store.create_catalog(CatalogCreate(slug=slug, title=slug, kind="classification"))
        store.stage_draft(slug, label, [dict(e) for e in entries])
        store.publish(slug, label)


def make_map_set(store, *, four_eyes=False, slug="local-icd", matcher=None):
    """Catalogs, a map set local@1 -> icd10@latest, and the stand-in matcher's candidates stored."""
    make_catalogs(store)
    create_map_set(store, MapSetCreate(slug=slug, source="local@1", target="icd10", four_eyes=four_eyes,
                                       owner="Working group", description="Local diagnoses"), actor="admin")
    suggest(store, slug, matcher=matcher or FakeMatcher())
    return slug
