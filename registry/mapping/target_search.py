"""Search the target catalog for another code while reviewing: by code prefix, by words, and in the source
language through the matcher's cross-script analysis.

A coder who finds no fitting candidate types what they know: a code or its start (`c10`, any case), words of
the target's names or designations (`lipid`), or a name in their own language (`гиполипидемические`), which
only the matcher can carry across scripts and languages. Hits are listed in that order, each once, with how
it was found. Words and the matcher search the target fields the map set declares (`match.targets`: display
and designations by default). A bare Russian group adjective (`гиполипидемические`) is asked as typed: the matcher
reads it as the WHO reads its groups, an adjective made a noun (`ANTIEPILEPTICS`) or with `agents` (`LIPID
MODIFYING AGENTS`), through the glossary's English adjective (`гиполипидемический`: lipid modifying).
"""

from __future__ import annotations

from collections import OrderedDict

from registry.matching.fields import DEFAULT_TARGETS, field_values

_TEXTS: "OrderedDict[tuple, list[tuple[str, str, str]]]" = OrderedDict()
_KEEP = 4


def _texts(store, slug: str, version: str, targets: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(code, display, folded searchable text of the `targets` fields) of every entry of a published version,
    read once per process (a published version never changes)."""
    key = (str(store.engine.url), slug, version, targets)
    if key not in _TEXTS:
        rows = []
        for e in store.iter_entries(slug, version):
            names = [text for field in targets for text in field_values(e, field)]
            rows.append((e["code"], e.get("display") or "", " ".join(names).casefold().replace("ё", "е")))
        _TEXTS[key] = rows
        while len(_TEXTS) > _KEEP:
            _TEXTS.popitem(last=False)
    _TEXTS.move_to_end(key)
    return _TEXTS[key]


def search_targets(store, slug: str, version: str, q: str, *, limit: int = 20, matcher=None,
                   targets=DEFAULT_TARGETS) -> list[dict]:
    """Target entries for a reviewer's search text: [{code, display, found}] with found = code, words or
    matcher (score in `score`), at most `limit`; `targets` are the target fields searched."""
    q = " ".join((q or "").split())
    if not q:
        return []
    targets = tuple(targets)
    rows = _texts(store, slug, version, targets)
    hits: "OrderedDict[str, dict]" = OrderedDict()
    prefix = q.replace(" ", "").upper()
    for code, display, _ in sorted(rows):
        if code.upper().startswith(prefix):
            hits.setdefault(code, {"code": code, "display": display, "found": "code"})
            if len(hits) >= limit:
                return list(hits.values())
    words = q.casefold().replace("ё", "е").split()
    folded = " ".join(words)
    worded = [(code, display) for code, display, text in rows if all(w in text for w in words)]
    worded.sort(key=lambda r: (r[1].casefold().replace("ё", "е") != folded, len(r[1]), r[0]))  # exact name first
    for code, display in worded:
        hits.setdefault(code, {"code": code, "display": display, "found": "words"})
        if len(hits) >= limit:
            return list(hits.values())
    if matcher is None:
        from registry.matching import match as matcher
    found = matcher([{"name": q}], target=(slug, version), limit=min(10, limit), store=store,
                    target_fields=list(targets))
    for c in found[0]["candidates"] if found else []:
        hits.setdefault(c["code"], {"code": c["code"], "display": c["display"], "found": "matcher",
                                    "score": c["score"]})
    return list(hits.values())[:limit]
