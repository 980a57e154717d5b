"""Search the target catalog for another code while reviewing: by code prefix, by words, and in the source
language through the matcher's cross-script analysis.

A coder who finds no fitting candidate types what they know: a code or its start (`c10`, any case), words of
the target's names or designations (`lipid`), or a name in their own language (`гиполипидемические`), which
only the matcher can carry across scripts and languages. Hits are listed in that order, each once, with how
it was found. A bare Russian group adjective (`гиполипидемические`) is read as the group name the formularies
write (`гиполипидемические средства`): on its own, an adjective names no thing for the matcher to find.
"""

from __future__ import annotations

import re
from collections import OrderedDict


_TEXTS: "OrderedDict[tuple, list[tuple[str, str, str]]]" = OrderedDict()
_KEEP = 4
ADJECTIVE = re.compile(r"^[а-яё-]+(ые|ие|ая|яя|ое|ее|ый|ий|ой)$", re.I)


def _texts(store, slug: str, version: str) -> list[tuple[str, str, str]]:
    """(code, display, folded searchable text) of every entry of a published version, read once per process
    (a published version never changes)."""
    key = (str(store.engine.url), slug, version)
    if key not in _TEXTS:
        rows = []
        for e in store.iter_entries(slug, version):
            names = [e.get("display") or ""] + [d.get("value") or d.get("text") or ""
                                                for d in e.get("designations") or [] if isinstance(d, dict)]
            rows.append((e["code"], e.get("display") or "", " ".join(names).casefold().replace("ё", "е")))
        _TEXTS[key] = rows
        while len(_TEXTS) > _KEEP:
            _TEXTS.popitem(last=False)
    _TEXTS.move_to_end(key)
    return _TEXTS[key]


def search_targets(store, slug: str, version: str, q: str, *, limit: int = 20, matcher=None) -> list[dict]:
    """Target entries for a reviewer's search text: [{code, display, found}] with found = code, words or
    matcher (score in `score`), at most `limit`."""
    q = " ".join((q or "").split())
    if not q:
        return []
    rows = _texts(store, slug, version)
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
    name = f"{q} средства" if ADJECTIVE.match(q) else q
    found = matcher([{"name": name}], target=(slug, version), limit=min(10, limit), store=store)
    for c in found[0]["candidates"] if found else []:
        hits.setdefault(c["code"], {"code": c["code"], "display": c["display"], "found": "matcher",
                                    "score": c["score"]})
    return list(hits.values())[:limit]
